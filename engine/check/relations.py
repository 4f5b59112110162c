"""Stage ``relations``: what programs say about each other — ``not_with`` (gives way to a known
program, not itself, not both ways) and quotas (no rule may read a program that has a quota)."""

from __future__ import annotations

from engine.check.context import CheckContext
from engine.diagnostics import suggest


def check_relations(ctx: CheckContext) -> None:
    _not_with(ctx)
    _quota_not_referenced(ctx)


def _not_with(ctx: CheckContext) -> None:
    p = ctx.policy
    for pr in p.programs.values():
        owner = ("program", pr.id)
        for rel in pr.not_with:
            if rel.program not in p.programs:
                ctx.sink.error(
                    rel.location,
                    f"不认识的资助项目「{rel.program}」",
                    suggest(rel.program, list(p.programs)),
                    code="unknown-name",
                )
            elif rel.program == pr.id:
                ctx.sink.error(rel.location, "项目不能与自己互斥", code="relation")
            else:
                # Giving way reads the other program's outcome: the graph stage orders it first.
                ctx.depends.setdefault(owner, set()).add(("program", rel.program))
                other = p.programs[rel.program]
                if any(r.program == pr.id for r in other.not_with):
                    ctx.sink.error(
                        rel.location,
                        f"「{pr.label}」与「{other.label}」互相让位，无法决定保留哪一个",
                        "互斥关系只在让位的一方写",
                        code="relation",
                    )


def _quota_not_referenced(ctx: CheckContext) -> None:
    # A quota is filled after all students are evaluated, so no rule may depend on its outcome.
    for owner, deps in ctx.depends.items():
        for kind, target in deps:
            program = ctx.policy.programs.get(target) if kind == "program" else None
            if program and program.quota:
                ctx.sink.error(
                    ctx.item(owner).location,
                    f"「{program.label}」设有名额，其结果在全部学生评完后才定，不能被其他规则引用",
                    code="quota-reference",
                )
