"""Workbooks as an officer opens them in Excel or WPS: every sheet of every workbook zizhu writes has
amounts as numbers shown 0.00 (Excel's SUM of text is 0), rows and grades as numbers, a styled,
frozen header row with an autofilter, columns wide enough for Chinese text, and a 说明 sheet naming
the policy (title, 文号, version, whether it is an illustration) and the semester."""

from __future__ import annotations

import csv
from decimal import Decimal

import openpyxl
import pytest
from click.testing import CliRunner
from openpyxl.utils import get_column_letter

from engine.cli import main
from engine.diagnostics import display_width
from tests.conftest import POLICY_2021, ROOT

EXAMPLE_CSV = ROOT / "examples" / "students-2021.csv"
PERIOD = ("--period", "2021-autumn")

# The first three students of the example list (hand-read from examples/students-2021.csv):
#   row 2 高建,   脱贫户 初中 8 年级, 不住校, 车鸣峪乡初级中学, 车鸣峪乡
#   row 3 白宇天, 脱贫户 小学 6 年级, 不住校, 金罗镇第一小学,   金罗镇
#   row 4 黄娜鹏, 一般家庭 中职 2 年级, 中阳县职业中学, 枝柯镇
# 一(二)2(2): 非寄宿生生活补助 初中 312.5 元/生·学期, 小学 250 元/生·学期 (寄宿标准 625 / 500 的一半).
THREE = 3


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def three_students(tmp_path):
    lines = EXAMPLE_CSV.read_text(encoding="utf-8-sig").splitlines()[: THREE + 1]
    path = tmp_path / "三名学生.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def assert_office_sheet(sheet) -> None:
    """A header row that is styled, frozen and filtered, and columns at least as wide as their header."""
    headers = [c.value for c in sheet[1]]
    assert sheet.freeze_panes == "A2", sheet.title
    assert sheet.auto_filter.ref == f"A1:{get_column_letter(len(headers))}{max(sheet.max_row, 1)}", sheet.title
    assert all(c.font.bold for c in sheet[1]), sheet.title
    for index, header in enumerate(headers, start=1):
        width = sheet.column_dimensions[get_column_letter(index)].width
        assert width >= display_width(header), (sheet.title, header, width)


def column(sheet, header: str) -> list:
    headers = [c.value for c in sheet[1]]
    return [row[headers.index(header)] for row in sheet.iter_rows(min_row=2)]


def test_eval_workbook_holds_numbers_with_formats_on_every_sheet(tmp_path, three_students):
    target = tmp_path / "结果.xlsx"
    assert run("eval", three_students, "--policy", POLICY_2021, *PERIOD, "-o", target).exit_code == 0
    book = openpyxl.load_workbook(target)
    for sheet in book.worksheets:
        assert_office_sheet(sheet)

    awards = book["资助明细"]
    amounts = {(r.value, p.value): a for r, p, a in zip(column(awards, "行"), column(awards, "标识"),
                                                          column(awards, "金额（元）"), strict=True)}  # fmt: skip
    day = amounts[(2, "day_subsidy")]  # 高建, 初中, not boarding: 312.5
    assert day.data_type == "n" and day.number_format == "0.00" and Decimal(str(day.value)) == Decimal("312.5")
    assert amounts[(3, "day_subsidy")].value == 250  # 白宇天, 小学, not boarding
    assert all(c.data_type == "n" for c in column(awards, "行"))

    students = book["学生"]
    assert [c.value for c in column(students, "行")] == [2, 3, 4]
    grades = column(students, "年级")
    assert [c.value for c in grades] == [8, 6, 2] and all(c.data_type == "n" for c in grades)
    totals = column(students, "合计（补助与减免）")
    # 高建: 312.5 given (nothing else for a 初中 day pupil here); stored as a number, not '312.50'.
    assert totals[0].data_type == "n" and totals[0].number_format == "0.00" and totals[0].value == 312.5
    assert [c.value for c in column(students, "学校")][:2] == ["车鸣峪乡初级中学", "金罗镇第一小学"]

    ledger = book["台账"]
    money = [c for c in column(ledger, "金额（元）") if c.value is not None]
    assert money and all(c.data_type == "n" and c.number_format == "0.00" for c in money)
    counts = [c for c in column(ledger, "人次") if c.value is not None]
    assert counts and all(c.data_type == "n" for c in counts)

    about = {k.value: v.value for k, v in book["说明"].iter_rows(min_row=2)}
    assert about["文号"] == "中教函〔2021〕58号" and about["学期"] == "2021年秋季学期" and about["政策版本"] == "2021.1"
    assert about["性质"] == "县级政策文件"


