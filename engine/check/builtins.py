"""The language's built-in functions and period attributes, declared once (here, in check, so the
checker may read it; the back ends, to its right, read the same entries).

The checker reads :data:`FUNCTIONS` and :data:`PERIOD_ATTRIBUTES` for the names people may write and
the type each gives; every back end reads the same entries for the implementation. Nothing else
defines them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.check.types import BOOL, DATE, INT, MONEY, EnumDef, Type, unify
from engine.policy import model as m


def age_on(birth: dt.date, day: dt.date) -> int:
    """Full years (周岁) on `day`, counted as Chinese law counts them (reading, Decision A1):
    a year is complete from the day *after* the birthday."""
    years = day.year - birth.year
    if (day.month, day.day) <= (birth.month, birth.day):
        years -= 1
    return years


def _numbers(args: list[Type]) -> Type | str:
    if len(args) < 2:
        return "至少要两个数"
    result: Type | None = args[0]
    for a in args[1:]:
        result = unify(result, a) if result is not None else None
        if result is None or not result.numeric:
            return f"各项应为同类的数，第 {args.index(a) + 1} 项是{a}"
    assert result is not None
    return result


def _dates(args: list[Type]) -> Type | str:
    if len(args) != 2 or any(a.kind != "date" for a in args):
        return "需要两个日期：出生日期和计算年龄的那一天"
    return INT


@dataclass(frozen=True)
class Function:
    """A function of the language: its id, the names it is written with, how it is used (for
    messages), its type rule (argument types → result type, or what is wrong) and its implementation.
    `awarded` and `amount` take a program and read that program's outcome: the back end
    implements them from its own program state, so they have no implementation here."""

    id: str
    names: tuple[str, ...]
    usage: str
    type_rule: Callable[[list[Type]], Type | str] | None
    implementation: Callable[..., Any] | None
    takes_program: bool = False


FUNCTION_LIST = (
    Function("min", ("min", "最小"), "min(数, 数, …)", _numbers, min),
    Function("max", ("max", "最大"), "max(数, 数, …)", _numbers, max),
    Function("age", ("age", "周岁"), "age(出生日期, 日期)", _dates, age_on),
    Function("awarded", ("awarded", "已享受"), "awarded(资助项目)", lambda _: BOOL, None, True),
    Function("amount", ("amount", "金额"), "amount(资助项目)", lambda _: MONEY, None, True),
)
FUNCTIONS: dict[str, Function] = {name: f for f in FUNCTION_LIST for name in f.names}
BY_ID: dict[str, Function] = {f.id: f for f in FUNCTION_LIST}

SEASON = EnumDef(
    "season", "学期", (m.EnumValue("autumn", "秋季", ("秋季学期",)), m.EnumValue("spring", "春季", ("春季学期",)))
)


@dataclass(frozen=True)
class PeriodAttribute:
    """`period.<id>`, also written `学期.<chinese>`: its type and its value for a semester."""

    id: str
    chinese: str
    label: str
    type: Type
    value: Callable[[m.Period, Any], Any]  # (period, manifest) → value


PERIOD_NAMES = ("period", "学期")
PERIOD_ATTRIBUTE_LIST = (
    PeriodAttribute("season", "季节", "学期季节", Type("enum", SEASON), lambda p, _: p.season),
    PeriodAttribute("year", "年份", "学期年份", INT, lambda p, _: p.year),
    PeriodAttribute("school_year", "学年", "学年", INT, lambda p, _: p.school_year),
    PeriodAttribute("reference_date", "基准日", "基准日", DATE, lambda p, manifest: manifest.reference_date(p)),
)
PERIOD_ATTRIBUTES: dict[str, PeriodAttribute] = {name: a for a in PERIOD_ATTRIBUTE_LIST for name in (a.id, a.chinese)}


def period_values(period: m.Period, manifest: Any) -> dict[str, Any]:
    """Every period attribute's value for one semester of a policy."""
    return {a.id: a.value(period, manifest) for a in PERIOD_ATTRIBUTE_LIST}
