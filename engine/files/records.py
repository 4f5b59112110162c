"""Raw rows → typed records, validated against the policy's fields; bad rows rejected with reasons.

Every row of the input comes out as either a :class:`~engine.backends.python.evaluator.Record`
or a :class:`Rejected` naming each problem (row, column, what would be valid).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.check.checker import CheckedPolicy, FieldInfo
from engine.diagnostics import suggest
from engine.files import idcard
from engine.files.readers import EXTRA_CELLS, RawTable
from engine.runtime.results import Record, RowError


@dataclass
class Rejected:
    row: int
    id_number: str
    name: str
    reasons: list[RowError] = field(default_factory=list)


@dataclass
class Columns:
    """How the file's headers map to the policy's fields."""

    by_field: dict[str, str]  # field id → header
    unknown: list[str]
    missing_required: list[str]  # field ids


def _norm(header: str) -> str:
    return re.sub(r"\s+", "", header.strip().lstrip("\ufeff")).translate(_FULL_WIDTH_PUNCT)


_FULL_WIDTH_PUNCT = str.maketrans("（）", "()")


def match_columns(checked: CheckedPolicy, headers: list[str]) -> Columns:
    names: dict[str, str] = {}
    for fid, info in checked.fields.items():
        if info.field.compute is not None:
            continue
        for name in (info.field.label, fid, *info.field.aliases):
            names.setdefault(_norm(name), fid)
    by_field: dict[str, str] = {}
    unknown: list[str] = []
    for header in headers:
        fid = names.get(_norm(header))
        if fid is None or fid in by_field:
            if header:
                unknown.append(header)
            continue
        by_field[fid] = header
    missing = [fid for fid, info in checked.fields.items() if info.field.required and fid not in by_field]
    return Columns(by_field, unknown, missing)


def unknown_columns_warning(checked: CheckedPolicy, columns: Columns) -> str:
    if not columns.unknown:
        return ""
    labels = [info.field.label for info in checked.fields.values() if info.field.compute is None]
    parts = []
    for header in columns.unknown:
        hint = suggest(header, labels)
        parts.append(f"「{header}」" + (f"（{hint}）" if hint else ""))
    return "警告：以下列不属于本政策的字段，已忽略：" + "、".join(parts)


_TRUE = {"是", "y", "yes", "1", "true", "t", "√", "✓", "有"}
_FALSE = {"否", "n", "no", "0", "false", "f", "×", "无", "不是"}
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９．－／", "0123456789.-/")
_CN_NUMBERS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
# 三年级, 初二, 高一, 大一, 一年级, 3年级
_GRADE = re.compile(r"^(?:[初高大小]|职)?([一二三四五六七八九十]|\d+)(?:年级)?$")


def _text(cell: Any) -> str:
    return str(cell).strip().translate(_FULL_WIDTH_DIGITS)


def parse_cell(info: FieldInfo, cell: Any) -> tuple[Any, str]:
    """A cell as a typed value; (value, "") or (None, what would be valid). Blank cells are handled by the caller."""
    kind = info.type.kind
    if kind == "bool":
        if isinstance(cell, bool):
            return cell, ""
        text = _text(cell).lower()
        if text in _TRUE:
            return True, ""
        if text in _FALSE:
            return False, ""
        return None, f"「{cell}」不是 是/否（可填 是、否、Y、N、1、0）"
    if kind == "int":
        if isinstance(cell, int) and not isinstance(cell, bool):
            value = cell
        else:
            text = _text(cell)
            match = _GRADE.match(text)
            if match is None:
                return None, f"「{cell}」不是整数" + (
                    "（年级可写 1、三年级、初二、高一）" if info.field.id == "grade" else ""
                )
            digits = match.group(1)
            value = int(digits) if digits.isdigit() else _CN_NUMBERS[digits]
        return _in_range(info, value, cell)
    if kind in ("decimal", "money"):
        value, problem = parse_number(cell, money=kind == "money")
        return (None, problem) if problem else _in_range(info, value, cell)
    if kind == "date":
        return parse_date(cell)
    if kind == "enum":
        enum = info.type.enum
        assert enum is not None
        value = enum.resolve(_text(cell))
        if value is None:
            hint = suggest(str(cell).strip(), enum.labels)
            return None, f"「{cell}」不是「{enum.label}」的选项；可填：{'、'.join(enum.labels)}" + (
                f"（{hint}）" if hint else ""
            )
        return value, ""
    text = str(cell).strip()
    if info.field.format == "resident_id":
        text = idcard.normalise(text)
        problem = idcard.problem(text)
        if problem:
            return None, problem
    return text, ""


def exact_values(info: FieldInfo) -> dict[str, Any] | None:
    """Cells that are a value exactly as written (是, 否, an option's label or id), or None."""
    if info.type.kind == "bool":
        return {"是": True, "否": False}
    if info.type.kind == "enum" and info.type.enum is not None:
        return {**{v.id: v.id for v in info.type.enum.values}, **{v.label: v.id for v in info.type.enum.values}}
    return None


def cell_parser(info: FieldInfo) -> Callable[[Any], tuple[Any, str]]:
    """`parse_cell` for one field, with a fast path for cells as a tidy file has them (2012-05-01,
    plain digits, a plain amount); anything else takes the full way. Exact 是/否 and option labels
    do not get here (see exact_values)."""
    kind = info.type.kind

    def full(cell: Any) -> tuple[Any, str]:
        return parse_cell(info, cell)

    if kind == "date":

        def date(cell: Any) -> tuple[Any, str]:
            if cell.__class__ is str and len(cell) == 10 and cell[4] == "-":
                try:
                    return dt.date.fromisoformat(cell), ""
                except ValueError:
                    pass
            return full(cell)

        return date
    low, high = info.field.minimum, info.field.maximum
    if kind == "int":

        def integer(cell: Any) -> tuple[Any, str]:
            if cell.__class__ is str and cell.isascii() and cell.isdigit():
                value = int(cell)
                if (low is None or value >= low) and (high is None or value <= high):
                    return value, ""
            return full(cell)

        return integer
    if kind in ("money", "decimal") and low is None and high is None:

        def number(cell: Any) -> tuple[Any, str]:
            if cell.__class__ is str and cell.isascii() and cell[:1].isdigit():
                try:
                    value = Decimal(cell)
                except InvalidOperation:
                    return full(cell)
                if value.is_finite():
                    return value, ""
            return full(cell)

        return number
    if kind == "text" and info.field.format is None:
        return lambda cell: (cell.strip(), "") if cell.__class__ is str else full(cell)
    return full


def parse_number(cell: Any, money: bool = False) -> tuple[Decimal | None, str]:
    """A number as officers type it (1,000 / ¥312.5 / 312.5元 / full-width digits), exactly."""
    if isinstance(cell, (int, Decimal)) and not isinstance(cell, bool):
        value = Decimal(cell)
    else:
        text = _text(cell).replace(",", "").replace("，", "").removeprefix("¥").removeprefix("￥").removesuffix("元")
        try:
            value = Decimal(text)
        except InvalidOperation:
            return None, f"「{cell}」不是数字（如 312.5）"
        if not value.is_finite():
            return None, f"「{cell}」不是数字（如 312.5）"
    if money and value < 0:
        return None, f"金额不能为负数（{cell}）"
    return value, ""


def _in_range(info: FieldInfo, value: Any, cell: Any) -> tuple[Any, str]:
    f = info.field
    if f.minimum is not None and value < f.minimum:
        return None, f"「{cell}」小于最小值 {f.minimum}"
    if f.maximum is not None and value > f.maximum:
        return None, f"「{cell}」大于最大值 {f.maximum}"
    return value, ""


_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
_EXCEL_EPOCH = dt.date(1899, 12, 30)


def parse_date(cell: Any) -> tuple[dt.date | None, str]:
    if isinstance(cell, dt.datetime):
        return cell.date(), ""
    if isinstance(cell, dt.date):
        return cell, ""
    is_number = isinstance(cell, (int, Decimal)) and not isinstance(cell, bool)
    if is_number and cell == int(cell) and len(str(int(cell))) != 8 and 1 <= cell < 2958466:
        return _EXCEL_EPOCH + dt.timedelta(days=int(cell)), ""  # an Excel date serial (8 digits: 20120501)
    text = _text(cell)
    for pattern in _DATE_PATTERNS:
        match = pattern.match(text)
        if match:
            try:
                return dt.date(*(int(g) for g in match.groups())), ""
            except ValueError:
                return None, f"「{cell}」不是有效日期（该月没有这一天）"
    return None, f"「{cell}」不是日期；可写 2012-05-01、2012/5/1、2012.5.1 或 20120501"


def _blank(cell: Any) -> bool:
    """None or only spaces; a 0 or 否 from Excel is a value."""
    return cell is None or cell == "" or (cell.__class__ is str and cell.isspace())


class RecordReader:
    """Typed records from a raw table; duplicates of unique fields are found across the file."""

    def __init__(self, checked: CheckedPolicy, table: RawTable) -> None:
        self.checked = checked
        self.table = table
        self.columns = match_columns(checked, table.headers)
        self.row_count = 0  # data rows, known after the first pass
        # One step per input field, worked out once:
        # (field, header, cells taken as they are, parser for the rest, blank value, required).
        self._plan = [
            (
                fid,
                self.columns.by_field.get(fid),
                exact_values(info),
                cell_parser(info),
                info.blank,
                info.field.required,
            )
            for fid, info in checked.fields.items()
            if info.field.compute is None
        ]
        self._from_id_fields = from_id_fields(checked)

    def __iter__(self) -> Iterator[Record | Rejected]:
        duplicates = self.duplicates()
        for row_number, raw in self.table.rows():
            yield self.record(row_number, raw, duplicates.get(row_number, []))

    def duplicates(self) -> dict[int, list[RowError]]:
        """A first pass over the unique columns only: rows that share a value, naming each other."""
        unique = [
            (fid, info, self.columns.by_field[fid])
            for fid, info in self.checked.fields.items()
            if info.field.unique and fid in self.columns.by_field
        ]
        seen: list[dict[str, int | list[int]]] = [{} for _ in unique]
        for (_fid, info, header), values in zip(unique, seen, strict=True):
            count = 0
            for row_number, cell in self.table.column(header):
                count += 1
                if _blank(cell):
                    continue
                key = idcard.normalise(str(cell)) if info.field.format == "resident_id" else str(cell).strip()
                first = values.setdefault(key, row_number)
                if first != row_number:  # a repeat: keep every row that has it
                    values[key] = [*first, row_number] if isinstance(first, list) else [first, row_number]
            self.row_count = count
        if not unique and self.table.headers:  # still count the rows (for the progress bar), cheaply
            self.row_count = sum(1 for _ in self.table.column(self.table.headers[0]))
        found: dict[int, list[RowError]] = {}
        for (fid, info, header), values in zip(unique, seen, strict=True):
            for key, numbers in values.items():
                if not isinstance(numbers, list):
                    continue
                for n in numbers:
                    others = "、".join(f"第 {o} 行" for o in numbers if o != n)
                    found.setdefault(n, []).append(
                        RowError(f"{info.field.label} {key} 重复：与{others}相同", fid, column=header)
                    )
        return found

    def record(self, row_number: int, raw: dict[str, Any], problems: list[RowError]) -> Record | Rejected:
        """One raw row as a typed record, or rejected with every problem (plus those given)."""
        values: dict[str, Any] = {}
        problems = list(problems)
        for fid in self.columns.missing_required:
            label = self.checked.fields[fid].field.label
            problems.append(RowError(f"文件缺少必填列「{label}」", fid, column=label))
        for fid, header, exact, parse, blank, required in self._plan:
            cell = raw.get(header) if header else None
            if exact is not None and cell in exact:  # 是 / 否 / an option's label: no parsing
                values[fid] = exact[cell]
                continue
            if cell is None or cell == "" or (cell.__class__ is str and cell.isspace()):  # _blank, inlined
                if required and header is not None:
                    label = self.checked.fields[fid].field.label
                    problems.append(RowError(f"「{label}」是必填项，不能为空", fid, column=header))
                values[fid] = blank
                continue
            value, problem = parse(cell)
            if problem:
                problems.append(RowError(problem, fid, column=header or self.checked.fields[fid].field.label))
            values[fid] = value
        for fid, given, from_id in fill_from_id(self._from_id_fields, values):
            label = self.checked.fields[fid].field.label
            column = self.columns.by_field.get(fid, label)
            problems.append(RowError(f"{label} {given} 与身份证号中的出生日期 {from_id} 不一致", fid, column=column))
        if EXTRA_CELLS in raw:
            extra = raw[EXTRA_CELLS]
            problems.append(RowError(f"这一行比列标题多出 {len(extra)} 个单元格：{'、'.join(map(str, extra))}"))
        if problems:
            return Rejected(
                row_number,
                str(values.get("id_number") or _cell_text(raw, self.columns, "id_number")),
                str(values.get("name") or ""),
                problems,
            )
        return Record(row_number, values)


def from_id_fields(checked: CheckedPolicy) -> list[tuple[str, str]]:
    """(date field, ID field) for each field read from a resident ID when blank."""
    return [(fid, info.field.from_id) for fid, info in checked.fields.items() if info.field.from_id]


def fill_from_id(pairs: list[tuple[str, str]], values: dict[str, Any]) -> list[tuple[str, Any, dt.date]]:
    """Fill blank dates from the resident ID; return (field, given, from ID) where the two disagree."""
    conflicts = []
    for fid, source in pairs:
        number = values.get(source)
        if not number:
            continue
        from_id = idcard.birth_date(number)
        if values.get(fid) is None:
            values[fid] = from_id
        elif from_id is not None and values[fid] != from_id:
            conflicts.append((fid, values[fid], from_id))
    return conflicts


def _cell_text(raw: dict[str, Any], columns: Columns, fid: str) -> str:
    header = columns.by_field.get(fid)
    cell = raw.get(header) if header else None
    return "" if cell is None else str(cell).strip()
