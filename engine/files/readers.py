"""Student files → raw rows: (spreadsheet row number, {column header: cell}).

Formats: CSV (UTF-8, UTF-8 with BOM, GBK/GB18030), XLSX, XLS and ODS (through python-calamine),
JSON, JSONL and YAML lists of records. Cells are left as the file holds them (text, or the
numbers and dates Excel stores); :mod:`engine.files.records` turns them into typed facts.

A file is never read short: a row that cannot be told apart from its neighbours (a quote that
never closes, a cell longer than any real one, a byte in no encoding) stops the file with its
line, rather than handing on fewer rows than the file has.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import html
import itertools
import json
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from engine.backends.sql.literals import sql_string
from engine.backends.sql.session import duckdb_connection
from engine.check.values import SheetNumber
from engine.policy.provenance import is_jsonl_header
from engine.policy.yamlsource import YamlError, guess_encoding, load_yaml_text

# Key under which a row keeps cells that stand beyond the last header.
EXTRA_CELLS = "\0extra"
# Key under which a row shorter than the header keeps how many named columns it lacks: a missing
# cell is not a blank one (a lost quote or a hand edit cut the row).
MISSING_CELLS = "\0missing"
# The header is looked for in the first rows (a title row, often merged, may stand above it).
HEADER_SEARCH_ROWS = 10
# The longest CSV cell we read (Python's csv default): a longer one is a quote that never closed.
MAX_CSV_CELL = 131_072
# What an XLSX part may expand to. A real 200,000-row sheet is ~100 MB of XML and its shared
# strings a few MB; a "zip bomb" expands kilobytes into gigabytes.
MAX_XLSX_PART_BYTES = 512 << 20
MAX_XLSX_SHARED_STRINGS_BYTES = 64 << 20
# Text XML compresses about 10:1, a sheet of repeated values perhaps 100:1; far beyond is a bomb.
MAX_XLSX_COMPRESSION_RATIO = 200
MAX_XLSX_CELLS = 10_000_000


class InputError(Exception):
    """The file as a whole cannot be read (not a row problem); `code` is stable and English."""

    def __init__(self, message: str, code: str = "unreadable-file") -> None:
        super().__init__(message)
        self.code = code


class _FormulaWithoutValue:
    """A formula cell saved without its computed value (written by a script, never opened in
    Excel): we must not read it as blank, and cannot compute it."""

    def __repr__(self) -> str:
        return "FORMULA_WITHOUT_VALUE"

    def __reduce__(self) -> str:
        return "FORMULA_WITHOUT_VALUE"  # the one instance, also in a --jobs worker process


FORMULA_WITHOUT_VALUE = _FormulaWithoutValue()


@dataclass(frozen=True)
class NotOneValue:
    """A list or an object where a record (JSON, YAML) should hold one value: kept, hashable, for
    the row to be rejected with what it held (never a traceback, never read as text)."""

    kind: str  # 一个列表 / 一个对象, as the message says it
    shown: str  # the value as written, cut short


def _one_value(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        shown = json.dumps(value, ensure_ascii=False, default=str)
        return NotOneValue("一个列表" if isinstance(value, list) else "一个对象", shown[:60])
    return value


def _record_cells(record: dict[Any, Any]) -> dict[str, Any]:
    return {str(k): _one_value(v) for k, v in record.items()}


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
    # Things the reader decided that the user should know (which sheet, where the header was).
    warnings: list[str] = field(default_factory=list)
    header_row: int = 1
    # A file with one header row for all rows (CSV, spreadsheets): a column it lacks is missing for
    # everyone. Records (JSON, YAML) leave out blank keys one by one, so a key absent is a blank.
    tabular: bool = True
    # What to tell when an ID cell is a number, in this kind of file's words ("" → Excel's, the usual cause).
    id_as_number: str = ""

    def column(self, header: str) -> Iterator[tuple[int, Any]]:
        if self.column_reader is not None:
            return self.column_reader(header)
        return ((row, raw.get(header)) for row, raw in self.rows())


FORMATS = ("csv", "xlsx", "xls", "ods", "json", "jsonl", "yaml", "parquet")
# Tells whether a row is the header row (it names the policy's columns); None: the first row is.
HeaderTest = Callable[[list[str]], bool]


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("yml",):
        return "yaml"
    if suffix in ("xlsm",):
        return "xlsx"
    if suffix in FORMATS:
        return suffix
    if suffix == "txt":
        return "txt"
    raise InputError(
        f"{path}: 不认识的文件类型「{path.suffix}」，可用 .csv .xlsx .xls .ods .json .jsonl .yaml .parquet"
        "，或 Excel/WPS 另存的「Unicode 文本」（.txt）",
        "unknown-format",
    )


def read_table(
    path: Path | str, encoding: str | None = None, sheet: str | None = None, is_header: HeaderTest | None = None
) -> RawTable:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: 找不到文件", "no-file")
    fmt = detect_format(path)
    if fmt == "csv":
        return _read_csv(path, encoding, is_header)
    if fmt == "txt":
        return _read_unicode_text(path, encoding, is_header)
    if fmt in ("xlsx", "xls", "ods"):
        return _read_spreadsheet(path, fmt, sheet, is_header)
    if fmt == "jsonl":
        return _read_jsonl(path)
    if fmt == "parquet":
        return _read_parquet(path)
    return _read_records(path, fmt)


def _header_index(rows: list[list[Any]], is_header: HeaderTest | None) -> int:
    """Which of the first rows is the header: the first that names the policy's columns."""
    if is_header is not None:
        for index, cells in enumerate(rows[:HEADER_SEARCH_ROWS]):
            if is_header([_header_text(c) for c in cells]):
                return index
    return 0


