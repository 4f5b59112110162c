"""Reconciliation (不漏一生, 二(三)): what was paid against who is entitled.

The payment list is what the bureau disbursed: one row per student and program
(ID number, name, school, program by label or id, amount). Each difference from
the engine's entitlements becomes a finding in one category; sums are exact.

Only the programs the bureau pays are reconciled by default: a program that declares
``paid_by: bank`` (loans) is not on the bureau's list, so its absence there is no omission.
``--programs`` / ``--skip`` choose otherwise. The work is linear in students + payments.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.check import idcard
from engine.check.checked import CheckedPolicy
from engine.check.samples import SAMPLE_MARK, sample_footnote, sample_programs
from engine.check.types import CENT, display
from engine.check.values import id_cell_is_number, is_blank, parse_number, problem_code
from engine.files.readers import RawTable, read_table
from engine.files.records import Rejected
from engine.files.report import one_clause
from engine.runtime.results import Award, Explanation, Result
from engine.vocabulary import BLANK_GROUP, PAID_BY_WORDS, RECONCILE_COLUMN_WORDS, RECONCILE_WORDS

# Payment sheet columns as bureaus name them.
PAYMENT_COLUMNS = {
    "id_number": ("身份证号", "身份证号码", "公民身份号码", "id_number"),
    "name": ("姓名", "学生姓名", "name"),
    "school": ("学校", "就读学校", "学校名称", "school"),
    "program": ("资助项目", "项目", "资助类别", "项目名称", "program"),
    "amount": ("金额", "发放金额", "资助金额", "金额（元）", "amount"),
}
REQUIRED = ("id_number", "program", "amount")
# A bureau's sheet often ends with a total row (合计 1250.00): it is not a payment.
TOTAL_WORDS = ("合计", "总计", "小计", "共计")
ZERO = Decimal(0)
# A student evaluated again with its reasons (denials) and its explanation.
Recheck = Callable[[Result], tuple[Result, list[Explanation]]]


@dataclass
class Payment:
    row: int
    id_number: str
    name: str
    school: str
    program: str | None  # the program id, None when the sheet names no program we know
    program_text: str
    amount: Decimal | None
    problem: str = ""  # why the row cannot be reconciled (located: row and column)


@dataclass
class Finding:
    category: str
    id_number: str
    name: str
    school: str
    program: str
    program_label: str
    entitled: Decimal | None = None
    paid: Decimal | None = None  # for a duplicate: the total paid over all its rows
    detail: str = ""
    paid_rows: list[int] = field(default_factory=list)
    student_row: int | None = None
    short: bool = False  # a wrong amount below the entitlement: money still owed
    excess: Decimal | None = None  # a duplicate: what was paid beyond the first payment
    sample: bool = False  # the entitlement (应发) read a table marked `sample: true`: marked ※ with a note

    @property
    def column(self) -> str:
        """The summary column this finding counts in (金额不符 split into 少发 and 多发)."""
        if self.category == "wrong_amount":
            return "short" if self.short else "over"
        return self.category

    @property
    def money(self) -> Decimal:
        """The money at stake: owed when omitted; the difference when the amount is wrong (always
        positive: whether it is owed or over-paid is the column); the excess of a duplicate; for an
        unknown without a readable amount, what was owed; what was paid otherwise."""
        if self.category == "omitted":
            return self.entitled or ZERO
        if self.category == "wrong_amount":
            return abs((self.paid or ZERO) - (self.entitled or ZERO))
        if self.category == "duplicate":
            return self.excess or ZERO
        if self.category == "unknown" and self.paid is None:  # an unreadable amount: what was owed is at stake
            return self.entitled or ZERO
        return self.paid or ZERO


@dataclass
class Scope:
    """Which programs are reconciled, and why each of the others is not."""

    programs: list[str]
    left_out: dict[str, str]  # program id → why it is not reconciled

    def describe(self, checked: CheckedPolicy) -> str:
        labels = checked.policy.programs
        text = "核对项目：" + ("、".join(labels[p].label for p in self.programs) or "（无）")
        if self.left_out:
            text += "；不核对：" + "；".join(f"{labels[p].label}（{why}）" for p, why in self.left_out.items())
        return text


def choose_programs(checked: CheckedPolicy, only: list[str], skip: list[str]) -> Scope:
    """The programs to reconcile: those named by `only` (ids or Chinese labels), else every program
    the bureau pays (not `paid_by: bank`); minus `skip`. An unknown name is a ValueError saying
    which names exist."""
    programs = checked.policy.programs
    chosen = [_program_id(checked, name) for name in only]
    left_out: dict[str, str] = {}
    if chosen:
        left_out = {pid: "未在 --programs 中" for pid in programs if pid not in chosen}
    else:
        chosen = [pid for pid, p in programs.items() if p.paid_by == "bureau"]
        left_out = {pid: PAID_BY_WORDS.get(p.paid_by, p.paid_by) for pid, p in programs.items() if pid not in chosen}
    for name in skip:
        pid = _program_id(checked, name)
        if pid in chosen:
            chosen.remove(pid)
            left_out[pid] = "按 --skip 不核对"
    ordered = [pid for pid in programs if pid in chosen]
    return Scope(ordered, {pid: left_out[pid] for pid in programs if pid in left_out})


def _program_id(checked: CheckedPolicy, name: str) -> str:
    programs = checked.policy.programs
    name = name.strip()
    by_label = {p.label: pid for pid, p in programs.items()}
    if name in programs or name in by_label:
        return name if name in programs else by_label[name]
    near = _near_names(name, [*by_label, *programs])
    hint = f"，是否想写「{'」或「'.join(near)}」" if near else ""
    raise ValueError(f"没有资助项目「{name}」{hint}；可用：{'、'.join(by_label)}")


def _near_names(text: str, names: list[str]) -> list[str]:
    return difflib.get_close_matches(text, names, n=3, cutoff=0.6)


def is_payment_header(cells: list[str]) -> bool:
    """Whether a row is the payment list's header: it names the ID, program and amount columns (a
    bureau's title row above it is skipped, as `eval` skips one above a student list's header)."""
    names = {c.strip() for c in cells}
    return all(any(n in names for n in PAYMENT_COLUMNS[key]) for key in REQUIRED)


def read_payment_table(path: str, encoding: str | None = None, sheet: str | None = None) -> RawTable:
    """The payment list, its header found among the first rows (title rows above it are reported in
    the table's warnings)."""
    return read_table(path, encoding=encoding, sheet=sheet, is_header=is_payment_header)


def _is_total_row(id_cell: str, program: str, others: list[str], amount: Any, above: list[Payment]) -> bool:
    """The sheet's own sum, not a payment: no ID number (or the word itself there) and 合计/总计 in a
    cell; or no ID number, no program, nothing but an amount that is exactly the sum of the rows above."""

    def says_total(text: str) -> bool:
        return text.replace(" ", "").replace("\u3000", "").startswith(TOTAL_WORDS)

    if id_cell and not says_total(id_cell):
        return False
    if any(says_total(c) for c in [id_cell, program, *others]):
        return True
    stated, _problem = paid_amount(amount)
    return not program and stated is not None and bool(above) and stated == _sum_above(above)


def _sum_above(above: list[Payment]) -> Decimal:
    return sum((p.amount for p in above if p.amount is not None), ZERO)


def read_payments(checked: CheckedPolicy, table: RawTable) -> tuple[list[Payment], list[str]]:
    """Payment rows, and the sheet-level problems (a required column missing). A row whose amount
    is blank, not a number, negative or finer than a fen carries its problem, located. A 合计 row
    is not a payment: it is left out (see `total_rows`)."""
    payments, problems, _totals = read_payment_list(checked, table)
    return payments, problems


def read_payment_list(checked: CheckedPolicy, table: RawTable) -> tuple[list[Payment], list[str], list[str]]:
    """As `read_payments`, with the notes a person must read: each 合计 row left out, with whether its
    sum agrees with the payments above it."""
    headers = {h.strip(): h for h in table.headers}
    columns: dict[str, str] = {}
    for key, names in PAYMENT_COLUMNS.items():
        found = next((headers[n] for n in names if n in headers), None)
        if found:
            columns[key] = found
    missing = [PAYMENT_COLUMNS[k][0] for k in REQUIRED if k not in columns]
    if missing:
        return [], [f"{table.file}: 发放名单缺少列：{'、'.join(missing)}（列标题可用：" +
                    "；".join("/".join(PAYMENT_COLUMNS[k][:3]) for k in REQUIRED) + "）"], []  # fmt: skip
    programs = {
        **{pid: pid for pid in checked.policy.programs},
        **{p.label: pid for pid, p in checked.policy.programs.items()},
    }
    payments: list[Payment] = []
    notes: list[str] = []
    for row, raw in table.rows():

        def cell(key: str, raw: dict[str, Any] = raw) -> str:
            value = raw.get(columns.get(key, ""), "")
            return "" if value is None else str(value).strip()

        others = ["" if v is None else str(v) for k, v in raw.items() if k != columns["amount"]]
        if _is_total_row(cell("id_number"), cell("program"), others, raw.get(columns["amount"]), payments):
            notes.append(_total_note(table.file, row, raw.get(columns["amount"]), payments))
            continue
        amount, problem = paid_amount(raw.get(columns["amount"]))
        if problem:
            problem = f"发放名单第 {row} 行「{columns['amount']}」列：{problem}"
        program_text = cell("program")
        id_number = idcard.normalise(cell("id_number"))
        id_cell = raw.get(columns["id_number"])
        if not is_blank(id_cell) and (id_cell_is_number(id_cell) or idcard.check(id_number)[0] == "id-as-number"):
            # As in the student list: a number cell is not the ID typed, so the row is never matched.
            where = f"发放名单第 {row} 行「{columns['id_number']}」列：{idcard.ID_AS_NUMBER}"
            problem = where + (f"；{problem}" if problem else "")
        payment = Payment(row, id_number, cell("name"), cell("school"), programs.get(program_text), program_text,
                          amount, problem)  # fmt: skip
        payments.append(payment)
    return payments, [], notes


def _total_note(file: str, row: int, cell: Any, above: list[Payment]) -> str:
    """What a 合计 row said, and whether the payments above it add up to it."""
    stated, _problem = paid_amount(cell)
    text = f"{file} 第 {row} 行是合计行，不是发放记录，未核对"
    if stated is None:
        return text
    counted = _sum_above(above)
    if counted == stated:
        return f"{text}（合计 {stated} 元，与其上各行之和相符）"
    return f"{text}（合计 {stated} 元，但其上各行金额之和为 {counted} 元，请核对）"


def paid_amount(cell: Any) -> tuple[Decimal | None, str]:
    """An amount as payment lists write it (1,000.00 / ￥500 / 500), exact to the fen; else why not."""
    if cell is None or str(cell).strip() == "":
        return None, "金额是空的（应填发放金额，如 312.50）"
    value, problem = parse_number(cell, money=True)
    if value is None:
        if problem_code(problem) == "negative-amount":
            return None, f"金额是负数（{cell}）：发放名单只列实际发放的金额"
        if problem_code(problem) == "sub-fen":
            return None, f"金额「{cell}」不到分（最多两位小数），无法核对"
        return None, f"{problem}；金额应写如 312.50、1,000.00 或 ￥500"
    return value.quantize(CENT) + ZERO, ""  # + 0 turns -0.00 into 0.00


@dataclass
class Reconciliation:
    findings: list[Finding]
    scope: Scope
    payments: int  # rows on the payment list
    not_reconciled: int  # of them, rows of programs left out of the scope


def reconcile(
    checked: CheckedPolicy,
    outcomes: Iterable[Result | Rejected],
    payments: list[Payment],
    school_field: str | None = None,
    scope: Scope | None = None,
    recheck: Recheck | None = None,
) -> Reconciliation:
    """Findings in category order. A finding's school is the student's `school_field` (a field id)
    when the student file has it, else the payment sheet's school column. The students may be
    evaluated without reasons (faster); `recheck` evaluates one again with its reasons and
    explanation, so that a 错发 says why and names the facts that decided it."""
    scope = scope or choose_programs(checked, [], [])
    in_scope = set(scope.programs)
    programs = checked.policy.programs
    labels = {pid: p.label for pid, p in programs.items()}

    def school_of(student: Result, fallback: str = "") -> str:
        value = student.values.get(school_field) if school_field else None
        return fallback if value in (None, "") else display(value, checked.fields[school_field].type)

    students: dict[str, Result | Rejected] = {}
    for o in outcomes:
        students.setdefault(o.id_number, o)
    findings: list[Finding] = []
    by_pair: dict[tuple[str, str], list[Payment]] = {}
    paid_programs: dict[str, set[str]] = {}  # id number → programs paid: the per-student index
    not_reconciled = 0
    unrecognised: list[Payment] = []
    # (id, program) already reported as 未知 — an unreadable payment row, an unknown name it probably
    # meant, an entitlement that cannot be decided —: never also a 漏发.
    explained: set[tuple[str, str]] = set()
    for pay in payments:
        if pay.program is not None and pay.program not in in_scope:
            not_reconciled += 1
        elif pay.problem or not pay.id_number:
            finding = _unknown(pay, pay.problem or f"发放名单第 {pay.row} 行没有身份证号")
            if pay.id_number and pay.program is not None:  # the row names the payment: it is not also a 漏发
                explained.add((pay.id_number, pay.program))
                student = students.get(pay.id_number)
                award = _award(student, pay.program)
                finding.entitled = award.amount if award else None
                finding.student_row = student.row if student is not None else None
            findings.append(finding)
        elif pay.program is None:
            unrecognised.append(pay)
        else:
            by_pair.setdefault((pay.id_number, pay.program), []).append(pay)
            paid_programs.setdefault(pay.id_number, set()).add(pay.program)
    for pay in unrecognised:
        student = students.get(pay.id_number)
        already = paid_programs.get(pay.id_number, set())
        owed = [a.program for a in student.awards if a.program in in_scope and a.program not in already
                ] if isinstance(student, Result) else []  # fmt: skip
        meant = _near_names(pay.program_text, [labels[p] for p in owed])
        detail = f"不认识的资助项目「{pay.program_text}」"
        if meant:
            pid = next(p for p in owed if labels[p] == meant[0])
            explained.add((pay.id_number, pid))
            detail += f"，是否想写「{meant[0]}」？该生应享受此项，未另计漏发"
        elif near := _near_names(pay.program_text, [labels[p] for p in scope.programs]):
            detail += f"，是否想写「{'」或「'.join(near)}」？"
        findings.append(_unknown(pay, detail))
    for (id_number, pid), rows in by_pair.items():
        first = rows[0]
        student = students.get(id_number)
        common = dict(id_number=id_number, name=first.name, school=first.school, program=pid, program_label=labels[pid])
        award = _award(student, pid)
        if isinstance(student, Result):
            common["name"] = student.name or first.name
            common["school"] = school_of(student, first.school)
        if student is not None:
            for pay in rows:
                if _names_differ(pay.name, student.name):
                    findings.append(Finding("name_mismatch", **{**common, "name": student.name}, paid=pay.amount,
                                            paid_rows=[pay.row], student_row=student.row,
                                            detail=f"发放名单写的姓名是「{pay.name}」，学生名单第 {student.row} "
                                                   f"行是「{student.name}」：请核实是否发给了本人"))  # fmt: skip
        if len(rows) > 1:  # whoever the student is: the payments after the first are too many
            total = sum((r.amount or ZERO for r in rows), ZERO)
            excess = total - (first.amount or ZERO)
            schools = "、".join(sorted({r.school for r in rows if r.school})) or "（未填学校）"
            findings.append(Finding("duplicate", **common, entitled=award.amount if award else None, paid=total,
                                    excess=excess, paid_rows=[r.row for r in rows],
                                    student_row=student.row if student is not None else None,
                                    detail=f"同一学生同一项目发放 {len(rows)} 次（{schools}）：多发 {excess} 元，"
                                           f"共发 {total} 元"))  # fmt: skip
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
        undecided = next((e for e in student.errors if e.program == pid), None) if award is None else None
        if undecided is not None:  # the roster lacks a fact the program needs: neither owed nor unentitled
            findings.append(Finding("unknown", **common, paid=first.amount, paid_rows=[first.row],
                                    student_row=student.row, detail=f"无法核对：{undecided.message}"))  # fmt: skip
        elif award is None:
            paid_here, awarded = paid_programs.get(id_number, set()), {a.program for a in student.awards}
            if any(r.program in paid_here and r.program in awarded for r in programs[pid].not_with):
                continue  # it gave way to a program also paid: reported once, as 互斥, below
            reason = _why_not(checked, student, pid, recheck)
            findings.append(Finding("unentitled", **common, paid=first.amount, paid_rows=[first.row], detail=reason,
                                    student_row=student.row))  # fmt: skip
        elif award.amount != first.amount:
            short = first.amount < award.amount
            diff = abs(first.amount - award.amount)
            findings.append(Finding("wrong_amount", **common, entitled=award.amount, paid=first.amount, short=short,
                                    detail=("少发 " if short else "多发 ") + str(diff) + " 元",
                                    paid_rows=[first.row], student_row=student.row))  # fmt: skip
    on_the_list = {pay.id_number for pay in payments if pay.id_number}
    for student in students.values():
        if isinstance(student, Rejected):
            if student.id_number not in on_the_list:  # paid rows say it already, each with the rejection
                findings.append(_rejected_unpaid(student, checked, school_field))
            continue
        paid = paid_programs.get(student.id_number, set())
        school = school_of(student)
        for error in student.errors:  # owed or not cannot be told: never a silent 一致
            key = (student.id_number, error.program)
            if error.program in in_scope and error.program not in paid and key not in explained:
                explained.add(key)
                findings.append(Finding("unknown", student.id_number, student.name, school, error.program,
                                        labels[error.program], detail=f"无法判断是否应发（未发放）：{error.message}",
                                        student_row=student.row))  # fmt: skip
        for award in student.awards:
            key = (student.id_number, award.program)
            if award.program in in_scope and award.program not in paid and key not in explained:
                findings.append(Finding("omitted", student.id_number, student.name, school, award.program, award.label,
                                        entitled=award.amount, detail=f"应发未发（{award.clause}）",
                                        student_row=student.row))  # fmt: skip
        for pid in sorted(paid):
            for rel in programs[pid].not_with:
                if rel.program in paid:
                    rows = by_pair[(student.id_number, pid)]
                    findings.append(Finding("exclusive", student.id_number, student.name, school, pid, labels[pid],
                                            paid=rows[0].amount, paid_rows=[p.row for p in rows],
                                            detail=f"与「{labels[rel.program]}」不能同时享受（{rel.citation.cite}）",
                                            student_row=student.row))  # fmt: skip
    order = {category: i for i, category in enumerate(RECONCILE_WORDS)}
    findings.sort(key=lambda f: (order[f.category], f.school, f.id_number, f.program))
    sample = sample_programs(checked)  # the programs whose entitlements read a sample table
    for f in findings:
        f.sample = f.entitled is not None and f.program in sample
    return Reconciliation(findings, scope, len(payments), not_reconciled)


def _award(student: Result | Rejected | None, pid: str) -> Award | None:
    return next((a for a in student.awards if a.program == pid), None) if isinstance(student, Result) else None


def _names_differ(paid_name: str, roster_name: str) -> bool:
    """Two names that are not the same person's, spaces aside; a blank one says nothing."""

    def plain(name: str) -> str:
        return "".join(name.split())

    return bool(plain(paid_name)) and bool(plain(roster_name)) and plain(paid_name) != plain(roster_name)


def _rejected_unpaid(student: Rejected, checked: CheckedPolicy, school_field: str | None) -> Finding:
    """A rejected student who was paid nothing: whether anything was owed cannot be told."""
    reasons = "；".join(r.message for r in student.reasons)
    school = student.cells.get(school_field, "") if school_field else ""
    return Finding("unknown", student.id_number, student.name, school, "", "（全部项目）", student_row=student.row,
                   detail=f"学生名单第 {student.row} 行被退回，无法判断应发哪些项目（未发放）：{reasons}")  # fmt: skip


def _unknown(pay: Payment, detail: str) -> Finding:
    return Finding("unknown", pay.id_number, pay.name, pay.school, pay.program or "", pay.program_text,
                   paid=pay.amount, detail=detail, paid_rows=[pay.row])  # fmt: skip


def _why_not(checked: CheckedPolicy, student: Result, pid: str, recheck: Recheck | None) -> str:
    """One reason, one clause, the facts that decided it: 不符合条件：…；家庭类型 一般家庭（一(二)2(2)）."""
    explanations: list[Explanation] = []
    if recheck is not None:
        student, explanations = recheck(student)
    denial = next((d for d in student.denials if d.program == pid), None)
    if denial is None:
        error = next((e for e in student.errors if e.program == pid), None)
        return error.message if error else "不享受"
    reason, clause = one_clause(denial.reason, denial.clause)
    facts = _decisive_facts(checked, pid, explanations) if denial.cause in ("condition", "exclusion") else ""
    return f"{reason}{'；' + facts if facts else ''}" + (f"（{clause}）" if clause else "")


MAX_FACTS = 4


def _decisive_facts(checked: CheckedPolicy, pid: str, explanations: list[Explanation]) -> str:
    """The input facts the deciding step read, as 列名 值 (at most MAX_FACTS): those that are not 是/否
    (家庭类型 一般家庭) when there are any — they say who the student is —, else the 是/否 ones."""
    explanation = next((e for e in explanations if e.item == pid), None)
    if explanation is None:
        return ""
    deciding = next((s for s in explanation.steps if s.role == "condition" and s.value is False), None) or next(
        (s for s in explanation.steps if s.role == "exclusion" and s.value is True), None
    )
    if deciding is None:
        return ""
    inputs = {info.field.label: info for info in checked.fields.values() if info.field.compute is None}
    read = [(name, value, kind) for name, value, kind in deciding.reads if name in inputs]
    read = [r for r in read if not isinstance(r[1], bool)] or read
    shown = [f"{name} {display(value, kind)}" for name, value, kind in read[:MAX_FACTS]]
    return "、".join(shown) + ("等" if len(read) > MAX_FACTS else "")


ALERT_CATEGORIES = ("omitted", "name_mismatch", "unknown")


def needs_alert(findings: list[Finding]) -> bool:
    """Someone entitled was not paid, or paid less (the case 不漏一生 exists to catch); a payment went
    to an ID whose name is another's; or something could not be reconciled (未知: it may hide either)."""
    return any(f.category in ALERT_CATEGORIES or (f.category == "wrong_amount" and f.short) for f in findings)


def totals(findings: list[Finding]) -> dict[str, tuple[int, Decimal]]:
    """Count and money at stake of each summary column (少发 and 多发 apart)."""
    out = {column: (0, ZERO) for column in RECONCILE_COLUMN_WORDS}
    for f in findings:
        count, money = out[f.column]
        out[f.column] = (count + 1, money + f.money)
    return {column: (count, money.quantize(CENT) + ZERO) for column, (count, money) in out.items()}


def summary(findings: list[Finding], key: str) -> tuple[list[str], list[list[Any]]]:
    """Count and money of each column per school (key="school") or per program (key="program_label");
    a duplicate's money is its excess, with the total paid beside it."""
    groups: dict[str, list[Finding]] = {}
    for f in findings:
        groups.setdefault(getattr(f, key) or BLANK_GROUP, []).append(f)
    headers = ["学校" if key == "school" else "资助项目"]
    for column, word in RECONCILE_COLUMN_WORDS.items():
        headers += [f"{word}人次", f"{word}金额"]
        if column == "duplicate":
            headers.append("重复发放实发合计")
    rows = []
    for name in sorted(groups):
        # a program whose 应发 came from a sample table is marked as the ledger marks it
        marked = key == "program_label" and any(f.sample for f in groups[name])
        row: list[Any] = [name + (SAMPLE_MARK if marked else "")]
        for column, (count, money) in totals(groups[name]).items():
            row += [count, money]
            if column == "duplicate":
                paid = sum((f.paid or ZERO for f in groups[name] if f.category == "duplicate"), ZERO)
                row.append(paid.quantize(CENT))
        rows.append(row)
    return headers, rows


def summary_line(result: Reconciliation) -> str:
    """The last line a person reads: every category, 少发 and 多发 apart, with counts and money."""
    parts = [f"{RECONCILE_COLUMN_WORDS[c]} {n} 人次 {money} 元" for c, (n, money) in totals(result.findings).items()]
    skipped = f"（其中 {result.not_reconciled} 条属不核对的项目）" if result.not_reconciled else ""
    line = f"{result.payments} 条发放记录{skipped}；" + "，".join(parts)
    unknown = [f for f in result.findings if f.category == "unknown"]
    if unknown:
        names = sum(1 for f in unknown if f.detail.startswith("不认识的资助项目"))
        students = sum(1 for f in unknown if not f.paid_rows)
        why = "，".join(w for w in (f"{names} 条发放记录的资助项目名称不认识" if names else "",
                                    f"{students} 项未发放但无法判断是否应发" if students else "") if w)  # fmt: skip
        line += f"。核对未完成：{len(unknown)} 项无法核对" + (f"（{why}）" if why else "") + "，见「未知」"
    return line


FINDING_HEADERS = [
    "类别",
    "身份证号",
    "姓名",
    "学校",
    "资助项目",
    "应发（元）",
    "实发（元）",
    "涉及金额（元）",
    "示例标准",
    "说明",
    "发放名单行",
    "学生名单行",
]


def finding_row(f: Finding) -> list[Any]:
    def money(value: Decimal | None) -> Any:
        return value.quantize(CENT) if value is not None else ""

    word = RECONCILE_COLUMN_WORDS[f.column] if f.category == "wrong_amount" else RECONCILE_WORDS[f.category]
    return [word, f.id_number, f.name, f.school, f.program_label, money(f.entitled), money(f.paid), money(f.money),
            SAMPLE_MARK if f.sample else "", f.detail, "、".join(map(str, f.paid_rows)),
            f.student_row or ""]  # fmt: skip


def sample_note(result: Reconciliation) -> str:
    """The note a reconciliation carries (text and 说明 sheet) when an 应发 in it read a sample table."""
    return sample_footnote(f.program_label for f in result.findings if f.sample)


def report_tables(result: Reconciliation) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """What `zizhu reconcile` prints: every finding, then the summaries per school and per program."""
    return {
        "发现": (FINDING_HEADERS, [finding_row(f) for f in result.findings]),
        "按学校汇总": summary(result.findings, "school"),
        "按项目汇总": summary(result.findings, "program_label"),
    }


def report_sheets(result: Reconciliation) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """The workbook: one sheet per category (漏发, 错发 …), then the two summaries."""
    sheets = {
        word: (FINDING_HEADERS, [finding_row(f) for f in result.findings if f.category == key])
        for key, word in RECONCILE_WORDS.items()
    }
    return {**sheets, "按学校汇总": summary(result.findings, "school"),
            "按项目汇总": summary(result.findings, "program_label")}  # fmt: skip
