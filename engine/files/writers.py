"""Results → files people open: CSV (UTF-8 with BOM, for Excel) and XLSX workbooks.

Writers take outcomes one at a time so a large file streams; XLSX is written in
openpyxl's write-only mode for the same reason, every sheet finished by engine/files/workbook.py
(numbers as numbers, frozen and filtered header, widths for Chinese text). Rows hold values as
they are (Decimal money, int rows and grades); CSV writes them as text the way reports do.

Cells come from files others wrote, so a name such as ``=HYPERLINK(…)`` must never become a live
formula in what we write: XLSX text cells are always stored as text (workbook.OfficeSheet), and CSV
cells that Excel would read as a formula (starting with ``= + - @``, tab or carriage return) get a
leading ``'`` (OWASP's advice for CSV injection). Every output goes to a temporary file in the target's folder and is
renamed into place when complete: an interrupted run never leaves half a file where a whole was.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import json
import os
import re
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from engine.backends.sql.literals import sql_string
from engine.check.checked import CheckedPolicy
from engine.check.samples import SAMPLE_MARK, sample_footnote, sample_programs
from engine.check.types import CENT, display, money_text
from engine.files.records import Rejected
from engine.files.report import denial_text, flags_text, reason_text, to_json
from engine.policy.provenance import DecisionRecord
from engine.runtime.results import Result
from engine.vocabulary import CHECK_CATEGORY_WORDS, FREQUENCY_WORDS, PROGRAM_KIND_WORDS, ROW_STATUS_WORDS

Outcome = Result | Rejected
Table = tuple[list[str], list[list[Any]]]  # headers, rows
SAMPLE_MARK_HEADER = f"，{SAMPLE_MARK}示例标准"
OUTPUT_FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".jsonl": "jsonl", ".json": "jsonl", ".txt": "table",
                  ".parquet": "parquet"}  # fmt: skip
# Facts worth seeing beside each student in a result sheet: the fields with these roles, when the policy has them.
CONTEXT_ROLES = ("school", "township", "stage", "grade")


class OutputError(Exception):
    """An output cannot be written where asked (a missing folder, the input file itself)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def check_output(output: str | None, inputs: Iterable[str | None] = ()) -> None:
    """Refuse, before any work, an output that would overwrite an input (also through a symlink)
    or that lies in a folder that does not exist."""
    if not output:
        return
    target = Path(output).resolve()
    for source in inputs:
        if source and Path(source).resolve() == target:
            message = f"-o {output} 就是输入文件 {source}：写入会毁掉输入；请换一个输出文件名"
            raise OutputError(message, "output-is-input")
    if target.is_dir():
        message = f"-o {output} 是一个文件夹；请写出文件名，如 {Path(output) / '结果.xlsx'}"
        raise OutputError(message, "output-is-folder")
    if not target.parent.is_dir():
        raise OutputError(
            f"-o {output}：文件夹 {Path(output).parent} 不存在；请先建立该文件夹，或换一个位置", "no-output-folder"
        )
    # The output is written beside itself, then renamed (atomic_output): try that now, before any
    # work, so a read-only or system folder is refused up front, named as the user wrote it.
    os.unlink(_temporary_beside(output))


def _temporary_beside(output: str) -> str:
    """A new, empty, hidden file in the output's folder, to write the output to and then rename."""
    target = Path(output).resolve()
    try:
        handle, temporary = tempfile.mkstemp(
            prefix=f".{target.stem}.", suffix=f".part{target.suffix}", dir=target.parent
        )
    except OSError as exc:
        raise unwritable(output, exc) from exc
    os.close(handle)
    return temporary


# Why the system refused a file, in words (strerror is English); anything else is named by its errno.
_OS_REASONS = {
    errno.EACCES: "没有权限",
    errno.EPERM: "没有权限",
    errno.EROFS: "所在位置是只读的",
    errno.ENOENT: "该位置不能建立文件",
    errno.ENOSPC: "磁盘空间已满",
    errno.EDQUOT: "超出磁盘配额",
    errno.ENAMETOOLONG: "文件名太长",
}


