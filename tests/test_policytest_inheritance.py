"""Policy tests inherit the versions they extend, merged by case id (issue 15, item 1: test cases)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import engine
from engine.cli import main
from engine.tools.policytest import load_cases, run_cases
from tests.conftest import ROOT
from tests.test_authoring import STAFF_2025, STAFF_CASES, scaffolded

POLICIES = ROOT / "policies"


@pytest.fixture
def staff_2025_with_tests(tmp_path: Path) -> Path:
    """The county officer's 2025 version (tests/test_authoring.py), with every earlier version's
    tests shipped beside it: what `zizhu test policies/2025` inherits."""
    for name in ("2021", "2023", "2024", "2024-autumn"):
        shutil.copytree(POLICIES / name, tmp_path / name)
    folder = tmp_path / "2025"
    (folder / "tests").mkdir(parents=True)
    (folder / "policy.yaml").write_text(STAFF_2025, encoding="utf-8")
    (folder / "tests" / "2025.yaml").write_text(STAFF_CASES, encoding="utf-8")
    return folder


def _run(folder: Path):
    checked = engine.load(folder)
    return run_cases(checked, load_cases(checked, folder))


def _failed(run) -> set[str]:
    return {o.case.name for o in run.outcomes if not o.passed}


# What each change of the 2025 version makes stale among the cases it inherits, read off the
# earlier versions' test files by hand:
# 学前 1000 → 1200: the six cases expecting preschool_aid: 1000 (grep "preschool_aid: 1000").
PRESCHOOL_1000 = {
    "县内在籍在园幼儿 1000",
    "春季学期同样 1000",
    "特殊群体（低保）幼儿在籍且已申请 1000（S1）",
    "边缘易致贫户学生学前在籍已申请：1000",
    "W2 外地就读学前、出具说明：学前资助 1000",
    "学前幼儿标了复读：只发学前资助 1000；报告矛盾",
}
# 送教上门等停发年龄 16 → 17: the cases of a 16-year-old refused (two in 2021, one in 2024).
STOPPED_AT_16 = {
    "秋季 基准日为 16 岁生日次日（2005-08-31 生，16 周岁）停发",
    "春季 16 岁生日次日（2006-02-28 生）停发",
    "送教上门初中生 16 周岁停发照旧（2008-02-29 生，2024-03-01 满 16 周岁）",
}
# 复读不享受国家助学金: the 复读 cases that expected the grant, or refused it for another reason.
REPEATING = {
    "W2a 高中毕业生外地复读：按普通高中发助学金 1500",
    "普通高中复读（按普通高中登记）：不是矛盾",
    "中职三年级标了复读：仍无国家助学金（R3），免学费 1000、书本 200 照免；报告矛盾",
}
# zihui removed: the 12 cases of policies/2021/tests/college.yaml whose expectations name zihui.
ZIHUI_CASES = 12


def test_inherited_cases_run_under_the_new_rules_and_the_stale_ones_fail(staff_2025_with_tests):
    run = _run(staff_2025_with_tests)
    failed = _failed(run)
    assert failed >= PRESCHOOL_1000 | STOPPED_AT_16 | REPEATING
    cannot_read = [o for o in run.outcomes if o.problems and "不认识的资助项目「zihui」" in o.problems[0]]
    assert len(cannot_read) == ZIHUI_CASES
    assert len(failed) == len(PRESCHOOL_1000) + len(STOPPED_AT_16) + len(REPEATING) + ZIHUI_CASES  # 24
    # 141 inherited (what 2024-autumn runs: tests/test_authoring.py) + the officer's 8 = 149
    assert (run.inherited, len(run.outcomes), run.failed) == (149, 157, 24)
    # The officer's own cases all pass: the failures are all inherited.
    assert all(o.case.inherited_from for o in run.outcomes if not o.passed)


def test_a_failing_inherited_case_says_where_it_came_from_and_how_to_replace_or_remove_it(staff_2025_with_tests):
    result = CliRunner().invoke(main, ["test", str(staff_2025_with_tests)])
    assert result.exit_code == 1
    block = result.output.split("失败：县内在籍在园幼儿 1000")[1].split("\n\n")[0]
    assert "2021/tests/preschool.yaml:13" in block  # the line of its `- name:`
    assert "「学前教育资助」(preschool_aid)：应为 1000.00，实际 1200.00" in block
    assert "此用例继承自" in block and "2021" in block
    assert 'id: "县内在籍在园幼儿 1000"' in block and 'remove: {cases: ["县内在籍在园幼儿 1000"]}' in block
    assert result.output.strip().splitlines()[-1] == (
        "运行 157 个用例：通过 133，失败 24；其中继承 149 个，本版本覆盖 0 个、删除 0 个继承的用例，跳过 0 个"
    )


FIXES = """
  # 1000 → 1200: the 2025 amount, same student and semester as the inherited case
  - id: 县内在籍在园幼儿 1000
    name: 县内在籍在园幼儿 1200
    period: 2021-autumn
    student: {学段: 学前, 出生日期: 2017-05-10}
    expect:
      awards: {preschool_aid: 1200}
  # replaced by its name alone (no id: the name is the id)
  - name: 春季学期同样 1000
    period: 2022-spring
    student: {学段: 学前, 出生日期: 2017-05-10}
    expect:
      awards: {preschool_aid: 1200}
