"""Tables with a fallback row: the one meaning every back end implements.

A table may declare a fallback word for one of its keys (``fallback: {school: 其他学校}``). A row
written with that word (its key is :data:`OTHER` in the checked cells) stands for every value of
that key the table does not list *for the same other keys*: 其他学校 under 普通高中 is every
普通高中 school without its own row. The meaning, for keys ``k`` with the fallback key at ``i``:

- every key known: the exact row ``k`` if the table has it, else the fallback row (``k`` with
  :data:`OTHER` at ``i``) if it has that, else no cell (a problem, as any missing cell);
- the fallback key blank (unknown), the other keys known: unknown (naming that key) when the table
  lists any value of it for those other keys — which row applies depends on the blank; else the
  fallback row when there is one, else no cell;
- any other key blank: unknown, as for every lookup.

The order of rows never matters: an exact row always wins over the fallback row.

A field may declare its known values (``known:`` — the county's schools, with aliases read as
their school): where its ``required_when`` holds, a value outside the list is not "another
school". Every lookup keyed by such a field is then a problem (``unknown-value``), not the fallback
row; where the condition is unknown, so is the lookup; where it is false (a school outside the
county), the lookup is as above. The checker wraps each such lookup in
:class:`engine.check.ir.RequireKnown`, which every back end implements.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from engine.policy import model as m


class _Other:
    """The key of a fallback row (one object: compared by identity, never equal to a value)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "OTHER"

    def __reduce__(self) -> str:
        return "OTHER"  # pickled (--jobs) as the one object


OTHER = _Other()


def fallback_position(table: m.Table) -> int | None:
    """Where the table's fallback key stands among its keys, or None when it declares none."""
    if table.fallback is None or table.fallback[0] not in table.keys:
        return None
    return table.keys.index(table.fallback[0])


@dataclass(frozen=True, eq=False)  # one per table: compared and hashed by identity
class FallbackTable:
    """A table with a fallback row, as the back ends look it up."""

    table_id: str
    cells: dict[tuple[Any, ...], Decimal]
    position: int  # of the fallback key
    # The other keys (the key tuple without the fallback key) that have at least one exact row.
    listed: frozenset[tuple[Any, ...]]

    @classmethod
    def of(cls, table_id: str, cells: dict[tuple[Any, ...], Decimal], position: int) -> FallbackTable:
        listed = frozenset(_others(key, position) for key in cells if key[position] is not OTHER)
        return cls(table_id, cells, position, listed)

    def row(self, keys: tuple[Any, ...]) -> tuple[Any, ...] | None:
        """The row a record whose every key is known reads: exact, else fallback, else None."""
        if keys in self.cells:
            return keys
        other = (*keys[: self.position], OTHER, *keys[self.position + 1 :])
        return other if other in self.cells else None

    def row_without_fallback_key(self, others: tuple[Any, ...]) -> tuple[Any, ...] | str | None:
        """With the fallback key blank and the `others` known: ``"listed"`` when which row applies
        depends on the blank; else the fallback row, or None when there is none."""
        if others in self.listed:
            return "listed"
        other = (*others[: self.position], OTHER, *others[self.position :])
        return other if other in self.cells else None


def _others(key: tuple[Any, ...], position: int) -> tuple[Any, ...]:
    return (*key[:position], *key[position + 1 :])


def fallback_tables(policy: m.Policy, tables: dict[str, dict[tuple[Any, ...], Decimal]]) -> dict[str, FallbackTable]:
    """Every table of the policy that declares a fallback row, ready to look up."""
    out = {}
    for table_id, cells in tables.items():
        position = fallback_position(policy.tables[table_id])
        if position is not None:
            out[table_id] = FallbackTable.of(table_id, cells, position)
    return out


def key_text(table: m.Table, key: Any, shown: str) -> str:
    """A cell key as a person reads it: the table's fallback word for :data:`OTHER`."""
    if key is OTHER and table.fallback is not None:
        return table.fallback[1]
    return shown


__all__ = ["OTHER", "FallbackTable", "fallback_position", "fallback_tables", "key_text"]
