"""Checked expressions → tracing Python closures, for ``zizhu explain``.

Each IR node becomes one small function of the evaluation context, and every
fact a rule reads (a field, a group, a parameter, a table cell) is written to the
context's trace with its Chinese label. Bulk evaluation does not come here: it
runs the code :mod:`engine.backends.python.codegen` generates from the same typed tree, and the
tests hold the two to the same answers. The exceptions and ``age_on`` defined
here are shared by both.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from engine.check import ir
from engine.check.checker import CheckedPolicy
from engine.check.types import BOOL, Type, display
from engine.runtime.facts import MissingFact, NoTableEntry, age_on

Fn = Callable[["Context"], Any]


class Context:
    """What one evaluation of one record reads and remembers."""

    __slots__ = ("awarded", "memo", "record", "trace")

    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record
        self.memo: dict[str, Any] = {}
        self.awarded: dict[str, Decimal] = {}
        # (label, value, type) of each fact read, while a step is being traced.
        self.trace: list[tuple[str, Any, Type]] | None = None


class Compiler:
    def __init__(self, checked: CheckedPolicy, period_values: dict[str, Any]) -> None:
        self.checked = checked
        self.period = period_values
        self._computed: dict[str, Fn] = {}
        self._groups: dict[str, Fn] = {}

    def compile(self, expr: ir.Expr) -> Fn:
        method = getattr(self, "_" + type(expr).__name__)
        return method(expr)

    def group(self, group_id: str) -> Fn:
        """All of a group's conditions, memoised per record: shared conditions are computed once."""
        if group_id not in self._groups:
            key = "group:" + group_id
            self._groups[group_id] = _placeholder = _Forward()
            parts = [self.compile(c.expr) for c in self.checked.groups[group_id]]
            inner = _all(parts)
            label = self.checked.policy.groups[group_id].label
            fn = self._memoised(key, inner, label, BOOL)
            _placeholder.target = fn
            self._groups[group_id] = fn
        return self._groups[group_id]

    def _memoised(self, key: str, inner: Fn, label: str, type_: Type) -> Fn:
        def traced(ctx: Context) -> Any:
            memo = ctx.memo
            if key not in memo:
                memo[key] = inner(ctx)
            if ctx.trace is not None:
                ctx.trace.append((label, memo[key], type_))
            return memo[key]

        return traced

    # -- leaves ----------------------------------------------------------------
    def _Const(self, e: ir.Const) -> Fn:
        value = e.value
        return lambda ctx: value

    def _ParamRef(self, e: ir.ParamRef) -> Fn:
        value, type_ = e.value, e.type
        label = self.checked.policy.parameters[e.param].label

        def traced(ctx: Context) -> Any:
            if ctx.trace is not None:
                ctx.trace.append((label, value, type_))
            return value

        return traced

    def _PeriodRef(self, e: ir.PeriodRef) -> Fn:
        value = self.period[e.attribute]
        return lambda ctx: value

    def _FieldRef(self, e: ir.FieldRef) -> Fn:
        field, type_ = e.field, e.type
        label = self.checked.fields[field].field.label

        def traced(ctx: Context) -> Any:
            value = ctx.record.get(field)
            if ctx.trace is not None:
                ctx.trace.append((label, value, type_))
            if value is None:
                raise MissingFact(field)
            return value

        return traced

    def _ComputedRef(self, e: ir.ComputedRef) -> Fn:
        if e.field not in self._computed:
            inner = self.compile(self.checked.computed[e.field])
            label = self.checked.fields[e.field].field.label
            self._computed[e.field] = self._memoised("computed:" + e.field, inner, label, e.type)
        return self._computed[e.field]

    def _GroupRef(self, e: ir.GroupRef) -> Fn:
        return self.group(e.group)

    def _TableLookup(self, e: ir.TableLookup) -> Fn:
        cells = self.checked.tables[e.table]
        table = e.table
        keys = [self.compile(k) for k in e.keys]
        label = self.checked.policy.tables[table].label
        type_ = e.type
        key_types = [k.type for k in e.keys]

        def lookup(ctx: Context) -> Any:
            key = tuple(k(ctx) for k in keys)
            try:
                value = cells[key]
            except KeyError:
                raise NoTableEntry(table, key) from None
            if ctx.trace is not None:
                shown = ", ".join(display(k, t) for k, t in zip(key, key_types, strict=True))
                ctx.trace.append((f"{label}[{shown}]", value, type_))
            return value

        return lookup

    def _Awarded(self, e: ir.Awarded) -> Fn:
        program = e.program
        if e.want_amount:
            zero = Decimal(0)
            return lambda ctx: ctx.awarded.get(program, zero)
        return lambda ctx: program in ctx.awarded

    # -- operators ---------------------------------------------------------------
    def _Function(self, e: ir.Function) -> Fn:
        args = [self.compile(a) for a in e.args]
        if e.name == "age":
            birth, day = args
            return lambda ctx: age_on(birth(ctx), day(ctx))
        pick = min if e.name == "min" else max
        return lambda ctx: pick(a(ctx) for a in args)

    def _Negate(self, e: ir.Negate) -> Fn:
        operand = self.compile(e.operand)
        return lambda ctx: -operand(ctx)

    def _Arithmetic(self, e: ir.Arithmetic) -> Fn:
        left, right = self.compile(e.left), self.compile(e.right)
        if e.type.kind in ("money", "decimal") or e.op == "/":
            # Decimal throughout: ints are promoted, never floats.
            def as_decimal(fn: Fn) -> Fn:
                return lambda ctx: Decimal(fn(ctx))

            left, right = as_decimal(left), as_decimal(right)
        match e.op:
            case "+":
                return lambda ctx: left(ctx) + right(ctx)
            case "-":
                return lambda ctx: left(ctx) - right(ctx)
            case "*":
                return lambda ctx: left(ctx) * right(ctx)
            case "/":
                return lambda ctx: left(ctx) / right(ctx)
        raise ValueError(e.op)

    def _Compare(self, e: ir.Compare) -> Fn:
        left, right = self.compile(e.left), self.compile(e.right)
        match e.op:
            case "==":
                return lambda ctx: left(ctx) == right(ctx)
            case "!=":
                return lambda ctx: left(ctx) != right(ctx)
            case "<":
                return lambda ctx: left(ctx) < right(ctx)
            case "<=":
                return lambda ctx: left(ctx) <= right(ctx)
            case ">":
                return lambda ctx: left(ctx) > right(ctx)
            case ">=":
                return lambda ctx: left(ctx) >= right(ctx)
        raise ValueError(e.op)

    def _InList(self, e: ir.InList) -> Fn:
        item = self.compile(e.item)
        if all(isinstance(o, ir.Const) for o in e.options):
            options = frozenset(o.value for o in e.options)  # type: ignore[attr-defined]
            if e.negated:
                return lambda ctx: item(ctx) not in options
            return lambda ctx: item(ctx) in options
        fns = [self.compile(o) for o in e.options]
        if e.negated:
            return lambda ctx: item(ctx) not in {f(ctx) for f in fns}
        return lambda ctx: item(ctx) in {f(ctx) for f in fns}

    def _And(self, e: ir.And) -> Fn:
        return _all([self.compile(x) for x in e.operands])

    def _Or(self, e: ir.Or) -> Fn:
        parts = [self.compile(x) for x in e.operands]
        if len(parts) == 2:
            a, b = parts
            return lambda ctx: a(ctx) or b(ctx)
        return lambda ctx: any(p(ctx) for p in parts)

    def _Not(self, e: ir.Not) -> Fn:
        operand = self.compile(e.operand)
        return lambda ctx: not operand(ctx)

    def _IfElse(self, e: ir.IfElse) -> Fn:
        cond, then, otherwise = self.compile(e.condition), self.compile(e.then), self.compile(e.otherwise)
        return lambda ctx: then(ctx) if cond(ctx) else otherwise(ctx)


def _all(parts: list[Fn]) -> Fn:
    """Short-circuit `and`: a later part is not read when an earlier one is false."""
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        a, b = parts
        return lambda ctx: a(ctx) and b(ctx)
    return lambda ctx: all(p(ctx) for p in parts)


class _Forward:
    """Stands in for a group while its own conditions compile (cycles are refused earlier)."""

    target: Fn

    def __call__(self, ctx: Context) -> Any:
        return self.target(ctx)
