"""Raw rows → typed records, validated against the policy's fields; bad rows rejected with reasons.

Every row of the input comes out as either a :class:`~engine.backends.python.evaluator.Record`
or a :class:`Rejected` naming each problem (row, column, what would be valid).
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from engine.check import idcard
from engine.check.checked import CheckedPolicy, FieldInfo
from engine.check.types import EnumDef
from engine.check.values import (
    CellProblem,
    exact_values,
    grade_names_other_stage,
    id_cell_is_number,
    is_blank,
    parse_value,
    problem_code,
    value_parser,
)
from engine.diagnostics import suggest
from engine.files.readers import (
    EXTRA_CELLS,
    FORMULA_WITHOUT_VALUE,
    MISSING_CELLS,
    PARQUET_NUMBER_TYPES,
    HeaderTest,
    InputError,
    NotOneValue,
    RawTable,
)
from engine.policy import model as m
from engine.runtime.results import Record, RowError


@dataclass
class Rejected:
    row: int
    id_number: str
    name: str
    reasons: list[RowError] = field(default_factory=list)
    # The row's cells as written, by field id (a rejected row has no typed facts): its 学校 and 乡镇
    # put it on the list that goes back to its school.
    cells: dict[str, str] = field(default_factory=dict)


@dataclass
class Columns:
    """How the file's headers map to the policy's fields."""

    by_field: dict[str, str]  # field id → header
    unknown: list[str]
    missing_required: list[str]  # field ids
    # (field id, position of the column read, position of the same field's other column), 1-based
    duplicated: list[tuple[str, int, int]] = field(default_factory=list)


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
    position: dict[str, int] = {}
    unknown: list[str] = []
    duplicated: list[tuple[str, int, int]] = []
    for number, header in enumerate(headers, start=1):
        fid = names.get(_norm(header))
        if fid is None:
            if header:
                unknown.append(header)
            continue
        if fid in by_field:
            duplicated.append((fid, position[fid], number))
            continue
        by_field[fid] = header
        position[fid] = number
    missing = [fid for fid, info in checked.fields.items() if info.field.required and fid not in by_field]
    return Columns(by_field, unknown, missing, duplicated)


def numeric_id_header(checked: CheckedPolicy, columns: list[tuple[str, str]]) -> str | None:
    """The header of an ID column (format resident_id) that a Parquet file types as a number, from
    its (name, type) pairs: every row of it is rejected (id-as-number), which only the row reader says."""
    by_field = match_columns(checked, [name for name, _ in columns]).by_field
    kinds = dict(columns)
    for fid, info in checked.fields.items():
        header = by_field.get(fid)
        if info.field.format == "resident_id" and header and PARQUET_NUMBER_TYPES.fullmatch(kinds[header]):
            return header
    return None


def header_test(checked: CheckedPolicy) -> HeaderTest:
    """Whether a row is the header: at least two of its cells, and half of those filled in, name
    the policy's columns (a title row above it names none, or is one merged cell)."""
    names = {
        _norm(name)
        for fid, info in checked.fields.items()
        if info.field.compute is None
        for name in (info.field.label, fid, *info.field.aliases)
    }

    def is_header(cells: list[str]) -> bool:
        filled = [c for c in cells if c]
        known = sum(1 for c in filled if _norm(c) in names)
        return known >= 2 and known * 2 >= len(filled)

    return is_header