def test_ledger_workbook_sums_as_numbers(tmp_path, three_students):
    target = tmp_path / "台账.xlsx"
    assert run("ledger", three_students, "--policy", POLICY_2021, *PERIOD, "--by", "学校", "-o", target).exit_code == 0
    book = openpyxl.load_workbook(target)
    assert book.sheetnames == ["台账", "核查", "说明"]
    sheet = book["台账"]
    assert_office_sheet(sheet)
    totals = {r[1].value: r[-1] for r in sheet.iter_rows(min_row=2) if str(r[1].value).startswith("合计")}
    # 312.5 (高建) + 250 (白宇天) = 562.5 given; 黄娜鹏 (一般家庭, 中职) is outside the plan's 受助对象
    # (一(二): 脱贫家庭等), so nothing for her, and nobody is lent anything.
    given, loans = totals["合计（补助与减免）"], totals["合计（贷款）"]
    assert given.data_type == "n" and given.number_format == "0.00" and Decimal(str(given.value)) == Decimal("562.5")
    assert loans.data_type == "n" and loans.value == 0


def test_an_illustration_version_says_so_in_its_workbook(tmp_path, three_students):
    target = tmp_path / "结果.xlsx"
    result = run("eval", three_students, "--policy", ROOT / "policies" / "2023", "--period", "2023-autumn", "-o",
                 target)  # fmt: skip
    assert result.exit_code == 0, result.output
    about = {k.value: v.value for k, v in openpyxl.load_workbook(target)["说明"].iter_rows(min_row=2)}
    assert about["性质"] == "示例版本，不是县里发布的文件" and about["政策版本"] == "2023.1"


def test_a_name_that_looks_like_a_formula_stays_text(tmp_path, three_students):
    rows = list(csv.reader(three_students.read_text(encoding="utf-8").splitlines()))
    rows[1][1] = "=HYPERLINK(1)"
    with three_students.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    target = tmp_path / "结果.xlsx"
    run("eval", three_students, "--policy", POLICY_2021, *PERIOD, "-o", target)
    cell = column(openpyxl.load_workbook(target)["学生"], "姓名")[0]
    assert cell.data_type == "s" and cell.value == "=HYPERLINK(1)"


