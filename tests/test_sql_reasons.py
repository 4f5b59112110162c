"""Why a program is not awarded, from the SQL back end (``why_i``) and in the Parquet output.

The reason a refusal reports is the first part of the program — in the checked tree's one canonical
order (engine.check.order) — that decides against it. The DuckDB engine computes its number in SQL
and the evaluator words it (Evaluator.settled_result); these tests hold it to the per-record
evaluator's Denials (reasons=True) on generated students for every shipped version and both
seasons, and check hand-worked students from the plan, through `eval -o 结果.parquet` on each engine.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

import engine
from benchmarks.students import write_csv
from engine.backends.python.evaluator import Evaluator
from engine.backends.sql.literals import sql_string
from engine.cli import main
from engine.files.readers import duckdb_connection, parquet_columns, read_table
from engine.files.records import RecordReader
from engine.policy.model import Period
from engine.runtime.results import Result
from engine.tools.bulk import BulkRun
from tests.test_arithmetic import with_amount
from tests.test_sql_engine import CORE, VERSIONS, _id, _periods, _write

ROOT = Path(__file__).resolve().parent.parent
POLICY_2021 = ["--policy", str(ROOT / "policies" / "2021"), "--period", "2021-autumn"]


# -- one canonical order ----------------------------------------------------------------------------


def test_the_order_does_not_depend_on_the_order_of_the_lists(policy_copy) -> None:
    """day_subsidy's two exclusions written the other way round: the same parts, the same order."""
    before = engine.load(policy_copy).programs["day_subsidy"].parts
    programs = policy_copy / "programs.yaml"
    text = programs.read_text(encoding="utf-8")
    first, second = text.index("      - id: over_age_home_or_health"), text.index("      - id: health_without_xueji")
    end = text.index("    not_with:", second)
    swapped = text[:first] + text[second:end] + text[first:second] + text[end:]
    assert swapped != text
    programs.write_text(swapped, encoding="utf-8")
    after = engine.load(policy_copy).programs["day_subsidy"].parts
    assert [x.exclusion.id for x in after.exclusions] == ["health_without_xueji", "over_age_home_or_health"]
    assert [x.exclusion.id for x in before.exclusions] == [x.exclusion.id for x in after.exclusions]
    assert [c.expr.text for c in before.conditions] == [c.expr.text for c in after.conditions]
    # Reasons are numbered conditions, exclusions, relations, then the zero amount.
    assert after.zero_amount == len(after.conditions) + 2 + 1


# -- differential: DuckDB's reasons are the per-record evaluator's ---------------------------------


def _reasons(outcomes) -> list[tuple[int, tuple]]:
    return [(o.row, tuple(o.denials)) for o in outcomes if isinstance(o, Result)]


@pytest.mark.parametrize("version", VERSIONS)
def test_duckdb_reasons_are_the_evaluators_every_version_both_seasons(tmp_path, version) -> None:
    checked = engine.load(ROOT / "policies" / version)
    path = tmp_path / "students.csv"
    # Generated students, a few cells blank: most rows SQL settles (its why_i), the rest go per record.
    write_csv(path, 20_000, seed=sum(map(ord, version)), blanks=0.01)
    periods = _periods(checked)
    assert len(periods) == 2
    for period in periods:
        evaluator = Evaluator(checked, period, reasons=True)
        python = _reasons(evaluator.evaluate_all(RecordReader(checked, read_table(path))))
        run = BulkRun(checked, period, path, values=True, reasons=True)
        duck = _reasons(run.outcomes())
        assert len(duck) == len(python)
        differing = [(a, b) for a, b in zip(python, duck, strict=True) if a != b]
        assert not differing, differing[:3]
        # SQL did decide most of them (clean rows), with every kind of reason among them.
        clean = run.session.query("SELECT count(*) FROM result WHERE clean")[0][0]
        assert clean > len(duck) // 2
        causes = {d.cause for _, denials in duck for d in denials}
        assert {"condition", "exclusion", "relation"} <= causes, causes


def test_without_reasons_the_query_has_no_reason_columns(tmp_path, checked_2021) -> None:
    """The JSONL path never pays for reasons: no why_i unless asked."""
    path = tmp_path / "students.csv"
    write_csv(path, 50)
    period = Period.parse("2021-autumn")
    plain = BulkRun(checked_2021, period, path, values=True)
    asked = BulkRun(checked_2021, period, path, values=True, reasons=True)
    names = {row[0] for row in plain.session.query("DESCRIBE result")}
    assert not any(name.startswith("why") for name in names)
    assert {f"why{i}" for i in range(len(checked_2021.program_order))} <= {
        row[0] for row in asked.session.query("DESCRIBE result")
    }
    assert all(not o.denials for o in plain.outcomes() if isinstance(o, Result))


# -- hand-worked students, through `eval -o 结果.parquet` on each engine -------------------------