def _header_text(cell: Any) -> str:
    return "" if cell is None else str(cell).strip().lstrip("\ufeff")


# ---------------------------------------------------------------------------------------- CSV


def _detect_encoding(path: Path) -> str:
    """The encoding of the whole file (not its first bytes: GBK names may follow ASCII headers)."""
    with open(path, "rb") as handle:
        if handle.read(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            return "utf-16"  # Excel/WPS "Unicode 文本": UTF-16 with its BOM, tab-separated
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:  # the common case, valid UTF-8, checked in constant memory
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
        with open(path, "rb") as handle:
            return "utf-8-sig" if handle.read(3) == b"\xef\xbb\xbf" else "utf-8"
    except UnicodeDecodeError:
        pass
    data = path.read_bytes()
    encoding, first_bad = guess_encoding(data)
    if first_bad is not None:
        line = data.count(b"\n", 0, first_bad) + 1
        raise InputError(
            f"{path}: 第 {line} 行有一个不是 UTF-8 的字节（文件第 {first_bad + 1} 字节）；"
            "文件其余部分是 UTF-8，这一处可能已损坏，请核对该行后另存为 UTF-8",
            "bad-encoding",
        )
    return encoding


def _read_csv(path: Path, encoding: str | None, is_header: HeaderTest | None) -> RawTable:
    enc = encoding or _detect_encoding(path)
    try:
        "".encode(enc)
    except LookupError:
        raise InputError(f"{path}: 不认识的编码「{enc}」；可用 utf-8、gbk、gb18030", "bad-encoding") from None
    delimiter = _delimiter(path, enc)
    first_rows: list[tuple[int, list[str]]] = []
    for line, cells in _csv_lines(path, enc, delimiter):
        first_rows.append((line, cells))
        if len(first_rows) >= HEADER_SEARCH_ROWS:
            break
    if not first_rows:
        raise InputError(f"{path}: 文件是空的，第 1 行应为列标题", "empty-file")
    header_index = _header_index([cells for _, cells in first_rows], is_header)
    header_line = first_rows[header_index][0]  # rows are numbered as the file's lines
    headers = [_header_text(h) for h in first_rows[header_index][1]]

    def cell_rows() -> Iterator[tuple[int, list[Any]]]:
        for line, cells in _csv_lines(path, enc, delimiter):
            if line > header_line and any(c.strip() for c in cells):
                yield line, cells

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        for row_number, cells in cell_rows():
            yield row_number, row_dict(headers, cells)

    def column(header: str) -> Iterator[tuple[int, Any]]:
        index = headers.index(header)
        for row_number, cells in cell_rows():
            yield row_number, cells[index] if index < len(cells) else None

    warnings = [f"第 {header_line} 行是列标题，其上的 {header_line - 1} 行（标题）未读取"] if header_line > 1 else []
    if delimiter == "\t":
        warnings.append("文件是 UTF-16 编码、以制表符分隔（Excel/WPS 的「Unicode 文本」），按此读取")
    return RawTable(str(path), headers, rows, column, cell_rows, warnings, header_line)


def _read_unicode_text(path: Path, encoding: str | None, is_header: HeaderTest | None) -> RawTable:
    """A .txt file: read only as Excel/WPS save 「Unicode 文本」 — UTF-16, tab-separated — which the CSV
    reader reads from the same bytes as the same table. Any other .txt (Excel's 「文本文件（制表符分隔）」
    is GBK with tabs, which the CSV reader would take for one column) is refused, saying what to save."""
    enc = encoding or _detect_encoding_or_none(path)
    if enc is not None and _is_utf16(enc) and _delimiter(path, enc) == "\t":
        return _read_csv(path, enc, is_header)
    raise InputError(
        f"{path}: 这个 .txt 文件不是 Excel/WPS 另存的「Unicode 文本」（UTF-16、制表符分隔），无法可靠地分出各列；"
        "请在 Excel/WPS 中另存为「CSV UTF-8（逗号分隔）」(.csv) 或 Excel 工作簿 (.xlsx)",
        "unsupported-text-file",
    )


def _detect_encoding_or_none(path: Path) -> str | None:
    try:
        return _detect_encoding(path)
    except InputError:  # not UTF-8, nor any encoding guessed: not 「Unicode 文本」 either
        return None


def _is_utf16(enc: str) -> bool:
    return enc.lower().replace("_", "-") in ("utf-16", "utf-16-le", "utf-16-be")


def _delimiter(path: Path, enc: str) -> str:
    """A comma, or a tab for a UTF-16 file whose first line has tabs and no comma: what Excel and
    WPS save as "Unicode 文本". (Other files are comma-separated, as the columnar reader reads them.)"""
    if not _is_utf16(enc):
        return ","
    try:
        with open(path, encoding=enc, newline="") as handle:
            first = handle.readline()
    except UnicodeDecodeError:
        return ","  # reported, located, when the rows are read
    return "\t" if "\t" in first and "," not in first else ","


def _csv_lines(path: Path, enc: str, delimiter: str = ",") -> Iterator[tuple[int, list[str]]]:
    """(physical line, cells) of every CSV record. A record that spans lines — a quoted cell with
    a line break, almost always a stray quote that swallowed the rows below it — is an error at
    the line where it starts, so no row is ever lost silently."""
    line = 0
    try:
        with open(path, encoding=enc, newline="") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            for cells in reader:
                start, line = line + 1, reader.line_num
                if line != start:
                    cell = next((c for c in cells if "\n" in c or "\r" in c), "")
                    shown = cell[:20].replace("\r", "").replace("\n", "⏎")
                    raise InputError(
                        f'{path}: 第 {start} 行：单元格「{shown}…」从一个引号 " 开始，直到第 {line} 行才结束，'
                        f"吞掉了其间的 {line - start} 行；请删掉多余的引号（或把单元格中的换行去掉）",
                        "unclosed-quote",
                    )
                yield line, cells
    except csv.Error as exc:
        where = f"{path}: 第 {line + 1} 行"
        if "field larger" in str(exc):
            raise InputError(
                f'{where}：单元格超过 {MAX_CSV_CELL:,} 个字符，多半是一个没有配对的引号 "；请检查该行的引号',
                "cell-too-long",
            ) from None
        if "NUL" in str(exc):
            raise InputError(
                f"{where}：含有空字符（NUL），这不是文本文件，或已损坏；"
                "若是没有 BOM 的 UTF-16 文件（Unicode 文本），可用 --encoding utf-16",
                "bad-bytes",
            ) from None
        raise InputError(f"{where}：CSV 格式错误（{exc}）", "bad-csv") from None
    except UnicodeDecodeError:
        raise InputError(
            f"{path}: 第 {line + 1} 行无法按 {enc} 编码读取；可用 --encoding 指定，如 gbk、utf-8 或 utf-16"
            "（Excel/WPS 的「Unicode 文本」），或在 Excel/WPS 中另存为「CSV UTF-8（逗号分隔）」",
            "bad-encoding",
        ) from None


def row_dict(headers: list[str], cells: list[Any]) -> dict[str, Any]:
    if len(cells) == len(headers):
        return dict(zip(headers, cells, strict=True))  # the common case, at C speed
    row = {h: (cells[i] if i < len(cells) else None) for i, h in enumerate(headers) if h}
    if len(cells) < len(headers):
        missing = sum(1 for h in headers[len(cells) :] if h)  # a column without a header is nothing lost
        if missing:
            row[MISSING_CELLS] = missing
    elif len(cells) > len(headers):
        extra = [c for c in cells[len(headers) :] if c not in (None, "")]
        if extra:
            row[EXTRA_CELLS] = extra
    return row


# ------------------------------------------------------------------------ XLSX, XLS and ODS


@dataclass
class _XlsxFacts:
    """What calamine does not tell us about an XLSX sheet, read from the zip itself."""

    active_sheet: str | None = None
    formulas_without_value: set[tuple[int, int]] = field(default_factory=set)  # (row, column), 0-based
    parts: dict[str, str] = field(default_factory=dict)  # sheet name → its part in the zip
    extents: dict[str, tuple[int, int]] = field(default_factory=dict)  # sheets scanned: (last row, column)


Merged = list[tuple[tuple[int, int], tuple[int, int]]]  # ((top, left), (bottom, right)), 0-based


@dataclass
class _OdsSheet:
    """What calamine does not tell us about an ODS sheet: how far its cells with content reach once
    repeated rows and columns are expanded, and its merged ranges (calamine gives none for ODS)."""

    rows: int = 0
    columns: int = 0
    merged: Merged = field(default_factory=list)


def _read_spreadsheet(path: Path, fmt: str, sheet: str | None, is_header: HeaderTest | None) -> RawTable:
    from python_calamine import CalamineWorkbook, SheetVisibleEnum

    facts = _inspect_xlsx(path, sheet) if fmt == "xlsx" else _XlsxFacts()
    ods = _inspect_ods(path) if fmt == "ods" else {}
    # calamine expands every sheet of an .ods when it opens it: any sheet too large stops the file here.
    for name, found in ods.items():
        if found.rows * found.columns > MAX_XLSX_CELLS:
            raise _too_large(path, name, found.rows, found.columns)

    extents: dict[str, tuple[int, int]] = dict(facts.extents)

    def extent(name: str) -> tuple[int, int]:
        """(rows, columns) a sheet expands to, known before calamine expands it; (0, 0): not known."""
        if name not in extents:  # (.ods: bounded above; .xls: at most 65,536 × 256 cells by its format)
            extents[name] = _xlsx_extent(path, facts.parts[name]) if name in facts.parts else (0, 0)
        return extents[name]

    try:
        book = CalamineWorkbook.from_path(str(path))
        metadata = book.sheets_metadata
        names = [m.name for m in metadata]
        if sheet is not None and sheet not in names:
            raise InputError(f"{path}: 没有名为「{sheet}」的工作表；有：{'、'.join(names)}", "no-sheet")
        visible = [m.name for m in metadata if m.visible == SheetVisibleEnum.Visible]
        chosen = sheet or (facts.active_sheet if facts.active_sheet in visible else None) or (visible or names)[0]
        shown = chosen
        # Sheets that look like a student list (a header row naming the policy's columns): a workbook
        # saved with its 填表说明 sheet in front is read from its list, and a sheet of notes beside
        # the list is no reason to warn.
        # A sheet too large to read is not loaded to look at (one stray far cell would expand it).
        searched = [n for n in visible if _cells(extent(n)) <= MAX_XLSX_CELLS]
        loaded: dict[str, Any] = {}  # a sheet calamine has expanded is not expanded again to be read

        def sheet_named(name: str) -> Any:
            if name not in loaded:
                loaded[name] = book.get_sheet_by_name(name)
            return loaded[name]

        lists = [n for n in searched if _has_header(sheet_named, n, is_header)] if sheet is None and is_header else []
        if lists and chosen not in lists:
            chosen = lists[0]
            if fmt == "xlsx":
                facts = _inspect_xlsx(path, chosen)
        ws = sheet_named(chosen)  # (an XLSX sheet too large was refused by _inspect_xlsx, unexpanded)
        if ws.height * max(ws.width, 1) > MAX_XLSX_CELLS:  # an .xls: known once expanded (≤ 65,536 × 256)
            raise _too_large(path, chosen, ws.height, ws.width)
        merged = ods[chosen].merged if chosen in ods else (ws.merged_cell_ranges or [])
        # Rows stream from calamine's compact copy of the sheet, a few Python objects at a time; a
        # sheet that does not start at A1 (rare) is taken whole, with its empty area, to keep
        # every cell at its own row and column.
        whole = None if ws.start in (None, (0, 0)) else ws.to_python(skip_empty_area=False)
    except InputError:
        raise
    except Exception as exc:  # calamine raises several kinds for a damaged file
        raise InputError(
            f"{path}: 无法读取表格文件（{type(exc).__name__}: {exc}）；文件可能已损坏，请用 Excel/WPS 打开后另存",
            "bad-file",
        ) from None
    warnings = []
    skipped = [n for n in visible if n not in searched]
    if skipped and sheet is None and is_header:
        warnings.append(
            "工作表"
            + "、".join(f"「{n}」（延伸到第 {extent(n)[0]:,} 行、第 {extent(n)[1]:,} 列）" for n in skipped)
            + f"超过可读上限 {MAX_XLSX_CELLS:,} 个单元格，未查看是否学生名单；如要读取，请删掉其中远处的内容"
        )
    if lists:
        others = "、".join(f"「{n}」" for n in lists if n != chosen)
        if chosen != shown:
            warnings.append(
                f"打开文件时显示的工作表「{shown}」没有学生名单的列标题，读取的是工作表「{chosen}」"
                + (f"；另有{others}也像学生名单，可用 --sheet 指定" if others else "")
            )
        elif others:
            warnings.append(
                f"有 {len(lists)} 个工作表像学生名单，读取的是当前显示的「{chosen}」；另有{others}；可用 --sheet 指定"
            )
        hidden = "、".join(f"「{n}」" for n in names if n not in visible)
        if hidden:  # a hidden sheet may be the list someone meant: never skipped without a word
            warnings.append(f"另有工作表{hidden}（隐藏），未读取；可用 --sheet 指定")
    elif sheet is None and len(names) > 1:
        others = "、".join(f"「{n}」" + ("（隐藏）" if n not in visible else "") for n in names if n != chosen)
        warnings.append(
            f"工作簿有 {len(names)} 个工作表，读取的是当前显示的「{chosen}」；另有 {others}；可用 --sheet 指定"
        )

    def grid() -> Iterator[list[Any]]:
        """Every row from the sheet's first, as the sheet shows it: merged ranges filled, formulas
        without a value marked."""
        source = iter(whole) if whole is not None else ws.iter_rows()
        yield from _as_shown(source, merged, facts.formulas_without_value)

    first = list(itertools.islice(grid(), HEADER_SEARCH_ROWS))
    header_index = _header_index(first, is_header) if first else 0
    if not first or not any(_header_text(c) for c in first[header_index]):
        raise InputError(f"{path}: 工作表「{chosen}」是空的，第 1 行应为列标题", "empty-file")
    headers = [_header_text(h) for h in first[header_index]]
    if header_index:
        warnings.append(f"第 {header_index + 1} 行是列标题，其上的 {header_index} 行（标题）未读取")

    def cell_rows() -> Iterator[tuple[int, list[Any]]]:
        for index, cells in enumerate(grid()):
            if index <= header_index or all(c is None or (c.__class__ is str and not c.strip()) for c in cells):
                continue
            yield index + 1, [c if c.__class__ is str else _excel_cell(c) for c in cells]  # text: as is

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        for row_number, cells in cell_rows():
            yield row_number, row_dict(headers, cells)

    return RawTable(str(path), headers, rows, None, cell_rows, warnings, header_index + 1)


def _too_large(path: Path, sheet: str, rows: int, columns: int) -> InputError:
    return InputError(
        f"{path}: 工作表「{sheet}」的单元格延伸到第 {rows:,} 行、第 {columns:,} 列（含重复的行或列），"
        f"超过可读上限 {MAX_XLSX_CELLS:,} 个单元格；请删掉远处的内容或多余的重复行，或另存一份只含名单的文件",
        "file-too-large",
    )


def _cells(extent: tuple[int, int]) -> int:
    return extent[0] * extent[1]


def _has_header(sheet_named: Callable[[str], Any], name: str, is_header: HeaderTest | None) -> bool:
    """Whether one of a sheet's first rows names the policy's columns."""
    if is_header is None:
        return False
    try:
        first = itertools.islice(sheet_named(name).iter_rows(), HEADER_SEARCH_ROWS)
        return any(is_header([_header_text(c) for c in cells]) for cells in first)
    except Exception:  # a damaged sheet is not the list; the chosen one reports its own damage
        return False


def _as_shown(
    source: Iterator[list[Any]],
    merged: Merged,
    formulas_without_value: set[tuple[int, int]],
) -> Iterator[list[Any]]:
    """Rows as the sheet shows them: a merged range's value in every cell it covers (its top-left
    cell comes first, so covered rows below are filled as they pass), and a formula cell saved
    without its value marked FORMULA_WITHOUT_VALUE rather than read as blank."""
    starting: dict[int, list[tuple[int, int, int]]] = {}
    for (top, left), (bottom, right) in merged:
        starting.setdefault(top, []).append((left, bottom, right))
    formulas: dict[int, list[int]] = {}
    for row, column in formulas_without_value:
        formulas.setdefault(row, []).append(column)
    below: dict[int, list[tuple[int, int, Any]]] = {}  # row → (left, right, value) to fill
    for index, cells in enumerate(source):
        if index in starting or index in below or index in formulas:
            cells = list(cells)
            for left, right, value in below.pop(index, ()):
                cells[left : right + 1] = [value] * len(cells[left : right + 1])
            for left, bottom, right in starting.get(index, ()):
                if left < len(cells):
                    value = cells[left]
                    cells[left : right + 1] = [value] * len(cells[left : right + 1])
                    for row in range(index + 1, bottom + 1):
                        below.setdefault(row, []).append((left, right, value))
            for column in formulas.get(index, ()):
                if column < len(cells) and cells[column] in ("", None):
                    cells[column] = FORMULA_WITHOUT_VALUE
        yield cells


_NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
}
_CELL_REF = re.compile(r"([A-Z]+)([0-9]+)")


