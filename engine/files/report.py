"""Results → what people read: JSONL (the machine contract), tables, totals, explanations."""

from __future__ import annotations

import datetime as dt
import json
import operator
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import yaml

from engine.check import ir
from engine.check.checked import CheckedPolicy
from engine.check.samples import SAMPLE_MARK, sample_footnote
from engine.check.types import Type, display, money_text
from engine.check.values import is_blank
from engine.check.wording import sentence
from engine.diagnostics import visible
from engine.files.records import Rejected
from engine.policy.model import Policy
from engine.policy.versions import SECTIONS
from engine.runtime.results import Award, Denial, Explanation, Flag, Result, RowError, TraceStep
from engine.vocabulary import CHECK_CATEGORY_WORDS, OUTCOME_WORDS, STEP_WORDS

Outcome = Result | Rejected


def text_table(rows: Any, headers: Any, **options: Any) -> str:
    """Rows as a plain-text table (tabulate's), cells shown as written (no number parsing).
    tabulate is imported here, when a table is printed: most commands print none (~30 ms)."""
    from tabulate import tabulate

    return tabulate(rows, headers=headers, disable_numparse=True, **options)



def _error_json(e: RowError) -> dict[str, str]:
    out = {"message": e.message}
    for key in ("field", "column", "program", "code"):
        value = getattr(e, key)
        if value:
            out[key] = value
    return out


def to_json(outcome: Outcome) -> dict[str, Any]:
    """One output object per input row (the JSONL contract)."""
    if isinstance(outcome, Rejected):
        return {
            "row": outcome.row,
            "id_number": outcome.id_number,
            "status": "rejected",
            "awards": [],
            "flags": [],
            "errors": [_error_json(e) for e in outcome.reasons],
        }
    return {
        "row": outcome.row,
        "id_number": outcome.id_number,
        "status": row_status(outcome),
        "awards": [_award_fields(a) for a in outcome.awards],
        "flags": [_flag_fields(f) for f in outcome.flags],
        "errors": [_error_json(e) for e in outcome.errors],
    }


def row_status(outcome: Outcome) -> str:
    """Contract 2: `rejected` (not evaluated), `problem` (evaluated, some item undecided), `evaluated`."""
    if isinstance(outcome, Rejected):
        return "rejected"
    return "problem" if outcome.errors else "evaluated"


def _award_fields(a: Award) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "program": a.program,
        "amount": money_text(a.amount),
        "kind": a.kind,
        "per": a.per,
        "clause": a.clause,
    }
    if a.sample:  # contract 3: only when true
        fields["sample"] = True
    return fields


def _flag_fields(f: Flag) -> dict[str, Any]:
    return {"check": f.check, "category": f.category, "clause": f.clause, "message": f.message}


def jsonl_line(outcome: Outcome) -> str:
    """`json.dumps(to_json(outcome))`, to the byte; a row without errors is assembled from
    fragments made once per award and flag, since millions of rows share a few dozen of them."""
    if isinstance(outcome, Rejected) or outcome.errors:
        return json.dumps(to_json(outcome), ensure_ascii=False)
    awards = ", ".join([_award_json(a) for a in outcome.awards])
    flags = ", ".join([_flag_json(f) for f in outcome.flags])
    return (
        f'{{"row": {outcome.row}, "id_number": {_quote(outcome.id_number)}, "status": "evaluated", '
        f'"awards": [{awards}], "flags": [{flags}], "errors": []}}'
    )


_quote = json.encoder.encode_basestring  # what json.dumps uses for a str with ensure_ascii=False
_fragments: dict[tuple[Any, ...], str] = {}


def _award_json(a: Award) -> str:
    key = (a.program, a.amount, a.kind, a.per, a.clause, a.sample)
    text = _fragments.get(key)
    if text is None:
        text = json.dumps(_award_fields(a), ensure_ascii=False)
        if len(_fragments) < 10_000:
            _fragments[key] = text
    return text


def _flag_json(f: Flag) -> str:
    key = ("flag", f.check, f.category, f.clause, f.message)
    text = _fragments.get(key)
    if text is None:
        text = _fragments[key] = json.dumps(_flag_fields(f), ensure_ascii=False)
    return text


def flags_text(flags: Iterable[Flag]) -> str:
    """Flags grouped apart by category, each under its Chinese word: 控辍保学：…；数据核对：…"""
    by_category: dict[str, list[str]] = {}
    for f in flags:
        by_category.setdefault(f.category, []).append(f.label)
    return "；".join(
        f"{word}：{'、'.join(by_category[key])}" for key, word in CHECK_CATEGORY_WORDS.items() if key in by_category
    )


