"""``zizhu verify``: properties that hold for every possible student, and "does anyone lose?".

Each statement is put to the SMT back end (:mod:`engine.backends.smt.encode`) as "is there a
student for whom it fails?". None: 已证明. One: 不成立, and the solver's student becomes a real
row — the policy's Chinese headers, a resident ID with a valid GB 11643 check digit whose birth
date gives the age the solver chose — read back through the same reader ``eval`` and ``explain``
use and re-evaluated by the Python back end. If the two back ends disagree about that student,
that is an internal error showing both outcomes (each back end checks the other).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

import z3

from engine.backends.python.evaluator import Evaluator
from engine.backends.smt.encode import PolicyEncoding, Student, Unsupported
from engine.check import idcard
from engine.check.checked import CheckedPolicy
from engine.check.types import display, money_text
from engine.files.readers import RawTable
from engine.files.records import RecordReader
from engine.files.template import input_fields
from engine.policy.model import Period
from engine.policy.provenance import DecisionRecord
from engine.runtime.results import Record, Result

COUNTY_AREA_CODE = "141129"  # 中阳县: the first six digits of the counterexamples' resident IDs
CONSISTENCY = "consistency"
SOLVER_TIMEOUT_MS = 60_000  # checks of this category are data contradictions: assumed not to fire


class InternalDisagreement(Exception):
    """The SMT and Python back ends give one student different outcomes: a bug in zizhu."""


@dataclass
class Counterexample:
    """A student for whom a statement fails, as a row a school could have sent."""

    period: Period
    row: dict[str, str]  # Chinese header → cell, as written to 反例.xlsx / .csv
    record: Record
    results: dict[str, Result]  # policy (version) label → the Python back end's result
    id_number: str
    what: str = ""  # what happens to the student, in Chinese
    notable: list[str] = field(default_factory=list)  # "header=cell" of the facts not at their blank meaning


@dataclass
class Finding:
    """One statement about a policy in one semester, proven or refuted (or a warning)."""

    code: str  # relation | lookup-total | amount-positive | property | dead | vacuous | loses | gains
    statement: str  # Chinese
    clause: str
    period: Period
    holds: bool
    warning: bool = False
    counterexample: Counterexample | None = None


@dataclass
class Report:
    title: str
    policy_folder: str
    findings: list[Finding] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    against_folder: str = ""
    records: list[str] = field(default_factory=list)  # the decision record of each policy proven about

    @property
    def failed(self) -> list[Finding]:
        return [f for f in self.findings if not f.holds and not f.warning]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.warning]

    @property
    def counterexamples(self) -> list[Counterexample]:
        return [f.counterexample for f in self.findings if f.counterexample is not None]


def default_periods(checked: CheckedPolicy) -> list[Period]:
    """The first semester the policy is in force and the one after it: one of each season."""
    first = checked.manifest.effective_from
    following = Period(first.year + 1, "spring") if first.season == "autumn" else Period(first.year, "autumn")
    until = checked.manifest.effective_until
    return [first] if until is not None and following.key > until.key else [first, following]


def assumptions(checked: CheckedPolicy) -> list[str]:
    """What every proof takes as given, for people to read beside the results."""
    out = [
        "每个学生的信息齐全（空白而规则又用到的信息，在 eval 中已是该行的问题）",
        "出生日期在基准日之前 120 年内；金额为非负的整分；年级等整数在字段声明的范围内",
        "查表都能查到对应项（是否如此，由“查表完整”各项另行证明）",
    ]
    for cid, cc in checked.checks.items():
        if getattr(cc.check, "category", "") == CONSISTENCY:
            out.append(f"数据核对「{cc.check.label}」（{cid}）不触发：该情形是数据矛盾，已由核对退回或标出")
    if any(p.quota for p in checked.policy.programs.values()):
        names = "、".join(p.label for p in checked.policy.programs.values() if p.quota)
        out.append(f"设有名额的项目（{names}）按名额不限验证")
    return out


class _Prover:
    """One policy, one semester: the formulas, and a solver holding the ranges and assumptions."""

    def __init__(self, checked: CheckedPolicy, period: Period, student: Student | None = None) -> None:
        self.checked = checked
        self.period = period
        self.student = student or Student(checked, checked.manifest.reference_date(period))
        self.enc = PolicyEncoding(checked, period, self.student)
        consistent = [
            z3.Not(self.enc.checks[cid].flags)
            for cid, cc in checked.checks.items()
            if getattr(cc.check, "category", "") == CONSISTENCY
        ]
        self.no_failures = z3.And(
            *[z3.Not(p.failed) for p in self.enc.programs.values()],
            *[z3.Not(c.failed) for c in self.enc.checks.values()],
        )
        self.solver = z3.Solver()
        self.solver.set("timeout", SOLVER_TIMEOUT_MS)  # a question z3 cannot settle is "could not run"
        self.solver.add(*self.student.domain, *consistent)

    def example(self, *formulas: Any) -> z3.ModelRef | None:
        """A student for whom all `formulas` hold, or None when there is none."""
        self.solver.push()
        self.solver.add(*formulas)
        try:
            answer = self.solver.check()
            if answer == z3.unknown:
                raise Unsupported(f"证明引擎无法判定（{self.solver.reason_unknown()}）")
            return self.solver.model() if answer == z3.sat else None
        finally:
            self.solver.pop()

    def counterexample(self, *formulas: Any) -> z3.ModelRef | None:
        """Like :meth:`example`, but the student reads like a real pupil where the statement allows:
        facts at their blank meaning, a school-child's age (soft preferences of an optimiser)."""
        if self.example(*formulas) is None:
            return None
        plain = z3.Optimize()
        plain.set("timeout", SOLVER_TIMEOUT_MS)
        plain.add(*self.solver.assertions(), *formulas)
        for formula, weight in self.student.plain():
            plain.add_soft(formula, weight)
        if plain.check() != z3.sat:  # cannot happen: the same formulas were just satisfied
            return self.example(*formulas)
        return plain.model()