def _bounded_zip(path: Path, kind: str, program: str) -> zipfile.ZipFile:
    """An office file's zip, opened and its parts' sizes bounded (`_bound_parts`), or a located
    error saying to save it again in `program`."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{path}: 不是有效的 {kind}（{exc}）；请用 {program} 打开后另存", "bad-file") from None
    try:
        _bound_parts(archive, path)
    except BaseException:
        archive.close()
        raise
    return archive


def _inspect_xlsx(path: Path, sheet: str | None) -> _XlsxFacts:
    """Bound what the workbook may expand to, find the sheet Excel shows (activeTab), and the
    formula cells saved without a value. Reads only the zip's small parts and, when it has
    formulas at all, the chosen sheet."""
    with _bounded_zip(path, "Excel（.xlsx）文件", "Excel/WPS") as archive:
        try:
            workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
            rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
        except (KeyError, ElementTree.ParseError, zipfile.BadZipFile, OSError):
            return _XlsxFacts()  # calamine will say what is wrong, or read it anyway
        sheets = workbook.findall("m:sheets/m:sheet", _NS)
        view = workbook.find("m:bookViews/m:workbookView", _NS)
        active_tab = int(view.get("activeTab", "0")) if view is not None else 0
        active = sheets[active_tab].get("name") if 0 <= active_tab < len(sheets) else None
        targets = {r.get("Id"): r.get("Target", "") for r in rels.findall("rel:Relationship", _NS)}
        parts = {}
        for element in sheets:
            target = targets.get(element.get(f"{{{_NS['r']}}}id"), "")
            parts[element.get("name", "")] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        facts = _XlsxFacts(active, parts=parts)
        name = sheet or active or ""
        part = parts.get(name)
        if part is None:
            return facts
        # A damaged sheet: calamine reports it in its own words.
        with contextlib.suppress(KeyError, ElementTree.ParseError, zipfile.BadZipFile, OSError, EOFError):
            last_row, last_column, has_formula = _scan_sheet(archive, part)
            facts.extents[name] = (last_row, last_column)  # not scanned again for the header search
            if last_row * last_column > MAX_XLSX_CELLS:  # one cell at XFD1048576 makes a reader allocate it all
                raise _too_large(path, name, last_row, last_column)
            facts.formulas_without_value = _formulas_without_value(archive, part, has_formula)
        return facts


def _bound_parts(archive: zipfile.ZipFile, path: Path) -> None:
    """Refuse a zip (XLSX, ODS) whose parts expand far beyond any real student list."""
    for info in archive.infolist():
        shared = info.filename.endswith("sharedStrings.xml")
        limit = MAX_XLSX_SHARED_STRINGS_BYTES if shared else MAX_XLSX_PART_BYTES
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > limit or (info.file_size > (1 << 20) and ratio > MAX_XLSX_COMPRESSION_RATIO):
            raise InputError(
                f"{path}: 文件中的 {info.filename} 解压后有 {info.file_size:,} 字节（压缩比 {ratio:.0f}:1），"
                f"超过可读上限（{limit:,} 字节，压缩比 {MAX_XLSX_COMPRESSION_RATIO}:1）；这不像学生名单，拒绝读取",
                "file-too-large",
            )


def _xlsx_extent(path: Path, part: str) -> tuple[int, int]:
    """(last row, last column) the cells of an XLSX sheet claim, from its XML; (0, 0) if unreadable."""
    try:
        with zipfile.ZipFile(path) as archive:
            last_row, last_column, _ = _scan_sheet(archive, part)
    except (KeyError, zipfile.BadZipFile, OSError, EOFError):
        return 0, 0  # calamine reports a damaged sheet in its own words
    return last_row, last_column


def _sheet_patterns(prefix: bytes) -> tuple[re.Pattern[bytes], ...]:
    """The far edges of a sheet and its formulas, found without a match per cell: rows from their
    <row r="…"> and any cell claiming a seven-digit row, columns from the cells with two- or
    three-letter columns only. Each pattern starts with a literal (fast to search for); `prefix`
    is the namespace prefix the file uses for its tags (usually none)."""
    tag = b"<" + re.escape(prefix)
    return (
        re.compile(tag + rb'row [^>]*?r="([0-9]{1,7})"'),
        re.compile(tag + rb'c r="[A-Z]{1,3}([0-9]{7})"'),
        re.compile(tag + rb'c r="([A-Z]{2,3})[0-9]'),
        re.compile(tag + rb"f[ >/]"),
    )


_TAG_PREFIX = re.compile(rb"<(\w+:)?sheetData[ >/]")


def _formulas_without_value(archive: zipfile.ZipFile, part: str, has_formula: bool) -> set[tuple[int, int]]:
    """The formula cells of a sheet saved without a value (`has_formula`: its _scan_sheet's answer)."""
    if not has_formula:
        return set()
    found = set()
    cell_tag, formula_tag, value_tag = (f"{{{_NS['m']}}}{t}" for t in ("c", "f", "v"))
    with archive.open(part) as handle:
        for _, element in ElementTree.iterparse(handle):
            if element.tag != cell_tag:
                continue
            value = element.find(value_tag)
            if element.find(formula_tag) is not None and (value is None or not (value.text or "").strip()):
                match = _CELL_REF.fullmatch(element.get("r", ""))
                if match:
                    found.add((int(match.group(2)) - 1, _column_index(match.group(1))))
            element.clear()
    return found


def _scan_sheet(archive: zipfile.ZipFile, part: str) -> tuple[int, int, bool]:
    """(last row, last column, whether it has formulas) of an XLSX sheet, by a streamed scan of its
    XML for row and cell references (no parse, constant memory)."""
    has_formula, last_row, last_column = False, 0, 26
    patterns = None
    with archive.open(part) as handle:
        tail = b""
        while chunk := handle.read(1 << 20):
            block = tail + chunk
            if patterns is None:
                prefix = _TAG_PREFIX.search(block)
                if prefix is None:
                    tail = block[-(1 << 16) :]  # <sheetData> not yet seen: keep looking
                    continue
                patterns = _sheet_patterns(prefix.group(1) or b"")
            row_tags, far_cells, wide_cells, formula = patterns
            has_formula = has_formula or formula.search(block) is not None
            rows = row_tags.findall(block) + far_cells.findall(block)
            if rows:
                last_row = max(last_row, *map(int, rows))
            for letters in set(wide_cells.findall(block)):
                last_column = max(last_column, _column_index(letters.decode()) + 1)
            tail = chunk[-40:]
    return last_row, last_column, has_formula


_ODS_TABLE_NAMESPACE = b"urn:oasis:names:tc:opendocument:xmlns:table:1.0"
# Beyond this many merged ranges a sheet is not a list a school typed; a bound on memory.
MAX_ODS_MERGED_RANGES = 100_000
_ODS_NUMBER = {
    name: re.compile(rb"table:" + name + rb'="([0-9]{1,9})"')
    for name in (b"number-rows-repeated", b"number-columns-repeated", b"number-rows-spanned", b"number-columns-spanned")
}
_ODS_SHEET_NAME = re.compile(rb'table:name="([^"]*)"')


def _inspect_ods(path: Path) -> dict[str, _OdsSheet]:
    """Each sheet's extent (rows × columns once repeated rows and columns are expanded; an upper
    bound) and its merged ranges, from content.xml scanned as bytes — no XML parser, so no entity is
    ever expanded (a DTD is refused outright). A sheet's size is known before anything expands it.
    A row is looked at cell by cell only when it repeats or spans cells; most rows are counted."""
    with _bounded_zip(path, ".ods 文件", "WPS/LibreOffice") as archive:
        try:
            data = archive.read("content.xml")
        except (KeyError, zipfile.BadZipFile, OSError, EOFError):
            return {}  # calamine says what is wrong
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise InputError(
            f"{path}: content.xml 含有 DTD 或实体声明，不是 WPS/LibreOffice 保存的表格；拒绝读取", "bad-file"
        )
    declared = re.search(rb'xmlns:([\w.-]+)="' + re.escape(_ODS_TABLE_NAMESPACE) + b'"', data)
    if declared is None:
        return {}
    prefix = b"<" + declared.group(1) + b":"
    table_start = re.compile(re.escape(prefix) + rb"table[ >]")
    table_end = b"</" + declared.group(1) + b":table>"
    row_start = re.compile(re.escape(prefix) + rb"table-row[ />]")
    row_end = b"</" + declared.group(1) + b":table-row>"
    cell_start = re.compile(re.escape(prefix) + rb"(?:table-cell|covered-table-cell)([ />])")
    if declared.group(1) != b"table":  # attributes carry the prefix too
        return {}  # not as LibreOffice or WPS write it: calamine alone
    sheets: dict[str, _OdsSheet] = {}
    position = 0
    while found := table_start.search(data, position):
        tag_end = data.find(b">", found.start())
        name_found = _ODS_SHEET_NAME.search(data, found.start(), tag_end)
        name = html.unescape(name_found.group(1).decode("utf-8", "replace")) if name_found else ""
        end = data.find(table_end, tag_end)
        end = len(data) if end < 0 else end
        sheet = sheets.setdefault(name, _OdsSheet())
        _ods_rows(
            data,
            tag_end,
            end,
            sheet,
            row_start,
            row_end,
            cell_start,
            (prefix + b"table-cell", prefix + b"covered-table-cell"),
        )
        position = end
    return sheets


def _ods_number(attributes: bytes, name: bytes) -> int:
    found = _ODS_NUMBER[name].search(attributes)
    return max(int(found.group(1)), 1) if found else 1


def _ods_rows(
    data: bytes, start: int, end: int, sheet: _OdsSheet, row_start: re.Pattern[bytes], row_end: bytes,
    cell_start: re.Pattern[bytes], cell_tags: tuple[bytes, bytes],
) -> None:  # fmt: skip
    row = 0
    position = start
    while (found := row_start.search(data, position, end)) is not None:
        tag_end = data.find(b">", found.start())
        repeated = _ods_number(data[found.start() : tag_end], b"number-rows-repeated")
        if data[tag_end - 1 : tag_end] == b"/":  # an empty row
            row += repeated
            position = tag_end + 1
            continue
        close = data.find(row_end, tag_end, end)
        close = end if close < 0 else close
        cells = data[tag_end + 1 : close]
        if b"repeated" not in cells and b"spanned" not in cells:
            # The common row: one element per cell. Its width is counted (an upper bound: a trailing
            # empty cell counts too); it has content if any cell holds text or a value.
            width = cells.count(cell_tags[0]) + cells.count(cell_tags[1])
            last = width if (b"value-type" in cells or b":p" in cells) else 0
        else:
            last = _ods_cells(cells, row, sheet, cell_start)
        if last:
            sheet.rows = row + repeated
            sheet.columns = max(sheet.columns, last)
        row += repeated
        position = close + len(row_end)


def _ods_cells(cells: bytes, row: int, sheet: _OdsSheet, cell_start: re.Pattern[bytes]) -> int:
    """Walk one row's cells: their merged ranges into `sheet`; the column after the last with content."""
    column = last = 0
    for found in cell_start.finditer(cells):
        tag_end = cells.find(b">", found.start())
        attributes = cells[found.start() : tag_end]
        repeated = _ods_number(attributes, b"number-columns-repeated")
        down = _ods_number(attributes, b"number-rows-spanned")
        across = _ods_number(attributes, b"number-columns-spanned")
        if (down > 1 or across > 1) and len(sheet.merged) < MAX_ODS_MERGED_RANGES:
            sheet.merged.append(((row, column), (row + down - 1, column + across - 1)))
        column += repeated
        # Content: a value, or a child element (text) rather than an empty, self-closing cell.
        if b"value-type" in attributes or not attributes.endswith(b"/"):
            last = column
    return last


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - ord("A") + 1
    return index - 1


def _excel_cell(value: Any) -> Any:
    # Excel stores numbers as binary floats; the shortest text that round-trips is
    # what the officer typed (312.5), and that is what becomes the Decimal.
    if isinstance(value, float):
        return Decimal(repr(value)) if not value.is_integer() else SheetNumber(value)
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date()
    return value


# ------------------------------------------------------------------------ JSON, JSONL, YAML


def _read_records(path: Path, fmt: str) -> RawTable:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: 第 {exc.start + 1} 字节不是 UTF-8；请另存为 UTF-8", "bad-encoding") from None
    try:
        # YAML through our safe, exact-decimal loader; JSON with exact decimals too.
        data = load_yaml_text(text, str(path)).data if fmt == "yaml" else json.loads(text, parse_float=Decimal)
    except YamlError as exc:
        raise InputError(exc.diagnostic.render(), exc.diagnostic.code or "bad-yaml") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}:{exc.colno}: 无法解析 JSON：{exc.msg}", "bad-json") from None
    if isinstance(data, dict) and isinstance(data.get("students"), list):
        data = data["students"]
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise InputError(f"{path}: 应为学生记录的列表（每条一个对象，键为列标题）", "bad-records")
    headers: list[str] = []
    for record in data:
        headers.extend(str(k) for k in record if str(k) not in headers)

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        # A list has no header row: record n is "row" n + 1, as if a header stood above it.
        for index, record in enumerate(data, start=2):
            yield index, _record_cells(record)

    return RawTable(str(path), headers, rows, tabular=False)


