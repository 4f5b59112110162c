"""Typed records → results: awards, the reason behind every program not awarded, flags.

An :class:`Evaluator` is built once for a checked policy and a semester: it holds
the function generated for them (:mod:`engine.backends.python.codegen`) and applies it to one
record after another. ``explain`` runs the trace flavour of the same generator, which reports
every fact each rule read: one evaluator, one meaning.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from engine.backends.python.codegen import Hooks, generate
from engine.check.builtins import PERIOD_ATTRIBUTES, period_values
from engine.check.checked import CheckedPolicy
from engine.check.known import unknown_value_message
from engine.check.samples import sample_programs
from engine.check.tables import OTHER, fallback_position
from engine.check.types import CENT, MONEY, Type, display, plain
from engine.check.wording import sentence
from engine.policy.model import Period
from engine.runtime.facts import AMOUNT_PROBLEMS, NO_AMOUNT, Unknown
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
        self._values = period_values(period, manifest)
        self._order = checked.program_order
        self._denials = [self._denials_of(pid) for pid in self._order]
        self._flags = [
            Flag(cid, c.check.label, c.check.citation.cite, c.check.message, c.check.category)
            for cid, c in checked.checks.items()
        ]
        self._check_index = {cid: j for j, cid in enumerate(checked.checks)}
        self._program_index = {pid: i for i, pid in enumerate(self._order)}
        # The fields holding a student's ID and name (by role), read into every Result
        self._id_field = checked.role_field("identity_number") or ""
        self._name_field = checked.role_field("name") or ""
        self._sample = sample_programs(checked)
        self._items = [*self._order, *checked.checks]  # error index → program or check id
        self._award_cache: list[dict[Decimal, Award]] = [{} for _ in self._order]
        hooks = Hooks(self._denials, self._flags, self._award_cache, self._award, self._finish, Result)
        self.source, generated = generate(checked, self._values, hooks, reasons)
        self.evaluate = generated  # type: ignore[method-assign]  # the hot path: no wrapper call
        self._tracer: _Tracer | None = None

    def _denials_of(self, pid: str) -> list[Denial]:
        """Every reason program `pid` can be refused, built once, numbered as the checked tree's
        canonical order numbers them (:class:`~engine.check.checked.Parts`): each condition, exclusion
        and relation in that order, then a zero amount."""
        cp = self.checked.programs[pid]
        p = cp.program
        parts = cp.parts
        out = [
            Denial(
                p.id,
                p.label,
                f"不符合条件：{c.condition.label or sentence(c.expr, self.checked)}",  # as explain words it
                c.condition.citation.cite or p.citation.cite,
                "condition",
                c.expr.text,
            )
            for c in parts.conditions
        ]
        out += [
            Denial(p.id, p.label, x.exclusion.reason, x.exclusion.citation.cite, "exclusion", x.exclusion.id)
            for x in parts.exclusions
        ]
        for rel in parts.relations:
            other = self.checked.policy.programs[rel.program].label
            reason = f"不能与「{other}」同时享受（已享受「{other}」）"
            out.append(Denial(p.id, p.label, reason, rel.citation.cite, "relation", rel.program))
        # Exactly 0 (a loan of 0 asked): decided, nothing to pay. Any amount that is not a positive
        # number of fen and not exactly 0 is a row problem (engine.runtime.facts.rounder), never this.
        out.append(Denial(p.id, p.label, f"按规则计算的金额为 {plain(NO_AMOUNT)}，无需发放", p.citation.cite, "zero"))
        assert len(out) == parts.zero_amount + 1
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

    # -- results another engine decided ---------------------------------------------
    def award(self, program: str, amount: Decimal) -> Award:
        """The award of `program` for `amount`, as evaluation itself makes it (label, kind, frequency,
        clause, whether its amount read sample money)."""
        return self._award(self._program_index[program], amount)

    def flag(self, check: str) -> Flag:
        """The flag of `check`, as evaluation itself raises it."""
        return self._flags[self._check_index[check]]

    def settled_result(
        self, row: int, values: dict[str, Any], awarded: Mapping[str, Decimal], flagged: Collection[str],
        denials: Mapping[str, int] | None = None, undecided: Mapping[str, str] | None = None,
    ) -> Result:  # fmt: skip
        """The Result of a record another engine evaluated (the SQL back end, :mod:`engine.tools.bulk`):
        `awarded` maps each program awarded to its amount (above zero), `flagged` holds the checks
        raised, `undecided` maps each program or check that could not be decided for want of one blank
        fact to that fact's field id (nothing else undecided). Awards, flags and problems come in the
        evaluator's order and words, the ID and name from the fields of those roles: the Result
        :meth:`evaluate` gives that record with ``reasons=False``.

        `denials`, when the other engine found them: each program not awarded → the number of its
        reason, as :class:`~engine.check.checked.Parts` numbers them (the SQL back end's ``why_i``).
        The Denials are this evaluator's own, built once per program; with them the Result's awards,
        denials and flags are those :meth:`evaluate` gives with ``reasons=True`` (not the groups
        found true)."""
        # Another engine's DECIMAL may carry more places (312.5000000000); a settled amount is exact
        # to the fen, so this only writes it as evaluation does (312.50).
        awards = [self._award(i, awarded[pid].quantize(CENT)) for i, pid in enumerate(self._order) if pid in awarded]
        flags = [flag for flag in self._flags if flag.check in flagged]
        refusals: list[Denial] = []
        if denials:
            refusals = [self._denials[i][k] for i, pid in enumerate(self._order) if (k := denials.get(pid)) is not None]
            refusals.sort(key=lambda d: d.cause == "zero")  # as evaluate() gives them: zero amounts last
        errors = [self.problem(Unknown(frozenset({undecided[item]})), item) for item in self._items
                  if undecided and item in undecided]  # fmt: skip
        id_number, name = self._who(values)
        return Result(row, id_number, name, values, awards or (), refusals or (), flags or (), errors or ())

    def _who(self, values: dict[str, Any]) -> tuple[str, str]:
        """A record's ID number and name ("" when blank)."""
        return values.get(self._id_field) or "", values.get(self._name_field) or ""

    def _finish(self, values, row, awards, denials, flags, errors, zero, priorities, groups) -> Result:
        """The result of a record with row errors or a zero amount (the rare path)."""
        if zero and self.reasons:
            denials.extend(self._denials[i][-1] for i, _amount in zero)
        errors = [self.problem(unknown, self._items[i]) for i, unknown in errors or ()]
        id_number, name = self._who(values)
        return Result(row, id_number, name, values, awards, denials or (), flags, errors, priorities, groups or ())

    def problem(self, unknown: Unknown, item: str) -> RowError:
        """The row problem of an item that could not be decided: every blank field it depends on
        (in declaration order), every failure met, and the undecided programs it reads."""
        label = self.checked.label(item)
        fields = [f for f in self.checked.fields if f in unknown.fields]
        parts = []
        if fields:
            labels = "".join(f"「{self.checked.fields[f].field.label}」" for f in fields)
            parts.append(f"缺少{labels}，无法判定「{label}」")
        for failure in sorted(unknown.failures, key=repr):
            if failure[0] == "no-table-entry":
                table = self.checked.policy.tables[failure[1]]
                key_types = [self.checked.fields[k].type for k in table.keys]
                shown = "、".join(display(k, t) for k, t in zip(failure[2], key_types, strict=True))
                parts.append(f"「{table.label}」中没有 {shown} 这一项，无法计算「{label}」")
            elif failure[0] == "unknown-value":
                field = self.checked.fields[failure[1]].field
                parts.append(unknown_value_message(field, failure[2], label))
                fields += [field.id] if field.id not in fields else []  # the column to correct
            elif failure[0] in AMOUNT_PROBLEMS:
                parts.append(f"「{label}」{failure[1]}，无法发放；请核对政策的金额公式和这一行的数据")
            else:
                parts.append(f"计算「{label}」时出错：{failure[1]}")
        if not parts:
            others = "".join(f"「{self.checked.label(p)}」" for p in self._order if p in unknown.programs)
            parts.append(f"{others}无法判定，因此也无法判定「{label}」")
        columns = "、".join(self.checked.fields[f].field.label for f in fields)
        return RowError("；".join(parts), ",".join(fields), item, columns, unknown.code)

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
        rejected = {item.row: "被退回" for item in out if not isinstance(item, Result) and hasattr(item, "row")}
        for program in quota_programs:
            undecided = {r.row: "有问题" for r in results if any(e.program == program.id for e in r.errors)}
            apply_quota(results, program, {**rejected, **undecided})
        yield from out

    # -- explain -------------------------------------------------------------------
    def explain(self, record: Record) -> list[Explanation]:
        """Every program and check for one record, with each part's outcome and the facts it read,
        from the trace flavour of the generated code."""
        if self._tracer is None:
            self._tracer = _Tracer(self)
        return self._tracer.explain(record)


class _Tracer:
    """Runs the trace flavour of an evaluator's generated code and turns what it reports into
    explanations."""

    def __init__(self, evaluator: Evaluator) -> None:
        self.evaluator = evaluator
        self.reads: list[tuple[str, str, Any]] = []
        self.steps: list[tuple[int, str, int, Any, list[tuple[str, str, Any]]]] = []
        ev = evaluator
        hooks = Hooks(
            ev._denials, ev._flags, ev._award_cache, ev._award, ev._finish, Result, self.begin, self.read, self.step
        )
        self.source, self.run = generate(ev.checked, ev._values, hooks, reasons=True, trace=True)

    def begin(self) -> list[tuple[str, str, Any]]:
        self.reads = []
        return self.reads

    def read(self, kind: str, name: str, value: Any) -> Any:
        self.reads.append((kind, name, value))
        return value

    def step(self, reads: list[tuple[str, str, Any]], value: Any, item: int, role: str, index: int) -> Any:
        self.steps.append((item, role, index, value, reads))
        self.reads = []  # reads after the step (none belong to it) are not kept
        return value

    def explain(self, record: Record) -> list[Explanation]:
        ev = self.evaluator
        checked = ev.checked
        self.steps = []
        self.begin()
        result: Result = self.run(record)
        by_item: dict[int, list[TraceStep]] = {}
        for item, role, index, value, reads in self.steps:
            by_item.setdefault(item, []).append(self._step(item, role, index, value, reads))
        out: list[Explanation] = []
        for i, pid in enumerate(ev._order):
            program = checked.programs[pid].program
            award = next((a for a in result.awards if a.program == pid), None)
            denial = next((d for d in result.denials if d.program == pid), None)
            error = next((e for e in result.errors if e.program == pid), None)
            outcome = "awarded" if award else "error" if error else "denied"
            reason = denial.reason if denial else error.message if error else ""
            steps = by_item.get(i, [])
            if denial is not None and denial.cause in ("condition", "exclusion", "relation"):
                decisive = ev._denials[i].index(denial)
                steps[decisive].decisive = True
            elif error is not None:
                for step in steps:
                    step.decisive = isinstance(step.value, Unknown)
            out.append(
                Explanation(
                    pid,
                    program.label,
                    "program",
                    outcome,
                    award.amount if award else None,
                    program.citation.cite,
                    program.citation.text,
                    [s for s in steps if s.role != "amount" or award or error],
                    reason,
                )
            )
        for j, (cid, cc) in enumerate(checked.checks.items()):
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
                    by_item.get(len(ev._order) + j, []),
                    cc.check.message if flagged else error.message if error else "",
                )
            )
        return out

    def _step(self, item: int, role: str, index: int, value: Any, reads: list[tuple[str, str, Any]]) -> TraceStep:
        ev = self.evaluator
        checked = ev.checked
        if item < len(ev._order):
            cp = checked.programs[ev._order[item]]
            parts = cp.parts
            clause = cp.program.citation.cite
            if role == "condition":
                c = parts.conditions[index]
                text, label, clause = c.expr.text, c.condition.label, c.condition.citation.cite or clause
            elif role == "exclusion":
                x = parts.exclusions[index]
                text, label, clause = x.expr.text, x.exclusion.reason, x.exclusion.citation.cite
            elif role == "relation":
                rel = parts.relations[index]
                other = checked.policy.programs[rel.program].label
                text = label = f"不能与「{other}」同时享受"
                clause = rel.citation.cite
            else:
                text, label = cp.amount.text, ""
        else:
            cc = list(checked.checks.values())[item - len(ev._order)]
            c = cc.parts.conditions[index]
            text, label, clause = c.expr.text, c.condition.label, c.condition.citation.cite or cc.check.citation.cite
        error = ""
        if isinstance(value, Unknown):
            error = "无法判定：" + ev.problem(value, ev._items[item]).message.split("，无法")[0]
        return TraceStep(role, text, label, value, _readable(checked, reads), clause, error)


