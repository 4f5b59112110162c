"""不漏一生: reconciliation of a payment list against the entitlements the plan gives."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
from click.testing import CliRunner

from engine.check import idcard
from engine.cli import main
from engine.tools.reconcile import FINDING_HEADERS
from tests.conftest import POLICY_2021, with_all_columns

STUDENT_HEADERS = with_all_columns(
    [
        *("身份证号", "姓名", "出生日期", "家庭类型", "本县户籍", "县内学校", "有学籍", "就读方式"),
        *("学段", "年级", "校内住宿", "学校", "乡镇", "申请贷款金额", "全日制", "厌学"),
    ]
)


def valid_id(birth: str, seq: str) -> str:
    first17 = f"141129{birth}{seq}"
    return first17 + idcard.check_digit(first17)


def student(name, birth, stage="", grade="", household="脱贫户", attendance="在校", boarding="否",
            school="宁乡镇第一小学", township="宁乡镇", seq="001", **extra):  # fmt: skip
    row = {"身份证号": valid_id(birth.replace("-", ""), seq), "姓名": name, "出生日期": birth, "家庭类型": household,
           "本县户籍": "是", "县内学校": "是", "有学籍": "是", "就读方式": attendance, "学段": stage, "年级": grade,
           "校内住宿": boarding, "学校": school, "乡镇": township}  # fmt: skip
    row.update(extra)
    return row


def write_csv(path: Path, headers: list[str], rows: list[dict]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=headers)
        writer.writeheader()
        writer.writerows(rows)
    return path


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


# 2021-autumn entitlements, from the plan: A 初中走读 312.5; B 小学寄宿 500; C 普通高中一年级
# 1500 + 学费 800 + 书本 400; D 一般家庭, nothing; E 初中寄宿 625.
A = student("甲", "2008-05-01", "初中", 2, seq="011", school="宁乡镇初级中学")
B = student("乙", "2012-05-01", "小学", 3, boarding="是", seq="021")
C = student("丙", "2005-05-01", "普通高中", 1, seq="031", school="中阳县第一中学", township="枝柯镇")
D = student("丁", "2012-06-01", "小学", 3, household="一般家庭", seq="041")
E = student("戊", "2008-07-01", "初中", 1, boarding="是", seq="051", school="宁乡镇初级中学")
PAID_HEADERS = ["身份证号", "姓名", "学校", "资助项目", "金额"]


def paid(s, program, amount, school=None):
    return {
        "身份证号": s["身份证号"],
        "姓名": s["姓名"],
        "学校": school or s["学校"],
        "资助项目": program,
        "金额": amount,
    }


def reconcile(tmp_path, payments, *options, students=(A, B, C, D, E)):
    """Run `zizhu reconcile`; the findings of each sheet, and the CLI result."""
    student_file = write_csv(tmp_path / "students.csv", STUDENT_HEADERS, list(students))
    paid_file = write_csv(tmp_path / "paid.csv", PAID_HEADERS, payments)
    target = tmp_path / "findings.xlsx"
    result = run("reconcile", "--policy", POLICY_2021, "--period", "2021-autumn", "--students", student_file,
                 "--paid", paid_file, "-o", target, *options)  # fmt: skip
    book = openpyxl.load_workbook(target, read_only=True)
    findings = {}
    for sheet in ("漏发", "错发", "金额不符", "重复发放", "互斥", "姓名不符", "未知"):
        for row in book[sheet].iter_rows(min_row=2, values_only=True):
            findings.setdefault(sheet, []).append(dict(zip(FINDING_HEADERS, row, strict=True)))
    return result, findings


def school_summary(tmp_path) -> dict[str, dict[str, object]]:
    book = openpyxl.load_workbook(tmp_path / "findings.xlsx", read_only=True)
    rows = list(book["按学校汇总"].iter_rows(values_only=True))
    return {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}


EXACT = [
    paid(A, "非寄宿生生活补助", "312.50"),
    paid(B, "寄宿生生活费补助", "500"),
    paid(C, "national_grant", "1500"),
    paid(C, "免学费", "800"),
    paid(C, "免书本费", "400"),
    paid(E, "寄宿生生活费补助", "625"),
]


def test_a_payment_list_that_matches_exactly_has_no_findings(tmp_path):
    result, findings = reconcile(tmp_path, EXACT)
    assert result.exit_code == 0
    assert findings == {}
    assert "完全一致" in result.output


def test_one_of_each_category_gives_exactly_those_findings(tmp_path):
    payments = [
        paid(A, "非寄宿生生活补助", "312.50"),
        paid(A, "非寄宿生生活补助", "312.50", school="枝柯镇初级中学"),  # paid twice, by two schools
        paid(B, "寄宿生生活费补助", "500"),
        paid(B, "非寄宿生生活补助", "250"),  # never together with the boarding subsidy
        paid(C, "national_grant", "1500"),
        paid(C, "免学费", "800"),
        paid(C, "免书本费", "450"),  # entitled 400
        paid(D, "非寄宿生生活补助", "250"),  # 一般家庭: not entitled
        {
            "身份证号": valid_id("20100101", "999"),
            "姓名": "查无此人",
            "学校": "x",
            "资助项目": "学前教育资助",
            "金额": "1000",
        },
        # E's 625 boarding subsidy is missing: omitted
    ]
    result, findings = reconcile(tmp_path, payments)
    assert result.exit_code == 1  # something was omitted
    assert {k: len(v) for k, v in findings.items()} == {
        "漏发": 1,
        "错发": 1,
        "金额不符": 1,
        "重复发放": 1,
        "互斥": 1,
        "未知": 1,
    }
    (omitted,) = findings["漏发"]
    assert (omitted["身份证号"], omitted["资助项目"], omitted["应发（元）"]) == (E["身份证号"], "寄宿生生活费补助", 625)
    (wrong,) = findings["错发"]
    assert wrong["身份证号"] == D["身份证号"] and wrong["说明"].startswith("不符合条件")
    (amount,) = findings["金额不符"]
    # 450 paid against 400: 多发 50.
    assert (amount["类别"], amount["应发（元）"], amount["实发（元）"]) == ("多发", 400, 450)
    assert amount["涉及金额（元）"] == 50
    (twice,) = findings["重复发放"]
    assert twice["身份证号"] == A["身份证号"] and "枝柯镇初级中学" in twice["说明"]
    (both,) = findings["互斥"]
    assert both["身份证号"] == B["身份证号"] and "寄宿生生活费补助" in both["说明"]
    (unknown,) = findings["未知"]
    assert "学生名单中没有这名学生" in unknown["说明"]


def test_paid_less_than_entitled_alerts(tmp_path):
    payments = [p if p["资助项目"] != "免书本费" else {**p, "金额": "300"} for p in EXACT]
    result, findings = reconcile(tmp_path, payments)
    assert result.exit_code == 1
    (short,) = findings["金额不符"]
    # 300 paid against 400: 少发 100.
    assert (short["类别"], short["涉及金额（元）"], short["说明"]) == ("少发", 100, "少发 100.00 元")


def test_an_unknown_program_name_is_reported(tmp_path):
    result, findings = reconcile(tmp_path, [*EXACT, paid(A, "营养餐补助", "200")])
    assert result.exit_code == 1  # a row that cannot be reconciled is never "fine" (probe B11)
    assert findings["未知"][0]["说明"] == "不认识的资助项目「营养餐补助」"
    assert "核对未完成：1 项无法核对（1 条发放记录的资助项目名称不认识）" in result.output


# -- what is reconciled ---------------------------------------------------------------

# 本科一年级, applied for an 8000 loan: 生源地信用助学贷款 min(8000, 12000) = 8000, paid by the bank.
F = student("己", "2002-04-01", "本科", 1, seq="121", school="外地大学", 申请贷款金额="8000", 全日制="是",
            县内学校="否")  # fmt: skip


def test_bank_paid_loans_are_not_omissions_and_the_summary_says_they_were_left_out(tmp_path):
    result, findings = reconcile(tmp_path, EXACT, students=(A, B, C, D, E, F))
    assert result.exit_code == 0
    assert findings == {}
    assert "不核对：生源地信用助学贷款（由银行发放，不在教育局发放名单上）" in result.output


def test_programs_option_reconciles_the_loan_and_nothing_else(tmp_path):
    result, findings = reconcile(tmp_path, [], "--programs", "student_loan", students=(A, B, C, D, E, F))
    assert result.exit_code == 1
    (loan,) = findings["漏发"]  # every other program is out of scope: their missing payments are no finding
    assert (loan["身份证号"], loan["应发（元）"]) == (F["身份证号"], 8000)
    assert "核对项目：生源地信用助学贷款；" in result.output


def test_skip_by_chinese_label_leaves_that_program_out(tmp_path):
    without_books = [p for p in EXACT if p["资助项目"] != "免书本费"]
    result, findings = reconcile(tmp_path, without_books, "--skip", "免书本费")
    assert result.exit_code == 0 and findings == {}
    assert "免书本费（按 --skip 不核对）" in result.output


def test_an_unknown_program_in_the_options_suggests_the_near_name(tmp_path):
    result, _ = invoke_reconcile(tmp_path, "--skip", "免书本")
    assert result.exit_code == 2
    assert "是否想写「免书本费」" in result.output


def invoke_reconcile(tmp_path, *options):
    students = write_csv(tmp_path / "students.csv", STUDENT_HEADERS, [A])
    paid_file = write_csv(tmp_path / "paid.csv", PAID_HEADERS, [])
    return run("reconcile", "--policy", POLICY_2021, "--period", "2021-autumn", "--students", students,
               "--paid", paid_file, *options), paid_file  # fmt: skip


# -- money at stake -------------------------------------------------------------------


def test_a_duplicate_reports_the_excess_as_money_at_stake_with_the_total_beside_it(tmp_path):
    # E entitled 625 and paid 625 twice: 1250 paid, 625 of it too much.
    result, findings = reconcile(tmp_path, [*EXACT, paid(E, "寄宿生生活费补助", "625")])
    (twice,) = findings["重复发放"]
    assert (twice["实发（元）"], twice["涉及金额（元）"]) == (1250, 625)
    assert twice["说明"] == "同一学生同一项目发放 2 次（宁乡镇初级中学）：多发 625.00 元，共发 1250.00 元"
    row = school_summary(tmp_path)["宁乡镇初级中学"]
    assert (row["重复发放人次"], row["重复发放金额"], row["重复发放实发合计"]) == (1, 625, 1250)
    assert "重复发放 1 人次 625.00 元" in result.output


def test_short_and_over_payments_are_counted_apart_and_never_net(tmp_path):
    # Same school 宁乡镇初级中学: A paid 250 against 312.50 (少发 62.50), E paid 750 against 625 (多发 125).
    payments = [p for p in EXACT if p["身份证号"] not in (A["身份证号"], E["身份证号"])]
    payments += [paid(A, "非寄宿生生活补助", "250"), paid(E, "寄宿生生活费补助", "750")]
    result, _ = reconcile(tmp_path, payments)
    assert result.exit_code == 1  # A was paid less
    row = school_summary(tmp_path)["宁乡镇初级中学"]
    assert (row["少发人次"], row["少发金额"], row["多发人次"], row["多发金额"]) == (1, 62.5, 1, 125)
    assert "少发 1 人次 62.50 元，多发 1 人次 125.00 元" in result.output


def test_near_miss_program_name_suggests_the_program_and_is_not_also_an_omission(tmp_path):
    payments = [p if p["身份证号"] != B["身份证号"] else {**p, "资助项目": "寄宿生生活补助"} for p in EXACT]
    _, findings = reconcile(tmp_path, payments)
    assert list(findings) == ["未知"]  # no 漏发 for B's boarding subsidy: the same money, counted once
    (unknown,) = findings["未知"]
    assert unknown["身份证号"] == B["身份证号"]
    assert "是否想写「寄宿生生活费补助」" in unknown["说明"]


def test_the_unentitled_reason_has_one_reason_one_clause_and_the_deciding_fact(tmp_path):
    _, findings = reconcile(tmp_path, [*EXACT, paid(D, "非寄宿生生活补助", "250")])
    (wrong,) = findings["错发"]
    # D is 一般家庭: not 县内受助对象 — the day subsidy's clause 一(二)2(2), not the 外地就读 clause 一(二)5(2).
    assert wrong["说明"] == (
        "不符合条件：县内在籍在校、送教上门或因病不具备学习条件，或外地就读出具情况说明；"
        "家庭类型 一般家庭（一(二)2(2)）"
    )
    assert wrong["说明"].count("（") == 1


# -- amounts as payment lists write them ---------------------------------------------------


def test_amounts_with_thousands_separators_and_yuan_sign_are_read(tmp_path):
    payments = [p if p["资助项目"] != "national_grant" else {**p, "金额": "1,500.00"} for p in EXACT]
    payments = [p if p["资助项目"] != "免学费" else {**p, "金额": "￥800"} for p in payments]
    result, findings = reconcile(tmp_path, payments)
    assert result.exit_code == 0 and findings == {}


def test_bad_amounts_are_rejected_with_row_and_column(tmp_path):
    payments = [
        paid(A, "非寄宿生生活补助", ""),  # row 2
        paid(B, "寄宿生生活费补助", "五百"),  # row 3
        paid(C, "national_grant", "-250"),  # row 4
        paid(E, "寄宿生生活费补助", "624.999"),  # row 5
        paid(C, "免学费", "800"),
        paid(C, "免书本费", "400"),
    ]
    _, findings = reconcile(tmp_path, payments)
    problems = {f["发放名单行"]: f["说明"] for f in findings["未知"]}  # a row number is a number in the workbook
    assert problems[2].startswith("发放名单第 2 行「金额」列：金额是空的")
    assert problems[3].startswith("发放名单第 3 行「金额」列：「五百」不是数字")
    assert problems[4] == "发放名单第 4 行「金额」列：金额是负数（-250）：发放名单只列实际发放的金额"
    assert problems[5] == "发放名单第 5 行「金额」列：金额「624.999」不到分（最多两位小数），无法核对"
    # The row names the student and the program, so the entitlement is reported there, once — never
    # also as 漏发 (probe B13). Owed by hand: A 初中走读 312.50, B 小学寄宿 500, C 国家助学金 1500, E 初中寄宿 625.
    assert "漏发" not in findings
    owed = {f["发放名单行"]: (f["应发（元）"], f["涉及金额（元）"]) for f in findings["未知"]}
    assert owed == {2: (312.5, 312.5), 3: (500, 500), 4: (1500, 1500), 5: (625, 625)}


def test_minus_zero_is_zero_and_never_printed_as_minus_zero(tmp_path):
    payments = [p if p["身份证号"] != E["身份证号"] else {**p, "金额": "-0.00"} for p in EXACT]
    result, findings = reconcile(tmp_path, payments)
    (short,) = findings["金额不符"]
    assert (short["类别"], short["实发（元）"], short["涉及金额（元）"]) == ("少发", 0, 625)  # 625 − 0
    assert "-0.00" not in result.output


# -- against a saved result -----------------------------------------------------------


def saved_autumn_and_exact_payments(tmp_path):
    """A, B, C, D, E evaluated for 2021-autumn and saved as JSONL; the exactly matching payment list."""
    students = write_csv(tmp_path / "students.csv", STUDENT_HEADERS, [A, B, C, D, E])
    saved = tmp_path / "saved.jsonl"
    assert run("eval", students, "--policy", POLICY_2021, "--period", "2021-autumn", "-o", saved).exit_code == 0
    return saved, write_csv(tmp_path / "paid.csv", PAID_HEADERS, EXACT)


def test_reconcile_against_a_saved_result_says_when_the_policy_differs(tmp_path, policy_copy):
    saved, paid_file = saved_autumn_and_exact_payments(tmp_path)
    same = run("reconcile", "--policy", POLICY_2021, "--period", "2021-autumn", "--students", saved,
               "--paid", paid_file)  # fmt: skip
    assert same.exit_code == 0 and "完全一致" in same.output and "另一份政策" not in same.output
    tables = policy_copy / "tables.yaml"
    tables.write_text(tables.read_text(encoding="utf-8").replace("初中: 312.5", "初中: 300"), encoding="utf-8")
    other = run("reconcile", "--policy", policy_copy, "--period", "2021-autumn", "--students", saved,
                "--paid", paid_file)  # fmt: skip
    assert "是用另一份政策计算的" in other.output


def test_a_payment_the_roster_cannot_decide_is_unknown_not_unentitled(tmp_path):
    # A's 就读方式 is blank (no declared meaning): whether the day subsidy is owed cannot be decided.
    blank = {**A, "就读方式": ""}
    _, findings = reconcile(tmp_path, EXACT, students=(blank, B, C, D, E))
    assert list(findings) == ["未知"]
    (unknown,) = [f for f in findings["未知"] if f["资助项目"] == "非寄宿生生活补助"]
    assert unknown["身份证号"] == A["身份证号"] and unknown["说明"].startswith("无法核对：")
    assert "就读方式" in unknown["说明"]
    # Any other program the blank decides is listed too, as not paid and undecidable (probe A4).
    for other in findings["未知"]:
        assert other["身份证号"] == A["身份证号"] and "就读方式" in other["说明"]


def test_a_duplicate_for_a_student_not_on_the_roster_is_still_a_duplicate(tmp_path):
    stranger = student("无", "2010-01-01", "小学", 5, seq="999")
    _, findings = reconcile(tmp_path, [*EXACT, paid(stranger, "非寄宿生生活补助", "250"),
                                       paid(stranger, "非寄宿生生活补助", "250")])  # fmt: skip
    (twice,) = findings["重复发放"]
    assert (twice["身份证号"], twice["实发（元）"], twice["涉及金额（元）"]) == (stranger["身份证号"], 500, 250)
    (unknown,) = findings["未知"]  # and, once, that the student is not on the roster
    assert unknown["说明"] == "学生名单中没有这名学生"


def test_paid_by_accepts_only_bureau_or_bank(policy_copy):
    programs = policy_copy / "programs.yaml"
    text = programs.read_text(encoding="utf-8")
    line = text[: text.index("paid_by: bank")].count("\n") + 1
    programs.write_text(text.replace("paid_by: bank", "paid_by: post"), encoding="utf-8")
    result = run("check", policy_copy)
    assert result.exit_code == 1
    assert f"programs.yaml:{line}:" in result.output and "bank" in result.output


# -- probe findings: never 完全一致 while something could not be reconciled ---------------------


def test_unpaid_rejected_and_undecidable_students_are_listed_and_alert(tmp_path):
    # Probe A4: A's 学段 is a typo (rejected); E's 就读方式 is blank. Neither was paid; both may be
    # owed (A 312.50, E 625), so neither may disappear behind "完全一致".
    typo = {**A, "学段": "初仲"}
    blank = {**E, "就读方式": ""}
    payments = [p for p in EXACT if p["身份证号"] not in (A["身份证号"], E["身份证号"])]
    result, findings = reconcile(tmp_path, payments, students=(typo, B, C, D, blank))
    assert result.exit_code == 1 and "完全一致" not in result.output
    assert list(findings) == ["未知"]
    by_student = {}
    for f in findings["未知"]:
        by_student.setdefault(f["身份证号"], []).append(f)
    (rejected,) = by_student[A["身份证号"]]
    assert rejected["资助项目"] == "（全部项目）" and "被退回" in rejected["说明"] and "初仲" in rejected["说明"]
    boarding = [f for f in by_student[E["身份证号"]] if f["资助项目"] == "寄宿生生活费补助"]
    (boarding,) = boarding
    assert boarding["说明"].startswith("无法判断是否应发（未发放）") and "就读方式" in boarding["说明"]
    assert set(by_student) == {A["身份证号"], E["身份证号"]}
    assert "未发放但无法判断是否应发" in result.output


def test_a_payment_to_an_id_whose_name_differs_is_flagged(tmp_path):
    # Probe A10: A's ID paid under the name 张三 (spaces around the ID are tolerated, spaces in a
    # name are not a difference).
    payments = [p if p["身份证号"] != A["身份证号"] else {**p, "身份证号": f" {A['身份证号']} ", "姓名": "张三"}
                for p in EXACT]  # fmt: skip
    payments = [p if p["身份证号"] != B["身份证号"] else {**p, "姓名": " 乙 "} for p in payments]
    result, findings = reconcile(tmp_path, payments)
    assert result.exit_code == 1
    assert list(findings) == ["姓名不符"]
    (wrong,) = findings["姓名不符"]
    assert (wrong["身份证号"], wrong["姓名"], wrong["实发（元）"]) == (A["身份证号"], "甲", 312.5)
    assert "「张三」" in wrong["说明"] and "「甲」" in wrong["说明"]


def test_a_title_row_above_the_header_and_a_total_row_below_are_not_payments(tmp_path):
    # Probe B12: a bureau sheet with a title row and a 合计 row (312.50 + 500 + 1500 + 800 + 400 + 625 = 4137.50),
    # and one with an unlabelled total row of the same sum.
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["2021年秋季学期资助发放名单"])
    sheet.append(PAID_HEADERS)
    for p in EXACT:
        sheet.append([p[h] for h in PAID_HEADERS])
    sheet.append(["", "合计", "", "", "4137.50"])
    paid_file = tmp_path / "paid.xlsx"
    book.save(paid_file)
    students = write_csv(tmp_path / "students.csv", STUDENT_HEADERS, [A, B, C, D, E])
    result = run("reconcile", "--policy", POLICY_2021, "--period", "2021-autumn", "--students", students,
                 "--paid", paid_file)  # fmt: skip
    assert result.exit_code == 0 and "完全一致" in result.output
    assert "第 2 行是列标题" in result.output
    assert "第 9 行是合计行" in result.output and "与其上各行之和相符" in result.output
    assert "6 条发放记录" in result.output
    sheet.delete_rows(9)
    sheet.append(["", "", "", "", "4000"])  # not the sum: a row without an ID, reported
    book.save(paid_file)
    result = run("reconcile", "--policy", POLICY_2021, "--period", "2021-autumn", "--students", students,
                 "--paid", paid_file)  # fmt: skip
    assert result.exit_code == 1 and "第 9 行没有身份证号" in result.output
    sheet.delete_rows(9)
    sheet.append(["", "", "", "", "4137.5"])  # the sum, unlabelled
    book.save(paid_file)
    result = run("reconcile", "--policy", POLICY_2021, "--period", "2021-autumn", "--students", students,
                 "--paid", paid_file)  # fmt: skip
    assert result.exit_code == 0 and "第 9 行是合计行" in result.output


def test_a_saved_result_of_another_semester_is_refused(tmp_path):
    # Probe A7: a 2021-autumn result used as the 2022-spring entitlement would invent 漏发.
    saved, paid_file = saved_autumn_and_exact_payments(tmp_path)
    other = run("reconcile", "--policy", POLICY_2021, "--period", "2022-spring", "--students", saved,
                "--paid", paid_file)  # fmt: skip
    assert other.exit_code == 2 and "是按 2021-autumn 学期计算的结果" in other.output
    same = run("reconcile", "--policy", POLICY_2021, "--period", "2021秋季", "--students", saved,
               "--paid", paid_file)  # fmt: skip
    assert same.exit_code == 0 and "完全一致" in same.output
