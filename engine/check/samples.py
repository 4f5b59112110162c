"""Which programs' amounts can read a table marked ``sample: true`` — decided from the checked
tree, before any record is read, so every output can mark sample money (contract 3).

An amount reads a table when its expression looks it up, directly or through a group, a computed
field or another program's ``amount(…)``. Whether a program is awarded (``awarded(…)``) moves no
money from that program's amount, so it does not count.
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.check import ir
from engine.check.checked import CheckedPolicy

SAMPLE_MARK = "※"  # beside every amount computed from a table marked `sample: true`


def sample_footnote(labels: Iterable[str]) -> str:
    """The note under amounts computed from a sample table (contract 3); "" when there are none."""
    shown = list(dict.fromkeys(labels))
    if not shown:
        return ""
    return f"注：标 {SAMPLE_MARK} 的金额（{'、'.join(shown)}）按示例收费标准计算，须由主管部门替换为实际标准后再用"


def sample_programs(checked: CheckedPolicy) -> frozenset[str]:
    """The ids of the programs whose amount can read a sample table."""
    sample_tables = {tid for tid, table in checked.policy.tables.items() if table.sample}
    if not sample_tables:
        return frozenset()
    return frozenset(pid for pid in checked.programs if amount_tables(checked, pid) & sample_tables)


def amount_tables(checked: CheckedPolicy, program: str) -> set[str]:
    """Every table program `program`'s amount can read, transitively."""
    tables: set[str] = set()
    seen: set[tuple[str, str]] = set()
    todo: list[ir.Expr] = [checked.programs[program].amount]
    while todo:
        for node in ir.subexpressions(todo.pop()):
            reference: tuple[str, str] | None = None
            if isinstance(node, ir.TableLookup):
                tables.add(node.table)
            elif isinstance(node, ir.GroupRef):
                reference = ("group", node.group)
            elif isinstance(node, ir.ComputedRef):
                reference = ("computed", node.field)
            elif isinstance(node, ir.Awarded) and node.want_amount:
                reference = ("program", node.program)
            if reference is None or reference in seen:
                continue
            seen.add(reference)
            kind, item = reference
            if kind == "group":
                todo.extend(c.expr for c in checked.groups[item])
            elif kind == "computed":
                todo.append(checked.computed[item])
            else:
                todo.append(checked.programs[item].amount)
    return tables
