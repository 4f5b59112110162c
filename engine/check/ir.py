"""The checked expression tree: names resolved, every node typed.

This is the contract between the front (parse, check) and any back end: the generated Python of
:mod:`engine.backends.python.codegen` today, a columnar or SQL one later. Its meaning (three-valued,
a blank fact is unknown) is :mod:`engine.runtime.facts`'; its functions are
:mod:`engine.check.builtins`'.
Each node keeps the canonical text of the syntax it came from, for traces.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Any

from engine.check.types import Type


@dataclass(frozen=True, eq=False)
class Expr:
    type: Type
    text: str


@dataclass(frozen=True, eq=False)
class Const(Expr):
    value: Any


@dataclass(frozen=True, eq=False)
class FieldRef(Expr):
    """A fact read from the student record."""

    field: str


@dataclass(frozen=True, eq=False)
class ComputedRef(Expr):
    """A field the policy computes from others (e.g. the age on the reference date)."""

    field: str


@dataclass(frozen=True, eq=False)
class ParamRef(Expr):
    param: str
    value: Any


@dataclass(frozen=True, eq=False)
class GroupRef(Expr):
    group: str


@dataclass(frozen=True, eq=False)
class PeriodRef(Expr):
    attribute: str  # season | year | school_year | reference_date


@dataclass(frozen=True, eq=False)
class TableLookup(Expr):
    table: str
    keys: tuple[Expr, ...]


@dataclass(frozen=True, eq=False)
class RequireKnown(Expr):
    """`value` (a table lookup keyed by `key`, a read of the field `field`), provided the field's
    value is one of its declared `known` values wherever `required` holds (``known:`` in the
    policy; engine.check.tables gives the meaning): a blank key or a known value → `value`; a value
    outside `known` → `value` where `required` is false, unknown where it is unknown, and a
    problem (``unknown-value``) where it is true — never the table's fallback row."""

    value: Expr
    key: Expr
    field: str
    known: frozenset[str]
    required: Expr


@dataclass(frozen=True, eq=False)
class Awarded(Expr):
    """Whether another program was awarded to this student (bool), or its amount (money)."""

    program: str
    want_amount: bool = False


@dataclass(frozen=True, eq=False)
class Function(Expr):
    name: str  # an engine.check.builtins function id: min | max | age
    args: tuple[Expr, ...]


@dataclass(frozen=True, eq=False)
class Negate(Expr):
    operand: Expr


@dataclass(frozen=True, eq=False)
class Arithmetic(Expr):
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, eq=False)
class Compare(Expr):
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, eq=False)
class InList(Expr):
    item: Expr
    options: tuple[Expr, ...]
    negated: bool = False


@dataclass(frozen=True, eq=False)
class And(Expr):
    operands: tuple[Expr, ...]


@dataclass(frozen=True, eq=False)
class Or(Expr):
    operands: tuple[Expr, ...]


@dataclass(frozen=True, eq=False)
class Not(Expr):
    operand: Expr


@dataclass(frozen=True, eq=False)
class IfElse(Expr):
    condition: Expr
    then: Expr
    otherwise: Expr


def subexpressions(expr: Expr) -> Iterator[Expr]:
    """`expr` and every expression under it (iteratively: a deep tree cannot exhaust the stack)."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        for f in fields(node):
            value = getattr(node, f.name)
            if isinstance(value, Expr):
                stack.append(value)
            elif isinstance(value, tuple):
                stack.extend(v for v in value if isinstance(v, Expr))
