"""Versions as data: extends with add / override / remove by id, version picking, and the diff."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

import engine
from benchmarks.students import write_csv
from engine.check.tables import OTHER
from engine.cli import main
from engine.diagnostics import PolicyError
from engine.policy.loader import declared_effective
from engine.policy.model import Period
from engine.policy.versions import pick_version
from tests.conftest import EXAMPLE_EXIT_CODE, ROOT
from tests.test_meaning import jsonl_rows

POLICIES = ROOT / "policies"
EXAMPLE_CSV = ROOT / "examples" / "students-2021.csv"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


# One item of every kind, added by a version (pilot items read one another, so removing one
# that is still read is an error: the removal test must remove them all).
PILOT_ITEMS = """
parameters:
  - {id: pilot_limit, label: 试点参数, type: int, value: 3, cite: 一(二), text: 示例}
fields:
  - {id: pilot_school, label: 试点学校, type: bool, blank: 否}
tables:
  - {id: pilot_rate, label: 试点标准, keys: [stage], cite: 一(二), text: 示例, rows: {小学: 100}}
groups:
  - {id: pilot, label: 试点对象, cite: 一(二), text: 示例, when: 试点学校 and 年级 <= 试点参数}
programs:
  - id: pilot_aid
    label: 试点补助
    kind: grant
    per: semester
    cite: 一(二)
    text: 示例
    when: [试点对象]
    amount: 试点标准[学段]
checks:
  - {id: pilot_check, label: 试点核查, cite: 一(一)3, text: 示例, when: [试点对象], message: 试点}
"""


def version(tmp_path: Path, text: str, name: str = "next") -> Path:
    """A version extending a scratch copy of 2021, its manifest plus `text`."""
    base = tmp_path / "2021"
    if not base.exists():
        shutil.copytree(POLICIES / "2021", base)
    folder = tmp_path / name
    folder.mkdir()
    (folder / "policy.yaml").write_text(
        "policy:\n  id: next\n  version: '1'\n  extends: ../2021\n  title: 测试版本\n"
        "  effective: {from: 2022-autumn}\n" + text,
        encoding="utf-8",
    )
    return folder


@pytest.mark.parametrize("folder", ["2021", "2023", "2024", "2024-autumn"])
def test_every_shipped_version_passes_its_own_policy_tests(folder):
    result = run("test", POLICIES / folder)
    assert result.exit_code == 0, result.output
    assert "失败 0；" in result.output.strip().splitlines()[-1]


def test_override_a_table_cell_only_changes_that_cell(tmp_path):
    override = "override:\n  tables:\n    - id: book_fee\n      rows: {普通高中: {其他学校: {2: 360}}}\n"
    folder = version(tmp_path, override)
    checked = engine.load(folder)
    assert checked.tables["book_fee"][("senior", OTHER, 2)] == Decimal(360)
    assert checked.tables["book_fee"][("senior", OTHER, 1)] == Decimal(400)  # untouched
    assert checked.tables["book_fee"][("senior", "中阳县第二中学", 2)] == Decimal(380)  # untouched
    assert checked.tables["book_fee"][("vocational", OTHER, 3)] == Decimal(200)


def test_add_override_and_remove_every_kind_of_item(tmp_path):
    folder = version(
        tmp_path,
        PILOT_ITEMS
        + """override:
  parameters:
    - {id: day_subsidy_age_limit, value: 17}
  fields:
    - {id: township, aliases: [所在乡镇]}
  groups:
    - id: core
      when: 家庭类型 in ["脱贫户", "边缘易致贫户"]
  programs:
    - {id: preschool_aid, amount: 1200}
  checks:
    - {id: key_watch, message: 新提示}
remove:
  programs: [zihui]
  checks: [disabled_unplaced]
