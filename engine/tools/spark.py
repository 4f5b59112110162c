"""The same compiled policy on Spark SQL: local mode by default, a cluster with --spark-master.

Needs the optional extra: ``pip install 'zizhu[spark]'`` (pyspark; Java 17). Spark reads the CSV
or Parquet file — a local path, or any ``scheme://`` URI Spark can reach (``hdfs://``, ``s3a://``,
``file://`` …) that need not exist on the submitting machine — numbers its records in file order,
and runs the SQL of :mod:`engine.backends.sql.compile` translated by sqlglot from DuckDB's dialect;
rows SQL cannot settle go through the per-record path here, as on DuckDB (:mod:`engine.tools.bulk`),
so the output is the same bytes.

A URI's header is found on its first lines, read by Spark and copied to a local file, by the row
reader's own rules (title rows above it, required columns); what the row reader checks over the
whole file (blank lines, cells spanning lines, rows of the wrong width, bytes that are not UTF-8,
spaces around a quoted cell) Spark counts as small aggregates. The output can be written by Spark
as a folder of part files (:meth:`SparkRun.write_jsonl_folder`, :meth:`SparkRun.write_parquet_folder`):
rows are then never collected to the driver, except those the per-record path decides.
"""

from __future__ import annotations

import atexit
import csv
import io
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.backends.sql.literals import sql_string
from engine.check.checked import CheckedPolicy
from engine.files.columns import ColumnarUnavailable
from engine.files.readers import HEADER_SEARCH_ROWS, InputError, read_table
from engine.files.records import RecordReader, header_test, numeric_id_header
from engine.files.report import denial_text
from engine.files.writers import parquet_columns, parquet_row
from engine.policy.model import Period
from engine.tools.bulk import BulkRun
from engine.tools.ledger import Ledger

# The rest (BOOLEAN, BIGINT, DATE, DECIMAL(p,s)) are spelled alike; a shape key is Spark's xxhash64 (BIGINT).
_SPARK_TYPES = {"VARCHAR": "STRING", "UBIGINT": "BIGINT"}
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
# monotonically_increasing_id(): the partition's index above bit 33, the record's place in it below.
_PLACE_BITS = 33
# A space before a cell's opening quote or after its closing one (see columns._spaced_quote).
_SPACED_QUOTE = r'(^|,) +"|" +(,|$)'


def is_uri(path: str) -> bool:
    """A `scheme://…` address (hdfs://, s3a://, abfs://, file:// …): only Spark reads or writes it."""
    return _URI.match(path) is not None


