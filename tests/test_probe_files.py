"""Findings of the user probe on reading student files (A8, B15–B17, B20) and on policy messages
(B18, B19, B24): each case is the probe's repro, the outcome worked out from the reading."""

from __future__ import annotations

import pytest

from engine.files.readers import read_table
from engine.files.records import RecordReader, Rejected
from engine.runtime.results import Record
from tests.test_records import HEADER, complete, valid_id


def read_one(checked, tmp_path, stage: str, grade: str):
    path = tmp_path / "s.csv"
    path.write_text(
        complete(HEADER + f"{valid_id('20080501')},李明,脱贫户,是,是,是,在校,{stage},{grade},否\n"), encoding="utf-8"
    )
    (item,) = list(RecordReader(checked, read_table(path)))
    return item


# Reading §6: 年级 is "1, 2, 3 … within the stage". 七–九年级 count from 小学 1: 八年级 = 8 − 6 = 初中 2;
# 十年级 = 10 − 9 = 高中 1, 十二年级 = 12 − 9 = 高中 3; a prefix names the stage (初三 = 初中 3).
@pytest.mark.parametrize(
    ("stage", "grade", "stage_id", "expected"),
    [
        ("初中", "八年级", "junior", 2),
        ("初中", "7年级", "junior", 1),
        ("初中", "初三", "junior", 3),
        ("普通高中", "十年级", "senior", 1),
        ("普通高中", "十二年级", "senior", 3),
        ("普通高中", "高二", "senior", 2),
        ("中职", "高三", "vocational", 3),  # schools call 中职 years 高一–高三 too
        ("小学", "三年级", "primary", 3),  # names no stage: the row's 学段 says which
        ("初中", "2", "junior", 2),
    ],
)
def test_a_grade_word_is_read_within_its_stage(checked_2021, tmp_path, stage, grade, stage_id, expected):
    record = read_one(checked_2021, tmp_path, stage, grade)
    assert isinstance(record, Record), record
    assert record.values["stage"] == stage_id
    assert record.values["grade"] == expected


@pytest.mark.parametrize(
    ("stage", "grade"),
    [
        ("普通高中", "初三"),
        ("小学", "初二"),
        ("小学", "高二"),
        ("小学", "八年级"),
        ("初中", "十年级"),
        ("本科", "高一"),
    ],
)
def test_a_grade_naming_another_stage_rejects_the_row_naming_both_columns(checked_2021, tmp_path, stage, grade):
    rejected = read_one(checked_2021, tmp_path, stage, grade)
    assert isinstance(rejected, Rejected)
    (reason,) = rejected.reasons
    assert reason.code == "grade-stage-mismatch"
    assert reason.field == "grade"
    assert "「年级」" in reason.message and "「学段」" in reason.message
    assert grade in reason.message and stage in reason.message


def test_excel_text_apostrophe_before_an_id_is_not_part_of_it(checked_2021, tmp_path):
    # B15: Excel users type '141129… to keep the ID as text; the apostrophe is a marker, not a digit.
    number = valid_id("20080501")
    path = tmp_path / "s.csv"
    path.write_text(complete(HEADER + f"'{number},李明,脱贫户,是,是,是,在校,初中,2,否\n"), encoding="utf-8")
    (record,) = list(RecordReader(checked_2021, read_table(path)))
    assert isinstance(record, Record), record
    assert record.values["id_number"] == number


def test_a_rejected_rows_reasons_name_their_column_once(checked_2021, tmp_path):
    # B20: "年级 年级：「12」…" and "身份证号 身份证号 … 重复" named the column twice.
    from engine.files.report import rejected_text
    from engine.runtime.results import RowError

    rejected = read_one(checked_2021, tmp_path, "初中", "12")  # 12 > max 9
    assert isinstance(rejected, Rejected)
    (line,) = rejected_text(rejected).splitlines()[1:]
    assert line.strip().startswith("年级：") and line.count("年级") == 1
    duplicate = RowError("身份证号 141129200805010011 重复：与第 3 行相同", "id_number", column="身份证号")
    bare = RowError("不是日期", "birth_date", column="出生日期")
    lines = rejected_text(Rejected(2, "", "", [duplicate, bare])).splitlines()
    assert lines[1].count("身份证号") == 1
    assert lines[2].strip() == "出生日期：不是日期"  # a message without its column gets it once


