"""What changed between two policy versions, and what it does to real students and the budget.

The structural diff compares two effective (merged) policies item by item, keyed
by id. Expressions are compared in a normal form, so reformatting or reordering
an ``and`` is not a change. The impact evaluates both versions on the same
students for the same semester; every sum is exact Decimal.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.check.checked import CheckedPolicy
from engine.check.samples import SAMPLE_MARK, sample_footnote
from engine.check.tables import key_text
from engine.check.types import CENT, display, money_text
from engine.files.records import Rejected
from engine.files.report import text_table
from engine.files.writers import write_sheets_xlsx
from engine.language.parse import canonical
from engine.policy import model as m
from engine.policy.provenance import DecisionRecord
from engine.runtime.results import Result
from engine.tools.ledger import GIVEN, LOANS, money_class
from engine.vocabulary import CHECK_CATEGORY_WORDS, PROGRAM_KIND_WORDS, SECTION_WORDS


@dataclass(frozen=True)
class Change:
    section: str  # parameters | fields | tables | groups | programs | checks
    item: str
    label: str
    aspect: str  # what about the item changed, in Chinese: 新增, 删除, 金额, 表格 [小学], 条件, 条款 …
    old: str = ""
    new: str = ""
    percent: str = ""

    def as_json(self) -> dict[str, str]:
        return {
            "kind": self.section,
            "id": self.item,
            "label": self.label,
            "aspect": self.aspect,
            "old": self.old,
            "new": self.new,
            "percent": self.percent,
        }


def percent(old: Decimal, new: Decimal) -> str:
    if old == 0:
        return ""
    change = ((new - old) / old * 100).quantize(Decimal("0.1"))
    return f"{change:+}%"


def _number(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except ArithmeticError:
        return None


def _value_change(section: str, item: str, label: str, aspect: str, old: Any, new: Any) -> Change:
    old_text, new_text = str(old), str(new)
    a, b = _number(old_text), _number(new_text)
    pct = percent(a, b) if a is not None and b is not None else ""
    return Change(section, item, label, aspect, old_text, new_text, pct)


class _Differ:
    def __init__(self, old: CheckedPolicy, new: CheckedPolicy) -> None:
        self.old, self.new = old, new
        self.changes: list[Change] = []

    def run(self) -> list[Change]:
        for section in SECTION_WORDS:
            before: dict[str, Any] = getattr(self.old.policy, section)
            after: dict[str, Any] = getattr(self.new.policy, section)
            for item_id in after:
                if item_id not in before:
                    self.add(section, item_id, after[item_id].label, "新增", new=_summary(section, after[item_id]))
            for item_id in before:
                if item_id not in after:
                    self.add(section, item_id, before[item_id].label, "删除", old=_summary(section, before[item_id]))
            for item_id in before:
                if item_id in after:
                    getattr(self, "_" + section)(item_id, before[item_id], after[item_id])
        return self.changes

    def add(
        self, section: str, item: str, label: str, aspect: str, old: str = "", new: str = "", pct: str = ""
    ) -> None:
        self.changes.append(Change(section, item, label, aspect, old, new, pct))

    def compare(self, section: str, item: str, label: str, aspect: str, old: Any, new: Any) -> None:
        if old != new:
            self.changes.append(_value_change(section, item, label, aspect, _show(old), _show(new)))

    def members(self, section: str, item: str, label: str, aspect: str, a: set[str], b: set[str]) -> None:
        """A set compared: the members only the old one has beside those only the new one has."""
        if a != b:
            self.add(section, item, label, aspect, "、".join(sorted(a - b)), "、".join(sorted(b - a)))

    def citation(self, section: str, item: str, label: str, a: m.Citation, b: m.Citation) -> None:
        self.compare(section, item, label, "条款", a.cite, b.cite)
        self.compare(section, item, label, "原文", a.text, b.text)
        self.compare(section, item, label, "解读决定", a.decision, b.decision)

    def conditions(self, section: str, item: str, label: str, aspect: str, a, b) -> None:
        """Condition lists are an `and`: compared as sets of normal forms; old shown beside new."""
        old = sorted(canonical(c.source.text) for c in a)
        new = sorted(canonical(c.source.text) for c in b)
        if old != new:
            removed = [c for c in old if c not in new]
            added = [c for c in new if c not in old]
            self.add(section, item, label, aspect, "\n".join(removed), "\n".join(added))

    def expression(self, section: str, item: str, label: str, aspect: str, a: str | None, b: str | None) -> None:
        old = canonical(a) if a else ""
        new = canonical(b) if b else ""
        if old != new:
            x, y = _number(old), _number(new)
            pct = percent(x, y) if x is not None and y is not None else ""
            self.add(section, item, label, aspect, old, new, pct)

    # -- per kind ----------------------------------------------------------------
    def _parameters(self, item: str, a: m.Parameter, b: m.Parameter) -> None:
        self.compare("parameters", item, b.label, "名称", a.label, b.label)
        self.compare("parameters", item, b.label, "类型", a.type, b.type)
        # The typed values (the checked policy's), not the YAML's spelling of them.
        self.compare("parameters", item, b.label, "取值", self.old.parameters[item], self.new.parameters[item])
        self.citation("parameters", item, b.label, a.citation, b.citation)

    def _fields(self, item: str, a: m.Field, b: m.Field) -> None:
        s = "fields"
        self.compare(s, item, b.label, "列标题", a.label, b.label)
        self.compare(s, item, b.label, "类型", a.type, b.type)
        # An enum's options are a set: no rule can compare their order (check refuses < on an enum)
        # and a cell matches its option wherever it is listed. Their order only lays out drop-downs
        # and ledger groups, so a reordered list is no change; a changed one is shown in each order.
        old_options, new_options = [v.label for v in a.values], [v.label for v in b.values]
        if sorted(old_options) != sorted(new_options):
            self.compare(s, item, b.label, "选项", old_options, new_options)
        self.compare(s, item, b.label, "别名", list(a.aliases), list(b.aliases))
        # Known values (the county's schools) are a set and their short forms a mapping: what was
        # removed beside what was added (a list of dozens of schools, shown whole, hides the change).
        old_known, new_known = _known_parts(a), _known_parts(b)
        self.members(s, item, b.label, "已知取值", old_known[0], new_known[0])
        self.members(s, item, b.label, "简称", old_known[1], new_known[1])
        self.expression(s, item, b.label, "须为已知取值的条件", old_known[2], new_known[2])
        self.compare(s, item, b.label, "必填", a.required, b.required)
        self.compare(
            s, item, b.label, "空白表示", a.blank if a.has_blank else "缺少", b.blank if b.has_blank else "缺少"
        )
        self.expression(
            s, item, b.label, "计算", a.compute.text if a.compute else None, b.compute.text if b.compute else None
        )
        self.citation(s, item, b.label, a.citation, b.citation)

    def _tables(self, item: str, a: m.Table, b: m.Table) -> None:
        s = "tables"
        self.compare(s, item, b.label, "名称", a.label, b.label)
        self.compare(s, item, b.label, "查表字段", list(a.keys), list(b.keys))
        self.compare(s, item, b.label, "示例数据", a.sample, b.sample)
        old_cells, new_cells = self.old.tables[item], self.new.tables[item]
        key_types = [self.new.fields[k].type for k in b.keys] if b.keys == a.keys else []
        for key in list(old_cells) + [k for k in new_cells if k not in old_cells]:
            shown = "[" + ", ".join(key_text(b, k, display(k, t)) for k, t in zip(key, key_types, strict=False)) + "]"
            before, after = old_cells.get(key), new_cells.get(key)
            if before == after:
                continue
            pct = percent(before, after) if before is not None and after is not None else ""
            old_text = money_text(before) if before is not None else "（无）"
            new_text = money_text(after) if after is not None else "（无）"
            self.add(s, item, b.label, f"表格 {shown}", old_text, new_text, pct)
        self.citation(s, item, b.label, a.citation, b.citation)

    def _groups(self, item: str, a: m.Group, b: m.Group) -> None:
        self.compare("groups", item, b.label, "名称", a.label, b.label)
        self.compare("groups", item, b.label, "规则", a.rule, b.rule)
        self.conditions("groups", item, b.label, "条件", a.conditions, b.conditions)
        self.citation("groups", item, b.label, a.citation, b.citation)

    def _programs(self, item: str, a: m.Program, b: m.Program) -> None:
        s, label = "programs", b.label
        self.compare(s, item, label, "名称", a.label, b.label)
        self.compare(s, item, label, "类别", a.kind, b.kind)
        self.compare(s, item, label, "频次", a.per, b.per)
        self.conditions(s, item, label, "条件", a.conditions, b.conditions)
        self.expression(s, item, label, "金额", a.amount.text, b.amount.text)
        self.expression(
            s, item, label, "优先级", a.priority.text if a.priority else None, b.priority.text if b.priority else None
        )
        self.compare(s, item, label, "名额", _quota(a.quota), _quota(b.quota))
        old_ex = {x.id: x for x in a.exclusions}
        new_ex = {x.id: x for x in b.exclusions}
        for ex_id in [*old_ex, *(x for x in new_ex if x not in old_ex)]:
            x, y = old_ex.get(ex_id), new_ex.get(ex_id)
            aspect = f"排除 {ex_id}"
            if x is None or y is None:
                self.add(s, item, label, aspect, f"{x.reason}：{canonical(x.condition.text)}" if x else "",
                         f"{y.reason}：{canonical(y.condition.text)}" if y else "")  # fmt: skip
                continue
            self.expression(s, item, label, aspect, x.condition.text, y.condition.text)
            self.compare(s, item, label, aspect + " 理由", x.reason, y.reason)
            self.citation(s, item, label, x.citation, y.citation)
        self.compare(
            s, item, label, "不能同时享受", sorted(r.program for r in a.not_with), sorted(r.program for r in b.not_with)
        )
        self.citation(s, item, label, a.citation, b.citation)

    def _checks(self, item: str, a: m.Check, b: m.Check) -> None:
        self.compare("checks", item, b.label, "名称", a.label, b.label)
        self.conditions("checks", item, b.label, "条件", a.conditions, b.conditions)
        self.compare("checks", item, b.label, "提示", a.message, b.message)
        words = CHECK_CATEGORY_WORDS
        self.compare("checks", item, b.label, "类别", words[a.category], words[b.category])
        self.citation("checks", item, b.label, a.citation, b.citation)

    def _properties(self, item: str, a: m.Property, b: m.Property) -> None:
        self.compare("properties", item, b.label, "名称", a.label, b.label)
        self.expression("properties", item, b.label, "对象", a.for_.text if a.for_ else None,
                        b.for_.text if b.for_ else None)  # fmt: skip
        self.expression("properties", item, b.label, "应成立", a.expect.text, b.expect.text)
        self.citation("properties", item, b.label, a.citation, b.citation)


def _known_parts(f: m.Field) -> tuple[set[str], set[str], str | None]:
    """A field's known values, its short forms (as 简称 → 全称) and its required_when; empty without `known:`."""
    if f.known is None:
        return set(), set(), None
    required = f.known.required_when.text if f.known.required_when is not None else None
    return set(f.known.values), {f"{k} → {v}" for k, v in f.known.aliases.items()}, required


