"""Policy tests: YAML cases beside the policy (``tests/*.yaml``), run against it, with coverage.

A case gives a student's facts (by field label or id, Chinese values allowed), a
semester and what must come out: the exact awards with amounts, programs not
awarded (and why), flags, row errors. Coverage requires every program, exclusion,
relation, check and widening rule (a group with a ``rule``) to be exercised.

A version that ``extends`` another inherits its test cases (up the whole chain), merged by
case id as the policy's own lists are: a case's id is its ``id:`` when it writes one, else its
``name:`` (unique within a version's tests). A case with an inherited id replaces the inherited
one whole; ``remove: {cases: [id, …]}`` in a test file drops inherited cases. Inherited cases
run against this version's rules and their expectations are this version's responsibility:
one that no longer holds fails, naming the file and line it came from and how to replace or
remove it. A case keeps its own semester (its ages and dates are written for it): when that
semester is outside this version's effective range (a 2021 case inherited by 2024, or the 2024
case that replaces it) it still runs, under this version's rules, and the count is shown —
unless the rules read the semester's year (``学期.年份``/``学期.学年``), which would make the
outcome one this version never gives: then it is skipped, with that reason, and counted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.backends.python.evaluator import Evaluator
from engine.check import ir
from engine.check.checked import CheckedPolicy
from engine.check.types import money_text
from engine.check.values import grade_names_other_stage, is_blank, parse_value
from engine.diagnostics import DiagnosticSink, Location, display_path, suggest
from engine.files.records import fill_from_id, from_id_fields
from engine.files.report import explain_text
from engine.policy.loader import ancestors, read_validated
from engine.policy.model import Period
from engine.policy.schema import make_validator
from engine.policy.versions import _merge_list_by_id  # the one merge by id, as versions merge policy lists
from engine.policy.yamlsource import SourceDocument
from engine.runtime.results import Record, Result

_FACTS = {"type": "object", "description": "学生信息：键为字段中文名或标识"}
TEST_FILE_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "zizhu 政策测试文件",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "defaults": _FACTS,
        "period": {"type": "string"},
        "remove": {
            "type": "object",
            "description": "删除继承自上一版本的用例：cases: [用例 id 或名称, …]",
            "additionalProperties": False,
            "required": ["cases"],
            "properties": {"cases": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}}},
        },
        "cases": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["name", "student", "expect"],
                "additionalProperties": False,
                "properties": {
                    "id": {
                        "type": "string",
                        "minLength": 1,
                        "description": "用例标识（不写则以 name 为标识）：后续版本按它覆盖或删除本用例",
                    },
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
    id: str  # its `id:`, else its name: what a later version replaces or removes it by
    name: str
    location: Location
    period: Period
    record: Record
    expect: dict[str, Any]
    # The version folder an inherited case was written in; "" for this version's own cases.
    inherited_from: str = ""
    # Why an inherited case cannot be read under this version (a field or program it removed …).
    problems: list[str] = field(default_factory=list)


@dataclass
class Suite:
    """The cases this version runs: its own and those it inherits, merged by id."""

    cases: list[Case]
    folder: str  # this version's folder, for the hints of inherited cases
    overridden: list[str] = field(default_factory=list)  # ids of inherited cases this version replaces
    removed: list[str] = field(default_factory=list)  # ids of inherited cases this version removes


@dataclass
class CaseOutcome:
    case: Case
    problems: list[str]
    detail: str = ""
    skipped: str = ""  # why the case was not run (counted, listed; never silently dropped)

    @property
    def passed(self) -> bool:
        return not self.problems and not self.skipped


@dataclass
class TestRun:
    outcomes: list[CaseOutcome] = field(default_factory=list)
    uncovered: list[str] = field(default_factory=list)
    folder: str = ""
    overridden: int = 0
    removed: int = 0
    # Inherited cases whose own semester is outside this version's effective range (run under its rules).
    outside_range: int = 0

    @property
    def passed(self) -> int:
        return sum(o.passed for o in self.outcomes)

    @property
    def skipped(self) -> int:
        return sum(bool(o.skipped) for o in self.outcomes)

    @property
    def failed(self) -> int:
        return len(self.outcomes) - self.passed - self.skipped

    @property
    def inherited(self) -> int:
        """Inherited cases run (not skipped)."""
        return sum(bool(o.case.inherited_from) and not o.skipped for o in self.outcomes)

    @property
    def ok(self) -> bool:
        return self.failed == 0 and not self.uncovered and self.passed > 0


@dataclass
class _Written:
    """One case as its test file writes it, before it is read against the policy under test."""

    id: str
    doc: SourceDocument
    index: int
    file_period: Period | None
    version: Path


def load_cases(checked: CheckedPolicy, folder: Path) -> Suite:
    """This version's cases and those it inherits (merged by id), or a PolicyError listing each
    problem of this version's own test files where it stands."""
    sink = DiagnosticSink()
    own = folder.resolve()
    written: list[_Written] = []
    merged: list[dict[str, Any]] = []  # {"id": case id, "at": index in `written`}, in running order
    suite = Suite([], display_path(folder))
    chain = [*reversed(ancestors(folder)), own]
    files_seen = False
    for version in chain:
        files = sorted((version / "tests").glob("*.yaml"))
        files_seen = files_seen or bool(files)
        docs = read_validated(files, _validator, sink)
        inherited_ids = {item["id"] for item in merged}
        patch, here = _written_cases(docs, version, sink)
        written_before = len(written)
        written.extend(patch)
        placed = _merge_list_by_id(merged, [{"id": w.id, "at": written_before + i} for i, w in enumerate(patch)], "id")
        if version == own:
            suite.overridden = [patch[i].id for i in placed if patch[i].id in inherited_ids]
        removed = _removals(docs, inherited_ids, here, sink)
        merged = [item for item in merged if item["id"] not in removed]
        if version == own:
            suite.removed = sorted(removed)
    if not files_seen:
        sink.error(Location(display_path(folder / "tests")), "没有政策测试文件（tests/*.yaml）", code="no-tests")
    for item in merged:
        case = _read_case(checked, written[item["at"]], own, sink)
        if case is not None:
            suite.cases.append(case)
    sink.raise_if_any()
    return suite


