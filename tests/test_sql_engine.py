"""The SQL back end on DuckDB: its three-valued meaning, the columnar reader, and byte-identical output.

The differential tests write one generated file with the mess schools send (other spellings, bad
IDs, duplicates, contradictions, stray spaces, rows of nothing) and hold the DuckDB engine to the
Python engine's JSONL, byte for byte, and to its ledger.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

import engine
from engine.backends.python.evaluator import Evaluator
from engine.backends.sql.compile import SqlWriter, Unsupported
from engine.backends.sql.session import DuckSession
from engine.check import ir
from engine.check.idcard import check_digit
from engine.check.types import BOOL, DATE, INT, MONEY
from engine.files.columns import ColumnarUnavailable, read_columns
from engine.files.readers import read_table
from engine.files.records import RecordReader, header_test
from engine.files.report import jsonl_line
from engine.policy.model import Period
from engine.tools.bulk import BulkRun
from engine.tools.ledger import Ledger
from examples.generate import HEADERS, Generator
from tests.conftest import jsonl_rows

ROOT = Path(__file__).resolve().parent.parent
VERSIONS = ["2021", "2023", "2024", "2024-autumn"]


# -- the meaning of unknown -------------------------------------------------------------------


def _sql(checked: engine.CheckedPolicy, e: ir.Expr) -> object:
    """Evaluate one expression in DuckDB over a row where f_blank is NULL and f_two is 2."""
    writer = SqlWriter(checked, {}, {})
    con = duckdb.connect()
    return con.execute(f"SELECT {writer.expr(e)}").fetchone()[0]  # type: ignore[index]


UNKNOWN = ir.Const(MONEY, "空", None)
TRUE, FALSE, MAYBE = ir.Const(BOOL, "是", True), ir.Const(BOOL, "否", False), ir.Const(BOOL, "空", None)


def money(value: int | str) -> ir.Const:
    return ir.Const(MONEY, str(value), Decimal(value))


def age(birth: dt.date, day: dt.date) -> ir.Function:
    return ir.Function(INT, "age", "age", (ir.Const(DATE, "", birth), ir.Const(DATE, "", day)))


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        # min/max with an unknown argument are unknown (DuckDB's least/greatest would give 500).
        (ir.Function(MONEY, "min(空, 500)", "min", (UNKNOWN, money(500))), None),
        (ir.Function(MONEY, "max(空, 500)", "max", (UNKNOWN, money(500))), None),
        (ir.Function(MONEY, "min(800, 500)", "min", (money(800), money(500))), Decimal(500)),
        # if-then-else on an unknown condition is unknown, not the else branch.
        (ir.IfElse(MONEY, "if 空 then 500 else 1000", MAYBE, money(500), money(1000)), None),
        # and: any false → false, else any unknown → unknown; or: any true → true.
        (ir.And(BOOL, "", (MAYBE, FALSE)), False),
        (ir.And(BOOL, "", (MAYBE, TRUE)), None),
        (ir.Or(BOOL, "", (MAYBE, TRUE)), True),
        (ir.Or(BOOL, "", (MAYBE, FALSE)), None),
        (ir.Not(BOOL, "", MAYBE), None),
        # 周岁: born 2005-09-01, on 2021-09-01 the 16th year is not yet complete (counted from the next day).
        (age(dt.date(2005, 9, 1), dt.date(2021, 9, 1)), 15),
        (age(dt.date(2005, 8, 31), dt.date(2021, 9, 1)), 16),
    ],
)
def test_unknown_follows_the_language(checked_2021, expression, expected) -> None:
    assert _sql(checked_2021, expression) == expected


def test_money_stays_decimal(checked_2021) -> None:
    # 312.5 + 0.1 + 0.2 is exactly 312.8 in decimal; a double would give 312.80000000000001.
    total = ir.Arithmetic(MONEY, "", "+", ir.Arithmetic(MONEY, "", "+", money("312.5"), money("0.1")), money("0.2"))
    value = _sql(checked_2021, total)
    assert isinstance(value, Decimal) and value == Decimal("312.8")


def test_division_is_left_to_python(checked_2021) -> None:
    with pytest.raises(Unsupported):
        _sql(checked_2021, ir.Arithmetic(MONEY, "1/3", "/", money(1), money(3)))


# -- hand-computed students ------------------------------------------------------------------------


def _id(birth: str, serial: int) -> str:
    first17 = f"141129{birth.replace('-', '')}{serial:03d}"
    return first17 + check_digit(first17)


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADERS)
        writer.writerows([[row.get(h, "") for h in HEADERS] for row in rows])
    return path


CORE = {"本县户籍": "是", "家庭类型": "脱贫户", "县内学校": "是", "有学籍": "是", "就读方式": "在校"}


def test_hand_computed_students(tmp_path, checked_2021) -> None:
    boarder = _id("2008-05-01", 1)
    day = _id("2012-03-02", 2)
    bad = _id("2012-03-03", 3)
    bad = bad[:17] + ("0" if bad[17] != "0" else "1")  # a wrong check digit
    twin = _id("2013-01-01", 4)
    path = _write(tmp_path / "s.csv", [
        {**CORE, "身份证号": boarder, "姓名": "甲", "学段": "初中", "年级": "初二", "校内住宿": "是"},
        {**CORE, "身份证号": day, "姓名": "乙", "学段": "小学", "年级": "3", "校内住宿": "否"},
        {**CORE, "身份证号": bad, "姓名": "丙", "学段": "小学", "年级": "3"},
        {**CORE, "身份证号": twin, "姓名": "丁", "学段": "小学", "年级": "2"},
        {**CORE, "身份证号": twin, "姓名": "戊", "学段": "小学", "年级": "2"},
    ])  # fmt: skip
    run = BulkRun(checked_2021, Period.parse("2021-autumn"), path)
    ledger = Ledger(checked_2021)
    lines = [eval_json(line) for line in run.jsonl_lines(ledger)]
    # Row 2: 初中 boarder of a 脱贫户 family → 寄宿生生活费补助 625 (一(二)2(1): 初中 625 元/生·学期);
    # 非寄宿生生活补助 gives way to it (not_with). Row 3: 小学 day pupil → 非寄宿生生活补助 250.
    assert [(a["program"], a["amount"]) for a in lines[0]["awards"]] == [("boarding_subsidy", "625.00")]
    assert [(a["program"], a["amount"]) for a in lines[1]["awards"]] == [("day_subsidy", "250.00")]
    # Row 4: bad check digit; rows 5 and 6 share an ID: all three rejected, nothing evaluated.
    assert [line["status"] for line in lines] == ["evaluated", "evaluated", "rejected", "rejected", "rejected"]
    assert [line["row"] for line in lines] == [2, 3, 4, 5, 6]
    assert "第 6 行" in lines[3]["errors"][0]["message"] and "第 5 行" in lines[4]["errors"][0]["message"]
    assert (ledger.rows, ledger.evaluated, ledger.rejected) == (5, 2, 3)


def eval_json(line: str) -> dict:
    import json

    return json.loads(line)


def test_files_duckdb_cannot_number_like_a_spreadsheet_go_row_by_row(tmp_path, checked_2021) -> None:
    path = _write(tmp_path / "s.csv", [{**CORE, "身份证号": _id("2012-03-02", 2), "姓名": "乙"},
                                       {**CORE, "身份证号": _id("2012-03-02", 3), "姓名": "丙"}])  # fmt: skip
    header, first, second = path.read_text(encoding="utf-8").splitlines()
    path.write_text(f"{header}\n{first}\n\n{second}\n", encoding="utf-8")  # DuckDB skips the blank line
    with pytest.raises(ColumnarUnavailable, match="空行"):  # found once DuckDB has read the file
        BulkRun(checked_2021, Period.parse("2021-autumn"), path)


def test_outcomes_match_the_row_reader(tmp_path, checked_2021) -> None:
    """The Result path (CSV, XLSX, ledgers) agrees with the per-record engine, facts included."""
    path = write_messy(tmp_path / "students.csv", 2000, seed=11)
    period = Period.parse("2021-autumn")
    evaluator = Evaluator(checked_2021, period, reasons=False)
    expected = list(evaluator.evaluate_all(RecordReader(checked_2021, read_table(path))))
    got = list(BulkRun(checked_2021, period, path, values=True).outcomes())
    assert [jsonl_line(o) for o in got] == [jsonl_line(o) for o in expected]
    assert [getattr(o, "values", None) for o in got] == [getattr(o, "values", None) for o in expected]


# -- differential: the DuckDB engine against the Python engine, byte for byte ---------------------


def messy_rows(n: int, seed: int, blanks: bool) -> list[list[str]]:
    """Generated students with what real files hold: other spellings of the same value, and a share
    of bad rows (wrong check digit, duplicate ID, birth date against the ID, unknown option,
    out-of-range grade, impossible date), and — with `blanks` — blank facts rules need."""
    rng = random.Random(seed)
    out: list[list[str]] = []
    for s in Generator(seed).students(n):
        row = {h: str(s.get(h, "")) for h in HEADERS}
        roll = rng.random()
        if roll < 0.02:
            row["本县户籍"] = rng.choice(["Y", "1", " 是 ", "true", "√"])
        elif roll < 0.04 and row["年级"]:
            grade = int(row["年级"])
            row["年级"] = rng.choice(["", "初", "高"]) + "一二三四五六"[grade - 1 if grade <= 6 else 0]
        elif roll < 0.05:
            row["出生日期"] = row["出生日期"].replace("-", "/")
        elif roll < 0.06:
            row["出生日期"] = ""  # read from the ID
        elif roll < 0.07:
            row["学段"] = {"普通高中": "高中", "学前": "幼儿园"}.get(row["学段"], row["学段"])
            row["身份证号"] = row["身份证号"].translate(str.maketrans("0123456789", "０１２３４５６７８９"))
        elif roll < 0.075:
            number = row["身份证号"]
            row["身份证号"] = number[:17] + ("0" if number[17] != "0" else "1")  # bad check digit
        elif roll < 0.08 and out:
            row["身份证号"] = out[rng.randrange(len(out))][0]  # a duplicate ID
        elif roll < 0.085:
            row["出生日期"] = "2001-01-01"  # disagrees with the ID
        elif roll < 0.09:
            row["学段"] = "初仲"  # not an option
        elif roll < 0.092:
            row["年级"] = "12"
        elif roll < 0.094:
            row["出生日期"] = "2012-02-30"
        elif roll < 0.096:
            row["姓名"] = "  "
        elif roll < 0.097:
            row = dict.fromkeys(HEADERS, "")  # a row of nothing: skipped, as spreadsheets have them
        elif roll < 0.1:
            row["申请贷款金额"] = rng.choice(
                ["1,000", "¥500", "8000元", "6000.005", "-5", "0.005", "11999.995", "1e20", "0"]
            )
        elif blanks and roll < 0.16:
            row[rng.choice(["学段", "就读方式", "年级", "申请贷款金额", "录取方式"])] = ""
        out.append([row[h] for h in HEADERS])
    return out


def write_messy(path: Path, n: int, seed: int = 7, blanks: bool = False) -> Path:
    return write_rows(path, messy_rows(n, seed, blanks))


def write_rows(path: Path, rows: list[list[str]]) -> Path:
    """`rows` under the generator's headers as a UTF-8 CSV at `path`."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADERS)
        writer.writerows(rows)
    return path