class _Rows:
    """Counterexample rows: each a real student with its own resident ID."""

    def __init__(self) -> None:
        self.count = 0

    def build(self, provers: list[_Prover], model: z3.ModelRef, what: str) -> Counterexample:
        self.count += 1
        main = provers[0]
        student = main.student
        fields: dict[str, Any] = {}  # every input field of every version compared, by id
        for prover in provers:
            fields.update({info.field.id: info for info in input_fields(prover.checked) if info.field.id not in fields})
        birth: dt.date | None = None
        for info in fields.values():
            if info.field.from_id:
                birth = student.value(model, info.field.id)
        birth = birth or dt.date(main.period.year - 10, 1, 1)
        first17 = f"{COUNTY_AREA_CODE}{birth:%Y%m%d}{self.count % 1000:03d}"
        id_number = first17 + idcard.check_digit(first17)
        row: dict[str, str] = {}
        for info in fields.values():
            f = info.field
            if f.role == "identity_number" or f.format == "resident_id":
                cell = id_number
            elif f.role == "name" or (f.required and info.type.kind == "text"):
                cell = f"反例{self.count}"
            elif info.type.kind == "text" and not any(f.id in p.enc.read_fields for p in provers):
                cell = f"反例{f.label}"  # no rule reads it: any text will do
            else:
                cell = display(student.value(model, f.id), info.type)  # as a school writes it
            row[f.label] = cell
        notable = [f"{info.field.label}={row[info.field.label]}" for info in fields.values()
                   if info.blank is None or row[info.field.label] != display(info.blank, info.type)]  # fmt: skip
        record, results = None, {}
        for prover in provers:
            record = _read(prover.checked, row)
            result = Evaluator(prover.checked, prover.period).evaluate(record)
            _agree(prover, model, result)
            results[prover.checked.manifest.heading()] = result
        assert record is not None
        return Counterexample(main.period, row, record, results, id_number, what, notable)


