"""The value types of the policy language, and the enumerations fields declare."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.policy.model import EnumValue
from engine.vocabulary import TYPE_WORDS


@dataclass(frozen=True)
class EnumDef:
    """The allowed values of an enum field; each value is known by its id, label or aliases."""

    id: str
    label: str
    values: tuple[EnumValue, ...]
    _by_name: dict[str, str] = field(default_factory=dict, compare=False, repr=False, hash=False)

    def __post_init__(self) -> None:
        for v in self.values:
            for name in (v.id, v.label, *v.aliases):
                self._by_name.setdefault(name, v.id)

    def resolve(self, text: str) -> str | None:
        """The value id for an id, label or alias, or None."""
        return self._by_name.get(text.strip())

    def label_of(self, value_id: str) -> str:
        for v in self.values:
            if v.id == value_id:
                return v.label
        return value_id

    @property
    def labels(self) -> list[str]:
        return [v.label for v in self.values]

    def __hash__(self) -> int:
        return hash(self.id)


@dataclass(frozen=True)
class Type:
    kind: str  # bool int decimal money date text enum list
    enum: EnumDef | None = None
    # A number written in the expression: it takes the meaning of what it meets,
    # so `金额 > 12000` and `amount: 500` are money.
    literal: bool = False

    @property
    def numeric(self) -> bool:
        return self.kind in ("int", "decimal", "money")

    def __str__(self) -> str:
        # A written number is named by what it means here: 金额 in an amount (yuan), else 整数/小数.
        if self.kind == "enum" and self.enum:
            return f"选项（{self.enum.label}）"
        return TYPE_WORDS[self.kind]

    def same_kind(self, other: Type) -> bool:
        if self.kind != other.kind:
            return False
        return self.kind != "enum" or self.enum == other.enum


BOOL = Type("bool")
INT = Type("int")
DECIMAL = Type("decimal")
MONEY = Type("money")
DATE = Type("date")
TEXT = Type("text")
INT_LITERAL = Type("int", literal=True)
DECIMAL_LITERAL = Type("decimal", literal=True)
# A number written in an amount is yuan: `amount: min(5 * 在校就餐天数, 500)` is 5 yuan a day,
# capped at 500 yuan, so a count times it is money (see arithmetic_result) and a count alone is not.
MONEY_LITERAL = Type("money", literal=True)

BY_NAME = {"bool": BOOL, "int": INT, "decimal": DECIMAL, "money": MONEY, "date": DATE, "text": TEXT}


def arithmetic_result(op: str, left: Type, right: Type) -> Type | None:
    """The type of `left op right`, or None when the operation makes no sense."""
    if not (left.numeric and right.numeric):
        return None
    if left.literal and right.literal:
        kind = "decimal" if "decimal" in (left.kind, right.kind) or op == "/" else "int"
        return Type(kind, literal=True)
    money = [t for t in (left, right) if t.kind == "money"]
    if op in ("+", "-"):
        if money:
            # Money plus money, or plus a number written in the rule; not plus a count.
            other = right if left.kind == "money" else left
            return MONEY if other.kind == "money" or other.literal else None
        return DECIMAL if "decimal" in (left.kind, right.kind) else INT
    if op == "*":
        if len(money) == 2:
            # 标准 * 2: a written number is a factor here (double the rate); money × money is nothing.
            return MONEY if left.literal or right.literal else None
        return MONEY if money else (DECIMAL if "decimal" in (left.kind, right.kind) else INT)
    if op == "/":
        if left.kind == "money":
            # 标准 / 2 is money (half the rate); money / money is a ratio.
            return DECIMAL if right.kind == "money" and not right.literal else MONEY
        return None if right.kind == "money" else DECIMAL
    return None


NOT_MONEY_HINT = (
    "整数或小数（如 年级、年龄、天数）本身不是金额；乘以每单位的元数才是金额，如 (年级 - 2) * 100、5 * 在校就餐天数"
)


def arithmetic_hint(op: str, left: Type, right: Type) -> str:
    """How to write what a refused calculation most likely meant, in a staff member's words."""
    if not (left.numeric and right.numeric):
        return "只有数（整数、小数、金额）能做加减乘除"
    kinds = {left.kind, right.kind}
    if op in ("+", "-") and "money" in kinds:
        return "金额只能与金额或写在规则里的数相加减；" + NOT_MONEY_HINT
    if op == "*" and kinds == {"money"}:
        return "金额乘金额没有意义；金额可以乘以整数（人数、天数）或一个数，如 非寄宿生生活补助标准[学段] * 2"
    if op == "/" and right.kind == "money":
        return "只能用金额除以金额（得到比例）或除以一个数，如 标准 / 2"
    return ""


def comparable(left: Type, right: Type) -> bool:
    if left.numeric and right.numeric:
        if left.literal or right.literal:
            return True
        return (left.kind == "money") == (right.kind == "money")
    return left.same_kind(right)


def unify(left: Type, right: Type) -> Type | None:
    """The common type of two branches (if/else, min, max), or None."""
    if left.same_kind(right) and left.literal == right.literal:
        return left
    if left.numeric and right.numeric:
        if left.literal:
            return right if right.kind != "int" or left.kind == "int" else DECIMAL
        if right.literal:
            return left if left.kind != "int" or right.kind == "int" else DECIMAL
        if "money" in (left.kind, right.kind):
            return None
        return DECIMAL
    if left.same_kind(right):
        return left
    return None


CENT = Decimal("0.01")


def money_text(amount: Decimal) -> str:
    """Money as reports write it: yuan with two decimals, exact (312.5 → "312.50")."""
    return str(amount.quantize(CENT))


def plain(value: Decimal) -> str:
    """A decimal as people write it: never exponent notation (``0.0000001``, not ``1E-7``)."""
    return format(value, "f")


def display(value: Any, type_: Type | None = None) -> str:
    """A value as a person reads it: 是/否, an option's Chinese label, money with two decimals."""
    if value is None:
        return "（空）"
    if isinstance(value, bool):
        return "是" if value else "否"
    if type_ is not None and type_.kind == "enum" and type_.enum is not None:
        return type_.enum.label_of(value)
    # A figure written in a rule (`amount: 500`) is shown as written; computed money with two decimals.
    if type_ is not None and type_.kind == "money" and not type_.literal and isinstance(value, Decimal):
        return money_text(value)
    if isinstance(value, Decimal):
        return plain(value)
    return str(value)