def _read_jsonl(path: Path) -> RawTable:
    """One JSON object per line, streamed; line n is "row" n + 1, as if a header stood above it."""

    def objects() -> Iterator[tuple[int, dict[str, Any]]]:
        line_number = 0
        try:
            with open(path, encoding="utf-8-sig") as handle:
                for line_number, line in enumerate(handle, start=1):
                    if not line.strip():
                        continue
                    try:
                        record = json.loads(line, parse_float=Decimal)
                    except json.JSONDecodeError as exc:
                        raise InputError(
                            f"{path}:{line_number}:{exc.colno}: 无法解析 JSON：{exc.msg}", "bad-json"
                        ) from None
                    if not isinstance(record, dict):
                        raise InputError(f"{path}:{line_number}: 每行应为一个学生记录（JSON 对象）", "bad-records")
                    if is_jsonl_header(record):  # a result file's decision record, not a student
                        continue
                    yield line_number + 1, _record_cells(record)
        except UnicodeDecodeError:
            raise InputError(f"{path}:{line_number + 1}: 不是 UTF-8；请另存为 UTF-8", "bad-encoding") from None

    headers: dict[str, None] = {}
    for _, record in objects():  # a first pass for the column names, in constant memory
        headers.update(dict.fromkeys(record))
    return RawTable(str(path), list(headers), objects, tabular=False)