def _read(checked: CheckedPolicy, row: dict[str, str]) -> Record:
    """The row read exactly as ``eval`` and ``explain`` read a file."""
    headers = list(row)
    table = RawTable("反例", headers, lambda: iter([(2, dict(row))]))
    (item,) = list(RecordReader(checked, table))
    if not isinstance(item, Record):
        problems = "；".join(e.message for e in item.reasons)
        raise InternalDisagreement(f"反例学生被读取程序退回：{problems}（{row}）")
    return item


def _fraction(value: Any) -> Fraction:
    value = z3.simplify(value)
    if z3.is_int_value(value):
        return Fraction(value.as_long())
    return Fraction(value.numerator_as_long(), value.denominator_as_long())


def _agree(prover: _Prover, model: z3.ModelRef, result: Result) -> None:
    """The Python back end's outcome for the student must be the one the formulas give."""
    enc, checked = prover.enc, prover.checked
    mine: list[str] = []
    theirs: list[str] = []
    awards = {a.program: a.amount for a in result.awards}
    errors = {e.program for e in result.errors}
    for pid, p in enc.programs.items():
        label = checked.label(pid)
        if z3.is_true(model.eval(p.failed, model_completion=True)):
            mine.append(f"{label}：无法判定")
        elif z3.is_true(model.eval(p.awarded, model_completion=True)):
            amount = _fraction(model.eval(p.amount, model_completion=True))
            mine.append(f"{label}：{_money(amount)}")
        if pid in errors:
            theirs.append(f"{label}：无法判定")
        elif pid in awards:
            theirs.append(f"{label}：{money_text(awards[pid])}")
    flagged = {f.check for f in result.flags}
    for cid, c in enc.checks.items():
        if z3.is_true(model.eval(c.failed, model_completion=True)):
            mine.append(f"{checked.label(cid)}：无法判定")
        elif z3.is_true(model.eval(c.flags, model_completion=True)):
            mine.append(f"{checked.label(cid)}：标记")
        if cid in errors:
            theirs.append(f"{checked.label(cid)}：无法判定")
        elif cid in flagged:
            theirs.append(f"{checked.label(cid)}：标记")
    if mine != theirs:
        raise InternalDisagreement(
            "内部错误：证明引擎与计算引擎对同一学生的结果不一致（请报告此问题）\n"
            f"  证明引擎：{'；'.join(mine) or '无'}\n  计算引擎：{'；'.join(theirs) or '无'}\n"
            f"  学生：{result.values}"
        )


# -- one policy ---------------------------------------------------------------------------


def verify_policy(checked: CheckedPolicy, periods: list[Period] | None = None) -> Report:
    """Every built-in and declared property of the policy, in each semester."""
    report = Report(checked.manifest.heading(), checked.policy.folder, assumptions=assumptions(checked))
    report.records = [DecisionRecord.of(checked.policy).text()]
    rows = _Rows()
    periods = periods or default_periods(checked)
    warned: dict[str, list[Finding]] = {}
    for period in periods:
        for finding in _verify_period(checked, period, rows):
            if finding.warning:
                warned.setdefault(finding.statement, []).append(finding)
            else:
                report.findings.append(finding)
    # A rule that holds in one semester only (a loan paid in autumn) is no dead rule: warn about
    # what is dead or vacuous in every semester verified.
    report.findings.extend(found[0] for found in warned.values() if len(found) == len(periods))
    return report