def both_engines(
    path: Path, checked: engine.CheckedPolicy, period: Period
) -> tuple[list[str], list[str], Ledger, Ledger]:
    by_record, bulk = Ledger(checked), Ledger(checked)
    evaluator = Evaluator(checked, period, reasons=False)
    python = [jsonl_line(o) for o in by_record.observe(evaluator.evaluate_all(RecordReader(checked, read_table(path))))]
    duck = list(BulkRun(checked, period, path).jsonl_lines(bulk))
    return python, duck, by_record, bulk


def _periods(checked: engine.CheckedPolicy) -> list[Period]:
    """One autumn and one spring semester the version is in force for."""
    found: dict[str, Period] = {}
    for year in range(2021, 2027):
        for season in ("autumn", "spring"):
            period = Period.parse(f"{year}-{season}")
            if checked.manifest.covers(period):
                found.setdefault(season, period)
    return list(found.values())


def assert_same(python: list[str], duck: list[str], by_record: Ledger, bulk: Ledger) -> None:
    assert len(python) == len(duck)
    differing = [(a, b) for a, b in zip(python, duck, strict=True) if a != b]
    assert not differing, differing[:3]
    assert by_record.summary_line() == bulk.summary_line()
    assert by_record.table() == bulk.table()


@pytest.mark.parametrize("version", VERSIONS)
def test_duckdb_and_python_give_the_same_bytes_every_version_both_seasons(tmp_path, version) -> None:
    checked = engine.load(ROOT / "policies" / version)
    # Blank facts included: SQL's NULL logic and the three-valued meaning must agree byte for byte.
    path = write_messy(tmp_path / "students.csv", 3000, seed=sum(map(ord, version)), blanks=True)
    periods = _periods(checked)
    assert len(periods) == 2
    for period in periods:
        python, duck, by_record, bulk = both_engines(path, checked, period)
        assert_same(python, duck, by_record, bulk)
        assert any('"status": "rejected"' in line for line in duck)  # the mess did reach the engines


