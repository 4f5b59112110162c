"""Bulk evaluation on DuckDB: a whole file as columns, the same bytes as the per-record engine.

The file is read column-wise (:mod:`engine.files.columns`), the policy compiled to SQL
(:mod:`engine.backends.sql.compile`) and evaluated over every typed row at once. A row whose
outcome SQL settles completely — typed without a problem, every program and check decided, each
amount exact to the fen, holding no program with a quota — is *clean*. Clean rows share a few
hundred *shapes* (which programs, which amounts, which flags): each shape's JSONL text is made once
by :func:`engine.files.report.jsonl_line` itself, from the Result the evaluator builds for it
(:meth:`Evaluator.settled_result`), and joined back, so a clean row's line is that text with its
row number and ID put in. Every other row (rejected, with problems, or in a quota's queue) is
handed, with its raw cells, to the per-record path — the same reader and evaluator
``--engine python`` uses — so its messages, codes and quota order are that path's by construction.
The two are merged in input order; on DuckDB, DuckDB writes the merged lines to the file itself.
"""

from __future__ import annotations

import codecs
import os
import shutil
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from engine.backends.python.evaluator import Evaluator
from engine.backends.sql.compile import Unsupported, compile_policy
from engine.backends.sql.literals import sql_string
from engine.backends.sql.session import DuckSession, Session
from engine.check.builtins import period_values
from engine.check.checked import CheckedPolicy
from engine.files.columns import ColumnarUnavailable, TypedColumns, read_columns
from engine.files.records import RecordReader, Rejected
from engine.files.report import jsonl_line
from engine.policy.model import Period
from engine.runtime.results import Result
from engine.tools.ledger import Ledger
from engine.tools.parallel import BatchCounts

AUTO_DUCKDB_ROWS = 20_000  # `--engine auto` reads a CSV with more lines than this on DuckDB
# Marks that cannot occur in a real line, cut out of jsonl_line's output to leave the parts around them.
_ROW_MARK = 987_650_123_456_789
_ID_MARK = "ZIZHUIDMARK"


def count_lines(path: Path | str) -> int:
    """Lines in a file, counted without decoding it (for `--engine auto`)."""
    with open(path, "rb") as handle:
        return sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))


