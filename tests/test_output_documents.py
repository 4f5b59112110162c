"""What the documents themselves say (probe2 findings 4, 5, 14, 15): a saved ledger states its row
counts and what its totals leave out; sample money is marked wherever an amount is shown; explain
says which facts were blank and which decided; messages point the right way."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from tests.test_status import PERIOD, ROWS, roster, run

# tests/test_status.py's four rows: 甲 evaluated; 乙 (年级 blank) has 书本费 undecided → problem;
# 丙 has a wrong check digit → rejected; 丁 (未入学, 送教上门) evaluated and flagged.
COUNTS = "共读取 4 行：计算 2 行，有问题 1 行，退回 1 行"  # 4 read − 1 problem − 1 rejected = 2 computed
UNCOUNTED = "注意：1 人的资助无法判定、1 行被退回，未计入合计"


@pytest.fixture
def students(tmp_path: Path) -> Path:
    return roster(tmp_path / "s.csv", ROWS)


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_the_text_ledger_states_its_counts_and_what_its_totals_leave_out(students, engine):
    result = run("ledger", students, *PERIOD, "--engine", engine)
    assert result.exit_code == 1
    assert COUNTS in result.stdout  # in the document itself, not only on stderr
    assert UNCOUNTED in result.stdout


def test_a_ledger_with_every_row_decided_says_nothing_is_left_out(tmp_path):
    only_clean = roster(tmp_path / "clean.csv", [ROWS[0]])
    result = run("ledger", only_clean, *PERIOD)
    assert result.exit_code == 0
    assert "共读取 1 行：计算 1 行，有问题 0 行，退回 0 行" in result.stdout
    assert "未计入合计" not in result.stdout


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_the_ledger_workbook_states_counts_and_flag_counts(students, tmp_path, engine):
    target = tmp_path / "台账.xlsx"
    assert run("ledger", students, *PERIOD, "--engine", engine, "-o", target).exit_code == 1
    book = openpyxl.load_workbook(target)
    assert book.sheetnames == ["台账", "核查", "说明"]
    ledger_cells = [r[0] for r in book["台账"].iter_rows(min_row=2, values_only=True)]
    assert COUNTS in ledger_cells
    assert any(str(c).startswith(UNCOUNTED) for c in ledger_cells)
    about = {k: v for k, v in book["说明"].iter_rows(min_row=2, values_only=True)}
    assert about["行数"] == COUNTS and about["未计入合计"].startswith(UNCOUNTED)
    # 核查: only 丁 is flagged — 11 years old on 2021-09-01 and 未入学 (适龄未入学), and 未入学 while
    # 残疾安置 is 送教上门 (a contradiction); she is placed, so 适龄残疾儿童未安置 counts nobody.
    flags = {r[2]: r[4] for r in book["核查"].iter_rows(min_row=2, values_only=True)}
    assert flags["not_in_school"] == 1 and flags["not_enrolled_but_placed"] == 1
    assert flags["disabled_unplaced"] == 0


def test_the_ledger_help_offers_only_the_extensions_it_writes():
    shown = run("ledger", "--help").output
    assert ".xlsx" in shown and ".csv" in shown and ".txt" in shown
    assert ".jsonl" not in shown
    assert ".jsonl" in run("eval", "--help").output


def test_the_ledger_refuses_jsonl_as_its_help_says(students, tmp_path):
    result = run("ledger", students, *PERIOD, "-o", tmp_path / "台账.jsonl")
    assert result.exit_code == 2 and "不能写 .jsonl" in result.output
