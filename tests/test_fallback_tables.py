"""Tables with a fallback row (`fallback: {school: 其他学校}`): fees by school, one meaning in every
back end (engine/check/tables.py).

The 2021 fee tables (policies/2021/tables.yaml, sample figures) are keyed by 学段 and 学校 (books also
by 年级): the sample school 中阳县第二中学 has its own 普通高中 row — 学费 950, 书本 420/380/320, 住宿
360 — and every other school takes its 学段's 其他学校 row — 普通高中 学费 800, 书本 400/350/300, 住宿
300; 中职 学费 1000, 书本 300/300/200, 住宿 250 (no 中职 school is listed). 国家助学金 is 1500
(一(二)3(1)). Every expected amount below is worked from those figures.
"""

from __future__ import annotations

import csv
import datetime as dt
import pickle
import random
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

import engine
from engine.backends.python.evaluator import Evaluator
from engine.check.tables import OTHER
from engine.cli import main
from engine.files.readers import read_table
from engine.files.records import RecordReader
from engine.files.report import jsonl_line
from engine.policy.model import Period
from engine.runtime.results import Record
from engine.tools import verify as v
from engine.tools.bulk import BulkRun
from engine.tools.ledger import Ledger
from examples.generate import HEADERS, Generator
from tests.conftest import POLICY_2021, ROOT
from tests.test_check import errors_of, plant
from tests.test_sql_engine import write_rows

AUTUMN = Period.parse("2021-autumn")
EXAMPLE_CSV = ROOT / "examples" / "students-2021.csv"
LISTED, UNLISTED = "中阳县第二中学", "中阳县第一中学"
CORE_COUNTY = dict(
    household="lifted_out", hukou_in_county=True, school_in_county=True, has_xueji=True, attendance="in_school"
)


def student(checked, **facts) -> Record:
    values = {fid: info.blank for fid, info in checked.fields.items() if info.field.compute is None}
    values.update(id_number="141129200505071784", name="测试", birth_date=dt.date(2005, 5, 7))
    values.update(CORE_COUNTY)
    values.update(facts)
    return Record(2, values)


def fees(result) -> dict[str, Decimal]:
    return {a.program: a.amount for a in result.awards if a.program != "national_grant"}


# -- the Python back end: fast path, three-valued path, trace flavour -------------------------------


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        # 二中 is listed for 普通高中: its own row. 年级 2, boarding: 950 + 380 + 360.
        (dict(stage="senior", grade=2, school=LISTED, boarding=True),
         {"tuition_waiver": 950, "textbook_waiver": 380, "lodging_waiver": 360}),
        # 一中 is not listed: the 普通高中 其他学校 row. 年级 3, boarding: 800 + 300 + 300.
        (dict(stage="senior", grade=3, school=UNLISTED, boarding=True),
         {"tuition_waiver": 800, "textbook_waiver": 300, "lodging_waiver": 300}),
        # 二中 is listed for 普通高中 only: on 中职 it is "not listed for that 学段". 年级 1: 1000 + 300.
        (dict(stage="vocational", grade=1, school=LISTED),
         {"tuition_waiver": 1000, "textbook_waiver": 300}),
        # A blank 学校 on 中职, where no school is listed: whatever the school, the 其他学校 row.
        # 年级 3, boarding: 1000 + 200 + 250.
        (dict(stage="vocational", grade=3, school=None, boarding=True),
         {"tuition_waiver": 1000, "textbook_waiver": 200, "lodging_waiver": 250}),
    ],
)  # fmt: skip
def test_fees_by_school_with_the_stage_row_for_schools_not_listed(checked_2021, facts, expected):
    record = student(checked_2021, **facts)
    result = Evaluator(checked_2021, AUTUMN).evaluate(record)
    assert fees(result) == {k: Decimal(v) for k, v in expected.items()} and not result.errors
    # The trace flavour explain runs (three-valued only) gives the same amounts.
    explained = engine.Policy.of(checked_2021).explain(record, AUTUMN)
    traced = {e.item: e.amount for e in explained.explanations if e.amount is not None and e.item in expected}
    assert traced == {k: Decimal(v) for k, v in expected.items()}


