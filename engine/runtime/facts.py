"""The run-time meaning every back end shares: blank facts are *unknown* (Kleene / SQL NULL logic),
run-time failures, and money rounding.

This module is the one place the three-valued operators are defined. A generated evaluator runs a
fast path in plain Python booleans (a blank read there raises :class:`MissingFact`, a missing table
cell :class:`NoTableEntry`, bad arithmetic a :class:`decimal` error); only an item whose fast path
raised is evaluated again with the functions below, where such a value is an :class:`Unknown`.
On known values plain Python and the functions below agree, and ``False and …`` / ``True or …``
are decided whatever the rest is, so the two paths give one meaning.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from engine.check.tables import FallbackTable


class FactFailure(Exception):
    """Something the fast path cannot decide: the item is evaluated again three-valued."""


class MissingFact(FactFailure):
    """A rule needs a field that the record leaves blank (and blank is not a value for it)."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


class NoTableEntry(FactFailure):
    """A table has no cell for the keys a record leads to."""

    def __init__(self, table: str, keys: tuple[Any, ...]) -> None:
        super().__init__(table, keys)
        self.table = table
        self.keys = keys


class UnlistedValue(FactFailure):
    """A record's value of a field with known values (a school) is not one of them where the policy
    requires it to be (engine.check.tables): a lookup keyed by it is a problem, not a fallback row."""

    def __init__(self, field: str, value: Any) -> None:
        super().__init__(field, value)
        self.field = field
        self.value = value


class Undecided(FactFailure):
    """A program read (awarded/amount, or a program it gives way to) is itself a problem."""


# What sends an item from the fast path to the three-valued one.
FALLBACK = (FactFailure, ArithmeticError)


class Unknown:
    """A value that cannot be known for this record, and why: the blank fields it depends on, the
    failures met (``("no-table-entry", table, keys)``, ``("arithmetic", text)``) and the programs
    whose undecided outcome it depends on. Combining unknowns takes the union, so the reasons never
    depend on the order operands were written in."""

    __slots__ = ("failures", "fields", "programs")

    def __init__(
        self,
        fields: frozenset[str] = frozenset(),
        failures: frozenset[tuple[Any, ...]] = frozenset(),
        programs: frozenset[str] = frozenset(),
    ) -> None:
        self.fields = fields
        self.failures = failures
        self.programs = programs

    def __or__(self, other: Unknown) -> Unknown:
        return Unknown(self.fields | other.fields, self.failures | other.failures, self.programs | other.programs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unknown) and (self.fields, self.failures, self.programs) == (
            other.fields,
            other.failures,
            other.programs,
        )

    def __hash__(self) -> int:
        return hash((self.fields, self.failures, self.programs))

    def __repr__(self) -> str:
        return f"Unknown({sorted(self.fields)}, {sorted(map(str, self.failures))}, {sorted(self.programs)})"

    @property
    def code(self) -> str:
        """The problem's stable code: a blank to fill in first, then a failure, else a program."""
        if self.fields:
            return "missing-fact"
        if self.failures:
            return min(f[0] for f in self.failures)
        return "undetermined"


def merged(values: tuple[Any, ...]) -> Unknown:
    out = Unknown()
    for v in values:
        if v.__class__ is Unknown:
            out = out | v
    return out


# -- the three-valued operators (the only definition of their meaning) -------------------------


def and3(*values: Any) -> Any:
    """Any false → false; else any unknown → unknown; else true."""
    if False in values:  # values are True, False or Unknown (never 0: conditions are typed bool)
        return False
    if any(v.__class__ is Unknown for v in values):
        return merged(values)
    return True


def or3(*values: Any) -> Any:
    """Any true → true; else any unknown → unknown; else false."""
    if True in values:
        return True
    if any(v.__class__ is Unknown for v in values):
        return merged(values)
    return False


def not3(value: Any) -> Any:
    return value if value.__class__ is Unknown else not value


def apply3(function: Callable[..., Any], *args: Any) -> Any:
    """A strict operation (comparison, `in`, arithmetic, lookup, min/max, age): unknown if any operand
    is, and a failure it meets is an unknown value, not an exception."""
    if any(a.__class__ is Unknown for a in args):
        return merged(args)
    try:
        return function(*args)
    except NoTableEntry as exc:
        return Unknown(failures=frozenset({("no-table-entry", exc.table, exc.keys)}))
    except AmountProblem as exc:
        return Unknown(failures=frozenset({(exc.code, exc.message)}))
    except ArithmeticError as exc:
        return Unknown(failures=frozenset({("arithmetic", arithmetic_problem(exc))}))