def unwritable(output: str, exc: OSError) -> OutputError:
    """The output cannot be written: named as the user gave it (not the hidden temporary file)."""
    reason = _OS_REASONS.get(exc.errno or 0) or f"系统拒绝写入（{errno.errorcode.get(exc.errno or 0, exc.errno)}）"
    return OutputError(f"无法写入 {output}：{reason}；请换一个位置（-o）", "output-not-writable")


@contextlib.contextmanager
def atomic_output(output: str) -> Iterator[str]:
    """A temporary path in the output's folder, renamed onto the output when the block completes
    and removed when it does not (an error, Ctrl-C): the output is whole or untouched."""
    check_output(output)
    target = Path(output).resolve()
    temporary = _temporary_beside(output)
    try:
        yield temporary
        os.chmod(temporary, target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_umask())
        os.replace(temporary, target)
    except OSError as exc:
        if exc.filename != temporary:  # an input's error, say: the caller names it
            raise
        raise unwritable(output, exc) from exc  # disk full while writing, the rename refused
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def stdout_device() -> str | None:
    """A path by which another library (DuckDB) can write straight to standard output: /dev/stdout
    when standard output is a pipe or a device (a terminal, /dev/null), else None. Not a regular
    file: opening it anew would truncate it or, after >>, write over it from its start."""
    sys.stdout.flush()
    try:
        mode = os.fstat(sys.stdout.fileno()).st_mode
    except (AttributeError, OSError, ValueError):  # no real file behind sys.stdout (a test's capture)
        return None
    if not (stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)) or not os.path.exists("/dev/stdout"):
        return None
    return "/dev/stdout"


