"""Typed records → results: awards, the reason behind every program not awarded, flags.

An :class:`Evaluator` is built once for a checked policy and a semester; it holds
the compiled closures and applies them to one record after another.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from .check import CheckedCondition, CheckedPolicy
from .compile import Compiler, Context, Fn, MissingFact, NoTableEntry
from .model import Period
from .types import Type, display

ZERO = Decimal(0)
T = TypeVar("T")


class PeriodNotCovered(Exception):
    """The semester asked for is outside the policy's effective periods."""


@dataclass(frozen=True)
class Record:
    """One student's typed facts (field id → value; None = blank), with its place in the input."""

    row: int
    values: dict[str, Any]
    source: str = ""


@dataclass(frozen=True)
class Award:
    program: str
    label: str
    amount: Decimal
    kind: str
    per: str
    clause: str


@dataclass(frozen=True)
class Denial:
    """Why a program was not awarded: a condition false, an exclusion, a relation or the quota."""

    program: str
    label: str
    reason: str
    clause: str
    cause: str  # condition | exclusion | relation | quota | zero
    item: str = ""  # the exclusion id, or the condition's text


@dataclass(frozen=True)
class Flag:
    check: str
    label: str
    clause: str
    message: str


@dataclass(frozen=True)
class RowError:
    message: str
    field: str = ""
    program: str = ""
    column: str = ""


@dataclass
class Result:
    row: int
    id_number: str
    name: str
    # The record's typed facts, for grouping in ledgers and reports (not copied).
    values: dict[str, Any] = field(default_factory=dict, repr=False)
    awards: list[Award] = field(default_factory=list)
    denials: list[Denial] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    # Priorities of programs with a quota, for the pass over the whole file.
    priorities: dict[str, int] = field(default_factory=dict)
    # Groups found true (the widening rules and populations a result rests on).
    groups: list[str] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((a.amount for a in self.awards), ZERO)


@dataclass
class TraceStep:
    """One condition or exclusion of an explained program: its text, outcome and the facts read."""

    role: str  # condition | exclusion | relation | amount | priority
    text: str
    label: str
    value: Any
    reads: list[tuple[str, Any, Type]]
    clause: str = ""
    error: str = ""


@dataclass
class Explanation:
    item: str
    label: str
    kind: str  # program | check
    outcome: str  # awarded | denied | flagged | clear | error
    amount: Decimal | None
    clause: str
    text: str
    steps: list[TraceStep]
    reason: str = ""


def period_values(checked: CheckedPolicy, period: Period) -> dict[str, Any]:
    return {
        "season": period.season,
        "year": period.year,
        "school_year": period.school_year,
        "reference_date": checked.manifest.reference_date(period),
    }


class Evaluator:
    def __init__(self, checked: CheckedPolicy, period: Period) -> None:
        manifest = checked.manifest
        if not manifest.covers(period):
            raise PeriodNotCovered(
                f"政策「{manifest.title}」（{manifest.id} {manifest.version}）不适用于 {period}："
                f"它的生效学期是 {manifest.describe_effective()}"
            )
        self.checked = checked
        self.period = period
        self._values = period_values(checked, period)
        compiler = Compiler(checked, self._values)
        self._programs = [self._compile_program(compiler, pid) for pid in checked.program_order]
        self._checks = [
            (cid, c.check, [compiler.compile(x.expr) for x in c.conditions]) for cid, c in checked.checks.items()
        ]
        self._groups = [(gid, compiler.group(gid)) for gid in checked.groups]
        self._tracer: Compiler | None = None

    def _compile_program(self, compiler: Compiler, pid: str):
        cp = self.checked.programs[pid]
        return (
            cp,
            [(c, compiler.compile(c.expr)) for c in cp.conditions],
            [(x, compiler.compile(x.expr)) for x in cp.exclusions],
            compiler.compile(cp.amount),
            compiler.compile(cp.priority) if cp.priority else None,
        )

    # -- one record ------------------------------------------------------------
    def evaluate(self, record: Record) -> Result:
        values = record.values
        result = Result(record.row, str(values.get("id_number") or ""), str(values.get("name") or ""), values)
        ctx = Context(values)
        undetermined: set[str] = set()
        for cp, conditions, exclusions, amount, priority in self._programs:
            program = cp.program
            try:
                denial = self._first_denial(ctx, cp, conditions, exclusions, undetermined)
                if denial is None:
                    value = Decimal(amount(ctx))
                    if value <= ZERO:
                        denial = Denial(
                            program.id, program.label, f"按规则计算的金额为 {value}", program.citation.cite, "zero"
                        )
                if denial is not None:
                    result.denials.append(denial)
                    continue
                if priority is not None:
                    result.priorities[program.id] = priority(ctx)
                ctx.awarded[program.id] = value
                result.awards.append(
                    Award(program.id, program.label, value, program.kind, program.per, program.citation.cite)
                )
            except (MissingFact, NoTableEntry) as exc:
                undetermined.add(program.id)
                result.errors.append(self._error(exc, program.id))
        for check_id, check, conditions in self._checks:
            try:
                if all(c(ctx) for c in conditions):
                    result.flags.append(Flag(check_id, check.label, check.citation.cite, check.message))
            except (MissingFact, NoTableEntry) as exc:
                result.errors.append(self._error(exc, check_id))
        for gid, group in self._groups:
            try:
                if group(ctx):
                    result.groups.append(gid)
            except (MissingFact, NoTableEntry):
                pass  # a group no program needed may lack facts; programs report what they need
        return result

    def _first_denial(self, ctx, cp, conditions, exclusions, undetermined) -> Denial | None:
        program = cp.program
        for cond, fn in conditions:
            if not fn(ctx):
                return Denial(
                    program.id,
                    program.label,
                    f"不符合条件：{cond.label}",
                    cond.condition.citation.cite or program.citation.cite,
                    "condition",
                    cond.expr.text,
                )
        for ex, fn in exclusions:
            if fn(ctx):
                return Denial(
                    program.id,
                    program.label,
                    ex.exclusion.reason,
                    ex.exclusion.citation.cite,
                    "exclusion",
                    ex.exclusion.id,
                )
        for rel in program.not_with:
            if rel.program in undetermined:
                raise _Undetermined(rel.program)
            if rel.program in ctx.awarded:
                other = self.checked.policy.programs[rel.program].label
                return Denial(
                    program.id,
                    program.label,
                    f"不能与「{other}」同时享受（已享受「{other}」）",
                    rel.citation.cite,
                    "relation",
                    rel.program,
                )
        return None

    def _error(self, exc: Exception, item: str) -> RowError:
        label = self.checked.label(item)
        if isinstance(exc, _Undetermined):
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
        quota_programs = [cp.program for cp, *_ in self._programs if cp.program.quota]
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
            self._tracer = Compiler(self.checked, self._values, tracing=True)
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
                    steps.append(
                        _traced_expr(
                            ctx, tracer.compile(cp.amount), "amount", cp.amount.text, "金额", program.citation.cite
                        )
                    )
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


class _Undetermined(MissingFact):
    """A program this one gives way to could not be decided, so neither can this one."""


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
        r.awards.remove(award)
        r.denials.append(
            Denial(
                program.id,
                program.label,
                f"名额或预算已满（按优先级 {r.priorities.get(program.id, 0)} 排序）",
                program.citation.cite,
                "quota",
            )
        )
