"""Shared pieces of the hostile-file tests: the example rows, files built from them, and a run of
the reader and evaluator that returns every outcome (or the file error)."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from engine.backends.python.evaluator import Evaluator
from engine.check.checked import CheckedPolicy
from engine.cli import main
from engine.files.readers import read_table
from engine.files.records import RecordReader, header_test
from engine.policy.model import Period
from tests.conftest import ROOT

EXAMPLE_CSV = ROOT / "examples" / "students-2021.csv"
FIXTURES = Path(__file__).parent / "fixtures"
AUTUMN_2021 = Period.parse("2021-autumn")


def example_rows(count: int | None = None) -> tuple[list[str], list[list[str]]]:
    """The example file's header and its first `count` data rows, as text."""
    with EXAMPLE_CSV.open(encoding="utf-8-sig", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    return header, rows[:count] if count is not None else rows


def write_csv(path: Path, header: list[str], rows: list[list[Any]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, header: list[str], rows: list[list[Any]], title: str | None = None):
    """An XLSX of the rows (every cell as given); returns (workbook, sheet) saved already, for tests
    that change it and save again."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "学生名单"
    if title is not None:
        sheet.append([title])
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return book, sheet


def outcomes(checked: CheckedPolicy, path: Path, **options: Any) -> list[Any]:
    """Every outcome (Result or Rejected) of a file, read as the CLI reads it."""
    reader = RecordReader(checked, read_table(path, is_header=header_test(checked), **options))
    return list(Evaluator(checked, AUTUMN_2021).evaluate_all(reader))


def awards(outcome: Any) -> dict[str, Decimal]:
    return {a.program: a.amount for a in getattr(outcome, "awards", ())}


def codes(outcome: Any) -> set[str]:
    return {r.code for r in getattr(outcome, "reasons", ())}


def run(*args: Any):
    """The CLI as a user runs it; an exception (a traceback) fails the test."""
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
