"""The checked policy: what the checker's stages (:mod:`engine.check.stages`) hand to every back end.

The loaded model (:mod:`engine.policy.model`) is what the YAML says; everything typed from it
(field types, parameter values, table cells, expression trees, program order) lives here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.check import ir
from engine.check.properties import CheckedProperty
from engine.check.types import Type
from engine.diagnostics import Location
from engine.policy import model as m


@dataclass(frozen=True)
class Symbol:
    kind: str  # field | computed | parameter | group | table | program
    id: str
    label: str
    type: Type | None
    location: Location


@dataclass
class CheckedCondition:
    condition: m.Condition
    expr: ir.Expr

    @property
    def label(self) -> str:
        return self.condition.label or self.expr.text


@dataclass
class CheckedExclusion:
    exclusion: m.Exclusion
    expr: ir.Expr


@dataclass(frozen=True)
class Parts:
    """A program's conditions, exclusions and `not_with` relations (a check's conditions) in the ONE
    order every back end tries them in (:mod:`engine.check.order`): the first that decides against
    the item is the reason reported, so this order — never the order of the policy's lists — decides
    which reason a refusal gives.

    A program's reasons are numbered in this order (the evaluator's prebuilt Denials, the SQL back
    end's ``why_i``): conditions, then exclusions, then relations, then :attr:`zero_amount`."""

    conditions: tuple[CheckedCondition, ...] = ()
    exclusions: tuple[CheckedExclusion, ...] = ()
    relations: tuple[m.Relation, ...] = ()

    def __len__(self) -> int:
        return len(self.conditions) + len(self.exclusions) + len(self.relations)

    @property
    def zero_amount(self) -> int:
        """The number of the last reason: every part holds, but the amount computed is exactly 0."""
        return len(self)


@dataclass
class CheckedProgram:
    program: m.Program
    conditions: list[CheckedCondition]
    exclusions: list[CheckedExclusion]
    amount: ir.Expr
    priority: ir.Expr | None
    # The same conditions, exclusions and relations in canonical order (the checker's `order` stage).
    parts: Parts = field(default_factory=Parts)


@dataclass
class CheckedCheck:
    check: m.Check
    conditions: list[CheckedCondition]
    # The same conditions in canonical order (the checker's `order` stage).
    parts: Parts = field(default_factory=Parts)


@dataclass
class FieldInfo:
    field: m.Field
    type: Type
    blank: Any  # typed value a blank cell takes; None = missing


@dataclass
class CheckedPolicy:
    policy: m.Policy
    fields: dict[str, FieldInfo]
    computed: dict[str, ir.Expr]
    groups: dict[str, list[CheckedCondition]]
    tables: dict[str, dict[tuple[Any, ...], Decimal]]
    programs: dict[str, CheckedProgram]
    checks: dict[str, CheckedCheck]
    # Programs in evaluation order: a program comes after those it refers to or gives way to.
    program_order: list[str]
    symbols: dict[str, Symbol] = field(repr=False, default_factory=dict)
    # (kind, id) of each program, check, group and computed field → the named items its rules read.
    depends: dict[tuple[str, str], set[tuple[str, str]]] = field(repr=False, default_factory=dict)
    # role (identity_number, name, school, township, stage, grade) → the field id that has it.
    roles: dict[str, str] = field(default_factory=dict)
    properties: list[CheckedProperty] = field(repr=False, default_factory=list)
    # parameter id → its typed value (the model keeps the value as the YAML wrote it).
    parameters: dict[str, Any] = field(default_factory=dict)

    def role_field(self, role: str) -> str | None:
        """The id of the field the policy gave `role`, or None when no field has it."""
        return self.roles.get(role)

    def reads(self, owner: tuple[str, str]) -> set[tuple[str, str]]:
        return transitive_reads(self.depends, owner)

    def expressions(self, item: tuple[str, str]) -> list[ir.Expr]:
        """The expressions an item (program, check, group, computed field) writes itself; those of the
        items it reads are theirs (:meth:`reads` names them)."""
        kind, name = item
        if kind == "program":
            cp = self.programs[name]
            own = [c.expr for c in cp.conditions] + [x.expr for x in cp.exclusions] + [cp.amount]
            return own + ([cp.priority] if cp.priority is not None else [])
        if kind == "check":
            return [c.expr for c in self.checks[name].conditions]
        if kind == "group":
            return [c.expr for c in self.groups[name]]
        if kind == "computed":
            return [self.computed[name]]
        return []

    @property
    def manifest(self) -> m.Manifest:
        return self.policy.manifest

    def label(self, item_id: str) -> str:
        for section in (self.policy.programs, self.policy.checks, self.policy.groups, self.policy.fields):
            if item_id in section:
                return section[item_id].label
        return item_id


def transitive_reads(
    depends: dict[tuple[str, str], set[tuple[str, str]]], owner: tuple[str, str]
) -> set[tuple[str, str]]:
    """Everything `owner` reads, directly or through groups and computed fields (not through programs:
    another program's outcome is read, not its rules)."""
    found: set[tuple[str, str]] = set()
    todo = list(depends.get(owner, ()))
    while todo:
        item = todo.pop()
        if item not in found:
            found.add(item)
            if item[0] in ("group", "computed"):
                todo.extend(depends.get(item, ()))
    return found
