"""A student CSV read column by column into DuckDB: typed once per *distinct* value, then joined back.

The row-by-row reader (:mod:`engine.files.records`) types each cell of each row in Python. Here
DuckDB reads the file's cells as text, and each column is typed in one of three ways:

- a cell as a tidy file has it (``2012-05-01``, plain digits, a valid 18-digit ID, a name without
  stray spaces) is converted by SQL, where the conversion is exact and cannot disagree with Python's;
- every other distinct value of the column (初二, ``2012/5/1``, full-width digits, a bad ID …) goes
  once through the same converter the row reader uses (``value_parser``, the field's declared
  blank), and the answers are put back by an inline CASE (or a join, when there are many);
- a yes/no or options column of a file is typed by its exact words (是, 否, an option's label or id,
  ``exact_values``): a row with any other word there is left to the row reader, and when there are
  many such rows the file is read again with those words typed by Python (see BulkRun).

The GB 11643 check digit, the birth date inside the ID and duplicate IDs are set operations.
A row is ``ok`` when every cell typed without a problem, its birth date agrees with its ID and
no other row shares a unique value. Rows that are not ok are not judged here: their raw cells are
handed back (:meth:`TypedColumns.raw_table`) to the row reader, which rejects them with exactly the
messages and codes of the Python path.

In one scan (the usual way) DuckDB reads the file once, typing each cell by its tidy form alone;
that reading is one scan and nothing else, so stored it keeps the file's order and a row's number
is its place (:attr:`TypedColumns.row_offset`); duplicates are then found among the stored rows,
and rows with other cells typed again (:func:`retype_rows`). Otherwise (many untidy rows, a plan
with a join, another engine's view) the file is stored as text, read once for the cells that are
not tidy, and typed.

The header is found as the row reader finds it (:func:`records.header_test`: title rows above it
are skipped, and the reader's warnings say so). A file this reader cannot take column-wise (not
UTF-8, ragged rows, blank lines that would shift the spreadsheet's row numbers, spaces around a
quoted cell, a missing required column) raises :class:`ColumnarUnavailable`; the caller then
reads it row by row.
"""

from __future__ import annotations

import codecs
import mmap
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property, partial
from pathlib import Path
from typing import Any

from engine.backends.sql.literals import DECIMAL_SCALE, DECIMAL_SQL, SQL_TYPES, exact_in_sql, sql_string, sql_value
from engine.backends.sql.session import Session
from engine.check import idcard
from engine.check.checked import CheckedPolicy, FieldInfo
from engine.check.values import exact_values, is_blank, read_grade, value_parser
from engine.files.readers import RawTable, read_table, row_dict
from engine.files.records import EARLIEST_BIRTH, RecordReader, absent_value, header_test

# Every character Python's str.isspace() calls white space (checked below): what str.strip() removes.
_SPACE_CHARS = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
_SPACE = sql_string(_SPACE_CHARS)


def _not_space(character: str) -> str:
    """SQL: one character (left(c, 1), right(c, 1)) is not white space. Far cheaper than DuckDB's
    trim(c, characters), which costs about 2 µs a cell."""
    return f"strpos({_SPACE}, {character}) = 0"


# Code points with no white space among them, where most first characters are: Chinese and printable ASCII.
_NO_SPACE_RANGES = ((33, 132), (max(map(ord, _SPACE_CHARS)) + 1, 0x10FFFF))
assert not any(low <= ord(c) <= high for c in _SPACE_CHARS for low, high in _NO_SPACE_RANGES)


def _first_not_space(column: str) -> str:
    """SQL: the cell's first character is not white space (NULL for a NULL cell), as
    :func:`_not_space` of left(c, 1), which it falls back on: DuckDB's left() costs about as much
    as the rest of a cell's typing, its unicode() (the first code point) a tenth of that."""
    ranges = " OR ".join(f"unicode({column}) BETWEEN {low} AND {high}" for low, high in _NO_SPACE_RANGES)
    return f"CASE WHEN {ranges} THEN TRUE ELSE {_not_space(f'left({column}, 1)')} END"


def _unpadded(column: str) -> str:
    """SQL: a cell that is not empty and has no white space at either end, i.e. c == c.strip()."""
    return f"({column} <> '' AND {_first_not_space(column)} AND {_not_space(f'right({column}, 1)')})"


SMALL_MAPPING = 64  # distinct cells typed by Python: up to this many go inline as CASE, more as a joined table


class ColumnarUnavailable(Exception):
    """The file cannot be read column-wise; the message says why (Chinese, for a note on stderr)."""