def _verify_period(checked: CheckedPolicy, period: Period, rows: _Rows) -> Iterator[Finding]:
    prover = _Prover(checked, period)
    enc, ok = prover.enc, prover.no_failures
    programs = checked.policy.programs

    def finding(code: str, statement: str, clause: str, model: z3.ModelRef | None, what: str = "") -> Finding:
        example = rows.build([prover], model, what) if model is not None else None
        return Finding(code, statement, clause, period, model is None, False, example)

    # Relations: two programs that are not_with each other are never both awarded.
    for pid, program in programs.items():
        for rel in program.not_with:
            other = programs[rel.program]
            both = z3.And(enc.programs[pid].awarded, enc.programs[rel.program].awarded)
            statement = f"「{program.label}」与「{other.label}」不同时享受"
            yield finding("relation", statement, rel.citation.cite, prover.counterexample(ok, both), "两项同时享受")
    # Table lookups: total wherever reached.
    seen: dict[tuple[str, int], list[Any]] = {}
    for site in enc.sites:
        seen.setdefault((site.owner, id(site.expr)), []).append(site)
    for sites in seen.values():
        site = sites[0]
        table = checked.policy.tables[site.expr.table]
        # A lookup with no cell that leaves its rule undecided (a false condition beside it decides
        # the rule all the same: three-valued logic).
        missing = z3.And(z3.Or(*[s.missing for s in sites]), enc.failed_of(site.owner))
        statement = f"「{checked.label(site.owner)}」查「{site.expr.text}」总能查到（表「{table.label}」）"
        yield finding("lookup-total", statement, table.citation.cite, prover.counterexample(missing), "查不到对应项")
    # Amounts: positive whenever a program reaches its amount.
    for pid, p in enc.programs.items():
        program = programs[pid]
        nonpositive = z3.And(ok, p.reaches_amount, p.amount <= 0)
        statement = f"「{program.label}」符合条件时金额为正数"
        yield finding(
            "amount-positive", statement, program.citation.cite, prover.counterexample(nonpositive), "金额不为正"
        )
    # Declared properties.
    for cp in checked.properties:
        prop = cp.property
        scope, scope_failed = enc.statement(cp.for_, prop.id) if cp.for_ is not None else (z3.BoolVal(True), False)
        expect, expect_failed = enc.statement(cp.expect, prop.id)
        if cp.for_ is not None and prover.example(ok, scope, z3.Not(scope_failed)) is None:
            yield Finding("vacuous", f"性质「{prop.label}」的适用对象（{cp.for_.text}）没有任何学生",
                          prop.citation.cite, period, False, True)  # fmt: skip
            continue
        broken = prover.counterexample(ok, z3.Not(scope_failed), z3.Not(expect_failed), scope, z3.Not(expect))
        yield finding("property", f"{prop.label}", prop.citation.cite, broken, f"不满足「{cp.expect.text}」")
    yield from _dead_or_vacuous(prover, period)


def _dead_or_vacuous(prover: _Prover, period: Period) -> Iterator[Finding]:
    """Rules that can never hold, or always hold where they are read: warnings."""
    checked, enc, ok = prover.checked, prover.enc, prover.no_failures

    def warn(code: str, statement: str, clause: str) -> Finding:
        return Finding(code, statement, clause, period, False, True)

    for pid, p in enc.programs.items():
        program = checked.policy.programs[pid]
        clause = program.citation.cite
        if prover.example(ok, p.awarded) is None:
            why = _why_never(prover, pid)
            if why:
                yield warn("dead", f"「{program.label}」对任何学生都不会享受：{why}", clause)
            continue
        passes = z3.And(*p.conditions)
        for ex, holds in zip(checked.programs[pid].exclusions, p.exclusions, strict=True):
            exclusion = ex.exclusion
            reason = f"「{program.label}」的排除情形「{exclusion.id}」（{ex.expr.text}）"
            if prover.example(ok, passes, holds) is None:
                yield warn("dead", f"{reason}在符合条件的学生中永不成立", exclusion.citation.cite or clause)
            elif prover.example(ok, passes, z3.Not(holds)) is None:
                yield warn("vacuous", f"{reason}对符合条件的学生总是成立", exclusion.citation.cite or clause)
        if prover.example(ok, z3.Not(z3.And(*p.conditions))) is None:
            yield warn("vacuous", f"「{program.label}」的条件对所有学生都成立", clause)
    for gid, group in checked.policy.groups.items():
        conditions = enc.group_conditions(gid)
        labels = [c.label for c in checked.groups[gid]]
        if prover.example(ok, *conditions) is None:
            why = _first_unmet(prover, labels, conditions)
            if why:
                yield warn("dead", f"条件组「{group.label}」对任何学生都不成立：{why}", group.citation.cite)
        elif prover.example(ok, z3.Not(z3.And(*conditions))) is None:
            yield warn("vacuous", f"条件组「{group.label}」对所有学生都成立", group.citation.cite)
    for cid, c in enc.checks.items():
        check = checked.checks[cid].check
        if getattr(check, "category", "") == CONSISTENCY:
            continue  # assumed not to fire
        if prover.example(ok, c.flags) is None:
            why = _first_unmet(prover, [cc.label for cc in checked.checks[cid].conditions], c.conditions)
            if why:
                yield warn("dead", f"核查「{check.label}」对任何学生都不会标记：{why}", check.citation.cite)
        elif prover.example(ok, z3.Not(c.flags)) is None:
            yield warn("vacuous", f"核查「{check.label}」对所有学生都会标记", check.citation.cite)


