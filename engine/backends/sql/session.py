"""Where the SQL runs: DuckDB in this process, or Spark (local or a cluster) through sqlglot.

The back end writes DuckDB's dialect; a :class:`SparkSession` translates each statement to Spark
SQL with sqlglot (one code generator, two engines). Only four things are asked of an engine:
a view, a stored result, a small table of rows from Python, and a query's rows.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from typing import Any, Protocol

from engine.backends.sql.literals import sql_string


class Session(Protocol):
    def view(self, name: str, sql: str) -> None: ...

    def store(self, name: str, sql: str) -> None: ...

    def rows(self, name: str, columns: list[tuple[str, str]], rows: list[tuple[Any, ...]]) -> None: ...

    def query(self, sql: str) -> list[tuple[Any, ...]]: ...

    def stream(self, sql: str) -> Iterator[tuple[Any, ...]]: ...


def duckdb_connection(threads: int | None = None) -> Any:
    """An in-memory DuckDB that never fetches an extension (Parquet and CSV are built into the wheel).
    DuckDB is imported here, when first used, so that commands that never run SQL do not load it."""
    import duckdb

    config: dict[str, Any] = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    if threads:
        config["threads"] = threads
    return duckdb.connect(":memory:", config=config)


class DuckSession:
    """DuckDB, embedded, in memory."""

    FETCH = 100_000

    def __init__(self, threads: int | None = None) -> None:
        self.con = duckdb_connection(threads)
        # No progress bar: DuckDB draws one on the terminal for a long query, among our output.
        self.con.execute("SET enable_progress_bar = false")
        # A long IN list is evaluated where it stands, not turned into a join: a query with a join may
        # emit rows in any order, and one without keeps a file's order (see files.columns).
        self.con.execute("SET disabled_optimizers = 'in_clause'")

    def view(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {sql}")

    def store(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")

    def drop(self, name: str) -> None:
        """A stored table no longer needed: its memory back (a million rows of text are ~400 MB)."""
        self.con.execute(f"DROP TABLE IF EXISTS {name}")

    def execute(self, sql: str) -> None:
        """A statement that returns nothing (an UPDATE)."""
        self.con.execute(sql)

    def plan(self, sql: str) -> str:
        """DuckDB's physical plan for a query, as EXPLAIN draws it."""
        return "\n".join(str(row[-1]) for row in self.con.execute(f"EXPLAIN {sql}").fetchall())

    def variable(self, name: str, sql: str) -> None:
        """A session variable (read by getvariable('name')) holding the one value `sql` returns."""
        self.con.execute(f"SET VARIABLE {name} = ({sql})")

    def rows(self, name: str, columns: list[tuple[str, str]], rows: list[tuple[Any, ...]]) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} ({', '.join(f'{c} {t}' for c, t in columns)})")
        if rows:  # one statement, each column a list parameter: executemany costs ~0.1 ms a row
            lists = [list(column) for column in zip(*rows, strict=True)]
            unnested = ", ".join(f"unnest(CAST(? AS {t}[]))" for _, t in columns)
            self.con.execute(f"INSERT INTO {name} SELECT {unnested}", lists)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        return self.con.execute(sql).fetchall()

    def stream(self, sql: str) -> Iterator[tuple[Any, ...]]:
        cursor = self.con.execute(sql)
        while batch := cursor.fetchmany(self.FETCH):
            yield from batch

    def write_lines(self, sql: str, path: str) -> None:
        """The one text column of `sql`'s rows written to `path` in the query's order, each followed by
        a newline, as they are: with QUOTE '' DuckDB's CSV writer neither quotes nor escapes (the text
        must hold no newline, which JSON text never does, and not be NULL). Straight to `path`, never
        to a temporary file beside it: `path` is new (atomic_output's) or a device (/dev/stdout).
        DuckDB's error opening or writing it (no OSError) is raised as the OSError Python would raise,
        so that a full disk or a closed pipe is said as for any other output."""
        import duckdb

        try:
            self.con.execute(f"COPY ({sql}) TO {sql_string(path)} "
                             "(FORMAT csv, HEADER false, QUOTE '', ESCAPE '', USE_TMP_FILE false)")  # fmt: skip
        except duckdb.IOException as exc:
            raise _os_error(str(exc), path) from None


def _os_error(text: str, path: str) -> OSError:
    """DuckDB's error on a file as the OSError Python would raise: its errno found by its words."""
    for number in (errno.EPIPE, errno.ENOSPC, errno.EACCES, errno.EIO):
        if os.strerror(number).lower() in text.lower():
            return OSError(number, os.strerror(number), path)
    return OSError(errno.EIO, text.splitlines()[0], path)