@pytest.mark.slow
@pytest.mark.parametrize("version", VERSIONS)
def test_duckdb_and_python_agree_on_100000_students_every_version_both_seasons(tmp_path, version) -> None:
    """Issue 14's differential test at full size: blank cells, bad IDs, duplicates and contradictions."""
    checked = engine.load(ROOT / "policies" / version)
    path = write_messy(tmp_path / "students.csv", 100_000, seed=2021 + sum(map(ord, version)), blanks=True)
    for period in _periods(checked):
        python, duck, by_record, bulk = both_engines(path, checked, period)
        assert_same(python, duck, by_record, bulk)
        for status in ("evaluated", "problem", "rejected"):  # every kind of row reached both engines
            assert any(f'"status": "{status}"' in line for line in duck)


@pytest.mark.spark
def test_spark_and_python_give_the_same_bytes_on_10000_students(tmp_path, checked_2021) -> None:
    pytest.importorskip("pyspark")
    from engine.tools.spark import SparkRun

    path = write_messy(tmp_path / "students.csv", 10_000, seed=2022, blanks=True)
    period = Period.parse("2021-autumn")
    by_record, bulk = Ledger(checked_2021), Ledger(checked_2021)
    evaluator = Evaluator(checked_2021, period, reasons=False)
    outcomes = evaluator.evaluate_all(RecordReader(checked_2021, read_table(path)))
    python = [jsonl_line(o) for o in by_record.observe(outcomes)]
    spark = list(SparkRun(checked_2021, period, path).jsonl_lines(bulk))
    assert_same(python, spark, by_record, bulk)


