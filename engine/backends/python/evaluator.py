"""Typed records → results: awards, the reason behind every program not awarded, flags.

An :class:`Evaluator` is built once for a checked policy and a semester: it holds
the function generated for them (:mod:`engine.backends.python.codegen`) and applies it to one
record after another. ``explain`` traces one record through the closure back end
(:mod:`engine.backends.python.compile`), which records every fact each rule read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any, TypeVar

from engine.backends.python.codegen import Hooks, Undetermined, generate
from engine.backends.python.compile import Compiler, Context, Fn
from engine.check.checker import CheckedCondition, CheckedPolicy
from engine.check.samples import sample_programs
from engine.check.types import Type, display
from engine.policy.model import Period
from engine.runtime.facts import MissingFact, NoTableEntry
from engine.runtime.results import (
    Award,
    Denial,
    Explanation,
    Flag,
    PeriodNotCovered,
    Record,
    Result,
    RowError,
    TraceStep,
)

ZERO = Decimal(0)
T = TypeVar("T")


def period_values(checked: CheckedPolicy, period: Period) -> dict[str, Any]:
    return {
        "season": period.season,
        "year": period.year,
        "school_year": period.school_year,
        "reference_date": checked.manifest.reference_date(period),
    }


class Evaluator:
    """Evaluates records for one semester. `reasons=False` skips the reasons for programs not
    awarded (and the groups found true): what bulk output (JSONL, ledgers) does not need."""

    def __init__(self, checked: CheckedPolicy, period: Period, reasons: bool = True) -> None:
        manifest = checked.manifest
        if not manifest.covers(period):
            raise PeriodNotCovered(
                f"政策「{manifest.title}」（{manifest.id} {manifest.version}）不适用于 {period}："
                f"它的生效学期是 {manifest.describe_effective()}"
            )
        self.checked = checked
        self.period = period
        self.reasons = reasons
        self._values = period_values(checked, period)
        self._order = checked.program_order
        self._denials = [self._denials_of(pid) for pid in self._order]
        self._flags = [
            Flag(cid, c.check.label, c.check.citation.cite, c.check.message, c.check.category)
            for cid, c in checked.checks.items()
        ]
        self._sample = sample_programs(checked)
        self._items = [*self._order, *checked.checks]  # error index → program or check id
        self._award_cache: list[dict[Decimal, Award]] = [{} for _ in self._order]
        hooks = Hooks(self._denials, self._flags, self._award_cache, self._award, self._finish, Result)
        self.source, generated = generate(checked, self._values, hooks, reasons)
        self.evaluate = generated  # type: ignore[method-assign]  # the hot path: no wrapper call
        self._tracer: Compiler | None = None

    def _denials_of(self, pid: str) -> list[Denial]:
        """Every reason program `pid` can be refused, built once: conditions, exclusions, relations."""
        cp = self.checked.programs[pid]
        p = cp.program
        out = [
            Denial(
                p.id,
                p.label,
                f"不符合条件：{c.label}",
                c.condition.citation.cite or p.citation.cite,
                "condition",
                c.expr.text,
            )
            for c in cp.conditions
        ]
        out += [
            Denial(p.id, p.label, x.exclusion.reason, x.exclusion.citation.cite, "exclusion", x.exclusion.id)
            for x in cp.exclusions
        ]
        for rel in p.not_with:
            other = self.checked.policy.programs[rel.program].label
            reason = f"不能与「{other}」同时享受（已享受「{other}」）"
            out.append(Denial(p.id, p.label, reason, rel.citation.cite, "relation", rel.program))
        return out

    # -- one record ------------------------------------------------------------
    def evaluate(self, record: Record) -> Result:
        """Evaluate one record (replaced in __init__ by the policy's generated function)."""
        raise NotImplementedError

    def _award(self, index: int, amount: Decimal) -> Award:
        # Awards are immutable and most amounts recur (table figures): built once, then shared.
        p = self.checked.policy.programs[self._order[index]]
        award = Award(p.id, p.label, amount, p.kind, p.per, p.citation.cite, p.id in self._sample)
        cache = self._award_cache[index]
        if len(cache) < 1000:
            cache[amount] = award
        return award

    def _finish(self, values, row, awards, denials, flags, errors, zero, priorities, groups) -> Result:
        """The result of a record with row errors or a zero amount (the rare path)."""
        if zero and self.reasons:
            programs = self.checked.policy.programs
            for i, amount in zero:
                p = programs[self._order[i]]
                denials.append(Denial(p.id, p.label, f"按规则计算的金额为 {amount}", p.citation.cite, "zero"))
        errors = [self._error(exc, self._items[i]) for i, exc in errors or ()]
        id_number, name = values.get("id_number") or "", values.get("name") or ""
        return Result(row, id_number, name, values, awards, denials or (), flags, errors, priorities, groups or ())

    def _error(self, exc: Exception, item: str) -> RowError:
        label = self.checked.label(item)
        if isinstance(exc, Undetermined):
            other = self.checked.label(exc.field)
            return RowError(f"「{other}」无法判定，因此也无法判定与其互斥的「{label}」", "", item)
        if isinstance(exc, MissingFact):
            f = self.checked.fields[exc.field].field
            return RowError(f"缺少「{f.label}」，无法判定「{label}」", exc.field, item, f.label)
        if isinstance(exc, NoTableEntry):
            table = self.checked.policy.tables[exc.table]
            key_types = [self.checked.fields[k].type for k in table.keys]
            shown = "、".join(display(k, t) for k, t in zip(exc.keys, key_types, strict=True))
            return RowError(f"「{table.label}」中没有 {shown} 这一项，无法计算「{label}」", "", item)
        raise exc

    # -- many records ------------------------------------------------------------
    def evaluate_all(self, items: Iterable[Record | T]) -> Iterator[Result | T]:
        """Each record's result in input order; anything else (a rejected row) passes through in place.

        With no quota in the policy this streams item by item; a program with a
        quota needs every result before it can be filled, so then all are held."""
        programs = self.checked.policy.programs
        quota_programs = [programs[pid] for pid in self._order if programs[pid].quota]
        if not quota_programs:
            for item in items:
                yield self.evaluate(item) if isinstance(item, Record) else item
            return
        out = [self.evaluate(item) if isinstance(item, Record) else item for item in items]
        results = [r for r in out if isinstance(r, Result)]
        for program in quota_programs:
            apply_quota(results, program)
        yield from out

    # -- explain -------------------------------------------------------------------
    def explain(self, record: Record) -> list[Explanation]:
        if self._tracer is None:
            self._tracer = Compiler(self.checked, self._values)
        tracer = self._tracer
        ctx = Context(record.values)
        out: list[Explanation] = []
        result = self.evaluate(record)
        for pid in self.checked.program_order:
            cp = self.checked.programs[pid]
            program = cp.program
            steps: list[TraceStep] = []
            for cond in cp.conditions:
                step = _traced(ctx, tracer.compile(cond.expr), "condition", cond)
                steps.append(step)
                if step.error or not step.value:
                    break
            else:
                for ex in cp.exclusions:
                    step = _traced_expr(
                        ctx,
                        tracer.compile(ex.expr),
                        "exclusion",
                        ex.expr.text,
                        ex.exclusion.reason,
                        ex.exclusion.citation.cite,
                    )
                    steps.append(step)
                    if step.error or step.value:
                        break
                else:
                    given_way = [r for r in program.not_with if r.program in ctx.awarded]
                    for rel in given_way:
                        other = self.checked.policy.programs[rel.program].label
                        text = f"不能与「{other}」同时享受"
                        steps.append(TraceStep("relation", text, text, True, [], rel.citation.cite))
                    if not given_way:
                        amount = tracer.compile(cp.amount)
                        steps.append(_traced_expr(ctx, amount, "amount", cp.amount.text, "", program.citation.cite))
            award = next((a for a in result.awards if a.program == pid), None)
            denial = next((d for d in result.denials if d.program == pid), None)
            error = next((e for e in result.errors if e.program == pid), None)
            if award:
                ctx.awarded[pid] = award.amount
            outcome = "awarded" if award else "error" if error else "denied"
            reason = denial.reason if denial else error.message if error else ""
            out.append(
                Explanation(
                    pid,
                    program.label,
                    "program",
                    outcome,
                    award.amount if award else None,
                    program.citation.cite,
                    program.citation.text,
                    steps,
                    reason,
                )
            )
        for cid, cc in self.checked.checks.items():
            steps = []
            for cond in cc.conditions:
                step = _traced(ctx, tracer.compile(cond.expr), "condition", cond)
                steps.append(step)
                if step.error or not step.value:
                    break
            flagged = any(f.check == cid for f in result.flags)
            error = next((e for e in result.errors if e.program == cid), None)
            out.append(
                Explanation(
                    cid,
                    cc.check.label,
                    "check",
                    "flagged" if flagged else "error" if error else "clear",
                    None,
                    cc.check.citation.cite,
                    cc.check.citation.text,
                    steps,
                    cc.check.message if flagged else "",
                )
            )
        return out


def _traced(ctx: Context, fn: Fn, role: str, cond: CheckedCondition) -> TraceStep:
    return _traced_expr(ctx, fn, role, cond.expr.text, cond.condition.label, cond.condition.citation.cite)


def _traced_expr(ctx: Context, fn: Fn, role: str, text: str, label: str, clause: str) -> TraceStep:
    ctx.trace = []
    ctx.memo.clear()  # re-read shared conditions so each step shows its own facts
    try:
        value = fn(ctx)
        error = ""
    except MissingFact as exc:
        value, error = None, f"缺少字段 {exc.field}"
    except NoTableEntry as exc:
        value, error = None, f"表 {exc.table} 中没有 {list(exc.keys)}"
    step = TraceStep(role, text, label, value, _dedupe(ctx.trace), clause, error)
    ctx.trace = None
    return step


def _dedupe(reads: list[tuple[str, Any, Type]]) -> list[tuple[str, Any, Type]]:
    seen: dict[str, tuple[str, Any, Type]] = {}
    for read in reads:
        seen.setdefault(read[0], read)
    return list(seen.values())


def apply_quota(results: list[Result], program) -> None:
    """Fill a program's quota (a count, a budget, or both) in priority order, then input order."""
    quota = program.quota
    holders = [r for r in results if any(a.program == program.id for a in r.awards)]
    holders.sort(key=lambda r: (r.priorities.get(program.id, 0), r.row))
    count, spent = 0, ZERO
    for r in holders:
        award = next(a for a in r.awards if a.program == program.id)
        fits = (quota.count is None or count < quota.count) and (
            quota.budget is None or spent + award.amount <= quota.budget
        )
        if fits:
            count += 1
            spent += award.amount
            continue
        r.awards = [a for a in r.awards if a is not award]
        reason = f"名额或预算已满（按优先级 {r.priorities.get(program.id, 0)} 排序）"
        r.denials = [*r.denials, Denial(program.id, program.label, reason, program.citation.cite, "quota")]
