"""Student files → raw rows: (spreadsheet row number, {column header: cell}).

Formats: CSV (UTF-8, UTF-8 with BOM, GBK/GB18030), XLSX, JSON and YAML lists of
records. Cells are left as the file holds them (text, or the numbers and dates
Excel stores); :mod:`engine.files.records` turns them into typed facts.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.policy.provenance import is_jsonl_header
from engine.policy.yamlsource import YamlError, load_yaml_text

# Key under which a row keeps cells that stand beyond the last header.
EXTRA_CELLS = "\0extra"


class InputError(Exception):
    """The file as a whole cannot be read (not a row problem)."""


@dataclass
class RawTable:
    """The columns of a student file and its rows. Each call of `rows()` streams them anew
    from the file, so a first pass (duplicates, a count for the progress bar) costs no memory."""

    file: str
    headers: list[str]
    rows: Callable[[], Iterator[tuple[int, dict[str, Any]]]]
    # (row, cell) of one column, for a first pass that needs only that column; None: use rows().
    column_reader: Callable[[str], Iterator[tuple[int, Any]]] | None = None
    # (row, cells as a list): cheaper to hand to another process than dicts; None: use rows().
    cell_rows: Callable[[], Iterator[tuple[int, list[Any]]]] | None = None

    def column(self, header: str) -> Iterator[tuple[int, Any]]:
        if self.column_reader is not None:
            return self.column_reader(header)
        return ((row, raw.get(header)) for row, raw in self.rows())


FORMATS = ("csv", "xlsx", "json", "jsonl", "yaml")


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("yml",):
        return "yaml"
    if suffix in ("xlsm",):
        return "xlsx"
    if suffix in FORMATS:
        return suffix
    raise InputError(f"{path}: 不认识的文件类型「{path.suffix}」，可用 .csv .xlsx .json .jsonl .yaml")


def read_table(path: Path | str, encoding: str | None = None, sheet: str | None = None) -> RawTable:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: 找不到文件")
    fmt = detect_format(path)
    if fmt == "csv":
        return _read_csv(path, encoding)
    if fmt == "xlsx":
        return _read_xlsx(path, sheet)
    if fmt == "jsonl":
        return _read_jsonl(path)
    return _read_records(path, fmt)


def _detect_encoding(path: Path) -> str:
    head = path.read_bytes()[: 1 << 16]
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the 64 KiB boundary is still UTF-8.
        if exc.start >= len(head) - 3:
            return "utf-8"
    return "gb18030"  # a superset of GBK, which Excel and WPS on Chinese Windows write


def _read_csv(path: Path, encoding: str | None) -> RawTable:
    enc = encoding or _detect_encoding(path)
    try:
        with open(path, encoding=enc, newline="") as handle:
            headers = next(csv.reader(handle), None)
    except (UnicodeDecodeError, LookupError) as exc:
        raise InputError(f"{path}: 无法按 {enc} 编码读取（{exc}）；可用 --encoding 指定，如 gbk") from None
    if headers is None:
        raise InputError(f"{path}: 文件是空的，第 1 行应为列标题")
    headers = [h.strip().lstrip("\ufeff") for h in headers]

    def cell_rows() -> Iterator[tuple[int, list[Any]]]:
        with open(path, encoding=enc, newline="") as handle:
            reader = csv.reader(handle)
            next(reader, None)
            row_number = 1
            try:
                # Rows as a spreadsheet counts them: a quoted cell spanning lines is still one row.
                for row_number, cells in enumerate(reader, start=2):
                    if any(c.strip() for c in cells):
                        yield row_number, cells
            except UnicodeDecodeError as exc:
                where = f"{path}: 第 {row_number + 1} 行"
                raise InputError(f"{where}无法按 {enc} 编码读取；可用 --encoding 指定，如 gbk") from exc

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        for row_number, cells in cell_rows():
            yield row_number, row_dict(headers, cells)

    def column(header: str) -> Iterator[tuple[int, Any]]:
        index = headers.index(header)
        with open(path, encoding=enc, newline="") as handle:
            reader = csv.reader(handle)
            next(reader, None)
            for row_number, cells in enumerate(reader, start=2):
                if any(c.strip() for c in cells):
                    yield row_number, cells[index] if index < len(cells) else None

    return RawTable(str(path), headers, rows, column, cell_rows)


def row_dict(headers: list[str], cells: list[Any]) -> dict[str, Any]:
    if len(cells) == len(headers):
        return dict(zip(headers, cells, strict=True))  # the common case, at C speed
    row = {h: (cells[i] if i < len(cells) else None) for i, h in enumerate(headers) if h}
    if len(cells) > len(headers):
        extra = [c for c in cells[len(headers) :] if c not in (None, "")]
        if extra:
            row[EXTRA_CELLS] = extra
    return row


def _read_xlsx(path: Path, sheet: str | None) -> RawTable:
    import openpyxl

    def open_sheet():
        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a damaged file
            raise InputError(f"{path}: 无法读取 Excel 文件（{exc}）") from None
        if sheet is not None and sheet not in book.sheetnames:
            book.close()
            raise InputError(f"{path}: 没有名为「{sheet}」的工作表；有：{'、'.join(book.sheetnames)}")
        return book, (book[sheet] if sheet else book.worksheets[0])

    book, ws = open_sheet()
    first = next(ws.iter_rows(values_only=True, max_row=1), None)
    book.close()
    if first is None:
        raise InputError(f"{path}: 工作表是空的，第 1 行应为列标题")
    headers = [str(h).strip() if h is not None else "" for h in first]

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        book, ws = open_sheet()
        try:
            for row_number, cells in enumerate(ws.iter_rows(values_only=True, min_row=2), start=2):
                if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
                    continue
                yield row_number, row_dict(headers, [_excel_cell(c) for c in cells])
        finally:
            book.close()

    return RawTable(str(path), headers, rows)


def _excel_cell(value: Any) -> Any:
    # Excel stores numbers as binary floats; the shortest text that round-trips is
    # what the officer typed (312.5), and that is what becomes the Decimal.
    if isinstance(value, float):
        return Decimal(repr(value)) if not value.is_integer() else int(value)
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date()
    return value


def _read_records(path: Path, fmt: str) -> RawTable:
    text = path.read_text(encoding="utf-8-sig")
    try:
        # YAML through our safe, exact-decimal loader; JSON with exact decimals too.
        data = load_yaml_text(text, str(path)).data if fmt == "yaml" else json.loads(text, parse_float=Decimal)
    except YamlError as exc:
        raise InputError(exc.diagnostic.render()) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}:{exc.colno}: 无法解析 JSON：{exc.msg}") from None
    if isinstance(data, dict) and isinstance(data.get("students"), list):
        data = data["students"]
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise InputError(f"{path}: 应为学生记录的列表（每条一个对象，键为列标题）")
    headers: list[str] = []
    for record in data:
        headers.extend(str(k) for k in record if str(k) not in headers)

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        # A list has no header row: record n is "row" n + 1, as if a header stood above it.
        for index, record in enumerate(data, start=2):
            yield index, {str(k): v for k, v in record.items()}

    return RawTable(str(path), headers, rows)


def _read_jsonl(path: Path) -> RawTable:
    """One JSON object per line, streamed; line n is "row" n + 1, as if a header stood above it."""

    def objects() -> Iterator[tuple[int, dict[str, Any]]]:
        with open(path, encoding="utf-8-sig") as handle:
            for line_number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line, parse_float=Decimal)
                except json.JSONDecodeError as exc:
                    raise InputError(f"{path}:{line_number}:{exc.colno}: 无法解析 JSON：{exc.msg}") from None
                if not isinstance(record, dict):
                    raise InputError(f"{path}:{line_number}: 每行应为一个学生记录（JSON 对象）")
                if is_jsonl_header(record):  # a result file's decision record, not a student
                    continue
                yield line_number + 1, {str(k): v for k, v in record.items()}

    headers: dict[str, None] = {}
    for _, record in objects():  # a first pass for the column names, in constant memory
        headers.update(dict.fromkeys(record))
    return RawTable(str(path), list(headers), objects)