def test_a_blank_school_where_the_stage_lists_schools_is_a_problem_naming_the_school(checked_2021):
    record = student(checked_2021, stage="senior", grade=2, school=None, boarding=True)
    result = Evaluator(checked_2021, AUTUMN).evaluate(record)
    # 国家助学金 (1500) does not read the school; the three fee waivers cannot be decided.
    assert {a.program: a.amount for a in result.awards} == {"national_grant": Decimal(1500)}
    assert sorted(e.program for e in result.errors) == ["lodging_waiver", "textbook_waiver", "tuition_waiver"]
    assert {(e.code, e.field) for e in result.errors} == {("missing-fact", "school")}


def test_a_blank_school_and_a_blank_grade_name_both(checked_2021):
    record = student(checked_2021, stage="senior", grade=None, school=None)
    result = Evaluator(checked_2021, AUTUMN).evaluate(record)
    (books,) = [e for e in result.errors if e.program == "textbook_waiver"]
    assert books.code == "missing-fact" and books.field == "grade,school"  # in field declaration order


def test_an_exact_row_wins_whatever_the_order_rows_are_written_in(policy_copy):
    # 其他学校 first, the listed school after it: the same amounts.
    plant(policy_copy, "tables.yaml", "        中阳县第二中学: 950\n        其他学校: 800\n",
          "        其他学校: 800\n        中阳县第二中学: 950\n")  # fmt: skip
    checked = engine.load(policy_copy)
    evaluator = Evaluator(checked, AUTUMN)
    assert fees(evaluator.evaluate(student(checked, stage="senior", grade=1, school=LISTED)))["tuition_waiver"] == 950
    assert fees(evaluator.evaluate(student(checked, stage="senior", grade=1, school=UNLISTED)))["tuition_waiver"] == 800


def test_no_exact_row_and_no_fallback_row_is_a_missing_cell(policy_copy):
    # 中职 loses its 其他学校 row: a 中职 student has no cell, whatever the school, blank or not.
    plant(policy_copy, "tables.yaml", "      中职:\n        其他学校: 1000\n", "")
    checked = engine.load(policy_copy)
    evaluator = Evaluator(checked, AUTUMN)
    for school in (UNLISTED, None):
        result = evaluator.evaluate(student(checked, stage="vocational", grade=1, school=school))
        (error,) = [e for e in result.errors if e.program == "tuition_waiver"]
        assert error.code == "no-table-entry" and "学费标准" in error.message


def test_explain_says_which_row_was_used(checked_2021):
    policy = engine.Policy.of(checked_2021)
    listed = policy.explain(student(checked_2021, stage="senior", grade=2, school=LISTED), AUTUMN).text
    assert "学费标准 = 950（按学校「中阳县第二中学」一行的标准）" in listed
    unlisted = policy.explain(student(checked_2021, stage="senior", grade=2, school=UNLISTED), AUTUMN).text
    assert "学费标准 = 800（表中未列出该学校，按「其他学校」一行的标准）" in unlisted
    assert "书本费标准 = 350（表中未列出该学校，按「其他学校」一行的标准）" in unlisted
    blank = policy.explain(student(checked_2021, stage="senior", grade=2, school=None), AUTUMN).text
    assert "无法判定：缺少「学校」" in blank
    assert "学费标准 = （空）（表中按学校列出了标准，学校空白时无法确定用哪一行）" in blank


def test_the_fallback_key_survives_pickling_as_the_one_object():
    # --jobs sends the checked policy to other processes: the fallback row must still be found.
    assert pickle.loads(pickle.dumps(("senior", OTHER))) == ("senior", OTHER)
    assert pickle.loads(pickle.dumps(OTHER)) is OTHER


# -- the checker: like a compiler -------------------------------------------------------------------