def students_table(checked: CheckedPolicy, outcomes: Iterable[Outcome]) -> str:
    rows = []
    for o in outcomes:
        if isinstance(o, Rejected):
            rows.append([o.row, o.name, o.id_number, "退回：" + "；".join(e.message for e in o.reasons), "", "", ""])
            continue
        awards = "；".join(f"{a.label} {money_text(a.amount)}{SAMPLE_MARK if a.sample else ''}" for a in o.awards)
        notes = [text for text in (flags_text(o.flags), *(e.message for e in o.errors)) if text]
        # Loans are lent, not given: their own column, never added to grants and waivers.
        given = sum((a.amount for a in o.awards if a.kind != "loan"), start=Decimal(0))
        lent = sum((a.amount for a in o.awards if a.kind == "loan"), start=Decimal(0))
        money = [money_text(given) if given else "", money_text(lent) if lent else ""]
        rows.append([o.row, o.name, o.id_number, awards or "—", *money, "；".join(notes)])
    headers = ["行", "姓名", "身份证号", "资助", "补助与减免（元）", "贷款（元）", "核查与问题"]
    # Cells come from the file: a control character in one is shown, never sent to the terminal.
    shown = [[visible(c) if isinstance(c, str) else c for c in row] for row in rows]
    return text_table(shown, headers)


def reason_text(e: RowError) -> str:
    """A row's problem in words, naming its column once: messages name their column already (年级：…,
    身份证号 … 重复); the column is prefixed only where one does not."""
    return f"{e.column}：{e.message}" if e.column and e.column not in e.message else e.message


def denial_text(d: Denial) -> str:
    """Why a program was not awarded, with the clause that says so: 不符合条件：…（一(二)2(2)）."""
    reason, clause = one_clause(d.reason, d.clause)
    return f"{reason}（{clause}）" if clause else reason


def one_clause(reason: str, clause: str) -> tuple[str, str]:
    """A condition's label may carry a clause of its own in parentheses that qualifies one part of
    it (…或外地就读出具情况说明（一(二)5(2)）); the denial's clause is the one that decides, so the
    label's is dropped rather than printed beside it."""
    if reason.endswith("）") and "（" in reason:
        inner = reason[reason.rindex("（") + 1 : -1]
        if inner and inner[0] in "一二三四五六七八九十" and "(" in inner:
            return reason[: reason.rindex("（")], clause or inner
    return reason, clause


def rejected_text(rejected: Rejected) -> str:
    """Why a row was not evaluated (what `zizhu explain` says of a rejected student)."""
    lines = [f"第 {rejected.row} 行被退回，未评估："]
    lines += [f"  {reason_text(e)}" for e in rejected.reasons]
    return "\n".join(lines)


def explain_text(
    checked: CheckedPolicy,
    result: Result | Rejected,
    explanations: list[Explanation],
    period: str,
    reference_date: dt.date | None = None,
    student_line: bool = True,
    supplied: Mapping[str, str] | None = None,
) -> str:
    """What `zizhu explain` prints: conditions as Chinese sentences (engine/files/wording.py), a
    denial's deciding facts first, the plan's sentence (原文) for every program, totals with loans apart.
    A policy test's case is no file's student (no ID, its row a line of YAML): its failure names the
    case and the semester itself (`student_line=False`). `supplied` (label → how) marks the facts the
    file did not give (see `supplied_facts`): a blank shown as if written would misstate the roster."""
    head = f"学生：{result.name}（身份证号 {result.id_number}，第 {result.row} 行）  学期：{period}"
    if reference_date is not None:  # ages (周岁) are counted on this day
        head += f"  年龄计算基准日：{reference_date.isoformat()}"
    lines = [head] if student_line else []
    lines.append(f"政策：{checked.manifest.heading()}")
    sample = [a for a in result.awards if a.sample] if isinstance(result, Result) else []
    if isinstance(result, Result) and result.awards:
        lines.append(totals_text(result.awards))
    if sample:
        lines.append(sample_footnote(a.label for a in sample))
    worded = _ExplainWording(checked, supplied or {})
    for ex in explanations:
        lines.append("")
        title = f"【{ex.label}】{OUTCOME_WORDS[ex.outcome]}"
        if ex.amount is not None:
            title += f" {money_text(ex.amount)} 元" + (SAMPLE_MARK if any(a.program == ex.item for a in sample) else "")
        lines.append(title + f"   条款 {ex.clause}")
        lines.extend(worded.reason(ex))
        if ex.text and (ex.kind == "program" or ex.outcome == "flagged"):  # a clear check needs no quote
            lines.append(f"  原文：{ex.text}")
        decisions = _decisions_applied(checked, ex.item)
        if decisions:
            lines.append("  解读决定：" + "；".join(decisions))
        for step in ex.steps:
            lines.extend(worded.step(ex.item, step))
    return "\n".join(lines)