# -- the command ---------------------------------------------------------------------------------------


def _zizhu(*arguments: str) -> tuple[int, str, str]:
    from click.testing import CliRunner

    from engine.cli import main

    done = CliRunner().invoke(main, list(arguments))
    return done.exit_code, done.stdout, done.stderr


@pytest.mark.parametrize("command", [["eval", "--format", "jsonl"], ["eval", "--format", "csv"],
                                     ["ledger", "--by", "school", "--format", "csv"]])  # fmt: skip
def test_every_engine_prints_the_same(tmp_path, command) -> None:
    path = write_messy(tmp_path / "students.csv", 1500, seed=9)
    policy = ["--policy", str(ROOT / "policies" / "2021"), "--period", "2021-autumn"]
    python = _zizhu(command[0], str(path), *policy, *command[1:], "--engine", "python")
    duck = _zizhu(command[0], str(path), *policy, *command[1:], "--engine", "duckdb")
    assert python == duck
    assert python[0] == 1  # the mess includes rejected rows: exit code 1


def test_a_file_duckdb_would_misnumber_runs_per_record_and_says_so(tmp_path) -> None:
    path = tmp_path / "s.csv"
    rows = messy_rows(20, seed=1, blanks=False)
    path.write_text(",".join(HEADERS) + "\n" + ",".join(rows[0]) + "\n\n" + ",".join(rows[1]) + "\n", encoding="utf-8")
    policy = ["--policy", str(ROOT / "policies" / "2021"), "--period", "2021-autumn", "--format", "jsonl"]
    _code, out, err = _zizhu("eval", str(path), *policy, "--engine", "duckdb")
    assert "文件中有空行" in err and "逐行计算" in err
    # The blank line is spreadsheet row 3: the second student is row 4.
    rows = [eval_json(line) for line in out.splitlines()]
    assert [row["row"] for row in rows if "row" in row] == [2, 4]


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("申请贷款金额 - 5000", "negative-amount"),  # 1,000 asked → -4000 (a problem), 8000 → 3000
        ("(年级 - 2) * 5000 + 生源地信用助学贷款最高额度[学段] * 0.25", "negative-amount"),  # 年级 1: -5000 + 3000
    ],
)
def test_a_negative_computed_amount_is_the_same_row_problem_on_both_engines(tmp_path, policy_copy, amount, code):
    # A row SQL would call settled by "not awarded" must reach the per-record engine and its wording.
    programs = policy_copy / "programs.yaml"
    loan = "    amount: min(申请贷款金额, 生源地信用助学贷款最高额度[学段])\n"
    text = programs.read_text(encoding="utf-8")
    assert loan in text
    programs.write_text(text.replace(loan, f"    amount: {amount}\n"), encoding="utf-8")
    checked = engine.load(policy_copy)
    path = write_messy(tmp_path / "students.csv", 3000, seed=15)
    python, duck, by_record, bulk = both_engines(path, checked, Period.parse("2021-autumn"))
    assert_same(python, duck, by_record, bulk)
    assert any(f'"code": "{code}"' in line for line in duck)