# ------------------------------------------------------------------------ Parquet

# Parquet types whose cells stay numbers (int, Decimal): an ID column typed as a number must be seen
# as one (rejected as id-as-number). Every other type is read as the text DuckDB writes for it
# (BOOLEAN true, DATE 2012-05-01, DOUBLE 312.5), then typed like a CSV cell: one reading of a
# Parquet cell, whichever engine runs (the DuckDB engine reads the file as that same text).
# (DuckDB's names and Spark's: BIGINT, bigint, DECIMAL(12,2), decimal(12,2) …)
PARQUET_NUMBER_TYPES = re.compile(r"(U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?|DECIMAL\(\d+,\s*\d+\))", re.IGNORECASE)
PARQUET_ID_AS_NUMBER = (
    "Parquet 文件中身份证号列是数字类型：末位 X 存不下，号码不能当数字保存；请在导出 Parquet 的程序中把该列设为文字"
    "（string）类型后重新导出"
)


def parquet_columns(path: Path | str) -> list[tuple[str, str]]:
    """(name, DuckDB type) of each column of a Parquet file; InputError when it is not one."""
    import duckdb

    try:
        found = duckdb_connection().execute(f"DESCRIBE SELECT * FROM read_parquet({sql_string(str(path))})").fetchall()
    except duckdb.Error as exc:
        raise InputError(f"{path}: 不是可读的 Parquet 文件（{_first_line(exc)}）；请重新导出", "bad-parquet") from None
    return [(str(name), str(kind)) for name, kind, *_ in found]


