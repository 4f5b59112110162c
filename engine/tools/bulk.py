"""Bulk evaluation on DuckDB: a whole file as columns, the same bytes as the per-record engine.

The file is read column-wise (:mod:`engine.files.columns`), the policy compiled to SQL
(:mod:`engine.backends.sql.compile`) and evaluated over every typed row at once. A row whose
outcome SQL settles completely — typed without a problem, every program and check decided, each
amount exact to the fen, holding no program with a quota — is *clean*: its JSONL line is assembled
in SQL from a template cut out of :func:`engine.files.report.jsonl_line` itself. Every other row
(rejected, with problems, or in a quota's queue) is handed, with its raw cells, to the per-record
path — the same reader and evaluator ``--engine python`` uses — so its messages, codes and quota
order are that path's by construction. The two streams are merged in input order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

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
from engine.runtime.results import Award, Flag, Result
from engine.tools.ledger import Ledger
from engine.tools.parallel import BatchCounts

AUTO_DUCKDB_ROWS = 20_000  # `--engine auto` reads a CSV with more lines than this on DuckDB
# Marks that cannot occur in a real line, cut out of jsonl_line's output to leave the template.
_ROW_MARK = 987_650_123_456_789
_ID_MARK = "ZIZHUIDMARK"
_AMOUNT_MARK = Decimal("987650123456.78")


@dataclass
class LineTemplate:
    """jsonl_line's layout as pieces: head + row + after_row + id + after_id + awards + between
    + flags + tail, each award as before + amount text + after, joined by `separator`."""

    head: str
    after_row: str
    after_id: str
    between: str
    tail: str
    separator: str
    awards: dict[str, tuple[str, str]] = field(default_factory=dict)
    flags: dict[str, str] = field(default_factory=dict)


def line_template(checked: CheckedPolicy, evaluator: Evaluator) -> LineTemplate:
    """The pieces, cut from lines of the awards and flags `evaluator` itself builds (so whatever an
    award or flag carries — kind, clause, sample money, a check's category — is in them)."""
    def line(awards: list[Award], flags: list[Flag]) -> str:
        return jsonl_line(Result(_ROW_MARK, _ID_MARK, "", {}, awards, (), flags, ()))

    def inserted(base: str, longer: str) -> tuple[int, str]:
        """Where `longer` differs from `base` by one inserted piece, and the piece."""
        start = next((i for i, (a, b) in enumerate(zip(base, longer, strict=False)) if a != b), len(base))
        piece = longer[start : start + len(longer) - len(base)]
        assert base[:start] + piece + base[start:] == longer, "jsonl_line changed shape"
        return start, piece

    empty = line([], [])
    awards: dict[str, tuple[str, str]] = {}
    award_at = flag_at = 0
    separator = ", "
    for index, pid in enumerate(checked.program_order):
        award = evaluator._award(index, _AMOUNT_MARK)
        award_at, piece = inserted(empty, line([award], []))
        _, two = inserted(empty, line([award, award], []))
        separator = two[len(piece) : len(two) - len(piece)]
        before, after = piece.split(str(_AMOUNT_MARK))
        awards[pid] = (before, after)
    flags: dict[str, str] = {}
    for flag in evaluator._flags:
        flag_at, flags[flag.check] = inserted(empty, line([], [flag]))
    if not awards:
        award_at = empty.index("[]") + 1
    if not flags:
        flag_at = empty.index("[]", award_at + 1) + 1
    row_at = empty.index(str(_ROW_MARK))
    id_at = empty.index(_ID_MARK)
    return LineTemplate(
        head=empty[:row_at],
        after_row=empty[row_at + len(str(_ROW_MARK)) : id_at],
        after_id=empty[id_at + len(_ID_MARK) : award_at],
        between=empty[award_at:flag_at],
        tail=empty[flag_at:],
        separator=separator,
        awards=awards,
        flags=flags,
    )


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
        row_column: str | None = None,
    ) -> None:  # fmt: skip
        """`values`: keep each row's facts too (for outcomes(); JSONL does not need them).
        `source`, `row_column`: the file as a view the session made, and its row numbers."""
        self.checked = checked
        self.period = period
        self.evaluator = Evaluator(checked, period, reasons=False)  # raises PeriodNotCovered first
        self.session: Session = session if session is not None else DuckSession()
        self.columns: TypedColumns = read_columns(self.session, checked, path, encoding, source, row_column)
        self.row = self.order = "row"
        try:
            self.session.store("result", self.result_query(values))
        except Unsupported as exc:
            raise ColumnarUnavailable(f"SQL 引擎不支持本政策的{exc}") from None
        except Exception as exc:  # the engine's own error (an overflow …): the per-record engine decides
            raise ColumnarUnavailable(f"SQL 引擎无法计算（{str(exc).splitlines()[0]}）") from None

    def result_query(self, values: bool) -> str:
        """One row per record of the file, in file order: blank, clean, the outcome columns, the
        facts when `values`, and the raw cells of rows that are not clean (for the row reader)."""
        semester = period_values(self.period, self.checked.manifest)
        compiled = compile_policy(self.checked, semester, self.columns.field_column,
                                  f"({self.columns.typed})")  # fmt: skip
        self.programs, self.checks = compiled.programs, compiled.checks
        programs = self.checked.policy.programs
        # Settled: decided, an amount exact to the fen, and never negative where the conditions hold
        # (a negative amount is a row problem the per-record engine words).
        settled = [f"aw{i} IS NOT NULL AND (NOT aw{i} OR amt{i} = round(amt{i}, 2)) AND NOT (holds{i} AND raw{i} < 0)"
                   for i in range(len(self.programs))]  # fmt: skip
        settled += [f"fl{j} IS NOT NULL" for j in range(len(self.checks))]
        settled += [f"NOT aw{i}" for i, pid in enumerate(self.programs) if programs[pid].quota is not None]
        clean = " AND ".join(["ok", *(f"({s})" for s in settled)])
        keep = [f"aw{i}, amt{i}" for i in range(len(self.programs))] + [f"fl{j}" for j in range(len(self.checks))]
        if values:
            keep += list(self.columns.field_column.values())
        keep += [f"CASE WHEN NOT clean THEN {c} END AS {c}" for c in self.columns.raw_columns]
        id_column = self.columns.field_column.get("id_number", "''")
        keep.append("row")
        return (f"SELECT blank, clean, {id_column} AS id_number, {', '.join(keep)} "
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

    def _line_sql(self) -> str:
        t = line_template(self.checked, self.evaluator)
        awards = [
            f"CASE WHEN aw{i} THEN {sql_string(t.awards[pid][0])} || CAST(CAST(amt{i} AS DECIMAL(38,2)) AS VARCHAR) "
            f"|| {sql_string(t.awards[pid][1])} END"
            for i, pid in enumerate(self.programs)
        ]
        flags = [f"CASE WHEN fl{j} THEN {sql_string(t.flags[cid])} END" for j, cid in enumerate(self.checks)]

        def joined(parts: list[str]) -> str:
            return f"concat_ws({sql_string(t.separator)}, {', '.join(parts)})" if parts else "''"

        return (f"{sql_string(t.head)} || CAST({self.row} AS VARCHAR) || {sql_string(t.after_row)} || id_number || "
                f"{sql_string(t.after_id)} || {joined(awards)} || {sql_string(t.between)} || {joined(flags)} || "
                f"{sql_string(t.tail)}")  # fmt: skip

    def jsonl_lines(self, ledger: Ledger) -> Iterator[str]:
        """Every input row's JSONL line (without newline), in input order, counted into `ledger`."""
        slow = self._slow_outcomes()
        self._count_clean(ledger)
        query = (f"SELECT {self.row}, CASE WHEN clean THEN {self._line_sql()} END FROM result "
                 f"WHERE NOT blank ORDER BY {self.order}")  # fmt: skip
        for row, line in self.session.stream(query):
            if line is None:
                outcome = slow[row]
                ledger.add(outcome)
                yield jsonl_line(outcome)
            else:
                yield line

    def outcomes(self) -> Iterator[Result | Rejected]:
        """Every input row's Result or Rejected, in input order (for CSV, XLSX, tables, ledgers).

        A clean row's facts are SQL's values: equal to the row reader's, though a decimal comes
        back with ten places (1000.0000000000 for 1000)."""
        slow = self._slow_outcomes()
        fields = list(self.columns.field_column.items())
        columns = [c for _, c in fields] + [f"aw{i}, amt{i}" for i in range(len(self.programs))]
        columns += [f"fl{j}" for j in range(len(self.checks))]
        flag_of = self.evaluator._flags  # the evaluator's own (one per check, in the checks' order)
        query = f"SELECT {self.row}, clean, {', '.join(columns)} FROM result WHERE NOT blank ORDER BY {self.order}"
        n_fields, n_programs = len(fields), len(self.programs)
        for row, clean, *cells in self.session.stream(query):
            if not clean:
                yield slow[row]
                continue
            values = {fid: cells[k] for k, (fid, _) in enumerate(fields)}
            awards = [self.evaluator._award(i, cells[n_fields + 2 * i + 1])
                      for i in range(n_programs) if cells[n_fields + 2 * i]]  # fmt: skip
            flags = [flag for j, flag in enumerate(flag_of) if cells[n_fields + 2 * n_programs + j]]
            yield Result(row, values.get("id_number") or "", values.get("name") or "", values, awards, (), flags)

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