def _written_cases(
    docs: list[SourceDocument], version: Path, sink: DiagnosticSink
) -> tuple[list[_Written], dict[str, str]]:
    """The cases of one version's test files, and where each id is written (ids are unique)."""
    out: list[_Written] = []
    where: dict[str, str] = {}
    for doc in docs:
        if not doc.data.get("cases") and not doc.data.get("remove"):
            sink.error(doc.locate(()), "测试文件里没有用例（cases:），也没有删除（remove:）", code="no-tests")
        file_period: Period | None = None
        if doc.data.get("period"):
            try:
                file_period = Period.parse(str(doc.data["period"]))
            except ValueError as exc:
                # Said once, at the file's own period: line, not once for every case that uses it.
                sink.error(doc.locate(("period",)), str(exc), code="bad-period")
        for index, raw in enumerate(doc.data.get("cases") or []):
            case_id = str(raw.get("id") or raw["name"])
            loc = doc.locate(("cases", index, "id" if "id" in raw else "name"))
            if case_id in where:
                sink.error(
                    loc,
                    f"用例标识「{case_id}」重复：已在 {where[case_id]} 用过",
                    "同一版本的用例，id（没写 id 的用名称）不能重复；后续版本按它覆盖或删除用例",
                    code="duplicate-case",
                )
                continue
            where[case_id] = f"{loc.file}:{loc.line}"
            out.append(_Written(case_id, doc, index, file_period, version))
    return out, where