def _quota(q: m.Quota | None) -> str:
    if q is None:
        return "不限"
    parts = [f"{q.count} 人" if q.count is not None else "", f"{q.budget} 元" if q.budget is not None else ""]
    return "、".join(p for p in parts if p)


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(map(str, value)) or "（无）"
    return "" if value is None else str(value)


def _summary(section: str, item: Any) -> str:
    if section == "programs":
        return f"{item.kind} {item.per}，金额 {canonical(item.amount.text)}"
    if section == "parameters":
        return str(item.value)
    return item.citation.cite


def structural_diff(old: CheckedPolicy, new: CheckedPolicy) -> list[Change]:
    return _Differ(old, new).run()


# -- impact on students ---------------------------------------------------------------


@dataclass
class ProgramImpact:
    program: str
    label: str
    kind: str
    gained: int = 0
    lost: int = 0
    changed: int = 0
    before: Decimal = field(default_factory=Decimal)
    after: Decimal = field(default_factory=Decimal)
    sample: bool = False  # some amount, before or after, read a table marked `sample: true`

    @property
    def delta(self) -> Decimal:
        return self.after - self.before


@dataclass(frozen=True)
class StudentChange:
    row: int
    id_number: str
    name: str
    program: str
    label: str
    before: Decimal | None
    after: Decimal | None
    sample: bool = False  # the amount before or after read a table marked `sample: true`

    @property
    def delta(self) -> Decimal:
        return (self.after or Decimal(0)) - (self.before or Decimal(0))


