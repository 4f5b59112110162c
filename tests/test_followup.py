"""控辍保学动态管理: the follow-up between two semesters' rosters (一(一)1–3, 二(四))."""

from __future__ import annotations

import openpyxl

from tests.conftest import POLICY_2021
from tests.test_reconcile import STUDENT_HEADERS, run, student, write_csv

# 2021-autumn → 2022-spring (reference dates 2021-09-01 and 2022-03-01; 适龄 = 周岁 6 to 15).
BACK = student("返", "2011-04-01", "", "", attendance="未入学", seq="061")  # 10, out of school → 小学四年级
DROPPED = student("辍", "2010-04-01", "小学", 5, seq="071")  # 11, in school → 未入学
WATCHED = student("困", "2009-04-01", "初中", 1, household="一般家庭", seq="081", 厌学="是")  # still flagged
HOME = student("龄", "2006-02-15", "初中", "", attendance="送教上门", seq="091")  # 送教上门, 16 on 2022-03-01
LEAVER = student("去", "2012-04-01", "小学", 3, seq="101")
NEWCOMER = student("来", "2012-08-01", "小学", 3, seq="111")
# Born 2006-01-10: 15 on 2021-09-01 (适龄, 未入学: flagged), 16 on 2022-03-01 — aged out, still not in school.
AGED_OUT = student("超", "2006-01-10", "", "", attendance="未入学", seq="131")
# Born 2015-12-01: 5 on 2021-09-01 (not yet 适龄), 6 on 2022-03-01, and not in school.
YOUNG = student("幼", "2015-12-01", "", "", attendance="未入学", seq="141", household="一般家庭")
COLLEGE = student("贷", "2002-04-01", "本科", 1, seq="121", 申请贷款金额="8000", 全日制="是", 县内学校="否")

BEFORE = [BACK, DROPPED, WATCHED, HOME, LEAVER, AGED_OUT, YOUNG, COLLEGE]
AFTER = [{**BACK, "就读方式": "在校", "学段": "小学", "年级": 4}, {**DROPPED, "就读方式": "未入学"}, WATCHED, HOME,
         NEWCOMER, AGED_OUT, YOUNG, COLLEGE]  # fmt: skip


def follow(tmp_path, before=BEFORE, after=AFTER, *extra):
    first = write_csv(tmp_path / "autumn.csv", STUDENT_HEADERS, before)
    second = write_csv(tmp_path / "spring.csv", STUDENT_HEADERS, after)
    return follow_files(tmp_path, first, second, *extra)


def follow_files(tmp_path, first, second, *extra):
    target = tmp_path / "f.xlsx"
    result = run("followup", "--policy", POLICY_2021, first, "--period", "2021-autumn", second, "--period",
                 "2022-spring", "-o", target, *extra)  # fmt: skip
    book = openpyxl.load_workbook(target)
    return result, book