def totals_text(awards: Iterable[Award]) -> str:
    """合计 with loans apart: a loan is lent, not given, and is never added to grants and waivers."""
    parts = []
    for word, chosen in (("补助与减免", [a for a in awards if a.kind != "loan"]),
                         ("贷款", [a for a in awards if a.kind == "loan"])):  # fmt: skip
        if chosen:
            total = sum((a.amount for a in chosen), start=Decimal(0))
            each = "；".join(f"{a.label} {money_text(a.amount)}{SAMPLE_MARK if a.sample else ''}" for a in chosen)
            parts.append(f"{word} {money_text(total)} 元（{each}）")
    return "合计：" + "；".join(parts)


def _decisions_applied(checked: CheckedPolicy, item: str) -> list[str]:
    """The reading's decisions a program or check rests on (its own, its conditions', its exclusions'),
    each with the manifest's one-line wording: an auditor sees which reading of the plan applied."""
    owner = checked.policy.programs.get(item) or checked.policy.checks.get(item)
    if owner is None:
        return []
    citations = [owner.citation, *(c.citation for c in owner.conditions)]
    citations += [x.citation for x in getattr(owner, "exclusions", ())]
    return checked.manifest.decisions_of(*citations)


class _ExplainWording:
    """Steps of an explanation in the words of engine/files/wording.py: a step's expression text
    is looked up among its program's (or check's) checked conditions and exclusions."""

    def __init__(self, checked: CheckedPolicy, supplied: Mapping[str, str]) -> None:
        self.checked = checked
        self.supplied = supplied
        self.field_labels = {info.field.label for info in checked.fields.values()}
        self._sentences: dict[tuple[str, str], str] = {}
        self._exprs: dict[tuple[str, str], ir.Expr | None] = {}

    def fact(self, label: str, value: Any, type_: Type | None) -> str:
        """`label = value`, and how the value came when the file did not give it."""
        how = self.supplied.get(label)
        return f"{label} = {display(value, type_)}" + (f"（{how}）" if how else "")

    def expr(self, item: str, text: str) -> ir.Expr | None:
        """The checked expression of `item` whose text a step shows (None for a relation)."""
        key = (item, text)
        if key not in self._exprs:
            owner = self.checked.programs.get(item) or self.checked.checks.get(item)
            exprs = [c.expr for c in getattr(owner, "conditions", [])]
            exprs += [x.expr for x in getattr(owner, "exclusions", [])]
            exprs += [owner.amount] if getattr(owner, "amount", None) is not None else []
            self._exprs[key] = next((e for e in exprs if e.text == text), None)
        return self._exprs[key]

    def sentence(self, item: str, text: str) -> str:
        key = (item, text)
        if key not in self._sentences:
            found = self.expr(item, text)
            self._sentences[key] = sentence(found, self.checked) if found is not None else text
        return self._sentences[key]

    def deciding(self, item: str, steps: Sequence[TraceStep]) -> list[str]:
        """The facts that decided these steps, each once, in the order first read."""
        labels: dict[str, None] = {}
        shown: dict[str, str] = {}
        for step in steps:
            found = self.expr(item, step.text)
            for label in _DecidingFacts(self.checked, step.reads).of(found, step.value):
                labels.setdefault(label)
            for label, value, type_ in step.reads:
                shown.setdefault(label, self.fact(label, value, type_))
        return [shown[label] for label in labels if label in shown and label in self.field_labels]

    def reason(self, ex: Explanation) -> list[str]:
        """For a denial: the step that decided it, worded, and the facts that decided that step; for
        an award: the facts that made its conditions hold and its exclusions fail (`_DecidingFacts`)."""
        deciding = next((s for s in ex.steps if s.decisive), None) if ex.outcome == "denied" else None
        if deciding is None:
            lines = [f"  理由：{ex.reason}"] if ex.reason else []
            if ex.outcome == "awarded":
                facts = self.deciding(ex.item, [s for s in ex.steps if s.role in ("condition", "exclusion")])
                if facts:
                    lines.append("  决定的信息：" + "，".join(facts))
            return lines
        said = self.sentence(ex.item, deciding.text)
        named = f"「{deciding.label}」" if deciding.label and deciding.label not in (deciding.text, said) else ""
        if deciding.role == "condition":
            why = f"不符合条件{named}：{said}"
        elif deciding.role == "exclusion":
            why = f"排除{named}：{said}"
        else:
            why = said
        facts = self.deciding(ex.item, [deciding])
        lines = [f"  理由：{why}"]
        if facts:
            lines.append("  决定的信息：" + "，".join(facts))
        return lines

    def step(self, item: str, step: TraceStep) -> list[str]:
        mark = STEP_WORDS[step.role]
        if step.error:
            verdict = step.error
        elif step.role == "amount":
            verdict = money_text(Decimal(step.value)) + " 元"
        else:
            verdict = "成立" if step.value else "不成立"
        said = self.sentence(item, step.text) if step.role in ("condition", "exclusion", "amount") else step.text
        # The label names the condition; it is not the reason for its verdict, so it comes first.
        named = f"「{step.label}」" if step.label and step.label not in (step.text, said) else ""
        decided = "  ← 决定结果" if step.decisive else ""  # the part the evaluator says decided the outcome
        lines = [f"  {mark}{named}：{said}  →  {verdict}{decided}"]
        if step.reads:
            lines.append("      读取：" + "，".join(self.fact(label, v, t) for label, v, t in step.reads))
        return lines


