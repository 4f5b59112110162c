"""The 2021 rules written by hand as plain Python: the yardstick for the engine's speed.

Straight `if` statements over the same typed records the engine reads (field id →
value, enum values by id), with the 2021 figures as literals. It exists only to be
measured against and to be checked against (tests/test_baseline.py): it is not a
second implementation anyone should maintain.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

SPECIAL_HOUSEHOLDS = frozenset({"edge_risk", "sudden_hardship", "dibao", "tekun"})
BOARDING = {"primary": Decimal(500), "junior": Decimal(625)}
DAY = {"primary": Decimal(250), "junior": Decimal("312.5")}
# Fees by 学段 for schools the tables do not list (their 其他学校 rows), and by 学段 and 学校 for
# those they do (the sample 中阳县第二中学); books also by 年级.
TUITION = {"senior": Decimal(800), "vocational": Decimal(1000)}
TUITION_BY_SCHOOL = {("senior", "中阳县第二中学"): Decimal(950)}
BOOKS = {("senior", 1): Decimal(400), ("senior", 2): Decimal(350), ("senior", 3): Decimal(300),
         ("vocational", 1): Decimal(300), ("vocational", 2): Decimal(300), ("vocational", 3): Decimal(200)}  # fmt: skip
BOOKS_BY_SCHOOL = {("senior", "中阳县第二中学", 1): Decimal(420), ("senior", "中阳县第二中学", 2): Decimal(380),
                   ("senior", "中阳县第二中学", 3): Decimal(320)}  # fmt: skip
LODGING = {"senior": Decimal(300), "vocational": Decimal(250)}
LODGING_BY_SCHOOL = {("senior", "中阳县第二中学"): Decimal(360)}
STAGES_LISTING_SCHOOLS = frozenset({"senior"})  # where a blank 学校 leaves the fee undecided
LOAN_CAP = {"junior_college": Decimal(12000), "undergraduate": Decimal(12000), "graduate": Decimal(16000)}
PRESCHOOL = Decimal(1000)
OUTSIDE_STAGES = frozenset({"preschool", "primary", "junior", "senior", "vocational"})  # 二(三)
TOP_GRADE = {"primary": 6, "junior": 3, "senior": 3, "vocational": 3, "junior_college": 3, "undergraduate": 5,
             "graduate": 4}  # fmt: skip  # decision G1
GRANT = Decimal(1500)
ZIHUI_IN, ZIHUI_OUT = Decimal(500), Decimal(1000)


def age_on(birth: dt.date, day: dt.date) -> int:
    years = day.year - birth.year
    if (day.month, day.day) <= (birth.month, birth.day):
        years -= 1
    return years


def population(r: dict[str, Any]) -> tuple[bool, bool, bool]:
    """(core population, special group, covered in the county) of a record."""
    core = r["household"] == "lifted_out"
    special = (
        r["household"] in SPECIAL_HOUSEHOLDS or r["orphan"] or r["martyr_child"] or r["parent_disabled"]
        or (r["disabled"] and r["hardship"])
    )  # fmt: skip
    county, xueji, hukou = r["school_in_county"], r["has_xueji"], r["hukou_in_county"]
    covered = county and ((core and (xueji or hukou)) or (special and xueji and r["applied"]))
    return core, special, covered


def evaluate(r: dict[str, Any], autumn: bool, reference: dt.date) -> tuple[dict[str, Decimal], list[str]]:
    """(awards by program id, flagged check ids) for one record."""
    awards: dict[str, Decimal] = {}
    core, special, covered = population(r)
    county, xueji, hukou = r["school_in_county"], r["has_xueji"], r["hukou_in_county"]
    outside = core and hukou and not county and r["outside_no_aid"] and r["statement"]
    attendance = r["attendance"]
    stage = r["stage"]
    enrolled = attendance != "not_enrolled"
    if enrolled:
        in_school = attendance == "in_school"
        if stage == "preschool" and ((covered and in_school) or outside):
            awards["preschool_aid"] = PRESCHOOL
        if stage == "primary" or stage == "junior":
            if covered and in_school and r["boarding"]:
                awards["boarding_subsidy"] = BOARDING[stage]
            elif covered or outside:
                home_or_health = attendance == "home_delivery" or attendance == "health_unable"
                health_without_xueji = attendance == "health_unable" and not xueji  # W1a
                if not (home_or_health and age_on(r["birth_date"], reference) >= 16) and not health_without_xueji:
                    awards["day_subsidy"] = DAY[stage]
        senior = stage == "senior" or stage == "vocational"  # W2a: 复读 never widens anything
        year_3_vocational = stage == "vocational" and r["grade"] == 3
        if senior and ((covered and in_school) or outside) and not year_3_vocational:
            awards["national_grant"] = GRANT
        if covered and in_school and (stage == "senior" or stage == "vocational"):
            school, grade = r["school"], r["grade"]  # a listed school's own row, else the 学段's
            awards["tuition_waiver"] = TUITION_BY_SCHOOL.get((stage, school)) or TUITION[stage]
            awards["textbook_waiver"] = BOOKS_BY_SCHOOL.get((stage, school, grade)) or BOOKS[(stage, grade)]
            if r["boarding"]:
                awards["lodging_waiver"] = LODGING_BY_SCHOOL.get((stage, school)) or LODGING[stage]
    requested = r["loan_requested"]
    # Decision C1: a college student who is 未入学 gets neither the loan nor 滋蕙, and is no 在读 visit.
    if core and hukou and requested > 0 and r["full_time"] and stage in LOAN_CAP and enrolled and autumn:
        awards["student_loan"] = min(requested, LOAN_CAP[stage])
    if (
        r["new_entrant"] and r["full_time"] and (stage == "junior_college" or stage == "undergraduate")
        and r["county_graduate"] and (r["admission"] == "gaokao" or r["admission"] == "danzhao")
        and enrolled and (core or special or r["hardship"]) and autumn
    ):  # fmt: skip
        awards["zihui"] = ZIHUI_IN if r["college_in_province"] else ZIHUI_OUT
    flags = []
    age = age_on(r["birth_date"], reference)
    school_age = 6 <= age <= 15
    placement = r["placement"]
    # 控辍保学 (attendance)
    if school_age and attendance == "not_enrolled":  # D2: whatever 残疾安置 says
        flags.append("not_in_school")
    if school_age and r["disabled"] and placement == "none" and attendance != "home_delivery":
        flags.append("disabled_unplaced")
    if enrolled and (stage == "primary" or stage == "junior") and (r["learning_difficulty"] or r["school_aversion"]):
        flags.append("key_watch")
    # 跟进告知 (outreach)
    if core and hukou and not county and enrolled and stage in OUTSIDE_STAGES and not outside:
        flags.append("outside_county_apply_there")
    if core and hukou and r["full_time"] and stage in LOAN_CAP and enrolled and not requested > 0 and autumn:
        flags.append("loan_not_requested")
    placed = attendance == "home_delivery" or placement != "none"
    if school_age and enrolled and placed and not xueji:
        flags.append("xueji_registration")
    # 数据核对 (consistency)
    if r["repeating"] and stage != "senior":
        flags.append("repeat_not_senior")
    if attendance == "not_enrolled" and placement != "none":
        flags.append("not_enrolled_but_placed")
    if not r["disabled"] and placement != "none":
        flags.append("placement_not_disabled")
    if enrolled and stage != "preschool" and r["grade"] > TOP_GRADE[stage]:
        flags.append("grade_not_in_stage")
    if r["boarding"] and attendance == "not_enrolled":
        flags.append("boarding_not_enrolled")
    if r["full_time"] and stage in LOAN_CAP and attendance == "not_enrolled":  # C1
        flags.append("college_not_enrolled")
    return awards, flags


def undecided(r: dict[str, Any]) -> bool:
    """Whether the engine must report a problem for the record rather than decide it: an enrolled
    student past 学前 whose 年级 is blank (the roster check 年级与学段矛盾 reads it, and so does the
    book fee), or a fee-waived student whose 学校 is blank in a 学段 whose fees the tables list by
    school. Only such records have a blank a rule reaches."""
    if r["attendance"] != "not_enrolled" and r["stage"] not in (None, "preschool") and r["grade"] is None:
        return True
    return r["school"] is None and r["stage"] in STAGES_LISTING_SCHOOLS and fees_waived(r)


def fees_waived(r: dict[str, Any]) -> bool:
    """Whether the record reaches the fee waivers' amounts (their conditions all hold)."""
    covered = population(r)[2]
    return covered and r["attendance"] == "in_school" and r["stage"] in ("senior", "vocational")