""",
    )
    checked = engine.load(folder)
    p = checked.policy
    assert {"pilot_aid", "preschool_aid"} <= set(p.programs) and "zihui" not in p.programs
    assert "pilot_check" in p.checks and "disabled_unplaced" not in p.checks
    assert checked.parameters["day_subsidy_age_limit"] == 17 and checked.parameters["pilot_limit"] == 3
    assert p.fields["township"].aliases == ("所在乡镇",) and "pilot_school" in p.fields
    assert p.programs["preschool_aid"].amount.text == "1200"
    assert p.checks["key_watch"].message == "新提示"
    assert p.provenance[("programs", "preschool_aid")][-1].startswith("覆盖于 ")
    evaluator = engine.Evaluator(checked, Period.parse("2022-autumn"))
    values = {fid: info.blank for fid, info in checked.fields.items() if info.field.compute is None}
    values.update(household="edge_risk", pilot_school=True, stage="primary", grade=3, school_in_county=True,
                  has_xueji=True, attendance="in_school", birth_date=dt.date(2013, 1, 1))  # fmt: skip
    awards = {a.program: a.amount for a in evaluator.evaluate(engine.Record(2, values)).awards}
    # 边缘易致贫户 is core now (override): pilot 100 + day subsidy 250, as 2021's figures otherwise.
    assert awards == {"pilot_aid": Decimal(100), "day_subsidy": Decimal(250)}


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("override:\n  programs:\n    - {id: zihuii, amount: 1}\n", "unknown-name"),
        ("remove:\n  tables: [loan_caps]\n", "unknown-name"),
        ("programs:\n  - {id: zihui, label: x, kind: grant, per: once, cite: 一(二), text: x, when: [是], amount: 1}\n",
         "duplicate-name"),
    ],
)  # fmt: skip
def test_overriding_or_removing_what_does_not_exist_is_a_located_error(tmp_path, text, code):
    folder = version(tmp_path, text)
    with pytest.raises(PolicyError) as info:
        engine.load(folder)
    (error,) = info.value.diagnostics
    assert error.code == code
    assert error.location.file.endswith("policy.yaml") and error.location.line >= 7


def test_removing_an_item_still_referenced_is_reported_where_it_is_used(tmp_path):
    folder = version(tmp_path, "remove:\n  groups: [enrolled]\n")
    with pytest.raises(PolicyError) as info:
        engine.load(folder)
    assert all(d.code == "unknown-name" and "已入学" in d.message for d in info.value.diagnostics)
    assert {Path(d.location.file).name for d in info.value.diagnostics} == {"programs.yaml", "checks.yaml"}


@pytest.mark.parametrize(
    ("period", "picked", "undergraduate_cap"),
    [
        ("2022-spring", "2021", 12000),
        ("2023-autumn", "2023", 16000),
        ("2024-spring", "2024", 16000),
        ("2024-autumn", "2024-autumn", 20000),
    ],
)
def test_the_version_in_force_is_picked_by_semester(period, picked, undergraduate_cap):
    folder = pick_version(POLICIES, Period.parse(period), declared_effective)
    assert folder.name == picked
    assert engine.load(folder).tables["loan_cap"][("undergraduate",)] == Decimal(undergraduate_cap)


def test_eval_with_the_policies_root_says_which_version_it_used():
    result = run("eval", EXAMPLE_CSV, "--policy", POLICIES, "--period", "2024-autumn", "--format", "jsonl")
    assert result.exit_code == EXAMPLE_EXIT_CODE
    assert "使用政策版本 policies/2024-autumn" in result.output


def test_a_stale_version_for_a_later_semester_is_warned_about():
    result = run("eval", EXAMPLE_CSV, "--policy", POLICIES / "2021", "--period", "2024-spring", "--format", "jsonl")
    assert "警告" in result.output and "policies/2024" in result.output


def test_diff_2021_to_2024_lists_exactly_the_changed_amounts():
    result = run("diff", POLICIES / "2021", POLICIES / "2024", "--format", "json")
    assert result.exit_code == 0
    listed = json.loads(result.output)["changes"]
    changes = {(c["id"], c["aspect"]): (c["old"], c["new"], c["percent"]) for c in listed if c["aspect"] != "原文"}
    # The versions rewrite the quoted text of each item whose figures they change (issue 15, 3).
    assert {c["id"] for c in listed if c["aspect"] == "原文"} == {
        "boarding_rate", "day_rate", "loan_cap", "boarding_subsidy", "day_subsidy", "student_loan"
    }  # fmt: skip
    assert changes == {
        ("boarding_rate", "表格 [小学]"): ("500.00", "625.00", "+25.0%"),
        ("boarding_rate", "表格 [初中]"): ("625.00", "750.00", "+20.0%"),
        ("day_rate", "表格 [小学]"): ("250.00", "312.50", "+25.0%"),
        ("day_rate", "表格 [初中]"): ("312.50", "375.00", "+20.0%"),
        ("loan_cap", "表格 [专科]"): ("12000.00", "16000.00", "+33.3%"),
        ("loan_cap", "表格 [本科]"): ("12000.00", "16000.00", "+33.3%"),
        ("loan_cap", "表格 [研究生]"): ("16000.00", "20000.00", "+25.0%"),
    }


def test_a_diff_of_formatting_and_reordering_only_is_empty(tmp_path):
    copy = tmp_path / "2021b"
    shutil.copytree(POLICIES / "2021", copy)
    path = copy / "programs.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace('学段 in ["小学", "初中"]', '学段  in  ["初中","小学"]')
    text = text.replace("县内受助对象 or 外地就读未享受资助学生", "(外地就读未享受资助学生) or 县内受助对象")
    text = text.replace('学段 == "学前"', '学段 = "学前"')
    path.write_text(text, encoding="utf-8")
    groups = copy / "groups.yaml"
    g = groups.read_text(encoding="utf-8").replace(
        "when: [原建档立卡学生, 县内学校, 有学籍]", "when: [有学籍, 县内学校, 原建档立卡学生]"
    )
    groups.write_text(g, encoding="utf-8")
    result = run("diff", POLICIES / "2021", copy, "--exit-code")
    assert result.exit_code == 0
    assert "两个版本没有差别" in result.output
    # "No change" is a claim about outcomes: it holds on students with blank cells too (blanks are
    # unknown and list order no longer decides which one is met first).
    students = tmp_path / "students.csv"
    write_csv(students, 2000, blanks=0.05)
    outputs = [
        jsonl_rows(run("eval", students, "--policy", folder, "--period", "2021-autumn", "--format", "jsonl").stdout)
        for folder in (POLICIES / "2021", copy)
    ]
    assert outputs[0] == outputs[1] and '"status": "problem"' in outputs[0]


def test_a_changed_condition_is_shown_old_beside_new_and_exit_code_is_1(tmp_path):
    copy = tmp_path / "2021c"
    shutil.copytree(POLICIES / "2021", copy)
    path = copy / "programs.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("申请贷款金额 > 0", "申请贷款金额 >= 1000"), encoding="utf-8"
    )
    result = run("diff", POLICIES / "2021", copy, "--format", "json", "--exit-code")
    assert result.exit_code == 1
    (change,) = json.loads(result.output)["changes"]
    assert (change["id"], change["aspect"], change["old"], change["new"]) == (
        "student_loan", "条件", "申请贷款金额 > 0", "申请贷款金额 >= 1000"
    )  # fmt: skip


def test_the_impact_title_counts_problem_rows_as_well_as_rejected_ones():
    # The example list: 320 rows, none rejected; 3 with a problem on purpose (README: a blank 年级
    # and contradictions), undecided under either version.
    result = run("diff", POLICIES / "2021", POLICIES / "2024", "--students", EXAMPLE_CSV, "--period", "2024-spring")
    title = "对学生的影响（共 320 行：3 行有无法判定的项目，按两个版本各自的结果比较；0 行被退回，未计）"
    assert title in result.output


def test_the_impact_counts_travel_with_json_and_the_workbook(tmp_path):
    # Three students of the example list (all fine on their own), the first given a wrong check digit:
    # read 3, rejected 1 (left out of the totals), problem 0, evaluated 3 - 0 - 1 = 2.
    lines = EXAMPLE_CSV.read_text(encoding="utf-8-sig").splitlines()[:4]
    cells = lines[1].split(",")
    cells[0] = cells[0][:-1] + ("0" if cells[0][-1] != "0" else "1")
    lines[1] = ",".join(cells)
    students = tmp_path / "三名学生.csv"
    students.write_text("\n".join(lines) + "\n", encoding="utf-8")
    target = tmp_path / "影响.xlsx"
    result = run("diff", POLICIES / "2021", POLICIES / "2024", "--students", students, "--period", "2024-spring",
                 "--format", "json", "-o", target)  # fmt: skip
    assert result.exit_code == 0
    impact = json.loads(result.output[: result.output.rindex("}") + 1])["impact"]
    assert impact["rows"] == {"read": 3, "evaluated": 2, "problem": 0, "rejected": 1}
    assert impact["rows_note"] == "共 3 行：0 行有无法判定的项目，按两个版本各自的结果比较；1 行被退回，未计"
    import openpyxl

    about = {k.value: v.value for k, v in openpyxl.load_workbook(target)["说明"].iter_rows(min_row=2)}
    assert (about["读取行数"], about["计算行数（无问题）"], about["有问题行数（按各自结果比较）"],
            about["退回行数（未计入）"]) == (3, 2, 0, 1)  # fmt: skip
    assert about["比较的行"] == impact["rows_note"]
    # The semester as every other output words it, for both versions; the JSON record keeps the code.
    assert about["旧版学期"] == about["新版学期"] == "2024年春季学期"
    assert json.loads(result.output[: result.output.rindex("}") + 1])["decision_records"]["old"]["semester"] == (
        "2024-spring"
    )


def test_impact_on_the_examples_matches_a_hand_computation(tmp_path):
    target = tmp_path / "impact.xlsx"
    result = run("diff", POLICIES / "2021", POLICIES / "2024", "--students", EXAMPLE_CSV, "--period", "2024-spring",
                 "--format", "json", "-o", target)  # fmt: skip
    assert result.exit_code == 0
    impact = json.loads(result.output[: result.output.rindex("}") + 1])["impact"]
    import csv

    with EXAMPLE_CSV.open(encoding="utf-8-sig") as handle:
        facts = {row_number: row for row_number, row in enumerate(csv.DictReader(handle), start=2)}
    # The facts the hand computation below rests on: 脱贫户 at county schools, with 学籍, in school.
    for row_number, stage, boarding in ((2, "初中", "否"), (10, "小学", "是"), (13, "初中", "是")):
        f = facts[row_number]
        assert (f["家庭类型"], f["县内学校"], f["有学籍"], f["就读方式"]) == ("脱贫户", "是", "是", "在校")
        assert (f["学段"], f["校内住宿"]) == (stage, boarding)
    students = {(s["行"], s["资助项目"]): s for s in impact["students"]}
    # Row 2: a 脱贫户 初中 day student at a county school: 312.5 → 375 (2024 standard), +62.5.
    assert students[(2, "非寄宿生生活补助")]["差额（元）"] == "62.50"
    # Row 10: a 小学 boarder: 500 → 625, +125.
    assert (students[(10, "寄宿生生活费补助")]["调整前（元）"], students[(10, "寄宿生生活费补助")]["调整后（元）"]) == (
        "500.00",
        "625.00",
    )
    # Row 13: an 初中 boarder: 625 → 750.
    assert students[(13, "寄宿生生活费补助")]["差额（元）"] == "125.00"
    programs = {p["标识"]: p for p in impact["programs"] if p["标识"]}
    totals = {p["资助项目"]: p for p in impact["programs"] if not p["标识"]}
    per_program = sum(Decimal(p["差额（元）"]) for p in programs.values())
    total = sum(Decimal(t["差额（元）"]) for t in totals.values())
    assert per_program == total == sum(Decimal(s["差额（元）"]) for s in impact["students"])
    # Only living subsidies change in a spring semester (loans are autumn-only, Decision P1).
    assert {pid for pid, p in programs.items() if p["差额（元）"] != "0.00"} == {"boarding_subsidy", "day_subsidy"}
    assert target.exists()


def test_show_prints_the_effective_policy_with_provenance():
    result = run("show", POLICIES / "2024")
    assert result.exit_code == 0
    assert "zhongyang-2024 2024.1 (policies/2024) ← zhongyang-2023 2023.1 (policies/2023)" in result.output
    assert "覆盖于 policies/2024/policy.yaml" in result.output
    assert "312.5" in result.output


def test_remove_every_kind_of_item_through_a_chain_of_versions(tmp_path):
    """2021 → next (adds one item of every kind) → top (removes them all) is 2021 again."""
    version(tmp_path, PILOT_ITEMS)
    top = tmp_path / "top"
    top.mkdir()
    (top / "policy.yaml").write_text(
        "policy:\n  id: top\n  version: '2'\n  extends: ../next\n  title: 删除\n  effective: {from: 2023-autumn}\n"
        "remove:\n  parameters: [pilot_limit]\n  fields: [pilot_school]\n  tables: [pilot_rate]\n"
        "  groups: [pilot]\n  programs: [pilot_aid]\n  checks: [pilot_check]\n",
        encoding="utf-8",
    )
    middle = engine.load(tmp_path / "next").policy
    assert {"pilot_limit", "pilot_school", "pilot_rate", "pilot", "pilot_aid", "pilot_check"} <= (
        set(middle.parameters) | set(middle.fields) | set(middle.tables) | set(middle.groups)
        | set(middle.programs) | set(middle.checks)
    )  # fmt: skip
    result = run("diff", POLICIES / "2021", top, "--exit-code")
    assert result.exit_code == 0 and "两个版本没有差别" in result.output
    added = run("diff", POLICIES / "2021", tmp_path / "next", "--format", "json")
    kinds = {(c["kind"], c["aspect"]) for c in json.loads(added.output)["changes"]}
    assert kinds == {(k, "新增") for k in ("parameters", "fields", "tables", "groups", "programs", "checks")}