def parquet_row_count(path: Path | str) -> int:
    """Rows of a Parquet file, from its footer (nothing else is read)."""
    import duckdb

    try:
        found = duckdb_connection().execute(f"SELECT count(*) FROM read_parquet({sql_string(str(path))})").fetchone()
    except duckdb.Error as exc:
        raise InputError(f"{path}: 不是可读的 Parquet 文件（{_first_line(exc)}）；请重新导出", "bad-parquet") from None
    return int(found[0]) if found else 0


def parquet_text_select(columns: list[tuple[str, str]], keep_numbers: bool = True, named: bool = True) -> str:
    """The select list reading each column as :data:`PARQUET_NUMBER_TYPES` says (all as text when
    not `keep_numbers`), in file order; each named as its column unless not `named`."""
    parts = []
    for name, kind in columns:
        quoted = '"' + name.replace('"', '""') + '"'
        if keep_numbers and PARQUET_NUMBER_TYPES.fullmatch(kind):
            parts.append(quoted)
        else:
            parts.append(f"CAST({quoted} AS VARCHAR)" + (f" AS {quoted}" if named else ""))
    return ", ".join(parts) or "NULL"


def _read_parquet(path: Path) -> RawTable:
    """A Parquet file through DuckDB (no pyarrow): record n is row n + 1, as if a header stood above
    it (as in the CSV the DuckDB engine reads it as). Streamed in batches; a file damaged past its
    footer (a truncated row group) stops with the row reached."""
    import duckdb

    columns = parquet_columns(path)
    headers = [name for name, _ in columns]
    select = f"SELECT {parquet_text_select(columns)} FROM read_parquet({sql_string(str(path))})"

    def batches(sql: str) -> Iterator[tuple[int, tuple[Any, ...]]]:
        row = 1
        try:
            cursor = duckdb_connection().execute(sql)
            while batch := cursor.fetchmany(10_000):
                for cells in batch:
                    row += 1
                    yield row, cells
        except duckdb.Error as exc:
            raise InputError(f"{path}: 第 {row + 1} 行附近无法读取（{_first_line(exc)}）；文件可能不完整，请重新导出",
                             "bad-parquet") from None  # fmt: skip

    def cell_rows() -> Iterator[tuple[int, list[Any]]]:
        for row, cells in batches(select):
            # A row of nothing is skipped, as in a CSV (its number still counts).
            if any(c is not None and (c.__class__ is not str or c.strip()) for c in cells):
                yield row, list(cells)

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        for row, cells in cell_rows():
            yield row, dict(zip(headers, cells, strict=True))

    def column(header: str) -> Iterator[tuple[int, Any]]:
        # One column, and the row's cells run together: only spaces (or nothing) is a row of nothing.
        one = parquet_text_select([(header, dict(columns)[header])])
        together = "concat_ws('', " + parquet_text_select(columns, keep_numbers=False, named=False) + ")"
        for row, (cell, text) in batches(f"SELECT {one}, {together} FROM read_parquet({sql_string(str(path))})"):
            if text and text.strip():
                yield row, cell

    if len(set(headers)) != len(headers):
        raise InputError(f"{path}: Parquet 文件有重名的列", "duplicate-column")
    return RawTable(str(path), headers, rows, column, cell_rows, id_as_number=PARQUET_ID_AS_NUMBER)


def parquet_to_csv(path: Path | str, target: Path | str) -> None:
    """The Parquet file as a CSV of its cells' text (:func:`parquet_text_select`, numbers written as
    DuckDB writes them: 3, 312.50), for the DuckDB engine's column reader, which reads CSV."""
    import duckdb

    select = parquet_text_select(parquet_columns(path), keep_numbers=False)
    try:
        duckdb_connection().execute(
            f"COPY (SELECT {select} FROM read_parquet({sql_string(str(path))})) TO {sql_string(str(target))} "
            "(FORMAT csv, HEADER true, DELIMITER ',', QUOTE '\"', ESCAPE '\"', NEW_LINE '\n')"
        )
    except duckdb.Error as exc:
        raise InputError(f"{path}: 无法读取（{_first_line(exc)}）；文件可能不完整，请重新导出", "bad-parquet") from None


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