def _removals(
    docs: list[SourceDocument], inherited: set[str], written_here: dict[str, str], sink: DiagnosticSink
) -> set[str]:
    """The inherited case ids this version's `remove: {cases: […]}` names; each must be inherited."""
    removed: set[str] = set()
    for doc in docs:
        for index, case_id in enumerate((doc.data.get("remove") or {}).get("cases") or []):
            where = doc.locate(("remove", "cases", index))
            if case_id in written_here:
                sink.error(
                    where,
                    f"用例「{case_id}」在本版本中既写了又删除了（写在 {written_here[case_id]}）",
                    "覆盖上一版本的用例只需写同 id 的用例；删除只用于继承来的用例",
                    code="duplicate-case",
                )
            elif case_id not in inherited:
                sink.error(
                    where,
                    f"要删除的用例「{case_id}」不是继承来的用例",
                    suggest(case_id, sorted(inherited)) or "remove: 的 cases 写上一版本用例的 id（没写 id 的写名称）",
                    code="unknown-name",
                )
            else:
                removed.add(case_id)
    return removed


def _read_case(checked: CheckedPolicy, w: _Written, own: Path, sink: DiagnosticSink) -> Case | None:
    """One case read against the policy under test. Problems of this version's own cases go to the
    sink; an inherited case that this version cannot read (it removed a field or program the case
    names) becomes a failing case saying so, so the rest still run."""
    inherited = w.version != own
    problems = DiagnosticSink() if inherited else sink
    doc, raw = w.doc, w.doc.data["cases"][w.index]
    path = ("cases", w.index)
    loc = doc.locate(path)
    period = w.file_period
    if raw.get("period"):
        try:
            period = Period.parse(str(raw["period"]))
        except ValueError as exc:
            problems.error(doc.locate((*path, "period")), str(exc), code="bad-period")
    elif period is None and not doc.data.get("period"):
        problems.error(loc, f"用例「{raw['name']}」没有写学期（period），如 2021秋季", code="missing-period")
    defaults = doc.data.get("defaults") or {}
    values = _facts(checked, {**defaults, **raw["student"]}, doc, (*path, "student"), problems)
    _check_expect(checked, raw["expect"], doc, (*path, "expect"), problems)
    record = Record(loc.line or 0, values)
    if not inherited:
        return None if period is None else Case(w.id, raw["name"], loc, period, record, raw["expect"])
    origin, cannot_read = display_path(w.version), [d.render() for d in problems.items]
    period = period or checked.manifest.effective_from  # unread: the case fails with its problems
    return Case(w.id, raw["name"], loc, period, record, raw["expect"], origin, cannot_read)


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
            sink.error(
                doc.locate((*path, key)),
                f"不认识的字段「{key}」",
                suggest(str(key), list(by_name)),
                code="unknown-name",
            )
            continue
        info = checked.fields[fid]
        if is_blank(cell):
            values[fid] = info.blank
            continue
        value, problem = parse_value(info.type, cell, info.field)
        if problem:
            sink.error(doc.locate((*path, key)), f"字段「{key}」的值不对：{problem}", code="bad-value")
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
            doc.locate(path),
            f"「{checked.fields[fid].field.label}」{given} 与身份证号中的出生日期 {from_id} 不一致",
            code="id-birth-mismatch",
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
                sink.error(where, f"不认识的资助项目「{pid}」", suggest(str(pid), list(programs)), code="unknown-name")
                continue
            if section == "awards" and not isinstance(value, (int, Decimal)):
                sink.error(where, f"「{pid}」的金额应为数字，实际是 {value!r}", code="bad-value")
            if section == "denied":
                causes = (
                    {"condition", "quota", "zero"}
                    | {x.id for x in programs[pid].exclusions}
                    | {r.program for r in programs[pid].not_with}
                )
                if value not in causes:
                    hint = "可写：" + "、".join(sorted(causes))
                    sink.error(where, f"「{pid}」不享受的原因「{value}」不存在", hint, code="unknown-name")
    for cid in expect.get("flags") or []:
        if cid not in checked.checks:
            hint = suggest(cid, list(checked.checks))
            sink.error(doc.locate((*path, "flags")), f"不认识的核查「{cid}」", hint, code="unknown-name")
    for item in expect.get("errors") or []:
        if item not in programs and item not in checked.checks:
            sink.error(
                doc.locate((*path, "errors")),
                f"不认识的项目或核查「{item}」",
                suggest(item, [*programs, *checked.checks]),
                code="unknown-name",
            )