def _readable(checked: CheckedPolicy, reads: list[tuple[str, str, Any]]) -> list[tuple[str, Any, Type | None]]:
    """(label, value, type) of each fact read, first read of each kept, in the order read."""
    out: dict[str, tuple[str, Any, Type | None]] = {}
    policy = checked.policy
    row_read: dict[str, str] = {}  # table id → which row its next read took, in words
    for kind, name, value in reads:
        if kind == "table-row":
            row_read[name] = row_wording(checked, name, value)
            continue
        if kind == "field" or kind == "computed":
            info = checked.fields[name]
            label, type_ = info.field.label, info.type
        elif kind == "group":
            label, type_ = policy.groups[name].label, None
        elif kind == "parameter":
            parameter = policy.parameters[name]
            label, type_ = parameter.label, None
        elif kind == "period":
            attribute = PERIOD_ATTRIBUTES[name]
            label, type_ = attribute.label, attribute.type
        elif kind == "table":  # a money figure with its fen, as every amount is shown
            table = policy.tables[name]
            label, type_ = table.label, (MONEY if table.value_type == "money" else None)
            if name in row_read:
                value = f"{'（空）' if isinstance(value, Unknown) else display(value)}（{row_read.pop(name)}）"
        else:
            label, type_ = "已享受「" + policy.programs[name].label + "」", None
        if isinstance(value, Unknown):
            value = None
        out.setdefault(label, (label, value, type_))
    return list(out.values())