def lookup_fallback(table: FallbackTable, keys: tuple[Any, ...]) -> Decimal:
    """A table with a fallback row, every key known (the fast path): the exact row, else the
    fallback row (engine.check.tables); no cell raises."""
    row = table.row(keys)
    if row is None:
        raise NoTableEntry(table.table_id, keys)
    return table.cells[row]


def lookup_fallback3(table: FallbackTable, keys: tuple[Any, ...]) -> tuple[Any, tuple[Any, ...] | str | None]:
    """A table with a fallback row, three-valued: (the value or an Unknown, the row read — or
    ``"listed"`` when a blank fallback key leaves it open — or None). A blank fallback key is
    unknown only where the table lists values of it for the other keys."""
    position = table.position
    if any(k.__class__ is Unknown for i, k in enumerate(keys) if i != position):
        return merged(keys), None
    key = keys[position]
    if key.__class__ is Unknown:
        others = (*keys[:position], *keys[position + 1 :])
        row = table.row_without_fallback_key(others)
        if row == "listed":
            return key, row  # which row applies depends on the blank
        keys = (*keys[:position], None, *keys[position + 1 :])  # shown as blank if no row applies
    else:
        row = table.row(keys)
    if row is None:
        return Unknown(failures=frozenset({("no-table-entry", table.table_id, keys)})), None
    return table.cells[row], row  # type: ignore[index]


def unlisted(field: str, value: Any) -> Any:
    """The fast path's read of a value outside its field's known values where they are required."""
    raise UnlistedValue(field, value)


def known3(known: frozenset[str], field: str, key: Any, required: Any) -> Any:
    """Whether a lookup keyed by `key` (the field's value) may be made, three-valued (ir.RequireKnown):
    True for a blank key (the lookup decides) or a known value, or where `required` is false; else
    an Unknown — the problem ``unknown-value`` where `required` is true, `required`'s own where it
    is unknown."""
    if key.__class__ is Unknown or key in known or required is False:
        return True
    if required is True:
        return Unknown(failures=frozenset({("unknown-value", field, key)}))
    return required


def arithmetic_problem(exc: ArithmeticError) -> str:
    """A Chinese phrase for a failed calculation."""
    if isinstance(exc, decimal.DivisionByZero | ZeroDivisionError):
        return "除数为零"
    if isinstance(exc, decimal.Overflow | OverflowError):
        return "数值过大"
    if isinstance(exc, decimal.InvalidOperation):
        return "数值过大或不是有效的数"
    return "计算出错"


# -- money ---------------------------------------------------------------------------------------

FEN = Decimal("0.01")
ROUNDING_RULES = {"half_up": decimal.ROUND_HALF_UP, "half_even": decimal.ROUND_HALF_EVEN, "down": decimal.ROUND_DOWN}


def rounder(rule: str) -> Callable[[Any], Decimal]:
    """The policy's rounding to the fen, applied once where an amount is computed. A non-finite or
    too large figure raises an ArithmeticError (a problem on the row), never a wrong amount."""
    mode = ROUNDING_RULES[rule]
    context = decimal.Context(prec=28, traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow])

    def to_fen(value: Any) -> Decimal:
        amount = value if value.__class__ is Decimal else Decimal(value)
        if not amount.is_finite():
            raise decimal.InvalidOperation(str(amount))
        rounded = amount.quantize(FEN, rounding=mode, context=context)
        if rounded > 0:
            return rounded
        if amount == 0:
            return NO_AMOUNT  # exactly nothing to pay (a loan of 0 asked): not awarded, with that reason
        written = format(rounded if rounded == amount else amount, "f")  # -87.50; 0.001 as computed
        if amount < 0:
            raise AmountProblem("negative-amount", f"按规则计算的金额为 {written}，是负数（资助金额不能为负）")
        raise AmountProblem("amount-below-fen", f"按规则计算的金额为 {written}，不到 1 分，舍入到分后为 0.00")

    return to_fen


NO_AMOUNT = Decimal("0.00")
AMOUNT_PROBLEMS = ("negative-amount", "amount-below-fen")  # the codes of AmountProblem


class AmountProblem(ArithmeticError):
    """A computed amount no student can be paid (negative, or above zero but below the fen): a row
    problem with its own code — never a quiet "not awarded"."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
