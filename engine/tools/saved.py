"""Results saved by ``zizhu eval --format jsonl``, read back for follow-up and reconciliation.

The first line of such a file is its decision record (``{"decision_record": {...}}``); every
other line is one input row. Saved results carry no student facts, so what is computed from
them cannot be grouped by place nor say why an award stopped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

from engine.check.checked import CheckedPolicy
from engine.files.records import Rejected
from engine.policy.model import DEFAULT_CHECK_CATEGORY, Period
from engine.policy.provenance import JSONL_HEADER_KEY, DecisionRecord, content_hash, is_jsonl_header
from engine.runtime.results import Award, Flag, Result, RowError

ROW_KEYS = {"row", "status", "awards", "flags"}


def _first_objects(path: str, count: int = 2) -> list[object]:
    found: list[object] = []
    with open(path, encoding="utf-8-sig") as handle:
        for line in handle:
            if line.strip():
                try:
                    found.append(json.loads(line))
                except json.JSONDecodeError:
                    return found
                if len(found) == count:
                    break
    return found


def is_saved_results(path: str) -> bool:
    """A JSONL file written by `zizhu eval` (rather than a JSONL list of students)."""
    if not path.lower().endswith(".jsonl"):
        return False
    objects = _first_objects(path)
    if objects and is_jsonl_header(objects[0]):
        return True
    return bool(objects) and isinstance(objects[0], dict) and objects[0].keys() >= ROW_KEYS


def saved_record(path: str) -> DecisionRecord | None:
    """The decision record a saved result was made under; None for a file written before there was one."""
    objects = _first_objects(path, 1)
    if objects and is_jsonl_header(objects[0]):
        return DecisionRecord.from_json(objects[0][JSONL_HEADER_KEY])  # type: ignore[index]
    return None


def hash_warning(checked: CheckedPolicy, path: str) -> str:
    """What a person must know when a saved result was made with other rules than these; "" when the same."""
    record = saved_record(path)
    current = content_hash(checked.policy)
    if record is None:
        return f"注意：{path} 没有决策记录（旧版 zizhu 保存），无法确认它与本次所用政策（校验值 {current}）一致"
    if record.policy_hash != current:
        return (f"注意：{path} 是用另一份政策计算的（{record.policy_id} {record.policy_version}，{record.folder}，"
                f"校验值 {record.policy_hash}）；本次所用政策 {checked.manifest.id} {checked.manifest.version}"
                f"（{checked.policy.folder}）的校验值为 {current}。两者的规则不同，比较结果可能因此不同")  # fmt: skip
    return ""


def semester_mismatch(path: str, period: Period) -> str:
    """Why a saved result cannot stand for `period`: it was computed for another semester (its decision
    record says which); "" when it was made for this one or says nothing (see `hash_warning`)."""
    record = saved_record(path)
    if record is None or not record.semester:
        return ""
    try:
        if Period.parse(record.semester) == period:
            return ""
    except ValueError:
        pass  # not one semester: certainly not this one
    return (
        f"{path} 是按 {record.semester} 学期计算的结果，不能当作 {period} 的结果"
        f"（各学期享受的项目和金额不同）：请改用 {period} 的学生名单，或将 --period 写为 {record.semester}"
    )


def saved_results(checked: CheckedPolicy, path: str) -> Iterator[Result | Rejected]:
    """Every row of a saved result, in order: an evaluated row (with its problems, if any) as a
    Result without facts, a rejected row as Rejected with its reasons."""
    programs, checks = checked.policy.programs, checked.policy.checks
    with open(path, encoding="utf-8-sig") as handle:
        for line in handle:
            if not line.strip():
                continue
            saved = json.loads(line, parse_float=Decimal)
            if is_jsonl_header(saved):
                continue
            errors = [RowError(e["message"], e.get("field", ""), e.get("program", ""), e.get("column", ""),
                               e.get("code", "")) for e in saved.get("errors", ())]  # fmt: skip
            if saved.get("status") == "rejected":
                yield Rejected(saved["row"], saved["id_number"], "", errors)
                continue
            awards = [
                Award(a["program"], programs[a["program"]].label if a["program"] in programs else a["program"],
                      Decimal(a["amount"]), a["kind"], a["per"], a["clause"], a.get("sample", False))
                for a in saved["awards"]
            ]  # fmt: skip
            flags = [
                Flag(f["check"], checks[f["check"]].label if f["check"] in checks else f["check"], f["clause"],
                     f["message"], f.get("category", DEFAULT_CHECK_CATEGORY))
                for f in saved["flags"]
            ]  # fmt: skip
            yield Result(saved["row"], saved["id_number"], "", {}, awards, (), flags, errors)
