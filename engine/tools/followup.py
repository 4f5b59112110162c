"""Follow-up between semesters (控辍保学动态管理, 一(一)3 and 二(四)).

Compares two rosters evaluated for two semesters: for the checks, who is newly
flagged (dropped out), resolved (back in school, 劝返复学), still flagged, and who
appears in only one roster; for aid, whose entitlement started or stopped, and why.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from engine.check.checker import CheckedPolicy
from engine.check.types import display
from engine.files.records import Rejected
from engine.runtime.results import Award, Flag, Result
from engine.vocabulary import BLANK_GROUP, MOVEMENT_WORDS


@dataclass(frozen=True)
class Movement:
    status: str
    item: str  # check or program id; "" for roster movements
    label: str
    id_number: str
    name: str
    place: tuple[str, ...]  # the values of the grouping fields (township, school …)
    reason: str = ""


def follow_up(
    checked: CheckedPolicy,
    before: Iterable[Result | Rejected],
    after: Iterable[Result | Rejected],
    same_season: bool,
    places: list[str],
) -> list[Movement]:
    """Movements from the first roster to the second, grouped by the fields `places` (ids).
    Yearly and one-off aid is compared only between semesters of the same season (autumn to
    autumn): in spring it is never paid."""
    old = {r.id_number: r for r in before if isinstance(r, Result)}
    new = {r.id_number: r for r in after if isinstance(r, Result)}
    checks = checked.policy.checks
    programs = checked.policy.programs
    out: list[Movement] = []

    def movement(status: str, item: str, label: str, r: Result, reason: str = "") -> None:
        place = tuple(
            display(r.values.get(f), checked.fields[f].type) if r.values.get(f) not in (None, "") else BLANK_GROUP
            for f in places
        )
        out.append(Movement(status, item, label, r.id_number, r.name, place, reason))

    for id_number, r in new.items():
        if id_number not in old:
            flags = "、".join(f.label for f in r.flags)
            movement("appeared", "", "名单", r, f"核查标记：{flags}" if flags else "")
    for id_number, r in old.items():
        if id_number not in new:
            flags = "、".join(f.label for f in r.flags)
            movement("left", "", "名单", r, f"上学期核查标记：{flags}" if flags else "")
    for id_number, a in old.items():
        b = new.get(id_number)
        if b is None:
            continue
        was, now = {f.check for f in a.flags}, {f.check for f in b.flags}
        for cid in checks:
            label = checks[cid].label
            if cid in now and cid not in was:
                movement("new", cid, label, b, checks[cid].message)
            elif cid in was and cid not in now:
                movement("resolved", cid, label, b, "本学期不再符合核查条件")
            elif cid in now:
                movement("still", cid, label, b, checks[cid].message)
        got_before = {x.program: x for x in a.awards}
        got_after = {x.program: x for x in b.awards}
        for pid, p in programs.items():
            if p.per != "semester" and not same_season:
                continue
            if pid in got_before and pid not in got_after:
                movement("stopped", pid, p.label, b, _reason(b, pid))
            elif pid in got_after and pid not in got_before:
                movement("started", pid, p.label, b, _reason(a, pid, "此前："))
    order = list(MOVEMENT_WORDS)
    out.sort(key=lambda m: (m.place, order.index(m.status), m.item, m.id_number))
    return out


def _reason(result: Result, pid: str, prefix: str = "") -> str:
    denial = next((d for d in result.denials if d.program == pid), None)
    if denial:
        return f"{prefix}{denial.reason}" + (f"（{denial.clause}）" if denial.clause else "")
    error = next((e for e in result.errors if e.program == pid), None)
    return prefix + error.message if error else ""


def movement_table(
    checked: CheckedPolicy, places: list[str], movements: list[Movement]
) -> tuple[list[str], list[list[Any]]]:
    headers = [checked.fields[f].field.label for f in places] + ["变化", "核查或资助项目", "身份证号", "姓名", "说明"]
    rows = [[*m.place, MOVEMENT_WORDS[m.status], m.label, m.id_number, m.name, m.reason] for m in movements]
    return headers, rows


def summary(checked: CheckedPolicy, places: list[str], movements: list[Movement]) -> tuple[list[str], list[list[Any]]]:
    """Counts of each kind of movement per place (township, school …)."""
    counts: dict[tuple[str, ...], dict[str, int]] = {}
    for m in movements:
        cell = counts.setdefault(m.place, {})
        cell[m.status] = cell.get(m.status, 0) + 1
    headers = [checked.fields[f].field.label for f in places] + list(MOVEMENT_WORDS.values())
    rows = [[*place, *(c.get(k, 0) for k in MOVEMENT_WORDS)] for place, c in sorted(counts.items())]
    return headers, rows


def is_saved_results(path: str) -> bool:
    """A JSONL file written by `zizhu eval` (rather than a JSONL list of students)."""
    if not path.lower().endswith(".jsonl"):
        return False
    with open(path, encoding="utf-8-sig") as handle:
        first = next((line for line in handle if line.strip()), "")
    try:
        record = json.loads(first)
    except json.JSONDecodeError:
        return False
    return isinstance(record, dict) and {"row", "status", "awards", "flags"} <= record.keys()


def saved_results(checked: CheckedPolicy, path: str) -> Iterator[Result]:
    """Results read back from `zizhu eval --format jsonl` output. They carry no student facts, so
    movements from them are not grouped by place and stopped aid has no reason."""
    programs, checks = checked.policy.programs, checked.policy.checks
    with open(path, encoding="utf-8-sig") as handle:
        for line in handle:
            if not line.strip():
                continue
            saved = json.loads(line, parse_float=Decimal)
            if saved.get("status") != "evaluated":
                continue
            awards = [
                Award(a["program"], programs[a["program"]].label if a["program"] in programs else a["program"],
                      Decimal(a["amount"]), a["kind"], a["per"], a["clause"])
                for a in saved["awards"]
            ]  # fmt: skip
            flags = [
                Flag(
                    f["check"],
                    checks[f["check"]].label if f["check"] in checks else f["check"],
                    f["clause"],
                    f["message"],
                )
                for f in saved["flags"]
            ]
            yield Result(saved["row"], saved["id_number"], "", {}, awards, (), flags)
