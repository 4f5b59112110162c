"""The one converter of values: text (a spreadsheet cell, a YAML scalar, a test case's fact) → the
typed value of the language, or what would have been valid.

Everything that turns written values into typed ones calls this module: the checker (parameters,
blanks, table keys and figures), the record reader (cells), the policy tests (facts) and the payment
sheet reader (amounts). It reads values as people write them: 是/否, Y/N, 1/0; 1,000, ¥312.5, 312.5元;
2012-05-01, 2012/5/1, 2012.5.1, 20120501 or an Excel date serial; full-width digits; grades as
schools write them (三年级, 初二) for the field whose role is grade; a short form a text field's
`known:` values declare (中阳二中) as the value it stands for.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.check import idcard
from engine.check.types import CENT, EnumDef, Type
from engine.diagnostics import suggest
from engine.policy import model as m
from engine.policy.schema import full_width_colon_hint

Parsed = tuple[Any, str]  # (value, "") or (None, what would be valid)

_TRUE = {"是", "y", "yes", "1", "true", "t", "√", "✓", "有"}
_FALSE = {"否", "n", "no", "0", "false", "f", "×", "无", "不是"}
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９．－／", "0123456789.-/")
_CN_NUMBERS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
# 三年级, 初二, 高一, 大一, 一年级, 3年级, 八年级, 十一年级
_GRADE = re.compile(r"^([初高大小职])?([一二三四五六七八九]|十[一二]?|\d+)(年级)?$")
# The stage a grade word names, as the words a stage enum may know it by (label or alias): 初二 is
# a 初中 grade, 高二 a senior-secondary one (普通高中, or 中职 where schools say 高二 too). Counted
# from 小学 1, 七–九年级 are 初中 1–3 and 十–十二年级 高中 1–3. 三年级 or 3 names no stage.
_PREFIX_STAGES = {
    "小": ("小学",),
    "初": ("初中",),
    "高": ("普通高中", "高中", "中职", "中等职业学校", "职高"),
    "职": ("中职", "中等职业学校", "职高", "高职"),
    "大": ("大学", "专科", "大专", "高职", "本科"),
}
_COUNTED_FROM_PRIMARY = ((7, 9, _PREFIX_STAGES["初"]), (10, 12, _PREFIX_STAGES["高"]))
_PLAIN_MONEY = re.compile(r"^\d{1,20}(\.\d{1,2})?$")  # 312.5, 1000.00: whole fen as written


class CellProblem(str):
    """What is wrong with a value (in words) and its stable code; a plain str is a `bad-value`."""

    code: str

    def __new__(cls, message: str, code: str) -> CellProblem:
        problem = super().__new__(cls, message)
        problem.code = code
        return problem


class SheetNumber(int):
    """A whole number as a spreadsheet stored it (a binary float keeping 15 significant digits): a
    number like any int, but never an ID's digits, and shown as the cell held it — 1.41129200805015E+17,
    not digits the float invented. An int that is not a SheetNumber (JSON, YAML) is exact."""

    __slots__ = ()

    def __str__(self) -> str:
        return f"{float(self):.14E}" if abs(self) >= _EXACT_IN_A_SHEET else int.__repr__(self)

    __repr__ = __str__


# Excel keeps 15 significant digits: a larger whole number may have lost its last digits.
_EXACT_IN_A_SHEET = 10**15


def id_cell_is_number(cell: Any) -> bool:
    """Whether an ID cell is a number whose digits are not the ID typed: one a spreadsheet stored
    (Excel kept 15 digits), a float or a decimal. An exact integer (a JSON or YAML number) is not."""
    return not isinstance(cell, str) and cell.__class__ is not int


def problem_code(problem: str) -> str:
    """The stable code of a problem `parse_value` returned (`bad-value` unless it says otherwise)."""
    return getattr(problem, "code", "bad-value")


def is_blank(cell: Any) -> bool:
    """None or only spaces; a 0 or 否 from Excel is a value."""
    return cell is None or cell == "" or (cell.__class__ is str and cell.isspace())


def _text(cell: Any) -> str:
    return str(cell).strip().translate(_FULL_WIDTH_DIGITS)


def parse_value(type_: Type, cell: Any, field: m.Field | None = None) -> Parsed:
    """A written value as a typed value; (value, "") or (None, what would be valid). `field`, when
    the value is a field's, adds its checks (min, max, format) and its role's way of writing
    (grades). Blank values are the caller's to handle (a field's blank is declared)."""
    kind = type_.kind
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
            return _in_range(field, int(cell), cell)  # a plain int, also from a SheetNumber
        grade = field is not None and field.role == "grade"
        written = read_grade(cell) if grade else None
        if written is not None:
            return _in_range(field, written[0], cell)
        number, _ = parse_number(cell)
        if number is not None and number == number.to_integral_value():
            # 80.0 (Excel writes whole numbers so) is 80; -3 is a number, refused by the range.
            return _in_range(field, int(number), cell)
        return None, f"「{cell}」不是整数" + ("（年级可写 1、三年级、初二、高一）" if grade else "")
    if kind in ("decimal", "money"):
        value, problem = parse_number(cell, money=kind == "money")
        return (None, problem) if problem else _in_range(field, value, cell)
    if kind == "date":
        return parse_date(cell)
    if kind == "enum":
        enum = type_.enum
        assert enum is not None
        value = enum.resolve(_text(cell))
        if value is None:
            key, colon, _ = str(cell).strip().partition("：")
            # 初中：400 in a policy (no field: a table key), a YAML key written with a full-width colon
            if colon and field is None and enum.resolve(key) is not None:
                return None, CellProblem(full_width_colon_hint(str(cell)), "full-width-colon")
            hint = suggest(str(cell).strip(), enum.labels)
            return None, f"「{cell}」不是「{enum.label}」的选项；可填：{'、'.join(enum.labels)}" + (
                f"（{hint}）" if hint else ""
            )
        return value, ""
    if field is not None and field.format == "resident_id":
        if id_cell_is_number(cell):  # a number cell: Excel kept 15 digits, never the ID typed
            return None, CellProblem(idcard.ID_AS_NUMBER, "id-as-number")
        text = idcard.normalise(str(cell))  # an exact integer (JSON, YAML) is its digits
        code, problem = idcard.check(text)
        if problem:
            return None, CellProblem(problem, code)
        return text, ""
    if field is not None and field.known is not None:
        return field.known.resolve(str(cell).strip()), ""  # 中阳二中 is read as 中阳县第二中学
    return str(cell).strip(), ""


def read_grade(cell: Any) -> tuple[int, tuple[str, ...]] | None:
    """A grade as schools write it: (the grade within its stage, the words of the stage it names —
    empty when it names none), or None when the text is not a grade word. 初二 → (2, 初中 words),
    八年级 → (2, 初中 words), 十年级 → (1, 高中 words), 三年级 and 3 → (3, ())."""
    match = _GRADE.match(_text(cell))
    if match is None:
        return None
    prefix, number, suffix = match.groups()
    if number.isdigit():
        grade = int(number)
    else:
        grade = _CN_NUMBERS[number[0]] + (_CN_NUMBERS[number[1]] if len(number) == 2 else 0)
    if prefix:
        return grade, _PREFIX_STAGES[prefix]
    if suffix:
        for first, last, stage_words in _COUNTED_FROM_PRIMARY:
            if first <= grade <= last:
                return grade - first + 1, stage_words
    return grade, ()


def grade_names_other_stage(cell: Any, stage_value: str, stage: EnumDef) -> str:
    """The stage (its label, "普通高中或中职" for 高二) a written grade names when that is not the
    row's `stage_value` — 初三 on 普通高中; "" when it agrees, names no stage (三年级, 3), or names
    one this policy does not know by those words. `stage` is the options of the field of role stage."""
    if not isinstance(cell, str) or cell.isdigit():  # 2, as most files write it, names no stage
        return ""
    written = read_grade(cell)
    if written is None:
        return ""
    named = {value for word in written[1] if (value := stage.resolve(word)) is not None}
    if not named or stage_value in named:
        return ""
    return "或".join(v.label for v in stage.values if v.id in named)


def exact_values(type_: Type) -> dict[str, Any] | None:
    """Cells that are a value exactly as written (是, 否, an option's label or id), or None."""
    if type_.kind == "bool":
        return {"是": True, "否": False}
    if type_.kind == "enum" and type_.enum is not None:
        return {**{v.id: v.id for v in type_.enum.values}, **{v.label: v.id for v in type_.enum.values}}
    return None


def value_parser(type_: Type, field: m.Field | None = None) -> Callable[[Any], Parsed]:
    """`parse_value` for one field, with a fast path for cells as a tidy file has them (2012-05-01,
    plain digits, a plain amount); anything else takes the full way. Exact 是/否 and option labels
    do not get here (see exact_values)."""
    kind = type_.kind

    def full(cell: Any) -> Parsed:
        return parse_value(type_, cell, field)

    if kind == "date":

        def date(cell: Any) -> Parsed:
            if cell.__class__ is str and len(cell) == 10 and cell[4] == "-":
                try:
                    return dt.date.fromisoformat(cell), ""
                except ValueError:
                    pass
            return full(cell)

        return date
    low, high = (field.minimum, field.maximum) if field is not None else (None, None)
    if kind == "int":

        def integer(cell: Any) -> Parsed:
            if cell.__class__ is str and cell.isascii() and cell.isdigit():
                value = int(cell)
                if (low is None or value >= low) and (high is None or value <= high):
                    return value, ""
            return full(cell)

        return integer
    if kind in ("money", "decimal") and low is None and high is None:
        # A money cell takes the fast path only when plainly whole fen (no exponent, ≤ 2 decimals).
        plain_figure = _PLAIN_MONEY.match if kind == "money" else str.isascii

        def number(cell: Any) -> Parsed:
            if cell.__class__ is str and cell.isascii() and cell[:1].isdigit() and plain_figure(cell):
                try:
                    value = Decimal(cell)
                except InvalidOperation:
                    return full(cell)
                if value.is_finite():
                    return value, ""
            return full(cell)

        return number
    if kind == "text" and field is not None and field.format is None and field.known is not None:
        resolve = field.known.resolve  # 中阳二中 → 中阳县第二中学
        return lambda cell: (resolve(cell.strip()), "") if cell.__class__ is str else full(cell)
    if kind == "text" and (field is None or field.format is None):
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
    if money:
        return _money(value, cell)
    return value, ""


def _money(value: Decimal, cell: Any) -> tuple[Decimal | None, str]:
    """The one rule for a money cell (student list, payment list, policy parameter, table figure):
    yuan, not negative, whole fen, written as a plain figure. A cell finer than the fen (0.005,
    11999.995) or in exponent notation (1e20, as Excel shows a figure it has lost) is refused,
    never rounded or capped quietly."""
    if value < 0:
        return None, CellProblem(f"金额不能为负数（{cell}）", "negative-amount")
    if "e" in str(cell).lower() and not isinstance(cell, (int, Decimal)):
        return None, CellProblem(f"「{cell}」是科学计数法，不是金额；金额应写成如 312.50 的数字", "bad-value")
    try:
        whole_fen = value == value.quantize(CENT)
    except InvalidOperation:  # more digits than any amount has
        return None, CellProblem(f"「{cell}」位数过多，不是有效的金额", "bad-value")
    if not whole_fen:
        return None, CellProblem(f"「{cell}」不到分（金额最多两位小数）", "sub-fen")
    return value, ""


def _in_range(field: m.Field | None, value: Any, cell: Any) -> Parsed:
    if field is not None and field.minimum is not None and value < field.minimum:
        message = f"「{cell}」小于最小值 {field.minimum}（字段规定 min: {field.minimum}）"
        return None, CellProblem(message, "out-of-range")
    if field is not None and field.maximum is not None and value > field.maximum:
        message = f"「{cell}」大于最大值 {field.maximum}（字段规定 max: {field.maximum}）"
        return None, CellProblem(message, "out-of-range")
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