def column_letter(number: int) -> str:
    """The spreadsheet letter of a 1-based column (1 → A, 27 → AA)."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def check_columns(checked: CheckedPolicy, columns: Columns, file: str, tabular: bool = True) -> list[str]:
    """Stop before any row when the file's columns would make rows silently wrong: a field's
    column given twice (which one counts?), or a column the rules read missing altogether (a
    missing column is not a blank cell). Returns warnings for fields declared `absent:`."""
    problems = []
    for fid, first, second in columns.duplicated:
        label = checked.fields[fid].field.label
        problems.append(
            f"「{label}」出现了两列：第 {column_letter(first)} 列和第 {column_letter(second)} 列，"
            "不知道该读哪一列；请删掉其中一列"
        )
    if problems:
        raise InputError(f"{file}: " + "；".join(problems), "duplicate-column")
    read_by: dict[str, list[str]] = {}
    for kind, section in (("program", checked.policy.programs), ("check", checked.policy.checks)):
        for item_id, item in section.items():
            for read_kind, read_id in sorted(checked.reads((kind, item_id))):
                if read_kind == "field":
                    read_by.setdefault(read_id, []).append(item.label)
    from_id = dict(from_id_fields(checked))
    missing, warnings = [], []
    for fid, info in checked.fields.items():
        if info.field.compute is not None or fid in columns.by_field or fid not in read_by or not tabular:
            continue
        if fid in from_id and from_id[fid] in columns.by_field:
            continue  # read from the ID column when the file has no column of its own
        if info.field.has_absent:
            warnings.append(f"文件没有「{info.field.label}」列；按政策规定，缺少该列时每人取「{info.field.absent}」")
            continue
        likely = _likely_header(info.field, columns.unknown)
        guess = f"；文件中的「{likely}」是否就是这一列？是的话请把列标题改为「{info.field.label}」" if likely else ""
        missing.append(f"「{info.field.label}」（{'、'.join(read_by[fid])}要用到{guess}）")
    if missing:
        unknown = (
            f"文件中这些列标题本政策不认识：{'、'.join(f'「{h}」' for h in columns.unknown)}。"
            if columns.unknown
            else ""
        )
        raise InputError(
            f"{file}: 文件缺少以下列，无法评估任何一行：{'；'.join(missing)}。{unknown}"
            "缺少一列不等于这一列空白——请补上这些列（不知道的格子可以留空）",
            "missing-column",
        )
    return warnings


# Words of a yes/no header that say nothing of what it asks (是否住校 asks the same as 校内住宿).
_FILLER = set("是否的有")


def _likely_header(wanted: m.Field, unknown: list[str]) -> str:
    """The unrecognised header most likely meant for `wanted` (是否住校 for 校内住宿): close as
    spelled, or sharing at least two of its telling characters; "" when none is."""
    names = [wanted.label, *wanted.aliases]
    best, best_score = "", 0.0
    for header in unknown:
        chars = set(_norm(header)) - _FILLER
        for name in names:
            shared = len(chars & (set(_norm(name)) - _FILLER))
            close = difflib.SequenceMatcher(None, _norm(header), _norm(name)).ratio()
            score = max(close if close >= 0.5 else 0.0, shared / max(len(set(name)), 1) if shared >= 2 else 0.0)
            if score > best_score:
                best, best_score = header, score
    return best


def unknown_columns_warning(checked: CheckedPolicy, columns: Columns) -> str:
    if not columns.unknown:
        return ""
    labels = [info.field.label for info in checked.fields.values() if info.field.compute is None]
    parts = []
    for header in columns.unknown:
        hint = suggest(header, labels)
        parts.append(f"「{header}」" + (f"（{hint}）" if hint else ""))
    return "警告：以下列不属于本政策的字段，已忽略：" + "、".join(parts)


# Birth dates outside these bounds are typing errors (an age of −4, or of 130).
EARLIEST_BIRTH = dt.date(1900, 1, 1)


class RecordReader:
    """Typed records from a raw table; duplicates of unique fields are found across the file.

    Raises InputError (before any row) when a field's column appears twice or a column the rules
    read is missing; `warnings` says what the reader decided (a column declared `absent:`)."""

    def __init__(self, checked: CheckedPolicy, table: RawTable) -> None:
        self.checked = checked
        self.table = table
        self.columns = match_columns(checked, table.headers)
        self.warnings = check_columns(checked, self.columns, table.file, table.tabular)
        self.row_count = 0  # data rows, known after the first pass
        # One step per input field, worked out once:
        # (field, header, cells taken as they are, parser for the rest, blank value, required).
        self._plan = []
        for fid, info in checked.fields.items():
            if info.field.compute is not None:
                continue
            blank = info.blank if fid in self.columns.by_field else absent_value(info, table.file)
            exact = dict(exact_values(info.type) or {})
            if not info.field.required:
                # A blank cell of an optional field is its declared blank: looked up like 是/否, the
                # commonest cell of a school's sheet costs one dict probe (a required blank is a problem).
                exact[""] = exact[None] = blank
            header = self.columns.by_field.get(fid)
            parse = value_parser(info.type, info.field)
            self._plan.append((fid, header, exact or None, parse, blank, info.field.required))
        self._from_id_fields = from_id_fields(checked)
        self.today = dt.date.today()  # birth dates after it are impossible; read once, not per row
        self._grade_and_stage = _grade_and_stage(checked, self.columns)

    def __iter__(self) -> Iterator[Record | Rejected]:
        for item, _raw in self.with_cells():
            yield item

    def with_cells(self) -> Iterator[tuple[Record | Rejected, dict[str, Any]]]:
        """Each row read or rejected, with the cells it was read from (header → cell)."""
        duplicates = self.duplicates()
        for row_number, raw in self.table.rows():
            yield self.record(row_number, raw, duplicates.get(row_number, [])), raw

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
                if is_blank(cell) or (info.field.format == "resident_id" and id_cell_is_number(cell)):
                    continue  # a number in an ID column is rejected on its own row (id-as-number)
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
                        RowError(
                            f"{info.field.label} {key} 重复：与{others}相同",
                            fid,
                            column=header,
                            code="duplicate-id" if info.field.format == "resident_id" else "duplicate-value",
                        )
                    )
        return found

    def record(self, row_number: int, raw: dict[str, Any], problems: list[RowError]) -> Record | Rejected:
        """One raw row as a typed record, or rejected with every problem (plus those given)."""
        values: dict[str, Any] = {}
        problems = list(problems)
        fields = self.checked.fields
        for fid in self.columns.missing_required:
            label = fields[fid].field.label
            problems.append(RowError(f"文件缺少必填列「{label}」", fid, column=label, code="missing-column"))
        for fid, header, exact, parse, blank, required in self._plan:
            cell = raw.get(header) if header else None
            if exact is not None and cell in exact:  # 是 / 否 / an option's label: no parsing
                values[fid] = exact[cell]
                continue
            if is_blank(cell):
                if required and header is not None:
                    label = fields[fid].field.label
                    problems.append(RowError(f"「{label}」是必填项，不能为空", fid, column=header, code="required"))
                values[fid] = blank
                continue
            if cell.__class__ is NotOneValue:
                problems.append(
                    RowError(
                        f"「{header}」应为一个值，这里是{cell.kind}：{cell.shown}",
                        fid,
                        column=header or "",
                        code="not-one-value",
                    )
                )
                values[fid] = None
                continue
            if cell is FORMULA_WITHOUT_VALUE:
                problems.append(
                    RowError(
                        f"「{header}」是公式，但文件里没有保存公式的计算结果（文件由程序生成、未在 Excel 中打开过）；"
                        "请用 Excel 或 WPS 打开该文件并保存后再读取",
                        fid,
                        column=header or "",
                        code="formula-no-value",
                    )
                )
                values[fid] = None
                continue
            value, problem = parse(cell)
            if problem and not isinstance(cell, str) and problem_code(problem) == "id-as-number":
                problem = CellProblem(self.table.id_as_number or problem, "id-as-number")  # the file kind's words
            if problem:
                column = header or fields[fid].field.label
                message = problem if problem.startswith(column) else f"{column}：{problem}"
                problems.append(RowError(message, fid, column=column, code=problem_code(problem)))
            values[fid] = value
        if self._grade_and_stage is not None:
            problems.extend(_grade_stage_contradiction(self._grade_and_stage, raw, values))
        for fid, given, from_id in fill_from_id(self._from_id_fields, values):
            label = fields[fid].field.label
            column = self.columns.by_field.get(fid, label)
            problems.append(
                RowError(
                    f"{label} {given} 与身份证号中的出生日期 {from_id} 不一致",
                    fid,
                    column=column,
                    code="id-birth-mismatch",
                )
            )
        for fid, _source in self._from_id_fields:
            born = values.get(fid)
            if isinstance(born, dt.date) and not EARLIEST_BIRTH <= born <= self.today:
                label = fields[fid].field.label
                when = "在今天之后" if born > self.today else f"早于 {EARLIEST_BIRTH.year} 年"
                problems.append(
                    RowError(
                        f"{label} {born} {when}，不可能是学生的出生日期；请核对（身份证号中的出生日期也一样）",
                        fid,
                        column=self.columns.by_field.get(fid, label),
                        code="birth-date-range",
                    )
                )
        if EXTRA_CELLS in raw:
            extra = raw[EXTRA_CELLS]
            problems.append(
                RowError(f"这一行比列标题多出 {len(extra)} 个单元格：{'、'.join(map(str, extra))}", code="extra-cells")
            )
        if MISSING_CELLS in raw:
            problems.append(
                RowError(
                    f"这一行比列标题少 {raw[MISSING_CELLS]} 个单元格（少掉的不等于空白，多半是引号不配对或行被截断）；"
                    "请补全这一行",
                    code="short-row",
                )
            )
        if problems:
            identity, name = self.checked.role_field("identity_number"), self.checked.role_field("name")
            return Rejected(
                row_number,
                str((identity and values.get(identity)) or _cell_text(raw, self.columns, identity)),
                str((name and values.get(name)) or ""),
                problems,
                {fid: _cell_text(raw, self.columns, fid) for fid in self.columns.by_field},
            )
        return Record(row_number, values)


@dataclass(frozen=True)
class _GradeAndStage:
    grade: str  # field ids
    stage: str
    grade_header: str
    stage_header: str
    stage_options: EnumDef


def _grade_and_stage(checked: CheckedPolicy, columns: Columns) -> _GradeAndStage | None:
    """The fields with roles grade and stage, when the file has both columns and the stage is an enum."""
    grade, stage = checked.role_field("grade"), checked.role_field("stage")
    if grade is None or stage is None or grade not in columns.by_field or stage not in columns.by_field:
        return None
    options = checked.fields[stage].type.enum
    if options is None:
        return None
    return _GradeAndStage(grade, stage, columns.by_field[grade], columns.by_field[stage], options)


def _grade_stage_contradiction(fields: _GradeAndStage, raw: dict[str, Any], values: dict[str, Any]) -> list[RowError]:
    """A grade word naming another stage than the row's (初三 on 普通高中, 高二 on 小学): which of the
    two columns is wrong cannot be told, and the grade within the stage is not known either."""
    stage = values.get(fields.stage)
    if stage is None or values.get(fields.grade) is None:
        return []
    cell = raw.get(fields.grade_header)
    options = fields.stage_options
    named_labels = grade_names_other_stage(cell, stage, options)
    if not named_labels:
        return []
    return [
        RowError(
            f"「{fields.grade_header}」写的是「{str(cell).strip()}」，是{named_labels}的年级，"
            f"与「{fields.stage_header}」「{options.label_of(stage)}」矛盾；请核对这两列"
            f"（{fields.grade_header}也可以只写本学段内的数字，如 2）",
            fields.grade,
            column=fields.grade_header,
            code="grade-stage-mismatch",
        )
    ]


def absent_value(info: FieldInfo, file: str) -> Any:
    """The value a field takes when the file has no column for it: its declared `absent:`, typed."""
    if not info.field.has_absent or info.field.absent is None:
        return info.blank if not info.field.has_absent else None
    value, problem = parse_value(info.type, info.field.absent, info.field)
    if problem:
        raise InputError(f"{info.field.location}: 「{info.field.label}」的 absent 值{problem}", "bad-absent")
    return value


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
    items: Iterable[tuple[Record | Rejected, dict[str, Any]]], checked: CheckedPolicy, id_number: str
) -> tuple[Record | Rejected, dict[str, Any]] | None:
    """The first row whose ID number (the field with role identity_number) is `id_number`, read or
    rejected, with its cells (pairs as :meth:`RecordReader.with_cells` gives them); None when no row
    has it. Letter case and spaces do not matter (…123x is …123X)."""
    wanted = id_number.strip().upper()
    identity = checked.role_field("identity_number")
    for item, cells in items:
        if isinstance(item, Rejected):
            found = item.id_number
        else:
            found = str(item.values.get(identity) or "") if identity else ""
        if found.upper() == wanted:
            return item, cells
    return None
