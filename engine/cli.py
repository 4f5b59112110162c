"""The ``zizhu`` command: small click commands over the engine's public functions.

Exit codes: 0 fine; 1 the policy or data has problems (errors printed, rows
rejected, tests failed); 2 the command could not run (bad option, file missing).
"""

from __future__ import annotations

import atexit
import json
import re
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, NoReturn

import click

from engine import load
from engine.backends.python.evaluator import Evaluator
from engine.check.checked import CheckedPolicy
from engine.check.samples import SAMPLE_MARK, sample_programs
from engine.check.texts import stale_quotes
from engine.diagnostics import PolicyError, display_path, display_width, visible
from engine.files.columns import ColumnarUnavailable
from engine.files.readers import (
    InputError,
    parquet_columns,
    parquet_row_count,
    parquet_to_csv,
    read_table,
)
from engine.files.records import (
    RecordReader,
    Rejected,
    find_student,
    header_test,
    numeric_id_header,
    unknown_columns_warning,
)
from engine.files.report import (
    effective_yaml,
    explain_text,
    jsonl_line,
    rejected_text,
    students_table,
    supplied_facts,
    titled_tables,
)
from engine.files.template import input_fields, write_template
from engine.files.writers import (
    OUTPUT_FORMATS,
    Outcome,
    OutputError,
    atomic_output,
    check_output,
    format_for,
    record_sheet,
    text_output,
    write_csv,
    write_csv_rows,
    write_parquet,
    write_sheets_xlsx,
    write_xlsx,
)
from engine.policy.loader import ancestors, declared_effective
from engine.policy.model import Period
from engine.policy.provenance import DecisionRecord
from engine.policy.schema import schema_json
from engine.policy.versions import is_version_root, newer_versions, pick_version
from engine.runtime.results import PeriodNotCovered, Record, Result
from engine.tools.bulk import AUTO_DUCKDB_ROWS, BulkRun, count_lines
from engine.tools.diff import impact, render_diff, structural_diff, write_impact_xlsx
from engine.tools.followup import follow_up, movement_table, window_text
from engine.tools.followup import needs_alert as followup_needs_alert
from engine.tools.followup import sample_note as followup_sample_note
from engine.tools.followup import summary as followup_summary
from engine.tools.ledger import Ledger, ledger_text, resolve_grouping, row_counts_line
from engine.tools.parallel import write_parallel
from engine.tools.policytest import load_cases, render, run_cases
from engine.tools.reconcile import (
    choose_programs,
    needs_alert,
    read_payment_list,
    read_payment_table,
    report_sheets,
    report_tables,
    summary_line,
)
from engine.tools.reconcile import reconcile as find_differences
from engine.tools.reconcile import sample_note as reconcile_sample_note
from engine.tools.saved import hash_warning, is_saved_results, saved_results, semester_mismatch
from engine.tools.scaffold import ScaffoldError, new_version
from engine.tools.spark import is_uri
from engine.vocabulary import CHECK_CATEGORY_WORDS, CLICK_WORDS, ILLUSTRATION_NOTE


def _policy(folder: str) -> CheckedPolicy:
    try:
        return load(folder)
    except PolicyError as exc:
        click.echo(str(exc), err=True)
        click.echo(f"\n{len(exc.diagnostics)} 个错误", err=True)
        sys.exit(1)


