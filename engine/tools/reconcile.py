"""Reconciliation (不漏一生, 二(三)): what was paid against who is entitled.

The payment list is what the bureau disbursed: one row per student and program
(ID number, name, school, program by label or id, amount). Each difference from
the engine's entitlements becomes a finding in one category; sums are exact.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.check import idcard
from engine.check.checker import CheckedPolicy
from engine.check.types import CENT, display
from engine.check.values import parse_number
from engine.files.readers import RawTable
from engine.files.records import Rejected
from engine.runtime.results import Result
from engine.vocabulary import BLANK_GROUP, RECONCILE_WORDS

# Payment sheet columns as bureaus name them.
PAYMENT_COLUMNS = {
    "id_number": ("身份证号", "身份证号码", "公民身份号码", "id_number"),
    "name": ("姓名", "学生姓名", "name"),
    "school": ("学校", "就读学校", "学校名称", "school"),
    "program": ("资助项目", "项目", "资助类别", "项目名称", "program"),
    "amount": ("金额", "发放金额", "资助金额", "金额（元）", "amount"),
}
REQUIRED = ("id_number", "program", "amount")


@dataclass
class Payment:
    row: int
    id_number: str
    name: str
    school: str
    program: str | None  # the program id, None when the sheet names no program we know
    program_text: str
    amount: Decimal | None


@dataclass
class Finding:
    category: str
    id_number: str
    name: str
    school: str
    program: str
    program_label: str
    entitled: Decimal | None = None
    paid: Decimal | None = None
    detail: str = ""
    paid_rows: list[int] = field(default_factory=list)
    student_row: int | None = None
    short: bool = False  # a wrong amount below the entitlement: money still owed

    @property
    def money(self) -> Decimal:
        """The money a finding is about: owed when omitted, the difference when wrong, else what was paid."""
        if self.category == "omitted":
            return self.entitled or Decimal(0)
        if self.category == "wrong_amount":
            return (self.paid or Decimal(0)) - (self.entitled or Decimal(0))
        return self.paid or Decimal(0)


def read_payments(checked: CheckedPolicy, table: RawTable) -> tuple[list[Payment], list[str]]:
    """Payment rows, and the sheet-level problems (a required column missing)."""
    headers = {h.strip(): h for h in table.headers}
    columns: dict[str, str] = {}
    for key, names in PAYMENT_COLUMNS.items():
        found = next((headers[n] for n in names if n in headers), None)
        if found:
            columns[key] = found
    missing = [PAYMENT_COLUMNS[k][0] for k in REQUIRED if k not in columns]
    if missing:
        return [], [f"{table.file}: 发放名单缺少列：{'、'.join(missing)}（列标题可用：" +
                    "；".join("/".join(PAYMENT_COLUMNS[k][:3]) for k in REQUIRED) + "）"]  # fmt: skip
    programs = {
        **{pid: pid for pid in checked.policy.programs},
        **{p.label: pid for pid, p in checked.policy.programs.items()},
    }
    payments = []
    for row, raw in table.rows():

        def cell(key: str, raw: dict[str, Any] = raw) -> str:
            value = raw.get(columns.get(key, ""), "")
            return "" if value is None else str(value).strip()

        amount, _problem = parse_number(raw.get(columns["amount"]), money=True) if cell("amount") else (None, "")
        program_text = cell("program")
        payments.append(
            Payment(
                row,
                idcard.normalise(cell("id_number")),
                cell("name"),
                cell("school"),
                programs.get(program_text),
                program_text,
                amount,
            )
        )
    return payments, []


def reconcile(
    checked: CheckedPolicy,
    outcomes: Iterable[Result | Rejected],
    payments: list[Payment],
    school_field: str | None = None,
) -> list[Finding]:
    """Findings in category order. A finding's school is the student's `school_field` (a field id)
    when the student file has it, else the payment sheet's school column."""

    def school_of(student: Result, fallback: str = "") -> str:
        value = student.values.get(school_field) if school_field else None
        return fallback if value in (None, "") else display(value, checked.fields[school_field].type)

    students: dict[str, Result | Rejected] = {}
    for o in outcomes:
        students.setdefault(o.id_number, o)
    labels = {pid: p.label for pid, p in checked.policy.programs.items()}
    findings: list[Finding] = []
    by_pair: dict[tuple[str, str], list[Payment]] = {}
    for pay in payments:
        if pay.program is None or pay.amount is None or not pay.id_number:
            problem = (
                f"不认识的资助项目「{pay.program_text}」" if pay.program is None
                else "金额不是数字" if pay.amount is None else "没有身份证号"
            )  # fmt: skip
            findings.append(Finding("unknown", pay.id_number, pay.name, pay.school, pay.program or "", pay.program_text,
                                    paid=pay.amount, detail=problem, paid_rows=[pay.row]))  # fmt: skip
            continue
        by_pair.setdefault((pay.id_number, pay.program), []).append(pay)
    for (id_number, pid), rows in by_pair.items():
        first = rows[0]
        student = students.get(id_number)
        common = dict(id_number=id_number, name=first.name, school=first.school, program=pid, program_label=labels[pid])
        if len(rows) > 1:
            schools = "、".join(sorted({r.school for r in rows if r.school})) or "（未填学校）"
            findings.append(Finding("duplicate", **common, paid=sum((r.amount for r in rows), Decimal(0)),
                                    detail=f"同一学生同一项目发放 {len(rows)} 次（{schools}）",
                                    paid_rows=[r.row for r in rows]))  # fmt: skip
        if student is None:
            findings.append(Finding("unknown", **common, paid=first.amount, detail="学生名单中没有这名学生",
                                    paid_rows=[first.row]))  # fmt: skip
            continue
        if isinstance(student, Rejected):
            reasons = "；".join(r.message for r in student.reasons)
            findings.append(Finding("unknown", **common, paid=first.amount, student_row=student.row,
                                    detail=f"学生名单第 {student.row} 行被退回，无法核对：{reasons}",
                                    paid_rows=[first.row]))  # fmt: skip
            continue
        common["name"] = student.name or first.name
        common["school"] = school_of(student, first.school)
        award = next((a for a in student.awards if a.program == pid), None)
        if award is None:
            denial = next((d for d in student.denials if d.program == pid), None)
            if denial and denial.cause == "relation" and (id_number, denial.item) in by_pair:
                continue  # both of a never-together pair were paid: reported once, as 互斥, below
            error = next((e for e in student.errors if e.program == pid), None)
            reason = denial.reason if denial else error.message if error else "不享受"
            clause = f"（{denial.clause}）" if denial and denial.clause else ""
            findings.append(Finding("unentitled", **common, paid=first.amount, detail=reason + clause,
                                    paid_rows=[first.row], student_row=student.row))  # fmt: skip
        elif award.amount != first.amount:
            short = first.amount < award.amount
            diff = (first.amount - award.amount).quantize(CENT)
            findings.append(Finding("wrong_amount", **common, entitled=award.amount, paid=first.amount, short=short,
                                    detail=("少发 " if short else "多发 ") + str(abs(diff)) + " 元",
                                    paid_rows=[first.row], student_row=student.row))  # fmt: skip
    for student in students.values():
        if isinstance(student, Rejected):
            continue
        paid = {pid for (id_number, pid) in by_pair if id_number == student.id_number}
        school = school_of(student)
        for award in student.awards:
            if award.program not in paid:
                findings.append(Finding("omitted", student.id_number, student.name, school, award.program, award.label,
                                        entitled=award.amount, detail=f"应发未发（{award.clause}）",
                                        student_row=student.row))  # fmt: skip
        for pid in sorted(paid):
            for rel in checked.policy.programs[pid].not_with:
                if rel.program in paid:
                    findings.append(Finding("exclusive", student.id_number, student.name, school, pid, labels[pid],
                                            paid=by_pair[(student.id_number, pid)][0].amount,
                                            detail=f"与「{labels[rel.program]}」不能同时享受（{rel.citation.cite}）",
                                            paid_rows=[p.row for p in by_pair[(student.id_number, pid)]],
                                            student_row=student.row))  # fmt: skip
    order = list(RECONCILE_WORDS)
    findings.sort(key=lambda f: (order.index(f.category), f.school, f.id_number, f.program))
    return findings


