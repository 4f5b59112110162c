"""Follow-up between semesters (控辍保学动态管理, 一(一)3 and 二(四)).

Compares two rosters evaluated for two semesters. For the checks: who newly dropped out (新辍学:
was in school, now 未入学), who entered school age without being in school (新入适龄), who came
back (劝返复学: was 未入学, now in school), who aged out while still out of school (超出适龄 — the
case stays visible: it is not a success), other new or resolved flags, and who is still flagged;
who appears in only one roster, with their aid; and whose aid started or stopped, how much, and why.

The movements of a check are told apart by the policy's groups ``enrolled`` (已入学) and
``school_age`` (适龄儿童少年), read from each result; a saved result has no groups, so its
resolved flags cannot be told apart and say so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from engine.check.checked import CheckedPolicy
from engine.check.samples import SAMPLE_MARK, sample_footnote
from engine.check.types import CENT, display
from engine.files.records import Rejected
from engine.files.report import denial_text
from engine.policy.model import Period
from engine.runtime.results import Award, Result
from engine.vocabulary import BLANK_GROUP, MOVEMENT_WORDS

# The statuses whose aid amounts the summary adds up (money that starts, stops, arrives, leaves).
MONEY_STATUSES = ("appeared", "left", "started", "stopped")
ENROLLED_GROUP = "enrolled"  # 已入学
SCHOOL_AGE_GROUP = "school_age"  # 适龄儿童少年
# 一(一)1: "春、秋学期开学两周内对适龄儿童少年入学情况排查" — the first day counts as day 1.
CHECK_WINDOW_DAYS = 14
# A result evaluated without reasons → the same with its denials and groups (see follow_up).
Reasons = Callable[[Result], Result]


@dataclass(frozen=True)
class Movement:
    status: str
    item: str  # check or program id; "" for roster movements
    label: str
    id_number: str
    name: str
    place: tuple[str, ...]  # the values of the grouping fields (township, school …)
    reason: str = ""
    amount: Decimal | None = None  # the aid that started, stopped, arrived or left with the child
    # The programs in `amount` whose figures read a table marked `sample: true` (marked ※, with a note).
    sample: tuple[str, ...] = ()


def check_window(checked: CheckedPolicy, period: Period) -> tuple[dt.date, dt.date]:
    """(semester start, last day of the 排查) for a semester, from the policy's semester data."""
    start = checked.manifest.reference_date(period)
    return start, start + dt.timedelta(days=CHECK_WINDOW_DAYS - 1)


def window_text(checked: CheckedPolicy, period: Period) -> str:
    start, due = check_window(checked, period)
    semester = checked.manifest.semesters[period.season]
    cite = semester.citation.cite or "一(一)1"
    return (f"{period} {semester.label}开学（基准日）{start.isoformat()}；适龄儿童少年入学情况排查应在开学两周内、"
            f"即 {due.isoformat()}（含）前完成（{cite}）")  # fmt: skip