@dataclass
class Impact:
    programs: dict[str, ProgramImpact]
    students: list[StudentChange]
    rows: int = 0
    rejected: int = 0
    problems: int = 0  # rows evaluated with an item undecided under either version (compared as they came out)

    def total(self, money: str, which: str) -> Decimal:
        return sum((getattr(p, which) for p in self.programs.values() if money_class(p.kind) == money), Decimal(0))


def impact(
    old: CheckedPolicy, new: CheckedPolicy, old_outcomes: Iterable[Result | Rejected],
    new_outcomes: Iterable[Result | Rejected],
) -> Impact:  # fmt: skip
    """Both versions on the same students: each version's outcomes of the same file (read once for
    each version's fields, by any engine), so the rows line up. A program known to only one
    version counts as not awarded by the other."""
    programs: dict[str, ProgramImpact] = {}
    for checked in (old, new):
        for pid in checked.program_order:
            p = checked.policy.programs[pid]
            programs.setdefault(pid, ProgramImpact(pid, p.label, p.kind))
    result = Impact(programs, [])
    for a, b in zip(old_outcomes, new_outcomes, strict=True):
        result.rows += 1
        if isinstance(a, Rejected) or isinstance(b, Rejected):
            result.rejected += 1
            continue
        result.problems += bool(a.errors or b.errors)
        _compare_student(a, b, programs, result.students)
    return result


