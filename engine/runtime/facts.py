"""Run-time failures every back end reports the same way, and the built-in date arithmetic."""

from __future__ import annotations

import datetime as dt
from typing import Any


class MissingFact(Exception):
    """A rule needs a field that the record leaves blank (and blank is not a value for it)."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


class NoTableEntry(Exception):
    """A table has no cell for the keys a record leads to."""

    def __init__(self, table: str, keys: tuple[Any, ...]) -> None:
        super().__init__(table, keys)
        self.table = table
        self.keys = keys


def age_on(birth: dt.date, day: dt.date) -> int:
    """Full years (周岁) on `day`, counted as Chinese law counts them (reading, Decision A1):
    a year is complete from the day *after* the birthday."""
    years = day.year - birth.year
    if (day.month, day.day) <= (birth.month, birth.day):
        years -= 1
    return years