remove:
  cases:
    - 高考考入省内本科的新生：滋蕙 500
    - 高考考入省外本科的新生：滋蕙 1000
"""


def test_a_case_with_an_inherited_id_replaces_it_and_remove_drops_it(staff_2025_with_tests):
    tests = staff_2025_with_tests / "tests" / "2025.yaml"
    tests.write_text(tests.read_text(encoding="utf-8") + FIXES, encoding="utf-8")
    run = _run(staff_2025_with_tests)
    failed = _failed(run)
    assert "县内在籍在园幼儿 1000" not in failed and "县内在籍在园幼儿 1200" not in failed
    assert "春季学期同样 1000" not in failed
    assert not {"高考考入省内本科的新生：滋蕙 500", "高考考入省外本科的新生：滋蕙 1000"} & {
        o.case.name for o in run.outcomes
    }
    # 24 stale - 2 replaced - 2 removed = 20; 157 cases - 2 removed = 155, of which 149 - 2 - 2 inherited
    assert (run.overridden, run.removed, run.failed, len(run.outcomes), run.inherited) == (2, 2, 20, 155, 145)
    replaced = next(o for o in run.outcomes if o.case.name == "县内在籍在园幼儿 1200")
    assert replaced.case.inherited_from == "" and replaced.passed


def test_removing_a_case_that_is_not_inherited_is_a_located_error(staff_2025_with_tests):
    tests = staff_2025_with_tests / "tests" / "2025.yaml"
    text = tests.read_text(encoding="utf-8")
    tests.write_text(text + "remove:\n  cases:\n    - 县内在籍在园幼儿 100\n", encoding="utf-8")
    checked = engine.load(staff_2025_with_tests)
    with pytest.raises(engine.PolicyError) as caught:
        load_cases(checked, staff_2025_with_tests)
    [problem] = caught.value.diagnostics
    assert problem.code == "unknown-name"
    assert problem.location.line == len(text.splitlines()) + 3
    assert "县内在籍在园幼儿 1000" in problem.hint  # the nearest inherited id


def test_removing_a_case_the_version_itself_writes_is_an_error(staff_2025_with_tests):
    tests = staff_2025_with_tests / "tests" / "2025.yaml"
    tests.write_text(
        tests.read_text(encoding="utf-8") + "remove:\n  cases: [学前提高到 1200（原 1000）]\n", encoding="utf-8"
    )
    checked = engine.load(staff_2025_with_tests)
    with pytest.raises(engine.PolicyError) as caught:
        load_cases(checked, staff_2025_with_tests)
    assert [d.code for d in caught.value.diagnostics] == ["duplicate-case"]


def test_two_cases_with_one_id_in_a_version_are_an_error(staff_2025_with_tests):
    tests = staff_2025_with_tests / "tests" / "2025.yaml"
    extra = "  - id: 学前提高到 1200（原 1000）\n    name: 另一个\n    student: {}\n    expect: {awards: {}}\n"
    tests.write_text(tests.read_text(encoding="utf-8") + extra, encoding="utf-8")
    checked = engine.load(staff_2025_with_tests)
    with pytest.raises(engine.PolicyError) as caught:
        load_cases(checked, staff_2025_with_tests)
    [problem] = caught.value.diagnostics
    assert problem.code == "duplicate-case" and "2025.yaml:" in problem.message


def _version(tmp_path: Path, manifest_extra: str, cases: str) -> Path:
    shutil.copytree(POLICIES / "2021", tmp_path / "2021")
    folder = tmp_path / "next"
    (folder / "tests").mkdir(parents=True)
    (folder / "policy.yaml").write_text(
        "policy:\n  id: next\n  version: '1'\n  extends: ../2021\n  title: 测试版本\n"
        "  effective: {from: 2024-autumn}\n" + manifest_extra,
        encoding="utf-8",
    )
    (folder / "tests" / "next.yaml").write_text(cases, encoding="utf-8")
    return folder


PRESCHOOL_CASE = """\
period: 2024-autumn
defaults: {家庭类型: 脱贫户, 本县户籍: 是, 县内学校: 是, 有学籍: 是, 就读方式: 在校}
cases:
  - name: 县内在籍在园幼儿（本版本）
    student: {学段: 学前, 出生日期: 2020-05-10}
    expect:
      awards: {preschool_aid: %s}
