"""Policy staff write next year alone (issue 15): the 2025 version exactly as a county officer
would write it — one new exclusion, one new enum value, `5 * 天数` as money — merges onto
2024-autumn without copying anything, and pays what the arithmetic by hand says."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

import engine
from engine.cli import main
from engine.tools.policytest import load_cases, run_cases
from tests.conftest import ROOT
from tests.test_versions import version

POLICIES = ROOT / "policies"

# What the officer writes: only what changes. Nothing is copied from 2021.
STAFF_2025 = """\
policy:
  id: zhongyang-2025
  version: "2025.1"
  extends: ../2024-autumn
  title: 中阳县学生资助政策（2025 年秋季起，示例）
  effective:
    from: 2025-autumn

fields:
  - id: meal_days
    label: 在校就餐天数
    type: int
    min: 0
    blank: 0

programs:
  - id: meal_subsidy
    label: 在校就餐补助
    kind: grant
    per: semester
    cite: 一(二)2(3)
    text: 义务教育阶段在校就餐的学生按每天 5 元补助，每学期最多 500 元。
    when:
      - 已入学
      - 学段 in ["小学", "初中"]
      - 县内受助对象
      - 就读方式 == "在校"
    amount: min(5 * 在校就餐天数, 500)

override:
  parameters:
    - id: day_subsidy_age_limit
      value: 17
  fields:
    - id: household
      values:
        - {id: monitored, label: 防返贫监测户}
  groups:
    - id: special
      when: >-
        家庭类型 in ["边缘易致贫户", "突发严重困难户", "低保家庭", "特困供养", "防返贫监测户"]
        or 孤儿 or 烈士子女 or 残疾人子女 or (残疾 and 家庭经济困难)
  programs:
    - id: preschool_aid
      amount: 1200
      text: 我县幼儿园就读的在籍在园原建档立卡幼儿发放 1200 元/生·学期的学前教育资助。
    - id: national_grant
      unless:
        - id: repeating_no_grant
          if: 复读
          reason: 复读学生不享受国家助学金
          cite: 一(二)3(1)
          text: 复读学生不再享受国家助学金。

remove:
  programs: [zihui]
"""

# The officer's own cases; each amount worked out by hand from the 2025 rules above and the
# 2024 figures it inherits (走读生活补助 小学 312.5、初中 375 per semester).
STAFF_CASES = """\
period: 2025-autumn
defaults: {家庭类型: 脱贫户, 本县户籍: 是, 县内学校: 是, 有学籍: 是, 就读方式: 在校}
cases:
  - name: 学前提高到 1200（原 1000）
    student: {学段: 学前, 出生日期: 2021-03-01}
    expect:
      awards: {preschool_aid: 1200}
  - name: 小学走读就餐 80 天：5 × 80 = 400 < 500，补 400；生活补助 312.5
    student: {学段: 小学, 年级: 3, 在校就餐天数: 80, 出生日期: 2016-05-01}
    expect:
      awards: {day_subsidy: 312.5, meal_subsidy: 400}
  - name: 初中就餐 120 天：5 × 120 = 600，封顶 500；生活补助 375
    student: {学段: 初中, 年级: 2, 在校就餐天数: 120, 出生日期: 2012-05-01}
    expect:
      awards: {day_subsidy: 375, meal_subsidy: 500}
  - name: 防返贫监测户（新增的家庭类型）按特殊群体，申请后小学走读 312.5、就餐 5 × 20 = 100
    student: {家庭类型: 防返贫监测户, 已申请: 是, 学段: 小学, 年级: 1, 在校就餐天数: 20, 出生日期: 2018-05-01}
    expect:
      awards: {day_subsidy: 312.5, meal_subsidy: 100}
  - name: 送教上门 16 周岁（2009-06-01 生，2025-09-01 满 16）：停发年龄改为 17，照发 375
    student: {学段: 初中, 年级: 3, 就读方式: 送教上门, 出生日期: 2009-06-01}
    expect:
      awards: {day_subsidy: 375}
  - name: 送教上门 17 周岁（2008-06-01 生）：已到 17，停发
    student: {学段: 初中, 年级: 3, 就读方式: 送教上门, 出生日期: 2008-06-01}
    expect:
      awards: {}
      denied: {day_subsidy: over_age_home_or_health}
  - name: 复读不享受国家助学金（新的排除情形）
    student: {学段: 普通高中, 年级: 3, 复读: 是, 出生日期: 2006-05-01, 学校: 中阳县第一中学}
    expect:
      denied: {national_grant: repeating_no_grant}
  - name: 中职三年级仍无国家助学金（上一版本的排除情形 vocational_year_3 没有被覆盖掉）
    student: {学段: 中职, 年级: 3, 出生日期: 2007-05-01}
    expect:
      denied: {national_grant: vocational_year_3}
