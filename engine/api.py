"""The Python API: what a notebook or a web service needs, without the command line.

    import engine
    policy = engine.load("policies/2021")
    for outcome in policy.evaluate("students.xlsx", "2021-autumn"):   # or a list of dicts
        ...                                                          # Result, or Rejected with reasons
    print(policy.explain({"身份证号": "…", "学段": "小学", …}, "2021-autumn").text)

The loaded policy IS the checked policy (:class:`~engine.check.checked.CheckedPolicy`: fields,
programs, tables, roles …) with these two methods added, so code written against the checked policy
keeps working. It sits at the top of the flow beside the CLI: it reads files, evaluates and renders.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.backends.python.evaluator import Evaluator
from engine.check.checked import CheckedPolicy
from engine.files.readers import RawTable, read_table
from engine.files.records import RecordReader, Rejected, header_test
from engine.files.report import explain_text, rejected_text
from engine.policy.model import Period
from engine.runtime.results import Explanation, Record, Result

Records = str | Path | Iterable[Mapping[str, Any]] | RawTable


@dataclass
class Explained:
    """One student explained: the outcome, and — unless the row was rejected — every program and
    check with its conditions and the facts they read. `text` is what `zizhu explain` prints."""

    outcome: Result | Rejected
    explanations: list[Explanation]
    text: str


class Policy(CheckedPolicy):
    """A checked policy that can evaluate and explain students itself (see the module's example)."""

    @classmethod
    def of(cls, checked: CheckedPolicy) -> Policy:
        return cls(**{f.name: getattr(checked, f.name) for f in dataclasses.fields(checked)})

    def read(self, records: Records, encoding: str | None = None, sheet: str | None = None) -> RecordReader:
        """Typed records, or rejected rows with reasons, from a file (CSV, XLSX, JSON, JSONL, YAML; a CSV's
        `encoding` and an XLSX `sheet` as `zizhu eval` takes them), a list of dicts keyed by column header,
        field label or id (as a file's header row), or a raw table."""
        if isinstance(records, (str, Path)):
            table = read_table(records, encoding=encoding, sheet=sheet, is_header=header_test(self))
        elif isinstance(records, RawTable):
            table = records
        else:
            table = _table_of(list(records))
        return RecordReader(self, table)

    def evaluator(self, period: str | Period, reasons: bool = True) -> Evaluator:
        """The evaluator for one semester; raises PeriodNotCovered when the policy does not cover it."""
        return Evaluator(self, period if isinstance(period, Period) else Period.parse(period), reasons)

    def evaluate(
        self, records: Records, period: str | Period, encoding: str | None = None, sheet: str | None = None
    ) -> Iterator[Result | Rejected]:
        """Every row, in input order: its Result, or Rejected with the reasons."""
        return self.evaluator(period, reasons=False).evaluate_all(self.read(records, encoding, sheet))

    def explain(self, record: Mapping[str, Any] | Record, period: str | Period) -> Explained:
        """One student (a dict of cells, as `evaluate` takes them, or a typed Record) explained."""
        semester = period if isinstance(period, Period) else Period.parse(period)
        evaluator = self.evaluator(semester)
        item = record if isinstance(record, Record) else next(iter(self.read([record])))
        if isinstance(item, Rejected):
            return Explained(item, [], rejected_text(item))
        explanations = evaluator.explain(item)
        outcome = evaluator.evaluate(item)
        return Explained(outcome, explanations, explain_text(self, outcome, explanations, str(semester)))


def _table_of(rows: list[Mapping[str, Any]]) -> RawTable:
    """Dicts as a raw table; row numbers as in a sheet whose header is row 1."""
    headers = list(dict.fromkeys(key for row in rows for key in row))
    # Records, like JSON: a key one dict leaves out is blank there, not a missing column.
    return RawTable(
        "<records>", headers, lambda: ((i, dict(row)) for i, row in enumerate(rows, start=2)), tabular=False
    )
