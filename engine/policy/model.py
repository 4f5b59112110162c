"""The policy model: what a validated policy folder says, as plain dataclasses.

Expressions are still text here (:class:`Source`); the checker parses and types
them. Every item remembers where it was written so later stages can point at it.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.diagnostics import Location
from engine.policy.yamlsource import PathKey, SourceDocument
from engine.vocabulary import ILLUSTRATION_NOTE, SEASON_WORDS


@dataclass(frozen=True)
class Source:
    """A piece of expression text and where it stands in the YAML."""

    text: str
    doc: SourceDocument = field(compare=False, repr=False)
    path: PathKey = field(compare=False, repr=False)

    @property
    def location(self) -> Location:
        return self.doc.locate(self.path)

    def location_at(self, line: int, column: int) -> Location:
        return self.doc.expression_location(self.path, line, column)


@dataclass(frozen=True)
class Citation:
    """The clause of the plan an item encodes, the sentence it quotes, and the Decision behind it."""

    cite: str = ""
    text: str = ""
    decision: str = ""
    note: str = ""


@dataclass(frozen=True)
class EnumValue:
    id: str
    label: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class KnownValues:
    """The values a text field may take (`known:`), e.g. the county's schools: each alias is read as
    the value it names; where `required_when` holds, a value outside `values` is a problem wherever
    a table is looked up by it (never the table's fallback row)."""

    values: tuple[str, ...]
    aliases: dict[str, str]
    location: Location
    doc: SourceDocument = field(repr=False, compare=False)
    path: PathKey = ()
    required_when: Source | None = None
    note: str = ""

    def where(self, *inner: Any) -> Location:
        """Where a part of the list was written: `where("values")`, `where("aliases", "二中")`."""
        return self.doc.locate((*self.path, *inner))

    def resolve(self, written: str) -> str:
        """The value a written one stands for: its full name for an alias, else itself."""
        return self.aliases.get(written, written)


@dataclass
class Field:
    id: str
    label: str
    type: str
    location: Location
    values: tuple[EnumValue, ...] = ()
    aliases: tuple[str, ...] = ()
    required: bool = False
    unique: bool = False
    # What a blank cell means; `None` with has_blank False means "missing fact".
    blank: Any = None
    has_blank: bool = False
    # What every student takes when a file has no column for this field at all (a missing column
    # is otherwise an error, never a blank cell); has_absent False: the column must be there.
    absent: Any = None
    has_absent: bool = False
    format: str | None = None
    # What the engine knows the field as (identity_number, name, school, township, stage, grade).
    role: str | None = None
    from_id: str | None = None
    minimum: Decimal | int | None = None
    maximum: Decimal | int | None = None
    compute: Source | None = None
    description: str = ""
    citation: Citation = Citation()
    known: KnownValues | None = None


@dataclass
class Parameter:
    id: str
    label: str
    type: str
    value: Any
    location: Location
    citation: Citation = Citation()


@dataclass
class Table:
    id: str
    label: str
    keys: tuple[str, ...]
    value_type: str
    rows: dict[Any, Any]
    location: Location
    doc: SourceDocument = field(repr=False, compare=False)
    path: PathKey = ()
    sample: bool = False
    citation: Citation = Citation()
    # The fallback row, when declared (`fallback: {school: 其他学校}`): the key field and the word
    # standing in its place for every value the table does not list for the same other keys.
    fallback: tuple[str, str] | None = None


@dataclass
class Condition:
    source: Source
    label: str = ""
    citation: Citation = Citation()


@dataclass
class Group:
    id: str
    label: str
    conditions: tuple[Condition, ...]
    location: Location
    rule: str = ""
    citation: Citation = Citation()


@dataclass
class Exclusion:
    id: str
    condition: Source
    reason: str
    citation: Citation = Citation()


@dataclass
class Relation:
    """This program gives way to `program`: the two are never paid together."""

    program: str
    location: Location
    citation: Citation = Citation()


@dataclass
class Quota:
    count: int | None = None
    budget: Decimal | None = None


@dataclass
class Program:
    id: str
    label: str
    kind: str
    per: str
    conditions: tuple[Condition, ...]
    amount: Source
    location: Location
    exclusions: tuple[Exclusion, ...] = ()
    not_with: tuple[Relation, ...] = ()
    priority: Source | None = None
    quota: Quota | None = None
    citation: Citation = Citation()
    # "bureau": on the bureau's payment list; "bank": disbursed by a bank (loans), not on that list.
    paid_by: str = "bureau"


# What kind of follow-up a check asks for (words: engine.vocabulary.CHECK_CATEGORY_WORDS).
# `consistency` checks are pure conditions over one record's facts (a roster contradicting
# itself): a prover may take them as assumptions about valid data.
DEFAULT_CHECK_CATEGORY = "attendance"


@dataclass
class Check:
    id: str
    label: str
    conditions: tuple[Condition, ...]
    message: str
    location: Location
    citation: Citation = Citation()
    category: str = DEFAULT_CHECK_CATEGORY


@dataclass
class Property:
    """A statement staff expect to hold for every possible student (``zizhu verify`` proves it):
    for every student for whom `for_` holds (everyone when it is None), `expect` holds."""

    id: str
    label: str
    expect: Source
    location: Location
    for_: Source | None = None
    citation: Citation = Citation()


@dataclass(frozen=True)
class Semester:
    season: str  # autumn | spring
    label: str
    month: int
    day: int
    citation: Citation = Citation()


# How clauses of a document are numbered, by style; a manifest's source names its style
# (or gives cite_pattern). Parentheses may be half- or full-width: 一(二)2 and 一（二）2.
_CN = "[一二三四五六七八九十百零]+"
CITE_STYLES = {
    # 一(二)2(2), 一(一)1–2, 二(六), 一(二)5(1)
    "方案条目": rf"^{_CN}([(（]{_CN}[)）])?([0-9]+([(（][0-9]+[)）])?)?([–-][0-9]+)?$",
    # 第三条, 第三条第（二）款, 第三条第二款第1项
    "条款": rf"^第{_CN}条(第[(（]?{_CN}[)）]?款)?(第([0-9]+|{_CN})项)?$",
}
CITE_EXAMPLES = {"方案条目": "一(二)2(2)", "条款": "第三条第（二）款"}


# How people write a semester: 2021-autumn, 2021秋季, 2021年秋季学期, 2022春, 2022 年春季 (digits
# may be full-width). The one pattern the manifest schema, the CLI and policy tests all accept.
PERIOD_PATTERN = r"^\s*([0-9]{4})\s*(?:年)?\s*(?:-\s*(autumn|spring)|[-－]?\s*(秋|春)(?:季)?(?:学期)?)\s*$"
_PERIOD_RE = re.compile(PERIOD_PATTERN)


@dataclass(frozen=True)
class Period:
    """One semester of one year: ``2021-autumn`` (2021年秋季学期) or ``2022-spring``."""

    year: int
    season: str

    @classmethod
    def parse(cls, text: str) -> Period:
        match = _PERIOD_RE.match(unicodedata.normalize("NFKC", str(text)))
        if not match:
            raise ValueError(f"学期「{text}」格式不对，应如 2021秋季、2022春季、2021年秋季学期 或 2021-autumn")
        year, season, chinese = match.groups()
        return cls(int(year), season or ("autumn" if chinese == "秋" else "spring"))

    @property
    def key(self) -> tuple[int, int]:
        return (self.year, 0 if self.season == "spring" else 1)

    @property
    def school_year(self) -> int:
        """The academic year the semester belongs to (2022-spring is in 2021's)."""
        return self.year if self.season == "autumn" else self.year - 1

    @property
    def code(self) -> str:
        """The machine form, for files other programs read: 2021-autumn."""
        return f"{self.year}-{self.season}"

    @property
    def chinese(self) -> str:
        """How a person reads it: 2021年秋季学期."""
        return f"{self.year}年{SEASON_WORDS[self.season]}学期"

    def __str__(self) -> str:
        return self.chinese


@dataclass
class Manifest:
    id: str
    version: str
    title: str
    source: dict[str, Any]
    effective_from: Period
    effective_until: Period | None
    semesters: dict[str, Semester]
    currency: str
    rounding: str  # how an amount is rounded to the fen where it is computed: half_up | half_even | down
    location: Location
    note: str = ""
    illustration: bool = False  # an example version, not a document the county issued
    # The reading's decisions in one line each (A1: …), for explanations; items name them by `decision:`.
    decisions: dict[str, str] = field(default_factory=dict)

    def decisions_of(self, *citations: Citation) -> list[str]:
        """The decisions these citations apply, each with its wording when the manifest gives one."""
        named = dict.fromkeys(c.decision for c in citations if c.decision)
        return [f"{d}（{self.decisions[d]}）" if d in self.decisions else d for d in named]

    def covers(self, period: Period) -> bool:
        if period.key < self.effective_from.key:
            return False
        return self.effective_until is None or period.key <= self.effective_until.key

    def describe_effective(self) -> str:
        until = f"至{self.effective_until}" if self.effective_until else "至今（未设结束学期）"
        return f"{self.effective_from}起，{until}"

    def heading(self) -> str:
        """How a person sees which policy a report used: title, document number, version."""
        heading = f"{self.title}（{self.source.get('number', '')}，版本 {self.version}）"
        return heading + (f"【{ILLUSTRATION_NOTE}】" if self.illustration else "")

    def reference_date(self, period: Period) -> dt.date:
        semester = self.semesters[period.season]
        return dt.date(period.year, semester.month, semester.day)


@dataclass
class Policy:
    folder: str
    manifest: Manifest
    parameters: dict[str, Parameter] = field(default_factory=dict)
    fields: dict[str, Field] = field(default_factory=dict)
    tables: dict[str, Table] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    programs: dict[str, Program] = field(default_factory=dict)
    checks: dict[str, Check] = field(default_factory=dict)
    properties: dict[str, Property] = field(default_factory=dict)
    documents: list[SourceDocument] = field(default_factory=list, repr=False)
    # "id version (folder)" of this version and the versions it extends, newest first.
    lineage: list[str] = field(default_factory=list)
    # The folder of this version and of each it extends, as locations name them, newest first.
    lineage_folders: list[str] = field(default_factory=list)
    # (section, id) → where the item was written, then each override of it.
    provenance: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    # (section, id) of the items this version itself adds or overrides (all of them in a first version).
    changed: set[tuple[str, str]] = field(default_factory=set)
    # "file:line: …" for each list an override replaced whole (no ids to merge by), for `check`.
    merge_notes: list[str] = field(default_factory=list)
    # (section, id) → the keys this version's own override of the item writes (text, rows, …).
    rewritten: dict[tuple[str, str], set[str]] = field(default_factory=dict)
