"""`--engine duckdb` on a file it does not read by columns: the row reader takes it (the same result)
and the note on stderr says why in Chinese, truly — what the file is, not a guess (probe 3 finding 8)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from click.testing import CliRunner

from engine.cli import main
from tests.conftest import POLICY_2021
from tests.hostile.helpers import example_rows, write_xlsx

EVAL = ("--policy", str(POLICY_2021), "--period", "2021-autumn", "--format", "jsonl")
FALLBACK = "本次逐行计算（结果相同）"


def run_both(path: Path) -> str:
    """The note DuckDB's run prints, after checking both engines give the same rows and exit code."""
    runs = {}
    for engine in ("python", "duckdb"):
        done = CliRunner().invoke(main, ["eval", str(path), *EVAL, "--engine", engine])
        runs[engine] = (done.exit_code, done.stdout, done.stderr)
    assert runs["duckdb"][:2] == runs["python"][:2]
    (note,) = [line for line in runs["duckdb"][2].splitlines() if line.startswith("注意：") and FALLBACK in line]
    words = set(re.findall(r"[A-Za-z]{2,}", note))  # no English sentence inside, only names of things
    assert words <= {"DuckDB", "CSV", "Parquet", "UTF", "CR", "LF", "Mac"}, words
    return note


def text(rows: list[list[str]], delimiter: str = ",", ending: str = "\n") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator=ending).writerows(rows)
    return out.getvalue()


def test_lines_ended_by_a_lone_cr_are_called_that_not_inconsistent(tmp_path):
    header, rows = example_rows(6)
    path = tmp_path / "cr.csv"
    path.write_bytes(text([header, *rows], ending="\r").encode("utf-8"))
    note = run_both(path)
    assert "单独的 CR" in note and "不一致" not in note


def test_mixed_line_ends_are_still_called_inconsistent(tmp_path):
    header, rows = example_rows(6)
    path = tmp_path / "mixed.csv"
    path.write_bytes((text([header, *rows[:3]]) + text(rows[3:], ending="\r\n")).encode("utf-8"))
    assert "换行符不一致" in run_both(path)


def test_a_utf16_file_is_called_utf16_not_inconsistent_line_ends(tmp_path):
    # Excel's 「Unicode 文本」: UTF-16 with a BOM, tab-separated, CR LF line ends.
    header, rows = example_rows(6)
    path = tmp_path / "u16.csv"
    path.write_bytes(text([header, *rows], delimiter="\t", ending="\r\n").encode("utf-16"))
    note = run_both(path)
    assert "UTF-16" in note and "换行符" not in note


def test_duckdbs_own_refusal_is_summed_up_in_chinese_with_its_line(tmp_path):
    header, rows = example_rows(6)
    rows[2] = rows[2][:-1]  # the third student (file line 4, below the header) lacks its last cell
    path = tmp_path / "short.csv"
    path.write_bytes(text([header, *rows]).encode("utf-8"))
    note = run_both(path)
    # The header has len(header) cells; the short row one fewer.
    assert f"第 4 行单元格数与列标题不同（应为 {len(header)} 个，实际 {len(header) - 1} 个）" in note


def test_a_workbook_is_told_columns_are_read_from_csv_or_parquet(tmp_path):
    header, rows = example_rows(3)
    path = tmp_path / "s.xlsx"
    write_xlsx(path, header, rows)
    assert "按列读取只用于 CSV 或 Parquet 文件" in run_both(path)
