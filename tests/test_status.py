"""Row status and counts (contract 2), flag categories, and sample money marked (contract 3), end to end."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from engine.cli import main
from tests.conftest import POLICY_2021, ROOT, jsonl_rows

EXAMPLE_CSV = ROOT / "examples" / "students-2021.csv"
PERIOD = ("--policy", POLICY_2021, "--period", "2021-autumn")


def run(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def roster(path: Path, rows: list[dict[str, str]]) -> Path:
    """A CSV with the example file's header and the given cells (every other cell blank)."""
    with EXAMPLE_CSV.open(encoding="utf-8-sig") as handle:
        header = next(csv.reader(handle))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, header)
        writer.writeheader()
        writer.writerows(rows)
    return path


COUNTY = {"本县户籍": "是", "家庭类型": "脱贫户", "县内学校": "是", "有学籍": "是", "就读方式": "在校"}
ROWS = [
    # row 2: 初中, in county: 312.5 (一(二)2(2)), nothing undecided → evaluated
    {"身份证号": "141129200805015880", "姓名": "甲", "学段": "初中", "年级": "2", "学校": "一中", "乡镇": "金罗镇",
     **COUNTY},
    # row 3: 普通高中 with 年级 blank: 1500 + 学费 800 (sample table), 书本费 needs 年级 → problem
    {"身份证号": "141129200910256897", "姓名": "乙", "学段": "普通高中", "学校": "中阳县第一中学", "乡镇": "宁乡镇",
     **COUNTY},
    # row 4: a wrong check digit → rejected
    {"身份证号": "141129201005039490", "姓名": "丙", "学段": "小学", "年级": "3", "学校": "三小", "乡镇": "暖泉镇",
     **COUNTY},
    # row 5: 11 on 2021-09-01, 未入学 but 残疾安置 送教上门 (D2): flagged, and the contradiction reported
    {"身份证号": "141129201009255730", "姓名": "丁", "就读方式": "未入学", "残疾": "是", "残疾安置": "送教上门",
     "学校": "四小", "乡镇": "张子山乡"},
]  # fmt: skip


@pytest.fixture
def students(tmp_path: Path) -> Path:
    return roster(tmp_path / "s.csv", ROWS)


def test_each_row_has_one_of_three_statuses_and_the_summary_counts_them(students):
    result = run("eval", students, *PERIOD, "--format", "jsonl")
    objects = jsonl_rows(result.stdout)
    assert [o["status"] for o in objects] == ["evaluated", "problem", "rejected", "evaluated"]
    assert result.exit_code == 1  # a problem row and a rejected row
    assert result.output.splitlines()[-1] == "共读取 4 行：计算 2 行，有问题 1 行，退回 1 行"
    problem = objects[1]
    assert {e["program"] for e in problem["errors"]} == {"textbook_waiver", "grade_not_in_stage"}


def test_a_roster_with_only_decided_rows_exits_0(tmp_path):
    result = run("eval", roster(tmp_path / "ok.csv", ROWS[:1]), *PERIOD, "--format", "jsonl")
    assert result.exit_code == 0
    assert result.output.splitlines()[-1] == "共读取 1 行：计算 1 行，有问题 0 行，退回 0 行"


def test_flags_carry_their_category(students):
    result = run("eval", students, *PERIOD, "--format", "jsonl")
    objects = jsonl_rows(result.stdout)
    flags = {f["check"]: f["category"] for f in objects[3]["flags"]}
    assert flags == {"not_in_school": "attendance", "not_enrolled_but_placed": "consistency"}


def test_awards_from_a_sample_table_say_so_and_only_they(students):
    result = run("eval", students, *PERIOD, "--format", "jsonl")
    objects = jsonl_rows(result.stdout)
    day = objects[0]["awards"]
    assert day == [{"program": "day_subsidy", "amount": "312.50", "kind": "grant", "per": "semester",
                    "clause": "一(二)2(2)"}]  # fmt: skip
    senior = {a["program"]: a for a in objects[1]["awards"]}
    assert "sample" not in senior["national_grant"]  # 1500 is the plan's own figure
    assert senior["tuition_waiver"]["sample"] is True and senior["tuition_waiver"]["amount"] == "800.00"


def test_table_output_marks_sample_money_and_groups_flags_by_category(students):
    result = run("eval", students, *PERIOD, "--format", "table")
    assert "免学费 800.00※" in result.stdout
    assert "控辍保学：适龄未入学；数据核对：未入学与残疾安置矛盾" in result.stdout
    # the ledger: 免学费 marked, sample money 800 counted apart, and a note saying it must be replaced
    assert "其中示例数据金额※" in result.stdout and "须由主管部门替换" in result.stdout


def test_xlsx_lists_problem_and_rejected_rows_with_school_and_township(students, tmp_path):
    out = tmp_path / "r.xlsx"
    assert run("eval", students, *PERIOD, "-o", out).exit_code == 1
    book = openpyxl.load_workbook(out)
    sheet = book["退回与问题"]
    rows = [[c.value for c in r] for r in sheet.iter_rows(min_row=2)]
    expected = {(3, "中阳县第一中学", "宁乡镇", "有问题"), (4, "三小", "暖泉镇", "退回")}
    assert {(r[0], r[3], r[4], r[5]) for r in rows} == expected
    assert sheet.cell(1, 4).value == "学校" and sheet.cell(1, 5).value == "乡镇"
    assert "核查标记（控辍保学）" in book.sheetnames and "核查标记（数据核对）" in book.sheetnames
    consistency = [[c.value for c in r] for r in book["核查标记（数据核对）"].iter_rows(min_row=2)]
    assert [(r[0], r[4]) for r in consistency] == [(5, "not_enrolled_but_placed")]
    notes = {row[0]: row[1] for row in book["说明"].iter_rows(min_row=2, values_only=True)}
    assert "须由主管部门替换" in notes["示例数据"] and "免学费" in notes["示例数据"]


