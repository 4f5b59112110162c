"""不漏一生: reconciliation of a payment list, and the follow-up between two semesters."""

from __future__ import annotations

import csv
from pathlib import Path

from click.testing import CliRunner

from engine.check import idcard
from engine.cli import main
from tests.conftest import POLICY_2021

STUDENT_HEADERS = [
    *("身份证号", "姓名", "出生日期", "家庭类型", "本县户籍", "县内学校", "有学籍", "就读方式"),
    *("学段", "年级", "校内住宿", "学校", "乡镇", "申请贷款金额", "全日制", "厌学"),
]


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


def reconcile(tmp_path, payments):
    students = write_csv(tmp_path / "students.csv", STUDENT_HEADERS, [A, B, C, D, E])
    paid_file = write_csv(tmp_path / "paid.csv", PAID_HEADERS, payments)
    target = tmp_path / "findings.xlsx"
    result = run("reconcile", "--policy", POLICY_2021, "--period", "2021-autumn", "--students", students,
                 "--paid", paid_file, "-o", target)  # fmt: skip
    import openpyxl

    book = openpyxl.load_workbook(target, read_only=True)
    findings = {}
    for sheet in ("漏发", "错发", "金额不符", "重复发放", "互斥", "未知"):
        for row in book[sheet].iter_rows(min_row=2, values_only=True):
            findings.setdefault(sheet, []).append(row)
    return result, findings


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
    assert (omitted[1], omitted[4], omitted[5]) == (E["身份证号"], "寄宿生生活费补助", 625)
    (wrong,) = findings["错发"]
    assert wrong[1] == D["身份证号"] and "不符合条件" in wrong[7]
    (amount,) = findings["金额不符"]
    assert (amount[5], amount[6], amount[7]) == (400, 450, "多发 50.00 元")
    (twice,) = findings["重复发放"]
    assert twice[1] == A["身份证号"] and twice[6] == 625 and "枝柯镇初级中学" in twice[7]
    (both,) = findings["互斥"]
    assert both[1] == B["身份证号"] and "寄宿生生活费补助" in both[7]
    (unknown,) = findings["未知"]
    assert "学生名单中没有这名学生" in unknown[7]


def test_paid_less_than_entitled_alerts(tmp_path):
    payments = [p if p["资助项目"] != "免书本费" else {**p, "金额": "300"} for p in EXACT]
    result, findings = reconcile(tmp_path, payments)
    assert result.exit_code == 1
    assert findings["金额不符"][0][7] == "少发 100.00 元"


def test_an_unknown_program_name_is_reported(tmp_path):
    result, findings = reconcile(tmp_path, [*EXACT, paid(A, "营养餐补助", "200")])
    assert result.exit_code == 0
    assert "不认识的资助项目「营养餐补助」" in findings["未知"][0][7]


# -- follow-up -------------------------------------------------------------------------


def test_follow_up_moves_each_child_to_the_right_state(tmp_path):
    back = student("返", "2011-04-01", "", "", attendance="未入学", seq="061")  # not enrolled → enrolled
    dropped = student("辍", "2010-04-01", "小学", 5, seq="071")  # enrolled → not enrolled
    watched = student("困", "2009-04-01", "初中", 1, household="一般家庭", seq="081", 厌学="是")  # still flagged
    aging = student("龄", "2006-02-15", "初中", "", attendance="送教上门", seq="091")  # turns 16 before 2022-03-01
    leaver = student("去", "2012-04-01", "小学", 3, seq="101")
    newcomer = student("来", "2012-08-01", "小学", 3, seq="111")
    college = student("贷", "2002-04-01", "本科", 1, seq="121", 申请贷款金额="8000", 全日制="是", 县内学校="否")
    before = [back, dropped, watched, aging, leaver, college]
    after = [{**back, "就读方式": "在校", "学段": "小学", "年级": 4}, {**dropped, "就读方式": "未入学"}, watched, aging,
             newcomer, college]  # fmt: skip
    first = write_csv(tmp_path / "autumn.csv", STUDENT_HEADERS, before)
    second = write_csv(tmp_path / "spring.csv", STUDENT_HEADERS, after)
    result = run("followup", "--policy", POLICY_2021, first, "--period", "2021-autumn", second, "--period",
                 "2022-spring", "-o", tmp_path / "f.xlsx")  # fmt: skip
    assert result.exit_code == 0
    import openpyxl

    rows = list(openpyxl.load_workbook(tmp_path / "f.xlsx")["明细"].iter_rows(min_row=2, values_only=True))
    seen = {(r[5], r[2], r[3]) for r in rows}
    assert seen == {
        ("返", "已解除（劝返复学等）", "适龄未入学"),
        ("返", "开始享受", "非寄宿生生活补助"),
        ("辍", "新增标记", "适龄未入学"),
        ("辍", "停止享受", "非寄宿生生活补助"),
        ("困", "仍需跟进", "控辍保学重点对象"),
        ("龄", "停止享受", "非寄宿生生活补助"),
        ("去", "本学期不在名单", "名单"),
        ("来", "本学期新出现", "名单"),
    }
    reasons = {(r[5], r[3]): r[6] for r in rows}
    assert "16 周岁" in reasons[("龄", "非寄宿生生活补助")]
    assert "已入学" in reasons[("辍", "非寄宿生生活补助")]
    # Grouped by township and school, as the roster has them.
    assert all(r[0] == "宁乡镇" for r in rows)


def test_follow_up_from_two_saved_jsonl_results(tmp_path):
    back = student("返", "2011-04-01", "", "", attendance="未入学", seq="061")
    dropped = student("辍", "2010-04-01", "小学", 5, seq="071")
    before = [back, dropped]
    after = [{**back, "就读方式": "在校", "学段": "小学", "年级": 4}, {**dropped, "就读方式": "未入学"}]
    saved = []
    for name, period, rows in (("autumn", "2021-autumn", before), ("spring", "2022-spring", after)):
        roster = write_csv(tmp_path / f"{name}.csv", STUDENT_HEADERS, rows)
        target = tmp_path / f"{name}.jsonl"
        assert run("eval", roster, "--policy", POLICY_2021, "--period", period, "-o", target).exit_code == 0
        saved.append(target)
    result = run("followup", "--policy", POLICY_2021, saved[0], "--period", "2021-autumn", saved[1], "--period",
                 "2022-spring", "-o", tmp_path / "f.xlsx")  # fmt: skip
    assert result.exit_code == 0
    import openpyxl

    rows = list(openpyxl.load_workbook(tmp_path / "f.xlsx")["明细"].iter_rows(min_row=2, values_only=True))
    ids = {back["身份证号"]: "返", dropped["身份证号"]: "辍"}
    seen = {(ids[r[4]], r[2], r[3]) for r in rows}
    assert seen == {
        ("返", "已解除（劝返复学等）", "适龄未入学"),
        ("返", "开始享受", "非寄宿生生活补助"),
        ("辍", "新增标记", "适龄未入学"),
        ("辍", "停止享受", "非寄宿生生活补助"),
    }
