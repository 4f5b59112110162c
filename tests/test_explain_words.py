"""`zizhu explain` as an auditor reads it: sentences not syntax, the deciding facts of a denial first,
the plan's sentence for every program, the reference date of ages, totals with loans apart, and a
heading that says when a version is an illustration."""

from __future__ import annotations

from click.testing import CliRunner

from engine.cli import main
from tests.conftest import POLICY_2021, ROOT

EXAMPLE_CSV = ROOT / "examples" / "students-2021.csv"
GAO_JIAN = "141129200805015880"  # row 2: 脱贫户, 初中, 不住校 → 非寄宿生生活补助 312.5 (一(二)2(2))
HUANG_NAPENG = "141129200505293459"  # row 4: 一般家庭, 中职 → outside the 受助对象 of 一(二)
HAO_PENG = "141129200211116764"  # row 57: 脱贫户, 专科, 申请贷款金额 8000


def explain(id_number: str, policy=POLICY_2021, period="2021-autumn") -> str:
    result = CliRunner().invoke(main, ["explain", str(EXAMPLE_CSV), "--policy", str(policy), "--period", period,
                                       "--id", id_number], catch_exceptions=False)  # fmt: skip
    assert result.exit_code == 0, result.output
    return result.output


def test_a_loan_is_never_added_to_grants_in_the_total():
    # 一(二)4(1): min(申请 8000, 专科最高额度 12000) = 8000, lent; nothing given.
    text = explain(HAO_PENG)
    assert "合计：贷款 8000.00 元（生源地信用助学贷款 8000.00）" in text
    assert "补助与减免 " not in text.splitlines()[2]
    # 高建: 312.5 given, nothing lent.
    assert explain(GAO_JIAN).splitlines()[2] == "合计：补助与减免 312.50 元（非寄宿生生活补助 312.50）"


def test_a_denial_says_its_deciding_facts_first_in_sentences_with_the_plans_words():
    text = explain(HUANG_NAPENG)
    block = text.split("【免学费】")[1].split("\n\n")[0]
    lines = block.splitlines()
    assert lines[0].startswith("不享受")
    assert lines[1] == "  理由：不符合条件：属于「县内受助对象」"
    assert lines[2].startswith("  决定的信息：家庭类型 = 一般家庭")
    assert lines[3].startswith("  原文：免学费：")  # the plan's sentence for a denied program too
    # Conditions as sentences, not syntax: 学段 == "学前" reads 学段为学前 (黄娜鹏 studies at 中职),
    # and no expression syntax is left anywhere.
    assert "  条件：学段为学前  →  不成立  ← 决定结果" in text.split("【学前教育资助】")[1]
    assert 'in ["' not in text and "==" not in text


def test_the_reference_date_of_ages_is_shown():
    # policies/2021/policy.yaml: autumn reference_date 09-01, spring 03-01.
    assert "年龄计算基准日：2021-09-01" in explain(GAO_JIAN).splitlines()[0]
    assert "年龄计算基准日：2022-03-01" in explain(GAO_JIAN, period="2022-spring").splitlines()[0]


def test_an_illustration_version_says_so_in_the_heading():
    assert "【示例版本，不是县里发布的文件】" in explain(GAO_JIAN, ROOT / "policies" / "2023", "2023-autumn")
    assert "示例版本" not in explain(GAO_JIAN)


def test_the_reading_decisions_a_program_rests_on_are_shown_with_their_wording():
    # day_subsidy's over-16 exclusion is Decision A1 and its no-学籍 exclusion W1a (reading §2 R2, §3a);
    # the manifest (policies/2021/policy.yaml, decisions:) words each in one line.
    block = explain(GAO_JIAN).split("【非寄宿生生活补助】")[1].split("\n\n")[0]
    (line,) = [ln for ln in block.splitlines() if ln.startswith("  解读决定：")]
    assert "A1（年龄按学期基准日" in line and "W1a（因病不具备学习条件须有学籍才发放" in line