def test_ledger_counts_the_same_and_exits_1_on_problems(students):
    result = run("ledger", students, *PERIOD)
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == "共读取 4 行：计算 2 行，有问题 1 行，退回 1 行"


def test_which_programs_read_a_sample_table_is_decided_from_the_checked_tree(checked_2021, policy_copy):
    import engine
    from engine.check.samples import sample_programs

    # tables.yaml marks 学费标准, 书本费标准 and 住宿费标准 as sample: exactly the three fee waivers read them
    assert sample_programs(checked_2021) == {"tuition_waiver", "textbook_waiver", "lodging_waiver"}
    # an amount reading another program's amount inherits its sample figures; awarded(…) moves no money
    programs = policy_copy / "programs.yaml"
    text = programs.read_text(encoding="utf-8")
    text = text.replace("    amount: 1500\n", "    amount: 1500 + amount(tuition_waiver)\n", 1)
    zihui = "    amount: if 省内院校 then 500 else 1000"
    text = text.replace(zihui, "    amount: if awarded(lodging_waiver) then 1 else 2")
    programs.write_text(text, encoding="utf-8")
    assert sample_programs(engine.load(policy_copy)) == {
        "tuition_waiver", "textbook_waiver", "lodging_waiver", "national_grant"
    }  # fmt: skip


def test_reconcile_counts_the_roster_and_notes_sample_money_in_its_findings(tmp_path):
    from tests.test_reconcile import EXACT, reconcile

    # 免书本费 (book fee table, sample) for 丙 left unpaid: 漏发 400 from a sample figure
    result, findings = reconcile(tmp_path, [p for p in EXACT if p["资助项目"] != "免书本费"])
    assert [(f["姓名"], f["资助项目"], f["应发（元）"]) for f in findings["漏发"]] == [("丙", "免书本费", 400)]
    assert result.exit_code == 1
    assert "标 ※ 的金额（免书本费）按示例收费标准计算" in result.stdout
    assert result.stderr.splitlines()[-1] == "共读取 5 行：计算 5 行，有问题 0 行，退回 0 行"


def test_reconcile_without_sample_programs_in_its_findings_has_no_note(tmp_path):
    from tests.test_reconcile import EXACT, reconcile

    result, findings = reconcile(tmp_path, [p for p in EXACT if p["资助项目"] != "寄宿生生活费补助"])
    assert sorted(f["应发（元）"] for f in findings["漏发"]) == [500, 625]  # 乙 小学寄宿, 戊 初中寄宿: plan figures
    assert "示例收费标准" not in result.stdout


def test_diff_impact_notes_money_from_sample_tables():
    result = run("diff", POLICY_2021, ROOT / "policies" / "2024", "--students", EXAMPLE_CSV, "--period", "2024-spring")
    assert result.exit_code == 0
    assert "按示例收费标准计算" in result.stdout and "免学费" in result.stdout.split("按示例收费标准计算")[0][-200:]
    # the same rows counted as by eval: 320 read; the rows with a blank 年级 have problems under both versions
    evaluated = run("eval", EXAMPLE_CSV, "--policy", ROOT / "policies" / "2024", "--period", "2024-spring")
    assert result.stderr.splitlines()[-1] == evaluated.stderr.splitlines()[-1]
    assert result.stderr.splitlines()[-1].startswith("共读取 320 行：")


def test_csv_marks_sample_programs_in_the_header_and_keeps_amounts_as_numbers(students, tmp_path):
    out = tmp_path / "r.csv"
    run("eval", students, *PERIOD, "-o", out)
    rows = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
    column = rows[0].index("免学费（元，※示例标准）")
    assert "非寄宿生生活补助（元）" in rows[0]
    assert rows[2][column] == "800.00"  # row 3 of the input: 普通高中, 学费 800 from the sample table


def test_explain_marks_sample_amounts(students):
    result = run("explain", students, *PERIOD, "--id", "141129200910256897")
    # 普通高中 with 年级 blank: 国家助学金 1500 (the plan's figure) + 免学费 800 (sample table) = 2300
    assert "合计：补助与减免 2300.00 元（国家助学金 1500.00；免学费 800.00※）" in result.output  # no loan here
    assert "【免学费】享受 800.00 元※" in result.output and "【国家助学金】享受 1500.00 元   " in result.output
    assert "标 ※ 的金额（免学费）按示例收费标准计算" in result.output


def test_saved_results_keep_sample_and_category(students, tmp_path, checked_2021):
    from engine.tools.saved import saved_results

    saved = tmp_path / "r.jsonl"
    run("eval", students, *PERIOD, "-o", saved)
    outcomes = list(saved_results(checked_2021, str(saved)))
    senior = {a.program: a.sample for a in outcomes[1].awards}
    assert senior == {"national_grant": False, "tuition_waiver": True}
    assert {f.check: f.category for f in outcomes[3].flags} == {
        "not_in_school": "attendance", "not_enrolled_but_placed": "consistency"
    }  # fmt: skip