@dataclass
class TypedColumns:
    """The file as a query, :attr:`typed`: one row per record of the file with ``blank`` (a row of
    nothing, which the row reader skips), ``ok``, one column per input field named ``f0, f1 …``
    (:attr:`field_column`), the cells as text (:attr:`raw_columns`) and either ``row`` (its
    spreadsheet row) or, when :attr:`row_offset` is set, the unique keys ``k0, k1 …``.

    With :attr:`row_offset` the query is one scan of the file and nothing else (no join, which
    may emit rows in any order): stored as a table, its rows keep the file's order, so a row's
    number is its rowid plus the offset. Duplicates of a unique field are then for the caller to
    find among the stored keys (:attr:`keys`); otherwise ``ok`` already excludes them."""

    reader: RecordReader  # the row reader over the whole file: its columns, and rows that are not ok
    typed: str
    field_column: dict[str, str]  # field id → column of `typed`
    raw_columns: list[str]  # column of the cells under each header, in header order
    stored: list[str]  # tables made here that `typed` reads: to drop once its rows are stored elsewhere
    row_offset: int | None = None  # rows numbered by rowid + this (see above); None: a `row` column
    keys: list[str] = field(default_factory=list)  # unique key columns still to check (see above)
    lines: Callable[[], int] | None = None  # in one scan as read_columns returns it: the file's checks (see records)
    header_row: int = 1
    retyped: bool = False  # some cells that are not tidy were typed by Python

    @cached_property
    def records(self) -> int:
        """In one scan: the rows the file must have (DuckDB may read fewer: never trusted), once the
        whole file is checked (:func:`_require_plain_csv`; its refusal, ColumnarUnavailable, is
        raised here). A scan of the file at C speed that holds Python's lock: the caller may run it
        beside DuckDB's work, which does not."""
        return self.lines() - self.header_row if self.lines is not None else 0

    def raw_table(self, rows: list[tuple[Any, ...]], read_again: dict[int, dict[str, Any]] | None = None) -> RawTable:
        """(row, cell, cell …) tuples, and rows the row reader read itself (:meth:`file_rows`), as
        one raw table for the row reader, in file order."""
        headers = self.reader.table.headers
        found = [(row, row_dict(headers, list(cells))) for row, *cells in rows]
        found = sorted([*found, *(read_again or {}).items()], key=lambda pair: pair[0]) if read_again else found
        return RawTable(self.reader.table.file, headers, lambda: iter(found))

    def file_rows(self, rows: set[int]) -> dict[int, dict[str, Any]]:
        """These rows of the file as the row reader reads them (one pass over the file in Python)."""
        return {row: raw for row, raw in self.reader.table.rows() if row in rows}


def csv_source(path: Path, columns: list[str], header_row: int = 1) -> str:
    """DuckDB's reader for a CSV as the row reader reads it: every cell text, no guessing. The
    lines up to the header (`header_row`, the file's line) are skipped."""
    spec = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in columns) + "}"
    # strict, no null padding: a row shorter than the header is an error, and the row reader rejects it.
    return (f"read_csv({sql_string(str(path))}, columns={spec}, auto_detect=false, header=false, skip={header_row}, "
            "delim=',', quote='\"', escape='\"', strict_mode=true)")  # fmt: skip


def read_columns(
    con: Session, checked: CheckedPolicy, path: Path | str, encoding: str | None = None,
    source: str | None = None, row_column: str | None = None, in_one_scan: bool = True,
) -> TypedColumns:  # fmt: skip
    """Type a student CSV column-wise in `con` (see the module's description).

    In one scan (the default for a file DuckDB reads itself) each cell is typed by its tidy form
    alone, and a row with any other cell is not ok: the caller stores the rows, then types those
    again with :func:`retype_rows`; the checks of the whole file are the caller's to make, by
    reading :attr:`TypedColumns.records` before trusting a row (BulkRun makes them while DuckDB
    plans the query). Otherwise (not `in_one_scan`, or `source`) one pass over the
    file first finds every column's cells that are not tidy, typed by Python, and the file is
    stored (numbered by rowid) before it is typed. `source` replaces DuckDB's CSV reader (a view
    another engine made); `row_column`, a column of it numbering the rows as a spreadsheet does,
    is kept as ``row``."""
    path = Path(path)
    if path.suffix.lower() != ".csv":
        raise ColumnarUnavailable("按列读取只用于 CSV 或 Parquet 文件")
    lines = _require_plain_csv(path, encoding)  # the whole file's checks: here, or in one scan the caller's
    counted = lines() if source is not None or not in_one_scan else None
    if encoding is None and source is None:
        # DuckDB's reader refuses any byte that is not UTF-8 (then the row reader takes the file and
        # finds the encoding itself): no need to decode the whole file here first to learn it.
        with path.open("rb") as handle:
            encoding = "utf-8-sig" if handle.read(3) == codecs.BOM_UTF8 else "utf-8"
    # The headers, found as the row reader finds them, and the row reader's view of the file.
    table = read_table(path, encoding=encoding, is_header=header_test(checked))
    if source is not None and table.header_row != 1:  # another engine's view reads line 1 as the header
        raise ColumnarUnavailable(f"列标题在第 {table.header_row} 行")
    if any("\n" in h or "\r" in h for h in table.headers):
        raise ColumnarUnavailable("列标题含换行")
    reader = RecordReader(checked, table)
    if reader.columns.missing_required:
        raise ColumnarUnavailable("文件缺少必填列")
    raw_columns = [f"c{i}" for i in range(len(table.headers))]
    if source is not None:
        return _typed(con, checked, reader, raw_columns, source, row_column)
    source = f"(SELECT * FROM {csv_source(path, raw_columns, table.header_row)})"
    if in_one_scan:
        return _typed(con, checked, reader, raw_columns, source, None, in_one_scan=True,
                      row_offset=table.header_row + 1, lines=lines)  # fmt: skip
    assert counted is not None
    records = counted - table.header_row  # every line after the header is one record to the row reader
    try:  # stored once as read: a plain scan into a table keeps the file's order, so rowid numbers the records
        con.store("raw_text", f"SELECT * FROM {source}")
    except Exception as exc:  # DuckDB's error for a file it cannot parse
        raise ColumnarUnavailable(duckdb_refusal(exc)) from None
    require_rows(path, con.query("SELECT count(*) FROM raw_text")[0][0], records)
    numbered = f"(SELECT rowid + {table.header_row + 1} AS _row, * FROM raw_text)"
    typed = _typed(con, checked, reader, raw_columns, numbered, "raw._row")
    typed.stored.insert(0, "raw_text")
    return typed