def _first_unmet(prover: _Prover, labels: list[str], conditions: list[Any]) -> str:
    """The condition of a list no one meets together with those before it (what makes the list
    impossible); "" when that is a condition on the semester alone (a loan paid in autumn is not
    dead in spring) or when every prefix can be met."""
    for i, (label, condition) in enumerate(zip(labels, conditions, strict=True)):
        if prover.example(prover.no_failures, *conditions[: i + 1]) is None:
            if z3.is_false(z3.simplify(condition)):
                return ""
            return f"条件「{label}」（与前面的条件一起）无人满足"
    return ""


def _why_never(prover: _Prover, pid: str) -> str:
    """What makes a program impossible: a condition, an exclusion, a relation or its amount;
    "" when it is a condition on the semester alone."""
    cp = prover.checked.programs[pid]
    p = prover.enc.programs[pid]
    ok = prover.no_failures
    if prover.example(ok, *p.conditions) is None:
        return _first_unmet(prover, [c.label for c in cp.conditions], p.conditions)
    passes = z3.And(*p.conditions)
    for ex, holds in zip(cp.exclusions, p.exclusions, strict=True):
        if prover.example(ok, passes, z3.Not(holds)) is None:
            return f"符合条件的学生都属于排除情形「{ex.exclusion.id}」（{ex.expr.text}）"
    if prover.example(ok, p.reaches_amount) is None:
        return "符合条件的学生都已享受与之互斥的项目"
    return f"金额「{cp.amount.text}」总不为正"


# -- two versions --------------------------------------------------------------------------


def compare_versions(new: CheckedPolicy, old: CheckedPolicy, period: Period, gains: bool = False) -> Report:
    """Does any student receive less under `new` than under `old` (more, with `gains`) — per program,
    and in total with loans apart?"""
    report = Report(new.manifest.heading(), new.policy.folder, against_folder=old.policy.folder)
    report.records = [DecisionRecord.of(p.policy, period).text() for p in (new, old)]
    report.assumptions = assumptions(new) + [f"原版本：{a}" for a in assumptions(old) if a not in assumptions(new)]
    student = Student(new, new.manifest.reference_date(period))
    for fid, info in old.fields.items():
        if info.field.compute is not None:
            continue
        mine = new.fields.get(fid)
        if mine is None:
            student.declare(fid, info)
        elif mine.type.kind != info.type.kind:
            raise Unsupported(f"字段「{info.field.label}」在两个版本中类型不同（{info.type} 与 {mine.type}），无法比较")
    before, after = _Prover(old, period, student), _Prover(new, period, student)
    after.solver.add(*before.solver.assertions())  # the old version's ranges and assumptions too
    ok = z3.And(before.no_failures, after.no_failures)
    rows = _Rows()
    word = "增加" if gains else "减少"

    def amount(prover: _Prover, pid: str) -> Any:
        p = prover.enc.programs.get(pid)
        return z3.If(p.awarded, p.amount, z3.RealVal(0)) if p is not None else z3.RealVal(0)

    def compare(statement: str, clause: str, old_amount: Any, new_amount: Any) -> Finding:
        differs = new_amount > old_amount if gains else new_amount < old_amount
        model = after.counterexample(ok, differs)
        example = None
        if model is not None:
            was = _fraction(model.eval(old_amount, model_completion=True))
            now = _fraction(model.eval(new_amount, model_completion=True))
            what = f"原版本 {_money(was)} 元，新版本 {_money(now)} 元"
            example = rows.build([after, before], model, what)
        return Finding("gains" if gains else "loses", statement, clause, period, model is None, False, example)

    programs = {**old.policy.programs, **new.policy.programs}
    for pid, program in programs.items():
        clause = program.citation.cite
        report.findings.append(
            compare(f"没有学生的「{program.label}」{word}", clause, amount(before, pid), amount(after, pid))
        )
    for loans, title in ((False, "补助与减免合计"), (True, "贷款合计")):
        chosen = [pid for pid, p in programs.items() if (p.kind == "loan") == loans]
        if chosen:
            total_old = (
                z3.Sum(*[amount(before, pid) for pid in chosen]) if len(chosen) > 1 else amount(before, chosen[0])
            )
            total_new = z3.Sum(*[amount(after, pid) for pid in chosen]) if len(chosen) > 1 else amount(after, chosen[0])
            report.findings.append(compare(f"没有学生的{title}{word}", "", total_old, total_new))
    return report


