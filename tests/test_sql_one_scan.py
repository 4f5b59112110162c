"""DuckDB reads a student CSV in one scan (files.columns, tools.bulk): rows keep the file's order and
are numbered by their place in the stored table; duplicates are found after the rows are stored;
yes/no and option columns are typed by their exact words alone; the lines go straight to a pipe.
Each way out of that (a join in the plan, many unlisted words) must give the per-record bytes."""

from __future__ import annotations

import errno
import subprocess
import sys
from pathlib import Path
from typing import BinaryIO

import pytest

from engine.backends.python.evaluator import Evaluator
from engine.backends.sql.session import DuckSession
from engine.files.columns import ColumnarUnavailable
from engine.files.readers import read_table
from engine.files.records import RecordReader
from engine.files.report import jsonl_line
from engine.policy.model import Period
from engine.tools.bulk import BulkRun
from engine.tools.ledger import Ledger
from tests.test_sql_engine import CORE, ROOT, _id, _write, write_messy

AUTUMN = Period.parse("2021-autumn")
POLICY = ["--policy", str(ROOT / "policies" / "2021"), "--period", "2021-autumn", "--format", "jsonl"]


def _python_lines(checked, path: Path) -> list[str]:
    evaluator = Evaluator(checked, AUTUMN, reasons=False)
    return [jsonl_line(o) for o in evaluator.evaluate_all(RecordReader(checked, read_table(path)))]


def test_one_scan_numbers_rows_as_the_file_and_reads_duplicates_again(tmp_path, checked_2021) -> None:
    twin = _id("2013-01-01", 4)
    path = _write(tmp_path / "s.csv", [
        {**CORE, "身份证号": _id("2012-03-02", 2), "姓名": "乙", "学段": "小学", "年级": "3", "校内住宿": "否"},
        {**CORE, "身份证号": twin, "姓名": "丁", "学段": "小学", "年级": "2"},
        {**CORE, "身份证号": _id("2012-03-03", 3), "姓名": "丙", "学段": "小学", "年级": "3"},
        {**CORE, "身份证号": twin, "姓名": "戊", "学段": "小学", "年级": "2"},
    ])  # fmt: skip
    run = BulkRun(checked_2021, AUTUMN, path)
    assert run.in_one_scan
    # Rows 3 and 5 share an ID; each was clean on its own, so the row reader reads both again.
    assert sorted(run.read_again) == [3, 5]
    lines = list(run.jsonl_lines(Ledger(checked_2021)))
    assert lines == _python_lines(checked_2021, path)
    # 乙 and 丙: 小学 day pupils of a 脱贫户 family → 非寄宿生生活补助 250 (一(二)2(1)); 丁 and 戊 rejected.
    assert ['"status": "rejected"' in line for line in lines] == [False, True, False, True]
    assert all('"day_subsidy", "amount": "250.00"' in lines[k] for k in (0, 2))


def test_cells_that_are_not_tidy_are_typed_again_by_python(tmp_path, checked_2021) -> None:
    rows = [{**CORE, "身份证号": _id("2012-03-02", k), "姓名": "乙", "学段": "小学", "年级": "3", "校内住宿": "否"}
            for k in range(1, 17)]  # fmt: skip
    rows[1]["有学籍"] = "是 "  # a space after: not 是 as written, but 是 to the one converter
    rows[3]["出生日期"] = "2012/3/2"  # another way to write the date
    rows[4]["学校"] = " 中阳二中"  # an alias, with a space before: 中阳县第二中学
    path = _write(tmp_path / "s.csv", rows)
    expected = _python_lines(checked_2021, path)
    # Each is a 小学 day pupil of a 脱贫户 family → 非寄宿生生活补助 250 (一(二)2(2)), whatever the spelling.
    assert all('"day_subsidy", "amount": "250.00"' in line for line in expected)
    run = BulkRun(checked_2021, AUTUMN, path)
    assert run.in_one_scan and run.columns.retyped  # rows 3, 5 and 6 (of the 16) were typed again
    assert [row for (row,) in run.session.query("SELECT row FROM result_again ORDER BY row")] == [3, 5, 6]
    assert list(run.jsonl_lines(Ledger(checked_2021))) == expected