"""


@pytest.fixture
def staff_2025(tmp_path: Path) -> Path:
    for name in ("2021", "2023", "2024", "2024-autumn"):
        shutil.copytree(POLICIES / name, tmp_path / name, ignore=shutil.ignore_patterns("tests"))
    folder = tmp_path / "2025"
    (folder / "tests").mkdir(parents=True)
    (folder / "policy.yaml").write_text(STAFF_2025, encoding="utf-8")
    (folder / "tests" / "2025.yaml").write_text(STAFF_CASES, encoding="utf-8")
    return folder


def test_staff_2025_version_merges_by_id_and_pays_the_hand_computed_amounts(staff_2025):
    checked = engine.load(staff_2025)
    policy = checked.policy
    # One exclusion added, the inherited one kept (it was silently dropped before: issue 15, 1).
    assert [ex.id for ex in policy.programs["national_grant"].exclusions] == ["vocational_year_3", "repeating_no_grant"]
    # One enum value added, the six old ones kept.
    assert [v.id for v in policy.fields["household"].values] == [
        "lifted_out", "edge_risk", "sudden_hardship", "dibao", "tekun", "ordinary", "monitored"
    ]  # fmt: skip
    assert "zihui" not in policy.programs
    run = run_cases(checked, load_cases(checked, staff_2025))
    assert [o.problems for o in run.outcomes if not o.passed] == []
    assert run.passed == 8


def test_meal_subsidy_is_money_computed_from_a_count(staff_2025):
    # 5 × 83 = 415 yuan, an exact Decimal, not an int and not a float
    checked = engine.load(staff_2025)
    assert checked.programs["meal_subsidy"].amount.type.kind == "money"
    evaluator = engine.Evaluator(checked, engine.Period.parse("2025-autumn"))
    facts = {fid: info.blank for fid, info in checked.fields.items() if info.field.compute is None}
    facts.update(household="lifted_out", hukou_in_county=True, school_in_county=True, has_xueji=True,
                 attendance="in_school", stage="primary", grade=2, meal_days=83)  # fmt: skip
    import datetime as dt

    facts.update(birth_date=dt.date(2017, 5, 1), id_number="x", name="甲")
    result = evaluator.evaluate(engine.Record(2, facts))
    amounts = {a.program: a.amount for a in result.awards}
    assert amounts["meal_subsidy"] == Decimal(415)
    assert isinstance(amounts["meal_subsidy"], Decimal)


def test_a_count_alone_is_not_money(policy_copy, tmp_path):
    folder = tmp_path / "next"
    folder.mkdir()
    (folder / "policy.yaml").write_text(
        STAFF_2025.replace("extends: ../2024-autumn", "extends: ../2021").replace(
            "min(5 * 在校就餐天数, 500)", "在校就餐天数"
        ),
        encoding="utf-8",
    )
    with pytest.raises(engine.PolicyError) as caught:
        engine.load(folder)
    assert "金额应为金额" in str(caught.value)


def test_check_says_where_a_list_without_ids_was_replaced_whole(tmp_path):
    folder = version(tmp_path, 'override:\n  programs:\n    - id: preschool_aid\n      when: [学段 == "学前"]\n')
    result = CliRunner().invoke(main, ["check", str(folder)])
    assert result.exit_code == 0, result.output
    # the 2021 when list of preschool_aid has 3 conditions; the override gives 1 and replaces all 3
    assert "policy.yaml:9: 资助项目「学前教育资助」的 when 没有逐项的标识，已整体替换上一版本的 3 项" in result.output
    shown = CliRunner().invoke(main, ["show", str(folder)]).output
    assert "已整体替换上一版本的 3 项" in shown


def test_remove_with_a_path_drops_one_exclusion_and_keeps_the_program(tmp_path):
    folder = version(tmp_path, "remove:\n  programs.national_grant.unless: [vocational_year_3]\n")
    checked = engine.load(folder)
    assert checked.policy.programs["national_grant"].exclusions == ()
    assert checked.policy.programs["national_grant"].amount.text == "1500"


def test_remove_with_a_path_names_what_does_not_exist(tmp_path):
    folder = version(tmp_path, "remove:\n  programs.national_grant.unless: [vocational_year_2]\n")
    with pytest.raises(engine.PolicyError) as caught:
        engine.load(folder)
    [problem] = caught.value.diagnostics
    assert problem.code == "unknown-name"
    assert "vocational_year_3" in problem.hint


# -- texts that follow parameters (issue 15, 3) --------------------------------------------


def test_a_reason_names_a_parameter_and_says_its_value_in_each_version(staff_2025):
    # 2021 writes 已超过 {送教上门等停发年龄} 周岁; 2025 raises the parameter from 16 to 17.
    old = engine.load(POLICIES / "2021").policy.programs["day_subsidy"].exclusions[0].reason
    new = engine.load(staff_2025).policy.programs["day_subsidy"].exclusions[0].reason
    assert "已超过 16 周岁" in old
    assert "已超过 17 周岁" in new


def test_an_unknown_name_in_a_reason_is_a_located_error(policy_copy):
    programs = policy_copy / "programs.yaml"
    text = programs.read_text(encoding="utf-8")
    programs.write_text(text.replace("{送教上门等停发年龄}", "{送教上门停发年龄}"), encoding="utf-8")
    with pytest.raises(engine.PolicyError) as caught:
        engine.load(policy_copy)
    [problem] = caught.value.diagnostics
    assert problem.code == "unknown-name"
    assert "送教上门等停发年龄" in problem.hint
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "{送教上门等停发年龄}" in row)
    assert (problem.location.file.endswith("programs.yaml"), problem.location.line) == (True, line)


def test_a_reason_may_quote_a_table_cell(policy_copy):
    programs = policy_copy / "programs.yaml"
    text = programs.read_text(encoding="utf-8")
    quoting = 'reason: 中职三年级无助学金（学费 {学费标准["中职", "其他学校"]} 元照免）'
    text = text.replace("reason: 中职学校三年级无国家助学金资助", quoting)
    programs.write_text(text, encoding="utf-8")
    checked = engine.load(policy_copy)
    # 学费标准 中职 其他学校 (the fallback row, by its word) is 1000 in policies/2021/tables.yaml
    assert checked.policy.programs["national_grant"].exclusions[0].reason == "中职三年级无助学金（学费 1000 元照免）"


def test_check_warns_when_an_override_keeps_a_text_whose_figure_it_no_longer_uses(staff_2025):
    # the 2025 version raises 送教上门等停发年龄 to 17 but keeps the 2021 text "已超过 16 周岁"
    result = CliRunner().invoke(main, ["check", str(staff_2025)])
    assert result.exit_code == 0, result.output
    [warning] = [line for line in result.output.splitlines() if "警告" in line]
    assert "day_subsidy_age_limit" in warning and "16" in warning and "17" in warning


@pytest.mark.parametrize("folder", ["2021", "2023", "2024", "2024-autumn"])
def test_shipped_versions_state_the_figures_they_pay(folder):
    result = CliRunner().invoke(main, ["check", str(POLICIES / folder)])
    assert "警告" not in result.output, result.output


def test_diff_warns_about_a_text_still_quoting_the_old_figure(tmp_path):
    folder = version(tmp_path, "override:\n  programs:\n    - id: preschool_aid\n      amount: 1200\n")
    result = CliRunner().invoke(main, ["diff", str(tmp_path / "2021"), str(folder)])
    # preschool_aid's text still says 1000 元/生·学期, which 2021 paid and 2025 does not
    assert "preschool_aid" in result.stderr and "1000" in result.stderr


# -- zizhu new (issue 15, 4) ------------------------------------------------------------------


def scaffolded(tmp_path: Path, effective: str) -> Path:
    """The shipped versions copied into `tmp_path` and `zizhu new 2025 --from 2024-autumn` run there."""
    for name in ("2021", "2023", "2024", "2024-autumn"):
        shutil.copytree(POLICIES / name, tmp_path / name)
    target = tmp_path / "2025"
    made = CliRunner().invoke(
        main, ["new", str(target), "--from", str(tmp_path / "2024-autumn"), "--effective", effective]
    )
    assert made.exit_code == 0, made.output
    return target


def test_zizhu_new_writes_a_skeleton_that_check_and_test_pass(tmp_path):
    target = scaffolded(tmp_path, "2025秋季")
    manifest = (target / "policy.yaml").read_text(encoding="utf-8")
    assert "extends: ../2024-autumn" in manifest
    assert "# override:" in manifest and "# remove:" in manifest  # the examples stay commented out
    checked = CliRunner().invoke(main, ["check", str(target)])
    assert checked.exit_code == 0, checked.output
    assert "生效：2025年秋季学期起" in checked.output
    tested = CliRunner().invoke(main, ["test", str(target)])
    assert tested.exit_code == 0, tested.output
    # 4 cases of its own, and everything 2024-autumn runs, inherited: the cases written with new ids,
    # 134 (2021) + 6 (2023; its 2 overrides replace 2021 cases) + 6 (2024; 26 overrides) + 4 (2024-autumn;
    # 1 override), less the 1 case 2024-autumn removes = 149
    assert tested.output.strip().splitlines()[-1] == (
        "运行 153 个用例：通过 153，失败 0；其中继承 149 个，本版本覆盖 0 个、删除 0 个继承的用例，跳过 0 个"
    )
    # the version is picked for its semester from the folder of versions
    evaluated = CliRunner().invoke(
        main,
        ["eval", str(ROOT / "examples" / "students-2021.csv"), "--policy", str(tmp_path), "--period", "2025年秋季学期"],
    )
    assert "学期 2025年秋季学期 使用政策版本" in evaluated.output


def test_zizhu_new_refuses_a_folder_in_use(tmp_path):
    (tmp_path / "2025").mkdir()
    (tmp_path / "2025" / "policy.yaml").write_text("policy: {}\n", encoding="utf-8")
    made = CliRunner().invoke(
        main, ["new", str(tmp_path / "2025"), "--from", str(POLICIES / "2021"), "--effective", "2025秋"]
    )
    assert made.exit_code == 2
    assert "已存在" in made.output


# -- periods as people write them (issue 15, 6) ----------------------------------------------


@pytest.mark.parametrize(
    "text, code",
    [
        ("2021-autumn", "2021-autumn"),
        ("2021秋季", "2021-autumn"),
        ("2021年秋季学期", "2021-autumn"),
        ("2022春", "2022-spring"),
        ("２０２２年春季", "2022-spring"),
    ],
)
def test_periods_as_people_write_them(text, code):
    period = engine.Period.parse(text)
    assert (period.code, str(period)) == (code, f"{code[:4]}年{'秋季' if 'autumn' in code else '春季'}学期")


def test_a_period_that_is_not_one_says_how_to_write_it():
    with pytest.raises(ValueError, match="2021秋季"):
        engine.Period.parse("2021冬")


def test_a_manifest_and_a_policy_test_may_write_periods_in_chinese(staff_2025):
    manifest = staff_2025 / "policy.yaml"
    manifest.write_text(
        manifest.read_text(encoding="utf-8").replace("from: 2025-autumn", "from: 2025秋季"), encoding="utf-8"
    )
    tests = staff_2025 / "tests" / "2025.yaml"
    tests.write_text(
        tests.read_text(encoding="utf-8").replace("period: 2025-autumn", "period: 2025年秋季学期"), encoding="utf-8"
    )
    checked = engine.load(staff_2025)
    assert checked.manifest.effective_from == engine.Period(2025, "autumn")
    run = run_cases(checked, load_cases(checked, staff_2025))
    assert run.failed == 0 and run.passed == 8


# -- messages a non-programmer can act on (issue 15, 5) --------------------------------------


def _problems(folder: Path) -> list:
    with pytest.raises(engine.PolicyError) as caught:
        engine.load(folder)
    return caught.value.diagnostics


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_tab_is_named_as_a_tab(policy_copy):
    _edit(
        policy_copy / "programs.yaml", "    per: semester\n    cite: 一(二)1\n", "\tper: semester\n    cite: 一(二)1\n"
    )
    [problem] = _problems(policy_copy)
    assert "制表符（Tab），请改用空格" in problem.hint
    assert problem.location.line == 7  # the line with the tab (programs.yaml: preschool_aid's per:)


def test_a_section_indented_under_an_item_is_pointed_at_its_own_line(policy_copy):
    # checks: indented by 4 lands inside the last field of fields.yaml
    path = policy_copy / "fields.yaml"
    text = path.read_text(encoding="utf-8").rstrip("\n")
    path.write_text(text + "\n\n    checks:\n      - id: extra\n", encoding="utf-8")
    [problem] = _problems(policy_copy)
    assert problem.code == "unknown-key"
    assert problem.location.line == len(text.splitlines()) + 2  # the checks: line itself
    assert "应顶格写" in problem.hint
    assert problem.message.startswith("字段「年龄」")  # not 「fields.32」


def test_extends_not_found_says_where_it_is_counted_from_and_lists_the_versions(staff_2025):
    _edit(staff_2025 / "policy.yaml", "extends: ../2024-autumn", "extends: 2024-autumn")
    [problem] = _problems(staff_2025)
    assert problem.code == "extends-not-found"
    assert "从本版本的文件夹" in problem.hint
    assert "../2024-autumn" in problem.hint and "../2021" in problem.hint


def test_full_width_symbols_are_reported_together_with_their_half_width_forms(staff_2025):
    _edit(staff_2025 / "policy.yaml", "min(5 * 在校就餐天数, 500)", "min（5 × 在校就餐天数，500）")
    [problem] = _problems(staff_2025)
    assert problem.code == "full-width-symbol"
    assert "4 个全角符号" in problem.message
    for pair in ("「（」→ (", "「×」→ *", "「，」→ ,", "「）」→ )"):
        assert pair in problem.message


def test_a_chinese_label_where_an_id_belongs_suggests_the_id(staff_2025):
    _edit(staff_2025 / "policy.yaml", "programs: [zihui]", "programs: [滋蕙计划资助]")
    [problem] = _problems(staff_2025)
    assert problem.code == "bad-format"
    assert "是否想写 zihui" in problem.hint


def test_a_period_typo_in_a_test_file_is_reported_once_at_its_line(staff_2025):
    _edit(staff_2025 / "tests" / "2025.yaml", "period: 2025-autumn", "period: 2025-autum")
    checked = engine.load(staff_2025)
    with pytest.raises(engine.PolicyError) as caught:
        load_cases(checked, staff_2025)
    [problem] = caught.value.diagnostics
    assert (problem.code, problem.location.line) == ("bad-period", 1)


def test_whole_numbers_and_ranges_in_an_int_column(staff_2025):
    from engine.check.types import INT
    from engine.check.values import parse_value

    days = engine.load(staff_2025).policy.fields["meal_days"]

    def parse_cell(field, cell):
        return parse_value(INT, cell, field)

    assert parse_cell(days, Decimal("80.0")) == (80, "")  # Excel writes 80 as 80.0
    assert parse_cell(days, "80.0") == (80, "")
    value, problem = parse_cell(days, "-3")
    assert value is None and "小于最小值 0" in problem and "min: 0" in problem
    value, problem = parse_cell(days, "80.5")
    assert value is None and "不是整数" in problem


# -- clauses of other documents (issue 15, 7) ------------------------------------------------

NEW_DOCUMENT = """\
  source:
    issuer: 中阳县教育科技局
    number: 中教发〔2025〕1号
    title: 中阳县学生在校就餐补助办法（示例）
    date: "2025-07-01"
    cite_style: 条款
