"""Arithmetic never kills a run, and money is rounded to the fen once, by the policy's declared rule.

Each case changes tuition_waiver's amount (学费标准: 普通高中 其他学校 800) in a copy of policies/2021 and
evaluates a 普通高中 student of a school the table does not list who meets its conditions
(申请贷款金额 serves as a money fact a test can set to any figure); figures are worked by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

import engine
from engine.diagnostics import PolicyError
from engine.runtime.results import Record

AUTUMN = engine.Period.parse("2021-autumn")
TUITION = "    amount: 学费标准[学段, 学校]\n"


def senior(checked, **facts):
    values = {fid: info.blank for fid, info in checked.fields.items() if info.field.compute is None}
    values.update(
        id_number="141129200601010010",
        name="测试",
        birth_date=dt.date(2006, 1, 1),
        household="lifted_out",
        hukou_in_county=True,
        school_in_county=True,
        has_xueji=True,
        attendance="in_school",
        stage="senior",
        grade=2,
        school="中阳县第一中学",  # not listed in the fee tables: their 其他学校 rows
    )
    values.update(facts)
    return Record(2, values)


def with_amount(folder: Path, amount: str, rounding: str = "half_up") -> engine.CheckedPolicy:
    programs = folder / "programs.yaml"
    text = programs.read_text(encoding="utf-8")
    assert TUITION in text
    programs.write_text(text.replace(TUITION, f"    amount: {amount}\n"), encoding="utf-8")
    manifest = folder / "policy.yaml"
    manifest.write_text(
        manifest.read_text(encoding="utf-8").replace("rounding: half_up", f"rounding: {rounding}"), encoding="utf-8"
    )
    return engine.load(folder)


def tuition(checked, **facts):
    result = engine.Evaluator(checked, AUTUMN).evaluate(senior(checked, **facts))
    award = [a.amount for a in result.awards if a.program == "tuition_waiver"]
    problems = [e for e in result.errors if e.program == "tuition_waiver"]
    return result, (award[0] if award else None), problems


def test_an_int_literal_cap_in_min_gives_a_decimal_amount(policy_copy):
    checked = with_amount(policy_copy, "min(申请贷款金额, 12000)")
    _, capped, _ = tuition(checked, loan_requested=Decimal(15000))  # min(15000, 12000) = 12000
    _, asked, _ = tuition(checked, loan_requested=Decimal("8000.5"))  # min(8000.5, 12000) = 8000.50
    assert (capped, asked) == (Decimal(12000), Decimal("8000.50"))
    assert isinstance(capped, Decimal)


def test_int_literals_in_if_then_else_give_a_decimal_amount(policy_copy):
    checked = with_amount(policy_copy, "if 校内住宿 then 10000 else 1000")
    _, boarding, _ = tuition(checked, boarding=True)
    _, day, _ = tuition(checked)
    assert (boarding, day) == (Decimal(10000), Decimal(1000)) and isinstance(day, Decimal)


def test_division_by_zero_is_a_problem_on_that_row_and_the_run_goes_on(policy_copy):
    checked = with_amount(policy_copy, "学费标准[学段, 学校] / (年级 - 年级)")  # 800 / 0 for every 年级
    result, amount, (problem,) = tuition(checked, grade=1)
    assert amount is None and problem.code == "arithmetic"
    assert {a.program for a in result.awards} >= {"national_grant"}  # the rest of the row is evaluated
    # A student the waiver does not cover is refused on a known fact: no division is reached.
    _, amount, problems = tuition(checked, household="ordinary")
    assert (amount, problems) == (None, [])


def test_an_amount_too_large_to_round_to_the_fen_is_a_problem_not_a_crash(policy_copy):
    checked = with_amount(policy_copy, "申请贷款金额")
    _, amount, (problem,) = tuition(checked, loan_requested=Decimal(10) ** 30)  # 31 digits: beyond 28
    assert amount is None and problem.code == "arithmetic"


@pytest.mark.parametrize(
    ("rounding", "expected"),
    [("half_up", "0.13"), ("half_even", "0.12"), ("down", "0.12")],  # 0.125 to the fen
)
def test_amounts_are_rounded_once_to_the_fen_by_the_declared_rule(policy_copy, rounding, expected):
    checked = with_amount(policy_copy, "申请贷款金额", rounding)
    _, amount, _ = tuition(checked, loan_requested=Decimal("0.125"))
    assert amount == Decimal(expected) and str(amount) == expected


def test_an_amount_that_rounds_to_nothing_is_a_row_problem_without_exponent_notation(policy_copy):
    checked = with_amount(policy_copy, "申请贷款金额")
    result, amount, (problem,) = tuition(checked, loan_requested=Decimal("0.00000008"))  # → 0.00, not 0
    assert amount is None and problem.code == "amount-below-fen"
    assert "0.00000008" in problem.message and "E" not in problem.message
    assert not [d for d in result.denials if d.program == "tuition_waiver"]  # never a quiet "不享受"


def test_a_computed_negative_amount_is_a_row_problem_not_a_denial(policy_copy):
    checked = with_amount(policy_copy, "申请贷款金额 - 1000")
    result, amount, (problem,) = tuition(checked, loan_requested=Decimal(200))  # 200 - 1000 = -800
    assert amount is None and problem.code == "negative-amount" and "-800.00" in problem.message
    assert problem.program == "tuition_waiver" and not [d for d in result.denials if d.program == "tuition_waiver"]


def test_an_amount_of_exactly_zero_is_a_denial_with_its_reason(policy_copy):
    # A loan of min(申请贷款金额, 12000) with 0 asked: nothing to pay — decided, not a problem.
    checked = with_amount(policy_copy, "min(申请贷款金额, 12000)")
    result, amount, problems = tuition(checked, loan_requested=Decimal(0))
    (denial,) = [d for d in result.denials if d.program == "tuition_waiver"]
    assert (amount, problems, denial.cause) == (None, [], "zero")
    assert denial.reason == "按规则计算的金额为 0.00，无需发放"


def test_a_negative_constant_amount_is_a_check_error(policy_copy):
    with pytest.raises(PolicyError) as info:
        with_amount(policy_copy, "-100")
    assert [d.code for d in info.value.diagnostics] == ["negative-amount"]


@pytest.mark.parametrize(
    ("amount", "code"),
    [("0 - 5", "negative-amount"), ("0", "zero-amount"), ("100 * 0 + 0", "zero-amount"), ("312.5 * 0.001", "sub-fen")],
)  # 0 - 5 = -5; 100 × 0 + 0 = 0; 312.5 × 0.001 = 0.3125 (finer than the fen)
def test_an_amount_the_policy_alone_fixes_must_be_whole_fen_above_zero(policy_copy, amount, code):
    with pytest.raises(PolicyError) as info:
        with_amount(policy_copy, amount)
    assert [d.code for d in info.value.diagnostics] == [code]


@pytest.mark.parametrize(("cell", "code"), [("0.001", "sub-fen"), ("312.555", "sub-fen"), ("-5", "negative-amount")])
def test_a_money_table_cell_that_is_not_whole_fen_or_negative_is_a_check_error(policy_copy, cell, code):
    path = policy_copy / "tables.yaml"
    text = path.read_text(encoding="utf-8")
    assert "        其他学校: 800\n" in text
    path.write_text(text.replace("        其他学校: 800\n", f"        其他学校: {cell}\n", 1), encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        engine.load(policy_copy)
    assert [d.code for d in info.value.diagnostics] == [code]


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_a_parameter_that_is_not_a_finite_number_is_a_check_error(policy_copy, value):
    path = policy_copy / "tables.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("        其他学校: 800\n", f"        其他学校: {value}\n", 1), encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        engine.load(policy_copy)
    assert [d.code for d in info.value.diagnostics] == ["bad-value"]


def test_the_manifest_must_declare_its_rounding_rule(policy_copy):
    manifest = policy_copy / "policy.yaml"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace("  rounding: half_up\n", ""), encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        engine.load(policy_copy)
    (error,) = info.value.diagnostics
    assert error.code == "missing-key" and "rounding" in error.message


@pytest.mark.parametrize(
    ("amount", "grade", "expected"),
    [
        ("学费标准[学段, 学校] * 2", 2, Decimal(1600)),  # double the 普通高中 其他学校 sample rate: 800 × 2
        ("学费标准[学段, 学校] / 2", 2, Decimal(400)),  # half of it: 800 ÷ 2
        ("(年级 - 1) * 100", 2, Decimal(100)),  # a count times yuan: (2 − 1) × 100
        ("年级 * 100 - 100", 3, Decimal(200)),  # 3 × 100 − 100
    ],
)
def test_a_written_number_in_an_amount_is_yuan_or_a_factor_as_it_meets(policy_copy, amount, grade, expected):
    checked = with_amount(policy_copy, amount)
    _, awarded, problems = tuition(checked, grade=grade)
    assert (awarded, problems) == (expected, [])


@pytest.mark.parametrize("amount", ["年级 - 2", "年龄 - 6"])
def test_a_count_minus_a_written_number_is_a_count_and_not_an_amount(policy_copy, amount):
    with pytest.raises(PolicyError) as info:
        with_amount(policy_copy, amount)
    (error,) = info.value.diagnostics
    # Named in a staff member's words, with how to write it as money.
    assert error.code == "type-mismatch" and "是整数" in error.message and "数字" not in error.message
    assert "(年级 - 2) * 100" in error.hint


def test_money_times_money_is_refused_with_how_to_double_a_rate(policy_copy):
    with pytest.raises(PolicyError) as info:
        with_amount(policy_copy, "学费标准[学段, 学校] * 学费标准[学段, 学校]")
    (error,) = info.value.diagnostics
    assert error.code == "type-mismatch" and "（金额）*" in error.message and "* 2" in error.hint