def follow_up(
    checked: CheckedPolicy,
    before: Iterable[Result | Rejected],
    after: Iterable[Result | Rejected],
    same_season: bool,
    places: list[str],
    with_reasons: tuple[Reasons | None, Reasons | None] = (None, None),
) -> list[Movement]:
    """Movements from the first roster to the second, grouped by the fields `places` (ids).
    Yearly and one-off aid is compared only between semesters of the same season (autumn to
    autumn): in spring it is never paid. `with_reasons`, per roster: given a result evaluated without
    reasons (a bulk engine's), the same with its denials and groups — asked only for the students
    whose movement needs them (a flag or an award that changed)."""
    old: dict[str, Result] = {}
    new: dict[str, Result] = {}
    rejected: list[tuple[str, Rejected]] = []  # (which roster, the rejected row): never a leaver nor a newcomer
    for roster, results, when in ((before, old, "上学期"), (after, new, "本学期")):
        for r in roster:
            if isinstance(r, Result):
                results.setdefault(r.id_number, r)
            else:
                rejected.append((when, r))
    rejected_ids = {row.id_number for _, row in rejected if row.id_number}
    checks = checked.policy.checks
    programs = checked.policy.programs
    compared = [pid for pid, p in programs.items() if p.per == "semester" or same_season]
    out: list[Movement] = []

    def movement(status: str, item: str, label: str, r: Result, reason: str = "", amount: Decimal | None = None,
                 awards: Iterable[Award] = ()):  # fmt: skip
        place = tuple(
            display(r.values.get(f), checked.fields[f].type) if r.values.get(f) not in (None, "") else BLANK_GROUP
            for f in places
        )
        sample = tuple(a.label for a in awards if a.sample)
        out.append(Movement(status, item, label, r.id_number, r.name, place, reason, amount, sample))

    def aid(r: Result) -> tuple[Decimal, list[Award]]:
        """The compared aid a student has, and its awards."""
        awards = [a for a in r.awards if a.program in compared]
        return sum((a.amount for a in awards), Decimal(0)), awards

    for when, row in rejected:
        other = (old.get(row.id_number) or new.get(row.id_number)) if row.id_number else None
        reasons = "；".join(e.message for e in row.reasons)
        flags = "、".join(f.label for f in other.flags) if other is not None else ""
        still = f"；另一学期核查标记：{flags}（是否解除无法判断，须继续跟进）" if flags else ""
        reason = f"{when}名单第 {row.row} 行被退回：{reasons}{still}"
        name = row.name or (other.name if other else "")
        out.append(Movement("rejected", "", "名单", row.id_number, name, _place_of_rejected(row, places), reason))
    for id_number, r in new.items():
        if id_number in rejected_ids:
            continue
        if id_number not in old:
            flags = "、".join(f.label for f in r.flags)
            movement("appeared", "", "名单", r, f"核查标记：{flags}" if flags else "", *aid(r))
    for id_number, r in old.items():
        if id_number not in new and id_number not in rejected_ids:
            flags = "、".join(f.label for f in r.flags)
            movement("left", "", "名单", r, f"上学期核查标记：{flags}" if flags else "", *aid(r))
    for id_number, a in old.items():
        b = new.get(id_number)
        if b is None:
            continue
        was, now = {f.check for f in a.flags}, {f.check for f in b.flags}
        got_before = {x.program: x for x in a.awards}
        got_after = {x.program: x for x in b.awards}
        if got_before.keys() != got_after.keys() or was != now:  # a movement that reads reasons or groups
            first, second = with_reasons
            a, b = (a if first is None else first(a)), (b if second is None else second(b))
        undecided = {e.program: e for e in b.errors if e.program}  # checks and programs this row cannot decide
        for cid in checks:
            label = checks[cid].label
            if cid in undecided:  # a blank fact: neither resolved nor new — still to be followed up
                before_text = "上学期有此标记" if cid in was else "上学期无此标记"
                movement("undetermined", cid, label, b, f"{before_text}；本学期{undecided[cid].message}")
            elif cid in now and cid not in was:
                movement(_newly_flagged(a, b), cid, label, b, checks[cid].message)
            elif cid in was and cid not in now:
                status, reason = _resolved(a, b)
                movement(status, cid, label, b, reason)
            elif cid in now:
                movement("still", cid, label, b, checks[cid].message)
        for pid in compared:
            p = programs[pid]
            if pid in undecided:
                if pid in got_before:
                    movement("undetermined", pid, p.label, b, f"上学期享受；本学期{undecided[pid].message}",
                             got_before[pid].amount, [got_before[pid]])  # fmt: skip
            elif pid in got_before and pid not in got_after:
                movement("stopped", pid, p.label, b, _reason(b, pid), got_before[pid].amount, [got_before[pid]])
            elif pid in got_after and pid not in got_before:
                movement("started", pid, p.label, b, _reason(a, pid, "此前："), got_after[pid].amount,
                         [got_after[pid]])  # fmt: skip
    order = {status: i for i, status in enumerate(MOVEMENT_WORDS)}
    out.sort(key=lambda m: (m.place, order[m.status], m.item, m.id_number))
    return out


# Movements that call for action: a child out of school, a case that cannot be told, a row sent back.
ALERT_STATUSES = ("dropped_out", "entered_age", "aged_out", "undetermined", "rejected")


def needs_alert(movements: list[Movement]) -> bool:
    """Whether `zizhu followup` exits 1: someone newly or still out of school must be found, or a row
    could not be followed up."""
    return any(m.status in ALERT_STATUSES for m in movements)


def _place_of_rejected(row: Rejected, places: list[str]) -> tuple[str, ...]:
    return tuple((row.cells.get(f) or "").strip() or BLANK_GROUP for f in places)


def _has_facts(r: Result) -> bool:
    return bool(r.values)


