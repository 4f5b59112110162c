"""Diff is sound: two conditions with the same normal form (what `zizhu diff` compares) give the same
outcome on every student — blanks, and so problems, included."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
from engine.language.parse import canonical
from engine.runtime.results import Record
from tests.conftest import POLICY_2021

FIELDS = """fields:
  - {id: kind, label: 类别, type: enum, values: [{id: x, label: 甲}, {id: y, label: 乙}, {id: z, label: 丙}]}
  - {id: flag, label: 标记, type: bool}
  - {id: count, label: 人数, type: int, min: 0, max: 9}
"""
PROGRAM = """  - id: {id}
    label: 项目{id}
    kind: grant
    per: semester
    cite: 一(二)1
    text: 示例
    when:
{when}
    amount: 1
"""
# Every student over the three fields, each possibly blank: 4 × 3 × 4 = 48.
STUDENTS = [
    Record(2, {"kind": k, "flag": f, "count": c})
    for k, f, c in itertools.product(("x", "y", "z", None), (True, False, None), (0, 5, 9, None))
]

atoms = st.sampled_from(
    [
        "标记",
        '类别 == "甲"',
        '类别 != "丙"',
        "人数 >= 5",
        "人数 < 9",
        '类别 in ["甲", "乙"]',
        '类别 not in ["乙", "丙"]',
        "人数 + 1 > 5",
        "if 标记 then 人数 > 0 else 类别 == \"乙\"",
    ]
)


def conditions() -> st.SearchStrategy[list[str]]:
    """A condition as a small tree: (operator, operands) lists, printed with parentheses."""
    return st.recursive(
        atoms.map(lambda a: [a]),
        lambda inner: st.one_of(
            st.tuples(st.sampled_from(["and", "or"]), st.lists(inner, min_size=2, max_size=3)).map(list),
            inner.map(lambda x: ["not", x]),
        ),
        max_leaves=6,
    )


def text(tree: list) -> str:
    if len(tree) == 1:
        return f"({tree[0]})"
    if tree[0] == "not":
        return f"(not {text(tree[1])})"
    return "(" + f" {tree[0]} ".join(text(x) for x in tree[1]) + ")"


def shuffled(tree: list, order: st.DataObject) -> list:
    """The same condition with the operands of its and/or permuted (what the normal form ignores)."""
    if len(tree) == 1:
        return tree
    if tree[0] == "not":
        return ["not", shuffled(tree[1], order)]
    operands = [shuffled(x, order) for x in tree[1]]
    return [tree[0], order.draw(st.permutations(operands))]


def outcomes(folder: Path, when: list[list[str]]) -> list[list[tuple]]:
    """Per program (one per `when` list), its outcome on every student."""
    programs = "programs:\n" + "".join(
        PROGRAM.format(id=f"p{i}", when="".join(f"      - '{c}'\n" for c in w)) for i, w in enumerate(when)
    )
    (folder / "programs.yaml").write_text(programs, encoding="utf-8")
    evaluator = engine.Evaluator(engine.load(folder), engine.Period.parse("2021-autumn"))
    out: list[list[tuple]] = [[] for _ in when]
    for record in STUDENTS:
        result = evaluator.evaluate(record)
        for i in range(len(when)):
            pid = f"p{i}"
            if any(a.program == pid for a in result.awards):
                out[i].append(("awarded",))
            else:
                problem = [(e.code, e.field) for e in result.errors if e.program == pid]
                out[i].append(("problem", *problem[0]) if problem else ("denied",))
    return out


def scratch(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sound")
    shutil.copy(POLICY_2021 / "policy.yaml", folder / "policy.yaml")
    (folder / "fields.yaml").write_text(FIELDS, encoding="utf-8")
    return folder


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(trees=st.lists(conditions(), min_size=1, max_size=3), order=st.data())
def test_conditions_with_one_normal_form_have_one_outcome_on_every_student(tmp_path_factory, trees, order):
    written = [text(t) for t in trees]
    reordered = [text(shuffled(t, order)) for t in order.draw(st.permutations(trees))]
    # What the diff compares: the sorted normal forms of the when list.
    assert sorted(map(canonical, written)) == sorted(map(canonical, reordered))
    before, after = outcomes(scratch(tmp_path_factory), [written, reordered])
    assert before == after


def test_the_outcomes_compared_really_differ_between_different_conditions(tmp_path_factory):
    """The comparison above can fail: 标记 and 人数 >= 5 differ (student: 标记 = 是, 人数 = 0), and a
    blank makes a problem (标记 blank → missing-fact naming 标记)."""
    first, second = outcomes(scratch(tmp_path_factory), [["标记"], ["人数 >= 5"]])
    assert first != second
    assert ("problem", "missing-fact", "flag") in first and ("awarded",) in first and ("denied",) in first