def _period(text: str) -> Period:
    try:
        return Period.parse(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _evaluator(checked: CheckedPolicy, period: Period, reasons: bool = True) -> Evaluator:
    try:
        return Evaluator(checked, period, reasons)
    except PeriodNotCovered as exc:
        click.echo(f"错误：{exc}", err=True)
        sys.exit(2)


def _reader(checked: CheckedPolicy, students: str, encoding: str | None, sheet: str | None) -> RecordReader:
    try:
        table = read_table(students, encoding=encoding, sheet=sheet, is_header=header_test(checked))
        reader = RecordReader(checked, table)
    except InputError as exc:
        click.echo(visible(f"错误：{exc}"), err=True)  # messages quote the file's cells and headers
        sys.exit(2)
    _echo_warnings(checked, reader, table.file)
    return reader


def _echo_warnings(checked: CheckedPolicy, reader: RecordReader, shown: str) -> None:
    """The reader's warnings (sheet chosen, unknown columns, absent columns), each naming the file as
    `shown` (the file read may be a Parquet file's CSV copy), control characters made visible."""
    read = reader.table.file
    for warning in [*reader.table.warnings, unknown_columns_warning(checked, reader.columns), *reader.warnings]:
        if warning:
            click.echo(visible(f"{shown}: {warning.replace(read, shown)}"), err=True)


def _for_period(policy_path: str, period_text: str, reasons: bool = True) -> tuple[CheckedPolicy, Evaluator]:
    """The policy for a semester and its evaluator (see :func:`_version_for`)."""
    period = _period(period_text)
    checked = _policy(str(_version_for(policy_path, period)))
    return checked, _evaluator(checked, period, reasons)


def _version_for(policy_path: str, period: Period) -> Path:
    """The policy folder for a semester: a version folder as given, or — given the folder of versions
    (policies/) — the version in force then, saying which. Warns when a newer version governs it."""
    path = Path(policy_path)
    try:
        if is_version_root(path):
            path = pick_version(path, period, declared_effective, lambda message: click.echo(message, err=True))
            click.echo(f"学期 {period} 使用政策版本 {display_path(path)}", err=True)
        else:
            newer = newer_versions(path, period, declared_effective, ancestors)
            if newer:
                names = "、".join(display_path(p) for p in newer)
                click.echo(f"警告：{names} 也适用于 {period} 且更新；{policy_path} 的标准可能已被替换", err=True)
    except PolicyError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    return path


POLICY = click.option(
    "--policy",
    "policy_folder",
    required=True,
    type=click.Path(exists=True, file_okay=False),
    help="政策文件夹，如 policies/2021；或版本总文件夹 policies，按学期自动选用当时适用的版本",
)
PERIOD = click.option("--period", required=True, help="学期，如 2021秋季、2022春季（也可写 2021-autumn）")
ENCODING = click.option("--encoding", default=None, help="CSV 编码（默认自动识别 UTF-8 / GBK）")
SHEET = click.option("--sheet", default=None, help="Excel 工作表名（默认：打开文件时显示的那个）")


def _terminated(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


_CLICK_MODULES = ("core", "exceptions", "types", "parser", "formatting", "decorators", "termui")


def _in_chinese(message: str) -> str:
    return CLICK_WORDS.get(message, message)


def _in_chinese_plural(singular: str, plural: str, count: int) -> str:
    return _in_chinese(singular if count == 1 else plural)


@contextmanager
def _click_in_chinese() -> Iterator[None]:
    """click's own words (usage errors, help headings) in Chinese while a zizhu command runs.
    click looks each message up through gettext (``_`` and ``ngettext`` in each of its modules);
    those names are pointed at CLICK_WORDS and put back afterwards."""
    saved: list[tuple[Any, str, Any]] = []
    for name in _CLICK_MODULES:
        module = sys.modules.get(f"click.{name}")
        for attr, replacement in (("_", _in_chinese), ("ngettext", _in_chinese_plural)):
            if module is not None and hasattr(module, attr):
                saved.append((module, attr, getattr(module, attr)))
                setattr(module, attr, replacement)
    missing = click.exceptions.MissingParameter
    english_missing = missing.format_message
    # click ends "Missing option '--period'" with an English full stop of its own.
    missing.format_message = lambda self: english_missing(self).replace(".", "。", 1)  # type: ignore[method-assign]
    try:
        yield
    finally:
        missing.format_message = english_missing  # type: ignore[method-assign]
        for module, attr, original in saved:
            setattr(module, attr, original)


ENGINE = click.option(
    "--engine", type=click.Choice(["auto", "python", "duckdb", "spark"]), default="auto", show_default=True,
    help=f"计算引擎：python 逐行；duckdb 按列（大文件快得多，结果逐字节相同）；spark 集群；"
         f"auto 在 CSV 或 Parquet 超过 {AUTO_DUCKDB_ROWS} 行时用 duckdb",
)  # fmt: skip


class _StudentsPath(click.Path):
    """A student file that exists here, or a `scheme://` URI (hdfs://, s3a://, file:// …) that only
    Spark reads: not looked for here (`--engine spark` checks it is there)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        return value if isinstance(value, str) and is_uri(value) else super().convert(value, param, ctx)


SPARK_MASTER = click.option("--spark-master", default=None, help="Spark 集群地址（--engine spark；默认本机 local[*]）")


class _Students:
    """One student file evaluated for one semester by the engine chosen: the bulk run (DuckDB,
    Spark) when one took the file, else the per-record evaluator over the row reader."""

    def __init__(self, reader: RecordReader, evaluator: Evaluator, bulk: BulkRun | None) -> None:
        self.reader, self.evaluator, self.bulk = reader, evaluator, bulk

    def outcomes(self, progress: bool = True) -> Iterator[Outcome]:
        """Every row's Result or Rejected, in input order: the same whichever engine runs. A bulk
        Result carries no reasons (denials, groups) unless made with `reasons` (denials then, as the
        evaluator's; no groups): see :meth:`with_reasons`. `progress`: a bar on a
        terminal for a large file read per record (one command reading two files at once shows none)."""
        if self.bulk is not None:
            return self.bulk.outcomes()
        outcomes = self.evaluator.evaluate_all(self.reader)
        return _progress(self.reader, outcomes) if progress else outcomes

    def with_reasons(self, result: Result) -> Result:
        """A bulk Result with what the per-record evaluator (made with reasons) adds: why each program
        not awarded was not (denials) and the groups that hold. Evaluated again from the row's facts,
        only for the rows a tool needs it for; awards, flags and problems stay the bulk run's, and so
        do its denials (a quota's, filled over the whole file)."""
        if self.bulk is None:
            return result
        full = self.evaluator.evaluate(Record(result.row, result.values))
        settled = {a.program for a in result.awards} | {d.program for d in result.denials}
        denials = [*result.denials, *(d for d in full.denials if d.program not in settled)]
        return Result(result.row, result.id_number, result.name, result.values, result.awards, denials,
                      result.flags, result.errors, result.priorities, full.groups)  # fmt: skip


def _students(
    checked: CheckedPolicy, evaluator: Evaluator, students: str, encoding: str | None, sheet: str | None,
    engine: str = "python", spark_master: str | None = None, values: bool = True, reasons: bool = False,
    on_spark: bool = False,
) -> _Students:  # fmt: skip
    """A student file for `--engine`: evaluated column-wise on DuckDB or Spark, or per record when
    asked for, a small file under auto, or a file only the row reader takes (said on stderr).
    The reader's warnings (sheet chosen, unknown columns, absent columns) are printed either way.
    `reasons`: a bulk run's Results carry their denials too (the per-record ones do when `evaluator`
    was made with reasons). `on_spark`: Spark must read the file (see :func:`_bulk`)."""
    bulk = _bulk(checked, evaluator, students, encoding, sheet, engine, spark_master, values, reasons, on_spark)
    if bulk is None:
        return _Students(_reader(checked, students, encoding, sheet), evaluator, None)
    _echo_warnings(checked, bulk.reader, students if is_uri(students) else str(Path(students)))
    return _Students(bulk.reader, evaluator, bulk)


def _bulk(
    checked: CheckedPolicy, evaluator: Evaluator, students: str, encoding: str | None, sheet: str | None, engine: str,
    spark_master: str | None = None, values: bool = True, reasons: bool = False, on_spark: bool = False,
) -> BulkRun | None:  # fmt: skip
    """The file evaluated column-wise on DuckDB or Spark, or None when the per-record engine should
    run it (see :func:`_students`). A URI, or `on_spark` (Spark writes the output), must be read by
    Spark: when it cannot, the command stops (exit 2) rather than read per record."""
    suffix = Path(students).suffix.lower()
    on_spark = on_spark or is_uri(students)
    if is_uri(students) and engine != "spark":
        raise InputError(f"{students}：这是只有 Spark 能读取的地址（scheme://），请加 --engine spark；"
                         "本机的文件请写本机路径", "needs-spark")  # fmt: skip
    if is_uri(students) and (sheet is not None or suffix not in (".csv", ".parquet")):
        raise InputError(f"{students}：Spark 只读 CSV（.csv）和 Parquet（.parquet）文件", "not-csv-or-parquet")
    if engine == "python" or sheet is not None:
        return None
    if engine == "auto" and (suffix not in (".csv", ".parquet") or _row_count(students) <= AUTO_DUCKDB_ROWS):
        return None
    if suffix == ".parquet" and engine != "spark":  # Spark reads Parquet itself
        csv_copy = _parquet_as_csv(checked, students, engine)
        if csv_copy is None:
            return None
        students = str(csv_copy)
    try:
        if engine == "spark":
            from engine.tools.spark import SparkRun

            return SparkRun(checked, evaluator.period, students, encoding, values=values, master=spark_master,
                            reasons=reasons)  # fmt: skip
        return BulkRun(checked, evaluator.period, students, encoding, values=values, reasons=reasons,
                       evaluator=evaluator)  # fmt: skip
    except ColumnarUnavailable as exc:
        if on_spark:
            raise InputError(f"{students}：Spark 无法按列读取：{exc}", "spark-unreadable") from None
        if engine != "auto":
            click.echo(f"注意：{exc}，本次逐行计算（结果相同）", err=True)
        return None


def _row_count(students: str) -> int:
    """Rows of a CSV (its lines) or a Parquet file (from its footer), for `--engine auto`."""
    return parquet_row_count(students) if Path(students).suffix.lower() == ".parquet" else count_lines(students)


def _parquet_as_csv(checked: CheckedPolicy, students: str, engine: str) -> Path | None:
    """A Parquet file for the DuckDB engine: its cells' text as a CSV in a temporary folder (removed
    when zizhu exits) — the engine's column reader reads CSV. None (per record, said unless auto)
    when an ID column holds numbers: every such row is rejected, by the row reader's words."""
    header = numeric_id_header(checked, parquet_columns(students))
    if header is not None:
        if engine != "auto":
            click.echo(f"注意：{students} 的「{header}」列是数字类型，本次逐行计算（结果相同）", err=True)
        return None
    folder = Path(tempfile.mkdtemp(prefix="zizhu-parquet-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    target = folder / (Path(students).stem + ".csv")
    parquet_to_csv(students, target)
    return target


class _Zizhu(click.Group):
    """Every word in Chinese, click's included; a file that turns out unreadable halfway (a bad
    byte on row 90,000) ends the command with its location, not a traceback."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        with _click_in_chinese():
            return super().main(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        # `kill` (SIGTERM) ends a run as Ctrl-C does: temporary outputs removed, no traceback.
        with suppress(ValueError):  # only the main thread may set it (not when embedded)
            signal.signal(signal.SIGTERM, _terminated)
        try:
            return super().invoke(ctx)
        except (InputError, OutputError) as exc:
            click.echo(f"错误：{exc}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            # Outputs are written to a temporary file and renamed when complete: nothing half-written remains.
            click.echo("\n已中断：输出文件未写入（已有的文件保持原样）", err=True)
            sys.exit(2)
        except OSError as exc:  # disk full, no permission: say which file, not a traceback
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"错误：{where}{exc.strerror or exc}", err=True)
            sys.exit(2)


@click.group(cls=_Zizhu, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """zizhu（资助）：学生资助政策即数据——检查、评估、解释。"""


@main.command()
@click.argument("policy_folder", type=click.Path(exists=True, file_okay=False))
def check(policy_folder: str) -> None:
    """检查政策：格式、名称、类型，一次列出全部错误。"""
    checked = _policy(policy_folder)
    p = checked.policy
    m = p.manifest
    sample = [t.label for t in p.tables.values() if t.sample]
    click.echo(f"{policy_folder}: {m.title}（{m.id} {m.version}）")
    click.echo(f"  生效：{m.describe_effective()}")
    click.echo(f"  政策内容校验值：{DecisionRecord.of(p).policy_hash}（合并 extends 之后的有效政策）")
    if m.illustration:
        click.echo(f"  性质：{ILLUSTRATION_NOTE}")
    click.echo(
        f"  {len(p.fields)} 个字段，{len(p.parameters)} 个参数，{len(p.tables)} 张表，{len(p.groups)} 个条件组，"
        f"{len(p.programs)} 个资助项目，{len(p.checks)} 项核查"
    )
    if p.checks:
        counts = {word: sum(c.category == key for c in p.checks.values()) for key, word in CHECK_CATEGORY_WORDS.items()}
        click.echo("  核查：" + "，".join(f"{word} {n} 项" for word, n in counts.items() if n))
    if sample:
        click.echo(f"  注意：以下表为示例数据，须由主管部门替换：{'、'.join(sample)}")
        programs = sample_programs(checked)
        click.echo(
            f"  用到示例数据的资助项目（金额标 {SAMPLE_MARK}）："
            + "、".join(p.programs[pid].label for pid in checked.program_order if pid in programs)
        )
    for note in p.merge_notes:
        click.echo(f"  注意：{note}")
    for stale in stale_quotes(checked):
        click.echo(f"  警告：{stale}")
    click.echo("检查通过")


def _progress(reader: RecordReader, outcomes: Iterator[Outcome]) -> Iterator[Outcome]:
    """A progress bar on stderr for a large file, when stderr is a terminal."""
    outcomes = iter(outcomes)
    first = next(outcomes, None)  # the reader counts the rows in its first pass, before the first row
    if first is None:
        return
    if not sys.stderr.isatty() or reader.row_count < PROGRESS_MIN_ROWS:
        yield first
        yield from outcomes
        return
    with click.progressbar(length=reader.row_count, label="评估中", file=sys.stderr) as bar:
        yield first
        for outcome in outcomes:
            bar.update(1)
            yield outcome
        bar.update(1)


PROGRESS_MIN_ROWS = 20_000
# `--format table` holds every row to lay out its columns; beyond this a file is for -o, not a screen.
TABLE_MAX_ROWS = 20_000


def _write(
    checked: CheckedPolicy, outcomes: Iterator[Outcome], ledger: Ledger, fmt: str, output: str | None, period: str
) -> None:  # fmt: skip
    """Outcomes in the chosen format, to a file or stdout; the ledger counts them on the way."""
    stream = ledger.observe(outcomes)
    record = DecisionRecord.of(checked.policy, period)
    if fmt == "jsonl":
        with text_output(output, "utf-8") as handle:
            handle.write(record.jsonl_header() + "\n")
            for outcome in stream:
                handle.write(jsonl_line(outcome) + "\n")
    elif fmt == "csv":
        with text_output(output, "utf-8-sig") as handle:
            write_csv(handle, checked, stream)
    elif fmt == "xlsx":
        if not output:
            raise click.UsageError("xlsx 格式需要 -o 文件名.xlsx")
        with atomic_output(output) as path:
            write_xlsx(path, checked, stream, ledger.table, record)
    elif fmt == "parquet":
        if not output:
            raise click.UsageError("parquet 格式需要 -o 文件名.parquet")
        with atomic_output(output) as path:
            write_parquet(path, checked, stream, record)
    else:
        shown = []
        for outcome in stream:  # the table is built in memory: refuse a file too large to read on screen
            shown.append(outcome)
            if len(shown) > TABLE_MAX_ROWS:
                click.echo(
                    f"错误：名单超过 {TABLE_MAX_ROWS:,} 行，不适合用表格显示；"
                    "请用 -o 结果.xlsx、-o 结果.csv 或 --format jsonl",
                    err=True,
                )
                sys.exit(2)
        m = checked.manifest
        heading = f"{m.heading()}  学期 {_period(period)}\n{record.text()}"
        text = f"{heading}\n\n{students_table(checked, shown)}\n\n{ledger_text(ledger)}"
        with text_output(output, "utf-8") as handle:
            handle.write(text + "\n")


ALL_FORMATS = ("table", "jsonl", "csv", "xlsx")


def _format(fmt: str | None, output: str | None, can_write: tuple[str, ...] = ALL_FORMATS, piped: str = "jsonl") -> str:
    """The format to write: `--format`, else the extension of `-o`, else table on a terminal and
    jsonl in a pipe. An extension this command cannot write, or one that contradicts `--format`,
    is refused before any work (a .csv holding XLSX bytes opens as garbage)."""
    if output:
        try:
            implied = format_for(output)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="-o") from None
        suffix = Path(output).suffix.lower()
        if implied not in can_write:
            allowed = "、".join(s for s, f in OUTPUT_FORMATS.items() if f in can_write)
            raise click.BadParameter(f"这个命令不能写 {suffix} 文件；可写：{allowed}", param_hint="-o")
        if fmt and fmt != implied:
            raise click.BadParameter(f"--format {fmt} 与 -o 的扩展名 {suffix} 不一致；去掉 --format 或改扩展名",
                                     param_hint="-o")  # fmt: skip
        return implied
    if fmt:
        return fmt
    return "table" if sys.stdout.isatty() else piped


XLSX_ONLY = ("xlsx",)  # commands whose -o is a workbook


def _output_option(formats: tuple[str, ...]) -> Any:
    """-o, its help naming exactly the extensions this command writes (`_format` refuses the rest)."""
    suffixes = " ".join(s for s, f in OUTPUT_FORMATS.items() if f in formats and s != ".json")
    return click.option("-o", "--output", default=None, type=click.Path(dir_okay=False),
                        help=f"写入文件；格式按扩展名：{suffixes}")  # fmt: skip


EVAL_FORMATS = (*ALL_FORMATS, "parquet")  # one row per student, for data teams (see README)
OUTPUT = _output_option(EVAL_FORMATS)
LEDGER_FORMATS = ("table", "csv", "xlsx")
FORMAT = click.option("--format", "fmt", type=click.Choice(EVAL_FORMATS), default=None,
                      help="输出格式（默认：终端为 table，管道为 jsonl，-o 按扩展名）")  # fmt: skip


@main.command(name="eval")
@click.argument("students", type=_StudentsPath(exists=True, dir_okay=False))
@POLICY
@PERIOD
@FORMAT
@OUTPUT
@ENCODING
@SHEET
@click.option("--jobs", default=1, show_default=True, type=click.IntRange(1, 64),
              help="用几个进程评估（大文件，jsonl 或 csv 输出）；结果与 1 个进程完全相同")  # fmt: skip
@ENGINE
@SPARK_MASTER
def eval_command(
    students: str, policy_folder: str, period: str, fmt: str | None, output: str | None, encoding: str | None,
    sheet: str | None, jobs: int, engine: str, spark_master: str | None,
) -> None:  # fmt: skip
    """评估学生名单：每行输出资助、核查标记和问题；最后给出读取、计算、有问题、退回的行数。

    有问题或退回的行时退出码为 1。"""
    if output is not None and (is_uri(output) or (engine == "spark" and output.endswith("/"))):
        _eval_to_folder(students, policy_folder, period, fmt, output, encoding, engine, spark_master)
    check_output(output, [students])
    fmt = _format(fmt, output, EVAL_FORMATS)
    # Parquet has a reason column per program (writers.parquet_columns); the other formats no reasons.
    checked, evaluator = _for_period(policy_folder, period, reasons=fmt == "parquet")
    ledger = Ledger(checked)
    roster = _students(checked, evaluator, students, encoding, sheet, engine, spark_master, values=fmt != "jsonl",
                       reasons=evaluator.reasons)  # fmt: skip
    reader, bulk = roster.reader, roster.bulk
    has_quota = any(p.quota for p in checked.policy.programs.values())
    if bulk is not None and fmt == "jsonl":
        bulk.write_jsonl(output, ledger, DecisionRecord.of(checked.policy, period).jsonl_header())
    elif bulk is None and jobs > 1 and fmt in ("jsonl", "csv") and not has_quota:
        with text_output(output, "utf-8" if fmt == "jsonl" else "utf-8-sig") as handle:
            if fmt == "jsonl":
                handle.write(DecisionRecord.of(checked.policy, period).jsonl_header() + "\n")
            write_parallel(handle, reader, str(Path(checked.policy.folder)), period, fmt, jobs, ledger)
    else:
        if jobs > 1 and bulk is None:
            click.echo("注意：--jobs 只用于 jsonl 或 csv 输出、且政策没有名额限制时；本次用 1 个进程", err=True)
        _write(checked, roster.outcomes(), ledger, fmt, output, period)
    if output:
        click.echo(f"已写入 {output}", err=True)
    click.echo(ledger.summary_line(), err=True)
    sys.exit(ledger.exit_code())


def _eval_to_folder(
    students: str, policy_folder: str, period: str, fmt: str | None, output: str, encoding: str | None,
    engine: str, spark_master: str | None,
) -> NoReturn:  # fmt: skip
    """`eval -o FOLDER/` (a URI, or a path ending in / with --engine spark): Spark writes the JSONL or
    Parquet as a folder of part files where it runs; no row comes back to this machine except those
    the per-record path decides. Ends the command with the summary line and exit code."""
    if engine != "spark":
        raise OutputError(f"-o {output}：这是由 Spark 写出的文件夹，请加 --engine spark", "needs-spark")
    named = Path(output.rstrip("/")).suffix.lower()
    fmt = fmt or ("parquet" if named == ".parquet" else "jsonl")
    if fmt not in ("jsonl", "parquet"):
        raise click.BadParameter(f"Spark 写的文件夹只能是 jsonl 或 parquet，不能是 {fmt}", param_hint="--format")
    from engine.tools.spark import SparkRun, SparkSession

    try:
        exists = SparkSession(spark_master).exists(output)
    except ColumnarUnavailable as exc:  # no pyspark
        raise OutputError(f"-o {output}：{exc}", "no-spark") from None
    if exists:
        message = f"-o {output} 已存在；Spark 不覆盖已有的文件或文件夹，请换一个名字或先删除它"
        raise OutputError(message, "output-exists")
    # Parquet has a reason column per program (writers.parquet_columns); JSONL no reasons.
    checked, evaluator = _for_period(policy_folder, period, reasons=fmt == "parquet")
    bulk = _students(checked, evaluator, students, encoding, None, engine, spark_master,
                     values=fmt == "parquet", reasons=evaluator.reasons, on_spark=True).bulk  # fmt: skip
    assert isinstance(bulk, SparkRun)  # on_spark: Spark read the file, or the command stopped
    ledger = Ledger(checked)
    if fmt == "jsonl":
        bulk.write_jsonl_folder(output, DecisionRecord.of(checked.policy, period).jsonl_header(), ledger)
    else:
        bulk.write_parquet_folder(output, ledger)
    click.echo(f"已写入 {output}（Spark 写的文件夹；part-* 文件按文件名顺序即输入顺序）", err=True)
    click.echo(ledger.summary_line(), err=True)
    sys.exit(ledger.exit_code())


@main.command()
@click.argument("students", type=_StudentsPath(exists=True, dir_okay=False))
@POLICY
@PERIOD
@click.option("--by", default=None, help="分组：学校、学段、乡镇等任一字段的中文名（也可写字段标识）；默认按资助项目")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "xlsx"]), default=None, help="输出格式")
@_output_option(LEDGER_FORMATS)
@ENCODING
@SHEET
@ENGINE
@SPARK_MASTER
def ledger(
    students: str, policy_folder: str, period: str, by: str | None, fmt: str | None, output: str | None,
    encoding: str | None, sheet: str | None, engine: str, spark_master: str | None,
) -> None:  # fmt: skip
    """台账：按项目（及学校、学段、乡镇等）统计人次和金额；补助减免与贷款分开合计。"""
    check_output(output, [students])
    checked, evaluator = _for_period(policy_folder, period, reasons=False)
    try:
        group = resolve_grouping(checked, by)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--by") from None
    fmt = _format(fmt, output, LEDGER_FORMATS, piped="table")
    book = Ledger(checked, group)
    outcomes = _students(checked, evaluator, students, encoding, sheet, engine, spark_master).outcomes()
    for _ in book.observe(outcomes):
        pass
    headers, rows = book.table()
    record = DecisionRecord.of(checked.policy, period)
    if fmt == "xlsx":
        if not output:
            raise click.UsageError("xlsx 格式需要 -o 文件名.xlsx")
        with atomic_output(output) as path:
            flags = {"核查": book.flag_table()} if checked.checks else {}
            write_sheets_xlsx(path, {"台账": (headers, rows), **flags, **record_sheet(record, book.count_notes())})
    elif fmt == "csv":
        with text_output(output, "utf-8-sig") as handle:
            write_csv_rows(handle, headers, rows)
    else:
        m = checked.manifest
        with text_output(output, "utf-8") as handle:
            handle.write(f"{m.heading()}  学期 {_period(period)}\n{record.text()}\n\n{ledger_text(book)}\n")
    click.echo(book.summary_line(), err=True)
    sys.exit(book.exit_code())


@main.command()
@POLICY
@click.option("--period", default=None, help="学期，如 2021-autumn；--policy 为版本总文件夹时必填，选用当时适用的版本")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="模板文件，如 模板.xlsx")
def template(policy_folder: str, period: str | None, output: str) -> None:
    """生成学校填报用的空白 Excel 模板：列标题、下拉选项、日期格式和填表说明。"""
    check_output(output)
    _format(None, output, XLSX_ONLY)
    if period is not None:
        policy_folder = str(_version_for(policy_folder, _period(period)))
    elif is_version_root(Path(policy_folder)):
        hint = "请用 --period 指定学期（如 2021-autumn），以选用当时适用的版本"
        click.echo(f"错误：{policy_folder} 是版本总文件夹，{hint}", err=True)
        sys.exit(2)
    checked = _policy(policy_folder)
    with atomic_output(output) as path:
        write_template(checked, path)
    click.echo(f"已写入 {output}（{len(input_fields(checked))} 列）")


@main.command()
@click.argument("students", type=click.Path(exists=True, dir_okay=False))
@POLICY
@PERIOD
@click.option("--id", "id_number", required=True, help="学生身份证号")
@ENCODING
@SHEET
def explain(
    students: str, policy_folder: str, period: str, id_number: str, encoding: str | None, sheet: str | None
) -> None:
    """解释一名学生：每个资助项目和核查的结果、条款，以及每个条件读到的信息。"""
    checked, evaluator = _for_period(policy_folder, period)
    reader = _reader(checked, students, encoding, sheet)
    found = find_student(reader.with_cells(), checked, id_number)  # the file read once, cells kept
    if found is None:
        click.echo(f"错误：{students} 中没有身份证号为 {id_number} 的学生", err=True)
        sys.exit(2)
    item, raw = found
    if isinstance(item, Rejected):
        click.echo(visible(rejected_text(item)))
        sys.exit(1)
    result: Result = evaluator.evaluate(item)
    semester = _period(period)
    reference = checked.manifest.reference_date(semester)
    supplied = supplied_facts(checked, reader.columns.by_field, raw, item.values)
    text = explain_text(checked, result, evaluator.explain(item), str(semester), reference, supplied=supplied)
    click.echo(visible(text))
    sys.exit(1 if result.errors else 0)  # as eval: something could not be decided (无法判定)


@main.command()
@click.argument("policy_folder", type=click.Path(exists=True, file_okay=False))
def test(policy_folder: str) -> None:
    """运行政策自带的测试用例（tests/*.yaml），并检查每条规则都有用例覆盖。

    继承（extends）上一版本的，也运行上一版本的用例（按用例 id 合并：同 id 的用例覆盖，
    remove: {cases: [...]} 删除），按本版本的规则判定。"""
    checked = _policy(policy_folder)
    try:
        suite = load_cases(checked, Path(policy_folder))
    except PolicyError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    run = run_cases(checked, suite)
    click.echo(render(run))
    sys.exit(0 if run.ok else 1)


@main.command()
@click.argument("policy_folder", type=click.Path(exists=True, file_okay=False))
def show(policy_folder: str) -> None:
    """显示合并后的有效政策（YAML），并注明每一项写在哪个文件、被哪个版本覆盖。"""
    checked = _policy(policy_folder)
    click.echo(effective_yaml(checked.policy))


@main.command()
@click.argument("old_folder", type=click.Path(exists=True, file_okay=False))
@click.argument("new_folder", type=click.Path(exists=True, file_okay=False))
@click.option("--students", type=click.Path(exists=True, dir_okay=False), default=None,
              help="学生名单：同一学期按新旧两个版本评估，给出对人数和金额的影响")  # fmt: skip
@click.option("--period", default=None, help="评估影响的学期（与 --students 一起用）")
@click.option("--format", "fmt", type=click.Choice(["table", "markdown", "json"]), default="table", help="输出格式")
@click.option("-o", "--output", default=None, type=click.Path(dir_okay=False), help="影响写入 Excel（.xlsx）")
@click.option("--exit-code", is_flag=True, help="有差别时退出码为 1（如 git diff --exit-code）")
@ENCODING
@SHEET
@ENGINE
@SPARK_MASTER
def diff(
    old_folder: str, new_folder: str, students: str | None, period: str | None, fmt: str, output: str | None,
    exit_code: bool, encoding: str | None, sheet: str | None, engine: str, spark_master: str | None,
) -> None:  # fmt: skip
    """比较两个政策版本：新增、删除的项目，金额与表格的变化（含百分比），条件、条款和原文的变化。"""
    if bool(students) != bool(period):
        raise click.UsageError("--students 与 --period 要一起用")
    check_output(output, [students])
    _format(None, output, XLSX_ONLY)
    old, new = _policy(old_folder), _policy(new_folder)
    changes = structural_diff(old, new)
    result = None
    if students and period:
        semester = _period(period)
        rosters = [_students(checked, _evaluator(checked, semester, reasons=False), students, encoding, sheet,
                             engine, spark_master) for checked in (old, new)]  # fmt: skip
        result = impact(old, new, rosters[0].outcomes(progress=False), rosters[1].outcomes(progress=False))
    records = (DecisionRecord.of(old.policy, period), DecisionRecord.of(new.policy, period))
    text = render_diff(old, new, changes, result, fmt)
    if fmt == "json":
        data = json.loads(text)
        data["decision_records"] = {"old": records[0].as_json(), "new": records[1].as_json()}
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        click.echo(f"旧版{records[0].text()}\n新版{records[1].text()}\n\n{text}")
    for stale in stale_quotes(new, before=old):
        click.echo(f"警告：{stale}", err=True)
    if output and result is not None:
        with atomic_output(output) as path:
            write_impact_xlsx(path, changes, result, records)
        click.echo(f"已写入 {output}", err=True)
    if result is not None:
        click.echo(row_counts_line(result.rows, result.problems, result.rejected), err=True)
    sys.exit(1 if exit_code and changes else 0)


@main.command()
@POLICY
@PERIOD
@click.option("--students", required=True, type=click.Path(exists=True, dir_okay=False),
              help="学生名单，或 zizhu eval --format jsonl 保存的结果")  # fmt: skip
@click.option("--paid", required=True, type=click.Path(exists=True, dir_okay=False),
              help="发放名单（XLSX 或 CSV：身份证号、姓名、学校、资助项目、金额）")  # fmt: skip
@click.option("--programs", "only", multiple=True,
              help="只核对这些项目（标识或中文名，逗号分隔，可写多次）；默认核对教育局发放的全部项目")  # fmt: skip
@click.option("--skip", multiple=True, help="不核对这些项目（标识或中文名，逗号分隔，可写多次）")
@click.option("--by", default="school", help="按哪个字段汇总（字段的中文名，如 学校、乡镇）；默认按学校")
@click.option("-o", "--output", default=None, type=click.Path(dir_okay=False), help="写入 Excel：每类一个工作表")
@ENCODING
@SHEET
@ENGINE
@SPARK_MASTER
def reconcile(
    policy_folder: str, period: str, students: str, paid: str, only: tuple[str, ...], skip: tuple[str, ...], by: str,
    output: str | None, encoding: str | None, sheet: str | None, engine: str, spark_master: str | None,
) -> None:  # fmt: skip
    """核对发放名单与应享受名单（不漏一生）：漏发、错发、少发、多发、重复发放、互斥、姓名不符、未知。

    有漏发、少发、姓名不符或未知（含被退回、无法判断是否应发的学生，不认识的项目名称）时退出码为 1。

    发放名单上方的标题行自动跳过；合计行不算发放记录（会提示）。保存结果的学期须与 --period 相同。

    由银行发放的项目（政策中 paid_by: bank，如助学贷款）不在教育局发放名单上，默认不核对。"""
    check_output(output, [students, paid])
    _format(None, output, XLSX_ONLY)
    checked, evaluator = _for_period(policy_folder, period, reasons=False)
    school = _grouping(checked, by)
    try:
        scope = choose_programs(checked, _names(only), _names(skip))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--programs/--skip") from None
    try:
        table = read_payment_table(paid, encoding=encoding, sheet=sheet)
        payments, problems, notes = read_payment_list(checked, table)
    except InputError as exc:
        click.echo(f"错误：{exc}", err=True)
        sys.exit(2)
    if problems:
        click.echo("错误：" + "\n".join(problems), err=True)
        sys.exit(2)
    for note in [*(f"{paid}：{w}" for w in table.warnings), *notes]:
        click.echo(f"注意：{note}", err=True)
    record = DecisionRecord.of(checked.policy, period)
    if is_saved_results(students) and (mismatch := semester_mismatch(students, _period(period))):
        click.echo(f"错误：{mismatch}", err=True)
        sys.exit(2)
    if is_saved_results(students):
        warning = hash_warning(checked, students)
        if warning:
            click.echo(warning, err=True)
        outcomes: Iterator[Any] = saved_results(checked, students)
        recheck = None
    else:
        outcomes = _students(checked, evaluator, students, encoding, sheet, engine, spark_master).outcomes()
        reasoned: list[Evaluator] = []  # made when the first 错发 needs it: most lists have few

        def recheck(result: Result) -> tuple[Result, list[Any]]:
            if not reasoned:
                reasoned.append(_evaluator(checked, _period(period)))
            record = Record(result.row, result.values)
            return reasoned[0].evaluate(record), reasoned[0].explain(record)

    roster = Ledger(checked)  # counts the students' rows as eval does
    result = find_differences(checked, roster.observe(outcomes), payments, school, scope, recheck)
    findings = result.findings
    note = reconcile_sample_note(result)
    if output:
        with atomic_output(output) as path:
            notes = [("核对范围", scope.describe(checked))]
            notes += [("示例数据", note)] if note else []
            write_sheets_xlsx(path, {**record_sheet(record, notes), **report_sheets(result)})
        click.echo(f"已写入 {output}", err=True)
    click.echo(record.text())
    click.echo(scope.describe(checked) + "\n")
    click.echo(titled_tables(report_tables(result)) if findings else "发放名单与应享受名单完全一致。")
    if note:
        click.echo(note)
    click.echo(summary_line(result), err=True)
    click.echo(roster.summary_line(), err=True)
    sys.exit(1 if needs_alert(findings) or roster.exit_code() else 0)


def _names(values: tuple[str, ...]) -> list[str]:
    """Program names given as --programs a,b --programs c (ASCII or Chinese commas)."""
    return [n.strip() for v in values for n in v.replace("，", ",").replace("、", ",").split(",") if n.strip()]


@main.command()
@POLICY
@click.argument("before", type=click.Path(exists=True, dir_okay=False))
@click.argument("after", type=click.Path(exists=True, dir_okay=False))
@click.option("--period", "periods", multiple=True, required=True,
              help="两个学期，依次对应两份名单，如 --period 2021-autumn --period 2022-spring")  # fmt: skip
@click.option("--by", default="township,school", help="按哪些字段分组（字段的中文名），逗号分隔；默认按乡镇、学校")
@click.option("-o", "--output", default=None, type=click.Path(dir_okay=False), help="写入 Excel")
@ENCODING
@SHEET
@ENGINE
@SPARK_MASTER
def followup(
    policy_folder: str, before: str, after: str, periods: tuple[str, ...], by: str, output: str | None,
    encoding: str | None, sheet: str | None, engine: str, spark_master: str | None,
) -> None:  # fmt: skip
    """学期间动态管理：新辍学、新入适龄、劝返复学、超出适龄（仍未入学）、仍需跟进，名单进出，资助的开始与停止（金额、原因），按乡镇学校合计；并给出开学两周内排查的截止日。

    两份名单也可以是 zizhu eval --format jsonl 保存的结果（此时不按地点分组，停止享受没有原因，
    解除标记无法区分劝返复学与超出适龄；保存结果的学期须与 --period 相同）。

    名单中被退回的行列为「被退回」，缺少信息而无法判定的核查或资助列为「无法判断」，都不算已解除或不在名单。
    有新辍学、新入适龄（未入学）、超出适龄（仍未入学）、无法判断或被退回时退出码为 1；无法运行时为 2。"""
    if len(periods) != 2:
        raise click.UsageError("--period 要写两次：前一份名单的学期和后一份名单的学期")
    check_output(output, [before, after])
    _format(None, output, XLSX_ONLY)
    first_checked, first = _for_period(policy_folder, periods[0])
    second_checked, second = _for_period(policy_folder, periods[1])
    places = [p for name in by.split(",") if name.strip() and (p := _grouping(second_checked, name.strip()))]

    counts: list[tuple[str, Ledger]] = []
    reasons: list[Callable[[Result], Result] | None] = []  # per roster: what adds a bulk Result's reasons

    def roster(checked: CheckedPolicy, evaluator: Evaluator, path: str) -> Iterator[Outcome]:
        if is_saved_results(path):
            reasons.append(None)
            return saved_results(checked, path)
        book = Ledger(checked)
        counts.append((path, book))
        students = _students(checked, evaluator, path, encoding, sheet, engine, spark_master)
        reasons.append(students.with_reasons)
        return book.observe(students.outcomes(progress=False))

    for checked, path, period in ((first_checked, before, periods[0]), (second_checked, after, periods[1])):
        if is_saved_results(path) and (mismatch := semester_mismatch(path, _period(period))):
            click.echo(f"错误：{mismatch}", err=True)
            sys.exit(2)
        if is_saved_results(path) and (warning := hash_warning(checked, path)):
            click.echo(warning, err=True)
    rosters = (roster(first_checked, first, before), roster(second_checked, second, after))
    movements = follow_up(
        second_checked,
        *rosters,
        same_season=Period.parse(periods[0]).season == Period.parse(periods[1]).season,
        places=places,
        with_reasons=(reasons[0], reasons[1]),
    )
    tables = {
        "汇总": followup_summary(second_checked, places, movements),
        "明细": movement_table(second_checked, places, movements),
    }
    records = [DecisionRecord.of(c.policy, p) for c, p in ((first_checked, periods[0]), (second_checked, periods[1]))]
    window = window_text(second_checked, Period.parse(periods[1]))
    sample = followup_sample_note(movements)
    if output:
        notes = [("排查时间", window), ("前一学期决策记录", records[0].text())]
        notes += [("示例数据", sample)] if sample else []
        with atomic_output(output) as path:
            write_sheets_xlsx(path, {**record_sheet(records[1], notes), **tables})
        click.echo(f"已写入 {output}", err=True)
    click.echo("\n".join(r.text() for r in records))
    click.echo(f"排查时间：{window}\n")
    click.echo(titled_tables(tables) if movements else "两个学期之间没有变化。")
    if sample:
        click.echo(sample)
    for path, book in counts:
        click.echo(f"{path}：{book.summary_line()}", err=True)
    alert = followup_needs_alert(movements)
    if alert:
        click.echo("须跟进：有新辍学、新入适龄未入学、超出适龄仍未入学、无法判断或被退回的学生（见明细）", err=True)
    sys.exit(1 if alert or any(book.exit_code() for _, book in counts) else 0)


def _grouping(checked: CheckedPolicy, by: str) -> str | None:
    try:
        return resolve_grouping(checked, by)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--by") from None


@main.command(name="new")
@click.argument("target", type=click.Path(file_okay=False))
@click.option("--from", "source", required=True, type=click.Path(exists=True, file_okay=False),
              help="在哪个版本的基础上写，如 policies/2024-autumn")  # fmt: skip
@click.option("--effective", required=True, help="新版本从哪个学期起施行，如 2025秋季")
def new_command(target: str, source: str, effective: str) -> None:
    """新建下一年的政策版本：写出继承上一版本的 policy.yaml（附各种改动的示例）和测试文件。"""
    period = _period(effective)
    try:
        made = new_version(Path(target), Path(source), period)
    except ScaffoldError as exc:
        click.echo(f"错误：{exc}", err=True)
        sys.exit(2)
    except PolicyError as exc:
        click.echo(f"{source} 本身有错误，请先改好：\n{exc}", err=True)
        sys.exit(2)
    click.echo(f"已写出 {display_path(made.manifest)}（继承 {source}，自 {period}起施行）")
    click.echo(f"已写出 {display_path(made.tests)}（{made.cases} 个用例）")
    click.echo(f"下一步：编辑 {display_path(made.manifest)}，然后运行 zizhu check {target} 和 zizhu test {target}")


@main.command()
@click.argument("policy_folder", type=click.Path(exists=True, file_okay=False))
@click.option("--period", "periods", multiple=True, help="学期，如 2021-autumn（默认：生效的第一个秋季和春季学期）")
@click.option("--against", "old_folder", default=None, type=click.Path(exists=True, file_okay=False),
              help="原版本政策文件夹：证明新版本下没有学生减少（须同时给 --period）")  # fmt: skip
@click.option("--gains", is_flag=True, help="与 --against 一起：证明没有学生增加")
@click.option("-o", "--output", default=None, type=click.Path(dir_okay=False), help="反例写入 反例.xlsx 或 反例.csv")
def verify(
    policy_folder: str, periods: tuple[str, ...], old_folder: str | None, gains: bool, output: str | None
) -> None:
    """证明政策对每一个可能的学生都成立的性质；或（--against）证明新版本下没有学生减少。"""
    from engine.backends.smt.encode import Unsupported
    from engine.tools.verify import (
        InternalDisagreement,
        compare_versions,
        counterexample_table,
        render,
        verify_policy,
    )

    if output and Path(output).suffix.lower() not in (".csv", ".xlsx"):
        raise click.BadParameter("反例文件应为 .csv 或 .xlsx", param_hint="-o")
    check_output(output)  # a folder that cannot be written is refused before the proof, not after
    if gains and not old_folder:
        raise click.BadParameter("--gains 须与 --against 一起用", param_hint="--gains")
    if old_folder and len(periods) != 1:
        raise click.BadParameter("与原版本比较时须给且只给一个 --period", param_hint="--period")
    checked = _policy(policy_folder)
    old = _policy(old_folder) if old_folder else None
    chosen = [_period(p) for p in periods]
    for policy in (checked, old):
        for period in chosen:
            if policy is not None and not policy.manifest.covers(period):
                click.echo(f"错误：政策「{policy.manifest.heading()}」不适用于 {period}（生效学期："
                           f"{policy.manifest.describe_effective()}）", err=True)  # fmt: skip
                sys.exit(2)
    hint = ""
    if output:
        hint = f"核对：zizhu explain {output} --policy {policy_folder} --period {{period}} --id {{id}}"
        if old_folder:
            hint += f"（原版本：--policy {old_folder}）"
    try:
        if old is not None:
            report = compare_versions(checked, old, chosen[0], gains)
        else:
            report = verify_policy(checked, chosen or None)
    except (Unsupported, InternalDisagreement) as exc:
        click.echo(f"错误：{exc}", err=True)
        sys.exit(2)
    click.echo(render(report, hint))
    if output and report.counterexamples:
        headers, rows = counterexample_table(report)
        if output.lower().endswith(".xlsx"):
            with atomic_output(output) as path:
                write_sheets_xlsx(path, {"反例": (headers, rows)})
        else:
            with text_output(output, "utf-8-sig") as handle:
                write_csv_rows(handle, headers, rows)
        click.echo(f"反例 {len(rows)} 名学生已写入 {output}", err=True)
    sys.exit(1 if report.failed else 0)


@main.command()
@click.option("-o", "output", type=click.Path(dir_okay=False), default=None, help="写入文件（默认输出到屏幕）")
def schema(output: str | None) -> None:
    """输出政策文件的 JSON Schema，供编辑器自动补全和标出错误。"""
    if output and Path(output).suffix.lower() != ".json":
        suffix = Path(output).suffix or "无扩展名的文件"
        raise click.BadParameter(f"这个命令只写 .json 文件，不能写 {suffix}", param_hint="-o")
    text = schema_json()
    if output:
        with atomic_output(output) as path:
            Path(path).write_text(text + "\n", encoding="utf-8")
        click.echo(f"已写入 {output}", err=True)
    else:
        click.echo(text)


# What `--help` shows for each kind of value and each argument, in the words of the people who run
# zizhu (click would print TEXT, DIRECTORY, FILE, INTEGER RANGE and STUDENTS).
_ARGUMENT_WORDS = {
    "students": "学生名单",
    "policy_folder": "政策文件夹",
    "old_folder": "原版本文件夹",
    "new_folder": "新版本文件夹",
    "before": "前一学期名单",
    "after": "后一学期名单",
    "target": "新版本文件夹",
}


def _metavar(param: click.Parameter) -> str | None:
    if isinstance(param, click.Argument):
        return _ARGUMENT_WORDS.get(param.name or "")
    kind = param.type
    if isinstance(kind, click.Path):
        return "文件夹" if not kind.file_okay else "文件" if not kind.dir_okay else "路径"
    if isinstance(kind, click.IntRange | click.types.IntParamType):
        return "整数"
    if kind is click.STRING:
        return "文字"
    return None  # a choice shows its choices


# A line of --help may not start with these (they close what comes before them), nor end with
# the opening ones.
_NO_LINE_START = set("，。、；：？！）」』》”’】,.;:!?)]")
_NO_LINE_END = set("（「『《“‘【([")


def _unwrapped(text: str) -> str:
    """A paragraph's lines joined: with a space between words, with none where Chinese meets a line end."""
    out = ""
    for line in (part.strip() for part in text.splitlines()):
        if line:
            joint = "" if not out or display_width(out[-1]) == 2 or display_width(line[0]) == 2 else " "
            out += joint + line
    return out


def _wrap_cells(text: str, width: int) -> list[str]:
    """`text` in lines of at most `width` terminal cells: a Chinese character is a unit (and takes two
    cells), a run of other characters is a word. Closing punctuation never starts a line (the
    character it closes moves down with it; after a word it overhangs) and an opening bracket never
    ends one (it moves down with what it opens)."""
    lines: list[str] = []
    line = ""
    # click's [必填] / [默认：…] notes are one unit each
    for token in re.findall(r"\[[^\[\]]*\]|[^\s㄀-鿿＀-￯　-〿]+|[㄀-鿿＀-￯　-〿]|\s+", _unwrapped(text)):
        if token.isspace():
            line += " " if line else ""
            continue
        if not line or display_width(line + token) <= width:
            line += token
            continue
        cut = len(line)  # where the line breaks: what follows moves down with the token
        if set(token) <= _NO_LINE_START:
            cut -= 1
            while cut > 0 and line[cut] in _NO_LINE_START:
                cut -= 1
            if display_width(line[cut]) != 2:
                cut = 0
        while cut > 0 and line[cut - 1] in _NO_LINE_END:
            cut -= 1
        if line[:cut].strip():
            lines.append(line[:cut].rstrip())
            line = line[cut:] + token
        else:
            line += token
    return [*lines, line.rstrip()] if line.strip() else lines


class _CellFormatter(click.HelpFormatter):
    """--help laid out by terminal cells, not characters: click measures len(), so a Chinese
    placeholder (文件夹) or description counted half its width and the columns drifted."""

    def write_dl(self, rows: Any, col_max: int = 30, col_spacing: int = 2) -> None:
        rows = list(rows)
        first_width = min(max((display_width(first) for first, _ in rows), default=0), col_max)
        first_col = first_width + col_spacing
        for first, second in rows:
            self.write(f"{'':>{self.current_indent}}{first}")
            if not second:
                self.write("\n")
                continue
            if display_width(first) <= first_width:
                self.write(" " * (first_col - display_width(first)))
            else:
                self.write("\n" + " " * (first_col + self.current_indent))
            lines = _wrap_cells(second, max(self.width - first_col - self.current_indent, 10)) or [""]
            self.write(lines[0] + "\n")
            for line in lines[1:]:
                self.write(" " * (first_col + self.current_indent) + line + "\n")

    def write_text(self, text: str) -> None:
        indent = " " * self.current_indent
        for number, paragraph in enumerate(text.split("\n\n")):
            if number:
                self.write("\n")
            if paragraph.startswith("\b"):  # click's mark for a paragraph kept as written
                self.write("".join(f"{indent}{line}\n" for line in paragraph.splitlines()[1:]))
                continue
            for line in _wrap_cells(paragraph, max(self.width - self.current_indent, 10)):
                self.write(f"{indent}{line}\n")


class _CellContext(click.Context):
    formatter_class = _CellFormatter


def _chinese_metavars(group: click.Group) -> None:
    group.options_metavar = "[选项]"
    group.subcommand_metavar = "命令 [参数]..."
    group.context_class = _CellContext
    for command in group.commands.values():
        command.context_class = _CellContext
        if command.help and not command.short_help:
            # click shortens a help text by spaces: Chinese has none, and a long first sentence became "..."
            command.short_help = _unwrapped(command.help.split("\n\n")[0])
        command.options_metavar = "[选项]"
        for param in command.params:
            if param.metavar is None and not getattr(param, "is_flag", False):
                param.metavar = _metavar(param)


_chinese_metavars(main)

if __name__ == "__main__":
    main()
