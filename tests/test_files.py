"""Student files in, results out: encodings and formats agree, bad rows are rejected, outputs and ledgers add up."""

from __future__ import annotations

import csv
import json
import re
from decimal import Decimal

import openpyxl
import pytest
from click.testing import CliRunner

from engine.cli import main
from tests.conftest import EXAMPLE_EXIT_CODE, POLICY_2021, ROOT, jsonl_rows

EXAMPLE_CSV = ROOT / "examples" / "students-2021.csv"
EXAMPLE_XLSX = ROOT / "examples" / "students-2021.xlsx"
PERIOD = ("--policy", str(POLICY_2021), "--period", "2021-autumn")


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def jsonl(result) -> list[dict]:
    return jsonl_rows(result.stdout)


def test_utf8_bom_gbk_csv_and_xlsx_give_identical_results(tmp_path):
    text = EXAMPLE_CSV.read_text(encoding="utf-8-sig")
    files = {"utf8.csv": "utf-8", "bom.csv": "utf-8-sig", "gbk.csv": "gbk"}
    for name, encoding in files.items():
        (tmp_path / name).write_text(text, encoding=encoding)
    outputs = [jsonl(run("eval", tmp_path / name, *PERIOD, "--format", "jsonl")) for name in files]
    outputs.append(jsonl(run("eval", EXAMPLE_XLSX, *PERIOD, "--format", "jsonl")))
    assert len(outputs[0]) == 320
    assert all(o == outputs[0] for o in outputs[1:])


def test_a_file_seeded_with_bad_rows_rejects_exactly_those(tmp_path):
    rows = list(csv.reader(EXAMPLE_CSV.read_text(encoding="utf-8-sig").splitlines()))
    header, body = rows[0], rows[1:11]
    col = {h: i for i, h in enumerate(header)}
    number = body[0][col["身份证号"]]
    body[0][col["身份证号"]] = number[:-1] + ("0" if number[-1] != "0" else "1")  # bad check digit
    body[1][col["学段"]] = "大学"  # unknown 学段
    body[2][col["出生日期"]] = "2012-02-30"  # impossible date
    body[4][col["身份证号"]] = body[3][col["身份证号"]]  # duplicate ID
    body[4][col["出生日期"]] = body[3][col["出生日期"]]
    body[5][col["年级"]] = "x"
    body[6][col["姓名"]] = ""  # empty required field
    path = tmp_path / "bad.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([header, *body])
    result = run("eval", path, *PERIOD, "--format", "jsonl")
    assert result.exit_code == 1
    out = jsonl(result)
    rejected = {o["row"]: [e["message"] for e in o["errors"]] for o in out if o["status"] == "rejected"}
    assert sorted(rejected) == [2, 3, 4, 5, 6, 7, 8]
    assert "校验位" in rejected[2][0]
    assert "「大学」不是「学段」的选项" in rejected[3][0]
    assert "「2012-02-30」不是有效日期" in rejected[4][0]
    assert "与第 6 行相同" in rejected[5][0] and "与第 5 行相同" in rejected[6][0]
    assert "「x」不是整数" in rejected[7][0]
    assert "「姓名」是必填项" in rejected[8][0]
    assert [o["status"] for o in out if o["row"] > 8] == ["evaluated"] * 3
    assert result.output.splitlines()[-1] == "共读取 10 行：计算 3 行，有问题 0 行，退回 7 行"


def test_unknown_columns_are_warned_about_once(tmp_path):
    text = EXAMPLE_CSV.read_text(encoding="utf-8-sig").splitlines()
    lines = [text[0] + ",备注"] + [line + ",无" for line in text[1:4]]
    path = tmp_path / "extra.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run("eval", path, *PERIOD, "--format", "jsonl")
    assert result.exit_code == 0
    assert result.output.count("「备注」") == 1


def test_csv_output_has_a_bom_and_one_row_per_input_row(tmp_path):
    target = tmp_path / "out.csv"
    assert run("eval", EXAMPLE_CSV, *PERIOD, "-o", target).exit_code == EXAMPLE_EXIT_CODE
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert len(rows) == 320
    first = rows[0]
    assert first["非寄宿生生活补助（元）"] == "312.50" and first["合计（补助与减免）"] == "312.50"