_CANNOT_TELL = object()  # a part whose value the step's reads do not give (an amount, an age …)
_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


class _DecidingFacts:
    """The facts that decided a step's verdict: the shortest set its trace can justify.

    An `and` that fails is decided by one failing part, an `or` that holds by one holding part (of
    several, the one resting on fewest facts, the first of equals); an `and` that holds, an `or` that
    fails, and every comparison rest on all their parts; an unknown on its unknown parts. A group is
    the `and` of its conditions; a fact is itself. Values come from the step's reads (its facts and
    groups; equality, order and `in` against them are worked out here). Where a part's value cannot be
    told it keeps all its facts, and where the verdict worked out is not the step's, every fact read
    is kept: the list may be longer than needed, never shorter."""

    def __init__(self, checked: CheckedPolicy, reads: Sequence[tuple[str, Any, Type | None]]) -> None:
        self.checked = checked
        self.known = {label: value for label, value, _ in reads}
        self.everything = list(self.known)

    def of(self, expr: ir.Expr | None, verdict: Any) -> list[str]:
        if expr is None or not isinstance(verdict, bool) or self.value(expr) is not verdict:
            return self.everything
        return self.facts(expr, verdict)

    def _label(self, e: ir.FieldRef | ir.ComputedRef) -> str:
        return self.checked.fields[e.field].field.label

    def value(self, e: ir.Expr) -> Any:
        """True, False, None (unknown) or _CANNOT_TELL."""
        match e:
            case ir.FieldRef() | ir.ComputedRef():
                return self.known.get(self._label(e), _CANNOT_TELL)
            case ir.GroupRef(group=g):
                return self.known.get(self.checked.policy.groups[g].label, _CANNOT_TELL)
            case ir.Const(value=v):
                return v
            case ir.Not(operand=x):
                v = self.value(x)
                return (not v) if isinstance(v, bool) else v
            case ir.And(operands=xs):
                return _kleene([self.value(x) for x in xs], dominant=False)
            case ir.Or(operands=xs):
                return _kleene([self.value(x) for x in xs], dominant=True)
            case ir.Compare(op=op, left=a, right=b):
                return _compare(op, self.value(a), self.value(b))
            case ir.InList(item=x, options=opts, negated=negated):
                values = [self.value(x), *(self.value(o) for o in opts)]
                if any(v is _CANNOT_TELL for v in values):
                    return _CANNOT_TELL
                if any(v is None for v in values):
                    return None
                return (values[0] in values[1:]) != negated
        return _CANNOT_TELL

    def facts(self, e: ir.Expr, verdict: Any) -> list[str]:
        match e:
            case ir.FieldRef() | ir.ComputedRef():
                return [self._label(e)]
            case ir.GroupRef(group=g):
                return self._parts([c.expr for c in self.checked.groups[g]], verdict, dominant=False)
            case ir.Not(operand=x):
                return self.facts(x, (not verdict) if isinstance(verdict, bool) else verdict)
            case ir.And(operands=xs):
                return self._parts(list(xs), verdict, dominant=False)
            case ir.Or(operands=xs):
                return self._parts(list(xs), verdict, dominant=True)
        return self._mentioned(e)

    def _parts(self, parts: list[ir.Expr], verdict: Any, dominant: bool) -> list[str]:
        """An `and` (dominant False) or `or` (dominant True) of `parts` with this verdict."""
        values = [self.value(p) for p in parts]
        if verdict is dominant:
            deciders = [self.facts(p, v) for p, v in zip(parts, values, strict=True) if v is dominant]
            if deciders:
                return min(deciders, key=len)
        elif verdict is None:
            parts = [p for p, v in zip(parts, values, strict=True) if v is None or v is _CANNOT_TELL] or parts
            values = [self.value(p) for p in parts]
        merged: dict[str, None] = {}
        for p, v in zip(parts, values, strict=True):
            merged.update(dict.fromkeys(self.facts(p, v) if isinstance(v, bool) or v is None else self._mentioned(p)))
        return list(merged)

    def _mentioned(self, e: ir.Expr) -> list[str]:
        """Every fact `e` names, through groups too."""
        found: dict[str, None] = {}
        todo, seen = [e], set()
        while todo:
            for node in ir.subexpressions(todo.pop()):
                if isinstance(node, ir.FieldRef | ir.ComputedRef):
                    found.setdefault(self._label(node))
                elif isinstance(node, ir.GroupRef) and node.group not in seen:
                    seen.add(node.group)
                    todo.extend(c.expr for c in self.checked.groups[node.group])
        return list(found)