def test_a_failing_policy_test_does_not_show_a_blank_student_line(policy_copy):
    # B24: a case has no ID and its row is a line of YAML: "学生：（身份证号 ，第 16 行）" said nothing.
    import engine
    from engine.tools.policytest import load_cases, run_cases

    for old in (policy_copy / "tests").glob("*.yaml"):
        old.unlink()
    # 初中 day student of a 脱贫户 in school: 非寄宿生生活补助 312.50 (一(二)2(2)), so expecting 300 fails.
    (policy_copy / "tests" / "one.yaml").write_text(
        "period: 2021秋季\n"
        "defaults: {家庭类型: 脱贫户, 本县户籍: 是, 县内学校: 是, 有学籍: 是, 就读方式: 在校}\n"
        "cases:\n"
        "  - name: 金额写错\n"
        "    student: {学段: 初中, 年级: 2, 出生日期: 2008-01-01}\n"
        "    expect:\n"
        "      awards: {day_subsidy: 300}\n",
        encoding="utf-8",
    )
    checked = engine.load(policy_copy)
    run = run_cases(checked, load_cases(checked, policy_copy))
    (failed,) = [o for o in run.outcomes if not o.passed]
    assert "312.50" in failed.detail
    assert "学生：" not in failed.detail and "身份证号" not in failed.detail