def test_csv_still_writes_money_with_two_decimals(tmp_path, three_students):
    target = tmp_path / "结果.csv"
    assert run("eval", three_students, "--policy", POLICY_2021, *PERIOD, "-o", target).exit_code == 0
    rows = list(csv.DictReader(target.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[1]["非寄宿生生活补助（元）"] == "250.00" and rows[0]["贷款"] == "0.00"


@pytest.mark.parametrize(
    ("command", "target"),
    [
        (["ledger", "{students}", "--policy", POLICY_2021, *PERIOD], "台账.jsonl"),
        (["template", "--policy", POLICY_2021], "模板.csv"),
        (["reconcile", "--policy", POLICY_2021, *PERIOD, "--students", "{students}", "--paid", "{students}"], "x.csv"),
        (["eval", "{students}", "--policy", POLICY_2021, *PERIOD, "--format", "csv"], "结果.xlsx"),
        (["schema"], "schema.yaml"),
    ],
)
def test_an_output_the_command_cannot_write_is_refused_before_any_work(tmp_path, three_students, command, target):
    args = [str(three_students) if a == "{students}" else a for a in command]
    result = run(*args, "-o", tmp_path / target)
    assert result.exit_code == 2
    assert "-o" in result.output and not (tmp_path / target).exists()


def test_click_usage_errors_are_chinese():
    result = run("eval", EXAMPLE_CSV, "--policy", POLICY_2021)
    assert result.exit_code == 2
    assert "缺少选项 '--period'" in result.output and "用法" in result.output
    assert "Missing" not in result.output and "Usage" not in result.output and "Error" not in result.output
    typo = run("eval", EXAMPLE_CSV, "--polcy", POLICY_2021)
    assert "没有选项 --polcy" in typo.output and "--policy" in typo.output
    help_text = run("eval", "--help").output
    assert "显示本说明并退出" in help_text and "Show this message" not in help_text


def test_reconcile_followup_and_impact_workbooks_are_finished_the_same_way(tmp_path, three_students):
    # Reconcile: 高建 paid 300 where 312.5 is due (少发 12.5); 白宇天 paid nothing (漏发 250).
    paid_file = tmp_path / "发放名单.csv"
    paid_file.write_text("身份证号,姓名,学校,资助项目,金额\n141129200805015880,高建,车鸣峪乡初级中学,非寄宿生生活补助,300\n",
                         encoding="utf-8")  # fmt: skip
    reconciled = tmp_path / "核对.xlsx"
    run("reconcile", "--policy", POLICY_2021, *PERIOD, "--students", three_students, "--paid", paid_file, "-o",
        reconciled)  # fmt: skip
    book = openpyxl.load_workbook(reconciled)
    for sheet in book.worksheets:
        assert_office_sheet(sheet)
    entitled = [c for s in book.worksheets if "应发（元）" in [h.value for h in s[1]] for c in column(s, "应发（元）")]
    assert sorted(Decimal(str(c.value)) for c in entitled if c.value is not None) == [Decimal(250), Decimal("312.5")]
    assert all(c.data_type == "n" and c.number_format == "0.00" for c in entitled if c.value is not None)
    paid_rows = [c for s in book.worksheets if "发放名单行" in [h.value for h in s[1]] for c in column(s, "发放名单行")]
    assert [c.value for c in paid_rows if c.value is not None] == [2]  # the one payment, on line 2 of the file

    # Follow-up between two semesters of the same list: same students, nothing moves, but the sheets are finished.
    followed = tmp_path / "动态.xlsx"
    run("followup", "--policy", POLICY_2021, three_students, three_students, "--period", "2021-autumn", "--period",
        "2022-spring", "-o", followed)  # fmt: skip
    book = openpyxl.load_workbook(followed)
    for sheet in book.worksheets:
        assert_office_sheet(sheet)
    about = {k.value: v.value for k, v in book["说明"].iter_rows(min_row=2)}
    assert about["学期"] == "2022年春季学期" and "2021-autumn" in about["前一学期决策记录"]

    # Impact of 2023 (loan caps only) on these three: no grant changes; both versions named in 说明.
    impact = tmp_path / "影响.xlsx"
    run("diff", POLICY_2021, ROOT / "policies" / "2023", "--students", three_students, "--period", "2023-autumn",
        "-o", impact)  # fmt: skip
    book = openpyxl.load_workbook(impact)
    for sheet in book.worksheets:
        assert_office_sheet(sheet)
    before = [c for c in column(book["汇总"], "调整前（元）") if c.value is not None]
    assert before and all(c.data_type == "n" and c.number_format == "0.00" for c in before)
    about = {k.value: v.value for k, v in book["说明"].iter_rows(min_row=2)}
    assert about["旧版性质"] == "县级政策文件" and about["新版性质"] == "示例版本，不是县里发布的文件"


def test_rejected_and_problem_rows_keep_their_school_and_township(tmp_path, three_students):
    rows = list(csv.reader(three_students.read_text(encoding="utf-8").splitlines()))
    number = rows[1][0]
    rows[1][0] = number[:-1] + ("0" if number[-1] != "0" else "1")  # 高建's ID with a wrong check digit
    with three_students.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    target = tmp_path / "结果.xlsx"
    assert run("eval", three_students, "--policy", POLICY_2021, *PERIOD, "-o", target).exit_code == 1
    book = openpyxl.load_workbook(target)
    students = book["学生"]
    assert column(students, "状态")[0].value == "退回"
    assert (column(students, "学校")[0].value, column(students, "乡镇")[0].value) == ("车鸣峪乡初级中学", "车鸣峪乡")
    returned = book["退回与问题"]
    assert_office_sheet(returned)
    assert [(c.value, s.value, t.value) for c, s, t in zip(column(returned, "代码"), column(returned, "学校"),
                                                          column(returned, "乡镇"), strict=True)] == [
        ("bad-check-digit", "车鸣峪乡初级中学", "车鸣峪乡")
    ]  # fmt: skip


@pytest.mark.parametrize("command", ["eval", "diff", "followup", "template", "verify", "check"])
def test_help_names_every_value_in_chinese(command):
    text = CliRunner().invoke(main, [command, "--help"], prog_name="zizhu").output
    # click would print these English placeholders for options and arguments.
    for english in ("TEXT", "DIRECTORY", "FILE", "INTEGER", "PATH", "[OPTIONS]", "STUDENTS", "POLICY_FOLDER"):
        assert english not in text, (command, english)
    assert text.startswith("用法: zizhu " + command + " [选项]")