# -- the Result of a row SQL settled, and the file DuckDB writes ----------------------------------------


def test_settled_result_is_the_result_evaluate_gives(tmp_path, checked_2021) -> None:
    """Evaluator.settled_result (the public builder bulk runs use) against evaluate() on one student."""
    boarder = _id("2008-05-01", 1)
    path = _write(tmp_path / "s.csv", [
        {**CORE, "身份证号": boarder, "姓名": "甲", "学段": "初中", "年级": "初二", "校内住宿": "是"},
    ])  # fmt: skip
    period = Period.parse("2021-autumn")
    evaluator = Evaluator(checked_2021, period, reasons=False)
    [record] = list(RecordReader(checked_2021, read_table(path)))
    # 初中 boarder of a 脱贫户 family → 寄宿生生活费补助 625 (一(二)2(1): 初中 625 元/生·学期), no flag.
    settled = evaluator.settled_result(2, record.values, {"boarding_subsidy": Decimal("625.0000000000")}, set())
    assert jsonl_line(settled) == jsonl_line(evaluator.evaluate(record))
    assert (settled.id_number, settled.name) == (boarder, "甲")
    award = evaluator.award("boarding_subsidy", Decimal(625))
    assert (award.program, award.amount) == ("boarding_subsidy", Decimal(625))
    assert award.label == checked_2021.policy.programs["boarding_subsidy"].label
    check = next(iter(checked_2021.checks))
    assert evaluator.flag(check).check == check


def test_write_jsonl_writes_the_lines_of_the_python_engine(tmp_path, checked_2021) -> None:
    """DuckDB writes the file itself (COPY): the same text as the per-record engine, line for line,
    odd first cells included (a white-space-only row is skipped, a padded ID typed by Python)."""
    path = write_messy(tmp_path / "students.csv", 1500, seed=5, blanks=True)
    with path.open("a", encoding="utf-8") as handle:
        spaced = ["　"] + [""] * (len(HEADERS) - 1)  # only a full-width space: a row of nothing
        padded = [" " + _id("2012-03-02", 7), "乙", *[""] * (len(HEADERS) - 2)]  # an ID with a space before it
        handle.write(",".join(spaced) + "\n" + ",".join(padded) + "\n")
    period = Period.parse("2021-autumn")
    by_record, bulk = Ledger(checked_2021), Ledger(checked_2021)
    evaluator = Evaluator(checked_2021, period, reasons=False)
    outcomes = evaluator.evaluate_all(RecordReader(checked_2021, read_table(path)))
    python = "".join(jsonl_line(o) + "\n" for o in by_record.observe(outcomes))
    output = tmp_path / "结果.jsonl"
    BulkRun(checked_2021, period, path).write_jsonl(str(output), bulk, "{\"first\": 1}")
    first, written = output.read_text(encoding="utf-8").split("\n", 1)
    assert first == '{"first": 1}'
    assert written == python
    assert by_record.summary_line() == bulk.summary_line()
    # The two rows added last are spreadsheet rows 1502 and 1503 (a header and 1,500 rows before them):
    # the spaced one is skipped, the padded ID comes out.
    rows = [eval_json(line)["row"] for line in written.splitlines()]
    assert rows[-1] == 1503 and 1502 not in rows