def test_a_file_of_mostly_untidy_rows_is_stored_and_typed_the_other_way(tmp_path, checked_2021) -> None:
    rows = [{**CORE, "身份证号": _id("2012-03-02", k), "姓名": "乙", "学段": "小学", "年级": "3",
             "出生日期": "2012/3/2"} for k in range(1, 9)]  # fmt: skip
    rows[0]["出生日期"] = "2012-03-02"  # one tidy row of eight: the rest would all be typed again
    path = _write(tmp_path / "s.csv", rows)
    run = BulkRun(checked_2021, AUTUMN, path)
    assert not run.in_one_scan
    lines = list(run.jsonl_lines(Ledger(checked_2021)))
    assert lines == _python_lines(checked_2021, path)
    assert all('"day_subsidy", "amount": "250.00"' in line for line in lines)  # 一(二)2(2): 小学 250


def test_a_plan_with_a_join_is_not_run_in_one_scan(tmp_path, checked_2021, monkeypatch) -> None:
    path = write_messy(tmp_path / "s.csv", 500, seed=5, blanks=True)
    monkeypatch.setattr(BulkRun, "_joins", lambda self, query: True)
    run = BulkRun(checked_2021, AUTUMN, path)
    assert not run.in_one_scan
    assert list(run.jsonl_lines(Ledger(checked_2021))) == _python_lines(checked_2021, path)


def _zizhu(arguments: list[str], stdout: int | BinaryIO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from engine.cli import main; main()", *arguments],
                          stdout=stdout, stderr=subprocess.PIPE, cwd=ROOT, check=False)  # fmt: skip


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_standard_output_as_a_pipe_a_file_or_a_file_appended_to(tmp_path, engine) -> None:
    path = write_messy(tmp_path / "s.csv", 300, seed=9, blanks=True)
    arguments = ["eval", str(path), *POLICY, "--engine", engine]
    expected = _zizhu([*arguments[:-1], "python"], subprocess.PIPE).stdout
    assert expected.count(b"\n") == 301  # the decision record, then one line a row
    assert _zizhu(arguments, subprocess.PIPE).stdout == expected  # a pipe: DuckDB writes to it itself
    out = tmp_path / "out.jsonl"
    with out.open("wb") as handle:  # a file (> out.jsonl)
        _zizhu(arguments, handle)
    assert out.read_bytes() == expected
    out.write_bytes(b"before\n")
    with out.open("ab") as handle:  # >> out.jsonl: what the file held stays
        _zizhu(arguments, handle)
    assert out.read_bytes() == b"before\n" + expected


def test_a_join_in_the_plan_is_seen_whatever_case_duckdb_draws_it_in(tmp_path, checked_2021) -> None:
    path = write_messy(tmp_path / "s.csv", 50, seed=3)
    run = BulkRun(checked_2021, AUTUMN, path)
    assert not run._joins("SELECT id_number FROM result_rows")
    assert run._joins("SELECT a.id_number FROM result_rows AS a JOIN result_rows AS b ON a.id_number = b.id_number")
    assert run._joins("SELECT a.id_number FROM result_rows AS a, (SELECT 1 AS one) AS b")


