"""Raw rows → typed records, validated against the policy's fields; bad rows rejected with reasons.

Every row of the input comes out as either a :class:`~engine.backends.python.evaluator.Record`
or a :class:`Rejected` naming each problem (row, column, what would be valid).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from engine.check import idcard
from engine.check.checker import CheckedPolicy
from engine.check.values import exact_values, is_blank, value_parser
from engine.diagnostics import suggest
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
                exact_values(info.type),
                value_parser(info.type, info.field),
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
                if is_blank(cell):
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
            if is_blank(cell):
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
            identity, name = self.checked.role_field("identity_number"), self.checked.role_field("name")
            return Rejected(
                row_number,
                str((identity and values.get(identity)) or _cell_text(raw, self.columns, identity)),
                str((name and values.get(name)) or ""),
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


def _cell_text(raw: dict[str, Any], columns: Columns, fid: str | None) -> str:
    header = columns.by_field.get(fid) if fid else None
    cell = raw.get(header) if header else None
    return "" if cell is None else str(cell).strip()


def find_student(
    items: Iterable[Record | Rejected], checked: CheckedPolicy, id_number: str
) -> Record | Rejected | None:
    """The first row whose ID number (the field with role identity_number) is `id_number`, read or
    rejected; None when no row has it. Letter case and spaces do not matter (…123x is …123X)."""
    wanted = id_number.strip().upper()
    identity = checked.role_field("identity_number")
    for item in items:
        if isinstance(item, Rejected):
            found = item.id_number
        else:
            found = str(item.values.get(identity) or "") if identity else ""
        if found.upper() == wanted:
            return item
    return None

