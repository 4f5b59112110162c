"""The decision record: which rules produced a figure, so an auditor can say so years later.

Every output carries the policy id and version, the folder used, a content hash of the
*effective* policy (after ``extends``: two folders that merge to the same rules have the same
hash, and any change to a rule, amount, table cell, clause or quoted text changes it), the zizhu
version and the semester.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from importlib import metadata
from typing import Any

from engine.policy.model import Period, Policy
from engine.vocabulary import ILLUSTRATION_NOTE

# The first line of a JSONL result file is one object with only this key; readers skip it.
JSONL_HEADER_KEY = "decision_record"


def content_hash(policy: Policy) -> str:
    """sha256 of the effective policy's data in a canonical form (keys sorted, values as text).
    `extends` is left out: it names where the rules came from, which the folder records."""
    (document,) = policy.documents
    data = dict(document.data)
    data["policy"] = {k: v for k, v in data["policy"].items() if k != "extends"}
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_as_text)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _as_text(value: Any) -> str:
    if isinstance(value, (dt.date, Decimal)):
        return str(value)
    raise TypeError(f"policy data holds a {type(value).__name__}")


def zizhu_version() -> str:
    try:
        return metadata.version("zizhu")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "未安装"


@dataclass(frozen=True)
class DecisionRecord:
    policy_id: str
    policy_version: str
    folder: str
    policy_hash: str
    zizhu_version: str
    semester: str  # "2021-autumn", or "2021-autumn → 2022-spring" for a follow-up; "" when none applies
    # What a person reads first on a 说明 sheet: the document's title and 文号, and whether this version
    # is an illustration rather than a county document. Not part of the JSON record (the id names it).
    title: str = ""
    number: str = ""
    illustration: bool = False

    @classmethod
    def of(cls, policy: Policy, semester: Period | str | None = None) -> DecisionRecord:
        m = policy.manifest
        return cls(m.id, m.version, policy.folder, content_hash(policy), zizhu_version(),
                   str(semester) if semester else "", m.title, str(m.source.get("number", "")),
                   m.illustration)  # fmt: skip

    def as_json(self) -> dict[str, str]:
        return {
            "policy_id": self.policy_id,
            "policy_version": self.policy_version,
            "folder": self.folder,
            "policy_hash": self.policy_hash,
            "zizhu_version": self.zizhu_version,
            "semester": self.semester,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DecisionRecord:
        keys = ("policy_id", "policy_version", "folder", "policy_hash", "zizhu_version", "semester")
        return cls(*(str(data.get(key, "")) for key in keys))

    def jsonl_header(self) -> str:
        return json.dumps({JSONL_HEADER_KEY: self.as_json()}, ensure_ascii=False)

    def lines(self) -> list[tuple[str, str]]:
        """(label, value) pairs as a person reads them, for a 说明 sheet or a report's head."""
        heading = [("政策", self.title), ("文号", self.number)] if self.title else []
        return [
            *heading,
            ("政策标识", self.policy_id),
            ("政策版本", self.policy_version),
            *([("性质", ILLUSTRATION_NOTE if self.illustration else "县级政策文件")] if self.title else []),
            ("政策文件夹", self.folder),
            ("政策内容校验值", self.policy_hash),
            ("zizhu 版本", self.zizhu_version),
            ("学期", semester_words(self.semester) or "（不适用）"),
        ]

    def text(self) -> str:
        """One line: 决策记录：政策 zhongyang-2021 2021.1（policies/2021），校验值 sha256:…，zizhu 0.1.0，学期 …"""
        semester = f"，学期 {self.semester}" if self.semester else ""
        return (f"决策记录：政策 {self.policy_id} {self.policy_version}（{self.folder}），"
                f"校验值 {self.policy_hash}，zizhu {self.zizhu_version}{semester}")  # fmt: skip


def semester_words(semester: str) -> str:
    """The record's semester as a person reads it (2024-spring → 2024年春季学期, each side of a
    follow-up's →); the record itself keeps the text it was given, for programs that read it."""
    parts = []
    for part in semester.split("→"):
        try:
            parts.append(Period.parse(part).chinese)
        except ValueError:  # not one semester: shown as written
            parts.append(part.strip())
    return " → ".join(parts) if semester else ""


def is_jsonl_header(record: Any) -> bool:
    return isinstance(record, dict) and set(record) == {JSONL_HEADER_KEY}