# -- end to end: CSV → JSONL, as a person would script it -------------------------------------------

COLUMNS = {  # header → (field id, how to read the cell)
    "身份证号": ("id_number", "text"), "姓名": ("name", "text"), "出生日期": ("birth_date", "date"),
    "本县户籍": ("hukou_in_county", "bool"), "家庭类型": ("household", "household"),
    "家庭经济困难": ("hardship", "bool"), "孤儿": ("orphan", "bool"), "残疾": ("disabled", "bool"),
    "烈士子女": ("martyr_child", "bool"), "残疾人子女": ("parent_disabled", "bool"), "学段": ("stage", "stage"),
    "年级": ("grade", "int"), "学校": ("school", "text"), "县内学校": ("school_in_county", "bool"),
    "民办": ("school_private", "bool"), "有学籍": ("has_xueji", "bool"), "就读方式": ("attendance", "attendance"),
    "残疾安置": ("placement", "placement"), "校内住宿": ("boarding", "bool"), "已申请": ("applied", "bool"),
    "外地就读未享受资助": ("outside_no_aid", "bool"), "已交情况说明": ("statement", "bool"),
    "复读": ("repeating", "bool"), "本县高中毕业": ("county_graduate", "bool"), "录取方式": ("admission", "admission"),
    "全日制": ("full_time", "bool"), "当年新生": ("new_entrant", "bool"), "省内院校": ("college_in_province", "bool"),
    "申请贷款金额": ("loan_requested", "money"), "学习困难": ("learning_difficulty", "bool"),
    "厌学": ("school_aversion", "bool"), "乡镇": ("township", "text"),
}  # fmt: skip
OPTIONS = {
    "household": {"脱贫户": "lifted_out", "边缘易致贫户": "edge_risk", "突发严重困难户": "sudden_hardship",
                  "低保家庭": "dibao", "特困供养": "tekun", "一般家庭": "ordinary", "": "ordinary"},
    "stage": {"学前": "preschool", "小学": "primary", "初中": "junior", "普通高中": "senior", "中职": "vocational",
              "专科": "junior_college", "本科": "undergraduate", "研究生": "graduate", "": None},
    "attendance": {"在校": "in_school", "送教上门": "home_delivery", "因病不具备学习条件": "health_unable",
                   "未入学": "not_enrolled", "": None},
    "placement": {"随班就读": "regular_class", "特教学校": "special_school", "送教上门": "home_delivery", "无": "none",
                  "": "none"},
    "admission": {"高考": "gaokao", "单招": "danzhao", "无": "none", "": "none"},
}  # fmt: skip
READERS = {
    "text": lambda cell: cell,
    "bool": lambda cell: cell == "是",
    "int": lambda cell: int(cell) if cell else None,
    "money": lambda cell: Decimal(cell) if cell else Decimal(0),
    "date": lambda cell: dt.date.fromisoformat(cell) if cell else None,
}