def test_xlsx_output_sheets_and_ledger_equal_the_per_student_awards(tmp_path):
    target = tmp_path / "out.xlsx"
    assert run("eval", EXAMPLE_CSV, *PERIOD, "-o", target).exit_code == EXAMPLE_EXIT_CODE
    book = openpyxl.load_workbook(target, read_only=True)
    assert book.sheetnames == ["资助明细", "学生", "台账", "核查标记（控辍保学）", "核查标记（跟进告知）",
                               "核查标记（数据核对）", "退回与问题", "说明"]  # fmt: skip
    awards = list(book["资助明细"].iter_rows(min_row=2, values_only=True))
    by_json = jsonl(run("eval", EXAMPLE_CSV, *PERIOD, "--format", "jsonl"))
    expected = [(o["row"], a["program"], Decimal(a["amount"])) for o in by_json for a in o["awards"]]
    assert [(r[0], r[4], Decimal(str(r[7]))) for r in awards] == expected
    ledger = {r[0]: r[5] for r in book["台账"].iter_rows(min_row=2, values_only=True)}
    given = sum(amount for _, program, amount in expected if program != "student_loan")
    loans = sum(amount for _, program, amount in expected if program == "student_loan")
    assert Decimal(str(ledger["合计（补助与减免）"])) == given
    assert Decimal(str(ledger["合计（贷款）"])) == loans


@pytest.mark.parametrize("by", ["school", "学段", "township", "program"])
def test_ledger_totals_equal_the_sum_of_awards_to_the_fen(tmp_path, by):
    target = tmp_path / "ledger.csv"
    assert run("ledger", EXAMPLE_CSV, *PERIOD, "--by", by, "-o", target).exit_code == EXAMPLE_EXIT_CODE
    rows = list(csv.reader(target.read_text(encoding="utf-8-sig").splitlines()))
    awards = [a for o in jsonl(run("eval", EXAMPLE_CSV, *PERIOD, "--format", "jsonl")) for a in o["awards"]]
    given = sum(Decimal(a["amount"]) for a in awards if a["kind"] != "loan")
    loans = sum(Decimal(a["amount"]) for a in awards if a["kind"] == "loan")
    totals = {r[-6]: Decimal(r[-1]) for r in rows if r[-6].startswith("合计")}
    assert totals == {"合计（补助与减免）": given, "合计（贷款）": loans}
    if by != "program":
        per_group = [Decimal(r[-1]) for r in rows[1:] if r[1] not in ("小计（补助与减免）", "小计（贷款）") and r[0]]
        assert sum(per_group) == given + loans


def test_ledger_by_an_unknown_field_says_what_is_possible():
    result = run("ledger", EXAMPLE_CSV, *PERIOD, "--by", "班级")
    # The choices are offered by the Chinese labels people read, not field ids.
    assert result.exit_code == 2 and "学校" in result.output and "school" not in result.output


def test_a_template_filled_with_valid_values_reads_back_without_errors(tmp_path):
    target = tmp_path / "模板.xlsx"
    assert run("template", "--policy", POLICY_2021, "-o", target).exit_code == 0
    book = openpyxl.load_workbook(target)
    sheet = book["学生名单"]
    headers = [c.value for c in sheet[1]]
    assert headers[:3] == ["身份证号", "姓名", "出生日期"]
    lists = {str(v.sqref).split(":")[0].rstrip("0123456789"): v.formula1 for v in sheet.data_validations.dataValidation}
    stage_col = openpyxl.utils.get_column_letter(headers.index("学段") + 1)
    assert lists[stage_col] == '"学前,小学,初中,普通高中,中职,专科,本科,研究生"'
    assert "填表说明" in book.sheetnames
    with EXAMPLE_CSV.open(encoding="utf-8-sig") as handle:
        sample = next(csv.DictReader(handle))
    for col, header in enumerate(headers, start=1):
        sheet.cell(2, col).value = sample.get(header) or None
    book.save(target)
    result = run("eval", target, *PERIOD, "--format", "jsonl")
    assert result.exit_code == 0
    (row,) = jsonl(result)
    assert row["status"] == "evaluated" and row["errors"] == []


