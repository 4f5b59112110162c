"""The zizhu command end to end, as policy staff and school officers use it."""

from __future__ import annotations

import csv
import json
import shutil

from click.testing import CliRunner

from engine.cli import main
from tests.conftest import EXAMPLE_EXIT_CODE, POLICY_2021, ROOT, jsonl_rows

EXAMPLE_CSV = ROOT / "examples" / "students-2021.csv"


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_check_summarises_the_2021_policy():
    result = run("check", POLICY_2021)
    assert result.exit_code == 0
    assert "9 个资助项目" in result.output and "12 项核查" in result.output
    assert "核查：控辍保学 3 项，跟进告知 3 项，数据核对 6 项" in result.output
    assert "用到示例数据的资助项目（金额标 ※）：免学费、免书本费、免住宿费" in result.output
    assert "示例数据" in result.output  # the sample fee tables are called out


def test_check_reports_a_planted_error_with_exit_1(policy_copy):
    path = policy_copy / "groups.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace('== "脱贫户"', '== "脱贫"'), encoding="utf-8")
    result = run("check", policy_copy)
    assert result.exit_code == 1
    assert "groups.yaml:" in result.output and "「脱贫」不是「家庭类型」的选项" in result.output


def test_eval_jsonl_has_one_object_per_input_row_in_order():
    result = run("eval", EXAMPLE_CSV, "--policy", POLICY_2021, "--period", "2021-autumn", "--format", "jsonl")
    assert result.exit_code == EXAMPLE_EXIT_CODE
    lines = jsonl_rows(result.stdout)
    with EXAMPLE_CSV.open(encoding="utf-8-sig") as handle:
        ids = [row["身份证号"] for row in csv.DictReader(handle)]
    assert [o["id_number"] for o in lines] == ids
    assert [o["row"] for o in lines] == list(range(2, len(ids) + 2))
    amounts = {a["amount"] for o in lines for a in o["awards"]}
    assert "312.50" in amounts and all(len(a.split(".")[1]) == 2 for a in amounts)
    problems = [o["row"] for o in lines if o["status"] == "problem"]
    assert problems and all(any(e.get("field") == "grade" for e in o["errors"]) for o in lines if o["row"] in problems)
    n, p = len(ids), len(problems)
    assert result.output.splitlines()[-1] == f"共读取 {n} 行：计算 {n - p} 行，有问题 {p} 行，退回 0 行"


def test_eval_with_rejected_rows_exits_1_and_still_outputs_every_row(tmp_path):
    path = tmp_path / "s.csv"
    rows = EXAMPLE_CSV.read_text(encoding="utf-8-sig").splitlines()
    number = rows[1].split(",")[0]
    wrong_check = number[:-1] + ("0" if number[-1] != "0" else "1")
    broken = rows[1].replace(number, wrong_check, 1)
    path.write_text("\n".join([rows[0], rows[2], broken, rows[3]]) + "\n", encoding="utf-8")
    result = run("eval", path, "--policy", POLICY_2021, "--period", "2021-autumn", "--format", "jsonl")
    assert result.exit_code == 1
    objects = jsonl_rows(result.stdout)
    assert [o["status"] for o in objects] == ["evaluated", "rejected", "evaluated"]
    assert "校验位" in objects[1]["errors"][0]["message"]
    assert result.output.splitlines()[-1] == "共读取 3 行：计算 2 行，有问题 0 行，退回 1 行"


def test_eval_outside_the_effective_periods_exits_2():
    result = run("eval", EXAMPLE_CSV, "--policy", POLICY_2021, "--period", "2020-autumn", "--format", "jsonl")
    assert result.exit_code == 2
    assert "2021年秋季学期起" in result.output


def test_explain_shows_clause_reason_and_facts_read():
    with EXAMPLE_CSV.open(encoding="utf-8-sig") as handle:
        row = next(
            r
            for r in csv.DictReader(handle)
            if r["学段"] == "初中"
            and r["家庭类型"] == "脱贫户"
            and r["校内住宿"] == "否"
            and r["县内学校"] == "是"
            and r["就读方式"] == "在校"
            and r["有学籍"] == "是"
        )
    result = run("explain", EXAMPLE_CSV, "--policy", POLICY_2021, "--period", "2021-autumn", "--id", row["身份证号"])
    assert result.exit_code == 0
    assert "【非寄宿生生活补助】享受 312.50 元   条款 一(二)2(2)" in result.output
    assert "读取：学段 = 初中" in result.output
    # The condition is named by its label and worded as a sentence; the fact that decided it comes next.
    assert "理由：不符合条件「住宿在由学校统一管理的学生宿舍内」：校内住宿为是" in result.output
    assert "决定的信息：校内住宿 = 否" in result.output


