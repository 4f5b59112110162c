"""Policy tests: YAML cases beside the policy (``tests/*.yaml``), run against it, with coverage.

A case gives a student's facts (by field label or id, Chinese values allowed), a
semester and what must come out: the exact awards with amounts, programs not
awarded (and why), flags, row errors. Coverage requires every program, exclusion,
relation, check and widening rule (a group with a ``rule``) to be exercised.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.backends.python.evaluator import Evaluator
from engine.check.checked import CheckedPolicy
from engine.check.types import money_text
from engine.check.values import grade_names_other_stage, is_blank, parse_value
from engine.diagnostics import DiagnosticSink, Location, display_path, suggest
from engine.files.records import fill_from_id, from_id_fields
from engine.files.report import explain_text
from engine.policy.loader import read_validated
from engine.policy.model import Period
from engine.policy.schema import make_validator
from engine.policy.yamlsource import SourceDocument
from engine.runtime.results import PeriodNotCovered, Record, Result

_FACTS = {"type": "object", "description": "学生信息：键为字段中文名或标识"}
TEST_FILE_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "zizhu 政策测试文件",
    "type": "object",
    "required": ["cases"],
    "additionalProperties": False,
    "properties": {
        "defaults": _FACTS,
        "period": {"type": "string"},
        "cases": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["name", "student", "expect"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "period": {"type": "string"},
                    "decision": {"type": "string"},
                    "student": _FACTS,
                    "expect": {
                        "type": "object",
                        "additionalProperties": False,
                        "minProperties": 1,
                        "properties": {
                            "awards": {"type": "object", "description": "恰好这些项目，金额（元）"},
                            "denied": {
                                "type": "object",
                                "description": "项目 → 原因：condition、排除标识、让位的项目标识或 quota",
                            },
                            "flags": {"type": "array", "items": {"type": "string"}},
                            "errors": {"type": "array", "items": {"type": "string"}, "description": "出错的项目标识"},
                        },
                    },
                },
            },
        },
    },
}
_validator = make_validator(TEST_FILE_SCHEMA)


@dataclass
class Case:
    name: str
    location: Location
    period: Period
    record: Record
    expect: dict[str, Any]


@dataclass
class CaseOutcome:
    case: Case
    problems: list[str]
    detail: str = ""

    @property
    def passed(self) -> bool:
        return not self.problems


@dataclass
class TestRun:
    outcomes: list[CaseOutcome] = field(default_factory=list)
    uncovered: list[str] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(o.passed for o in self.outcomes)

    @property
    def failed(self) -> int:
        return len(self.outcomes) - self.passed

    @property
    def ok(self) -> bool:
        return self.failed == 0 and not self.uncovered and bool(self.outcomes)


def load_cases(checked: CheckedPolicy, folder: Path) -> list[Case]:
    """Every case of every test file, or a PolicyError listing each problem where it stands."""
    sink = DiagnosticSink()
    cases: list[Case] = []
    files = sorted((folder / "tests").glob("*.yaml"))
    if not files:
        sink.error(Location(display_path(folder / "tests")), "没有政策测试文件（tests/*.yaml）")
    for doc in read_validated(files, _validator, sink):
        cases.extend(_file_cases(checked, doc, sink))
    sink.raise_if_any()
    return cases


def _file_cases(checked: CheckedPolicy, doc: SourceDocument, sink: DiagnosticSink) -> list[Case]:
    defaults = doc.data.get("defaults") or {}
    out = []
    file_period: Period | None = None
    if doc.data.get("period"):
        try:
            file_period = Period.parse(str(doc.data["period"]))
        except ValueError as exc:
            # Said once, at the file's own period: line, not once for every case that uses it.
            sink.error(doc.locate(("period",)), str(exc), code="bad-period")
    for i, raw in enumerate(doc.data["cases"]):
        path = ("cases", i)
        loc = doc.locate(path)
        if raw.get("period"):
            try:
                period = Period.parse(str(raw["period"]))
            except ValueError as exc:
                sink.error(doc.locate((*path, "period")), str(exc), code="bad-period")
                continue
        elif file_period is not None:
            period = file_period
        else:
            if not doc.data.get("period"):
                sink.error(loc, f"用例「{raw['name']}」没有写学期（period），如 2021秋季", code="missing-period")
            continue
        values = _facts(checked, {**defaults, **raw["student"]}, doc, (*path, "student"), sink)
        _check_expect(checked, raw["expect"], doc, (*path, "expect"), sink)
        out.append(Case(raw["name"], loc, period, Record(loc.line or 0, values), raw["expect"]))
    return out


def _facts(
    checked: CheckedPolicy, facts: dict[str, Any], doc: SourceDocument, path: tuple, sink: DiagnosticSink
) -> dict[str, Any]:
    by_name: dict[str, str] = {}
    for fid, info in checked.fields.items():
        if info.field.compute is None:
            for name in (fid, info.field.label, *info.field.aliases):
                by_name[name] = fid
    values = {fid: info.blank for fid, info in checked.fields.items() if info.field.compute is None}
    for key, cell in facts.items():
        fid = by_name.get(str(key))
        if fid is None:
            sink.error(doc.locate((*path, key)), f"不认识的字段「{key}」", suggest(str(key), list(by_name)))
            continue
        info = checked.fields[fid]
        if is_blank(cell):
            values[fid] = info.blank
            continue
        value, problem = parse_value(info.type, cell, info.field)
        if problem:
            sink.error(doc.locate((*path, key)), f"字段「{key}」的值不对：{problem}")
        values[fid] = value
    grade, stage = checked.role_field("grade"), checked.role_field("stage")
    options = checked.fields[stage].type.enum if stage else None
    grade_cell = next((cell for key, cell in facts.items() if by_name.get(str(key)) == grade), None)
    if grade and options is not None and values.get(stage) is not None and values.get(grade) is not None:
        named = grade_names_other_stage(grade_cell, values[stage], options)
        if named:
            sink.error(
                doc.locate(path),
                f"「{checked.fields[grade].field.label}」写的是「{grade_cell}」，是{named}的年级，"
                f"与「{checked.fields[stage].field.label}」「{options.label_of(values[stage])}」矛盾",
                code="grade-stage-mismatch",
            )
    for fid, given, from_id in fill_from_id(from_id_fields(checked), values):
        sink.error(
            doc.locate(path), f"「{checked.fields[fid].field.label}」{given} 与身份证号中的出生日期 {from_id} 不一致"
        )
    return values


def _check_expect(
    checked: CheckedPolicy, expect: dict[str, Any], doc: SourceDocument, path: tuple, sink: DiagnosticSink
) -> None:
    programs = checked.policy.programs
    for section in ("awards", "denied"):
        for pid, value in (expect.get(section) or {}).items():
            where = doc.locate((*path, section, pid))
            if pid not in programs:
                sink.error(where, f"不认识的资助项目「{pid}」", suggest(str(pid), list(programs)))
                continue
            if section == "awards" and not isinstance(value, (int, Decimal)):
                sink.error(where, f"「{pid}」的金额应为数字，实际是 {value!r}")
            if section == "denied":
                causes = (
                    {"condition", "quota", "zero"}
                    | {x.id for x in programs[pid].exclusions}
                    | {r.program for r in programs[pid].not_with}
                )
                if value not in causes:
                    sink.error(where, f"「{pid}」不享受的原因「{value}」不存在", "可写：" + "、".join(sorted(causes)))
    for cid in expect.get("flags") or []:
        if cid not in checked.checks:
            sink.error(doc.locate((*path, "flags")), f"不认识的核查「{cid}」", suggest(cid, list(checked.checks)))
    for item in expect.get("errors") or []:
        if item not in programs and item not in checked.checks:
            sink.error(
                doc.locate((*path, "errors")),
                f"不认识的项目或核查「{item}」",
                suggest(item, [*programs, *checked.checks]),
            )


def run_cases(checked: CheckedPolicy, cases: list[Case]) -> TestRun:
    run = TestRun()
    evaluators: dict[Period, Evaluator] = {}
    seen: set[str] = set()
    for case in cases:
        try:
            evaluator = evaluators.get(case.period) or evaluators.setdefault(
                case.period, Evaluator(checked, case.period)
            )
        except PeriodNotCovered as exc:
            run.outcomes.append(CaseOutcome(case, [str(exc)]))
            continue
        result = evaluator.evaluate(case.record)
        seen |= exercised(result)
        problems, differing = _compare(case.expect, result)
        detail = ""
        if problems:
            explanations = [e for e in evaluator.explain(case.record) if e.item in differing]
            detail = explain_text(checked, result, explanations, str(case.period), student_line=False)
        run.outcomes.append(CaseOutcome(case, problems, detail))
    run.uncovered = uncovered(checked, seen)
    return run


def exercised(result: Result) -> set[str]:
    """What a result exercised: programs awarded, exclusions and relations applied, checks flagged,
    groups found true (needs an evaluator with reasons)."""
    found = {f"program:{a.program}" for a in result.awards}
    for d in result.denials:
        if d.cause == "exclusion":
            found.add(f"exclusion:{d.program}:{d.item}")
        elif d.cause == "relation":
            found.add(f"relation:{d.program}:{d.item}")
    found |= {f"check:{f.check}" for f in result.flags}
    found |= {f"group:{g}" for g in result.groups}
    return found


_KIND_OF_SECTION = {"parameters": "parameter", "tables": "table", "groups": "group", "programs": "program",
                    "checks": "check"}  # fmt: skip


def _in_scope(checked: CheckedPolicy) -> Callable[[str, str], bool]:
    """Which rules this version's tests must cover: in a first version, all; in a version that
    extends another, those it adds or changes and those that read something it adds or changes."""
    p = checked.policy
    touched = set()
    for section, item_id in p.changed:
        kind = _KIND_OF_SECTION.get(section)
        if section == "fields":
            kind = "computed" if p.fields[item_id].compute else "field"
        touched.add((kind, item_id))

    def needed(kind: str, item_id: str) -> bool:
        return (kind, item_id) in touched or bool(checked.reads((kind, item_id)) & touched)

    return needed


def uncovered(checked: CheckedPolicy, seen: set[str]) -> list[str]:
    """The rules (in this version's scope) that no result in `seen` exercised, in words."""
    p = checked.policy
    needed = _in_scope(checked)
    missing = []
    for pid, program in p.programs.items():
        if not needed("program", pid):
            continue
        if f"program:{pid}" not in seen:
            missing.append(f"资助项目「{program.label}」({pid}) 没有一个用例享受到")
        for ex in program.exclusions:
            if f"exclusion:{pid}:{ex.id}" not in seen:
                missing.append(f"排除情形「{ex.reason}」({pid}.{ex.id}) 没有一个用例触发")
        for rel in program.not_with:
            if f"relation:{pid}:{rel.program}" not in seen:
                missing.append(f"互斥关系「{program.label}」让位于「{p.programs[rel.program].label}」没有一个用例触发")
    for cid, check in p.checks.items():
        if needed("check", cid) and f"check:{cid}" not in seen:
            missing.append(f"核查「{check.label}」({cid}) 没有一个用例标记")
    for gid, group in p.groups.items():
        if group.rule and needed("group", gid) and f"group:{gid}" not in seen:
            missing.append(f"规则 {group.rule}「{group.label}」({gid}) 没有一个用例适用")
    return missing


def _compare(expect: dict[str, Any], result: Result) -> tuple[list[str], set[str]]:
    problems: list[str] = []
    differing: set[str] = set()
    actual = {a.program: a.amount for a in result.awards}
    if "awards" in expect:
        wanted = {pid: Decimal(v) for pid, v in expect["awards"].items()}
        for pid in sorted(set(wanted) | set(actual)):
            if wanted.get(pid) != actual.get(pid):
                differing.add(pid)
                problems.append(f"{pid}: 应为 {_money(wanted.get(pid))}，实际 {_money(actual.get(pid))}")
    denials = {d.program: d for d in result.denials}
    for pid, cause in (expect.get("denied") or {}).items():
        d = denials.get(pid)
        got = None if d is None else (d.cause if d.cause in ("condition", "quota", "zero") else d.item)
        if got != cause:
            differing.add(pid)
            shown = "已享受" if pid in actual else f"{got}（{d.reason}）" if d else "无法判定"
            problems.append(f"{pid}: 应因 {cause} 不享受，实际 {shown}")
    if "flags" in expect:
        wanted_flags, got_flags = set(expect["flags"]), {f.check for f in result.flags}
        if wanted_flags != got_flags:
            differing |= wanted_flags ^ got_flags
            problems.append(f"核查标记：应为 {sorted(wanted_flags)}，实际 {sorted(got_flags)}")
    wanted_errors = set(expect.get("errors") or [])
    got_errors = {e.program for e in result.errors}
    if wanted_errors != got_errors:
        differing |= wanted_errors ^ got_errors
        problems.append(f"错误：应为 {sorted(wanted_errors)}，实际 {[e.message for e in result.errors]}")
    return problems, differing


def _money(amount: Decimal | None) -> str:
    return "不享受" if amount is None else money_text(amount)


def render(run: TestRun) -> str:
    lines = []
    for o in run.outcomes:
        if o.passed:
            continue
        lines.append(f"失败：{o.case.name}  ({o.case.location})  学期 {o.case.period}")
        lines.extend("  " + p for p in o.problems)
        if o.detail:
            lines.append("  " + o.detail.replace("\n", "\n  "))
        lines.append("")
    if run.uncovered:
        lines.append("覆盖不全（每条规则至少要有一个用例）：")
        lines.extend("  " + u for u in run.uncovered)
        lines.append("")
    lines.append(f"{run.passed} passed, {run.failed} failed")
    return "\n".join(lines)