@pytest.mark.parametrize("birth", ["1850-01-01", "2099-01-01"])
def test_a_birth_date_no_student_can_have_is_rejected_by_both_engines(tmp_path, checked_2021, birth) -> None:
    rows = [{**CORE, "身份证号": _id("2012-03-02", k), "姓名": "乙", "学段": "小学", "年级": "3"} for k in range(1, 9)]
    rows[2]["身份证号"] = _id(birth, 9)  # 出生日期 blank: taken from the ID, then out of range
    rows[5].update({"身份证号": _id(birth, 8), "出生日期": birth})
    path = _write(tmp_path / "s.csv", rows)
    run = BulkRun(checked_2021, AUTUMN, path)
    lines = list(run.jsonl_lines(Ledger(checked_2021)))
    assert lines == _python_lines(checked_2021, path)
    # Records read 1900-01-01 to today as possible birth dates (birth-date-range); the rest get 250.
    assert ['"birth-date-range"' in line for line in lines] == [k in (2, 5) for k in range(8)]


def test_a_reader_that_goes_away_is_an_error_not_a_traceback(tmp_path) -> None:
    path = write_messy(tmp_path / "s.csv", 2000, seed=4)
    command = [sys.executable, "-c", "from engine.cli import main; main()", "eval", str(path), *POLICY,
               "--engine", "duckdb"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()  # the decision record, then gone, as `| head -n 1` goes
    process.stdout.close()
    stderr = process.stderr.read().decode("utf-8")
    assert process.wait() == 2
    assert "错误：Broken pipe" in stderr and "Traceback" not in stderr


def test_duckdb_writing_to_a_full_device_raises_the_os_error_python_would() -> None:
    from engine.backends.sql.session import DuckSession

    with pytest.raises(OSError) as raised:
        DuckSession().write_lines("SELECT 'x' AS line FROM range(100000)", "/dev/full")
    assert raised.value.errno == errno.ENOSPC and raised.value.filename == "/dev/full"


def test_the_birth_date_and_check_digit_inside_an_id_are_read_as_gb_11643_says(tmp_path, checked_2021) -> None:
    """DuckDB reads an ID's date and check character by arithmetic on its digits: it must take the
    dates the calendar has and no other, and the standard's check character, X included."""
    valid = ["2012-02-29", "2011-12-31", "2011-04-30", "2011-01-01"]  # a leap day; months' last days
    no_date = ["2011-02-29", "2012-02-30", "2011-04-31", "2011-13-01", "2011-00-10", "2011-01-00", "0000-01-01"]
    rows = [{**CORE, "身份证号": _id(born, k), "姓名": "乙", "学段": "小学", "年级": "3"}
            for k, born in enumerate(valid + no_date, start=1)]  # fmt: skip
    # The standard's own example: weighted sum 167, 167 mod 11 = 2, and the character for 2 is X.
    rows.append({**CORE, "身份证号": "11010519491231002X", "姓名": "丙", "学段": "小学", "年级": "3"})
    rows.append({**CORE, "身份证号": "110105194912310020", "姓名": "丁", "学段": "小学", "年级": "3"})
    path = _write(tmp_path / "s.csv", rows)
    lines = list(BulkRun(checked_2021, AUTUMN, path).jsonl_lines(Ledger(checked_2021)))
    assert lines == _python_lines(checked_2021, path)
    codes = [line.split('"code": "')[1].split('"')[0] if '"code"' in line else "" for line in lines]
    # 1949-12-31 is a valid date; a primary pupil born then is no school-age child, yet not rejected.
    assert codes[: len(valid)] == [""] * len(valid)
    assert codes[len(valid) : -2] == ["bad-id-birth-date"] * len(no_date)
    assert '"status": "rejected"' not in lines[-2] and codes[-1] == "bad-check-digit"


def test_an_engine_error_planning_the_scan_leaves_the_file_to_the_row_reader(tmp_path, checked_2021, monkeypatch):
    path = write_messy(tmp_path / "s.csv", 50, seed=3)

    def refuse(self, sql: str) -> str:
        raise RuntimeError("IO Error: no plan")

    monkeypatch.setattr(DuckSession, "plan", refuse)
    with pytest.raises(ColumnarUnavailable, match="SQL 引擎无法计算"):  # the caller then reads it per record
        BulkRun(checked_2021, AUTUMN, path)