def test_the_fallback_word_at_another_key_is_located(policy_copy):
    plant(policy_copy, "tables.yaml", "其他学校: {1: 400, 2: 350, 3: 300}", "其他学校: {1: 400, 2: 350, 其他学校: 300}")
    (error,) = errors_of(policy_copy)
    assert error.code == "table-fallback" and error.location.file.endswith("tables.yaml")
    assert "「年级」" in error.message and "「学校」" in error.message


def test_two_rows_for_one_value_are_a_duplicate_row(policy_copy):
    # 高中 is an alias of 普通高中: the two rows are the same row.
    plant(policy_copy, "tables.yaml", "      中职:\n        其他学校: 1000\n",
          "      中职:\n        其他学校: 1000\n      高中:\n        其他学校: 700\n")  # fmt: skip
    (error,) = errors_of(policy_copy)
    assert error.code == "duplicate-row" and error.location.file.endswith("tables.yaml")


TUITION_HEAD = "    keys: [stage, school]\n    fallback: {school: 其他学校}\n    value: money\n    sample: true\n"


def test_a_fallback_on_a_field_that_is_not_a_key_is_an_error(policy_copy):
    plant(policy_copy, "tables.yaml", TUITION_HEAD, TUITION_HEAD.replace("{school:", "{township:"))
    (error,) = errors_of(policy_copy)
    assert error.code == "table-fallback" and "township" in error.message


def test_a_fallback_word_that_is_an_option_is_an_error(policy_copy):
    plant(policy_copy, "tables.yaml", "    label: 寄宿生生活费补助标准\n    keys: [stage]\n",
          "    label: 寄宿生生活费补助标准\n    keys: [stage]\n    fallback: {stage: 高中}\n")  # fmt: skip
    (error,) = errors_of(policy_copy)
    assert error.code == "table-fallback" and "高中" in error.message


def test_two_fallback_keys_are_an_error(policy_copy):
    plant(policy_copy, "tables.yaml", TUITION_HEAD, TUITION_HEAD.replace("其他学校}", "其他学校, stage: 其他}"))
    (error,) = errors_of(policy_copy)
    assert error.code == "table-fallback" and error.location.file.endswith("tables.yaml") and error.location.line > 1


# -- the SQL back end: byte-identical to the Python one ----------------------------------------------


def school_rows(
    n: int, seed: int, schools: tuple[str, ...] = (LISTED, UNLISTED, "", f" {LISTED} ", "中阳县职业中学"),
    in_county: tuple[str, ...] = (),
) -> list[list[str]]:
    """Generated students whose 学校, on 普通高中 and 中职 rows, is one of `schools` (by default the
    listed school, an unlisted one, blank, or the listed name with stray spaces) and, when
    `in_county` is given, whose 县内学校 is one of those."""
    rng = random.Random(seed)
    out = []
    for s in Generator(seed).students(n):
        row = {h: str(s.get(h, "")) for h in HEADERS}
        if row["学段"] in ("普通高中", "中职"):
            row["学校"] = rng.choice(schools)
            if in_county:
                row["县内学校"] = rng.choice(in_county)
        out.append([row[h] for h in HEADERS])
    return out


def both_engines(path: Path, rows: list[list[str]], checked, period: Period) -> tuple[list[str], list[str]]:
    """`rows` written as a CSV at `path`, evaluated per record (Python) and in bulk (DuckDB): the JSONL lines."""
    write_rows(path, rows)
    evaluator = Evaluator(checked, period, reasons=False)
    python = [jsonl_line(o) for o in evaluator.evaluate_all(RecordReader(checked, read_table(path)))]
    return python, list(BulkRun(checked, period, path).jsonl_lines(Ledger(checked)))