def _kleene(values: list[Any], dominant: bool) -> Any:
    """Three-valued `and` (dominant False) or `or` (dominant True), with parts that cannot be told."""
    if any(v is dominant for v in values):
        return dominant
    if any(v is _CANNOT_TELL for v in values):
        return _CANNOT_TELL
    if any(v is None for v in values):
        return None
    return not dominant


def _compare(op: str, left: Any, right: Any) -> Any:
    if left is _CANNOT_TELL or right is _CANNOT_TELL:
        return _CANNOT_TELL
    if left is None or right is None:
        return None
    if op in ("==", "!="):
        return (left == right) == (op == "==")
    try:
        return _ORDER[op](left, right)
    except (KeyError, TypeError):
        return _CANNOT_TELL


def supplied_facts(
    checked: CheckedPolicy, headers: Mapping[str, str], raw: Mapping[str, Any], values: Mapping[str, Any]
) -> dict[str, str]:
    """Label → how the value came, for each fact of a student the file did not give: a blank cell
    taken as the policy's declared blank, a blank date taken from the ID number, a missing column
    taken as its declared `absent:`. `headers` maps field ids to the file's columns, `raw` is the
    row as read, `values` its typed facts. A blank left unknown is shown as blank already."""
    notes: dict[str, str] = {}
    for fid, info in checked.fields.items():
        value = values.get(fid)
        if info.field.compute is not None or value is None:
            continue
        shown = display(value, info.type)
        header = headers.get(fid)
        if header is None:
            notes[info.field.label] = f"文件无此列，按政策取{shown}"
        elif is_blank(raw.get(header)):
            notes[info.field.label] = "空白，按身份证号取得" if info.field.from_id else f"空白，按政策视为{shown}"
        elif info.field.known is not None and (written := str(raw.get(header)).strip()) != value:
            notes[info.field.label] = f"文件中写作「{written}」"  # an alias, read as the value it names
    return notes


# -- versions ----------------------------------------------------------------------


class _YamlOut(yaml.SafeDumper):
    """Decimals as the numbers they are (312.5), never through float."""


_YamlOut.add_representer(Decimal, lambda d, v: d.represent_scalar("tag:yaml.org,2002:float", str(v)))


def effective_yaml(policy: Policy) -> str:
    """The merged policy as YAML, each item preceded by where it was written and overridden."""
    lines = [f"# 有效政策：{policy.manifest.title}", "# 版本：" + " ← ".join(policy.lineage), ""]
    doc = policy.documents[0]
    lines.append(_dump({"policy": doc.data["policy"]}))
    for section in SECTIONS:
        items = doc.data.get(section) or []
        if not items:
            continue
        lines.append(f"{section}:")
        for item in items:
            origin = "；".join(policy.provenance.get((section, item["id"]), []))
            lines.append(f"  # 来源：{origin}")
            block = _dump([item]).rstrip("\n")
            lines.extend("  " + line for line in block.splitlines())
        lines.append("")
    return "\n".join(lines)


def _dump(value: Any) -> str:
    return yaml.dump(value, Dumper=_YamlOut, allow_unicode=True, sort_keys=False, width=100)


def titled_tables(tables: dict[str, tuple[list[str], list[list[Any]]]]) -> str:
    """Several tables, each under its title in 【】."""
    return "\n\n".join(
        f"【{title}】\n" + text_table(rows, headers)
        for title, (headers, rows) in tables.items()
    )