def _zizhu(*arguments: object) -> tuple[int, str, str]:
    done = CliRunner().invoke(main, [str(a) for a in arguments])
    assert done.exception is None or isinstance(done.exception, SystemExit), done.exception
    return done.exit_code, done.stdout, done.stderr


def _parquet(tmp_path: Path, students: Path, engine_name: str, policy: list[str] = POLICY_2021) -> dict[int, dict]:
    target = tmp_path / f"结果-{engine_name}.parquet"
    code, _, err = _zizhu("eval", students, *policy, "-o", target, "--engine", engine_name)
    assert code in (0, 1), err
    assert "逐行计算" not in err  # the engine asked for ran it
    columns = [name for name, _ in parquet_columns(target)]
    rows = duckdb_connection().execute(f"SELECT * FROM {sql_string(str(target))} ORDER BY row").fetchall()
    return {row[0]: dict(zip(columns, row, strict=True)) for row in rows}


ORDINARY = _id("2008-05-01", 11)
VOCATIONAL_3 = _id("2004-03-02", 12)
BOARDER = _id("2008-06-01", 13)


def _hand_file(tmp_path: Path) -> Path:
    return _write(tmp_path / "s.csv", [
        # Row 2: 初中 day pupil of a 一般家庭 family in a county school.
        {**CORE, "家庭类型": "一般家庭", "身份证号": ORDINARY, "姓名": "甲", "学段": "初中", "年级": "2",
         "校内住宿": "否"},
        # Row 3: 中职 三年级, 脱贫户, in school.
        {**CORE, "身份证号": VOCATIONAL_3, "姓名": "乙", "学段": "中职", "年级": "3", "校内住宿": "否"},
        # Row 4: 初中 boarder, 脱贫户.
        {**CORE, "身份证号": BOARDER, "姓名": "丙", "学段": "初中", "年级": "2", "校内住宿": "是"},
    ])  # fmt: skip


@pytest.mark.parametrize("engine_name", ["python", "duckdb"])
def test_hand_worked_reasons_in_the_parquet_output(tmp_path, engine_name) -> None:
    rows = _parquet(tmp_path, _hand_file(tmp_path), engine_name)
    ordinary, vocational, boarder = rows[2], rows[3], rows[4]
    assert [r["status"] for r in rows.values()] == ["evaluated"] * 3
    # 一(二)2(2): "非寄宿生生活补助 … 该补助项目含各义务教育阶段学校送教上门以及有学籍但因身体原因不具备
    # 学习条件的原建档立卡适龄儿童少年"; 一(二): "资助对象为…脱贫户就读的学生（以下简称原建档立卡学生）".
    # A 一般家庭 pupil is none of those (nor 特殊群体, nor 外地就读): the condition naming who is covered
    # fails — 已入学 and 学段 in [小学, 初中] hold — and the reason cites the program's clause 一(二)2(2)
    # (the label's own （一(二)5(2)）, which qualifies its 外地就读 part, is dropped: one clause per reason).
    assert ordinary["award_day_subsidy"] is None
    assert ordinary["reason_day_subsidy"] == (
        "不符合条件：县内在籍在校、送教上门或因病不具备学习条件，或外地就读出具情况说明（一(二)2(2)）"
    )
    # 一(二)3(1): "国家助学金：补助标准 1500 元/生·学期（中职学校三年级无国家助学金资助）": every condition
    # holds (已入学, 高中职学段, 县内受助对象 在校), the exclusion vocational_year_3 refuses it.
    assert vocational["award_national_grant"] is None
    assert vocational["reason_national_grant"] == "中职学校三年级无国家助学金资助（一(二)3(1)）"
    # 一(二)2(1): 初中 boarder 625 元/生·学期; 一(二)2(2): "该补助项目不能与寄宿生生活费补助项目同时享受".
    assert boarder["award_boarding_subsidy"] == Decimal("625.00") and boarder["reason_boarding_subsidy"] is None
    assert boarder["award_day_subsidy"] is None
    assert boarder["reason_day_subsidy"] == (
        "不能与「寄宿生生活费补助」同时享受（已享受「寄宿生生活费补助」）（一(二)2(2)）"
    )


def test_the_hand_worked_rows_are_settled_by_sql(tmp_path, checked_2021) -> None:
    """The DuckDB case above is SQL's own why_i, not the per-record path's: the rows are clean."""
    run = BulkRun(checked_2021, Period.parse("2021-autumn"), _hand_file(tmp_path), values=True, reasons=True)
    assert run.session.query("SELECT count(*) FROM result WHERE clean")[0][0] == 3
    # day_subsidy's relation is its last part: why = zero_amount - 1 for the boarder (row 4).
    day = checked_2021.program_order.index("day_subsidy")
    parts = checked_2021.programs["day_subsidy"].parts
    assert run.session.query(f"SELECT why{day} FROM result WHERE row = 4") == [(parts.zero_amount - 1,)]