def needs_alert(findings: list[Finding]) -> bool:
    """Someone entitled was not paid, or paid less: the case 不漏一生 exists to catch."""
    return any(f.category == "omitted" or (f.category == "wrong_amount" and f.short) for f in findings)


def summary(findings: list[Finding], key: str) -> tuple[list[str], list[list[Any]]]:
    """Count and money of each category per school (key="school") or per program (key="program_label")."""
    groups: dict[str, dict[str, list[Any]]] = {}
    for f in findings:
        cell = groups.setdefault(getattr(f, key) or BLANK_GROUP, {}).setdefault(f.category, [0, Decimal(0)])
        cell[0] += 1
        cell[1] += f.money
    headers = ["学校" if key == "school" else "资助项目"]
    for word in RECONCILE_WORDS.values():
        headers += [f"{word}人次", f"{word}金额"]
    rows = []
    for name in sorted(groups):
        row: list[Any] = [name]
        for category in RECONCILE_WORDS:
            count, money = groups[name].get(category, [0, Decimal(0)])
            row += [count, money.quantize(CENT)]
        rows.append(row)
    return headers, rows


FINDING_HEADERS = [
    "类别",
    "身份证号",
    "姓名",
    "学校",
    "资助项目",
    "应发（元）",
    "实发（元）",
    "说明",
    "发放名单行",
    "学生名单行",
]


def finding_row(f: Finding) -> list[Any]:
    def money(value: Decimal | None) -> Any:
        return value.quantize(CENT) if value is not None else ""

    return [RECONCILE_WORDS[f.category], f.id_number, f.name, f.school, f.program_label, money(f.entitled),
            money(f.paid), f.detail, "、".join(map(str, f.paid_rows)), f.student_row or ""]  # fmt: skip


def report_tables(findings: list[Finding]) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """What `zizhu reconcile` prints: every finding, then the summaries per school and per program."""
    return {
        "发现": (FINDING_HEADERS, [finding_row(f) for f in findings]),
        "按学校汇总": summary(findings, "school"),
        "按项目汇总": summary(findings, "program_label"),
    }


def report_sheets(findings: list[Finding]) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """The workbook: one sheet per category (漏发, 错发 …), then the two summaries."""
    sheets = {
        word: (FINDING_HEADERS, [finding_row(f) for f in findings if f.category == key])
        for key, word in RECONCILE_WORDS.items()
    }
    return {**sheets, "按学校汇总": summary(findings, "school"), "按项目汇总": summary(findings, "program_label")}


def counts_line(payments: list[Payment], findings: list[Finding]) -> str:
    """N 条发放记录；漏发 n，错发 n …"""
    counts = {word: sum(f.category == key for f in findings) for key, word in RECONCILE_WORDS.items()}
    return f"{len(payments)} 条发放记录；" + "，".join(f"{w} {n}" for w, n in counts.items())

