"""Stage ``graph``: refuse cycles among programs, groups and computed fields, and put the programs
in evaluation order (a program after those it reads or gives way to; otherwise the policy's order)."""

from __future__ import annotations

import heapq

from engine.check.checked import transitive_reads
from engine.check.context import CheckContext


def order_programs(ctx: CheckContext) -> None:
    state: dict[tuple[str, str], int] = {}  # 1 = on the path being explored, 2 = done
    for node in sorted(ctx.depends):
        _visit(ctx, node, state, [])
    # The policy's own order where dependencies allow it: stable for reports.
    deps = {pid: _indirect_programs(ctx, ("program", pid)) for pid in ctx.policy.programs}
    ctx.program_order = _stable_topological(list(ctx.policy.programs), deps)


def _visit(ctx: CheckContext, node: tuple[str, str], state: dict[tuple[str, str], int], stack: list) -> None:
    """Depth first from `node`, reporting each cycle met. (A function of its own: a recursive inner
    function would be a reference cycle holding the context until the cycle collector runs.)"""
    if state.get(node) == 2:
        return
    if state.get(node) == 1:
        cycle = [*stack[stack.index(node) :], node]
        names = " → ".join(ctx.item(n).label for n in cycle)
        ctx.sink.error(ctx.item(node).location, f"循环引用：{names}", "规则不能经由其他规则引用自己", code="cycle")
        return
    state[node] = 1
    stack.append(node)
    for dep in sorted(ctx.depends.get(node, ())):
        _visit(ctx, dep, state, stack)
    stack.pop()
    state[node] = 2


def _indirect_programs(ctx: CheckContext, node: tuple[str, str]) -> set[str]:
    """Programs a program depends on, directly or through groups and computed fields."""
    return {item for kind, item in transitive_reads(ctx.depends, node) if kind == "program"}


def _stable_topological(items: list[str], deps: dict[str, set[str]]) -> list[str]:
    """`items` in an order where each comes after its `deps`: at each step the first item, in the
    given order, whose dependencies are all placed; those in a cycle (already reported) at the end,
    in the given order. Kahn's algorithm with the ready items in a heap by position: linear but for
    the heap, where taking the first ready item by scanning the list was quadratic."""
    position = {item: index for index, item in enumerate(items)}
    waiting = {item: len(deps.get(item, set())) for item in items}
    needed_by: dict[str, list[str]] = {}
    for item in items:
        for dep in deps.get(item, set()):
            needed_by.setdefault(dep, []).append(item)
    ready = [position[item] for item in items if waiting[item] == 0]
    heapq.heapify(ready)
    done: list[str] = []
    while ready:
        item = items[heapq.heappop(ready)]
        done.append(item)
        for later in needed_by.get(item, ()):
            waiting[later] -= 1
            if waiting[later] == 0:
                heapq.heappush(ready, position[later])
    placed = set(done)
    return done + [item for item in items if item not in placed]