def run_cases(checked: CheckedPolicy, suite: Suite) -> TestRun:
    run = TestRun(folder=suite.folder, overridden=len(suite.overridden), removed=len(suite.removed))
    evaluators: dict[Period, Evaluator] = {}
    reads_year = _reads_the_year(checked)
    seen: set[str] = set()
    for case in suite.cases:
        if case.problems:
            run.outcomes.append(CaseOutcome(case, case.problems))
            continue
        covered = checked.manifest.covers(case.period)
        if not covered:
            if reads_year:
                reason = (
                    f"用例的学期 {case.period} 不在本版本的生效学期（{checked.manifest.describe_effective()}）内，"
                    "而本版本的规则读学期的年份（学期.年份 或 学期.学年），在该学期按本版本计算的结果没有意义"
                )
                run.outcomes.append(CaseOutcome(case, [], skipped=reason))
                continue
            run.outside_range += 1
        evaluator = evaluators.get(case.period) or evaluators.setdefault(
            case.period, Evaluator(checked if covered else _rules_in(checked, case.period), case.period)
        )
        result = evaluator.evaluate(case.record)
        seen |= exercised(result)
        problems, differing = _compare(checked, case.expect, result)
        detail = ""
        if problems:
            explanations = [e for e in evaluator.explain(case.record) if e.item in differing]
            detail = explain_text(checked, result, explanations, str(case.period), student_line=False)
        run.outcomes.append(CaseOutcome(case, problems, detail))
    run.uncovered = uncovered(checked, seen)
    return run


def _rules_in(checked: CheckedPolicy, period: Period) -> CheckedPolicy:
    """This version's rules for a semester outside its effective range: a case keeps the semester
    its ages and dates were written for (an inherited one, or one that replaces it), and the rules
    it is held to are this version's."""
    manifest = replace(checked.manifest, effective_from=period, effective_until=None)
    return replace(checked, policy=replace(checked.policy, manifest=manifest))


def _reads_the_year(checked: CheckedPolicy) -> bool:
    """Whether any rule reads the semester's year (学期.年份 / 学期.学年): then an outcome in a
    semester outside the effective range is one this version never gives."""
    items = [("computed", c) for c in checked.computed] + [("group", g) for g in checked.groups]
    items += [("program", p) for p in checked.programs] + [("check", c) for c in checked.checks]
    roots = [e for item in items for e in checked.expressions(item)]
    return any(
        isinstance(node, ir.PeriodRef) and node.attribute in ("year", "school_year")
        for root in roots
        for node in ir.subexpressions(root)
    )


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


def _compare(checked: CheckedPolicy, expect: dict[str, Any], result: Result) -> tuple[list[str], set[str]]:
    """What differs from the expectation, worded with the programs' and checks' Chinese labels."""
    problems: list[str] = []
    differing: set[str] = set()

    def named(item_id: str) -> str:
        return f"「{checked.label(item_id)}」({item_id})"

    actual = {a.program: a.amount for a in result.awards}
    if "awards" in expect:
        wanted = {pid: Decimal(v) for pid, v in expect["awards"].items()}
        for pid in sorted(set(wanted) | set(actual)):
            if wanted.get(pid) != actual.get(pid):
                differing.add(pid)
                problems.append(f"{named(pid)}：应为 {_money(wanted.get(pid))}，实际 {_money(actual.get(pid))}")
    denials = {d.program: d for d in result.denials}
    for pid, cause in (expect.get("denied") or {}).items():
        d = denials.get(pid)
        got = None if d is None else (d.cause if d.cause in ("condition", "quota", "zero") else d.item)
        if got != cause:
            differing.add(pid)
            shown = "已享受" if pid in actual else f"{d.reason}" if d else "无法判定"
            problems.append(f"{named(pid)}：应因「{_cause_words(checked, pid, cause)}」不享受，实际 {shown}")
    if "flags" in expect:
        wanted_flags, got_flags = set(expect["flags"]), {f.check for f in result.flags}
        if wanted_flags != got_flags:
            differing |= wanted_flags ^ got_flags
            problems.append(f"核查标记：应为 {_listed(checked, wanted_flags)}，实际 {_listed(checked, got_flags)}")
    wanted_errors = set(expect.get("errors") or [])
    got_errors = {e.program for e in result.errors}
    if wanted_errors != got_errors:
        differing |= wanted_errors ^ got_errors
        actual_errors = "；".join(e.message for e in result.errors) or "无"
        problems.append(f"问题：应为 {_listed(checked, wanted_errors)}，实际 {actual_errors}")
    return problems, differing


