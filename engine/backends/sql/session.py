"""Where the SQL runs: DuckDB in this process, or Spark (local or a cluster) through sqlglot.

The back end writes DuckDB's dialect; a :class:`SparkSession` translates each statement to Spark
SQL with sqlglot (one code generator, two engines). Only four things are asked of an engine:
a view, a stored result, a small table of rows from Python, and a query's rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import duckdb


class Session(Protocol):
    def view(self, name: str, sql: str) -> None: ...

    def store(self, name: str, sql: str) -> None: ...

    def rows(self, name: str, columns: list[tuple[str, str]], rows: list[tuple[Any, ...]]) -> None: ...

    def query(self, sql: str) -> list[tuple[Any, ...]]: ...

    def stream(self, sql: str) -> Iterator[tuple[Any, ...]]: ...


class DuckSession:
    """DuckDB, embedded, in memory."""

    FETCH = 100_000

    def __init__(self, threads: int | None = None) -> None:
        self.con = duckdb.connect(":memory:", config={"threads": threads} if threads else {})

    def view(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {sql}")

    def store(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")

    def rows(self, name: str, columns: list[tuple[str, str]], rows: list[tuple[Any, ...]]) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} ({', '.join(f'{c} {t}' for c, t in columns)})")
        self.con.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' for _ in columns)})", rows)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        return self.con.execute(sql).fetchall()

    def stream(self, sql: str) -> Iterator[tuple[Any, ...]]:
        cursor = self.con.execute(sql)
        while batch := cursor.fetchmany(self.FETCH):
            yield from batch


Error = duckdb.Error