def main(path: str, autumn: bool = True, reference: dt.date = dt.date(2021, 9, 1)) -> None:
    """`python -m benchmarks.baseline FILE.csv > out.jsonl`: a tidy generated file, no validation."""
    import csv
    import json
    import sys

    out = sys.stdout
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = csv.reader(handle)
        plan = [(COLUMNS[h][0], OPTIONS.get(COLUMNS[h][1]) or READERS[COLUMNS[h][1]]) for h in next(rows)]
        for number, cells in enumerate(rows, start=2):
            record = {fid: read[cell] if isinstance(read, dict) else read(cell)
                      for (fid, read), cell in zip(plan, cells, strict=True)}  # fmt: skip
            if record["grade"] is None:  # the rules need 年级 (the generator leaves some blank): a problem line
                out.write(json.dumps({"row": number, "id_number": record["id_number"], "status": "problem"}) + "\n")
                continue
            if record["birth_date"] is None:
                record["birth_date"] = dt.date.fromisoformat(
                    f"{record['id_number'][6:10]}-{record['id_number'][10:12]}-{record['id_number'][12:14]}"
                )
            awards, flags = evaluate(record, autumn, reference)
            line = {"row": number, "id_number": record["id_number"],
                    "awards": [{"program": p, "amount": str(a.quantize(Decimal("0.01")))} for p, a in awards.items()],
                    "flags": flags}  # fmt: skip
            out.write(json.dumps(line, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    import sys

    main(sys.argv[1])
