"""The checker: policy model → :class:`~engine.check.checked.CheckedPolicy`, or every error at once.

One table of named stages, run in order (after OPA's ``ast/compile.go``). Each stage reads what the
stages before it found in the shared :class:`~engine.check.context.CheckContext` and records its
problems in the one sink; the problems are raised together after the last stage, each located in
the YAML.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.check.checked import CheckedPolicy
from engine.check.context import CheckContext
from engine.check.data import type_data
from engine.check.expressions import type_expressions
from engine.check.graph import order_programs
from engine.check.known import check_known
from engine.check.order import order_parts
from engine.check.properties import check_properties
from engine.check.relations import check_relations
from engine.check.roles import field_roles
from engine.check.symbols import collect_symbols
from engine.check.texts import render_texts
from engine.diagnostics import PolicyError
from engine.policy import model as m


def _texts(ctx: CheckContext) -> None:
    render_texts(ctx.policy, ctx.symbols, ctx.tables, ctx.field_types, ctx.sink, ctx.parameters)


def _roles(ctx: CheckContext) -> None:
    ctx.roles, problems = field_roles(ctx.policy)
    ctx.sink.extend(problems)


def _properties(ctx: CheckContext) -> None:
    # zizhu verify's statements; nothing reads a property, so this runs after the graph.
    ctx.properties = check_properties(ctx)


STAGES: list[tuple[str, Callable[[CheckContext], None]]] = [
    ("symbols", collect_symbols),  # every name an expression may use, with its type
    ("data", type_data),  # parameters, blank values, table cells typed
    ("known", check_known),  # a text field's known values (schools), aliases, required_when
    ("expressions", type_expressions),  # every rule typed into engine.check.ir; what each reads
    ("order", order_parts),  # the one order a program's parts are tried in (which reason a refusal gives)
    ("relations", check_relations),  # not_with; no rule reads a program that has a quota
    ("texts", _texts),  # {placeholders} in reasons, labels and messages
    ("graph", order_programs),  # no cycles; programs in evaluation order
    ("roles", _roles),  # which field is the identity number, name, school, …
    ("properties", _properties),  # zizhu verify's statements
]


def check_policy(policy: m.Policy) -> CheckedPolicy:
    """Run every stage of :data:`STAGES`; raise :class:`PolicyError` with all their problems, if any."""
    ctx = CheckContext(policy)
    for _name, stage in STAGES:
        stage(ctx)
    ctx.sink.raise_if_any()
    return CheckedPolicy(
        policy,
        ctx.fields,
        ctx.computed,
        ctx.groups,
        ctx.tables,
        ctx.programs,
        ctx.checks,
        ctx.program_order,
        ctx.symbols,
        ctx.depends,
        ctx.roles,
        ctx.properties,
        ctx.parameters,
    )


__all__ = ["STAGES", "CheckedPolicy", "PolicyError", "check_policy"]