def test_two_shapes_under_one_key_leave_the_file_to_the_row_reader(tmp_path, checked_2021, monkeypatch) -> None:
    """Clean rows are joined to their line by a hash of their outcome: were two different outcomes
    to share a key, a row would get another's line. Forced here (every key 0): the run refuses."""
    import engine.tools.bulk as bulk_module

    path = write_messy(tmp_path / "students.csv", 300, seed=3, blanks=False)
    monkeypatch.setattr(bulk_module, "SHAPE_KEY", "0")
    with pytest.raises(ColumnarUnavailable):
        BulkRun(checked_2021, Period.parse("2021-autumn"), path)


# -- files both engines must read alike (probe2 findings 8, 9, 10) ------------------------------------


def _python_and_duck(path: Path, checked: engine.CheckedPolicy) -> tuple[list[str], list[str], RecordReader, BulkRun]:
    """JSONL lines of both engines, the row reader found as the command finds it (header search
    included), and the bulk run (whose reader carries the warnings the command prints)."""
    period = Period.parse("2021-autumn")
    by_record, bulk_ledger = Ledger(checked), Ledger(checked)
    reader = RecordReader(checked, read_table(path, is_header=header_test(checked)))
    outcomes = by_record.observe(Evaluator(checked, period, reasons=False).evaluate_all(reader))
    python = [jsonl_line(o) for o in outcomes]
    bulk = BulkRun(checked, period, path)
    duck = list(bulk.jsonl_lines(bulk_ledger))
    assert_same(python, duck, by_record, bulk_ledger)
    return python, duck, reader, bulk


def test_a_title_row_above_the_header_is_read_column_wise_as_the_row_reader_reads_it(tmp_path, checked_2021) -> None:
    path = tmp_path / "title.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["2021年秋季学生名单"] + [""] * (len(HEADERS) - 1))  # line 1: the title
        writer.writerow(HEADERS)  # line 2: the header
        writer.writerows(messy_rows(400, seed=8, blanks=True))
    _python, duck, reader, bulk = _python_and_duck(path, checked_2021)
    # The first student is on line 3 of the file, the row number a spreadsheet shows.
    assert eval_json(duck[0])["row"] == 3
    assert bulk.reader.table.warnings == reader.table.warnings == ["第 2 行是列标题，其上的 1 行（标题）未读取"]


def test_a_title_row_runs_on_duckdb_from_the_command_explicitly_and_under_auto(tmp_path, monkeypatch) -> None:
    import engine.cli

    path = tmp_path / "title.csv"
    rows = messy_rows(30, seed=3, blanks=False)
    title = "2021年秋季学生名单" + "," * (len(HEADERS) - 1)
    path.write_text("\n".join([title, ",".join(HEADERS), *(",".join(r) for r in rows)]) + "\n", encoding="utf-8")
    policy = ["--policy", str(ROOT / "policies" / "2021"), "--period", "2021-autumn", "--format", "jsonl"]
    python = _zizhu("eval", str(path), *policy, "--engine", "python")
    duck = _zizhu("eval", str(path), *policy, "--engine", "duckdb")
    assert "逐行计算" not in duck[2]  # DuckDB read it itself (before: exit 2, every column "missing")
    assert duck == python and python[0] in (0, 1)  # stderr too: the row reader's title-row warning
    assert "第 2 行是列标题，其上的 1 行（标题）未读取" in duck[2]
    # auto takes DuckDB for a file longer than its threshold: lowered here so a small file counts as one.
    monkeypatch.setattr(engine.cli, "AUTO_DUCKDB_ROWS", 10)
    auto = _zizhu("eval", str(path), *policy)
    assert auto == python
    assert len(python[1].splitlines()) == 1 + 30  # the decision record, then every student