def test_every_engine_writes_the_same_reasons(tmp_path) -> None:
    path = tmp_path / "students.csv"
    write_csv(path, 3000, seed=5, blanks=0.02)
    python, duck = _parquet(tmp_path, path, "python"), _parquet(tmp_path, path, "duckdb")
    assert python == duck
    # On a row with no problem every program is awarded (no reason) or refused (a reason), never both.
    programs = [k.removeprefix("award_") for k in next(iter(duck.values())) if k.startswith("award_")]
    settled = [row for row in duck.values() if row["status"] == "evaluated"]
    assert settled and all(
        (row[f"award_{pid}"] is None) != (row[f"reason_{pid}"] is None) for row in settled for pid in programs
    )
    rejected = [row for row in duck.values() if row["status"] == "rejected"]
    assert all(row[f"reason_{pid}"] is None for row in rejected for pid in programs)


def test_a_zero_amount_reason_from_sql(tmp_path, policy_copy) -> None:
    """tuition_waiver's amount made min(申请贷款金额, 12000): a 普通高中 student of a 脱贫户 family who
    meets its conditions and asked 0 is refused with 按规则计算的金额为 0.00，无需发放 (min(0, 12000) = 0),
    and one who asked 300 is waived 300 — on DuckDB as per record."""
    with_amount(policy_copy, "min(申请贷款金额, 12000)")
    path = _write(tmp_path / "s.csv", [
        {**CORE, "身份证号": _id("2006-01-01", 21), "姓名": "甲", "学段": "普通高中", "年级": "2", "申请贷款金额": "0"},
        {**CORE, "身份证号": _id("2006-01-02", 22), "姓名": "乙", "学段": "普通高中", "年级": "2",
         "申请贷款金额": "300"},
    ])  # fmt: skip
    policy = ["--policy", str(policy_copy), "--period", "2021-autumn"]
    for engine_name in ("python", "duckdb"):
        rows = _parquet(tmp_path, path, engine_name, policy)
        assert rows[2]["award_tuition_waiver"] is None
        assert rows[2]["reason_tuition_waiver"] == "按规则计算的金额为 0.00，无需发放（一(二)3(2)）"
        assert rows[3]["award_tuition_waiver"] == Decimal("300.00") and rows[3]["reason_tuition_waiver"] is None


@pytest.mark.spark
def test_spark_reasons_are_the_evaluators(tmp_path, checked_2021) -> None:
    """The same SQL on Spark (translated by sqlglot): the same Denials as the per-record evaluator."""
    pytest.importorskip("pyspark")
    from engine.tools.spark import SparkRun

    path = tmp_path / "students.csv"
    write_csv(path, 5000, seed=2022, blanks=0.01)
    period = Period.parse("2021-autumn")
    evaluator = Evaluator(checked_2021, period, reasons=True)
    python = _reasons(evaluator.evaluate_all(RecordReader(checked_2021, read_table(path))))
    spark = _reasons(SparkRun(checked_2021, period, path, values=True, reasons=True).outcomes())
    assert spark == python
    assert {"condition", "exclusion", "relation"} <= {d.cause for _, denials in spark for d in denials}


def test_a_full_quotas_reason_on_every_engine(tmp_path, policy_copy) -> None:
    """滋蕙计划资助 with one place (count 1 in a copy of the policy). 一(二)4(2): "…的原建档立卡学生优先
    发放滋惠计划资助" — priority 1 for a 脱贫户 student, 2 otherwise. Row 2 (一般家庭, 家庭经济困难,
    priority 2) and row 3 (脱贫户, priority 1) both meet every condition: row 3 takes the place (省外院校:
    1000), row 2 is refused because the place is taken. A quota row is the per-record path's on DuckDB."""
    programs = policy_copy / "programs.yaml"
    text = programs.read_text(encoding="utf-8")
    assert text.count("      count: null\n") == 1
    programs.write_text(text.replace("      count: null\n", "      count: 1\n"), encoding="utf-8")
    freshman = {**CORE, "学段": "本科", "年级": "1", "当年新生": "是", "全日制": "是", "本县高中毕业": "是",
                "录取方式": "高考", "省内院校": "否"}  # fmt: skip
    path = _write(tmp_path / "s.csv", [
        {**freshman, "家庭类型": "一般家庭", "家庭经济困难": "是", "身份证号": _id("2003-09-01", 31), "姓名": "甲"},
        {**freshman, "身份证号": _id("2003-09-02", 32), "姓名": "乙"},
    ])  # fmt: skip
    policy = ["--policy", str(policy_copy), "--period", "2021-autumn"]
    for engine_name in ("python", "duckdb"):
        rows = _parquet(tmp_path, path, engine_name, policy)
        assert rows[3]["award_zihui"] == Decimal("1000.00") and rows[3]["reason_zihui"] is None
        assert rows[2]["award_zihui"] is None
        assert rows[2]["reason_zihui"] == "名额或预算已满（按优先级 2 排序）（一(二)4(2)）"