def test_duckdb_and_python_agree_byte_for_byte_on_listed_unlisted_and_blank_schools(tmp_path, checked_2021):
    for period in (AUTUMN, Period.parse("2022-spring")):
        python, duck = both_engines(tmp_path / "学生.csv", school_rows(3000, seed=11), checked_2021, period)
        assert duck == python
        # All three kinds of school are there: 950 (listed), 800 (other), a blank-school problem.
        joined = "\n".join(python)
        assert '"amount": "950.00"' in joined and '"amount": "800.00"' in joined
        assert '"field": "school"' in joined


def test_sql_case_puts_exact_rows_before_the_fallback_row(checked_2021):
    import duckdb

    from engine.backends.sql.compile import SqlWriter

    lookup = checked_2021.programs["tuition_waiver"].amount
    con = duckdb.connect()
    con.execute("CREATE TABLE t (stage VARCHAR, school VARCHAR)")
    con.execute("INSERT INTO t VALUES ('senior', ?), ('senior', ?), ('senior', NULL), ('vocational', NULL),"
                " ('vocational', ?), (NULL, ?)", [LISTED, UNLISTED, LISTED, LISTED])  # fmt: skip
    sql = SqlWriter(checked_2021, {}, {"stage": "stage", "school": "school"}).expr(lookup)
    got = [row[0] for row in con.execute(f"SELECT {sql} FROM t").fetchall()]
    # 950 listed; 800 other; NULL blank where 普通高中 lists schools; 1000 blank or any on 中职; NULL blank 学段.
    assert got == [Decimal(950), Decimal(800), None, Decimal(1000), Decimal(1000), None]


# -- the SMT back end ----------------------------------------------------------------------------------


def test_verify_finds_a_planted_fault_in_a_school_row(policy_copy):
    # The listed school's tuition planted as 0: "免学费 is positive whenever reached" fails, and the
    # counterexample student studies at that school (the 其他学校 row, 800, is still positive).
    plant(policy_copy, "tables.yaml", "        中阳县第二中学: 950\n", "        中阳县第二中学: 0\n")
    report = v.verify_policy(engine.load(policy_copy), [AUTUMN])
    (finding,) = [f for f in report.failed if f.code == "amount-positive" and "免学费" in f.statement]
    example = finding.counterexample
    assert example.row["学校"] == LISTED and example.row["学段"] == "普通高中"
    (result,) = example.results.values()
    assert "tuition_waiver" not in {a.program for a in result.awards}  # the Python back end: 0 is no award


def test_verify_finds_a_planted_fault_in_a_fallback_row(policy_copy):
    plant(policy_copy, "tables.yaml", "        其他学校: 800\n", "        其他学校: 0\n")
    report = v.verify_policy(engine.load(policy_copy), [AUTUMN])
    (finding,) = [f for f in report.failed if f.code == "amount-positive" and "免学费" in f.statement]
    assert finding.counterexample.row["学校"] != LISTED and finding.counterexample.row["学段"] == "普通高中"


def test_cli_explain_on_the_examples_names_the_row(tmp_path: Path):
    with EXAMPLE_CSV.open(encoding="utf-8-sig") as handle:
        listed = next(r["身份证号"] for r in csv.DictReader(handle) if r["学校"] == LISTED and r["县内学校"] == "是")
    shown = CliRunner().invoke(main, ["explain", str(EXAMPLE_CSV), "--policy", str(POLICY_2021),
                                      "--period", "2021-autumn", "--id", listed])  # fmt: skip
    assert "按学校「中阳县第二中学」一行的标准" in shown.output


def test_the_template_tells_schools_how_to_write_the_column_fees_are_looked_up_by(tmp_path):
    import openpyxl

    target = tmp_path / "模板.xlsx"
    made = CliRunner().invoke(main, ["template", "--policy", str(POLICY_2021), "-o", str(target)])
    assert made.exit_code == 0, made.output
    guide = openpyxl.load_workbook(target)["填表说明"]
    (school,) = [row for row in guide.iter_rows(values_only=True) if row and row[0] == "学校"]
    assert "按此列查学费标准、书本费标准、住宿费标准" in school[5] and "「其他学校」一行" in school[5]