class BulkRun:
    """One file evaluated for one semester on a SQL engine, DuckDB unless another session is given
    (see the module's description)."""

    def __init__(
        self, checked: CheckedPolicy, period: Period, path: Path | str, encoding: str | None = None,
        values: bool = False, session: Session | None = None, source: str | None = None,
        row_column: str | None = None, reasons: bool = False,
    ) -> None:  # fmt: skip
        """`values`: keep each row's facts too (for outcomes(); JSONL does not need them).
        `source`, `row_column`: the file as a view the session made, and its row numbers.
        `reasons`: outcomes() carry why each program was not awarded (Denials; for Parquet)."""
        self.checked = checked
        self.period = period
        self.reasons = reasons
        self.evaluator = Evaluator(checked, period, reasons=reasons)  # raises PeriodNotCovered first
        self.session: Session = session if session is not None else DuckSession()
        self.columns: TypedColumns = read_columns(self.session, checked, path, encoding, source, row_column)
        self.row = self.order = "row"
        try:
            self.session.store("result", self.result_query(values))
        except Unsupported as exc:
            raise ColumnarUnavailable(f"SQL 引擎不支持本政策的{exc}") from None
        except Exception as exc:  # the engine's own error (an overflow …): the per-record engine decides
            raise ColumnarUnavailable(f"SQL 引擎无法计算（{str(exc).splitlines()[0]}）") from None
        if isinstance(self.session, DuckSession):
            for name in self.columns.stored:  # `result` holds all that is read from here on
                self.session.drop(name)

    def result_query(self, values: bool) -> str:
        """One row per record of the file, in file order: blank, clean, the outcome columns, the
        facts when `values`, the reason columns (why_i) when the run is asked for reasons, and the
        raw cells of rows that are not clean (for the row reader)."""
        semester = period_values(self.period, self.checked.manifest)
        compiled = compile_policy(self.checked, semester, self.columns.field_column,
                                  f"({self.columns.typed})", self.reasons)  # fmt: skip
        self.programs, self.checks = compiled.programs, compiled.checks
        programs = self.checked.policy.programs
        # Settled: decided, an amount exact to the fen, and never negative where the conditions hold
        # (a negative amount is a row problem the per-record engine words).
        settled = [f"aw{i} IS NOT NULL AND (NOT aw{i} OR amt{i} = round(amt{i}, 2)) AND NOT (holds{i} AND raw{i} < 0)"
                   for i in range(len(self.programs))]  # fmt: skip
        settled += [f"fl{j} IS NOT NULL" for j in range(len(self.checks))]
        settled += [f"NOT aw{i}" for i, pid in enumerate(self.programs) if programs[pid].quota is not None]
        identity = self.checked.role_field("identity_number")
        id_column = self.columns.field_column.get(identity or "", "''")
        if identity is not None and self.checked.fields[identity].field.format != "resident_id":
            # A clean line puts the ID in as it is: one JSON would escape goes to the per-record path.
            settled.append(f"NOT regexp_matches(coalesce({id_column}, ''), '[\\x00-\\x1f\"\\\\]')")
        clean = " AND ".join(["ok", *(f"({s})" for s in settled)])
        keep = self._outcome_columns()
        if values:
            keep += list(self.columns.field_column.values())
        if self.reasons:
            keep += [f"why{i}" for i in range(len(self.programs))]
        keep += [f"CASE WHEN NOT clean THEN {c} END AS {c}" for c in self.columns.raw_columns]
        keep.append("row")
        return (f"SELECT blank, clean, coalesce({id_column}, '') AS id_number, {', '.join(keep)} "
                f"FROM (SELECT *, coalesce({clean}, FALSE) AS clean FROM ({compiled.query}))")  # fmt: skip

    @property
    def reader(self) -> RecordReader:
        return self.columns.reader

    def _slow_outcomes(self) -> dict[int, Result | Rejected]:
        """Rows the per-record path decides: not typed cleanly, or not settled by SQL."""
        cells = ", ".join(self.columns.raw_columns)
        query = f"SELECT {self.row}, {cells} FROM result WHERE NOT clean AND NOT blank ORDER BY {self.order}"
        rows = self.session.query(query)
        outcomes = self.evaluator.evaluate_all(RecordReader(self.checked, self.columns.raw_table(rows)))
        return {o.row: o for o in outcomes}

    def _settled(
        self, row: int, values: dict[str, Any], outcome: tuple[Any, ...], why: tuple[Any, ...] = ()
    ) -> Result:
        """The Result of a clean row from its outcome columns (aw0, amt0, aw1, amt1 …, fl0, fl1 …)
        and, when asked for reasons, its reason columns (why0, why1 …)."""
        n = len(self.programs)
        awarded = {pid: outcome[2 * i + 1] for i, pid in enumerate(self.programs) if outcome[2 * i]}
        flagged = {cid for j, cid in enumerate(self.checks) if outcome[2 * n + j]}
        denials = {pid: k for pid, k in zip(self.programs, why, strict=True) if k is not None} if why else None
        return self.evaluator.settled_result(row, values, awarded, flagged, denials)

    def _outcome_columns(self, prefix: str = "") -> list[str]:
        return [f"{prefix}aw{i}, {prefix}amt{i}" for i in range(len(self.programs))] + [
            f"{prefix}fl{j}" for j in range(len(self.checks))
        ]

    def _clean_lines_sql(self) -> str:
        """(row, line) of every clean row. Each shape's text is jsonl_line's own, cut at the row
        number and the ID: stored once per shape in the table `shapes`, joined back by the outcome
        columns (an amount not awarded, NULL, compares as 0: no clean row awards 0)."""
        n, n_checks = len(self.programs), len(self.checks)
        outcome_columns = self._outcome_columns()
        found = [()]  # no program and no check: one shape, the empty one
        if outcome_columns:
            found = self.session.query(f"SELECT DISTINCT {', '.join(outcome_columns)} FROM result WHERE clean")
        head = after_row = ""
        shapes = []
        for outcome in found:
            result = self._settled(0, {}, outcome)
            result.row, result.id_number = _ROW_MARK, _ID_MARK
            line = jsonl_line(result)
            row_at, id_at = line.index(str(_ROW_MARK)), line.index(_ID_MARK)
            head, after_row = line[:row_at], line[row_at + len(str(_ROW_MARK)) : id_at]
            amounts = [outcome[2 * i + 1] if outcome[2 * i] else Decimal(0) for i in range(n)]
            shapes.append((*(outcome[2 * i] for i in range(n)), *amounts, *outcome[2 * n :],
                           line[id_at + len(_ID_MARK) :]))  # fmt: skip
        table = [(f"k{k}", "BOOLEAN") for k in range(n)] + [(f"k{n + i}", "DECIMAL(38,10)") for i in range(n)]
        table += [(f"k{2 * n + j}", "BOOLEAN") for j in range(n_checks)] + [("rest", "VARCHAR")]
        self.session.rows("shapes", table, shapes)
        on = [f"r.aw{i} = s.k{i}" for i in range(n)] + [f"coalesce(r.amt{i}, 0) = s.k{n + i}" for i in range(n)]
        on += [f"r.fl{j} = s.k{2 * n + j}" for j in range(n_checks)]
        return (f"SELECT r.{self.row} AS row, {sql_string(head)} || CAST(r.{self.row} AS VARCHAR) || "
                f"{sql_string(after_row)} || r.id_number || s.rest AS line "
                f"FROM result AS r JOIN shapes AS s ON {' AND '.join(on) or 'TRUE'} WHERE r.clean")  # fmt: skip

    def _lines_sql(self, ledger: Ledger) -> str:
        """(row, line) of every row that is not blank, ordered as the file; counts every row into `ledger`."""
        slow = self._slow_outcomes()
        self._count_clean(ledger)
        for outcome in slow.values():  # in input order
            ledger.add(outcome)
        self.session.rows("slow_lines", [("row", "BIGINT"), ("line", "VARCHAR")],
                          [(row, jsonl_line(outcome)) for row, outcome in slow.items()])  # fmt: skip
        clean = self._clean_lines_sql()
        return f"SELECT row, line FROM ({clean} UNION ALL SELECT row, line FROM slow_lines) ORDER BY row"

    def jsonl_lines(self, ledger: Ledger) -> Iterator[str]:
        """Every input row's JSONL line (without newline), in input order, counted into `ledger`."""
        for _row, line in self.session.stream(self._lines_sql(ledger)):
            yield line

    def write_jsonl(self, handle: TextIO, ledger: Ledger) -> None:
        """:meth:`jsonl_lines` written to `handle`, each line ended by a newline: the same text. On
        DuckDB the lines never pass through Python one by one: DuckDB writes them, in input order,
        to a temporary file, which is then copied to `handle` (as bytes when it is UTF-8)."""
        if not isinstance(self.session, DuckSession):
            for line in self.jsonl_lines(ledger):
                handle.write(line + "\n")
            return
        query = self._lines_sql(ledger)
        with tempfile.TemporaryDirectory(prefix="zizhu-") as folder:
            path = os.path.join(folder, "lines.jsonl")
            self.session.write_lines(f"SELECT line FROM ({query})", path)
            binary = getattr(handle, "buffer", None)
            if binary is not None and codecs.lookup(handle.encoding or "ascii").name == "utf-8":
                handle.flush()
                with open(path, "rb") as lines:
                    shutil.copyfileobj(lines, binary, 1 << 22)
                binary.flush()
                return
            with open(path, encoding="utf-8", newline="") as text:
                while chunk := text.read(1 << 20):
                    handle.write(chunk)

    def outcomes(self) -> Iterator[Result | Rejected]:
        """Every input row's Result or Rejected, in input order (for CSV, XLSX, tables, ledgers).

        A clean row's facts are SQL's values: equal to the row reader's, though a decimal comes
        back with ten places (1000.0000000000 for 1000)."""
        slow = self._slow_outcomes()
        fields = list(self.columns.field_column.items())
        columns = [c for _, c in fields] + self._outcome_columns()
        why = [f"why{i}" for i in range(len(self.programs))] if self.reasons else []
        query = (f"SELECT {self.row}, clean, {', '.join(columns + why)} FROM result WHERE NOT blank "
                 f"ORDER BY {self.order}")  # fmt: skip
        n_fields = len(fields)
        n_outcomes = n_fields + 2 * len(self.programs) + len(self.checks)  # aw_i, amt_i, fl_j
        for row, clean, *cells in self.session.stream(query):
            if not clean:
                yield slow[row]
                continue
            values = {fid: cells[k] for k, (fid, _) in enumerate(fields)}
            yield self._settled(row, values, tuple(cells[n_fields:n_outcomes]), tuple(cells[n_outcomes:]))

    def _count_clean(self, ledger: Ledger) -> None:
        """The clean rows' part of the ledger, summed in SQL."""
        parts = ["count(*)"]
        for i in range(len(self.programs)):
            parts += [f"count(*) FILTER (WHERE aw{i})", f"sum(amt{i}) FILTER (WHERE aw{i})"]
        parts += [f"count(*) FILTER (WHERE fl{j})" for j in range(len(self.checks))]
        figures: Any = self.session.query(f"SELECT {', '.join(parts)} FROM result WHERE clean")[0]
        counts = BatchCounts(evaluated=figures[0])
        for i, pid in enumerate(self.programs):
            students, money = figures[1 + 2 * i], figures[2 + 2 * i]
            if students:
                counts.awards[pid] = (students, money)
        base = 1 + 2 * len(self.programs)
        counts.flags = {cid: figures[base + j] for j, cid in enumerate(self.checks) if figures[base + j]}
        counts.add_to(ledger)
