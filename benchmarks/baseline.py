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
TUITION = {"senior": Decimal(800), "vocational": Decimal(1000)}
BOOKS = {("senior", 1): Decimal(400), ("senior", 2): Decimal(350), ("senior", 3): Decimal(300),
         ("vocational", 1): Decimal(300), ("vocational", 2): Decimal(300), ("vocational", 3): Decimal(200)}  # fmt: skip
LODGING = {"senior": Decimal(300), "vocational": Decimal(250)}
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


def evaluate(r: dict[str, Any], autumn: bool, reference: dt.date) -> tuple[dict[str, Decimal], list[str]]:
    """(awards by program id, flagged check ids) for one record."""
    awards: dict[str, Decimal] = {}
    household = r["household"]
    core = household == "lifted_out"
    special = (
        household in SPECIAL_HOUSEHOLDS or r["orphan"] or r["martyr_child"] or r["parent_disabled"]
        or (r["disabled"] and r["hardship"])
    )  # fmt: skip
    county, xueji, hukou = r["school_in_county"], r["has_xueji"], r["hukou_in_county"]
    covered = county and ((core and (xueji or hukou)) or (special and xueji and r["applied"]))
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
            awards["tuition_waiver"] = TUITION[stage]
            awards["textbook_waiver"] = BOOKS[(stage, r["grade"])]
            if r["boarding"]:
                awards["lodging_waiver"] = LODGING[stage]
    requested = r["loan_requested"]
    if core and hukou and requested > 0 and r["full_time"] and stage in LOAN_CAP and autumn:
        awards["student_loan"] = min(requested, LOAN_CAP[stage])
    if (
        r["new_entrant"] and r["full_time"] and (stage == "junior_college" or stage == "undergraduate")
        and r["county_graduate"] and (r["admission"] == "gaokao" or r["admission"] == "danzhao")
        and (core or special or r["hardship"]) and autumn
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
    if core and hukou and r["full_time"] and stage in LOAN_CAP and not requested > 0 and autumn:
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
    return awards, flags


def undecided(r: dict[str, Any]) -> bool:
    """Whether the engine must report a problem for the record rather than decide it: here, an
    enrolled student past 学前 whose 年级 is blank (the roster check 年级与学段矛盾 reads it, and so
    does the book fee). Only such records are generated with a blank a rule reaches."""
    return r["attendance"] != "not_enrolled" and r["stage"] not in (None, "preschool") and r["grade"] is None
