"""Stage ``order``: the one order in which each program's conditions, exclusions and relations (each
check's conditions) are tried — :class:`~engine.check.checked.Parts`.

A refusal reports the first part, in this order, that decides against the program, so the order
decides *which* reason a student is given. It is computed here once, on the checked tree, and every
back end reads it: the generated Python (fast and three-valued paths, and explain's trace flavour),
the evaluator's prebuilt reasons, and the SQL back end's ``why_i`` columns. It never depends on the
order the policy's lists were written in:

- conditions: those that read no field that may be blank first, then the cheaper, then by normal
  form (so a record is refused on known facts before a blank is reached, where it can be);
- exclusions by id; relations by the id of the program given way to.
"""

from __future__ import annotations

from engine.check import ir
from engine.check.checked import CheckedCondition, FieldInfo, Parts
from engine.check.context import CheckContext
from engine.language.parse import canonical


def order_parts(ctx: CheckContext) -> None:
    """Every program's and check's :class:`Parts`, in canonical order."""
    for cp in ctx.programs.values():
        cp.parts = Parts(
            _conditions_in_order(ctx, cp.conditions),
            tuple(sorted(cp.exclusions, key=lambda x: x.exclusion.id)),
            tuple(sorted(cp.program.not_with, key=lambda r: r.program)),
        )
    for cc in ctx.checks.values():
        cc.parts = Parts(_conditions_in_order(ctx, cc.conditions))


def _conditions_in_order(ctx: CheckContext, conditions: list[CheckedCondition]) -> tuple[CheckedCondition, ...]:
    def key(c: CheckedCondition) -> tuple[bool, int, str]:
        may_be_blank, size = _cost(ctx, c.expr)
        return may_be_blank > 0, size, canonical(c.expr.text)

    return tuple(sorted(conditions, key=key))


def _cost(ctx: CheckContext, e: ir.Expr) -> tuple[int, int]:
    """(reads of fields that may be blank, nodes) of an expression, groups and computed fields
    expanded. (A group or computed field the checker could not type counts as one node: the policy
    is refused anyway, after every stage has run.)"""
    match e:
        case ir.FieldRef(field=f):
            info: FieldInfo | None = ctx.fields.get(f)
            return (1 if info is None or info.blank is None else 0), 1
        case ir.GroupRef(group=g):
            inner = [_cost(ctx, c.expr) for c in ctx.groups.get(g, [])]
        case ir.ComputedRef(field=f):
            inner = [_cost(ctx, ctx.computed[f])] if f in ctx.computed else []
        case ir.TableLookup(keys=xs) | ir.Function(args=xs) | ir.And(operands=xs) | ir.Or(operands=xs):
            inner = [_cost(ctx, x) for x in xs]
        case ir.RequireKnown(value=v, required=r):
            inner = [_cost(ctx, v), _cost(ctx, r)]
        case ir.Negate(operand=x) | ir.Not(operand=x):
            inner = [_cost(ctx, x)]
        case ir.Arithmetic(left=a, right=b) | ir.Compare(left=a, right=b):
            inner = [_cost(ctx, a), _cost(ctx, b)]
        case ir.InList(item=x, options=xs):
            inner = [_cost(ctx, y) for y in (x, *xs)]
        case ir.IfElse(condition=c, then=t, otherwise=o):
            inner = [_cost(ctx, y) for y in (c, t, o)]
        case _:
            return 0, 1
    return sum(b for b, _ in inner), 1 + sum(n for _, n in inner)
