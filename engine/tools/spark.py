"""The same compiled policy on Spark SQL: local mode by default, a cluster with --spark-master.

Needs the optional extra: ``pip install 'zizhu[spark]'`` (pyspark; Java 17). Spark reads the CSV
or Parquet file (at a path the submitting machine and every executor can reach: zizhu reads a
CSV's header and checks its shape itself), numbers its records in file order, and
runs the SQL of :mod:`engine.backends.sql.compile` translated by sqlglot from DuckDB's dialect;
rows SQL cannot settle go through the per-record path here, as on DuckDB
(:mod:`engine.tools.bulk`), so the output is the same bytes.
"""

from __future__ import annotations

import atexit
import csv
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlglot

from engine.check.checked import CheckedPolicy
from engine.files.columns import ColumnarUnavailable
from engine.files.readers import read_table
from engine.files.records import numeric_id_header
from engine.policy.model import Period
from engine.tools.bulk import BulkRun

_SPARK_TYPES = {"VARCHAR": "STRING"}  # the rest (BOOLEAN, BIGINT, DATE, DECIMAL(p,s)) are spelled alike


class SparkSession:
    """A Spark session running the back end's SQL (written for DuckDB) through sqlglot."""

    def __init__(self, master: str | None = None) -> None:
        try:
            from pyspark.sql import SparkSession as Builder
        except ImportError:
            raise ColumnarUnavailable("未安装 Spark：pip install 'zizhu[spark]'") from None
        shared = (
            Builder.builder.master(master or "local[*]")
            .appName("zizhu")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .getOrCreate()
        )
        shared.sparkContext.setLogLevel("ERROR")
        # A session of its own (one Spark context): two files read at once — followup's two rosters,
        # diff's two versions — each keep their views (raw_file, result …) apart.
        self.spark = shared.newSession()
        # Exact decimals: never trade scale for precision (the default rounds instead).
        self.spark.conf.set("spark.sql.decimalOperations.allowPrecisionLoss", "false")
        self.spark.conf.set("spark.sql.session.timeZone", "UTC")

    @staticmethod
    def spark_sql(sql: str) -> str:
        return sqlglot.transpile(sql, read="duckdb", write="spark")[0]

    def view(self, name: str, sql: str) -> None:
        self.spark.sql(self.spark_sql(sql)).createOrReplaceTempView(name)

    def store(self, name: str, sql: str) -> None:
        frame = self.spark.sql(self.spark_sql(sql)).cache()
        frame.createOrReplaceTempView(name)

    def rows(self, name: str, columns: list[tuple[str, str]], rows: list[tuple[Any, ...]]) -> None:
        schema = ", ".join(f"{c} {_SPARK_TYPES.get(t, t)}" for c, t in columns)
        self.spark.createDataFrame(rows, schema).createOrReplaceTempView(name)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.spark.sql(self.spark_sql(sql)).collect()]

    def stream(self, sql: str) -> Iterator[tuple[Any, ...]]:
        for r in self.spark.sql(self.spark_sql(sql)).toLocalIterator():
            yield tuple(r)

    def read_csv(self, path: str, columns: list[str]) -> str:
        """The CSV as a view numbering its records as a spreadsheet does (header = row 1)."""
        from pyspark.sql import functions, types
        from pyspark.sql.window import Window

        schema = types.StructType([types.StructField(c, types.StringType()) for c in columns])
        frame = self.spark.read.csv(path, schema=schema, header=True, multiLine=True, quote='"', escape='"',
                                    mode="FAILFAST", encoding="UTF-8", ignoreLeadingWhiteSpace=False,
                                    ignoreTrailingWhiteSpace=False, enforceSchema=True)  # fmt: skip
        # Record order: the id grows with the file's splits and the position in each.
        frame = frame.withColumn("_seq", functions.monotonically_increasing_id())
        frame = frame.withColumn("_row", functions.row_number().over(Window.orderBy("_seq")) + 1).drop("_seq")
        frame.createOrReplaceTempView("spark_file")
        return "spark_file"

    def parquet_schema(self, path: str) -> list[tuple[str, str]]:
        """(name, Spark type) of each column of a Parquet file (read from its footer by Spark)."""
        return [(f.name, f.dataType.simpleString()) for f in self.spark.read.parquet(path).schema.fields]

    def read_parquet(self, path: str) -> str:
        """The Parquet file as a view of its cells' text (c0, c1 … in column order) numbering its
        records as the row reader does (record n is row n + 1)."""
        from pyspark.sql import functions
        from pyspark.sql.window import Window

        frame = self.spark.read.parquet(path)
        frame = frame.select(*[functions.col(f"`{name}`").cast("string").alias(f"c{i}")
                               for i, name in enumerate(frame.columns)])  # fmt: skip
        frame = frame.withColumn("_seq", functions.monotonically_increasing_id())
        frame = frame.withColumn("_row", functions.row_number().over(Window.orderBy("_seq")) + 1).drop("_seq")
        frame.createOrReplaceTempView("spark_file")
        return "spark_file"


class SparkRun(BulkRun):
    """A file evaluated on Spark (see the module's description)."""

    def __init__(
        self, checked: CheckedPolicy, period: Period, path: Path | str, encoding: str | None = None,
        values: bool = False, master: str | None = None, reasons: bool = False,
    ) -> None:  # fmt: skip
        session = SparkSession(master)
        if Path(path).suffix.lower() == ".parquet":
            columns = session.parquet_schema(str(path))
            if header := numeric_id_header(checked, columns):
                raise ColumnarUnavailable(f"「{header}」列是数字类型")
            source = session.read_parquet(str(path))
            # The column reader takes its headers from a CSV: one holding the Parquet file's header only.
            folder = Path(tempfile.mkdtemp(prefix="zizhu-spark-"))
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            header_only = folder / (Path(path).stem + ".csv")
            with header_only.open("w", encoding="utf-8", newline="") as handle:
                csv.writer(handle, lineterminator="\n").writerow([name for name, _ in columns])
            path = header_only
        else:
            headers = read_table(path, encoding=encoding).headers
            source = session.read_csv(str(path), [f"c{i}" for i in range(len(headers))])
        super().__init__(checked, period, path, encoding, values, session, source, row_column="raw._row",
                         reasons=reasons)  # fmt: skip