def test_jsonl_students_read_like_csv(tmp_path):
    with EXAMPLE_CSV.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))[:20]
    path = tmp_path / "s.jsonl"
    path.write_text("".join(json.dumps({k: v for k, v in r.items() if v}, ensure_ascii=False) + "\n" for r in rows))
    subset = tmp_path / "s.csv"
    with subset.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    from_jsonl = jsonl(run("eval", path, *PERIOD, "--format", "jsonl"))
    from_csv = jsonl(run("eval", subset, *PERIOD, "--format", "jsonl"))
    assert from_jsonl == from_csv and len(from_csv) == 20


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_jobs_2_gives_output_identical_to_jobs_1(tmp_path, fmt):
    from benchmarks.students import write_csv

    path = tmp_path / "big.csv"
    write_csv(path, 4400, seed=11)  # several batches of 2000
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([*lines, lines[5]]) + "\n", encoding="utf-8")  # a duplicate ID: two rejected rows
    one, two = tmp_path / f"one.{fmt}", tmp_path / f"two.{fmt}"
    first = run("eval", path, *PERIOD, "-o", one)
    second = run("eval", path, *PERIOD, "-o", two, "--jobs", "2")
    assert first.exit_code == second.exit_code == 1
    assert one.read_bytes() == two.read_bytes()
    summary = first.output.splitlines()[-1]
    assert second.output.splitlines()[-1] == summary
    # every row counted once: 4401 read, the 2 duplicates rejected, the rest computed or with problems
    read, computed, problems, rejected = map(int, re.findall(r"\d+", summary))
    assert (read, rejected, computed + problems) == (4401, 2, 4399) and problems > 0
    if fmt == "jsonl":
        statuses = [o["status"] for o in jsonl_rows(one.read_text(encoding="utf-8"))]
        assert statuses.count("problem") == problems and statuses.count("rejected") == rejected


def test_the_template_enforces_its_drop_downs_and_ranges(tmp_path):
    target = tmp_path / "模板.xlsx"
    assert run("template", "--policy", POLICY_2021, "-o", target).exit_code == 0
    sheet = openpyxl.load_workbook(target)["学生名单"]
    headers = [c.value for c in sheet[1]]
    rules = {str(v.sqref).split(":")[0].rstrip("0123456789"): v for v in sheet.data_validations.dataValidation}

    def rule(header):
        return rules[openpyxl.utils.get_column_letter(headers.index(header) + 1)]

    # Every rule refuses a wrong value as it is typed (openpyxl's default would only warn nothing).
    assert all(v.showErrorMessage and v.errorStyle == "stop" for v in rules.values())
    # 年级: whole numbers within the range fields.yaml declares for it (min: 1, max: 9).
    assert (rule("年级").type, rule("年级").formula1, rule("年级").formula2) == ("whole", "1", "9")
    # 申请贷款金额: money, never negative.
    assert (rule("申请贷款金额").type, rule("申请贷款金额").operator, rule("申请贷款金额").formula1) == (
        "decimal",
        "greaterThanOrEqual",
        "0",
    )
    school = openpyxl.utils.get_column_letter(headers.index("学校") + 1)
    assert sheet.column_dimensions[school].width >= 24
    guide = openpyxl.load_workbook(target)["填表说明"]
    notes = [row[5] for row in guide.iter_rows(min_row=2, values_only=True) if row and row[0]]
    assert not any(str(n).startswith("；") for n in notes if n)


def test_template_from_the_versions_folder_needs_and_uses_a_period(tmp_path):
    target = tmp_path / "模板.xlsx"
    refused = run("template", "--policy", ROOT / "policies", "-o", target)
    assert refused.exit_code == 2 and "--period" in refused.output and not target.exists()
    chosen = run("template", "--policy", ROOT / "policies", "--period", "2024-autumn", "-o", target)
    assert chosen.exit_code == 0 and "policies/2024-autumn" in chosen.output
    guide = openpyxl.load_workbook(target)["填表说明"]
    assert any("2024" in str(row[0]) for row in guide.iter_rows(values_only=True) if row and row[0])
