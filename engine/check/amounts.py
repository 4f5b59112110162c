"""What the checker can prove of a program's amount before any student is read.

Every money value the language can read is yuan, whole fen and not negative: a money cell of the
student list, a parameter and a table figure all pass :func:`engine.check.values.parse_number`'s
one money rule. So an amount built from them by adding, subtracting, multiplying by whole numbers,
``min``, ``max`` and ``if`` is whole fen, and without subtraction or negation it cannot go below zero.

A back end may then skip the run-time tests these facts settle (the SQL back end tests each
amount of each row for "exact to the fen" and "not negative" otherwise). Anything not covered
here is simply not proved: the run-time test stays, and the answer is the same, only slower.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from engine.check import ir
from engine.check.checked import CheckedPolicy
from engine.check.types import CENT


@dataclass(frozen=True)
class AmountFacts:
    whole_fen: bool  # every value it can take is a multiple of 0.01
    not_negative: bool  # no value it can take is below 0


UNPROVED = AmountFacts(False, False)


def amount_facts(checked: CheckedPolicy, expr: ir.Expr) -> AmountFacts:
    """What holds of every value `expr` can take, for any student (unknown counts as any value)."""
    match expr:
        case ir.Const(value=v) | ir.ParamRef(value=v):
            return _of_number(v)
        case ir.FieldRef(field=f):
            return _of_field(checked, f)
        case ir.ComputedRef(field=f):
            return amount_facts(checked, checked.computed[f])
        case ir.RequireKnown(value=v):  # the value, or unknown (never another value)
            return amount_facts(checked, v)
        case ir.TableLookup(table=t):
            cells = [_of_number(v) for v in checked.tables[t].values()]
            return AmountFacts(all(c.whole_fen for c in cells), all(c.not_negative for c in cells))
        case ir.Function(name=name, args=args) if name in ("min", "max"):
            return _all(checked, args)
        case ir.IfElse(then=then, otherwise=otherwise):
            return _all(checked, (then, otherwise))
        case ir.Arithmetic(op="+", left=a, right=b):
            return _all(checked, (a, b))
        case ir.Arithmetic(op="-", left=a, right=b):
            return AmountFacts(_all(checked, (a, b)).whole_fen, False)
        case ir.Negate(operand=x):
            return AmountFacts(amount_facts(checked, x).whole_fen, False)
        case ir.Arithmetic(op="*", left=a, right=b):
            left, right = amount_facts(checked, a), amount_facts(checked, b)
            # whole fen times a whole number is whole fen (312.50 × 2); times 0.5 it may not be
            whole = (_whole_number(a) and right.whole_fen) or (_whole_number(b) and left.whole_fen)
            return AmountFacts(whole, left.not_negative and right.not_negative)
    return UNPROVED


def _all(checked: CheckedPolicy, parts: tuple[ir.Expr, ...]) -> AmountFacts:
    facts = [amount_facts(checked, p) for p in parts]
    return AmountFacts(all(f.whole_fen for f in facts), all(f.not_negative for f in facts))


def _of_number(value: object) -> AmountFacts:
    if value is None:  # blank: unknown, never a value
        return AmountFacts(True, True)
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return UNPROVED
    return AmountFacts(Decimal(value) == Decimal(value).quantize(CENT), value >= 0)


def _of_field(checked: CheckedPolicy, field_id: str) -> AmountFacts:
    info = checked.fields[field_id]
    low = info.field.minimum
    if info.type.kind == "money":  # the money rule: whole fen, never negative
        read = AmountFacts(True, True)
    else:
        read = AmountFacts(info.type.kind == "int", low is not None and low >= 0)
    blank = _of_number(info.blank)  # the value the policy declares for a blank cell counts too
    return AmountFacts(read.whole_fen and blank.whole_fen, read.not_negative and blank.not_negative)


def _whole_number(expr: ir.Expr) -> bool:
    """Whether every value of `expr` is an integer (a whole number of yuan is one too)."""
    if isinstance(expr, ir.Const | ir.ParamRef):
        return isinstance(expr.value, int) or (
            isinstance(expr.value, Decimal) and expr.value == expr.value.to_integral()
        )
    return expr.type.kind == "int"