def _newly_flagged(a: Result, b: Result) -> str:
    if not (_has_facts(a) and _has_facts(b)):
        return "new"
    if ENROLLED_GROUP in a.groups and ENROLLED_GROUP not in b.groups:
        return "dropped_out"
    if SCHOOL_AGE_GROUP not in a.groups and SCHOOL_AGE_GROUP in b.groups and ENROLLED_GROUP not in b.groups:
        return "entered_age"
    return "new"


def _resolved(a: Result, b: Result) -> tuple[str, str]:
    """Why a flag no longer holds: back in school, aged out while still out of school, or other."""
    if not (_has_facts(a) and _has_facts(b)):
        return "resolved", "本学期不再符合核查条件（保存的结果没有学生信息，无法区分劝返复学与超出适龄）"
    if ENROLLED_GROUP not in a.groups and ENROLLED_GROUP in b.groups:
        return "returned", "上学期未入学，本学期已入学"
    if ENROLLED_GROUP not in b.groups and SCHOOL_AGE_GROUP in a.groups and SCHOOL_AGE_GROUP not in b.groups:
        return "aged_out", "已超出适龄仍未入学：不是劝返成功，须继续关注"
    if ENROLLED_GROUP in a.groups and ENROLLED_GROUP not in b.groups:
        return "resolved", "本学期未入学（见新辍学），不再是在校重点对象"
    return "resolved", "本学期不再符合核查条件"


def _reason(result: Result, pid: str, prefix: str = "") -> str:
    denial = next((d for d in result.denials if d.program == pid), None)
    if denial:
        return prefix + denial_text(denial)
    error = next((e for e in result.errors if e.program == pid), None)
    return prefix + error.message if error else ""


def movement_table(
    checked: CheckedPolicy, places: list[str], movements: list[Movement]
) -> tuple[list[str], list[list[Any]]]:
    """One row per movement; an amount from a sample table is marked ※ in the 示例标准 column beside
    it (the amount stays a number a sheet can sum)."""
    headers = [checked.fields[f].field.label for f in places] + ["变化", "核查或资助项目", "身份证号", "姓名",
                                                                 "金额（元）", "示例标准", "说明"]  # fmt: skip
    rows = [[*m.place, MOVEMENT_WORDS[m.status], m.label, m.id_number, m.name,
             m.amount.quantize(CENT) if m.amount is not None else "", SAMPLE_MARK if m.sample else "",
             m.reason] for m in movements]  # fmt: skip
    return headers, rows


def sample_note(movements: list[Movement]) -> str:
    """The note every follow-up document carries when an amount in it came from a sample table."""
    return sample_footnote(label for m in movements for label in m.sample)


def summary(checked: CheckedPolicy, places: list[str], movements: list[Movement]) -> tuple[list[str], list[list[Any]]]:
    """Counts of each kind of movement per place (township, school …), the money of aid that started,
    stopped, arrived with newcomers or left with leavers, a 合计 row, and, when some of that money came
    from a sample table, a row of that part marked ※ (as the ledger counts it apart)."""
    counts: dict[tuple[str, ...], dict[str, list[Any]]] = {}
    total: dict[str, list[Any]] = {}
    sample: dict[str, Decimal] = {}
    for m in movements:
        for cell in (counts.setdefault(m.place, {}), total):
            entry = cell.setdefault(m.status, [0, Decimal(0)])
            entry[0] += 1
            entry[1] += m.amount or 0
        if m.sample and m.amount is not None:
            sample[m.status] = sample.get(m.status, Decimal(0)) + m.amount
    headers = [checked.fields[f].field.label for f in places] + list(MOVEMENT_WORDS.values())
    headers += [f"{MOVEMENT_WORDS[s]}金额" for s in MONEY_STATUSES]

    def row(place: tuple[str, ...] | list[str], c: dict[str, list[Any]]) -> list[Any]:
        zero = [0, Decimal(0)]
        return [*place, *(c.get(k, zero)[0] for k in MOVEMENT_WORDS),
                *(c.get(k, zero)[1].quantize(CENT) for k in MONEY_STATUSES)]  # fmt: skip

    rows = [row(place, c) for place, c in sorted(counts.items())]
    if rows and places:
        rows.append(row(["合计"] + [""] * (len(places) - 1), total))
        if sample:
            lead = [f"其中示例数据金额{SAMPLE_MARK}"] + [""] * (len(places) - 1)
            rows.append([*lead, *([""] * len(MOVEMENT_WORDS)),
                         *(sample.get(k, Decimal(0)).quantize(CENT) for k in MONEY_STATUSES)])  # fmt: skip
    return headers, rows