def retype_rows(con: Session, checked: CheckedPolicy, columns: TypedColumns, rows: str) -> TypedColumns | None:
    """The rows that were not ok in one scan typed again, now with every column's cells that are not
    tidy typed by Python (and put back by CASE or join): `rows` is a query of their (row, cells).
    None when no cell of theirs needs it (each is then not ok for another reason)."""
    cells = ", ".join(f"cells[{k + 1}] AS {c}" for k, c in enumerate(columns.raw_columns))
    source = f"(SELECT row AS _row, {cells} FROM ({rows}))"
    typed = _typed(con, checked, columns.reader, columns.raw_columns, source, "raw._row", keys_later=True)
    return typed if typed.retyped else None


def _typed(
    con: Session, checked: CheckedPolicy, reader: RecordReader, raw_columns: list[str], source: str,
    row_column: str | None, in_one_scan: bool = False, row_offset: int | None = None,
    lines: Callable[[], int] | None = None,
    keys_later: bool = False,
) -> TypedColumns:  # fmt: skip
    """The typed query over `source` (cells c0, c1 …, and `row_column`). `in_one_scan`: each cell
    typed by its tidy form alone, nothing else (a row with another cell is not ok), keys left for
    the caller; otherwise a first pass finds the cells that are not tidy, and the duplicates are
    found here unless `keys_later`."""
    con.view("raw_file", f"SELECT * FROM {source}")
    table = reader.table
    # With duplicate headers the row reader keeps the last cell of that header (dict order).
    column_of = {header: raw_columns[i] for i, header in enumerate(table.headers)}
    # A row whose every cell is blank is skipped, as the row reader skips it.
    # (Cheap for the usual row: its first cell settles it.)
    first = raw_columns[0] if raw_columns else "NULL"
    blank_row = (f"CASE WHEN {_first_not_space(first)} THEN FALSE "
                 f"ELSE trim(concat({', '.join(raw_columns) or 'NULL'}), {_SPACE}) = '' END")  # fmt: skip
    plans = []  # (field index, field, column, tidy test, value of a tidy cell, whether it is valid)
    field_column: dict[str, str] = {}
    constants = []
    for i, (fid, info) in enumerate(checked.fields.items()):
        if info.field.compute is not None:
            continue
        field_column[fid] = f"f{i}"
        header = reader.columns.by_field.get(fid)
        if header is None:  # the file has no such column: the value the policy declares for that (`absent:`)
            constants.append(f"{sql_value(absent_value(info, table.file), info.type.kind)} AS f{i}")
            continue
        column = f"raw.{column_of[header]}"
        plans.append((i, info, column, *_tidy(info, column, f"raw.n{i}", f"raw.d{i}", f"raw.b{i}")))
    found: list[list[str] | None] = [None] * len(plans)  # each column's cells that are not tidy
    if not in_one_scan:  # one pass over the file for every column's cells that are not tidy
        lists = [f"list(DISTINCT {column}) FILTER (WHERE {column} IS NOT NULL AND NOT ({tidy}))"
                 for _, _, column, tidy, _, _ in plans]  # fmt: skip
        try:
            answer: Any = con.query(f"SELECT {', '.join(lists) or 'NULL'} FROM raw_file AS raw")[0]
        except Exception as exc:  # the engine's own error for a file it cannot parse (each engine has its kind)
            raise ColumnarUnavailable(duckdb_refusal(exc)) from None
        found = [cells or [] for cells in answer[: len(plans)]]  # (an aggregate over no cells is NULL)

    extra = [f"{row_column} AS row"] if row_column else []
    selects, joins, oks, tidies, keys = list(constants), [], [], [], []
    derived: list[str] = []  # computed from `tidies`, in a projection of their own
    bad: list[str] = []  # conditions on the typed row (outside) that make it not ok
    # A grade word naming a stage (初二, 八年级) may contradict the row's 学段: the row reader judges
    # those rows (grade-stage-mismatch). Plain digits, the tidy cells, name none.
    grade_field = checked.role_field("grade") if checked.role_field("stage") else None
    naming_stage: list[str] = []
    id_birth: dict[str, str] = {}  # ID field → SQL of the birth date in its typed value
    for (i, info, column, tidy, converted, valid), distinct in zip(plans, found, strict=True):
        if info.field.id == grade_field:
            words = [c for c in distinct or [] if (written := read_grade(c)) is not None and written[1]]
            cell = column.removeprefix("raw.")  # the cell as the outer query sees it
            naming_stage += [f"{cell} IN ({', '.join(sql_string(c) for c in words)})"] if words else []
        if distinct is not None or not exact_values(info.type):  # (exact words need no test of their own)
            tidies.append(f"{tidy} AS t{i}")  # computed once per row, read by value, ok and key
        plan = (f"raw.t{i}" if tidy != "FALSE" else "FALSE", converted, valid)
        value, ok, key = _type_column(con, info, column, plan, distinct, f"m{i}", joins)
        selects.append(f"{value} AS f{i}")
        if info.field.format == "resident_id":
            # Its digits and birth date computed once a row (the date is read by the check, the
            # birth-date column's blank, its agreement and its range): a tidy cell's are those of
            # the cell itself; any other's (typed by Python) those of its typed value.
            tidies += [f"{_id_number(column)} AS n{i}", f"{_id_digits(column)} AS d{i}"]
            derived.append(f"{_digits_birth(f'raw.d{i}')} AS b{i}")
            selects.append(f"CASE WHEN {plan[0]} THEN raw.b{i} END AS tb{i}")
            id_birth[info.field.id] = f"coalesce(tb{i}, {_id_birth(f'f{i}')})"
        if distinct is None and exact_values(info.type):
            # By its exact words: ok when typed (a word's value is never NULL), or blank and allowed to be.
            # Tested on the typed value, outside: a second CASE over the words costs as much as the first.
            cell = column.removeprefix("raw.")
            bad.append(f"NOT ({cell} IS NOT NULL AND f{i} IS NOT NULL)" if info.field.required
                       else f"NOT ({cell} IS NULL OR f{i} IS NOT NULL)")  # fmt: skip
        oks.append(ok)
        if info.field.unique:
            keys.append(key)
    key_columns = [f"k{j}" for j in range(len(keys))]
    cells = (f"SELECT {', '.join(selects)}, {' AND '.join(oks) or 'TRUE'} AS ok, ({blank_row}) AS blank"
             f"{''.join(f', {k} AS k{j}' for j, k in enumerate(keys))}, {', '.join([*raw_columns, *extra])} "
             f"FROM (SELECT *{''.join(', ' + d for d in derived)} FROM "
             f"(SELECT *{''.join(', ' + t for t in tidies)} FROM raw_file AS raw) AS raw) AS raw "
             f"{' '.join(joins)}")  # fmt: skip
    # Duplicates: a pass of their own, here; or for the caller to find once the rows are stored
    # (in one scan: a join here would reorder them).
    later = in_one_scan or keys_later
    duplicates = [] if later else _duplicates(con, cells, len(keys))
    filled = _fill_from_id(checked, field_column, id_birth)
    bad += duplicates + _birth_conflicts(checked, field_column, id_birth) + naming_stage + _birth_range(reader, filled)
    facts = [filled.get(column, column) + f" AS {column}" for column in field_column.values()]
    ok = f"coalesce(ok AND NOT blank AND NOT ({' OR '.join(bad) or 'FALSE'}), FALSE) AS ok"
    last = [*(["row"] if extra else []), *(key_columns if later else [])]
    typed = f"SELECT {', '.join([*facts, 'blank', ok, *raw_columns, *last])} FROM ({cells})"
    stored = [] if later else [f"dup{j}" for j in range(len(keys))]
    retyped = any(distinct for distinct in found)
    return TypedColumns(reader, typed, field_column, raw_columns, stored, row_offset, key_columns if later else [],
                        lines, table.header_row, retyped)  # fmt: skip


