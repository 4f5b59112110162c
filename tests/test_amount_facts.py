"""What the checker proves of an amount (engine.check.amounts), and that the SQL back end, which
leaves out the run-time tests so proved, still answers as the per-record engine where they are not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import engine
from engine.backends.python.evaluator import Evaluator
from engine.check.amounts import AmountFacts, amount_facts
from engine.files.readers import read_table
from engine.files.records import RecordReader
from engine.files.report import jsonl_line
from engine.tools.bulk import BulkRun
from engine.tools.ledger import Ledger
from examples.generate import HEADERS
from tests.test_sql_engine import messy_rows, write_rows

AUTUMN = engine.Period.parse("2021-autumn")
BOARDING = "    amount: 寄宿生生活费补助标准[学段]\n"


def _with_boarding_amount(policy: Path, amount: str) -> engine.CheckedPolicy:
    programs = policy / "programs.yaml"
    text = programs.read_text(encoding="utf-8")
    assert text.count(BOARDING) == 1
    programs.write_text(text.replace(BOARDING, f"    amount: {amount}\n"), encoding="utf-8")
    return engine.load(policy)


def test_the_2021_amounts_are_all_proved_whole_fen_and_not_negative(checked_2021) -> None:
    # 1000, 1500, 500 or 1000, the fee and subsidy tables (whole yuan), and min(申请贷款金额, a table):
    # money cells are whole fen and never negative by the money rule.
    for pid, program in checked_2021.programs.items():
        assert amount_facts(checked_2021, program.amount) == AmountFacts(True, True), pid


@pytest.mark.parametrize(
    ("amount", "facts"),
    [
        ("寄宿生生活费补助标准[学段] * 2", AmountFacts(True, True)),  # 625 × 2 = 1250: whole fen
        ("寄宿生生活费补助标准[学段] * 0.333", AmountFacts(False, True)),  # 625 × 0.333 = 208.125
        ("寄宿生生活费补助标准[学段] - 申请贷款金额", AmountFacts(True, False)),  # 500 − 8000 < 0
        ("-寄宿生生活费补助标准[学段] + 1000", AmountFacts(True, False)),  # −625 + 1000: whole fen, sign unknown
        ("寄宿生生活费补助标准[学段] * 0.5 - 1", AmountFacts(False, False)),  # 312.5 − 1, 249 − 1 …: neither
    ],
)
def test_what_is_proved_of_an_amount(policy_copy, amount, facts) -> None:
    checked = _with_boarding_amount(policy_copy, amount)
    assert amount_facts(checked, checked.programs["boarding_subsidy"].amount) == facts


def test_an_amount_not_proved_whole_fen_is_still_rounded_as_the_policy_says(policy_copy, tmp_path) -> None:
    """625 × 0.333 = 208.125 is finer than the fen: SQL keeps its test for it, so the per-record
    engine rounds it by the manifest's rule (2021: half_up → 208.13) on both engines; 500 × 0.333
    = 166.5 is paid as 166.50."""
    checked = _with_boarding_amount(policy_copy, "寄宿生生活费补助标准[学段] * 0.333")
    path = write_rows(tmp_path / "students.csv", messy_rows(800, seed=11, blanks=False))
    evaluator = Evaluator(checked, AUTUMN, reasons=False)
    python = [jsonl_line(o) for o in evaluator.evaluate_all(RecordReader(checked, read_table(path)))]
    duck = list(BulkRun(checked, AUTUMN, path).jsonl_lines(Ledger(checked)))
    assert duck == python
    amounts = {a["amount"] for line in python for a in json.loads(line).get("awards", [])
               if a["program"] == "boarding_subsidy"}  # fmt: skip
    assert amounts == {"166.50", "208.13"}


def test_a_problem_sql_words_from_one_blank_is_the_evaluators_and_others_stay_its(policy_copy, tmp_path) -> None:
    """SQL settles a row whose undecided items each rest on one blank fact alone, the evaluator wording
    the problem; every other undecided row stays the per-record path's. Planted here: 学段最高年级 without
    its 中职 row (a lookup that fails: "没有 中职 这一项" besides any blank), an in-county school outside
    the county's list (a failure too), and rows with two blanks (年级 and 就读方式) beside rows with
    one. Both engines give the same bytes and the same counts."""
    tables = policy_copy / "tables.yaml"
    text = tables.read_text(encoding="utf-8")
    assert text.count("      中职: 3\n") == 1
    tables.write_text(text.replace("      中职: 3\n", "", 1), encoding="utf-8")
    checked = engine.load(policy_copy)
    rows = messy_rows(3000, seed=12, blanks=True)
    grade, attendance = HEADERS.index("年级"), HEADERS.index("就读方式")
    school, in_county = HEADERS.index("学校"), HEADERS.index("县内学校")
    for k, row in enumerate(rows):
        if k % 7 == 0:
            row[grade] = ""
        if k % 21 == 0:
            row[attendance] = ""
        if k % 11 == 0:  # a school outside the county's list, in county: a failure, not a blank
            row[school], row[in_county] = "中阳县第九中学", "是"
    path = write_rows(tmp_path / "students.csv", rows)
    evaluator = Evaluator(checked, AUTUMN, reasons=False)
    by_record, bulk = Ledger(checked), Ledger(checked)
    python = [jsonl_line(o) for o in by_record.observe(evaluator.evaluate_all(RecordReader(checked, read_table(path))))]
    run = BulkRun(checked, AUTUMN, path)
    duck = list(run.jsonl_lines(bulk))
    assert duck == python
    assert by_record.summary_line() == bulk.summary_line() and by_record.table() == bulk.table()
    problems = [json.loads(line) for line in python if '"status": "problem"' in line]
    messages = [e["message"] for p in problems for e in p["errors"]]
    assert any("「学段最高年级」中没有 中职 这一项" in m for m in messages)  # the failing lookup reached both
    assert any("缺少「年级」「就读方式」" in m for m in messages)  # two blanks in one problem
    codes = [{e["code"] for e in p["errors"]} for p in problems]
    assert {"missing-fact", "unknown-value"} in codes  # a blank and a failure in one row
    # Most problem rows were settled in SQL (one blank each), the rest by the evaluator.
    settled = run.session.query("SELECT count(*) FROM result WHERE clean AND misses IS NOT NULL")[0][0]
    assert 0 < settled < len(problems)


def test_a_blank_school_where_the_fallback_row_applies_is_no_blank_fact(tmp_path, checked_2021) -> None:
    """免书本费 reads 书本费标准[学段, 学校, 年级]. For 中职 no school has rows of its own, so a blank
    学校 takes the 其他学校 row, and 年级 4 has none: the evaluator reports the missing row (no-table-entry),
    and SQL must not word it as a blank 学校 (probe 3, finding 1). For 普通高中, which lists a school of
    its own, a blank 学校 is the blank fact (missing-fact naming 学校)."""
    rows = messy_rows(400, seed=13, blanks=False)
    stage, grade, school = HEADERS.index("学段"), HEADERS.index("年级"), HEADERS.index("学校")
    for k, row in enumerate(rows):
        if k % 3 == 0:
            row[stage], row[grade], row[school] = ("中职", "普通高中")[k % 2], str(4 + k % 6), ""
    path = write_rows(tmp_path / "students.csv", rows)
    evaluator = Evaluator(checked_2021, AUTUMN, reasons=False)
    python = [jsonl_line(o) for o in evaluator.evaluate_all(RecordReader(checked_2021, read_table(path)))]
    duck = list(BulkRun(checked_2021, AUTUMN, path).jsonl_lines(Ledger(checked_2021)))
    assert duck == python
    messages = [e["message"] for line in python for e in json.loads(line).get("errors", [])]
    assert any("「书本费标准」中没有 中职、（空）、4 这一项" in m for m in messages)  # k % 6 == 0: 中职, 年级 4
