"""One meaning: a blank fact is unknown (Kleene / SQL NULL logic), and the order lists and operands
are written in never changes an outcome. Every expectation is worked by hand from the plan."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner

import engine
from benchmarks.students import write_csv
from engine.cli import main
from engine.language import syntax as s
from engine.language.parse import parse
from tests.conftest import POLICY_2021
from tests.test_evaluate import CORE_COUNTY, student

AUTUMN = engine.Period.parse("2021-autumn")


def run(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def jsonl_rows(jsonl: str) -> str:
    """The per-row lines of `eval --format jsonl` (not the decision record, which names the folder
    and the policy's content hash)."""
    return "\n".join(line for line in jsonl.splitlines() if line.startswith('{"row"'))


def outcome(result, program: str):
    """('awarded', amount) | ('denied', cause, item) | ('problem', code, field) for one program."""
    for a in result.awards:
        if a.program == program:
            return ("awarded", a.amount)
    for e in result.errors:
        if e.program == program:
            return ("problem", e.code, e.field)
    for d in result.denials:
        if d.program == program:
            return ("denied", d.cause, d.item)
    raise AssertionError(f"{program} has no outcome")


def test_a_false_condition_decides_whatever_is_blank_and_wherever_it_is_listed(checked_2021, policy_copy):
    """The issue's case: tuition_waiver needs 县内受助对象 and 学段 in [普通高中, 中职]. An ordinary
    household with no special status is not 县内受助对象 (false), so `false and unknown` is false:
    denied on 县内受助对象, whether 学段 (blank) is listed first or last."""
    path = policy_copy / "programs.yaml"
    text = path.read_text(encoding="utf-8")
    listed_last = '''      - 就读方式 == "在校"
      - 学段 in ["普通高中", "中职"]
    amount: 学费标准[学段, 学校]'''
    listed_first = '''      - 学段 in ["普通高中", "中职"]
      - 就读方式 == "在校"
    amount: 学费标准[学段, 学校]'''
    assert listed_last in text
    path.write_text(text.replace(listed_last, listed_first), encoding="utf-8")
    moved = engine.load(policy_copy)
    facts = dict(household="ordinary", school_in_county=True, has_xueji=True, attendance="in_school", stage=None)
    for checked in (checked_2021, moved):
        result = engine.Evaluator(checked, AUTUMN).evaluate(student(checked, **facts))
        assert outcome(result, "tuition_waiver") == ("denied", "condition", "县内受助对象")
        assert result.errors == () or all(e.program != "tuition_waiver" for e in result.errors)
    diff = run("diff", POLICY_2021, policy_copy)
    assert "两个版本没有差别" in diff.output


def test_an_outcome_that_depends_on_blanks_is_a_problem_naming_every_one_in_field_order(checked_2021):
    """national_grant for a 脱贫户 student in county with 学段 and 就读方式 blank: 已入学 (就读方式 !=
    未入学) is unknown, 高中职学段 (学段) unknown, the coverage condition (… and 就读方式 == 在校)
    unknown; no condition is false and the exclusion (… and 年级 == 3, 年级 = 2) is false, so the
    grant is undecided, and depends on exactly 学段 and 就读方式 — 学段 is declared first."""
    facts = {**CORE_COUNTY, "attendance": None, "stage": None, "grade": 2}
    result = engine.Evaluator(checked_2021, AUTUMN).evaluate(student(checked_2021, **facts))
    (error,) = [e for e in result.errors if e.program == "national_grant"]
    assert (error.code, error.field) == ("missing-fact", "stage,attendance")
    assert error.message.index("学段") < error.message.index("就读方式")


def test_a_program_giving_way_to_an_undecided_program_is_undetermined(policy_copy):
    """day_subsidy is never paid with boarding_subsidy. Give boarding_subsidy one more condition
    (年级 >= 1) and leave 年级 blank: for a boarding primary pupil boarding_subsidy is undecided
    (missing-fact, 年级), and day_subsidy, whose own conditions all hold, cannot be decided either
    (undetermined)."""
    path = policy_copy / "programs.yaml"
    text = path.read_text(encoding="utf-8")
    anchor = "        label: 住宿在由学校统一管理的学生宿舍内\n        cite: 一(二)2(1)\n"
    assert anchor in text
    path.write_text(text.replace(anchor, anchor + "      - 年级 >= 1\n"), encoding="utf-8")
    checked = engine.load(policy_copy)
    pupil = student(checked, **CORE_COUNTY, stage="primary", grade=None, boarding=True)
    result = engine.Evaluator(checked, AUTUMN).evaluate(pupil)
    assert outcome(result, "boarding_subsidy") == ("problem", "missing-fact", "grade")
    assert outcome(result, "day_subsidy") == ("problem", "undetermined", "")
    # Not boarding: boarding_subsidy is denied (校内住宿 false decides), so day_subsidy is paid 250.
    day = engine.Evaluator(checked, AUTUMN).evaluate(student(checked, **CORE_COUNTY, stage="primary", grade=None))
    assert outcome(day, "boarding_subsidy")[0] == "denied" and outcome(day, "day_subsidy") == ("awarded", 250)


def test_a_check_is_clear_when_a_known_fact_decides_it_and_a_problem_when_a_blank_does(checked_2021):
    """key_watch: 已入学 and 学段 in [小学, 初中] and (学习困难 or 厌学). With 学段 blank: neither
    difficulty → the `or` is false → clear; 学习困难 → the `and` hinges on 学段 → a problem."""
    evaluator = engine.Evaluator(checked_2021, AUTUMN)
    clear = evaluator.evaluate(student(checked_2021, **CORE_COUNTY, stage=None))
    assert not clear.flags and all(e.program != "key_watch" for e in clear.errors)
    unsure = evaluator.evaluate(student(checked_2021, **CORE_COUNTY, stage=None, learning_difficulty=True))
    assert [(e.code, e.field) for e in unsure.errors if e.program == "key_watch"] == [("missing-fact", "stage")]


def test_a_refusal_reports_the_same_reason_whatever_the_list_order(checked_2021, policy_copy):
    """A senior student not boarding, from an ordinary household: lodging_waiver fails both
    县内受助对象 and 校内住宿. The reason reported is the same with the when list reversed."""
    reorder_policy(POLICY_2021, policy_copy)
    facts = dict(household="ordinary", school_in_county=True, has_xueji=True, attendance="in_school", stage="senior")
    reasons = []
    for checked in (checked_2021, engine.load(policy_copy)):
        result = engine.Evaluator(checked, AUTUMN).evaluate(student(checked, **facts, grade=1))
        (denial,) = [d for d in result.denials if d.program == "lodging_waiver"]
        reasons.append((denial.cause, denial.reason, denial.clause))
    assert reasons[0] == reasons[1] and reasons[0][0] == "condition"


# -- the whole policy, reordered ------------------------------------------------------------------


def _swap(node: s.Node) -> s.Node:
    """The same expression with the operands of every and/or and the options of every `in` reversed."""
    match node:
        case s.BoolOp(op=op, operands=xs):
            return s.BoolOp(op, tuple(_swap(x) for x in reversed(xs)))
        case s.In(item=x, options=s.ListLit(items=opts), negated=neg):
            return s.In(_swap(x), s.ListLit(tuple(_swap(o) for o in reversed(opts))), negated=neg)
        case s.Unary(op=op, operand=x):
            return s.Unary(op, _swap(x))
        case s.Binary(op=op, left=a, right=b):
            return s.Binary(op, _swap(a), _swap(b))
        case s.If(condition=c, then=t, otherwise=o):
            return s.If(_swap(c), _swap(t), _swap(o))
        case s.Call(function=f, args=xs):
            return s.Call(f, tuple(_swap(x) for x in xs))
        case s.Lookup(table=t, keys=xs):
            return s.Lookup(t, tuple(_swap(x) for x in xs))
    return node


def _swapped(text: object) -> object:
    return s.to_text(_swap(parse(str(text)))) if isinstance(text, str) else text


def _reorder_conditions(conditions: object) -> object:
    if isinstance(conditions, str):
        return _swapped(conditions)
    items = [({**c, "if": _swapped(c["if"])} if isinstance(c, dict) else _swapped(c)) for c in conditions]
    return list(reversed(items))


def reorder_policy(source: Path, target: Path) -> None:
    """A copy of a policy with every when and unless list (and not_with) reversed and the operands of
    every and/or (and options of every `in`) swapped; everything else as written."""
    target.mkdir(parents=True, exist_ok=True)
    for path in source.glob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for section in ("groups", "programs", "checks"):
            for item in data.get(section) or []:
                if "when" in item:
                    item["when"] = _reorder_conditions(item["when"])
                if "unless" in item:
                    item["unless"] = [{**x, "if": _swapped(x["if"])} for x in reversed(item["unless"])]
                if "not_with" in item:
                    item["not_with"] = list(reversed(item["not_with"]))
                for key in ("amount", "priority"):
                    if key in item:
                        item[key] = _swapped(item[key])
        for item in data.get("fields") or []:
            if "compute" in item:
                item["compute"] = _swapped(item["compute"])
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
        (target / path.name).write_text(text, encoding="utf-8")


def test_the_2021_policy_reordered_gives_byte_identical_results_on_20000_students_with_blanks(tmp_path):
    reordered = tmp_path / "reordered"
    reorder_policy(POLICY_2021, reordered)
    original = (POLICY_2021 / "programs.yaml").read_text(encoding="utf-8")
    assert "学段 in [\"中职\", \"普通高中\"]" in (reordered / "programs.yaml").read_text(encoding="utf-8")
    assert "学段 in [\"中职\", \"普通高中\"]" not in original  # the copy really is reordered
    students = tmp_path / "students.csv"
    write_csv(students, 20_000, blanks=0.05)
    outputs = []
    for folder in (POLICY_2021, reordered):
        for period in ("2021-autumn", "2022-spring"):
            result = run("eval", students, "--policy", folder, "--period", period, "--format", "jsonl")
            outputs.append(jsonl_rows(result.stdout))
    assert outputs[0] == outputs[2] and outputs[1] == outputs[3]
    lines = outputs[0].splitlines()
    assert len(lines) == 20_000
    assert sum('"status": "problem"' in line for line in lines) > 100  # blanks are really met
    assert sum('"status": "evaluated"' in line for line in lines) > 1000
    assert "两个版本没有差别" in run("diff", POLICY_2021, reordered).output
