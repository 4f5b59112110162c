"""Evaluation through the public API; every expected figure is the plan's, worked by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

import engine
from engine.backends.python.evaluator import apply_quota
from engine.check.builtins import age_on
from engine.policy.model import Quota
from engine.runtime.results import Record


def student(checked, **facts):
    values = {fid: info.blank for fid, info in checked.fields.items() if info.field.compute is None}
    values.update(id_number="141129201001010010", name="测试", birth_date=dt.date(2010, 1, 1))
    values.update(facts)
    return Record(2, values)


CORE_COUNTY = dict(
    household="lifted_out", hukou_in_county=True, school_in_county=True, has_xueji=True, attendance="in_school"
)


@pytest.mark.parametrize(
    ("birth", "day", "age"),
    [
        (dt.date(2005, 9, 1), dt.date(2021, 9, 1), 15),  # the 16th birthday itself: not yet complete
        (dt.date(2005, 9, 1), dt.date(2021, 9, 2), 16),  # complete from the day after
        (dt.date(2005, 8, 31), dt.date(2021, 9, 1), 16),
        (dt.date(2016, 2, 29), dt.date(2022, 3, 1), 6),
        (dt.date(2016, 2, 29), dt.date(2022, 2, 28), 5),
    ],
)
def test_age_in_full_years_counts_from_the_day_after_the_birthday(birth, day, age):
    assert age_on(birth, day) == age


def test_junior_day_student_gets_312_5_as_an_exact_decimal(checked_2021):
    evaluator = engine.Evaluator(checked_2021, engine.Period.parse("2021-autumn"))
    result = evaluator.evaluate(student(checked_2021, stage="junior", grade=2, **CORE_COUNTY))
    assert [(a.program, a.amount, a.clause) for a in result.awards] == [("day_subsidy", Decimal("312.5"), "一(二)2(2)")]
    assert isinstance(result.awards[0].amount, Decimal)


def test_every_program_not_awarded_has_a_reason_with_a_clause(checked_2021):
    evaluator = engine.Evaluator(checked_2021, engine.Period.parse("2021-autumn"))
    result = evaluator.evaluate(student(checked_2021, stage="primary", grade=3, boarding=True, **CORE_COUNTY))
    assert [a.program for a in result.awards] == ["boarding_subsidy"]
    denied = {d.program: d for d in result.denials}
    assert set(denied) == set(checked_2021.programs) - {"boarding_subsidy"}
    assert denied["day_subsidy"].cause == "relation" and "寄宿生生活费补助" in denied["day_subsidy"].reason
    assert all(d.clause for d in result.denials)


def test_a_blank_grade_needed_for_the_book_fee_is_an_error_not_a_silent_under_award(checked_2021):
    evaluator = engine.Evaluator(checked_2021, engine.Period.parse("2021-autumn"))
    # 中阳县第一中学 is not listed in the fee tables: its 学段's 其他学校 rows (学费 800).
    record = student(checked_2021, stage="senior", grade=None, school="中阳县第一中学", **CORE_COUNTY)
    result = evaluator.evaluate(record)
    assert {a.program: a.amount for a in result.awards} == {"national_grant": 1500, "tuition_waiver": 800}
    # The blank grade also leaves the roster check 年级与学段矛盾 undecided: a problem too, not a pass.
    undecided = {(e.code, e.field, e.program) for e in result.errors}
    assert undecided == {("missing-fact", "grade", "textbook_waiver"), ("missing-fact", "grade", "grade_not_in_stage")}
    error = next(e for e in result.errors if e.program == "textbook_waiver")
    assert error.column == "年级"


def test_a_period_outside_the_policy_is_refused_naming_its_periods(checked_2021):
    with pytest.raises(engine.PeriodNotCovered) as info:
        engine.Evaluator(checked_2021, engine.Period.parse("2021-spring"))
    assert "2021年秋季学期" in str(info.value)


def test_quota_is_filled_in_priority_order_then_input_order(checked_2021):
    evaluator = engine.Evaluator(checked_2021, engine.Period.parse("2021-autumn"))
    freshman = dict(
        stage="undergraduate", new_entrant=True, full_time=True, county_graduate=True, admission="gaokao",
        attendance="in_school",
    )  # fmt: skip
    records = [
        Record(2, student(checked_2021, household="ordinary", hardship=True, **freshman).values),  # priority 2, 1000
        Record(3, student(checked_2021, household="lifted_out", **freshman).values),  # priority 1, 1000
        Record(4, student(checked_2021, household="lifted_out", college_in_province=True, **freshman).values),  # 1, 500
    ]
    results = [evaluator.evaluate(r) for r in records]
    program = checked_2021.policy.programs["zihui"]
    program_with_quota = type(program)(**{**program.__dict__, "quota": Quota(count=2)})
    apply_quota(results, program_with_quota)
    paid = {r.row: [a.amount for a in r.awards] for r in results}
    assert paid == {2: [], 3: [Decimal(1000)], 4: [Decimal(500)]}
    assert results[0].denials[-1].cause == "quota"


def test_budget_quota_stops_at_the_first_award_that_does_not_fit(checked_2021):
    evaluator = engine.Evaluator(checked_2021, engine.Period.parse("2021-autumn"))
    freshman = dict(
        stage="undergraduate",
        new_entrant=True,
        full_time=True,
        county_graduate=True,
        admission="gaokao",
        household="lifted_out",
        attendance="in_school",
    )
    results = [evaluator.evaluate(Record(n, student(checked_2021, **freshman).values)) for n in (2, 3, 4)]
    program = checked_2021.policy.programs["zihui"]
    apply_quota(results, type(program)(**{**program.__dict__, "quota": Quota(budget=Decimal(2500))}))
    assert [r.total for r in results] == [Decimal(1000), Decimal(1000), Decimal(0)]


FRESHMAN = dict(
    stage="undergraduate", new_entrant=True, full_time=True, county_graduate=True, admission="gaokao",
    attendance="in_school", hukou_in_county=True,
)  # fmt: skip


def _zihui_with_places(policy_copy, count: int) -> engine.Evaluator:
    programs = policy_copy / "programs.yaml"
    text = programs.read_text(encoding="utf-8")
    assert text.count("      count: null\n") == 1
    programs.write_text(text.replace("      count: null\n", f"      count: {count}\n"), encoding="utf-8")
    return engine.Evaluator(engine.load(policy_copy), engine.Period.parse("2021-autumn"))


def _quota_run(evaluator: engine.Evaluator, with_rejected_row: bool) -> dict[int, tuple[list, list[str]]]:
    from engine.files.records import Rejected
    from engine.runtime.results import RowError

    checked = evaluator.checked
    items: list = [
        Record(2, student(checked, household="ordinary", hardship=True, **FRESHMAN).values),  # eligible, priority 2
        Record(3, student(checked, household="ordinary", **FRESHMAN).values),  # no hardship: not eligible (Z1)
    ]
    if with_rejected_row:  # a 脱贫户 freshman (priority 1 once read) whose 全日制 cell was "X"
        items.append(Rejected(4, "141129200309012031", "张三", [RowError("全日制：「X」不是 是/否", code="bad-value")]))
    out = list(evaluator.evaluate_all(items))
    return {
        r.row: ([a.amount for a in r.awards if a.program == "zihui"], [e.code for e in r.errors if e.program == p])
        for r in out
        for p in ("zihui",)
        if hasattr(r, "awards")
    }


def test_a_quota_place_is_a_problem_while_a_rejected_row_could_outrank_its_holder(policy_copy):
    evaluator = _zihui_with_places(policy_copy, 1)
    # One place, one holder (row 2, priority 2, out of province: 1000): alone, the place is hers.
    assert _quota_run(evaluator, with_rejected_row=False) == {2: ([Decimal(1000)], []), 3: ([], [])}
    # Row 4 is rejected: its priority is unknown (a 脱贫户 row is priority 1), so 1 holder + 1 claimant
    # > 1 place — row 2's place depends on row 4 and is a problem, never a final award.
    outcomes = _quota_run(evaluator, with_rejected_row=True)
    assert outcomes == {2: ([], ["quota-undecided"]), 3: ([], [])}


def test_a_quota_with_room_for_every_claimant_is_final_despite_a_rejected_row(policy_copy):
    evaluator = _zihui_with_places(policy_copy, 2)
    # 2 places: row 2 (holder) + row 4 (rejected, could claim one) = 2 ≤ 2: nobody can push row 2 out.
    assert _quota_run(evaluator, with_rejected_row=True) == {2: ([Decimal(1000)], []), 3: ([], [])}


def test_a_quota_place_is_a_problem_while_a_row_with_the_program_undecided_could_outrank_it(policy_copy):
    evaluator = _zihui_with_places(policy_copy, 1)
    checked = evaluator.checked
    undecided = {**FRESHMAN, "stage": None}  # 学段 blank: 滋蕙 is a problem (missing-fact) on row 3
    items = [
        Record(2, student(checked, household="ordinary", hardship=True, **FRESHMAN).values),
        Record(3, student(checked, household="lifted_out", **undecided).values),
    ]
    codes = {r.row: [e.code for e in r.errors if e.program == "zihui"] for r in evaluator.evaluate_all(items)}
    assert codes == {2: ["quota-undecided"], 3: ["missing-fact"]}  # 1 holder + 1 undecided > 1 place


def test_the_quota_problem_names_the_rows_it_waits_for(policy_copy):
    evaluator = _zihui_with_places(policy_copy, 1)
    from engine.files.records import Rejected

    checked = evaluator.checked
    items = [Record(2, student(checked, household="ordinary", hardship=True, **FRESHMAN).values), Rejected(4, "", "")]
    result = next(iter(evaluator.evaluate_all(items)))
    (error,) = [e for e in result.errors if e.program == "zihui"]
    assert error.code == "quota-undecided" and "第 4 行（被退回）" in error.message


@pytest.mark.parametrize("period", ["2021-autumn", "2022-spring"])
def test_explain_agrees_with_evaluation_on_every_example_student(checked_2021, period):
    """explain runs the trace flavour of the same generated code: every outcome, amount and reason
    agrees with evaluation, and each step's value is what decided it."""
    from engine.files.readers import read_table
    from engine.files.records import RecordReader
    from engine.runtime.facts import Unknown
    from tests.conftest import ROOT

    evaluator = engine.Evaluator(checked_2021, engine.Period.parse(period))
    records = [r for r in RecordReader(checked_2021, read_table(ROOT / "examples" / "students-2021.csv"))]
    assert any(isinstance(r, Record) for r in records)
    for record in records:
        if not isinstance(record, Record):
            continue
        result = evaluator.evaluate(record)
        for ex in evaluator.explain(record):
            where = (record.row, ex.item)
            parts = [s for s in ex.steps if s.role != "amount"]
            if ex.kind == "check":
                flagged = any(f.check == ex.item for f in result.flags)
                problem = any(e.program == ex.item for e in result.errors)
                assert (ex.outcome == "flagged") == flagged == all(s.value is True for s in parts), where
                assert (ex.outcome == "error") == problem, where
                continue
            award = next((a for a in result.awards if a.program == ex.item), None)
            denial = next((d for d in result.denials if d.program == ex.item), None)
            error = next((e for e in result.errors if e.program == ex.item), None)
            if award is not None:
                (amount_step,) = [s for s in ex.steps if s.role == "amount"]
                assert ex.outcome == "awarded" and ex.amount == amount_step.value == award.amount, where
                assert all(s.value is (s.role == "condition") for s in parts), where
            elif error is not None:
                assert ex.outcome == "error" and ex.reason == error.message, where
                assert any(isinstance(s.value, Unknown) for s in ex.steps), where
            else:
                assert ex.outcome == "denied" and ex.reason == denial.reason, where
                if denial.cause in ("condition", "exclusion", "relation"):
                    (decisive,) = [s for s in parts if s.decisive]
                    assert decisive.role == denial.cause, where
                    assert decisive.value is (denial.cause != "condition"), where