@contextlib.contextmanager
def text_output(output: str | None, encoding: str) -> Iterator[TextIO]:
    """A text handle on the file `output` (whole or untouched, as :func:`atomic_output`), or on
    standard output when `output` is None."""
    if output is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    with atomic_output(output) as path, open(path, "w", encoding=encoding, newline="") as handle:
        yield handle


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_LOOKS_LIKE_FORMULA = tuple("=+-@\t\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


def csv_cell(value: Any) -> Any:
    """A cell Excel will not run: text starting like a formula gets a leading ' (numbers stay)."""
    if value.__class__ is str and value.startswith(_LOOKS_LIKE_FORMULA) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


class SafeCsvWriter:
    """csv.writer for files Excel opens: every cell through `csv_cell`."""

    def __init__(self, handle: TextIO) -> None:
        self._writer = csv.writer(handle, lineterminator="\r\n")

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([csv_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def format_for(path: str) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise ValueError(f"不认识的输出文件类型「{suffix}」，可用：{'、'.join(OUTPUT_FORMATS)}")
    return OUTPUT_FORMATS[suffix]


class StudentRows:
    """One wide row per input row: facts, one column per program, totals, flags, problems."""

    def __init__(self, checked: CheckedPolicy) -> None:
        self.checked = checked
        self.context = [f for role in CONTEXT_ROLES if (f := checked.role_field(role)) is not None]
        self.programs = checked.program_order
        self.sample = sample_programs(checked)

    def headers(self) -> list[str]:
        labels = self.checked.policy.programs
        return (
            ["行", "身份证号", "姓名"]
            + [self.checked.fields[f].field.label for f in self.context]
            + ["状态"]
            # The header marks a program whose amounts come from a sample table; cells stay plain numbers.
            + [f"{labels[p].label}（元{SAMPLE_MARK_HEADER if p in self.sample else ''}）" for p in self.programs]
            + ["合计（补助与减免）", "贷款", "核查标记", "问题"]
        )

    def row(self, o: Outcome) -> list[Any]:
        if isinstance(o, Rejected):  # its 学校, 乡镇 … as written, so the list can go back to each school
            facts = _raw_places(o, self.context)
            money = [""] * (len(self.programs) + 3)
            return [o.row, o.id_number, o.name, *facts, ROW_STATUS_WORDS["rejected"], *money,
                    "；".join(reason_text(e) for e in o.reasons)]  # fmt: skip
        amounts = {a.program: a.amount for a in o.awards}
        given = sum((a.amount for a in o.awards if a.kind != "loan"), start=type(o.total)(0))
        loans = sum((a.amount for a in o.awards if a.kind == "loan"), start=type(o.total)(0))
        facts = [_fact(self.checked, o.values, f) for f in self.context]
        return (
            [o.row, o.id_number, o.name, *facts, ROW_STATUS_WORDS["problem" if o.errors else "evaluated"]]
            + [amounts[p].quantize(CENT) if p in amounts else "" for p in self.programs]
            + [given.quantize(CENT), loans.quantize(CENT)]
            + [flags_text(o.flags), "；".join(e.message for e in o.errors)]
        )


def _fact(checked: CheckedPolicy, values: dict[str, Any], field_id: str) -> Any:
    """A fact as a sheet shows it: whole numbers (年级) stay numbers, the rest as a person reads them."""
    value = values.get(field_id)
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return display(value, checked.fields[field_id].type)


def csv_text(value: Any) -> Any:
    """A cell for CSV: money with two decimals, as every report writes it."""
    return money_text(value) if isinstance(value, Decimal) else value


def write_csv(handle: TextIO, checked: CheckedPolicy, outcomes: Iterable[Outcome]) -> None:
    shape = StudentRows(checked)
    write_csv_rows(handle, shape.headers(), (shape.row(o) for o in outcomes))


def write_csv_rows(handle: TextIO, headers: list[str], rows: Iterable[list[Any]]) -> None:
    """A CSV table as Excel opens it (CRLF; the caller opens `handle` as UTF-8 with BOM), row by row,
    every cell through `csv_cell`."""
    writer = SafeCsvWriter(handle)
    writer.writerow(headers)
    writer.writerows([csv_text(v) for v in row] for row in rows)


def write_xlsx(
    path: str,
    checked: CheckedPolicy,
    outcomes: Iterable[Outcome],
    ledger_table: Callable[[], Table],
    record: DecisionRecord | None = None,
) -> None:
    """A workbook: 资助明细 (one row per student and program), 学生 (one per input row),
    台账 (the ledger), one sheet of flags per check category (控辍保学, 跟进告知, 数据核对),
    退回与问题 (rejected rows and rows with problems, with 学校 and 乡镇 so the county can send each
    school its list), and 说明 (the decision record: policy title, 文号, version, semester; sample
    tables used).

    `ledger_table` is called once every outcome has been written (a ledger counting the same
    stream, e.g. ``Ledger.table``): the 台账 sheet goes third but is filled last."""
    from engine.files.workbook import OfficeWorkbook, append_table  # openpyxl only when a workbook is written

    book = OfficeWorkbook()
    awards = book.create_sheet("资助明细")
    students = book.create_sheet("学生")
    categories = [c for c in CHECK_CATEGORY_WORDS if any(k.check.category == c for k in checked.checks.values())]
    flag_sheets = {c: book.create_sheet(f"核查标记（{CHECK_CATEGORY_WORDS[c]}）") for c in categories}
    returned = book.create_sheet(RETURNED_SHEET)
    shape = StudentRows(checked)
    places = [f for role in ("school", "township") if (f := checked.role_field(role)) is not None]
    place_headers = [checked.fields[f].field.label for f in places]
    awards.append(["行", "身份证号", "姓名", "资助项目", "标识", "类别", "频次", "金额（元）", "条款", "示例标准"])
    students.append(shape.headers())
    for sheet in flag_sheets.values():
        sheet.append(["行", "身份证号", "姓名", "核查", "标识", "条款", "说明"])
    returned.append(["行", "身份证号", "姓名", *place_headers, "状态", "列", "问题", "代码"])
    sample_used = False
    for o in outcomes:
        students.append(shape.row(o))
        where = [_fact(checked, o.values, f) for f in places] if isinstance(o, Result) else _raw_places(o, places)
        if isinstance(o, Rejected):
            for e in o.reasons:
                returned.append([o.row, o.id_number, o.name, *where, ROW_STATUS_WORDS["rejected"], e.column, e.message,
                                 e.code])  # fmt: skip
            continue
        for e in o.errors:
            returned.append([o.row, o.id_number, o.name, *where, ROW_STATUS_WORDS["problem"], e.column, e.message,
                             e.code])  # fmt: skip
        for a in o.awards:
            sample_used = sample_used or a.sample
            kind, per = PROGRAM_KIND_WORDS[a.kind], FREQUENCY_WORDS[a.per]
            awards.append([o.row, o.id_number, o.name, a.label, a.program, kind, per, a.amount, a.clause,
                           SAMPLE_MARK if a.sample else ""])  # fmt: skip
        for f in o.flags:
            sheet = flag_sheets[f.category]
            sheet.append([o.row, o.id_number, o.name, f.label, f.check, f.clause, f.message])
    append_table(book.create_sheet("台账", 2), *ledger_table())
    notes: list[tuple[str, str]] = []
    if sample_used:
        labels = [checked.policy.programs[p].label for p in checked.program_order if p in shape.sample]
        notes.append(("示例数据", sample_footnote(labels)))
    if record:
        sheets = record_sheet(record, notes)
    else:
        sheets = {"说明": (["项目", "内容"], [list(n) for n in notes])} if notes else {}
    for title, table in sheets.items():
        append_table(book.create_sheet(title), *table)
    book.save(path)


RETURNED_SHEET = "退回与问题"


def _raw_places(rejected: Rejected, places: list[str]) -> list[str]:
    """A rejected row's 学校 and 乡镇 as written (it has no typed facts)."""
    return [rejected.cells.get(f, "") for f in places]


def write_sheets_xlsx(path: str, sheets: dict[str, tuple[list[str], list[list[Any]]]]) -> None:
    """A workbook of plain tables, one sheet per (title: (headers, rows))."""
    from engine.files.workbook import OfficeWorkbook, append_table  # openpyxl only when a workbook is written

    book = OfficeWorkbook()
    for title, (headers, rows) in sheets.items():
        append_table(book.create_sheet(title), headers, rows)
    book.save(path)


def record_sheet(record: DecisionRecord, notes: Sequence[tuple[str, str]] = ()) -> dict[str, Table]:
    """The 说明 sheet of a workbook: the decision record (which rules produced these figures), then `notes`."""
    return {"说明": (["项目", "内容"], [list(pair) for pair in [*record.lines(), *notes]])}


# ------------------------------------------------------------------------ Parquet

PARQUET_MONEY = "DECIMAL(18,2)"  # money to the fen, exact; never DOUBLE


def parquet_columns(checked: CheckedPolicy) -> list[tuple[str, str]]:
    """The columns of `eval -o 结果.parquet`, one row per input row: row, id_number, name, status
    (evaluated | problem | rejected, as in JSONL), then ``award_<program id>`` (the amount when
    awarded, else NULL) per program, ``reason_<program id>`` (why it was not awarded, in words with
    its clause — 不符合条件：…（一(二)2(2)）, an exclusion's reason, 不能与「…」同时享受, a zero amount,
    a full quota: the per-record evaluator's Denial, whichever engine ran — NULL when awarded, when
    it could not be decided, or when the row was rejected) per program, ``flag_<check id>`` (TRUE
    flagged, FALSE not, NULL when the check could not be decided or the row was rejected) per
    check, and ``errors`` (the row's problems or reasons for rejection: JSONL's "errors" list as
    JSON text)."""
    return (
        [("row", "BIGINT"), ("id_number", "VARCHAR"), ("name", "VARCHAR"), ("status", "VARCHAR")]
        + [(f"award_{pid}", PARQUET_MONEY) for pid in checked.program_order]
        + [(f"reason_{pid}", "VARCHAR") for pid in checked.program_order]
        + [(f"flag_{cid}", "BOOLEAN") for cid in checked.policy.checks]
        + [("errors", "VARCHAR")]
    )


def parquet_row(checked: CheckedPolicy, o: Outcome) -> list[Any]:
    """One row of :func:`parquet_columns`: None is NULL; amounts as text to the fen (exact). The
    reasons are `o`'s denials: the outcomes must come from an evaluator made with reasons (or a
    bulk run asked for them)."""
    if isinstance(o, Rejected):
        errors = json.dumps(to_json(o)["errors"], ensure_ascii=False)
        return [o.row, o.id_number, o.name, "rejected", *[None] * (2 * len(checked.program_order)),
                *[None] * len(checked.policy.checks), errors]  # fmt: skip
    amounts = {a.program: money_text(a.amount) for a in o.awards}
    reasons = {d.program: denial_text(d) for d in o.denials}
    undecided = {e.program for e in o.errors}
    flagged = {f.check for f in o.flags}
    errors = json.dumps(to_json(o)["errors"], ensure_ascii=False) if o.errors else "[]"
    return (
        [o.row, o.id_number, o.name, "problem" if o.errors else "evaluated"]
        + [amounts.get(pid) for pid in checked.program_order]
        + [reasons.get(pid) for pid in checked.program_order]
        + [None if cid in undecided else cid in flagged for cid in checked.policy.checks]
        + [errors]
    )


def write_parquet(path: str, checked: CheckedPolicy, outcomes: Iterable[Outcome], record: DecisionRecord) -> None:
    """Outcomes as a Parquet file at `path` (see :func:`parquet_columns`), written by DuckDB (built
    into its wheel: nothing downloaded, no pyarrow). The rows are staged as JSON lines beside
    `path` — exact decimal text, never a float — and removed. The file's key-value metadata holds
    the decision record (``zizhu_decision_record``) and the programs whose amounts read sample
    figures (``zizhu_sample_programs``, comma-separated ids)."""
    from engine.backends.sql.session import duckdb_connection

    columns = parquet_columns(checked)
    staged = Path(path).with_suffix(".staging.csv")
    try:
        # Every text quoted and read back as written ("" is an empty name, not NULL); an award, reason
        # or flag column is NULL where it is empty, since an amount, a reason or a flag is never empty text.
        with open(staged, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
            writer.writerows(parquet_row(checked, o) for o in outcomes)
        as_text = "{" + ", ".join(f"{sql_string(name)}: 'VARCHAR'" for name, _ in columns) + "}"
        select = ", ".join(
            f'CAST(NULLIF("{name}", \'\') AS {kind}) AS "{name}"'
            if name.startswith(("award_", "reason_", "flag_"))
            else f'CAST("{name}" AS {kind}) AS "{name}"'
            for name, kind in columns
        )
        from_samples = sample_programs(checked)
        sample = ",".join(p for p in checked.program_order if p in from_samples)
        metadata = (f"{{zizhu_decision_record: {sql_string(json.dumps(record.as_json(), ensure_ascii=False))}, "
                    f"zizhu_sample_programs: {sql_string(sample)}}}")  # fmt: skip
        duckdb_connection().execute(
            f"COPY (SELECT {select} FROM read_csv({sql_string(str(staged))}, columns={as_text}, header=false, "
            "auto_detect=false, delim=',', quote='\"', escape='\"', allow_quoted_nulls=false)) "
            f"TO {sql_string(path)} (FORMAT parquet, KV_METADATA {metadata})"
        )
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(staged)
