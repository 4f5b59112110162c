"""Stage ``graph``: refuse cycles among programs, groups and computed fields, and put the programs
in evaluation order (a program after those it reads or gives way to; otherwise the policy's order)."""

from __future__ import annotations

from engine.check.checked import transitive_reads
from engine.check.context import CheckContext


def order_programs(ctx: CheckContext) -> None:
    state: dict[tuple[str, str], int] = {}  # 1 = on the path being explored, 2 = done
    stack: list[tuple[str, str]] = []

    def visit(node: tuple[str, str]) -> None:
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
            visit(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(ctx.depends):
        visit(node)
    # The policy's own order where dependencies allow it: stable for reports.
    deps = {pid: _indirect_programs(ctx, ("program", pid)) for pid in ctx.policy.programs}
    ctx.program_order = _stable_topological(list(ctx.policy.programs), deps)


def _indirect_programs(ctx: CheckContext, node: tuple[str, str]) -> set[str]:
    """Programs a program depends on, directly or through groups and computed fields."""
    return {item for kind, item in transitive_reads(ctx.depends, node) if kind == "program"}


def _stable_topological(items: list[str], deps: dict[str, set[str]]) -> list[str]:
    done: list[str] = []
    placed: set[str] = set()
    remaining = list(items)
    while remaining:
        for pid in remaining:
            if deps.get(pid, set()) <= placed:
                done.append(pid)
                placed.add(pid)
                remaining.remove(pid)
                break
        else:  # a cycle, already reported
            done.extend(remaining)
            break
    return done
