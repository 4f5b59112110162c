"""Evaluating a large file in several processes, output in input order, identical to one process.

The parent reads the file (and makes the first pass for duplicate IDs, which needs
the whole file) and hands batches of raw rows to worker processes, each of which
loaded the policy once. A worker types, evaluates and renders its rows and returns
the rendered text with the batch's counts; the parent writes the batches in input
order (``imap`` keeps it) and adds up the counts. Little crosses between processes:
cells as lists one way, text and a few totals the other.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import islice
from typing import Any, TextIO

from engine.backends.python.evaluator import Evaluator
from engine.check.stages import check_policy
from engine.files.readers import RawTable, row_dict
from engine.files.records import RecordReader, Rejected
from engine.files.report import jsonl_line
from engine.files.writers import StudentRows, write_csv_rows
from engine.policy.loader import load_policy
from engine.policy.model import Period
from engine.runtime.results import RowError
from engine.tools.ledger import Ledger

BATCH = 2000


@dataclass
class BatchCounts:
    """What a batch adds to the ledger (no grouping: per program only)."""

    rejected: int = 0
    evaluated: int = 0
    with_errors: int = 0
    awards: dict[str, tuple[int, Decimal]] = field(default_factory=dict)
    flags: dict[str, int] = field(default_factory=dict)

    def add_to(self, ledger: Ledger) -> None:
        ledger.rows += self.rejected + self.evaluated
        ledger.rejected += self.rejected
        ledger.evaluated += self.evaluated
        ledger.with_errors += self.with_errors
        for program, (students, money) in self.awards.items():
            ledger.count_program("", program, students, money)
        for check, n in self.flags.items():
            ledger.flags[check] = ledger.flags.get(check, 0) + n


_worker: dict[str, Any] = {}


def _init(policy_folder: str, period: str, headers: list[str], file: str, fmt: str) -> None:
    checked = check_policy(load_policy(policy_folder))
    _worker["evaluator"] = Evaluator(checked, Period.parse(period), reasons=False)
    _worker["reader"] = RecordReader(checked, RawTable(file, headers, lambda: iter(())))
    _worker["shape"] = StudentRows(checked) if fmt == "csv" else None
    _worker["headers"] = headers


def _render(batch: list[tuple[int, Any, list[RowError]]]) -> tuple[list[Any], BatchCounts]:
    evaluator: Evaluator = _worker["evaluator"]
    reader: RecordReader = _worker["reader"]
    shape: StudentRows | None = _worker["shape"]
    headers: list[str] = _worker["headers"]
    texts: list[Any] = []
    counts = BatchCounts()
    for row, cells, duplicates in batch:
        raw = row_dict(headers, cells) if isinstance(cells, list) else cells
        item = reader.record(row, raw, duplicates)
        if isinstance(item, Rejected):
            counts.rejected += 1
            outcome: Any = item
        else:
            outcome = evaluator.evaluate(item)
            counts.evaluated += 1
            counts.with_errors += bool(outcome.errors)
            for a in outcome.awards:
                n, money = counts.awards.get(a.program, (0, Decimal(0)))
                counts.awards[a.program] = (n + 1, money + a.amount)
            for f in outcome.flags:
                counts.flags[f.check] = counts.flags.get(f.check, 0) + 1
        texts.append(shape.row(outcome) if shape is not None else jsonl_line(outcome))
    return texts, counts


def render_parallel(
    reader: RecordReader, policy_folder: str, period: str, fmt: str, jobs: int, ledger: Ledger
) -> Iterator[Any]:  # fmt: skip
    """Every row of `reader`'s file rendered as `fmt` ("jsonl" lines or "csv" rows) by `jobs`
    processes, in input order, adding to `ledger` as it goes. The policy must have no quota
    (a quota needs all results before any can be written)."""
    duplicates = reader.duplicates()
    table = reader.table
    source = table.cell_rows() if table.cell_rows is not None else table.rows()

    def batches() -> Iterator[list[tuple[int, Any, list[RowError]]]]:
        while batch := list(islice(source, BATCH)):
            yield [(row, cells, duplicates.get(row, [])) for row, cells in batch]

    context = multiprocessing.get_context("spawn")  # a clean interpreter: nothing inherited by accident
    with context.Pool(jobs, _init, (policy_folder, period, table.headers, table.file, fmt)) as pool:
        for texts, counts in pool.imap(_render, batches()):
            counts.add_to(ledger)
            yield from texts


def write_parallel(
    handle: TextIO, reader: RecordReader, policy_folder: str, period: str, fmt: str, jobs: int, ledger: Ledger
) -> None:  # fmt: skip
    """`render_parallel` written to `handle`: JSONL lines, or CSV rows under the same header as
    :func:`engine.files.writers.write_csv` writes."""
    rendered = render_parallel(reader, policy_folder, period, fmt, jobs, ledger)
    if fmt == "csv":
        write_csv_rows(handle, StudentRows(reader.checked).headers(), rendered)
        return
    for line in rendered:
        handle.write(line + "\n")
