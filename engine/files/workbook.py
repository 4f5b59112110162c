"""Workbooks people open in Excel or WPS: every sheet zizhu writes is finished the same way.

A school aid officer sums a column, filters by 学校 and scrolls 50,000 rows: so amounts are numbers
(never text: Excel's SUM of text is 0) shown as ``0.00``, row numbers and grades are whole numbers,
the header row is styled, frozen and carries an autofilter, and columns are wide enough for Chinese
text. Sheets stay in openpyxl's write-only (streaming) mode: column widths are decided when the
header is written, from the header and, when the caller has them, the rows.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from engine.check.types import CENT
from engine.diagnostics import display_width

MONEY_FORMAT = "0.00"
WHOLE_FORMAT = "0"
DATE_FORMAT = "yyyy-mm-dd"
TEXT_FORMAT = "@"
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
HEADER_ALIGNMENT = Alignment(vertical="center", wrap_text=True)
WIDEST = 60  # characters: a long 说明 wraps rather than pushing every other column off screen
NARROWEST = 6

# Columns whose header names money hold amounts even when a tool hands them over as text ("312.50").
_MONEY_HEADER = re.compile(r"元|金额|合计|小计|贷款")
# Columns of counts and positions: a number written as text there ("3") is stored as the number.
_WHOLE_HEADER = re.compile(r"^(行|行号|年级|人次|人数|行数|发放名单行|学生名单行)$|人次$|人数$")
# Columns that hold a value as the policy wrote it (an amount, an age): plain numbers become numbers.
_NUMBER_HEADER = re.compile(r"^(原值|新值)$")
_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_PLAIN_WHOLE = re.compile(r"-?[0-9]{1,15}")
# Typical widths (in Excel character units) of columns a header alone does not size well.
_KNOWN_WIDTHS = {"身份证号": 21, "学校": 26, "乡镇": 14, "姓名": 10, "资助项目": 22, "核查": 24, "标识": 18, "条款": 14,
                 "类别": 8, "频次": 8, "状态": 10, "列": 14, "问题": 50, "说明": 50, "内容": 60}  # fmt: skip


class OfficeSheet(WriteOnlyWorksheet):
    """A streaming sheet whose first appended row is its header (styled, frozen, filtered) and
    whose later cells are stored as what they are: Decimal → number shown 0.00, int → number,
    text → text (never a formula: a name such as ``=HYPERLINK(…)`` stays a name)."""

    def __init__(self, parent: Workbook, title: str | None) -> None:
        super().__init__(parent, title)
        self.headers: list[str] = []
        self._money: list[bool] = []
        self._whole: list[bool] = []
        self._number: list[bool] = []
        self._rows_written = 0
        self._sample_rows: Sequence[Sequence[Any]] = ()

    def size_columns_from(self, rows: Sequence[Sequence[Any]]) -> None:
        """Widths from these rows as well as the header (call before the header is appended)."""
        self._sample_rows = rows

    def append(self, row: Iterable[Any]) -> None:
        values = list(row)
        if not self.headers:
            self._start(values)
            super().append([self._header_cell(v) for v in values])
        else:
            super().append([self._cell(i, v) for i, v in enumerate(values)])
        self._rows_written += 1

    def close(self) -> None:
        if self.headers:  # the filter covers the header and every row written
            last = f"{get_column_letter(len(self.headers))}{max(self._rows_written, 1)}"
            self.auto_filter.ref = f"A1:{last}"
        super().close()

    def _start(self, headers: list[Any]) -> None:
        self.headers = ["" if h is None else str(_value_of(h)) for h in headers]
        self._money = [bool(_MONEY_HEADER.search(h)) for h in self.headers]
        self._whole = [bool(_WHOLE_HEADER.search(h)) for h in self.headers]
        self._number = [bool(_NUMBER_HEADER.search(h)) for h in self.headers]
        self.freeze_panes = "A2"  # must be set before the first row: write-only sheets write views first
        for index, header in enumerate(self.headers):
            width = max(display_width(header), _KNOWN_WIDTHS.get(header, 0))
            if self._money[index]:
                width = max(width, 12)
            for row in self._sample_rows:
                if index < len(row):
                    width = max(width, display_width(_shown(_value_of(row[index]))))
            letter = get_column_letter(index + 1)
            self.column_dimensions[letter].width = min(max(width + 2, NARROWEST), WIDEST)
        self._sample_rows = ()

    def _header_cell(self, value: Any) -> Cell:
        cell = self._text_cell(str(_value_of(value)) if value is not None else "")
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = HEADER_ALIGNMENT
        return cell

    def _cell(self, index: int, value: Any) -> Any:
        if isinstance(value, Cell):  # a caller's own cell: keep it, give money its format
            if isinstance(value.value, Decimal) and value.number_format == "General":
                value.number_format = MONEY_FORMAT
            return value
        money = index < len(self._money) and self._money[index]
        whole = index < len(self._whole) and self._whole[index]
        if value is None or value == "":
            # A true blank (not an empty text), written with its column's format so every row keeps
            # its full width for readers and a figure typed in later is shown like its neighbours.
            return self._number_cell(None, MONEY_FORMAT if money else WHOLE_FORMAT if whole else TEXT_FORMAT)
        if isinstance(value, str):
            if money and _PLAIN_DECIMAL.fullmatch(value):
                return self._number_cell(Decimal(value).quantize(CENT), MONEY_FORMAT)
            if whole and _PLAIN_WHOLE.fullmatch(value):
                return self._number_cell(int(value), WHOLE_FORMAT)
            if index < len(self._number) and self._number[index] and _PLAIN_DECIMAL.fullmatch(value):
                return self._cell(index, Decimal(value))
            return self._text_cell(value)
        if isinstance(value, bool):
            return self._text_cell("是" if value else "否")
        if isinstance(value, Decimal):  # money, or a number with a fraction: two decimals, as reports write it
            if money or value != value.to_integral_value():
                return self._number_cell(value.quantize(CENT), MONEY_FORMAT)
            return self._number_cell(value, WHOLE_FORMAT)
        if isinstance(value, int):
            return self._number_cell(value, WHOLE_FORMAT)
        if isinstance(value, dt.date):
            return self._number_cell(value, DATE_FORMAT)
        return self._text_cell(str(value))

    def _number_cell(self, value: Any, number_format: str) -> Cell:
        cell = WriteOnlyCell(self, value=value)
        cell.number_format = number_format
        return cell

    def _text_cell(self, text: str) -> Cell:
        cell = WriteOnlyCell(self, value=text)
        cell.data_type = "s"  # openpyxl would store "=…" as a live formula and "#N/A" as an error
        return cell


def _value_of(value: Any) -> Any:
    return value.value if isinstance(value, Cell) else value


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return str(value.quantize(CENT))
    return str(value)


class OfficeWorkbook(Workbook):
    """A write-only workbook whose sheets are `OfficeSheet`s."""

    def __init__(self) -> None:
        super().__init__(write_only=True)

    def create_sheet(self, title: str | None = None, index: int | None = None) -> OfficeSheet:
        sheet = OfficeSheet(parent=self, title=title)
        self._add_sheet(sheet=sheet, index=index)
        return sheet


def append_table(sheet: OfficeSheet, headers: Sequence[Any], rows: Sequence[Sequence[Any]]) -> None:
    """A whole table at once: widths fit its contents as well as its header."""
    sheet.size_columns_from(rows)
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
