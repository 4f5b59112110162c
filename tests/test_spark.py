"""Spark reading and writing where the cluster is: a `scheme://` URI as input (only Spark reads it),
and `-o FOLDER/` written by Spark as part files. Run in local mode with `file://` URIs by
`make spark-test` (the `spark` mark); the Spark context is shared by every test in the process.

The tests without the mark need no Spark: a URI given to another engine is refused before any work.
"""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from engine.cli import main
from tests.conftest import POLICY_2021, ROOT, jsonl_rows

POLICY = ("--policy", str(POLICY_2021), "--period", "2021-autumn")
EXAMPLE = ROOT / "examples" / "students-2021.csv"


def _uri(path: Path) -> str:
    """`path` as a file:// URI, written as a person writes one (not percent-encoded)."""
    return f"file://{path}"


def _zizhu(*arguments: object) -> tuple[int, str, str]:
    done = CliRunner().invoke(main, [str(a) for a in arguments])
    assert done.exception is None or isinstance(done.exception, SystemExit), done.exception
    return done.exit_code, done.stdout, done.stderr


def _roster(target: Path, title_lines: tuple[str, ...] = (), drop: str | None = None) -> Path:
    """The example's first 24 students, then four made by hand from its first (高建: 脱贫户, 初中,
    本县户籍, at a county school, 在籍在校), differing in one cell each (see the test's expectations).
    `title_lines` go above the header; `drop` leaves one column out."""
    with EXAMPLE.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    headers = [h for h in rows[0] if h != drop]
    gao = rows[0]
    made = [
        {**gao, "身份证号": "141129200805011230", "校内住宿": "是"},  # boarding
        {**gao, "身份证号": "141129200805011249", "校内住宿": "否"},  # not boarding
        {**gao, "身份证号": "141129200805011257", "学段": ""},  # 学段 blank
        {**gao, "身份证号": "141129200805011231"},  # check digit wrong (0 is right)
    ]
    with target.open("w", encoding="utf-8", newline="") as handle:
        handle.writelines(line + "\n" for line in title_lines)
        writer = csv.DictWriter(handle, headers, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows([*rows[:24], *made])
    return target


@pytest.fixture(scope="module")
def roster(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _roster(tmp_path_factory.mktemp("spark") / "学生.csv")


def _python_jsonl(students: Path, engine: str = "python") -> bytes:
    target = students.parent / f"{students.stem}-{engine}.jsonl"
    code, _, stderr = _zizhu("eval", students, *POLICY, "--engine", engine, "-o", target)
    assert code == 1, stderr  # the roster has a problem row and a rejected one
    return target.read_bytes()


@pytest.mark.spark
def test_uri_in_folder_out_is_the_jsonl_of_every_engine(roster: Path, tmp_path: Path) -> None:
    pytest.importorskip("pyspark")
    folder = tmp_path / "结果"
    code, stdout, stderr = _zizhu("eval", _uri(roster), *POLICY, "--engine", "spark", "-o", f"{_uri(folder)}/")
    assert code == 1, stderr
    assert stdout == ""
    assert stderr.splitlines()[-1] == "共读取 28 行：计算 26 行，有问题 1 行，退回 1 行"
    parts = sorted(folder.glob("part-*"))
    assert parts and (folder / "_SUCCESS").exists()
    written = b"".join(p.read_bytes() for p in parts)
    python = _python_jsonl(roster)
    assert python == _python_jsonl(roster, "duckdb")
    assert written == python
    rows = {r["row"]: r for r in jsonl_rows(written.decode("utf-8"))}
    # Rows 26–29 are the hand-made students (header = row 1, the example's 24 = rows 2–25).
    # 26: boarding 初中 → 寄宿生生活费补助 "初中 625 元/生·学期" (一(二)2(1)); 非寄宿生生活补助 "不能与寄宿生
    #     生活费补助项目同时享受" (一(二)2(2)), so 625 is all.
    assert [(a["program"], a["amount"]) for a in rows[26]["awards"]] == [("boarding_subsidy", "625.00")]
    # 27: not boarding → 非寄宿生生活补助 "初中 312.5 元/生·学期" (一(二)2(2)).
    assert [(a["program"], a["amount"]) for a in rows[27]["awards"]] == [("day_subsidy", "312.50")]
    # 28: 学段 blank: every program for 小学/初中 reads it, so none can be decided → a problem.
    assert rows[28]["status"] == "problem"
    assert {e["code"] for e in rows[28]["errors"]} == {"missing-fact"}
    # 29: GB 11643 check digit of 14112920080501123 is 0, not 1 → rejected.
    assert rows[29]["status"] == "rejected"
    assert [e["code"] for e in rows[29]["errors"]] == ["bad-check-digit"]

    # The folder is there now: Spark never overwrites it.
    code, _, stderr = _zizhu("eval", _uri(roster), *POLICY, "--engine", "spark", "-o", f"{_uri(folder)}/")
    assert code == 2
    assert "已存在" in stderr


@pytest.mark.spark
def test_the_parts_in_name_order_are_the_rows_in_input_order(roster: Path, tmp_path: Path) -> None:
    """Several parts (Spark on one machine writes one or two): their concatenation is still the JSONL."""
    pytest.importorskip("pyspark")
    from engine import load
    from engine.policy.model import Period
    from engine.tools.ledger import Ledger
    from engine.tools.spark import SparkRun

    checked = load(POLICY_2021)
    run = SparkRun(checked, Period.parse("2021-autumn"), _uri(roster))
    run.spark_session.spark.conf.set("spark.sql.adaptive.enabled", "false")  # no coalescing of the parts
    run.spark_session.spark.conf.set("spark.sql.shuffle.partitions", "5")
    folder = tmp_path / "结果"
    python = _python_jsonl(roster).decode("utf-8").splitlines(keepends=True)
    run.write_jsonl_folder(_uri(folder), python[0].rstrip("\n"), Ledger(checked))
    parts = sorted(folder.glob("part-*"))
    assert len(parts) >= 3
    assert "".join(p.read_text(encoding="utf-8") for p in parts) == "".join(python)


@pytest.mark.spark
def test_parquet_folder_has_the_columns_and_rows_of_eval_parquet(roster: Path, tmp_path: Path) -> None:
    pytest.importorskip("pyspark")
    folder, single = tmp_path / "结果.parquet", tmp_path / "单个.parquet"
    code, _, stderr = _zizhu("eval", roster, *POLICY, "--engine", "spark", "-o", f"{folder}/")
    assert code == 1, stderr
    assert _zizhu("eval", roster, *POLICY, "--engine", "python", "-o", single)[0] == 1
    con = duckdb.connect()
    parts = f"read_parquet('{folder}/part-*.parquet')"
    assert con.execute(f"DESCRIBE SELECT * FROM {parts}").fetchall() == \
        con.execute(f"DESCRIBE SELECT * FROM read_parquet('{single}')").fetchall()  # fmt: skip
    written = con.execute(f"SELECT * FROM {parts}").fetchall()  # part files in name order: input order
    assert written == con.execute(f"SELECT * FROM read_parquet('{single}')").fetchall()
    # Row 26 boards: 625 (初中, 一(二)2(1)); 非寄宿生生活补助 "不能与寄宿生生活费补助项目同时享受" (一(二)2(2)).
    boarding = con.execute(f"SELECT award_boarding_subsidy, award_day_subsidy, reason_day_subsidy "
                           f"FROM {parts} WHERE row = 26").fetchall()  # fmt: skip
    assert [(str(boarding[0][0]), boarding[0][1])] == [("625.00", None)]
    assert "寄宿生生活费补助" in boarding[0][2] and "一(二)2(2)" in boarding[0][2]


@pytest.mark.spark
def test_a_uri_header_below_title_lines_is_found_as_locally(tmp_path: Path) -> None:
    pytest.importorskip("pyspark")
    # Line 1 a title, line 2 empty, the header on line 3: rows are numbered from 4, as a spreadsheet does.
    students = _roster(tmp_path / "学生.csv", title_lines=("某县2021年秋季学生资助名单", ""))
    code, stdout, stderr = _zizhu("eval", _uri(students), *POLICY, "--engine", "spark", "--format", "jsonl")
    assert code == 1, stderr
    assert "第 3 行是列标题，其上的 2 行（标题）未读取" in stderr
    assert stdout.encode("utf-8") == _python_jsonl(students)
    assert jsonl_rows(stdout)[0]["row"] == 4


@pytest.mark.spark
def test_a_ledger_of_a_uri_is_the_local_file_s(roster: Path) -> None:
    pytest.importorskip("pyspark")
    spark = _zizhu("ledger", _uri(roster), *POLICY, "--engine", "spark", "--format", "csv")
    python = _zizhu("ledger", roster, *POLICY, "--engine", "python", "--format", "csv")
    assert spark[0] == python[0] == 1  # a problem row and a rejected one
    assert spark[1] == python[1]
    assert "寄宿生生活费补助" in spark[1]


@pytest.mark.spark
def test_a_missing_column_in_a_uri_stops_the_command(tmp_path: Path) -> None:
    pytest.importorskip("pyspark")
    students = _roster(tmp_path / "学生.csv", drop="学段")
    code, stdout, stderr = _zizhu("eval", _uri(students), *POLICY, "--engine", "spark")
    assert code == 2
    assert stdout == ""
    assert f"{_uri(students)}: 文件缺少以下列" in stderr
    assert "「学段」" in stderr

    from engine import load
    from engine.files.readers import InputError
    from engine.policy.model import Period
    from engine.tools.spark import SparkRun

    with pytest.raises(InputError) as raised:
        SparkRun(load(POLICY_2021), Period.parse("2021-autumn"), _uri(students))
    assert raised.value.code == "missing-column"

    code, _, stderr = _zizhu("eval", _uri(tmp_path / "没有.csv"), *POLICY, "--engine", "spark")
    assert code == 2
    assert f"{_uri(tmp_path / '没有.csv')}: 找不到文件" in stderr


@pytest.mark.spark
def test_an_empty_line_inside_a_uri_stops_the_command(roster: Path, tmp_path: Path) -> None:
    pytest.importorskip("pyspark")
    # Spark's CSV reader skips empty lines; the rows below would be numbered one short.
    lines = roster.read_text(encoding="utf-8").splitlines(keepends=True)
    students = tmp_path / "空行.csv"
    students.write_text("".join([*lines[:5], "\n", *lines[5:]]), encoding="utf-8")
    code, _, stderr = _zizhu("eval", _uri(students), *POLICY, "--engine", "spark")
    assert code == 2
    assert "第 6 行是空行" in stderr


@pytest.mark.parametrize("command", ["eval", "ledger"])
@pytest.mark.parametrize("engine", ["duckdb", "python", "auto"])
def test_a_uri_needs_spark(command: str, engine: str) -> None:
    code, stdout, stderr = _zizhu(command, "hdfs://namenode/县/学生.csv", *POLICY, "--engine", engine)
    assert code == 2
    assert stdout == ""
    assert "只有 Spark 能读取" in stderr and "--engine spark" in stderr


def test_a_folder_written_by_spark_needs_spark() -> None:
    code, _, stderr = _zizhu("eval", EXAMPLE, *POLICY, "--engine", "duckdb", "-o", "hdfs://namenode/县/结果/")
    assert code == 2
    assert "--engine spark" in stderr