"""


def test_a_version_cites_the_clauses_of_its_own_document(staff_2025):
    _edit(staff_2025 / "policy.yaml", "  effective:\n", NEW_DOCUMENT + "  effective:\n")
    _edit(staff_2025 / "policy.yaml", "cite: 一(二)2(3)", "cite: 第三条第（二）款")
    _edit(staff_2025 / "policy.yaml", "cite: 一(二)3(1)", "cite: 第五条")
    checked = engine.load(staff_2025)
    assert checked.policy.programs["meal_subsidy"].citation.cite == "第三条第（二）款"
    # the inherited items keep the 2021 plan's numbering, checked against the 2021 style
    assert checked.policy.programs["day_subsidy"].citation.cite == "一(二)2(2)"


def test_a_cite_in_another_style_than_the_document_is_located(staff_2025):
    _edit(staff_2025 / "policy.yaml", "cite: 一(二)2(3)", "cite: 第三条第（二）款")
    [problem] = _problems(staff_2025)
    assert problem.code == "bad-cite"
    assert "cite_style" in problem.hint


def test_full_width_parentheses_in_a_plan_clause(staff_2025):
    _edit(staff_2025 / "policy.yaml", "cite: 一(二)2(3)", "cite: 一（二）2（3）")
    assert engine.load(staff_2025).policy.programs["meal_subsidy"].citation.cite == "一（二）2（3）"
