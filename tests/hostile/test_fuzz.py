"""Random damage to the example CSV and XLSX (quotes, bytes, line breaks, truncation, merged cells,
formula-looking text): never a traceback, and either a located file error (an InputError with a
code) or every physical row after the header accounted for, once, in order."""

from __future__ import annotations

import csv
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.backends.python.evaluator import Evaluator
from engine.files.readers import InputError, read_table
from engine.files.records import RecordReader, header_test
from tests.hostile.helpers import AUTUMN_2021, example_rows, write_csv, write_xlsx

ROWS = 30
HEADER, DATA = example_rows(ROWS)

# What a mutation writes: a quote, a line break, a byte that is not UTF-8, a formula-looking start.
PIECES = [b'"', b'""', b"\n", b"\r", b"\r\n", b",", b"\xff", b"\xe4\xb8", b"\x00", b"=", b" ", "是".encode()]


@st.composite
def damaged_csv(draw) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        data = bytearray(write_csv(Path(folder) / "s.csv", HEADER, DATA).read_bytes())
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["insert", "replace", "delete", "truncate"]))
        piece = draw(st.sampled_from(PIECES))
        if kind == "insert":
            data[where:where] = piece
        elif kind == "replace":
            data[where : where + 1] = bytes([draw(st.integers(0, 255))])
        elif kind == "delete":
            del data[where : where + draw(st.integers(1, 40))]
        else:
            del data[where:]
    return bytes(data)


def physical_rows(data: bytes, header_row: int) -> list[int]:
    """The numbers of the non-blank lines after the header, as a reader that loses nothing must
    return them (lines split as Python's universal newlines do: \\r\\n, \\r or \\n)."""
    text = data.decode("utf-8", errors="replace")
    lines = re.split(r"\r\n|\r|\n", text)
    if lines and lines[-1] == "":
        lines.pop()
    found = []
    for number, line in enumerate(lines, start=1):
        cells = next(csv.reader([line]), [])
        if number > header_row and any(c.strip() for c in cells):
            found.append(number)
    return found


def read_all(checked, path: Path):
    table = read_table(path, is_header=header_test(checked))
    reader = RecordReader(checked, table)
    return table, [o.row for o in Evaluator(checked, AUTUMN_2021).evaluate_all(reader)]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=damaged_csv())
def test_a_damaged_csv_is_read_whole_or_refused_at_a_place(checked_2021, data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.csv"
        path.write_bytes(data)
        try:
            table, rows = read_all(checked_2021, path)
        except InputError as error:
            assert error.code and str(error)
            return
        assert rows == physical_rows(data, table.header_row)


CELL_TEXT = st.sampled_from(['"', '="是"', "=1+1", "", " ", "是", "否", "1.41129200805016e+17", "#N/A", "十"])


@st.composite
def damaged_xlsx_plan(draw):
    merges = draw(st.lists(st.tuples(st.integers(2, ROWS + 1), st.integers(1, len(HEADER)),
                                     st.integers(0, 4), st.integers(0, 3)), max_size=3))  # fmt: skip
    cells = draw(st.lists(st.tuples(st.integers(2, ROWS + 1), st.integers(1, len(HEADER)), CELL_TEXT), max_size=5))
    truncate = draw(st.one_of(st.none(), st.floats(0.05, 0.95)))
    return merges, cells, truncate


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=damaged_xlsx_plan())
def test_a_damaged_xlsx_is_read_whole_or_refused_at_a_place(checked_2021, plan):
    merges, cells, truncate = plan
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.xlsx"
        book, sheet = write_xlsx(path, HEADER, DATA)
        for row, column, value in cells:
            sheet.cell(row, column).value = value
        taken: set[tuple[int, int]] = set()
        for top, left, down, right in merges:
            bottom, far = min(top + down, ROWS + 1), min(left + right, len(HEADER))
            area = {(r, c) for r in range(top, bottom + 1) for c in range(left, far + 1)}
            if area & taken or len(area) == 1:
                continue  # Excel does not allow overlapping merges
            taken |= area
            sheet.merge_cells(start_row=top, start_column=left, end_row=bottom, end_column=far)
        book.save(path)
        if truncate is not None:
            data = path.read_bytes()
            path.write_bytes(data[: int(len(data) * truncate)])
        try:
            _, rows = read_all(checked_2021, path)
        except InputError as error:
            assert error.code and str(error)
            return
        assert rows == list(range(2, ROWS + 2))  # every student row, once, in order
