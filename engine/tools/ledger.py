"""The ledger (台账): students and money per program, optionally per school, stage, township….

Sums are exact Decimal; grants and waivers are kept apart from loans; the grand
totals equal the sum of the per-student awards to the fen.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.check.checked import CheckedPolicy
from engine.check.samples import SAMPLE_MARK, sample_footnote, sample_programs
from engine.check.types import CENT, display
from engine.files.records import Rejected
from engine.files.report import text_table
from engine.runtime.results import Result
from engine.vocabulary import BLANK_GROUP, CHECK_CATEGORY_WORDS, FREQUENCY_WORDS, PROGRAM_KIND_WORDS

GIVEN, LOANS = "given", "loan"


def row_counts_line(rows: int, problems: int, rejected: int) -> str:
    """Contract 2: every row read is counted once, as computed, with problems, or rejected."""
    computed = rows - problems - rejected
    return f"共读取 {rows} 行：计算 {computed} 行，有问题 {problems} 行，退回 {rejected} 行"


def money_class(kind: str) -> str:
    """Loans are lent, not given: every total keeps them apart."""
    return LOANS if kind == "loan" else GIVEN


@dataclass
class Cell:
    students: int = 0
    money: Decimal = field(default_factory=Decimal)


@dataclass
class Ledger:
    checked: CheckedPolicy
    by: str | None = None  # a field id, or None for per program only
    rows: int = 0
    evaluated: int = 0
    rejected: int = 0
    with_errors: int = 0
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)
    flags: dict[str, int] = field(default_factory=dict)
    sample: frozenset[str] = field(init=False, default=frozenset())

    def __post_init__(self) -> None:
        self.sample = sample_programs(self.checked)  # programs whose amounts read a sample table

    def observe(self, outcomes: Iterable[Result | Rejected]) -> Iterator[Result | Rejected]:
        """Pass outcomes through unchanged, counting each: a stream can be written and summed at once."""
        for outcome in outcomes:
            self.add(outcome)
            yield outcome

    def add(self, outcome: Result | Rejected) -> None:
        if isinstance(outcome, Rejected):
            self.count(rejected=True)
            return
        awards = [(a.program, a.amount) for a in outcome.awards]
        flags = [f.check for f in outcome.flags]
        self.count(False, bool(outcome.errors), awards, flags, self.group_of(outcome))

    def count(
        self,
        rejected: bool,
        errors: bool = False,
        awards: Iterable[tuple[str, Decimal]] = (),
        flags: Iterable[str] = (),
        group: str = "",
    ) -> None:
        """One row's contribution: rejected, or its awards (program, amount) and flags (check ids)."""
        self.rows += 1
        if rejected:
            self.rejected += 1
            return
        self.evaluated += 1
        self.with_errors += errors
        for program, amount in awards:
            self.count_program(group, program, 1, amount)
        for check in flags:
            self.flags[check] = self.flags.get(check, 0) + 1

    def group_of(self, result: Result) -> str:
        if self.by is None:
            return ""
        value = result.values.get(self.by)
        if value is None or value == "":
            return BLANK_GROUP
        return display(value, self.checked.fields[self.by].type)

    def count_program(self, group: str, program: str, students: int, money: Decimal) -> None:
        cell = self.cells.setdefault((group, program), Cell())
        cell.students += students
        cell.money += money

    @property
    def problems(self) -> int:
        """Rows evaluated with at least one item that could not be decided (status `problem`)."""
        return self.with_errors

    @property
    def clean(self) -> int:
        """Rows evaluated with every item decided (status `evaluated`)."""
        return self.evaluated - self.with_errors

    def summary_line(self) -> str:
        return row_counts_line(self.rows, self.problems, self.rejected)

    def uncounted_line(self) -> str:
        """What the totals leave out, said in the ledger itself (an auditor reads the saved ledger,
        not the run's last line): "" when every row was evaluated with every item decided."""
        parts = []
        if self.problems:
            parts.append(f"{self.problems} 人的资助无法判定")
        if self.rejected:
            parts.append(f"{self.rejected} 行被退回")
        if not parts:
            return ""
        return "注意：" + "、".join(parts) + "，未计入合计（有问题的行只计入已判定的资助）；补齐或改正后重新计算"

    def count_notes(self) -> list[tuple[str, str]]:
        """(title, line) pairs every ledger document carries: the row counts (contract 2) and, when
        some are missing from the totals, which."""
        notes = [("行数", self.summary_line()), ("未计入合计", self.uncounted_line())]
        return [(title, line) for title, line in notes if line]

    def exit_code(self) -> int:
        """1 when any row has problems or was rejected (contract 2), else 0."""
        return 1 if self.rejected or self.with_errors else 0

    def total(self, money: str, group: str | None = None) -> Decimal:
        programs = self.checked.policy.programs
        return sum(
            (
                c.money
                for (g, pid), c in self.cells.items()
                if money_class(programs[pid].kind) == money and (group is None or g == group)
            ),
            Decimal(0),
        )

    def groups(self) -> list[str]:
        """Groups in a reader's order: an enum's own order (学前, 小学, 初中 …), else alphabetical; blank last."""
        enum = self.checked.fields[self.by].type.enum if self.by else None
        position = {label: i for i, label in enumerate(enum.labels)} if enum else {}
        return sorted({g for g, _ in self.cells}, key=lambda g: (g == BLANK_GROUP, position.get(g, len(position)), g))

    def table(self) -> tuple[list[str], list[list[Any]]]:
        """Headers and rows: per group (when grouped) and program, with subtotals and grand totals."""
        programs = self.checked.policy.programs
        order = self.checked.program_order
        headers = ["资助项目", "标识", "类别", "频次", "人次", "金额（元）"]
        if self.by is not None:
            headers.insert(0, self.checked.fields[self.by].field.label)
        rows: list[list[Any]] = []
        groups = self.groups() if self.by is not None else [""]
        for group in groups:
            for pid in order:
                cell = self.cells.get((group, pid))
                if cell is None and self.by is not None:
                    continue
                cell = cell or Cell()
                p = programs[pid]
                kind, per = PROGRAM_KIND_WORDS[p.kind], FREQUENCY_WORDS[p.per]
                label = p.label + (SAMPLE_MARK if pid in self.sample else "")
                row = [label, pid, kind, per, cell.students, cell.money.quantize(CENT)]
                rows.append(([group] if self.by is not None else []) + row)
            if self.by is not None:
                for money, label in ((GIVEN, "小计（补助与减免）"), (LOANS, "小计（贷款）")):
                    rows.append([group, label, "", "", "", "", self.total(money, group).quantize(CENT)])
        lead = [""] if self.by is not None else []
        rows.append([*lead, "合计（补助与减免）", "", "", "", "", self.total(GIVEN).quantize(CENT)])
        rows.append([*lead, "合计（贷款）", "", "", "", "", self.total(LOANS).quantize(CENT)])
        sample_money = sum((c.money for (_, pid), c in self.cells.items() if pid in self.sample), Decimal(0))
        if sample_money:
            note = sample_footnote(programs[pid].label for pid in order if pid in self.sample)
            rows.append([*lead, f"其中示例数据金额{SAMPLE_MARK}", "", "", "", "", sample_money.quantize(CENT)])
            rows.append([*lead, note, "", "", "", "", ""])
        rows.extend([*lead, line, "", "", "", "", ""] for _, line in self.count_notes())
        return headers, rows

    def flag_table(self) -> tuple[list[str], list[list[Any]]]:
        """Flags counted per check, the checks grouped apart by category (控辍保学, 跟进告知, 数据核对)."""
        checks = self.checked.policy.checks
        return ["类别", "核查", "标识", "条款", "人数"], [
            [word, c.label, cid, c.citation.cite, self.flags.get(cid, 0)]
            for category, word in CHECK_CATEGORY_WORDS.items()
            for cid, c in checks.items()
            if c.category == category
        ]


