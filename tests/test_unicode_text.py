"""Excel/WPS 「Unicode 文本」 is saved as .txt (UTF-16 with a BOM, tab-separated): read as the same table
the same bytes named .csv give; any other .txt is refused, saying what to save (probe 3 finding 10)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.files.readers import InputError, read_table
from tests.conftest import POLICY_2021
from tests.hostile.helpers import example_rows

EVAL = ("--policy", str(POLICY_2021), "--period", "2021-autumn", "--format", "jsonl")


def tab_text(count: int) -> str:
    header, rows = example_rows(count)
    out = io.StringIO()
    csv.writer(out, delimiter="\t", lineterminator="\r\n").writerows([header, *rows])
    return out.getvalue()


def table(path: Path, **options) -> tuple[list[str], list[tuple[int, dict]]]:
    raw = read_table(path, **options)
    return raw.headers, list(raw.rows())


def test_unicode_text_reads_as_the_same_table_as_those_bytes_named_csv(tmp_path):
    data = tab_text(3).encode("utf-16")  # Python's utf-16 writes the BOM, as Excel does
    (tmp_path / "名单.txt").write_bytes(data)
    (tmp_path / "名单.csv").write_bytes(data)
    headers, rows = table(tmp_path / "名单.txt")
    assert (headers, rows) == table(tmp_path / "名单.csv")
    # Row 2 of the example file (hand-read): 高建, 初中, 车鸣峪乡初级中学 — read cell by cell, not as one column.
    row, cells = rows[0]
    assert (row, cells["姓名"], cells["学段"], cells["学校"]) == (2, "高建", "初中", "车鸣峪乡初级中学")
    assert "Unicode 文本" in read_table(tmp_path / "名单.txt").warnings[0]


def test_unicode_text_evaluates_as_the_csv_does(tmp_path):
    data = tab_text(5).encode("utf-16")
    outputs = []
    for name in ("s.txt", "s.csv"):
        (tmp_path / name).write_bytes(data)
        done = CliRunner().invoke(main, ["eval", str(tmp_path / name), *EVAL])
        outputs.append((done.exit_code, done.stdout))
    assert outputs[0] == outputs[1] and outputs[0][0] == 0  # the first five example students are all fine


def test_bom_less_unicode_text_is_read_when_the_encoding_is_named(tmp_path):
    path = tmp_path / "s.txt"
    path.write_bytes(tab_text(2).encode("utf-16-le"))
    _, rows = table(path, encoding="utf-16-le")
    assert [cells["姓名"] for _, cells in rows] == ["高建", "白宇天"]


@pytest.mark.parametrize(
    ("what", "data"),
    [
        ("a CSV renamed .txt", lambda: tab_text(2).replace("\t", ",").encode("utf-8")),
        # Excel's 「文本文件（制表符分隔）」 on Chinese Windows: GBK with tabs; read with commas it is one column.
        ("GBK tab-separated text", lambda: tab_text(2).encode("gbk")),
        ("UTF-8 tab-separated text", lambda: tab_text(2).encode("utf-8")),
        ("UTF-16 with commas", lambda: tab_text(2).replace("\t", ",").encode("utf-16")),
    ],
)
def test_any_other_txt_is_refused_saying_what_to_save(tmp_path, what, data):
    path = tmp_path / "s.txt"
    path.write_bytes(data())
    with pytest.raises(InputError) as error:
        read_table(path)
    assert error.value.code == "unsupported-text-file", what
    done = CliRunner().invoke(main, ["eval", str(path), *EVAL])
    assert done.exit_code == 2 and "另存为" in done.stderr and "s.txt" in done.stderr


def test_an_unknown_suffix_names_unicode_text_among_what_is_read(tmp_path):
    path = tmp_path / "s.dat"
    path.write_bytes(tab_text(2).encode("utf-16"))
    with pytest.raises(InputError) as error:
        read_table(path)
    assert error.value.code == "unknown-format" and ".txt" in str(error.value)