def _require_plain_csv(path: Path, encoding: str | None) -> Callable[[], int]:
    """Refuse what DuckDB would read differently from the row reader. Returns how to count the
    file's lines (the row reader takes each line for one record: a cell spanning lines is an error
    there): the encoding, and bytes that are not UTF-8 at its start, are refused here; the checks of
    the whole file (~0.15 s a million rows) are made by that count, which raises their refusal.

    A blank line, which DuckDB skips and the row reader counts, is caught by comparing these lines
    with the rows DuckDB reads (:func:`require_rows` then says why). That comparison can only be
    fooled by a line break DuckDB sees and this count does not, a lone CR: so the file's line ends
    must be all LF or all CRLF. Each test is a one-byte count at C speed (a two-byte search costs
    ~0.25 s per million lines), but for the CRLF pairs of a file that has CRs."""
    if encoding is not None and encoding.lower().replace("_", "-") not in ("utf-8", "utf8", "utf-8-sig"):
        raise ColumnarUnavailable(f"按列读取只支持 UTF-8，此文件指定为 {encoding}")
    with path.open("rb") as handle:
        head = handle.read(1 << 16)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:
            raise ColumnarUnavailable(_not_utf8(head)) from None
    return partial(_plain_lines, path)


def _plain_lines(path: Path) -> int:
    """The whole-file part of :func:`_require_plain_csv`: the file's lines, or ColumnarUnavailable."""
    with path.open("rb") as handle:
        if path.stat().st_size == 0:
            return 0
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            end = len(data)
            while end and data[end - 1] in b"\r\n":  # blank lines at the end: read alike (none)
                end -= 1
            if _spaced_quote(data, end):
                raise ColumnarUnavailable("有单元格在引号外另有空格")
            lines = _count(data, end, b"\n") + (end > 0)
            if data.find(b"\r", 0, end) >= 0:
                carriage_returns = _count(data, end, b"\r")
                if not carriage_returns == _count(data, end, b"\r\n") == lines - 1:
                    raise ColumnarUnavailable(_line_ends_refusal(lines))
    return lines