def test_crlf_lines_are_read_column_wise_and_a_blank_one_is_still_caught(tmp_path) -> None:
    """Excel writes CRLF: such a file stays on DuckDB; a blank line in it (DuckDB skips it, the
    row reader counts it) still sends it to the per-record engine, with the rows numbered alike."""
    rows = messy_rows(6, seed=2, blanks=False)
    policy = ["--policy", str(ROOT / "policies" / "2021"), "--period", "2021-autumn", "--format", "jsonl"]
    plain, blank = tmp_path / "crlf.csv", tmp_path / "crlf-blank.csv"
    plain.write_bytes("".join(",".join(r) + "\r\n" for r in [HEADERS, *rows]).encode())
    blank.write_bytes("".join(",".join(r) + "\r\n" for r in [HEADERS, *rows[:3], [], *rows[3:]]).encode())
    duck = _zizhu("eval", str(plain), *policy, "--engine", "duckdb")
    assert "逐行计算" not in duck[2]
    assert duck[:2] == _zizhu("eval", str(plain), *policy, "--engine", "python")[:2]
    duck = _zizhu("eval", str(blank), *policy, "--engine", "duckdb")
    assert "文件中有空行" in duck[2] and "逐行计算" in duck[2]
    # The blank line is spreadsheet row 5 (header 1, students 2–4): the fourth student is row 6.
    assert [row["row"] for row in jsonl_rows(duck[1])] == [2, 3, 4, 6, 7, 8]


def test_a_file_duckdb_reads_short_runs_per_record_never_losing_a_row(tmp_path) -> None:
    # A title line added in a text editor (ended by \n) above an Excel export (lines ended by \r\n):
    # DuckDB 2.0 reads no row at all, without an error. Line ends that are not all LF or all CRLF
    # send the file to the per-record engine before DuckDB reads it (and the row count is compared
    # with the file's lines besides: test_a_file_duckdb_would_misnumber_runs_per_record_and_says_so).
    path = tmp_path / "title.csv"
    rows = messy_rows(12, seed=4, blanks=False)
    path.write_bytes(("2021年秋季学生名单\n" + "".join(",".join(r) + "\r\n" for r in [HEADERS, *rows])).encode())
    policy = ["--policy", str(ROOT / "policies" / "2021"), "--period", "2021-autumn", "--format", "jsonl"]
    python = _zizhu("eval", str(path), *policy, "--engine", "python")
    duck = _zizhu("eval", str(path), *policy, "--engine", "duckdb")
    assert duck[:2] == python[:2]
    assert "换行符不一致" in duck[2] and "逐行计算" in duck[2]
    assert len(jsonl_rows(duck[1])) == 12
    assert "第 2 行是列标题，其上的 1 行（标题）未读取" in duck[2]  # the row reader's own warning, printed by it