def _compare_student(a: Result, b: Result, programs: dict[str, ProgramImpact], changes: list[StudentChange]) -> None:
    old_awards = {x.program: x.amount for x in a.awards}
    new_awards = {x.program: x.amount for x in b.awards}
    sample = {x.program for x in (*a.awards, *b.awards) if x.sample}
    for pid, p in programs.items():
        x, y = old_awards.get(pid), new_awards.get(pid)
        p.before += x or 0
        p.after += y or 0
        p.sample = p.sample or pid in sample
        if x == y:
            continue
        if x is None:
            p.gained += 1
        elif y is None:
            p.lost += 1
        else:
            p.changed += 1
        changes.append(StudentChange(b.row, b.id_number, b.name, pid, p.label, x, y, pid in sample))


def impact_tables(result: Impact) -> tuple[tuple[list[str], list[list[Any]]], tuple[list[str], list[list[Any]]]]:
    """(summary headers, rows), (per-student headers, rows); money quantized to the fen. A program
    whose money read a sample table is marked ※ (as in the ledger), its money also counted apart."""
    headers = [
        "资助项目",
        "标识",
        "类别",
        "新增享受",
        "不再享受",
        "金额变化",
        "调整前（元）",
        "调整后（元）",
        "差额（元）",
    ]
    rows: list[list[Any]] = []
    for p in result.programs.values():
        rows.append([p.label + (SAMPLE_MARK if p.sample else ""), p.program, PROGRAM_KIND_WORDS[p.kind], p.gained,
                     p.lost, p.changed, p.before.quantize(CENT), p.after.quantize(CENT),
                     p.delta.quantize(CENT)])  # fmt: skip
    for money, label in ((GIVEN, "合计（补助与减免）"), (LOANS, "合计（贷款）")):
        b, a = result.total(money, "before"), result.total(money, "after")
        rows.append([label, "", "", "", "", "", b.quantize(CENT), a.quantize(CENT), (a - b).quantize(CENT)])
    sample = [p for p in result.programs.values() if p.sample]
    if sample:
        b = sum((p.before for p in sample), Decimal(0))
        a = sum((p.after for p in sample), Decimal(0))
        rows.append([f"其中示例数据金额{SAMPLE_MARK}", "", "", "", "", "", b.quantize(CENT), a.quantize(CENT),
                     (a - b).quantize(CENT)])  # fmt: skip
    student_headers = ["行", "身份证号", "姓名", "资助项目", "调整前（元）", "调整后（元）", "差额（元）"]
    student_rows = [
        [
            s.row,
            s.id_number,
            s.name,
            s.label + (SAMPLE_MARK if s.sample else ""),
            _money_or_blank(s.before),
            _money_or_blank(s.after),
            s.delta.quantize(CENT),
        ]
        for s in result.students
    ]
    return (headers, rows), (student_headers, student_rows)


def _money_or_blank(amount: Decimal | None) -> Any:
    return amount.quantize(CENT) if amount is not None else "—"


# -- rendering ---------------------------------------------------------------------


def change_table(changes: list[Change]) -> tuple[list[str], list[list[Any]]]:
    """The policy's changes as a table: kind of item, name, id, what changed, old, new, percent."""
    headers = ["类别", "名称", "标识", "变化", "原值", "新值", "变化率"]
    return headers, [[SECTION_WORDS[c.section], c.label, c.item, c.aspect, c.old, c.new, c.percent] for c in changes]