def resolve_grouping(checked: CheckedPolicy, by: str | None) -> str | None:
    """A --by name (field id or Chinese label, a field role such as school or township, or "program")
    as a field id; ValueError if unknown."""
    if by in (None, "", "program", "项目", "资助项目"):
        return None
    for fid, info in checked.fields.items():
        if by in (fid, info.field.label):
            return fid
    if by in checked.roles:
        return checked.roles[by]
    # Offered by the Chinese labels people read in the student list (the ids work too).
    personal = {checked.roles.get("identity_number"), checked.roles.get("name")}  # one group per student
    labels = [i.field.label for f, i in checked.fields.items()
              if i.type.kind in ("text", "enum", "bool") and f not in personal]  # fmt: skip
    raise ValueError(f"不能按「{by}」分组；可用：资助项目（默认）、{'、'.join(labels)}")


def ledger_text(ledger: Ledger) -> str:
    """The ledger as text: the table (its last lines the row counts and what the totals leave out),
    then the flags counted per check."""
    headers, rows = ledger.table()
    align = ("left",) * (len(headers) - 2) + ("right", "right")
    text = text_table(rows, headers, colalign=align)
    if ledger.checked.checks:
        flag_headers, flag_rows = ledger.flag_table()
        text += "\n\n" + text_table(flag_rows, flag_headers)
    return text