def _local_copy(name: str, lines: list[str]) -> Path:
    """`lines` as a UTF-8 file called `name` in a temporary folder removed when zizhu exits."""
    folder = Path(tempfile.mkdtemp(prefix="zizhu-spark-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    target = folder / name
    target.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return target


class SparkSession:
    """A Spark session running the back end's SQL (written for DuckDB) through sqlglot."""

    def __init__(self, master: str | None = None) -> None:
        try:
            from pyspark.sql import SparkSession as Builder
        except ImportError:
            raise ColumnarUnavailable("未安装 Spark：pip install 'zizhu[spark]'") from None
        from pyspark import SparkConf

        builder = Builder.builder
        # Under spark-submit the master is already set (--master): kept unless --spark-master is given.
        if master or not SparkConf().contains("spark.master"):
            builder = builder.master(master or "local[*]")
        shared = (
            builder.appName("zizhu")
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
        if self.spark.sparkContext.master.startswith("local"):
            # One machine: a shuffle into Spark's default 200 partitions is 200 tiny tasks per join.
            self.spark.conf.set("spark.sql.shuffle.partitions", str(self.spark.sparkContext.defaultParallelism))

    @staticmethod
    def spark_sql(sql: str) -> str:
        import sqlglot  # here, not at the top: the command line imports is_uri without Spark's needs

        return sqlglot.parse_one(sql, read="duckdb").transform(_spark_hash).sql(dialect="spark")

    def frame(self, sql: str) -> Any:
        """A Spark DataFrame of a query written for DuckDB."""
        return self.spark.sql(self.spark_sql(sql))

    def view(self, name: str, sql: str) -> None:
        self.frame(sql).createOrReplaceTempView(name)

    def store(self, name: str, sql: str) -> None:
        self.frame(sql).cache().createOrReplaceTempView(name)

    def rows(self, name: str, columns: list[tuple[str, str]], rows: list[tuple[Any, ...]]) -> None:
        self.spark.createDataFrame(rows, self.schema(columns)).createOrReplaceTempView(name)

    @staticmethod
    def schema(columns: list[tuple[str, str]]) -> str:
        return ", ".join(f"`{c}` {_SPARK_TYPES.get(t, t)}" for c, t in columns)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.frame(sql).collect()]

    def stream(self, sql: str) -> Iterator[tuple[Any, ...]]:
        for r in self.frame(sql).toLocalIterator():
            yield tuple(r)

    def numbered(self, frame: Any, first_row: int, keep: bool = False) -> Any:
        """`frame` (a file as read) with ``_row``: its records numbered in file order from `first_row`.
        Each partition's records are counted (one small row per partition, collected), and each
        record numbered by the records of the partitions before it and its place in its own: no
        window over the whole file, which would gather it onto one executor. `keep`: cached as read
        (by the count), for the queries that read it again."""
        from pyspark.sql import functions

        frame = frame.withColumn("_seq", functions.monotonically_increasing_id())
        if keep:
            frame = frame.cache()
        frame = frame.withColumn("_part", functions.shiftright("_seq", _PLACE_BITS))
        counts = sorted(tuple(r) for r in frame.groupBy("_part").count().collect())
        starts, before = [], 0
        for part, count in counts:
            starts.append((part, before + first_row))
            before += count
        start = self.spark.createDataFrame(starts, "_part BIGINT, _start BIGINT")
        place = functions.col("_seq").bitwiseAND((1 << _PLACE_BITS) - 1)
        return (frame.join(functions.broadcast(start), "_part")
                .withColumn("_row", functions.col("_start") + place).drop("_seq", "_part", "_start"))  # fmt: skip

    def first_lines(self, path: str, count: int) -> list[str]:
        """The file's first `count` lines (without line ends), as Spark reads text (UTF-8)."""
        return [r[0] for r in self.spark.read.text(path).take(count)]

    def check_text(self, path: str, header_row: int) -> tuple[int, int]:
        """What the row reader would read otherwise than Spark's CSV reader, found on the file's lines
        (numbered from 1): raises ColumnarUnavailable naming the first such line. Returns the number
        of CSV records Spark must read (its lines that are not empty: Spark skips those) and of
        empty lines above the header (line `header_row`)."""
        from pyspark.sql import functions

        text = self.numbered(self.spark.read.text(path), 1)
        line, row = functions.regexp_replace("value", "\r$", ""), functions.col("_row")
        facts = text.agg(
            functions.max(functions.when(line != "", row)),
            functions.count(functions.when(line != "", row)),
            functions.count(functions.when((line == "") & (row < header_row), row)),
            functions.min(functions.when((line == "") & (row > header_row), row)),
            functions.min(functions.when(functions.instr("value", "\ufffd") > 0, row)),
            functions.min(functions.when(line.rlike(_SPACED_QUOTE), row)),
        ).collect()[0]
        last, records, blank_above, blank, undecodable, spaced = facts
        if undecodable is not None:
            raise ColumnarUnavailable(f"第 {undecodable} 行不是 UTF-8 编码（Spark 只按 UTF-8 读取；"
                                      "请在 Excel/WPS 中另存为「CSV UTF-8（逗号分隔）」）")  # fmt: skip
        if blank is not None and blank < (last or 0):
            raise ColumnarUnavailable(f"第 {blank} 行是空行（Spark 读 CSV 时跳过空行，其后的行号会错；请删去空行）")
        if spaced is not None:
            raise ColumnarUnavailable(f'第 {spaced} 行有单元格在引号 " 外另有空格'
                                      "（Spark 与逐行读取的读法不同；请删去这些空格）")  # fmt: skip
        return records, blank_above

    def read_csv(
        self, path: str, columns: list[str], header_row: int = 1, records: int | None = None, blank_above: int = 0
    ) -> str:
        """The CSV's records below its header (line `header_row`, with `blank_above` empty lines above
        it, which Spark skips) as the view ``spark_file``, cells as text, ``_row`` numbering them as a
        spreadsheet does. A record of more or fewer cells than the header, or fewer `records` than
        expected (a cell spanning lines), raises ColumnarUnavailable."""
        from pyspark.sql import functions, types

        schema = types.StructType([types.StructField(c, types.StringType()) for c in [*columns, "_bad"]])
        frame = self.spark.read.csv(path, schema=schema, header=False, multiLine=True, quote='"', escape='"',
                                    mode="PERMISSIVE", columnNameOfCorruptRecord="_bad", encoding="UTF-8",
                                    ignoreLeadingWhiteSpace=False, ignoreTrailingWhiteSpace=False)  # fmt: skip
        frame = self.numbered(frame, 1 + blank_above, keep=True)  # read once: the checks, then every query
        row = functions.col("_row")
        facts = frame.agg(
            functions.count(functions.lit(1)),
            functions.min(functions.when(functions.col("_bad").isNotNull() & (row > header_row), row)),
        ).collect()[0]
        read, ragged = facts
        if records is not None and read != records:
            raise ColumnarUnavailable(f"Spark 读到 {read} 条记录，而文件有 {records} 行：有单元格跨行"
                                      '（多半是一个没有配对的引号 "；请检查引号）')  # fmt: skip
        if ragged is not None:
            raise ColumnarUnavailable(f"第 {ragged} 行的格子数与列标题不同（{len(columns)} 个）")
        frame.filter(row > header_row).drop("_bad").createOrReplaceTempView("spark_file")
        return "spark_file"

    def parquet_schema(self, path: str) -> list[tuple[str, str]]:
        """(name, Spark type) of each column of a Parquet file (read from its footer by Spark)."""
        return [(f.name, f.dataType.simpleString()) for f in self.spark.read.parquet(path).schema.fields]

    def read_parquet(self, path: str) -> str:
        """The Parquet file as a view of its cells' text (c0, c1 … in column order) numbering its
        records as the row reader does (record n is row n + 1)."""
        from pyspark.sql import functions

        frame = self.spark.read.parquet(path)
        frame = frame.select(*[functions.col(f"`{name}`").cast("string").alias(f"c{i}")
                               for i, name in enumerate(frame.columns)])  # fmt: skip
        self.numbered(frame, 2).createOrReplaceTempView("spark_file")
        return "spark_file"

    def exists(self, path: str) -> bool:
        """Whether a file or folder is at `path`, on the file system Spark resolves it to."""
        jvm = self.spark.sparkContext._jvm
        target = jvm.org.apache.hadoop.fs.Path(path)
        return bool(target.getFileSystem(self.spark.sparkContext._jsc.hadoopConfiguration()).exists(target))


class SparkRun(BulkRun):
    """A file evaluated on Spark (see the module's description)."""

    def __init__(
        self, checked: CheckedPolicy, period: Period, path: Path | str, encoding: str | None = None,
        values: bool = False, master: str | None = None, reasons: bool = False,
    ) -> None:  # fmt: skip
        session = SparkSession(master)
        self.spark_session = session
        path = str(path)
        titles: list[str] = []  # the reader's warning about title rows above a URI's header
        local: Path | None = None  # the file the column reader reads its header from
        try:
            if Path(path).suffix.lower() == ".parquet":
                columns = session.parquet_schema(path)
                if header := numeric_id_header(checked, columns):
                    raise ColumnarUnavailable(f"「{header}」列是数字类型")
                source = session.read_parquet(path)
                # The column reader takes its headers from a CSV: one holding the Parquet file's header only.
                local = _local_copy(Path(path).stem + ".csv", [_csv_line([name for name, _ in columns])])
            elif is_uri(path):
                local, headers, header_row, titles = self._head(session, checked, path, encoding)
                records, blank_above = session.check_text(path, header_row)
                cells = [f"c{i}" for i in range(len(headers))]
                source = session.read_csv(path, cells, header_row, records, blank_above)
            else:
                headers = read_table(path, encoding=encoding).headers
                source = session.read_csv(path, [f"c{i}" for i in range(len(headers))])
            super().__init__(checked, period, local or path, encoding, values, session, source, row_column="raw._row",
                             reasons=reasons)  # fmt: skip
        except InputError as exc:  # the row reader's words about a local copy: name the file itself
            if local is None:
                raise
            raise InputError(str(exc).replace(str(local), path), exc.code) from None
        except Exception as exc:
            from pyspark.errors import AnalysisException

            if not isinstance(exc, AnalysisException):
                raise
            condition = getattr(exc, "getCondition", exc.getErrorClass)()  # getCondition from pyspark 4
            if condition == "PATH_NOT_FOUND":
                raise InputError(f"{path}: 找不到文件", "no-file") from None
            raise InputError(f"{path}: Spark 无法读取（{str(exc).splitlines()[0]}）", "spark-unreadable") from None
        self.reader.table.warnings[:0] = titles

    @staticmethod
    def _head(
        session: SparkSession, checked: CheckedPolicy, path: str, encoding: str | None
    ) -> tuple[Path, list[str], int, list[str]]:
        """A URI's header found on its first lines as the row reader finds it (title rows above it,
        every column the rules read present — else InputError, as for a local file): a local copy of
        those lines from the header on, the headers, the header's line and the reader's warning
        about title rows."""
        if encoding is not None and encoding.lower().replace("_", "-") not in ("utf-8", "utf8", "utf-8-sig"):
            raise InputError(f"{path}: Spark 只按 UTF-8 读取，不能按 {encoding} 读；请另存为「CSV UTF-8（逗号分隔）」",
                             "bad-encoding")  # fmt: skip
        name = Path(path).name or "students.csv"
        lines = session.first_lines(path, HEADER_SEARCH_ROWS + 1)
        if not lines:
            raise InputError(f"{path}: 文件是空的，第 1 行应为列标题", "empty-file")
        head = _local_copy(name, lines)
        try:
            table = read_table(head, is_header=header_test(checked))
            RecordReader(checked, table)  # the required columns, checked by the row reader's rules
        except InputError as exc:
            raise InputError(str(exc).replace(str(head), path), exc.code) from None
        warnings = [w.replace(str(head), path) for w in table.warnings]
        return _local_copy(name, lines[table.header_row - 1 :]), table.headers, table.header_row, warnings

    def write_jsonl_folder(self, folder: str, header: str, ledger: Ledger) -> None:
        """Spark writes the JSONL as a folder of part files: `header` (the decision record), then every
        row's line, in input order across the parts by name. ``part-*`` concatenated in name order is
        the file ``--format jsonl`` writes, byte for byte. Counts every row into `ledger`."""
        from pyspark.sql import functions

        lines = self.spark_session.frame(self._lines_sql(ledger)).select("row", "line")
        first = self.spark_session.spark.createDataFrame([(0, header)], "row BIGINT, line STRING")
        written = first.unionByName(lines).orderBy("row").select("line")
        written.select(functions.col("line").alias("value")).write.text(folder)

    def write_parquet_folder(self, folder: str, ledger: Ledger) -> None:
        """Spark writes ``eval -o x.parquet``'s columns (:func:`parquet_columns`), one row per input row
        in input order, as a folder of part files (their key-value metadata is Spark's own, without
        the decision record). A clean row's cells are its shape's, made once by the writer's own
        :func:`parquet_row`, with its row, ID, name and reasons put in; every other row's are the
        per-record path's. Counts every row into `ledger`. Needs a run made with reasons."""
        from pyspark.sql import functions

        session, checked = self.spark_session, self.checked
        slow = self._slow_outcomes()
        self._count_clean(ledger)
        for outcome in slow.values():
            ledger.add(outcome)
        columns = parquet_columns(checked)
        staged = [(name, "VARCHAR" if name.startswith("award_") else kind) for name, kind in columns]
        session.rows("slow_rows", staged, [tuple(parquet_row(checked, o)) for o in slow.values()])
        # Of each shape: status, award_*, flag_*, errors (the reasons are a row's own: why_i).
        n = len(checked.program_order)
        shared = [*range(3, 4 + n), *range(4 + 2 * n, len(columns))]
        shapes = [(key, *(cells[k] for k in shared))
                  for key, _rows, outcome in self.shapes
                  for cells in [parquet_row(checked, self._settled(0, {}, outcome))]]  # fmt: skip
        session.rows("parquet_shapes", [("key", "UBIGINT"), *(staged[k] for k in shared)], shapes)
        program = {pid: i for i, pid in enumerate(self.programs)}
        name_column = self.columns.field_column.get(checked.role_field("name") or "")
        cells = {name: f"s.{name}" for name, _ in columns}
        cells.update({"row": "r.row", "id_number": "r.id_number", "name": f"coalesce(r.{name_column}, '')"
                      if name_column else "''"})  # fmt: skip
        cells.update({f"reason_{pid}": self._reason_sql(program[pid]) for pid in checked.program_order})
        clean = ", ".join(f"{cell} AS {name}" for name, cell in cells.items())
        query = (f"SELECT {clean} FROM result AS r JOIN parquet_shapes AS s ON s.key = r.shape WHERE r.clean "
                 "UNION ALL SELECT * FROM slow_rows")  # fmt: skip
        typed = [functions.col(f"`{name}`").cast(_SPARK_TYPES.get(kind, kind)).alias(name) for name, kind in columns]
        session.frame(query).orderBy("row").select(*typed).write.parquet(folder)

    def _reason_sql(self, i: int) -> str:
        """SQL: a clean row's words for why program `i` was not awarded (the evaluator's Denial for
        its reason number, why_i; NULL when awarded). Each reason the file's rows give is worded once."""
        if not self.reasons:
            raise ValueError("a Parquet folder needs a run made with reasons=True")
        pid = self.programs[i]
        found = self.spark_session.query(f"SELECT DISTINCT why{i} FROM result WHERE clean AND why{i} IS NOT NULL")
        cases = []
        for (k,) in sorted(found):
            (denial,) = self.evaluator.settled_result(0, {}, {}, (), {pid: k}).denials
            cases.append(f"WHEN {int(k)} THEN {sql_string(denial_text(denial))}")
        return f"CASE r.why{i} {' '.join(cases)} END" if cases else "CAST(NULL AS VARCHAR)"


def _spark_hash(node: Any) -> Any:
    """DuckDB's hash(a, b …) (a clean row's shape key, bulk.SHAPE_KEY) as a 64-bit hash Spark computes
    alike for equal values and apart for different ones. Spark's own hash() is 32 bits and skips a
    NULL argument — (NULL, 5) and (5, NULL) would share a key —; the JSON of the values, named,
    keeps every NULL apart."""
    from sqlglot import exp

    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "hash":
        fields = [exp.Alias(this=arg, alias=exp.to_identifier(f"k{i}")) for i, arg in enumerate(node.expressions)]
        as_json = exp.Anonymous(this="to_json", expressions=[exp.Anonymous(this="struct", expressions=fields)])
        return exp.Anonymous(this="xxhash64", expressions=[as_json])
    return node


def _csv_line(cells: list[str]) -> str:
    """One CSV line of `cells` (quoted where needed), without its line end."""
    text = io.StringIO()
    csv.writer(text, lineterminator="").writerow(cells)
    return text.getvalue()
