"""Results → what people read: JSONL (the machine contract), tables, totals, explanations."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tabulate import tabulate

from .check import CheckedPolicy
from .evaluate import Explanation, Result, RowError
from .records import Rejected
from .types import display, money_text

KIND_LABELS = {"grant": "补助", "waiver": "减免", "loan": "贷款"}
PER_LABELS = {"semester": "每学期", "year": "每学年", "once": "一次性"}
OUTCOME_LABELS = {"awarded": "享受", "denied": "不享受", "error": "无法判定", "flagged": "需跟进", "clear": "无"}

Outcome = Result | Rejected


def _error_json(e: RowError) -> dict[str, str]:
    out = {"message": e.message}
    for key in ("field", "column", "program"):
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
        "status": "evaluated",
        "awards": [
            {"program": a.program, "amount": money_text(a.amount), "kind": a.kind, "per": a.per, "clause": a.clause}
            for a in outcome.awards
        ],
        "flags": [{"check": f.check, "clause": f.clause, "message": f.message} for f in outcome.flags],
        "errors": [_error_json(e) for e in outcome.errors],
    }


def jsonl_line(outcome: Outcome) -> str:
    return json.dumps(to_json(outcome), ensure_ascii=False)


@dataclass
class Totals:
    """Counts and money per program; grants and waivers kept apart from loans. Exact Decimal."""

    rows: int = 0
    evaluated: int = 0
    rejected: int = 0
    with_errors: int = 0
    students: dict[str, int] = field(default_factory=dict)
    money: dict[str, Decimal] = field(default_factory=dict)
    flags: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: Outcome) -> None:
        self.rows += 1
        if isinstance(outcome, Rejected):
            self.rejected += 1
            return
        self.evaluated += 1
        if outcome.errors:
            self.with_errors += 1
        for a in outcome.awards:
            self.students[a.program] = self.students.get(a.program, 0) + 1
            self.money[a.program] = self.money.get(a.program, Decimal(0)) + a.amount
        for f in outcome.flags:
            self.flags[f.check] = self.flags.get(f.check, 0) + 1

    def summary_line(self) -> str:
        return f"{self.rows} rows read, {self.evaluated} evaluated, {self.rejected} rejected"


def totals_table(checked: CheckedPolicy, totals: Totals) -> str:
    rows = []
    sums = {"given": Decimal(0), "loan": Decimal(0)}
    for pid in checked.program_order:
        program = checked.policy.programs[pid]
        money = totals.money.get(pid, Decimal(0))
        sums["loan" if program.kind == "loan" else "given"] += money
        rows.append(
            [
                program.label,
                pid,
                KIND_LABELS[program.kind],
                PER_LABELS[program.per],
                totals.students.get(pid, 0),
                money_text(money),
            ]
        )
    rows.append(["合计（补助与减免）", "", "", "", "", money_text(sums["given"])])
    rows.append(["合计（贷款）", "", "", "", "", money_text(sums["loan"])])
    text = tabulate(
        rows,
        headers=["资助项目", "标识", "类别", "频次", "人数", "金额（元）"],
        colalign=("left", "left", "left", "left", "right", "right"),
        disable_numparse=True,
    )
    if checked.checks:
        flag_rows = [
            [c.label, cid, c.citation.cite, totals.flags.get(cid, 0)] for cid, c in checked.policy.checks.items()
        ]
        text += "\n\n" + tabulate(flag_rows, headers=["核查", "标识", "条款", "人数"], disable_numparse=True)
    return text


def students_table(checked: CheckedPolicy, outcomes: Iterable[Outcome]) -> str:
    rows = []
    for o in outcomes:
        if isinstance(o, Rejected):
            rows.append([o.row, o.name, o.id_number, "退回：" + "；".join(e.message for e in o.reasons), "", ""])
            continue
        awards = "；".join(f"{a.label} {money_text(a.amount)}" for a in o.awards) or "—"
        notes = [f.label for f in o.flags] + [e.message for e in o.errors]
        rows.append([o.row, o.name, o.id_number, awards, money_text(o.total) if o.awards else "", "；".join(notes)])
    return tabulate(rows, headers=["行", "姓名", "身份证号", "资助", "合计（元）", "核查与问题"], disable_numparse=True)


def explain_text(
    checked: CheckedPolicy, result: Result | Rejected, explanations: list[Explanation], period: str
) -> str:
    lines = [f"学生：{result.name}（身份证号 {result.id_number}，第 {result.row} 行）  学期：{period}"]
    m = checked.manifest
    lines.append(f"政策：{m.title}（{m.source.get('number', '')}，版本 {m.version}）")
    if isinstance(result, Result) and result.awards:
        lines.append(
            "合计："
            + money_text(result.total)
            + " 元（"
            + "；".join(f"{a.label} {money_text(a.amount)}" for a in result.awards)
            + "）"
        )
    for ex in explanations:
        lines.append("")
        head = f"【{ex.label}】{OUTCOME_LABELS[ex.outcome]}"
        if ex.amount is not None:
            head += f" {money_text(ex.amount)} 元"
        head += f"   条款 {ex.clause}"
        lines.append(head)
        if ex.reason:
            lines.append(f"  理由：{ex.reason}")
        if ex.outcome in ("awarded", "flagged") and ex.text:
            lines.append(f"  原文：{ex.text}")
        for step in ex.steps:
            mark = {"condition": "条件", "exclusion": "排除", "amount": "金额"}[step.role]
            if step.error:
                verdict = step.error
            elif step.role == "amount":
                verdict = money_text(Decimal(step.value)) + " 元"
            else:
                verdict = "成立" if step.value else "不成立"
            title = step.label if step.label and step.label != step.text else ""
            lines.append(f"  {mark}：{step.text}  →  {verdict}" + (f"（{title}）" if title else ""))
            if step.reads:
                lines.append("      读取：" + "，".join(f"{label} = {display(v, t)}" for label, v, t in step.reads))
    return "\n".join(lines)