def test_a_column_declared_absent_warns_alike_on_both_engines(tmp_path, policy_copy) -> None:
    fields = policy_copy / "fields.yaml"
    fields.write_text(
        fields.read_text(encoding="utf-8").replace(
            "fields:\n",
            "fields:\n  - id: meal_days\n    label: 在校就餐天数\n    type: int\n    min: 0\n    absent: 0\n",
            1,
        ),
        encoding="utf-8",
    )
    checks = policy_copy / "checks.yaml"
    checks.write_text(
        checks.read_text(encoding="utf-8").replace(
            "checks:\n",
            "checks:\n  - id: many_meals\n    label: 就餐天数过多\n    category: consistency\n    cite: 一(二)2(2)\n"
            "    text: 测试用核查\n    when:\n      - 在校就餐天数 > 100\n    message: 就餐天数过多\n",
            1,
        ),
        encoding="utf-8",
    )
    checked = engine.load(policy_copy)
    path = write_messy(tmp_path / "students.csv", 200, seed=5)  # no column 在校就餐天数
    # Declared 0 when the column is missing: 0 > 100 is false, so no row is flagged (nor left unknown).
    _python, duck, reader, bulk = _python_and_duck(path, checked)
    assert not any("many_meals" in line for line in duck)
    # The declared 0 is SQL's value too (not a blank, which would leave every row to the per-record path).
    assert bulk.session.query("SELECT count(*) FROM result WHERE clean")[0][0] > 0
    warning = "文件没有「在校就餐天数」列；按政策规定，缺少该列时每人取「0」"
    assert bulk.reader.warnings == reader.warnings == [warning]
    arguments = ["eval", str(path), "--policy", str(policy_copy), "--period", "2021-autumn", "--format", "jsonl"]
    python = _zizhu(*arguments, "--engine", "python")
    duck = _zizhu(*arguments, "--engine", "duckdb")
    assert duck == python and duck[2].count(warning) == 1  # said once, on both engines


@pytest.mark.parametrize(
    ("written", "status", "codes"),
    [
        # RFC 4180: a quote not at the very start of a cell is no quoting: the cell is ` "脱贫户"`,
        # not an option of 家庭类型, and the row is rejected.
        (', "脱贫户",', "rejected", ["bad-value"]),
        (',  "脱贫户",', "rejected", ["bad-value"]),
        # Spaces after a closing quote stay in the cell (`脱贫户 `), which the one converter trims.
        (',"脱贫户" ,', "evaluated", []),
    ],
)
def test_a_space_around_a_quote_is_read_as_written_by_both_engines(tmp_path, checked_2021, written, status, codes):
    path = tmp_path / "quotes.csv"
    plain = {**CORE, "姓名": "张三", "学段": "初中", "年级": "2", "学校": "金罗镇中学"}
    _write(path, [{**plain, "身份证号": _id("2008-05-01", 1)}, {**plain, "身份证号": _id("2008-05-01", 2)}])
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].replace(",脱贫户,", written)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ColumnarUnavailable):  # DuckDB would read 脱贫户: the file goes per record
        _ = read_columns(DuckSession(), checked_2021, path).records  # (the whole file is checked beside the planning)
    policy = ["--policy", str(ROOT / "policies" / "2021"), "--period", "2021-autumn", "--format", "jsonl"]
    python = _zizhu("eval", str(path), *policy, "--engine", "python")
    duck = _zizhu("eval", str(path), *policy, "--engine", "duckdb")
    assert duck[:2] == python[:2]
    assert "引号外另有空格" in duck[2] and "逐行计算" in duck[2]
    first, second = jsonl_rows(python[1])
    assert first["status"] == "evaluated"
    assert second["status"] == status and [e["code"] for e in second["errors"]] == codes


def test_a_quote_inside_a_quoted_cell_keeps_the_file_column_wise(tmp_path, checked_2021) -> None:
    # `"金罗镇 ""一中"""`: a space before a quote, but inside a quoted cell; DuckDB reads it as Python does.
    path = tmp_path / "inner.csv"
    plain = {**CORE, "姓名": "张三", "学段": "初中", "年级": "2", "学校": '金罗镇 "一中"'}
    _write(path, [{**plain, "身份证号": _id("2008-05-01", 1)}])
    assert '"金罗镇 ""一中"""' in path.read_text(encoding="utf-8")
    _python_and_duck(path, checked_2021)  # read column-wise (no ColumnarUnavailable), the same bytes


def test_sql_space_characters_are_every_space_python_knows() -> None:
    """The columnar reader trims (in SQL) exactly the characters Python's str.isspace() trims in the
    per-record reader: none missing above U+3000. (A test, not an import-time assert: it walks every
    code point, 0.7 s that every command would otherwise pay.)"""
    from engine.files.columns import _SPACE_CHARS

    assert all(c.isspace() for c in _SPACE_CHARS)
    assert len(_SPACE_CHARS) == sum(chr(c).isspace() for c in range(0x110000))