def _line_ends_refusal(lines: int) -> str:
    """Why the line ends keep the file from DuckDB, said as what the file is: lines ended by a lone
    CR (old Mac files), or a mix. (Another encoding, UTF-16 say, is refused before, by its head.)"""
    if lines == 1:
        return "文件的行以单独的 CR 结尾（旧式 Mac 格式），按列读取只支持以 LF 或 CR LF 结尾的行"
    return "文件的换行符不一致（有的行以 CR LF 结尾，有的不是）"


def _not_utf8(head: bytes) -> str:
    """The note for a file that is not UTF-8, naming UTF-16 (Excel's 「Unicode 文本」) when its BOM says so."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "文件是 UTF-16 编码，按列读取只支持 UTF-8"
    return "文件不是 UTF-8 编码，按列读取只支持 UTF-8"


# DuckDB's CSV errors are English; the note says the gist in Chinese, with the file's line when given.
_DUCKDB_LINE = re.compile(r"CSV Error on Line: (\d+)")
_DUCKDB_COLUMNS = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")
_DUCKDB_KINDS = (("unterminated quote", "引号没有配对"), ("Invalid unicode", "有不是 UTF-8 的字节"))


def duckdb_refusal(exc: Exception) -> str:
    """DuckDB's refusal of a file in Chinese: what is wrong and, when DuckDB names it, the line
    (DuckDB counts the file's lines from 1, as the row reader does)."""
    text = str(exc)
    line = _DUCKDB_LINE.search(text)
    columns = _DUCKDB_COLUMNS.search(text)
    if columns:
        what = f"单元格数与列标题不同（应为 {columns[1]} 个，实际 {columns[2]} 个）"
    else:
        what = next((words for key, words in _DUCKDB_KINDS if key.lower() in text.lower()), "格式不合 DuckDB 的要求")
    return f"DuckDB 无法按列读取：{f'第 {line[1]} 行' if line else '文件'}{what}"


def _count(data: mmap.mmap, end: int, needle: bytes) -> int:
    """How often `needle` occurs in data[:end]. An mmap has no count(): 4 MB slices, each counted at
    C speed (a slice ends on a needle's first byte only if the needle is one byte long)."""
    chunk = 1 << 22
    if len(needle) == 1:
        return sum(data[at : min(at + chunk, end)].count(needle) for at in range(0, end, chunk))
    overlap = len(needle) - 1  # a needle across two slices is counted in the slice where it ends
    return sum(data[max(at - overlap, 0) : min(at + chunk, end)].count(needle) for at in range(0, end, chunk))


def require_rows(path: Path, read: int, expected: int) -> None:
    """Every line after the header is one record to the row reader, and DuckDB may silently read
    fewer (2.0: none, after `skip` past a title line of fewer cells, in strict mode): the file is
    refused, saying why (for the note on stderr), when DuckDB read another number of rows."""
    if read != expected:
        raise ColumnarUnavailable(_rows_differ(path, read, expected))


def _rows_differ(path: Path, read: int, expected: int) -> str:
    """Why DuckDB read another number of rows than the file has lines."""
    with path.open("rb") as handle:
        data = handle.read()
    ends = data.rstrip(b"\r\n")
    if b"\n\n" in ends or b"\n\r\n" in ends:
        return "文件中有空行"
    return f"DuckDB 按列只读到 {read} 行，而列标题之下有 {expected} 行"


# A space before a cell's opening quote (`, "脱贫户"`) or after its closing one (`"脱贫户" ,`). By RFC 4180
# the quote is then no CSV quoting and the row reader keeps the cell as written (` "脱贫户"`, not an
# option: the row is rejected); DuckDB drops the spaces and the quotes, and would accept it.
def _spaced_quote(data: mmap.mmap, end: int) -> bool:
    """Whether the file (up to `end`) may have a quote DuckDB reads otherwise than the row reader.
    A match inside a quoted cell only costs the columnar reading, never a wrong cell. Each `␠"` and
    `"␠` is looked at where find() stops (a regular expression over the file costs seconds)."""
    if data.find(b'"', 0, end) < 0:  # the usual file has no quote at all: one scan (memchr)
        return False
    at = data.find(b' "', 0, end)
    while at >= 0:  # spaces, then a quote: at the start of a cell?
        before = at
        while before > 0 and data[before - 1] == 0x20:
            before -= 1
        if before == 0 or data[before - 1] in b",\r\n":
            return True
        at = data.find(b' "', at + 2, end)
    at = data.find(b'" ', 0, end)
    while at >= 0:  # a quote, then spaces: at the end of a cell?
        after = at + 1
        while after < end and data[after] == 0x20:
            after += 1
        if after == end or data[after] in b",\r\n":
            return True
        at = data.find(b'" ', at + 2, end)
    return False


def _type_column(
    con: Session, info: FieldInfo, column: str, plan: tuple[str, str, str], distinct: list[str] | None,
    mapping: str, joins: list[str],
) -> tuple[str, str, str]:  # fmt: skip
    """(value, ok, unique key) as SQL over `column` (text), for one field. `plan` is (the column
    holding whether the cell is tidy, the value of a tidy cell, whether a tidy cell is also valid);
    `distinct` the cells that are not tidy, typed here in Python, or None: a column typed by its
    exact words alone (a yes/no or options column: the value of a tidy cell is never NULL), where any
    other cell is not ok."""
    kind = info.type.kind
    is_tidy, converted, valid = plan
    blank_ok = "FALSE" if info.field.required else "TRUE"
    blank = sql_value(info.blank, kind)
    if distinct is None and exact_values(info.type):  # whether ok: tested on the value (see _typed)
        return f"CASE WHEN {column} IS NULL THEN {blank} ELSE {converted} END", "TRUE", column
    if distinct is None:  # a cell that is not tidy is not ok (its value and key are NULL)

        def tidy_only(blank_value: str, tidy_value: str, otherwise: str = "") -> str:
            tidy = f"WHEN {is_tidy} THEN {tidy_value} " if is_tidy != "FALSE" else ""
            return f"CASE WHEN {column} IS NULL THEN {blank_value} {tidy}{otherwise}END"

        return tidy_only(blank, converted), tidy_only(blank_ok, valid, "ELSE FALSE "), tidy_only("NULL", column)
    if not distinct:
        value = f"CASE WHEN {column} IS NULL THEN {blank} ELSE {converted} END"
        return value, f"CASE WHEN {column} IS NULL THEN {blank_ok} ELSE {valid} END", column
    rows = [(cell, *_convert(info, cell)) for cell in distinct]
    # Every cell of the column is blank, tidy or one of `rows`: when all of these are valid, only a
    # blank can make the column not ok (one test a row instead of a second CASE).
    all_valid = valid == "TRUE" and all(r[2] for r in rows)
    tidy_branch = "" if is_tidy == "FALSE" else f"WHEN {is_tidy} THEN "  # no tidy form (bool, enum)
    if len(rows) <= SMALL_MAPPING:  # a CASE over a few values beats a join

        def case(position: int, kind: str, blank_value: str, tidy_value: str) -> str:
            whens = " ".join(f"WHEN {sql_string(r[0])} THEN {sql_value(r[position], kind)}" for r in rows)
            tidy = f"{tidy_branch}{tidy_value} " if tidy_branch else ""
            return f"CASE WHEN {column} IS NULL THEN {blank_value} {tidy}ELSE (CASE {column} {whens} END) END"

        ok = f"({column} IS NOT NULL OR {blank_ok})" if all_valid else case(2, "bool", blank_ok, valid)
        return case(1, kind, blank, converted), ok, case(3, "text", "NULL", column)
    con.rows(mapping, [("raw", "VARCHAR"), ("val", SQL_TYPES[kind]), ("ok", "BOOLEAN"), ("key", "VARCHAR")], rows)
    joins.append(f"LEFT JOIN {mapping} ON {mapping}.raw = {column}")

    def joined(blank_value: str, tidy_value: str, mapped: str) -> str:
        tidy = f"{tidy_branch}{tidy_value} " if tidy_branch else ""
        return f"CASE WHEN {column} IS NULL THEN {blank_value} {tidy}ELSE {mapping}.{mapped} END"

    ok = f"({column} IS NOT NULL OR {blank_ok})" if all_valid else joined(blank_ok, valid, "ok")
    return joined(blank, converted, "val"), ok, joined("NULL", column, "key")


def _tidy(info: FieldInfo, column: str, number: str, digits17: str, birth: str) -> tuple[str, str, str]:
    """(the cell is as a tidy file has it, its value, whether it is valid): cells SQL converts
    exactly as Python would. A tidy ID is 18 characters of the right kind; whether its date and
    check digit are right is the third part (a wrong one leaves the row to the row reader).
    `number`, `digits17`, `birth`: columns holding :func:`_id_number`, :func:`_id_digits` and
    :func:`_digits_birth` of the cell (read only for an ID field)."""
    kind = info.type.kind
    low, high = info.field.minimum, info.field.maximum
    if kind == "text" and info.field.format == "resident_id":
        # The digits as numbers (columns computed once a row), each digit by integer arithmetic: DuckDB's
        # substr counts characters from the start of the text, several times dearer than a division.
        digits = " + ".join(f"(({digits17} // {10 ** (16 - k)}) % 10) * {w}" for k, w in enumerate(idcard.WEIGHTS))
        # GB 11643's check character is CHECK_CHARS[sum % 11] (idcard), i.e. the value (12 - sum % 11) % 11
        # (checked below), X standing for 10; the 18th character's value is the number's last digit, or 10.
        valid = f"({birth} IS NOT NULL AND (12 - ({digits}) % 11) % 11 = coalesce({number} % 10, 10))"
        return f"regexp_matches({column}, '^(?:[0-9]{{17}}[0-9X])$')", column, valid
    if kind == "text" and info.field.known is not None:
        # Read as written, an alias as the value it stands for (values.py: known.resolve); whether the
        # value is a listed one is the policy's question (ir.RequireKnown), not the reader's.
        aliases = sorted(info.field.known.aliases.items())
        resolved = " ".join(f"WHEN {sql_string(a)} THEN {sql_string(v)}" for a, v in aliases)
        return _unpadded(column), f"(CASE {column} {resolved} ELSE {column} END)" if aliases else column, "TRUE"
    if kind == "text":
        return _unpadded(column), column, "TRUE"
    if kind == "date":
        value = f"TRY_CAST({column} AS DATE)"
        shape = f"regexp_matches({column}, '^(?:[1-9][0-9]{{3}}-[0-9]{{2}}-[0-9]{{2}})$')"
        return f"{shape} AND {value} IS NOT NULL", value, "TRUE"
    if kind == "int":
        value = f"TRY_CAST({column} AS BIGINT)"
        bounds = "".join([f" AND {value} >= {low}" if low is not None else "",
                          f" AND {value} <= {high}" if high is not None else ""])  # fmt: skip
        return f"regexp_matches({column}, '^(?:[0-9]{{1,15}})$'){bounds}", value, "TRUE"
    if kind in ("money", "decimal"):
        value = f"TRY_CAST({column} AS {DECIMAL_SQL})"
        bounds = "".join([f" AND {value} >= {sql_value(low, kind)}" if low is not None else "",
                          f" AND {value} <= {sql_value(high, kind)}" if high is not None else ""])  # fmt: skip
        places = 2 if kind == "money" else DECIMAL_SCALE  # money is whole fen (values.py); finer → row reader
        return f"regexp_matches({column}, '^(?:[0-9]{{1,20}}(\\.[0-9]{{1,{places}}})?)$'){bounds}", value, "TRUE"
    exact = exact_values(info.type)
    if exact:  # bool, enum: a value's exact words (是, an option's label or id); others through Python
        # Labels first: a school's file has them, and a CASE compares the words in order.
        labels = {v.label for v in info.type.enum.values} if info.type.enum is not None else set()
        words = sorted(exact, key=lambda word: word not in labels)
        listed = ", ".join(sql_string(word) for word in words)
        value = " ".join(f"WHEN {sql_string(word)} THEN {sql_value(exact[word], kind)}" for word in words)
        return f"{column} IN ({listed})", f"(CASE {column} {value} END)", "TRUE"
    return "FALSE", "NULL", "TRUE"


def _convert(info: FieldInfo, cell: str) -> tuple[Any, bool, str | None]:
    """(value, ok, unique key) of one distinct cell, by the row reader's own converters."""
    exact = exact_values(info.type)
    blank = is_blank(cell)
    if info.field.format == "resident_id":
        key = None if blank else idcard.normalise(cell)
    else:
        key = None if blank else cell.strip()
    if exact is not None and cell in exact:
        return exact[cell], True, key
    if blank:
        return info.blank, not info.field.required, key
    value, problem = value_parser(info.type, info.field)(cell)
    if problem:
        return None, False, key
    if isinstance(value, Decimal) and not exact_in_sql(value):
        return None, False, key  # the row reader takes this row: SQL would round it
    return value, True, key


def _duplicates(con: Session, cells: str, count: int) -> list[str]:
    """Conditions marking rows that may share a unique field's value with another row. Keys are
    compared by a 64-bit hash (grouping a million integers is far cheaper than a million strings);
    a collision only sends two rows to the row reader, which finds duplicates exactly."""
    out = []
    for j in range(count):
        con.store(f"dup{j}", f"SELECT hash(k{j}) AS key FROM ({cells}) WHERE k{j} IS NOT NULL AND NOT blank "
                  f"GROUP BY hash(k{j}) HAVING count(*) > 1")  # fmt: skip
        out.append(f"(k{j} IS NOT NULL AND hash(k{j}) IN (SELECT key FROM dup{j}))")
    return out


def _birth_conflicts(checked: CheckedPolicy, field_column: dict[str, str], id_birth: dict[str, str]) -> list[str]:
    """Rows whose birth date differs from their ID's (`id_birth`: ID field → SQL of that date)."""
    out = []
    for fid, info in checked.fields.items():
        source = info.field.from_id
        if source and fid in field_column and source in id_birth:
            given, number = field_column[fid], field_column[source]
            out.append(f"({given} IS NOT NULL AND {number} IS NOT NULL AND {given} <> {id_birth[source]})")
    return out


def _fill_from_id(checked: CheckedPolicy, field_column: dict[str, str], id_birth: dict[str, str]) -> dict[str, str]:
    """Date columns filled from the ID when blank (as :func:`records.fill_from_id` does): column → SQL."""
    filled = {}
    for fid, info in checked.fields.items():
        source = info.field.from_id
        if source and fid in field_column and source in id_birth:
            column = field_column[fid]
            filled[column] = f"coalesce({column}, {id_birth[source]})"
    return filled


def _birth_range(reader: RecordReader, filled: dict[str, str]) -> list[str]:
    """Birth dates (filled from the ID when blank) outside the row reader's range, for it to reject
    (birth-date-range): before 1900 or after the day it reads the file."""
    today = sql_value(reader.today, "date")
    earliest = sql_value(EARLIEST_BIRTH, "date")
    return [f"({born} IS NOT NULL AND NOT ({born} BETWEEN {earliest} AND {today}))" for born in filled.values()]


assert all(idcard.CHECK_CHARS[k] == ("X" if (12 - k) % 11 == 10 else str((12 - k) % 11)) for k in range(11))


def _id_number(column: str) -> str:
    """SQL: an ID cell as a number, read only for a tidy cell (18 digits, or 17 and X: then NULL).
    (DuckDB's cast takes other forms too, ' 12', '+12', '1_000': never a tidy cell.)"""
    return f"TRY_CAST({column} AS BIGINT)"


def _id_digits(column: str) -> str:
    """SQL: the first 17 characters of an ID cell as a number (NULL when they are not digits); cut
    off as text only when the 18th is not a digit."""
    return f"coalesce({_id_number(column)} // 10, TRY_CAST(left({column}, 17) AS BIGINT))"


def _digits_birth(digits17: str) -> str:
    """SQL: the birth date in an ID's first 17 digits (:func:`_id_digits`), YYYYMMDD from the 7th, or
    NULL when it is no date (year 0, 2月30日 …), as idcard.birth_date: by arithmetic, for DuckDB's
    substr is dear. A day past its month's end runs into the next month, so its day differs."""
    year, month, day = (f"(({digits17} // {10**k}) % {10**n})" for k, n in ((7, 4), (5, 2), (3, 2)))
    date = f"make_date({year}, {month}, 1) + CAST({day} - 1 AS INTEGER)"
    in_range = f"{year} >= 1 AND {month} BETWEEN 1 AND 12 AND {day} BETWEEN 1 AND 31"
    # Nested: make_date raises on month 13, and a THEN is evaluated only on the rows its WHEN selects.
    return f"CASE WHEN {in_range} THEN (CASE WHEN day({date}) = {day} THEN {date} END) END"


def _id_birth(number: str) -> str:
    year, month, day = f"substr({number}, 7, 4)", f"substr({number}, 11, 2)", f"substr({number}, 13, 2)"
    return f"TRY_CAST({year} || '-' || {month} || '-' || {day} AS DATE)"
