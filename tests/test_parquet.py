"""Parquet in and out: a student file in Parquet reads as the same students as its CSV, on the
per-record engine and on DuckDB alike (byte-identical output); an ID column typed as a number is
rejected row by row; a damaged file stops with its name (exit 2); `eval -o 结果.parquet` writes one
row per student with money as DECIMAL(18,2)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from engine.backends.sql.literals import sql_string
from engine.cli import main
from engine.files.readers import duckdb_connection, parquet_columns
from tests.test_sql_engine import write_messy

ROOT = Path(__file__).resolve().parent.parent
POLICY = ["--policy", str(ROOT / "policies" / "2021"), "--period", "2021-autumn"]
EXAMPLE = ROOT / "examples" / "students-2021.csv"


def _zizhu(*arguments: object) -> tuple[int, str, str]:
    done = CliRunner().invoke(main, [str(a) for a in arguments])
    assert done.exception is None or isinstance(done.exception, SystemExit), done.exception
    return done.exit_code, done.stdout, done.stderr


def _to_parquet(csv_path: Path, target: Path, select: str = "*") -> Path:
    """The CSV as Parquet: every cell as text, or `select` over those texts (typed columns)."""
    con = duckdb.connect()
    # Stored first: a TRY_CAST straight over read_csv is pushed into the CSV reader, which then fails.
    con.execute(f"CREATE TABLE cells AS SELECT * FROM read_csv({sql_string(str(csv_path))}, all_varchar=true)")
    con.execute(f"COPY (SELECT {select} FROM cells) TO {sql_string(str(target))} (FORMAT parquet)")
    return target


# Columns as a data warehouse would type them; the mess that does not fit a type becomes NULL (blank).
TYPED = """* EXCLUDE (年级, 出生日期, 申请贷款金额, 本县户籍),
    TRY_CAST(年级 AS INTEGER) AS 年级, TRY_CAST(出生日期 AS DATE) AS 出生日期,
    TRY_CAST(申请贷款金额 AS DECIMAL(12,2)) AS 申请贷款金额,
    CASE 本县户籍 WHEN '是' THEN TRUE WHEN '否' THEN FALSE END AS 本县户籍"""


def test_parquet_reads_as_its_csv(tmp_path) -> None:
    csv_path = write_messy(tmp_path / "students.csv", 1500, seed=31, blanks=True)
    parquet = _to_parquet(csv_path, tmp_path / "students.parquet")
    from_csv = _zizhu("eval", csv_path, *POLICY, "--format", "jsonl", "--engine", "python")
    from_parquet = _zizhu("eval", parquet, *POLICY, "--format", "jsonl", "--engine", "python")
    assert from_parquet[:2] == from_csv[:2]
    assert from_csv[0] == 1 and '"rejected"' in from_csv[1]  # bad IDs and duplicates reached the reader


@pytest.mark.parametrize("select", ["*", TYPED], ids=["text", "typed"])
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_duckdb_and_python_read_parquet_alike(tmp_path, select, fmt) -> None:
    csv_path = write_messy(tmp_path / "students.csv", 2000, seed=32, blanks=True)
    parquet = _to_parquet(csv_path, tmp_path / "students.parquet", select)
    python = _zizhu("eval", parquet, *POLICY, "--format", fmt, "--engine", "python")
    duck = _zizhu("eval", parquet, *POLICY, "--format", fmt, "--engine", "duckdb")
    assert duck == python
    assert "逐行计算" not in duck[2]  # DuckDB ran it (it says so when it hands a file to the row reader)
    assert python[0] == 1


def test_a_typed_parquet_reads_its_numbers_and_dates(tmp_path) -> None:
    """高建 (row 2 of the example): 初中, 脱贫户, 走读 — 非寄宿生生活补助 初中 625 元/生·学年, so
    312.50 a semester (一(二)2(2)), whether 年级 and 出生日期 are text or typed columns."""
    parquet = _to_parquet(EXAMPLE, tmp_path / "typed.parquet", TYPED)
    kinds = dict(parquet_columns(parquet))
    assert kinds["年级"] == "INTEGER" and kinds["出生日期"] == "DATE" and kinds["本县户籍"] == "BOOLEAN"
    _, out, _ = _zizhu("eval", parquet, *POLICY, "--format", "jsonl", "--engine", "python")
    first = json.loads(out.splitlines()[1])
    assert (first["row"], first["id_number"]) == (2, "141129200805015880")
    assert first["awards"][0]["program"] == "day_subsidy" and first["awards"][0]["amount"] == "312.50"


def test_an_id_column_typed_as_a_number_rejects_each_row_in_parquets_words(tmp_path) -> None:
    """DECIMAL: a number, not an ID's digits (an exact BIGINT is read as its digits, as a JSON integer is)."""
    parquet = _to_parquet(EXAMPLE, tmp_path / "ids.parquet",
                          "* REPLACE (TRY_CAST(身份证号 AS DECIMAL(18,0)) AS 身份证号)")  # fmt: skip
    python = _zizhu("eval", parquet, *POLICY, "--format", "jsonl", "--engine", "python")
    duck = _zizhu("eval", parquet, *POLICY, "--format", "jsonl", "--engine", "duckdb")
    assert duck[:2] == python[:2]
    assert "数字类型" in duck[2] and "逐行计算" in duck[2]  # the DuckDB engine said why it did not run
    rows = [json.loads(line) for line in python[1].splitlines()[1:]]
    assert len(rows) == 320  # the example's 320 students, each still there
    # Every ID the cast kept (those ending in X became blank: the required ID is missing) is a number.
    numbers = [r for r in rows if any(e["code"] == "id-as-number" for e in r["errors"])]
    assert numbers and all(r["status"] == "rejected" for r in numbers)
    assert "Parquet" in numbers[0]["errors"][0]["message"] and "Excel" not in numbers[0]["errors"][0]["message"]
    assert python[0] == 1


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_a_damaged_parquet_stops_with_its_name(tmp_path, engine) -> None:
    whole = _to_parquet(EXAMPLE, tmp_path / "whole.parquet").read_bytes()
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(whole[: len(whole) // 2])  # truncated: the footer is gone
    code, out, err = _zizhu("eval", cut, *POLICY, "--format", "jsonl", "--engine", engine)
    assert code == 2 and out == ""
    assert "cut.parquet" in err and "Parquet" in err and "Traceback" not in err


def test_eval_writes_parquet_one_row_per_student(tmp_path) -> None:
    target = tmp_path / "结果.parquet"
    code, _, err = _zizhu("eval", EXAMPLE, *POLICY, "-o", target)
    assert code == 1  # the example has 3 rows with problems on purpose
    con = duckdb_connection()
    columns = dict(parquet_columns(target))
    assert list(columns)[:4] == ["row", "id_number", "name", "status"]
    assert columns["award_day_subsidy"] == "DECIMAL(18,2)" and columns["flag_not_in_school"] == "BOOLEAN"
    rows = con.execute(f"SELECT row, id_number, status, award_day_subsidy, award_national_grant, errors "
                       f"FROM {sql_string(str(target))} ORDER BY row").fetchall()  # fmt: skip
    assert len(rows) == 320 and [r[0] for r in rows] == list(range(2, 322))  # rows in = rows out, in order
    # 高建: 312.50 (初中 625 a year, half a semester, 一(二)2(2)); not a 国家助学金 student (初中).
    assert rows[0][:5] == (2, "141129200805015880", "evaluated", Decimal("312.50"), None)
    assert sum(r[2] == "problem" for r in rows) == 3 and "共读取 320 行" in err
    problem = next(r for r in rows if r[2] == "problem")
    assert json.loads(problem[5])[0]["code"] == "missing-fact"
    # Row 46 (白怡, 中职) has 年级 blank: 年级与学段矛盾 cannot be decided (NULL), 控辍保学重点对象 can (FALSE).
    flags = con.execute(f"SELECT name, flag_grade_not_in_stage, flag_key_watch FROM {sql_string(str(target))} "
                        "WHERE row = 46").fetchall()  # fmt: skip
    assert flags == [("白怡", None, False)]
    metadata = dict(con.execute(f"SELECT key, value FROM parquet_kv_metadata({sql_string(str(target))})").fetchall())
    assert b"tuition_waiver" in metadata[b"zizhu_sample_programs"]  # 学费 figures are sample data in 2021


def test_parquet_output_may_not_be_its_input(tmp_path) -> None:
    parquet = _to_parquet(EXAMPLE, tmp_path / "students.parquet")
    before = parquet.read_bytes()
    code, _, err = _zizhu("eval", parquet, *POLICY, "-o", parquet)
    assert code == 2 and "输入文件" in err
    assert parquet.read_bytes() == before


@pytest.mark.spark
def test_spark_reads_parquet_like_python(tmp_path) -> None:
    """Spark reads the Parquet file itself (typed columns, the mess included): the same bytes."""
    pytest.importorskip("pyspark")
    csv_path = write_messy(tmp_path / "students.csv", 1000, seed=34, blanks=True)
    parquet = _to_parquet(csv_path, tmp_path / "students.parquet", TYPED)
    python = _zizhu("eval", parquet, *POLICY, "--format", "jsonl", "--engine", "python")
    spark = _zizhu("eval", parquet, *POLICY, "--format", "jsonl", "--engine", "spark")
    assert spark[:2] == python[:2]
    assert "逐行计算" not in spark[2]
