"""Results → what people read: JSONL (the machine contract), tables, totals, explanations."""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from tabulate import tabulate

from .check import CheckedPolicy
from .evaluate import Explanation, Result, RowError
from .ledger import Ledger
from .records import Rejected
from .types import display, money_text

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


def ledger_text(ledger: Ledger) -> str:
    headers, rows = ledger.table()
    align = ("left",) * (len(headers) - 2) + ("right", "right")
    text = tabulate(rows, headers=headers, colalign=align, disable_numparse=True)
    if ledger.checked.checks:
        flag_headers, flag_rows = ledger.flag_table()
        text += "\n\n" + tabulate(flag_rows, headers=flag_headers, disable_numparse=True)
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