def test_a_misnamed_header_is_named_in_the_missing_column_error(checked_2021, tmp_path):
    # B17: 是否住校 written for 校内住宿 (read by 寄宿生生活费补助): the error names it as the likely column,
    # and an unrelated unknown header (备注) is listed as unrecognised but suggested for nothing.
    from engine.files.readers import InputError

    assert HEADER.count("校内住宿") == 1
    path = tmp_path / "s.csv"
    header = HEADER.replace("校内住宿", "是否住校").rstrip("\n") + ",备注\n"
    path.write_text(header + f"{valid_id('20080501')},李明,脱贫户,是,是,是,在校,初中,2,是,\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        RecordReader(checked_2021, read_table(path))
    message = str(caught.value)
    assert caught.value.code == "missing-column"
    assert "「是否住校」是否就是这一列？是的话请把列标题改为「校内住宿」" in message
    assert "「备注」是否就是" not in message
    assert "本政策不认识：「是否住校」、「备注」" in message


def _filled_template(checked, tmp_path, active: str, second_list: bool = False):
    """`zizhu template` filled with one 初中 student, saved with `active` in front."""
    import openpyxl

    from engine.files.template import write_template

    target = tmp_path / "模板.xlsx"
    write_template(checked, target)
    book = openpyxl.load_workbook(target)
    sheet = book["学生名单"]
    headers = [c.value for c in sheet[1]]
    row = {"身份证号": valid_id("20080501"), "姓名": "李明", "家庭类型": "脱贫户", "本县户籍": "是", "县内学校": "是"}
    row |= {"有学籍": "是", "就读方式": "在校", "学段": "初中", "年级": "2"}
    for col, header in enumerate(headers, start=1):
        sheet.cell(2, col).value = row.get(header)
    if second_list:
        copy = book.copy_worksheet(sheet)
        copy.title = "学生名单(2)"
    book.active = book.sheetnames.index(active)
    book.save(target)
    return target


def test_a_template_saved_with_its_instructions_in_front_is_read_from_its_list(checked_2021, tmp_path):
    # B16: the 填表说明 sheet has no header row naming the policy's columns; the 学生名单 sheet has.
    from engine.files.records import header_test

    target = _filled_template(checked_2021, tmp_path, "填表说明")
    table = read_table(target, is_header=header_test(checked_2021))
    (record,) = list(RecordReader(checked_2021, table))
    assert isinstance(record, Record) and record.values["grade"] == 2
    (warning,) = table.warnings
    assert "「填表说明」" in warning and "读取的是工作表「学生名单」" in warning


def test_a_filled_template_does_not_warn_about_its_own_instructions(checked_2021, tmp_path):
    from engine.files.records import header_test

    target = _filled_template(checked_2021, tmp_path, "学生名单")
    table = read_table(target, is_header=header_test(checked_2021))
    assert table.warnings == []
    assert len(list(RecordReader(checked_2021, table))) == 1


def test_two_sheets_that_both_look_like_lists_are_named_in_a_warning(checked_2021, tmp_path):
    from engine.files.records import header_test

    target = _filled_template(checked_2021, tmp_path, "填表说明", second_list=True)
    table = read_table(target, is_header=header_test(checked_2021))
    (warning,) = table.warnings
    assert "读取的是工作表「学生名单」" in warning and "「学生名单(2)」也像学生名单，可用 --sheet 指定" in warning


def _policy_problems(folder):
    import engine

    with pytest.raises(engine.PolicyError) as caught:
        engine.load(folder)
    return caught.value.diagnostics


def test_a_full_width_colon_in_a_policy_mapping_says_so_at_the_colon(tmp_path):
    # B18, block style: `rows:` then `初中：400` is one string to YAML where a mapping belongs.
    from tests.test_versions import version

    text = "override:\n  tables:\n    - id: day_rate\n      rows:\n        初中：400\n"
    folder = version(tmp_path, text)
    (problem,) = _policy_problems(folder)
    assert problem.code == "full-width-colon"
    lines = (folder / "policy.yaml").read_text(encoding="utf-8").splitlines()
    assert lines[problem.location.line - 1] == "        初中：400"
    assert problem.location.column == 11  # 8 spaces, 初, 中, then the colon: the 11th character
    assert "「初中: 400」" in problem.hint


def test_a_full_width_colon_in_a_flow_mapping_key_says_so(tmp_path):
    # B18, flow style: {初中：400} is a key 初中：400 (no value); a table key must be a 学段.
    from tests.test_versions import version

    folder = version(tmp_path, "override: {tables: [{id: day_rate, rows: {初中：400}}]}\n")
    (problem,) = _policy_problems(folder)
    assert "「初中: 400」" in problem.hint and "全角冒号" in problem.hint


def test_an_unless_item_missing_cite_and_text_is_reported_once(policy_copy):
    # B19: two missing keys are two schema errors, each message naming both: one diagnostic.
    path = policy_copy / "programs.yaml"
    text = path.read_text(encoding="utf-8")
    cited = "        cite: 一(二)2(2)\n        decision: A1\n        text: （已超过 16 周岁的不再发放）\n"
    assert text.count(cited) == 1
    path.write_text(text.replace(cited, "        decision: A1\n"), encoding="utf-8")
    (problem,) = _policy_problems(policy_copy)
    assert problem.code == "missing-key"
    assert "cite" in problem.message and "text" in problem.message


def test_a_policy_test_case_whose_grade_names_another_stage_is_an_error(policy_copy):
    # A8 in a policy test: 初三 is a 初中 grade, not one of 普通高中.
    import engine
    from engine.tools.policytest import load_cases

    (policy_copy / "tests" / "grade.yaml").write_text(
        "period: 2021秋季\n"
        "cases:\n"
        "  - name: 初三写在高中\n"
        "    student: {学段: 普通高中, 年级: 初三, 出生日期: 2005-01-01}\n"
        "    expect:\n"
        "      awards: {}\n",
        encoding="utf-8",
    )
    checked = engine.load(policy_copy)
    with pytest.raises(engine.PolicyError) as caught:
        load_cases(checked, policy_copy)
    (problem,) = caught.value.diagnostics
    assert problem.code == "grade-stage-mismatch"
    assert problem.location.file.endswith("grade.yaml")
