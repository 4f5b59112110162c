"""The one converter of values (engine/check/values.py): cells, YAML scalars and test facts alike."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from engine.check.types import BOOL, DATE, INT, MONEY, TEXT, Type
from engine.check.values import is_blank, parse_value, problem_code, value_parser
from engine.diagnostics import Location
from engine.policy.model import Field


@pytest.mark.parametrize("cell", [None, "", "   ", "\u3000"])
def test_blank_cells(cell):
    assert is_blank(cell)


@pytest.mark.parametrize("cell", [0, "0", "否", False])
def test_a_zero_or_no_is_a_value_not_a_blank(cell):
    assert not is_blank(cell)


@pytest.mark.parametrize(
    ("type_", "cell", "value"),
    [
        (BOOL, "Y", True),
        (BOOL, "否", False),
        (BOOL, True, True),
        (MONEY, "¥1,000元", Decimal("1000")),  # the ¥, the comma and 元 are how officers write 1000
        (MONEY, "３１２．５", Decimal("312.5")),  # full-width digits
        (MONEY, 312, Decimal("312")),
        (DATE, "2012/5/1", dt.date(2012, 5, 1)),
        (DATE, "20120501", dt.date(2012, 5, 1)),
        (DATE, "2021-09-01", dt.date(2021, 9, 1)),
        (INT, "16", 16),
        (INT, 16, 16),
        (TEXT, " 一中 ", "一中"),
    ],
)
def test_values_as_people_write_them(type_: Type, cell, value):
    assert parse_value(type_, cell) == (value, "")


def test_a_negative_amount_is_refused():
    value, problem = parse_value(MONEY, "-5")
    assert value is None and problem_code(problem) == "negative-amount"


@pytest.mark.parametrize(
    ("cell", "code"),
    [("0.005", "sub-fen"), ("11999.995", "sub-fen"), ("1e20", "bad-value"), ("1E+20", "bad-value")],
)  # half a fen and 11999 yuan 99.5 fen are finer than the fen; 1e20 is how Excel shows a lost figure
def test_a_money_cell_is_whole_fen_as_written_by_every_way_in(cell, code):
    for parse in (lambda c: parse_value(MONEY, c), value_parser(MONEY)):  # the fast path too
        value, problem = parse(cell)
        assert value is None and problem_code(problem) == code


@pytest.mark.parametrize(("cell", "value"), [("312.50", "312.5"), ("312.500", "312.5"), ("1,000.00", "1000")])
def test_a_money_cell_with_trailing_zeros_is_whole_fen(cell, value):
    assert value_parser(MONEY)(cell) == (Decimal(value), "")


def test_an_impossible_date_says_so():
    value, problem = parse_value(DATE, "2021-02-30")
    assert value is None and "没有这一天" in problem


def test_a_fields_range_is_checked():
    grade = Field("nj", "年级", "int", Location("f.yaml", 1, 1), minimum=1, maximum=9, role="grade")
    assert parse_value(INT, "初三", grade) == (3, "")  # 初三: the third year
    value, problem = parse_value(INT, "10", grade)
    assert value is None and "大于最大值 9" in problem


def test_the_checker_reads_policy_values_with_the_same_converter(tmp_path):
    """A table figure written as officers write money (¥250元) is 250, as it would be in a cell."""
    import shutil

    import engine
    from tests.conftest import POLICY_2021

    folder = tmp_path / "2021"
    shutil.copytree(POLICY_2021, folder)
    tables = (folder / "tables.yaml").read_text(encoding="utf-8")
    assert "      小学: 250\n      初中: 312.5\n" in tables  # day_rate, the first table with these figures
    tables = tables.replace("      小学: 250\n", '      小学: "¥250元"\n', 1)
    (folder / "tables.yaml").write_text(tables, encoding="utf-8")
    assert engine.load(folder).tables["day_rate"][("primary",)] == Decimal("250")
