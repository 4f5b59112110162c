"""Conditions read as Chinese sentences: each expected sentence is written by hand from the rule."""

from __future__ import annotations

import pytest

import engine
from engine.check.wording import sentence

# (the rule as staff write it, the sentence an auditor should read)
CASES = [
    ('学段 in ["小学", "初中"]', "学段为小学或初中"),
    ('学段 not in ["小学", "初中"]', "学段不是小学、初中中的任何一项"),
    ('就读方式 != "未入学"', "就读方式不是未入学"),
    ("not 有学籍", "有学籍为否"),
    ("县内学校", "县内学校为是"),
    ("申请贷款金额 > 0", "申请贷款金额大于 0"),
    ('学段 == "中职" and 年级 == 3', "学段为中职，且年级为 3"),
    ('period.season == "秋季"', "本学期为秋季学期"),
    ("年龄 >= 送教上门等停发年龄", "年龄不小于送教上门等停发年龄（16）"),
    # An `or` inside an `and` keeps its brackets; so does an `and` inside an `or`.
    ("(孤儿 or 烈士子女) and 已申请", "（孤儿为是，或烈士子女为是），且已申请为是"),
    ("孤儿 or 残疾 and 家庭经济困难", "孤儿为是，或（残疾为是，且家庭经济困难为是）"),
    ("not (孤儿 or 烈士子女)", "并非（孤儿为是，或烈士子女为是）"),
    ("原建档立卡学生 and not 特殊群体", "属于「原建档立卡学生」，且不属于「特殊群体」"),
]


@pytest.fixture(scope="module")
def worded(tmp_path_factory):
    """A copy of policies/2021 with one check per case, so each rule is checked like any other."""
    import shutil

    from tests.conftest import POLICY_2021

    folder = tmp_path_factory.mktemp("wording") / "2021"
    shutil.copytree(POLICY_2021, folder)
    checks = "\n".join(
        f"  - id: wording_{i}\n    label: 措辞{i}\n    cite: 一(一)1\n    text: 措辞\n    message: 措辞\n"
        f"    when: ['{rule}']\n"
        for i, (rule, _) in enumerate(CASES)
    )
    with (folder / "checks.yaml").open("a", encoding="utf-8") as handle:
        handle.write("\n" + checks)
    return engine.load(folder)


@pytest.mark.parametrize(("index", "expected"), [(i, words) for i, (_, words) in enumerate(CASES)])
def test_a_condition_reads_as_a_chinese_sentence(worded, index, expected):
    (condition,) = worded.checks[f"wording_{index}"].conditions
    assert sentence(condition.expr, worded) == expected


def test_an_amount_with_a_choice_reads_as_if_then_else(checked_2021):
    # zihui: 省内院校 500, 省外院校 1000 (一(二)4(2)).
    assert sentence(checked_2021.programs["zihui"].amount, checked_2021) == "若省内院校为是，则 500，否则 1000"


def test_a_refusal_gives_its_condition_in_the_words_explain_uses(checked_2021) -> None:
    """免学费 needs 学段 in ["普通高中", "中职"] (一(二)3(2), written without a label): an 初中 pupil is
    refused with the sentence explain says, 学段为普通高中或中职, not the expression's syntax (probe 3,
    finding 5: the Parquet reason_ columns and reconcile showed the syntax)."""
    from engine.backends.python.evaluator import Evaluator
    from tests.test_evaluate import CORE_COUNTY, student

    evaluator = Evaluator(checked_2021, engine.Period.parse("2021-autumn"), reasons=True)
    result = evaluator.evaluate(student(checked_2021, stage="junior", grade=2, **CORE_COUNTY))
    (tuition,) = [d for d in result.denials if d.program == "tuition_waiver"]
    assert tuition.reason == "不符合条件：学段为普通高中或中职"