def render_diff(old: CheckedPolicy, new: CheckedPolicy, changes: list[Change], result: Impact | None, fmt: str) -> str:
    a, b = old.manifest, new.manifest
    if fmt == "json":
        out: dict[str, Any] = {
            "old": {"id": a.id, "version": a.version, "folder": old.policy.folder},
            "new": {"id": b.id, "version": b.version, "folder": new.policy.folder},
            "changes": [c.as_json() for c in changes],
        }
        if result is not None:
            (sh, srows), (th, trows) = impact_tables(result)
            out["impact"] = {"rows": impact_rows(result), "rows_note": impact_counts(result),
                             "programs": [dict(zip(sh, map(_jsonable, r), strict=True)) for r in srows],
                             "students": [dict(zip(th, map(_jsonable, r), strict=True)) for r in trows]}  # fmt: skip
        return json.dumps(out, ensure_ascii=False, indent=2)
    tablefmt = "github" if fmt == "markdown" else "simple"
    heading = f"{a.id} {a.version}（{old.policy.folder}） → {b.id} {b.version}（{new.policy.folder}）"
    parts = [("## " if fmt == "markdown" else "") + "政策变化：" + heading, ""]
    if not changes:
        parts.append("两个版本没有差别。")
    else:
        headers, rows = change_table(changes)
        parts.append(text_table(rows, headers, tablefmt=tablefmt))
        parts.append(f"\n共 {len(changes)} 处变化。")
    if result is not None:
        (sh, srows), (th, trows) = impact_tables(result)
        title = f"对学生的影响（{impact_counts(result)}）"
        parts += ["", ("## " if fmt == "markdown" else "") + title, ""]
        parts.append(text_table(srows, sh, tablefmt=tablefmt))
        note = impact_sample_note(result)
        if note:
            parts.append(note)
        parts += ["", ("### " if fmt == "markdown" else "") + f"结果有变化的学生（{len(trows)} 项）", ""]
        parts.append(text_table(trows, th, tablefmt=tablefmt) if trows else "无")
    return "\n".join(parts)


def impact_counts(result: Impact) -> str:
    """The rows the impact rests on: every row read, with those it compares with an item undecided
    and those it leaves out, so that no total looks more complete than it is."""
    return (f"共 {result.rows} 行：{result.problems} 行有无法判定的项目，按两个版本各自的结果比较；"
            f"{result.rejected} 行被退回，未计")  # fmt: skip


def impact_rows(result: Impact) -> dict[str, int]:
    """The same counts as `impact_counts`, for programs: every row read, and how many were
    evaluated with no problem, with a problem (under either version), or rejected (left out)."""
    evaluated = result.rows - result.problems - result.rejected
    return {"read": result.rows, "evaluated": evaluated, "problem": result.problems, "rejected": result.rejected}


def impact_sample_note(result: Impact) -> str:
    """The footnote for an impact whose money, before or after, came from a sample table."""
    return sample_footnote(p.label for p in result.programs.values() if p.sample)


def _jsonable(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def write_impact_xlsx(
    path: str, changes: list[Change], result: Impact, records: tuple[DecisionRecord, DecisionRecord] | None = None
) -> None:
    """The impact of a new version: summary per program, per-student changes, what changed, and a
    说明 sheet with the decision records of the old and the new version."""
    summary, students = impact_tables(result)
    lines: list[list[Any]] = []
    if records:
        old, new = records
        lines = [[f"旧版{k}", v] for k, v in old.lines()] + [[f"新版{k}", v] for k, v in new.lines()]
    # What the totals rest on, as the text title says it, then each count as a number Excel can add.
    counts = impact_rows(result)
    lines += [["比较的行", impact_counts(result)], ["读取行数", counts["read"]],
              ["计算行数（无问题）", counts["evaluated"]], ["有问题行数（按各自结果比较）", counts["problem"]],
              ["退回行数（未计入）", counts["rejected"]]]  # fmt: skip
    note = impact_sample_note(result)
    if note:
        lines.append(["示例数据", note])
    notes = {"说明": (["项目", "内容"], lines)}
    write_sheets_xlsx(path, {"汇总": summary, "学生变化": students, "政策变化": change_table(changes), **notes})
