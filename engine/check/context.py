"""What the checker's stages share while they run: the model being checked, the one diagnostic sink,
and what each stage has found so far (read by the stages after it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.check import ir
from engine.check.checked import CheckedCheck, CheckedCondition, CheckedProgram, FieldInfo, Symbol
from engine.check.properties import CheckedProperty
from engine.check.types import EnumDef, Type
from engine.diagnostics import DiagnosticSink
from engine.policy import model as m


@dataclass
class CheckContext:
    policy: m.Policy
    sink: DiagnosticSink = field(default_factory=DiagnosticSink)
    # symbols
    symbols: dict[str, Symbol] = field(default_factory=dict)
    enums: dict[str, EnumDef] = field(default_factory=dict)
    field_types: dict[str, Type] = field(default_factory=dict)
    # values
    parameters: dict[str, Any] = field(default_factory=dict)  # id → typed value
    fields: dict[str, FieldInfo] = field(default_factory=dict)
    tables: dict[str, dict[tuple[Any, ...], Decimal]] = field(default_factory=dict)
    # known: field id → its typed `required_when` (where a value outside its known values is a problem)
    known_required: dict[str, ir.Expr] = field(default_factory=dict)
    # expressions; `depends`: which named items each item's expressions mention, for the graph stage.
    depends: dict[tuple[str, str], set[tuple[str, str]]] = field(default_factory=dict)
    computed: dict[str, ir.Expr] = field(default_factory=dict)
    groups: dict[str, list[CheckedCondition]] = field(default_factory=dict)
    programs: dict[str, CheckedProgram] = field(default_factory=dict)
    checks: dict[str, CheckedCheck] = field(default_factory=dict)
    # graph, roles, properties
    program_order: list[str] = field(default_factory=list)
    roles: dict[str, str] = field(default_factory=dict)
    properties: list[CheckedProperty] = field(default_factory=list)

    def expression(self, src: m.Source, owner: tuple[str, str], numbers_are_money: bool = False) -> ir.Expr | None:
        """The typed tree of one expression, or None (the error is recorded in the sink)."""
        from engine.check.expressions import type_expression

        return type_expression(self, src, owner, numbers_are_money)

    def item(self, owner: tuple[str, str]) -> m.Field | m.Group | m.Program | m.Check:
        """The model item behind a (kind, id) of `depends`."""
        kind, item_id = owner
        section = {
            "computed": self.policy.fields,
            "group": self.policy.groups,
            "program": self.policy.programs,
            "check": self.policy.checks,
        }[kind]
        return section[item_id]