"""


def test_inherited_cases_outside_the_effective_range_are_skipped_when_the_rules_read_the_year(tmp_path):
    # 学前 stays 1000 but now reads the semester's year: run in 2021 a case would exercise an
    # `else` branch this version never takes. 2021's 134 cases are all in 2021-autumn or 2022-spring.
    amount = "override:\n  programs:\n    - id: preschool_aid\n      amount: if 学期.年份 >= 2024 then 1000 else 0\n"
    folder = _version(tmp_path, amount, PRESCHOOL_CASE % 1000)
    run = _run(folder)
    assert (run.skipped, run.inherited, run.passed, run.failed) == (134, 0, 1, 0)
    skipped = next(o for o in run.outcomes if o.skipped)
    assert "学期.年份" in skipped.skipped and "2024年秋季学期起" in skipped.skipped
    result = CliRunner().invoke(main, ["test", str(folder)])
    assert result.output.strip().splitlines()[-1].endswith("跳过 134 个")


def test_without_the_year_inherited_cases_run_in_their_own_semester(tmp_path):
    folder = _version(tmp_path, "", PRESCHOOL_CASE % 1000)
    run = _run(folder)
    # 134 inherited, every one in a semester before 2024-autumn, run under this version's (= 2021's) rules
    assert (run.skipped, run.inherited, run.outside_range, run.passed, run.failed) == (0, 134, 134, 135, 0)
    result = CliRunner().invoke(main, ["test", str(folder)])
    assert "注：134 个用例的学期不在本版本的生效学期内" in result.output


def test_zizhu_new_tests_skeleton_explains_inheritance_and_its_remove_example_works(tmp_path):
    target = scaffolded(tmp_path, "2025秋")
    skeleton = target / "tests" / "2025.yaml"
    text = skeleton.read_text(encoding="utf-8")
    assert "全部继承" in text and "id 相同的用例" in text
    # The commented example names a real inherited case (2021's first, checks.yaml): uncommented, it removes it.
    example = '#     - "10 岁未入学：标记适龄未入学"  # 原因：……'
    assert example in text
    uncommented = text.replace("# remove:\n#   cases:\n", "remove:\n  cases:\n").replace(example, example[1:])
    skeleton.write_text(uncommented, encoding="utf-8")
    tested = CliRunner().invoke(main, ["test", str(target)])
    assert tested.exit_code == 0, tested.output
    # 153 (test_authoring's scaffold count) less the one removed
    assert tested.output.strip().splitlines()[-1] == (
        "运行 152 个用例：通过 152，失败 0；其中继承 148 个，本版本覆盖 0 个、删除 1 个继承的用例，跳过 0 个"
    )