def test_policy_tests_pass_and_cover_every_rule():
    result = run("test", POLICY_2021)
    assert result.exit_code == 0, result.output
    # 2021 extends nothing: its own 134 cases (grep -c "name:" policies/2021/tests/*.yaml), none inherited
    assert result.output.strip().splitlines()[-1] == (
        "运行 134 个用例：通过 134，失败 0；其中继承 0 个，本版本覆盖 0 个、删除 0 个继承的用例，跳过 0 个"
    )
    assert "覆盖不全" not in result.output


def test_a_wrong_expectation_fails_with_location_and_trace(policy_copy):
    path = policy_copy / "tests" / "compulsory.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("awards: {day_subsidy: 250}", "awards: {day_subsidy: 260}", 1), encoding="utf-8")
    result = run("test", policy_copy)
    assert result.exit_code == 1
    assert "compulsory.yaml:" in result.output
    assert "「非寄宿生生活补助」(day_subsidy)：应为 260.00，实际 250.00" in result.output
    assert "【非寄宿生生活补助】享受 250.00 元" in result.output
    assert "运行 134 个用例：通过 133，失败 1；" in result.output.strip().splitlines()[-1]


def test_a_rule_without_a_case_fails_coverage(policy_copy):
    (policy_copy / "tests" / "checks.yaml").unlink()
    result = run("test", policy_copy)
    assert result.exit_code == 1
    assert "核查「适龄残疾儿童未安置」(disabled_unplaced) 没有一个用例标记" in result.output


def test_a_typo_in_a_test_file_is_a_located_error_not_a_silent_pass(policy_copy):
    path = policy_copy / "tests" / "preschool.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("家庭类型: 低保家庭, 已申请: 是", "家庭类形: 低保家庭, 已申请: 是", 1), encoding="utf-8"
    )
    result = run("test", policy_copy)
    assert result.exit_code == 1
    assert "preschool.yaml:" in result.output and "不认识的字段「家庭类形」" in result.output


def test_schema_command_writes_the_schema(tmp_path):
    target = tmp_path / "schema.json"
    assert run("schema", "-o", target).exit_code == 0
    schema = json.loads(target.read_text(encoding="utf-8"))
    assert schema["$schema"].endswith("2020-12/schema") and "programs" in schema["properties"]


def test_example_generator_is_reproducible(tmp_path):
    copy = tmp_path / "examples"
    shutil.copytree(ROOT / "examples", copy)
    import runpy

    runpy.run_path(str(copy / "generate.py"), run_name="__main__")
    assert (copy / "students-2021.csv").read_bytes() == EXAMPLE_CSV.read_bytes()


def test_example_file_is_large_enough_and_has_valid_ids():
    from engine.check import idcard

    with EXAMPLE_CSV.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) >= 300
    assert all(r["身份证号"].startswith("141129") and idcard.problem(r["身份证号"]) == "" for r in rows)
    assert all(r["出生日期"].replace("-", "") == r["身份证号"][6:14] for r in rows)


def test_fast_jsonl_lines_equal_plain_json_dumps():
    import engine
    from engine.files.report import jsonl_line, to_json

    checked = engine.load(POLICY_2021)
    evaluator = engine.Evaluator(checked, engine.Period.parse("2021-autumn"), reasons=False)
    from engine.files.readers import read_table
    from engine.files.records import RecordReader

    outcomes = list(evaluator.evaluate_all(RecordReader(checked, read_table(EXAMPLE_CSV))))
    assert any(o.awards and o.flags for o in outcomes)
    for o in outcomes:
        assert jsonl_line(o) == json.dumps(to_json(o), ensure_ascii=False)


def test_the_example_file_exercises_every_rule_and_many_get_nothing():
    import engine
    from engine.files.readers import read_table
    from engine.files.records import RecordReader
    from engine.tools.policytest import exercised, uncovered

    checked = engine.load(POLICY_2021)
    evaluator = engine.Evaluator(checked, engine.Period.parse("2021-autumn"))
    results = list(evaluator.evaluate_all(RecordReader(checked, read_table(EXAMPLE_CSV))))
    seen = set().union(*(exercised(r) for r in results))
    assert uncovered(checked, seen) == []
    nothing = sum(1 for r in results if not r.awards)
    assert 0.3 < nothing / len(results) < 0.7