_CAUSE_WORDS = {"condition": "不符合条件", "quota": "名额已满", "zero": "金额为零"}


def _cause_words(checked: CheckedPolicy, pid: str, cause: str) -> str:
    """A test's `denied:` cause (condition, an exclusion id, a program given way to …) in words."""
    if cause in _CAUSE_WORDS:
        return _CAUSE_WORDS[cause]
    program = checked.policy.programs[pid]
    reason = next((x.reason for x in program.exclusions if x.id == cause), None)
    if reason is not None:
        return reason
    return f"让位于{checked.label(cause)}"


def _listed(checked: CheckedPolicy, ids: set[str]) -> str:
    return "、".join(f"「{checked.label(i)}」({i})" for i in sorted(ids)) or "无"


def _money(amount: Decimal | None) -> str:
    return "不享受" if amount is None else money_text(amount)


def render(run: TestRun) -> str:
    lines = []
    for o in run.outcomes:
        if o.skipped:
            lines.append(f"跳过：{o.case.name}  ({o.case.location})  学期 {o.case.period}")
            lines.extend(["  " + o.skipped, ""])
        if o.passed or o.skipped:
            continue
        lines.append(f"失败：{o.case.name}  ({o.case.location})  学期 {o.case.period}")
        lines.extend("  " + p.replace("\n", "\n  ") for p in o.problems)
        if o.case.inherited_from:
            lines.append("  " + _inherited_hint(o.case, run.folder).replace("\n", "\n  "))
        if o.detail:
            lines.append("  " + o.detail.replace("\n", "\n  "))
        lines.append("")
    if run.uncovered:
        lines.append("覆盖不全（每条规则至少要有一个用例）：")
        lines.extend("  " + u for u in run.uncovered)
        lines.append("")
    if run.outside_range:
        lines.append(f"注：{run.outside_range} 个用例的学期不在本版本的生效学期内，按本版本的规则在用例自己的学期计算")
    lines.append(summary(run))
    return "\n".join(lines)


def _inherited_hint(case: Case, folder: str) -> str:
    quoted = '"' + case.id.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return (
        f"此用例继承自 {case.inherited_from}（{case.location}），它的预期由本版本负责：\n"
        f"  若本版本的结果是对的：在 {folder}/tests/ 中写一个 id 相同的用例（id: {quoted}），"
        "写上按新规则手算的 expect，覆盖它；\n"
        f"  若它不再适用：写 remove: {{cases: [{quoted}]}} 删除它，并注明原因"
    )


def summary(run: TestRun) -> str:
    """The last line: how many cases ran, passed, failed; inherited, overridden, removed, skipped."""
    ran = len(run.outcomes) - run.skipped
    return (
        f"运行 {ran} 个用例：通过 {run.passed}，失败 {run.failed}；"
        f"其中继承 {run.inherited} 个，"
        f"本版本覆盖 {run.overridden} 个、删除 {run.removed} 个继承的用例，跳过 {run.skipped} 个"
    )
