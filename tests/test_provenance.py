"""The decision record: every output says which rules produced it (issue 17)."""

from __future__ import annotations

import json
import shutil
from importlib import metadata

import openpyxl

import engine
from engine.policy.provenance import DecisionRecord, content_hash
from tests.conftest import POLICY_2021, ROOT, jsonl_rows
from tests.test_reconcile import EXACT, PAID_HEADERS, STUDENT_HEADERS, A, B, C, D, E, run, write_csv

EXAMPLE_CSV = ROOT / "examples" / "students-2021.csv"
POLICIES = ROOT / "policies"
PERIOD = ("--policy", POLICY_2021, "--period", "2021-autumn")


def policy_hash(folder) -> str:
    return content_hash(engine.load(folder).policy)


def test_the_hash_is_of_the_rules_not_of_the_folder_or_the_formatting(tmp_path, policy_copy):
    original = policy_hash(POLICY_2021)
    assert original.startswith("sha256:") and len(original) == len("sha256:") + 64
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(POLICY_2021, elsewhere)
    assert policy_hash(elsewhere) == original  # same rules, another folder
    programs = policy_copy / "programs.yaml"
    programs.write_text("# 注释不改变规则\n" + programs.read_text(encoding="utf-8"), encoding="utf-8")
    assert policy_hash(policy_copy) == original
    tables = policy_copy / "tables.yaml"
    tables.write_text(tables.read_text(encoding="utf-8").replace("初中: 312.5", "初中: 312.6"), encoding="utf-8")
    assert policy_hash(policy_copy) != original  # one table cell changed


def test_an_extending_version_is_hashed_after_extends(tmp_path):
    # 2024 extends 2023, which extends 2021: its effective policy has other living-subsidy rates.
    assert policy_hash(POLICIES / "2024") != policy_hash(POLICIES / "2023") != policy_hash(POLICY_2021)
    copy = tmp_path / "policies"
    shutil.copytree(POLICIES, copy)
    assert policy_hash(copy / "2024") == policy_hash(POLICIES / "2024")  # the chain copied elsewhere: same rules


def test_check_prints_the_hash():
    result = run("check", POLICY_2021)
    assert result.exit_code == 0
    assert f"政策内容校验值：{policy_hash(POLICY_2021)}" in result.output


def expected_record(semester: str = "2021-autumn") -> dict[str, str]:
    checked = engine.load(POLICY_2021)
    return {
        "policy_id": "zhongyang-2021",
        "policy_version": checked.manifest.version,
        "folder": checked.policy.folder,
        "policy_hash": content_hash(checked.policy),
        "zizhu_version": metadata.version("zizhu"),
        "semester": semester,
    }


def test_jsonl_starts_with_the_decision_record_then_one_line_per_row():
    result = run("eval", EXAMPLE_CSV, *PERIOD, "--format", "jsonl")
    first = json.loads(result.stdout.splitlines()[0])
    assert first == {"decision_record": expected_record()}
    with EXAMPLE_CSV.open(encoding="utf-8-sig") as handle:
        rows = sum(1 for _ in handle) - 1
    assert len(jsonl_rows(result.stdout)) == rows


def test_parallel_jsonl_has_the_same_single_header(tmp_path):
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    run("eval", EXAMPLE_CSV, *PERIOD, "-o", one)
    run("eval", EXAMPLE_CSV, *PERIOD, "-o", two, "--jobs", "2")
    assert one.read_text(encoding="utf-8") == two.read_text(encoding="utf-8")
    assert sum('"decision_record"' in line for line in two.read_text(encoding="utf-8").splitlines()) == 1


def test_a_result_file_read_back_as_students_skips_its_decision_record(tmp_path):
    students = tmp_path / "s.jsonl"
    rows = [{"身份证号": A["身份证号"], **{k: v for k, v in A.items() if k != "身份证号"}}]
    header = DecisionRecord.of(engine.load(POLICY_2021).policy, "2021-autumn").jsonl_header()
    students.write_text(header + "\n" + json.dumps(rows[0], ensure_ascii=False) + "\n", encoding="utf-8")
    result = run("eval", students, *PERIOD, "--format", "jsonl")
    (row,) = jsonl_rows(result.stdout)
    assert row["id_number"] == A["身份证号"] and row["status"] == "evaluated"


def notes(path) -> dict[str, str]:
    return dict(openpyxl.load_workbook(path, read_only=True)["说明"].iter_rows(min_row=2, values_only=True))


def test_every_workbook_has_a_notes_sheet_with_the_record(tmp_path):
    want = expected_record()
    labels = {"政策标识": "policy_id", "政策版本": "policy_version", "政策文件夹": "folder",
              "政策内容校验值": "policy_hash", "zizhu 版本": "zizhu_version", "学期": "semester"}  # fmt: skip
    students = write_csv(tmp_path / "students.csv", STUDENT_HEADERS, [A, B, C, D, E])
    paid = write_csv(tmp_path / "paid.csv", PAID_HEADERS, EXACT)
    outputs = {
        "eval": ("eval", students, *PERIOD, "-o"),
        "ledger": ("ledger", students, *PERIOD, "-o"),
        "reconcile": ("reconcile", *PERIOD, "--students", students, "--paid", paid, "-o"),
    }
    for name, command in outputs.items():
        target = tmp_path / f"{name}.xlsx"
        run(*command, target)
        sheet = notes(target)
        # The sheet is read by a person: the semester in Chinese (2021-autumn is 2021年秋季学期).
        assert {key: sheet[label] for label, key in labels.items()} == {**want, "semester": "2021年秋季学期"}, name
    assert "核对项目：" in notes(tmp_path / "reconcile.xlsx")["核对范围"]


def test_text_reports_and_diff_carry_the_record(tmp_path):
    text = f"校验值 {policy_hash(POLICY_2021)}，zizhu {metadata.version('zizhu')}，学期 2021-autumn"
    assert text in run("ledger", EXAMPLE_CSV, *PERIOD).output
    assert text in run("eval", EXAMPLE_CSV, *PERIOD, "--format", "table").output
    students = write_csv(tmp_path / "students.csv", STUDENT_HEADERS, [A, B, C, D, E])
    paid = write_csv(tmp_path / "paid.csv", PAID_HEADERS, EXACT)
    assert text in run("reconcile", *PERIOD, "--students", students, "--paid", paid).output
    followed = run("followup", "--policy", POLICY_2021, students, "--period", "2021-autumn", students, "--period",
                   "2022-spring").output  # fmt: skip
    assert text in followed and text.replace("2021-autumn", "2022-spring") in followed
    diffed = run("diff", POLICY_2021, POLICIES / "2024", "--format", "json")
    records = json.loads(diffed.output)["decision_records"]
    assert (records["old"]["policy_hash"], records["new"]["policy_hash"]) == (
        policy_hash(POLICY_2021),
        policy_hash(POLICIES / "2024"),
    )
    assert "新版决策记录：政策 zhongyang-2024" in run("diff", POLICY_2021, POLICIES / "2024").output
    target = tmp_path / "impact.xlsx"
    run("diff", POLICY_2021, POLICIES / "2024", "--students", EXAMPLE_CSV, "--period", "2024-spring", "-o", target)
    sheet = notes(target)
    assert (sheet["旧版政策内容校验值"], sheet["新版学期"]) == (policy_hash(POLICY_2021), "2024年春季学期")
