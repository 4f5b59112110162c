"""The ``properties:`` section: statements staff expect to hold for every student, typed like any
rule so ``zizhu verify`` (:mod:`engine.tools.verify`) can prove them.

Stage ``properties`` of :mod:`engine.check.stages`, run once programs are typed and ordered; a property reads programs
(``awarded``, ``amount``) but nothing reads a property.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.check import ir
from engine.diagnostics import Diagnostic
from engine.policy import model as m

if TYPE_CHECKING:
    from engine.check.context import CheckContext


@dataclass
class CheckedProperty:
    property: m.Property
    for_: ir.Expr | None  # None: every student
    expect: ir.Expr


def check_properties(checker: CheckContext) -> list[CheckedProperty]:
    """Every property with its `for` and `expect` typed as conditions; problems go to the checker's sink.
    Call it after the programs are ordered: nothing depends on a property, so its reads are dropped."""
    out = []
    for prop in checker.policy.properties.values():
        owner = ("property", prop.id)
        for_ = _condition(checker, prop, prop.for_, owner) if prop.for_ is not None else None
        expect = _condition(checker, prop, prop.expect, owner)
        checker.depends.pop(owner, None)
        if expect is not None and (prop.for_ is None or for_ is not None):
            out.append(CheckedProperty(prop, for_, expect))
    return out


def _condition(checker: CheckContext, prop: m.Property, source: m.Source, owner: tuple[str, str]) -> ir.Expr | None:
    expr = checker.expression(source, owner)
    if expr is not None and expr.type.kind != "bool":
        checker.sink.items.append(
            Diagnostic(
                source.location,
                f"性质「{prop.label}」的「{source.text}」应为条件（是/否），实际是{expr.type}",
                "for 写对哪些学生成立，expect 写对这些学生必然成立的条件",
                code="not-a-condition",
            )
        )
        return None
    return expr
