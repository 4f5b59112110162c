"""Bulk evaluation on DuckDB: a whole file as columns, the same bytes as the per-record engine.

The file is read column-wise (:mod:`engine.files.columns`), the policy compiled to SQL
(:mod:`engine.backends.sql.compile`) and evaluated over every typed row at once. A row whose
outcome SQL settles completely is *clean*: typed without a problem, holding no program with a
quota, and each program and check either decided (an amount exact to the fen, never negative) or
left undecided by exactly one blank fact and nothing else — no other blank it reads, no program it
reads undecided, no lookup failing (:meth:`BulkRun._one_blank`): the evaluator then names that one
fact, as it would. Clean rows share a few hundred *shapes* (which programs, amounts, flags and
blank facts), keyed by a 64-bit hash: each shape's JSONL text is made once by
:func:`engine.files.report.jsonl_line` itself, from the Result the evaluator builds for it
(:meth:`Evaluator.settled_result`), and joined back, so a clean row's line is that text with its
row number and ID put in. Every other row (rejected, in a quota's queue, or undecided otherwise)
is handed, with its raw cells, to the per-record path — the same reader and evaluator
``--engine python`` uses — so its messages, codes and quota order are that path's by construction
(rows found to share an ID only once stored are read again from the file by the row reader).
The two are merged in input order; on DuckDB, DuckDB writes the merged lines to the file (or
pipe) itself, from a sorted table of narrow rows (:meth:`BulkRun._ordered_lines`).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from engine.backends.python.evaluator import Evaluator
from engine.backends.sql.compile import SqlWriter, Unsupported, compile_policy
from engine.backends.sql.literals import sql_string
from engine.backends.sql.session import DuckSession, Session
from engine.check import ir
from engine.check.amounts import amount_facts
from engine.check.builtins import period_values
from engine.check.checked import CheckedPolicy
from engine.files.columns import (
    ColumnarUnavailable,
    TypedColumns,
    duckdb_refusal,
    read_columns,
    require_rows,
    retype_rows,
)
from engine.files.records import RecordReader, Rejected
from engine.files.report import jsonl_line
from engine.files.writers import atomic_output, stdout_device, text_output
from engine.policy.model import Period
from engine.runtime.results import Result
from engine.tools.ledger import Ledger
from engine.tools.parallel import BatchCounts

AUTO_DUCKDB_ROWS = 20_000  # `--engine auto` reads a CSV with more lines than this on DuckDB
# Marks that cannot occur in a real line, cut out of jsonl_line's output to leave the parts around them.
SHAPE_KEY = "hash({})"  # SQL: the 64-bit key of a clean row's outcome columns
_ROW_MARK = 987_650_123_456_789
_ID_MARK = "ZIZHUIDMARK"
T = TypeVar("T")
U = TypeVar("U")


def _clean_line(head: str, after_row: str, row: str, id_number: str, rest: str) -> str:
    """SQL: a clean row's JSONL line, its shape's text (:meth:`BulkRun._shape_lines`) with its row
    number and ID put in; `row`, `id_number` and `rest` are SQL for those three."""
    return f"{sql_string(head)} || CAST({row} AS VARCHAR) || {sql_string(after_row)} || {id_number} || {rest}"


def _beside(first: Callable[[], T], second: Callable[[], U]) -> tuple[T, U]:
    """Both answers, `second` run in a thread of its own while `first` runs here: worth it when one
    of them lets go of Python's lock (a DuckDB statement) while the other needs it."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        beside = pool.submit(second)
        try:
            answer = first()
        finally:
            later = beside.result()  # (its error first: it says why the file cannot be read)
        return answer, later


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
        row_column: str | None = None, reasons: bool = False, evaluator: Evaluator | None = None,
    ) -> None:  # fmt: skip
        """`values`: keep each row's facts too (for outcomes(); JSONL does not need them).
        `source`, `row_column`: the file as a view the session made, and its row numbers.
        `reasons`: outcomes() carry why each program was not awarded (Denials; for Parquet).
        `evaluator`: the caller's for this policy and semester, used when it gives reasons as this does."""
        self.checked = checked
        self.period = period
        self.reasons = reasons
        if evaluator is None or evaluator.reasons != reasons:
            evaluator = Evaluator(checked, period, reasons=reasons)  # raises PeriodNotCovered first
        assert evaluator.checked is checked and evaluator.period == period
        self.evaluator = evaluator
        self.session: Session = session if session is not None else DuckSession()
        self.row = self.order = "row"
        self.read_again: dict[int, dict[str, Any]] = {}  # rows the row reader read from the file itself
        self.parts: list[tuple[str, str]] = []  # in one scan: each table under `result`, and its row number
        self.columns: TypedColumns = read_columns(self.session, checked, path, encoding, source, row_column)
        self._store_result(values, path, encoding)
        if isinstance(self.session, DuckSession):
            if self.in_one_scan and not self._engine(lambda: self._retype(self.session, values)):
                self.session.execute("DROP VIEW result")  # most rows untidy: stored and typed that way instead
                self.session.drop("result_rows")
                self.columns = read_columns(self.session, checked, path, encoding, in_one_scan=False)
                self._store_result(values, path, encoding)
            for name in self.columns.stored:  # `result` holds all that is read from here on
                self.session.drop(name)
            if self.columns.keys:
                self._engine(lambda: self._unclean_duplicates(self.session))
        if not values:  # JSONL: its lines are made from the shapes (a collision leaves the file to the row reader)
            _ = self.shapes

    @property
    def in_one_scan(self) -> bool:
        return self.columns.row_offset is not None

    def _store_result(self, values: bool, path: Path | str, encoding: str | None) -> None:
        """The table `result` (:meth:`result_query`); in one scan of the file, the table `result_rows`
        and `result` a view numbering its rows. A plan with a join (which may emit rows in any order)
        is not run in one scan: the file is then stored first."""
        query = self._engine(lambda: self.result_query(values))
        if self.in_one_scan:
            # The whole file's checks (a scan in Python) are made while DuckDB plans the query (which
            # lets go of Python), and may refuse the file before it is read.
            joins, records = _beside(lambda: self._engine(lambda: self._joins(query)), lambda: self.columns.records)
            if joins:
                self.columns = read_columns(self.session, self.checked, path, encoding, in_one_scan=False)
                query = self._engine(lambda: self.result_query(values))
        if not self.in_one_scan:
            self._engine(lambda: self.session.store("result", query))
            return
        self._engine(lambda: self.session.store("result_rows", query), reading=True)
        require_rows(Path(path), self.session.query("SELECT count(*) FROM result_rows")[0][0], records)
        self.session.view("result", f"SELECT *, rowid + {self.columns.row_offset} AS row FROM result_rows")
        self.parts = [("result_rows", f"rowid + {self.columns.row_offset}")]  # the tables under `result`

    @staticmethod
    def _engine(step: Callable[[], T], reading: bool = False) -> T:
        """`step`'s answer, or ColumnarUnavailable saying why the SQL engine could not do it (the
        per-record engine then decides). `reading`: the step reads the file, so an error may be
        DuckDB's refusal of the file itself."""
        try:
            return step()
        except ColumnarUnavailable:
            raise
        except Unsupported as exc:
            raise ColumnarUnavailable(f"SQL 引擎不支持本政策的{exc}") from None
        except Exception as exc:  # the engine's own error (an overflow …)
            if reading and ("CSV" in str(exc) or "unicode" in str(exc).lower()):
                raise ColumnarUnavailable(duckdb_refusal(exc)) from None
            raise ColumnarUnavailable(f"SQL 引擎无法计算（{str(exc).splitlines()[0]}）") from None

    def _retype(self, session: DuckSession, values: bool) -> bool:
        """In one scan a cell that is not tidy left its row not ok (its cells kept): those rows are
        evaluated again with such cells typed by Python (:func:`retype_rows`), into the table
        `result_again`, which takes their place in the view `result`. (Not an UPDATE: DuckDB moves
        a row whose list column is updated, and a row's place is its number.) False, doing nothing,
        when they are more than a quarter of the file: reading it the stored way is then faster."""
        first = self.columns
        again_rows = "cells IS NOT NULL AND NOT blank"
        if session.query(f"SELECT count(*) FROM result_rows WHERE {again_rows}")[0][0] > first.records // 4:
            return False
        again = retype_rows(session, self.checked, first, f"SELECT {self.row}, cells FROM result WHERE {again_rows}")
        if again is None:
            return True
        self.columns = again  # for result_query: the same columns, and `row`
        session.store("result_again", self.result_query(values))
        self.columns = replace(again, row_offset=first.row_offset, stored=[*first.stored, *again.stored])
        session.view("result", f"SELECT *, rowid + {first.row_offset} AS row FROM result_rows WHERE NOT ({again_rows}) "
                               "UNION ALL BY NAME SELECT * FROM result_again")  # fmt: skip
        self.parts.append(("result_again", self.row))
        return True

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
        # (Each test the checker proves needless for every student is left out: engine.check.amounts.)
        # An item left undecided by one blank fact alone (see _one_blank) is settled too: its problem
        # is worded by the evaluator from the fact SQL names (column miss_k).
        writer = SqlWriter(self.checked, semester, self.columns.field_column)
        settled, self.blanks = [], []
        for i, pid in enumerate(self.programs):
            facts = amount_facts(self.checked, self.checked.programs[pid].amount)
            exact = [] if facts.whole_fen else [f"raw{i} = round(raw{i}, 2)"]
            tests = [f"aw{i} IS NOT NULL"]
            tests += [] if facts.whole_fen else [f"(NOT aw{i} OR amt{i} = round(amt{i}, 2))"]
            tests += [] if facts.not_negative else [f"NOT (holds{i} AND raw{i} < 0)"]
            # (an amount known to be 0 or below, or finer than the fen, may decide or word it otherwise)
            amount_plain = f"(raw{i} IS NULL OR ({' AND '.join([f'raw{i} > 0', *exact])}))"
            self.blanks.append(self._one_blank(writer, ("program", pid), f"aw{i}", [amount_plain]))
            settled.append(f"({' AND '.join(tests)}) OR miss{len(self.blanks) - 1} IS NOT NULL")
        for j, cid in enumerate(self.checks):
            self.blanks.append(self._one_blank(writer, ("check", cid), f"fl{j}", []))
            settled.append(f"fl{j} IS NOT NULL OR miss{len(self.blanks) - 1} IS NOT NULL")
        settled += [f"NOT aw{i}" for i, pid in enumerate(self.programs) if programs[pid].quota is not None]
        identity = self.checked.role_field("identity_number")
        id_column = self.columns.field_column.get(identity or "", "''")
        if identity is not None and self.checked.fields[identity].field.format != "resident_id":
            # A clean line puts the ID in as it is: one JSON would escape goes to the per-record path.
            settled.append(f"NOT regexp_matches(coalesce({id_column}, ''), '[\\x00-\\x1f\"\\\\]')")
        clean = " AND ".join(["ok", *(f"({s})" for s in settled)])
        keep = self._outcome_columns()
        # A clean row's shape (see _shapes) as one 64-bit key: joining on it is far cheaper than on
        # every outcome column, and a collision between two shapes is detected, never trusted.
        shape = SHAPE_KEY.format(", ".join(keep)) if keep else "0"
        keep.append(f"CASE WHEN clean THEN {shape} END AS shape")
        if values:
            keep += list(self.columns.field_column.values())
        if self.reasons:
            keep += [f"why{i}" for i in range(len(self.programs))]
        # The cells of a row that is not clean, for the row reader: one list column (most rows have
        # none), far cheaper to store than a column per header.
        cells = f"list_value({', '.join(self.columns.raw_columns)})" if self.columns.raw_columns else "[]"
        keep.append(f"CASE WHEN NOT clean THEN {cells} END AS cells")
        if self.columns.row_offset is None:
            keep.append("row")
        # Each unique key still to check (see _unclean_duplicates), as a 64-bit hash.
        keep += [f"CASE WHEN NOT blank THEN hash({k}) END AS h{k}" for k in self.columns.keys]
        # The one blank fact of each item left undecided by it alone (see _one_blank), programs then
        # checks, as one list: NULL on every row that has none.
        names = [f"miss{k}" for k in range(len(self.blanks))]
        any_miss = " OR ".join(f"{name} IS NOT NULL" for name in names)
        listed = f"CASE WHEN {any_miss} THEN list_value({', '.join(names)}) END" if names else "CAST(NULL AS VARCHAR[])"
        misses = "".join(f", {sql} AS miss{k}" for k, sql in enumerate(self.blanks))
        return (f"SELECT blank, clean, coalesce({id_column}, '') AS id_number, {', '.join(keep)} "
                f"FROM (SELECT *, coalesce({clean}, FALSE) AS clean, {listed} AS misses FROM "
                f"(SELECT *{misses} FROM ({compiled.query})))")  # fmt: skip

    def _joins(self, query: str) -> bool:
        """Whether DuckDB's plan for `query` has a join or a cross product (which may emit rows in any
        order). DuckDB 2.0 draws them as `Hash Join`, `Cross Product` …; older ones in capitals."""
        assert isinstance(self.session, DuckSession)
        plan = self.session.plan(query).lower()
        return "join" in plan or "cross product" in plan or "cross_product" in plan

    def _unclean_duplicates(self, session: DuckSession) -> None:
        """Rows sharing a unique field's value (by its 64-bit hash; a collision only sends two rows to
        the row reader, which finds duplicates exactly) are not clean: the row reader judges them all,
        together. Those SQL settled as clean are read again from the file, by the row reader itself
        (one pass in Python, only for a file that has such rows)."""
        shared = " OR ".join(f"h{k} IN (SELECT h{k} FROM result WHERE h{k} IS NOT NULL "
                             f"GROUP BY h{k} HAVING count(*) > 1)" for k in self.columns.keys)  # fmt: skip
        rows = {row for (row,) in session.query(f"SELECT row FROM result WHERE clean AND ({shared})")}
        if not rows:
            return
        session.rows("shared_rows", [("row", "BIGINT")], [(row,) for row in sorted(rows)])
        for table, number in self.parts:  # (clean and shape are updated in place: no row moves)
            session.execute(f"UPDATE {table} SET clean = FALSE, shape = NULL "
                            f"WHERE {number} IN (SELECT row FROM shared_rows)")  # fmt: skip
        self.read_again = self.columns.file_rows(rows)

    def _one_blank(self, writer: SqlWriter, item: tuple[str, str], outcome: str, plain: list[str]) -> str:
        """SQL: the field id of the one blank fact that leaves `item` undecided, when nothing else can:
        NULL when it is decided, or may be undecided for another reason too. The evaluator then names
        exactly that fact (its problem names every blank fact the outcome rests on, a subset of those
        the item reads), provided that what the item reads holds exactly one blank, every program it
        reads is decided and nothing of it fails (:meth:`_may_fail`); `plain`: more such conditions
        (an amount)."""
        reads = self.checked.reads(item)
        fields = [f for f in self.checked.fields if ("field", f) in reads]
        if any(f not in self.columns.field_column for f in fields) or not fields:
            return "CAST(NULL AS VARCHAR)"
        kind, name = item
        if kind == "program" and self.checked.programs[name].priority is not None:
            return "CAST(NULL AS VARCHAR)"  # a ranking's problems are the per-record path's
        columns = [self.columns.field_column[f] for f in fields]
        one = " + ".join(f"CAST({c} IS NULL AS INTEGER)" for c in columns) + " = 1"
        tests = [one, *(f"aw{writer.program_index[p]} IS NOT NULL" for k, p in reads if k == "program")]
        for node in self._may_fail(item):  # a failure: every input known, yet no value
            if isinstance(node, ir.TableLookup):
                # A blank fallback key (学校) takes the fallback row where the other keys list no row of
                # their own, and a missing fallback row is then a failure: it does not count as known.
                fallback = writer.fallbacks.get(node.table)
                inputs = tuple(k for n, k in enumerate(node.keys) if fallback is None or n != fallback.position)
            else:
                inputs = (node.value, node.key, node.required)
            known = " AND ".join(f"{writer.expr(x)} IS NOT NULL" for x in inputs) or "TRUE"
            tests.append(f"NOT ({known} AND {writer.expr(node)} IS NULL)")
        which = " ".join(f"WHEN {c} IS NULL THEN {sql_string(f)}" for f, c in zip(fields, columns, strict=True))
        # Nested so that the tests run only on the rare undecided row: DuckDB evaluates a WHEN on every
        # row that reaches it, a THEN only on those it selects.
        tested = " AND ".join([*tests, *plain])
        return f"CASE WHEN {outcome} IS NULL THEN (CASE WHEN {tested} THEN (CASE {which} END) END) END"

    def _may_fail(self, item: tuple[str, str]) -> list[ir.TableLookup | ir.RequireKnown]:
        """Every node of `item` that can fail with its inputs known (a table lookup with no cell, a
        value outside a field's known ones), through the groups and computed fields it reads too."""
        owners = [item, *(r for r in self.checked.reads(item) if r[0] in ("group", "computed"))]
        roots = [e for owner in owners for e in self.checked.expressions(owner)]
        return [e for root in roots for e in ir.subexpressions(root) if isinstance(e, ir.TableLookup | ir.RequireKnown)]

    @property
    def reader(self) -> RecordReader:
        return self.columns.reader

    def _slow_outcomes(self) -> dict[int, Result | Rejected]:
        """Rows the per-record path decides (not settled by SQL), from their cells, by the row reader."""
        query = (f"SELECT {self.row}, cells FROM result WHERE NOT clean AND NOT blank AND cells IS NOT NULL "
                 f"ORDER BY {self.order}")  # fmt: skip
        rows = [(row, *cells) for row, cells in self.session.query(query)]
        table = self.columns.raw_table(rows, self.read_again)
        outcomes = self.evaluator.evaluate_all(RecordReader(self.checked, table))
        return {o.row: o for o in outcomes}

    def _settled(self, row: int, values: dict[str, Any], outcome: tuple[Any, ...], why: tuple[Any, ...] = ()) -> Result:
        """The Result of a clean row from its outcome columns (:meth:`_outcome_columns`) and, when
        asked for reasons, its reason columns (why0, why1 …)."""
        n, m = len(self.programs), len(self.checks)
        awarded = {pid: outcome[2 * i + 1] for i, pid in enumerate(self.programs) if outcome[2 * i]}
        flagged = {cid for j, cid in enumerate(self.checks) if outcome[2 * n + j]}
        missing = zip([*self.programs, *self.checks], outcome[2 * n + m] or (), strict=False)
        undecided = {item: field for item, field in missing if field is not None}
        denials = {pid: k for pid, k in zip(self.programs, why, strict=True) if k is not None} if why else None
        return self.evaluator.settled_result(row, values, awarded, flagged, denials, undecided)

    def _outcome_columns(self, prefix: str = "") -> list[str]:
        """aw0, amt0, aw1, amt1 …, fl0, fl1 …, then miss0, miss1 … (programs, then checks)."""
        return (
            [f"{prefix}aw{i}, {prefix}amt{i}" for i in range(len(self.programs))]
            + [f"{prefix}fl{j}" for j in range(len(self.checks))]
            + [f"{prefix}misses"]
        )

    @cached_property
    def shapes(self) -> list[tuple[int, int, tuple[Any, ...]]]:
        """(key, rows, outcome) of every shape of the clean rows: the outcome columns they share
        (aw0, amt0, aw1, amt1 …, fl0, fl1 …), how many rows have it, and its key (their `shape`
        column). Two shapes under one key would give a row another's line: never trusted, the file
        is then left to the per-record engine."""
        columns = ", ".join(["shape", *self._outcome_columns()])
        found = self.session.query(f"SELECT {columns}, count(*) FROM result WHERE clean GROUP BY {columns}")
        if len({row[0] for row in found}) != len(found):
            raise ColumnarUnavailable("两种结果的散列键相同")
        return [(row[0], row[-1], tuple(row[1:-1])) for row in found]

    def _shape_lines(self) -> tuple[str, str]:
        """Each shape's JSONL text, jsonl_line's own, cut at the row number and the ID: the part
        after the ID is stored per shape in the table `shape_lines` (key, idx, rest; idx numbers the
        shapes from 1); the two parts before, the same for every shape, are returned."""
        head = after_row = ""
        rests = []
        for idx, (key, _rows, outcome) in enumerate(self.shapes, start=1):
            result = self._settled(0, {}, outcome)
            result.row, result.id_number = _ROW_MARK, _ID_MARK
            line = jsonl_line(result)
            row_at, id_at = line.index(str(_ROW_MARK)), line.index(_ID_MARK)
            head, after_row = line[:row_at], line[row_at + len(str(_ROW_MARK)) : id_at]
            rests.append((key, idx, line[id_at + len(_ID_MARK) :]))
        self.session.rows("shape_lines", [("key", "UBIGINT"), ("idx", "BIGINT"), ("rest", "VARCHAR")], rests)
        return head, after_row

    def _slow_lines(self, ledger: Ledger) -> None:
        """The per-record path's lines, stored in the table `slow_lines` (row, line); counts every
        row, clean or not, into `ledger`."""
        slow = self._slow_outcomes()
        self._count_clean(ledger)
        for outcome in slow.values():  # in input order
            ledger.add(outcome)
        self.session.rows("slow_lines", [("row", "BIGINT"), ("line", "VARCHAR")],
                          [(row, jsonl_line(outcome)) for row, outcome in slow.items()])  # fmt: skip

    def _lines_sql(self, ledger: Ledger, first_line: str | None = None) -> str:
        """(row, line) of every row that is not blank, ordered as the file (`first_line`, when
        given, before them); counts every row into `ledger`. A clean row's line is its shape's
        text with its row number and ID put in; any other row's is the per-record path's.
        (Spark's way: on DuckDB, :meth:`_ordered_lines` does the same without sorting the lines.)"""
        self._slow_lines(ledger)
        head, after_row = self._shape_lines()
        clean_line = _clean_line(head, after_row, f"r.{self.row}", "r.id_number", "s.rest")
        # Joined on one key each, then sorted: rows keep the file's order whatever order the joins emit.
        lines = (f"SELECT r.{self.row} AS row, CASE WHEN r.clean THEN {clean_line} ELSE l.line END AS line "
                 "FROM result AS r LEFT JOIN shape_lines AS s ON s.key = r.shape "
                 f"LEFT JOIN slow_lines AS l ON l.row = r.{self.row} WHERE NOT r.blank")  # fmt: skip
        if first_line is not None:  # row 0: before every row of the file (the header is row 1 or below)
            lines = f"SELECT 0 AS row, {sql_string(first_line)} AS line UNION ALL {lines}"
        return f"SELECT row, line FROM ({lines}) ORDER BY row"

    def _ordered_lines(self, session: DuckSession, ledger: Ledger, first_line: str | None = None) -> str:
        """DuckDB: the query of every line (as :meth:`_lines_sql`: `first_line`, then one per row that
        is not blank, in file order), counting every row into `ledger`. Sorting the finished lines
        (257 MB for a million rows) costs about a second; here only the narrow rows are sorted, into
        the table `ordered` (row, clean, id_number, idx: the shape's number, line: a line made
        whole), and the lines are made from it by one query over that one table, which DuckDB
        guarantees keeps the table's order. A shape's text is looked up by its number in a list
        (the variable zizhu_rests), not joined: a join may emit rows in any order."""
        self._slow_lines(ledger)
        head, after_row = self._shape_lines()
        first = [] if first_line is None else [f"SELECT 0 AS row, FALSE AS clean, '' AS id_number, "
                                               f"NULL AS idx, {sql_string(first_line)} AS line UNION ALL"]  # fmt: skip
        session.store("ordered", " ".join([
            *first, f"SELECT r.{self.row} AS row, r.clean, r.id_number, s.idx, l.line FROM result AS r",
            "LEFT JOIN shape_lines AS s ON s.key = r.shape",
            f"LEFT JOIN slow_lines AS l ON l.row = r.{self.row} WHERE NOT r.blank ORDER BY row"]))  # fmt: skip
        session.variable("zizhu_rests", "SELECT coalesce(list(rest ORDER BY idx), []) FROM shape_lines")
        clean_line = _clean_line(head, after_row, "row", "id_number", "getvariable('zizhu_rests')[idx]")
        return f"SELECT CASE WHEN clean THEN {clean_line} ELSE line END AS line FROM ordered"

    def jsonl_lines(self, ledger: Ledger) -> Iterator[str]:
        """Every input row's JSONL line (without newline), in input order, counted into `ledger`."""
        if isinstance(self.session, DuckSession):
            for (line,) in self.session.stream(self._ordered_lines(self.session, ledger)):
                yield line
            return
        for _row, line in self.session.stream(self._lines_sql(ledger)):
            yield line

    def write_jsonl(self, output: str | None, ledger: Ledger, first_line: str) -> None:
        """`first_line`, then :meth:`jsonl_lines`, each ended by a newline, to the file `output`
        (whole or untouched: :func:`atomic_output`) or to standard output. On DuckDB the lines never
        pass through Python: DuckDB writes them, in input order, to the file itself, or to standard
        output when that is a pipe or a device (a file behind it gets a temporary file copied as bytes)."""
        if not isinstance(self.session, DuckSession):
            with text_output(output, "utf-8") as handle:
                handle.write(first_line + "\n")
                for line in self.jsonl_lines(ledger):
                    handle.write(line + "\n")
            return
        query = self._ordered_lines(self.session, ledger, first_line)
        if output is not None:
            with atomic_output(output) as path:
                self.session.write_lines(query, path)
            return
        if (device := stdout_device()) is not None:  # a pipe, /dev/null: DuckDB writes to it itself
            try:
                self.session.write_lines(query, device)
                return
            except PermissionError:  # opening /dev/stdout anew is refused to another user than its owner
                pass  # copied below
            except OSError as exc:  # a reader gone, a full device: said as Python says it of standard output
                raise OSError(exc.errno, exc.strerror) from None
        with tempfile.TemporaryDirectory(prefix="zizhu-") as folder:  # a file (> out.jsonl): copied as bytes
            path = os.path.join(folder, "lines.jsonl")
            self.session.write_lines(query, path)
            with open(path, "rb") as lines:
                shutil.copyfileobj(lines, sys.stdout.buffer, 1 << 22)
            sys.stdout.buffer.flush()

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
        n_outcomes = n_fields + 2 * len(self.programs) + len(self.checks) + 1  # aw_i, amt_i, fl_j, misses
        for row, clean, *cells in self.session.stream(query):
            if not clean:
                yield slow[row]
                continue
            values = {fid: cells[k] for k, (fid, _) in enumerate(fields)}
            yield self._settled(row, values, tuple(cells[n_fields:n_outcomes]), tuple(cells[n_outcomes:]))

    def _count_clean(self, ledger: Ledger) -> None:
        """The clean rows' part of the ledger, from their shapes (each shape's amounts times its rows)."""
        counts = BatchCounts(evaluated=sum(rows for _key, rows, _outcome in self.shapes))
        first_miss = 2 * len(self.programs) + len(self.checks)
        counts.with_errors = sum(rows for _key, rows, outcome in self.shapes if outcome[first_miss] is not None)
        n = len(self.programs)
        for i, pid in enumerate(self.programs):
            holders = [(rows, outcome[2 * i + 1]) for _key, rows, outcome in self.shapes if outcome[2 * i]]
            if holders:
                counts.awards[pid] = (sum(rows for rows, _ in holders), sum(rows * amount for rows, amount in holders))
        for j, cid in enumerate(self.checks):
            if flagged := sum(rows for _key, rows, outcome in self.shapes if outcome[2 * n + j]):
                counts.flags[cid] = flagged
        counts.add_to(ledger)