def row_wording(checked: CheckedPolicy, table_id: str, row: tuple[Any, ...] | str) -> str:
    """Which row of a table with a fallback row was read, as explain says it: 按学校「中阳县第二中学」
    一行的标准, 表中未列出该学校，按「其他学校」一行的标准, or (the key blank where the table lists
    values of it) why none could be chosen."""
    table = checked.policy.tables[table_id]
    position = fallback_position(table)
    assert position is not None and table.fallback is not None
    info = checked.fields[table.keys[position]]
    if isinstance(row, str):
        label = info.field.label
        return f"表中按{label}列出了标准，{label}空白时无法确定用哪一行"
    if row[position] is OTHER:
        return f"表中未列出该{info.field.label}，按「{table.fallback[1]}」一行的标准"
    return f"按{info.field.label}「{display(row[position], info.type)}」一行的标准"


def apply_quota(results: list[Result], program, pending: dict[int, str] | None = None) -> None:
    """Fill a program's quota (a count, a budget, or both) in priority order, then input order.

    `pending`: rows (row → 被退回 / 有问题) that may yet claim the program — rejected, or with the
    program undecided — and whose priority is therefore unknown: any of them could outrank a
    holder. While they could take a place (more claimants than places, or any budget), the places
    given are not final: each holder's award is a problem (`quota-undecided`) naming those rows."""
    quota = program.quota
    holders = [r for r in results if any(a.program == program.id for a in r.awards)]
    holders.sort(key=lambda r: (r.priorities.get(program.id, 0), r.row))
    count, spent = 0, ZERO
    kept = []
    for r in holders:
        award = next(a for a in r.awards if a.program == program.id)
        fits = (quota.count is None or count < quota.count) and (
            quota.budget is None or spent + award.amount <= quota.budget
        )
        if fits:
            count += 1
            spent += award.amount
            kept.append((r, award))
            continue
        r.awards = [a for a in r.awards if a is not award]
        reason = f"名额或预算已满（按优先级 {r.priorities.get(program.id, 0)} 排序）"
        r.denials = [*r.denials, Denial(program.id, program.label, reason, program.citation.cite, "quota")]
    if not pending or not kept:
        return
    over_count = quota.count is not None and len(holders) + len(pending) > quota.count
    if not (over_count or quota.budget is not None):
        return  # every claimant still to be decided would fit beside the holders
    rows = sorted(pending)
    named = "、".join(f"第 {row} 行（{pending[row]}）" for row in rows[:5])
    if len(rows) > 5:
        named += f"等 {len(rows)} 行"
    message = (
        f"「{program.label}」有名额限制，名额取决于{named}：这些行的优先级尚不能确定，可能排在前面；"
        "请先改正这些行，再重新计算"
    )
    for r, award in kept:
        r.awards = [a for a in r.awards if a is not award]
        r.errors = [*r.errors, RowError(message, program=program.id, code="quota-undecided")]