def sheet_dicts(book, title):
    rows = list(book[title].iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_each_child_moves_to_the_right_state(tmp_path):
    result, book = follow(tmp_path)
    assert result.exit_code == 1  # 新辍学, 超出适龄 and 新入适龄 must be acted on (probe B23)
    assert "须跟进" in result.output
    seen = {(r["姓名"], r["变化"], r["核查或资助项目"]) for r in sheet_dicts(book, "明细")}
    assert seen == {
        ("返", "劝返复学", "适龄未入学"),
        ("返", "开始享受", "非寄宿生生活补助"),
        ("辍", "新辍学", "适龄未入学"),
        ("辍", "停止享受", "非寄宿生生活补助"),
        ("困", "仍需跟进", "控辍保学重点对象"),
        ("龄", "停止享受", "非寄宿生生活补助"),
        ("龄", "无法判断", "年级与学段矛盾"),  # 年级 is blank: whether it fits 初中 cannot be told
        ("去", "本学期不在名单", "名单"),
        ("来", "本学期新出现", "名单"),
        ("超", "超出适龄（仍未入学）", "适龄未入学"),
        ("幼", "新入适龄（未入学）", "适龄未入学"),
    }


def test_a_child_aging_out_while_out_of_school_is_not_reported_as_returned(tmp_path):
    _, book = follow(tmp_path, [AGED_OUT], [AGED_OUT])
    (row,) = sheet_dicts(book, "明细")
    assert (row["姓名"], row["变化"]) == ("超", "超出适龄（仍未入学）")
    assert "不是劝返成功" in row["说明"]
    summary, _total = sheet_dicts(book, "汇总")
    assert (summary["超出适龄（仍未入学）"], summary["劝返复学"], summary["已解除"]) == (1, 0, 0)


def test_amounts_of_aid_started_stopped_and_of_newcomers_and_leavers(tmp_path):
    _, book = follow(tmp_path)
    amounts = {(r["姓名"], r["变化"]): r["金额（元）"] for r in sheet_dicts(book, "明细")}
    # Per semester: 小学 non-boarding 250, 初中 312.50 (tables day_rate).
    assert amounts[("返", "开始享受")] == 250
    assert amounts[("辍", "停止享受")] == 250
    assert amounts[("龄", "停止享受")] == 312.5  # 初中, 送教上门, 16 by 2022-03-01
    assert amounts[("来", "本学期新出现")] == 250  # 小学 3, 脱贫户, non-boarding
    assert amounts[("去", "本学期不在名单")] == 250
    assert amounts[("困", "仍需跟进")] is None


def test_totals_per_township_and_school_with_a_grand_total(tmp_path):
    _, book = follow(tmp_path)
    rows = {(r["乡镇"], r["学校"]): r for r in sheet_dicts(book, "汇总")}
    primary = rows[("宁乡镇", "宁乡镇第一小学")]
    # Every child but 困 and 贷 is at 宁乡镇第一小学 (the default school): 返 started 250; 辍 stopped 250 and
    # 龄 stopped 312.50 → 562.50; 来 arrived with 250; 去 left with 250.
    assert (primary["开始享受金额"], primary["停止享受金额"]) == (250, 562.5)
    assert (primary["本学期新出现金额"], primary["本学期不在名单金额"]) == (250, 250)
    total = rows[("合计", None)]  # the 学校 cell of the total row is blank
    # Stopped in all: 辍 250 + 龄 312.50 = 562.50; started: 返 250.
    assert (total["停止享受"], total["停止享受金额"], total["开始享受金额"]) == (2, 562.5, 250)
    assert total["新辍学"] == 1 and total["劝返复学"] == 1


def test_the_report_states_the_semester_start_and_the_two_week_due_date(tmp_path):
    result, book = follow(tmp_path)
    # 2022-spring starts on its reference date 03-01; 开学两周内 = 14 days counting 03-01: due 03-14.
    assert "2022-03-01" in result.output and "即 2022-03-14（含）前完成（一(一)1）" in result.output
    notes = dict(book["说明"].iter_rows(min_row=2, values_only=True))
    assert "2022-03-14" in notes["排查时间"]
    assert notes["学期"] == "2022年春季学期" and notes["政策标识"] == "zhongyang-2021"


def test_follow_up_from_two_saved_jsonl_results(tmp_path):
    before = [BACK, DROPPED]
    after = AFTER[:2]
    saved = []
    for name, period, rows in (("autumn", "2021-autumn", before), ("spring", "2022-spring", after)):
        roster = write_csv(tmp_path / f"{name}.csv", STUDENT_HEADERS, rows)
        target = tmp_path / f"{name}.jsonl"
        assert run("eval", roster, "--policy", POLICY_2021, "--period", period, "-o", target).exit_code == 0
        saved.append(target)
    result, book = follow_files(tmp_path, *saved)
    assert result.exit_code == 0
    assert "另一份政策" not in result.output
    ids = {BACK["身份证号"]: "返", DROPPED["身份证号"]: "辍"}
    seen = {(ids[r["身份证号"]], r["变化"], r["核查或资助项目"]) for r in sheet_dicts(book, "明细")}
    # Without facts, a resolved flag cannot be told apart (back in school or aged out): it says so.
    assert seen == {
        ("返", "已解除", "适龄未入学"),
        ("返", "开始享受", "非寄宿生生活补助"),
        ("辍", "新增标记", "适龄未入学"),
        ("辍", "停止享受", "非寄宿生生活补助"),
    }
    resolved = next(r for r in sheet_dicts(book, "明细") if r["变化"] == "已解除")
    assert "无法区分劝返复学与超出适龄" in resolved["说明"]


def test_a_saved_result_made_with_another_policy_is_said_to_be(tmp_path, policy_copy):
    roster = write_csv(tmp_path / "autumn.csv", STUDENT_HEADERS, [BACK])
    saved = tmp_path / "autumn.jsonl"
    assert run("eval", roster, "--policy", POLICY_2021, "--period", "2021-autumn", "-o", saved).exit_code == 0
    groups = policy_copy / "groups.yaml"
    groups.write_text(groups.read_text(encoding="utf-8").replace("年龄 <= 适龄上限", "年龄 <= 17"), encoding="utf-8")
    spring = write_csv(tmp_path / "spring.csv", STUDENT_HEADERS, [BACK])
    result = run("followup", "--policy", policy_copy, saved, "--period", "2021-autumn", spring, "--period",
                 "2022-spring")  # fmt: skip
    assert "是用另一份政策计算的" in result.output


def test_nothing_to_act_on_exits_zero(tmp_path):
    # Only 困 (still watched) and 去 → 来: no child out of school, no row undecidable or rejected.
    result, _ = follow(tmp_path, [WATCHED, LEAVER], [WATCHED, NEWCOMER])
    assert result.exit_code == 0 and "须跟进" not in result.output


def test_a_blank_attendance_later_is_undetermined_never_resolved(tmp_path):
    # Probe A5: 辍 was flagged 适龄未入学 in autumn (11, 未入学); in spring 就读方式 is blank, so whether
    # the child is still out of school cannot be told — the case stays open.
    out = {**DROPPED, "就读方式": "未入学"}
    result, book = follow(tmp_path, [out], [{**out, "就读方式": ""}])
    assert result.exit_code == 1
    rows = {(r["变化"], r["核查或资助项目"]): r for r in sheet_dicts(book, "明细")}
    assert not any(status in ("已解除", "劝返复学") for status, _ in rows)
    case = rows[("无法判断", "适龄未入学")]
    assert case["说明"].startswith("上学期有此标记") and "就读方式" in case["说明"]


def test_a_rejected_row_later_is_shown_as_rejected_with_its_reason_not_as_a_leaver(tmp_path):
    # Probe A5: a spring row with an invalid 就读方式 (辍学 is not an option) is rejected; the child
    # was flagged in autumn, so the flag cannot be called resolved either.
    out = {**DROPPED, "就读方式": "未入学"}
    result, book = follow(tmp_path, [out], [{**out, "就读方式": "辍学"}])
    assert result.exit_code == 1
    (row,) = sheet_dicts(book, "明细")
    assert (row["变化"], row["身份证号"]) == ("被退回", DROPPED["身份证号"])
    assert row["说明"].startswith("本学期名单第 2 行被退回：就读方式") and "适龄未入学" in row["说明"]


def test_a_saved_result_of_another_semester_is_refused(tmp_path):
    students = write_csv(tmp_path / "autumn.csv", STUDENT_HEADERS, [DROPPED])
    saved = tmp_path / "autumn.jsonl"
    assert run("eval", students, "--policy", POLICY_2021, "--period", "2021-autumn", "-o", saved).exit_code == 0
    result = run("followup", "--policy", POLICY_2021, saved, "--period", "2022-spring", students, "--period",
                 "2022-spring")  # fmt: skip
    assert result.exit_code == 2
    assert "是按 2021-autumn 学期计算的结果" in result.output