def _money(value: Fraction) -> str:
    return money_text(Decimal(value.numerator) / Decimal(value.denominator))


# -- words -----------------------------------------------------------------------------------


def render(report: Report, explain_hint: str = "") -> str:
    """The report as policy staff read it."""
    lines = [f"验证：{report.title}"]
    if report.against_folder:
        lines[0] += f"，对比原版本 {report.against_folder}"
    lines.extend(report.records)
    by_period: dict[Period, list[Finding]] = {}
    for f in report.findings:
        by_period.setdefault(f.period, []).append(f)
    for period, findings in by_period.items():
        lines.append(f"\n学期 {period}")
        for f in findings:
            if f.warning:
                continue
            mark = "已证明" if f.holds else "不成立"
            clause = f"（{f.clause}）" if f.clause else ""
            lines.append(f"  {mark}  {f.statement}{clause}")
            if f.counterexample is not None:
                lines.extend("      " + line for line in describe(f.counterexample, explain_hint).splitlines())
    if report.warnings:
        lines.append("\n警告（在所验证的每个学期都如此）：")
    for f in report.warnings:
        clause = f"（{f.clause}）" if f.clause else ""
        lines.append(f"  警告  {f.statement}{clause}")
    lines.append("\n前提（证明对满足这些前提的所有学生成立）：")
    lines.extend(f"  - {a}" for a in report.assumptions)
    proven = sum(1 for f in report.findings if f.holds and not f.warning)
    failures, warnings = len(report.failed), len(report.warnings)
    lines.append(f"\n共 {proven + failures} 项：已证明 {proven} 项，不成立 {failures} 项；警告 {warnings} 条")
    if not report.failed and report.against_folder:
        gains = any(f.code == "gains" for f in report.findings)
        lines.append("已证明：没有学生增加" if gains else "已证明：没有学生减少")
    return "\n".join(lines)


def describe(example: Counterexample, explain_hint: str = "") -> str:
    """A counterexample: the facts that matter (those not at their blank meaning) and the outcome."""
    lines = [f"反例（{example.what}）：" + "，".join(example.notable)]
    for heading, result in example.results.items():
        awards = "；".join(f"{a.label} {money_text(a.amount)}" for a in result.awards) or "无"
        problems = "；".join(e.message for e in result.errors)
        prefix = f"{heading}：" if len(example.results) > 1 else ""
        lines.append(f"  {prefix}计算引擎复核：享受 {awards}" + (f"；问题：{problems}" if problems else ""))
    if explain_hint:
        lines.append("  " + explain_hint.format(period=example.period.code, id=example.id_number))
    return "\n".join(lines)


def counterexample_table(report: Report) -> tuple[list[str], list[list[str]]]:
    """The counterexample rows as one sheet: the policy's headers, one student per row."""
    examples = report.counterexamples
    headers: list[str] = []
    for example in examples:
        headers.extend(h for h in example.row if h not in headers)
    return headers, [[example.row.get(h, "") for h in headers] for example in examples]


__all__ = [
    "Counterexample",
    "Finding",
    "InternalDisagreement",
    "Report",
    "compare_versions",
    "counterexample_table",
    "default_periods",
    "describe",
    "render",
    "verify_policy",
]
