"""What evaluation produces, whichever back end runs it: a record's awards, the reasons a
program was not awarded, flags, row problems, and the explanation of one record.

Reading records (:mod:`engine.files.records`) and every tool that consumes results import
these types from here, never from a back end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from engine.check.types import Type

ZERO = Decimal(0)


class PeriodNotCovered(Exception):
    """The semester asked for is outside the policy's effective periods."""


@dataclass(frozen=True)
class Record:
    """One student's typed facts (field id → value, every input field present; None = blank),
    with its spreadsheet row."""

    row: int
    values: dict[str, Any]


@dataclass(frozen=True)
class Award:
    program: str
    label: str
    amount: Decimal
    kind: str
    per: str
    clause: str
    # True when the amount read a table marked `sample: true`: figures the bureau must replace,
    # which every output marks (engine.check.samples decides which programs these are).
    sample: bool = False


@dataclass(frozen=True)
class Denial:
    """Why a program was not awarded: a condition false, an exclusion, a relation or the quota."""

    program: str
    label: str
    reason: str
    clause: str
    cause: str  # condition | exclusion | relation | quota | zero
    item: str = ""  # the exclusion id, or the condition's text


@dataclass(frozen=True)
class Flag:
    check: str
    label: str
    clause: str
    message: str
    category: str = "attendance"  # attendance | outreach | consistency (engine.vocabulary.CHECK_CATEGORY_WORDS)


@dataclass(frozen=True)
class RowError:
    """A problem with one row: why it was rejected, or why an item could not be decided."""

    message: str
    field: str = ""
    program: str = ""
    column: str = ""
    # A stable, English, kebab-case code (``missing-fact``, ``bad-check-digit``, ``duplicate-id`` …).
    code: str = ""


_NO_PRIORITIES: Mapping[str, int] = MappingProxyType({})


class Result:
    """One evaluated record: awards, flags, row errors, and (when asked for) the reason behind
    every program not awarded and the groups found true (the populations a result rests on)."""

    __slots__ = ("awards", "denials", "errors", "flags", "groups", "id_number", "name", "priorities", "row", "values")

    # Empty parts are shared empty tuples: most students have no errors, many no award. Treat the
    # sequences as read-only; a later pass (quota) replaces them rather than changing them.
    def __init__(
        self,
        row: int,
        id_number: str,
        name: str,
        values: dict[str, Any],
        awards: Sequence[Award] = (),
        denials: Sequence[Denial] = (),
        flags: Sequence[Flag] = (),
        errors: Sequence[RowError] = (),
        priorities: Mapping[str, int] | None = None,
        groups: Sequence[str] = (),
    ) -> None:
        self.row = row
        self.id_number = id_number
        self.name = name
        self.values = values  # the record's typed facts, for grouping in ledgers (not copied)
        self.awards = awards
        self.denials = denials
        self.flags = flags
        self.errors = errors
        self.priorities = priorities if priorities is not None else _NO_PRIORITIES  # for filling a quota
        self.groups = groups

    @property
    def total(self) -> Decimal:
        return sum((a.amount for a in self.awards), ZERO)

    def __repr__(self) -> str:
        return f"Result(row={self.row}, id_number={self.id_number!r}, awards={self.awards}, flags={self.flags})"


@dataclass
class TraceStep:
    """One condition, exclusion, relation or amount of an explained item: its text, its value
    (True, False, an amount, or an Unknown), the facts read, and whether it decided the outcome."""

    role: str  # condition | exclusion | relation | amount
    text: str
    label: str
    value: Any
    reads: list[tuple[str, Any, Type | None]]
    clause: str = ""
    error: str = ""  # why the value is unknown (the blanks or failures), in Chinese
    decisive: bool = False  # the false condition (or true exclusion …) a refusal reports, or an unknown part


@dataclass
class Explanation:
    item: str
    label: str
    kind: str  # program | check
    outcome: str  # awarded | denied | flagged | clear | error
    amount: Decimal | None
    clause: str
    text: str
    steps: list[TraceStep]
    reason: str = ""
