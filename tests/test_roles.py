"""Field roles: a county whose fields have other ids (sfzh, xm, xx …) works unchanged, because the
engine asks for the field of a role (identity_number, name, school …), never for an id."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

import engine
from engine.check import idcard
from engine.check.types import INT
from engine.check.values import parse_value
from engine.cli import main
from engine.files.records import find_student
from engine.files.writers import write_xlsx
from engine.tools.ledger import Ledger, resolve_grouping

POLICY = {
    "policy.yaml": """
        policy:
          id: other-county-2021
          version: "2021.1"
          title: 另一县学生生活补助（测试用）
          source: {issuer: 另一县教育局, number: 另教〔2021〕1号, title: 生活补助办法, date: "2021-08-01"}
          effective: {from: 2021-autumn}
          currency: CNY
          rounding: half_up
          semesters:
            autumn: {label: 秋季学期, reference_date: "09-01", cite: 一, text: 秋季学期}
            spring: {label: 春季学期, reference_date: "03-01", cite: 一, text: 春季学期}
        """,
    "fields.yaml": """
        fields:
          - {id: sfzh, label: 身份证号, role: identity_number, type: text, format: resident_id, required: true,
             unique: true}
          - {id: xm, label: 姓名, role: name, type: text, required: true}
          - {id: xx, label: 学校, role: school, type: text}
          - {id: xz, label: 乡镇, role: township, type: text}
          - id: xd
            label: 学段
            role: stage
            type: enum
            values: [{id: xiaoxue, label: 小学}, {id: chuzhong, label: 初中}]
          - {id: nj, label: 年级, role: grade, type: int, min: 1, max: 9}
          - {id: js, label: 寄宿, type: bool, blank: 否}
        """,
    "tables.yaml": """
        tables:
          - id: fz_rate
            label: 非寄宿标准
            keys: [xd]
            cite: 二(一)
            text: 非寄宿生小学 250 元，初中 312.5 元。
            rows: {小学: 250, 初中: 312.5}
          - id: js_rate
            label: 寄宿标准
            keys: [xd]
            cite: 二(二)
            text: 寄宿生小学 500 元，初中 625 元。
            rows: {小学: 500, 初中: 625}
        """,
    "programs.yaml": """
        programs:
          - id: fzbz
            label: 非寄宿生生活补助
            kind: grant
            per: semester
            cite: 二(一)
            text: 非寄宿生小学 250 元，初中 312.5 元。
            when: [not 寄宿]
            amount: 非寄宿标准[学段]
          - id: jsbz
            label: 寄宿生生活费补助
            kind: grant
            per: semester
            cite: 二(二)
            text: 寄宿生小学 500 元，初中 625 元。
            when: [寄宿]
            amount: 寄宿标准[学段]
        """,
}

ZHANG = "14112920080501001" + idcard.check_digit("14112920080501001")  # 初中, not boarding
LI = "14112920130302002" + idcard.check_digit("14112920130302002")  # 小学, boarding
BAD_CHECK = "14112920100101003" + ("0" if idcard.check_digit("14112920100101003") != "0" else "1")
STUDENTS = f"""身份证号,姓名,学校,乡镇,学段,年级,寄宿
{ZHANG},张三,一中,城关镇,初中,初二,否
{LI},李四,二小,城关镇,小学,三年级,是
{BAD_CHECK},王五,一中,城关镇,初中,1,否
"""


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


@pytest.fixture()
def county(tmp_path: Path) -> engine.Policy:
    return engine.load(_write(tmp_path / "policy", POLICY))


@pytest.fixture()
def students(tmp_path: Path) -> Path:
    path = tmp_path / "students.csv"
    path.write_text(STUDENTS, encoding="utf-8")
    return path


def test_the_engine_finds_each_role_under_the_countys_own_field_ids(county):
    assert county.roles == {
        "identity_number": "sfzh", "name": "xm", "school": "xx", "township": "xz", "stage": "xd", "grade": "nj",
    }  # fmt: skip
    # --by school / township (as `zizhu ledger`, `reconcile`, `followup` take them) names the role's field.
    assert resolve_grouping(county, "school") == "xx"
    assert resolve_grouping(county, "township") == "xz"


def test_a_policy_with_other_field_ids_evaluates(county, students):
    row2, row3, row4 = county.evaluate(students, "2021-autumn")
    # 张三: 初中, not boarding → 非寄宿 初中 312.5 (二(一)); 年级 初二 read as 2 (the grade role's way of writing).
    assert {a.program: a.amount for a in row2.awards} == {"fzbz": Decimal("312.5")}
    assert row2.values["nj"] == 2
    # 李四: 小学, boarding → 寄宿 小学 500 (二(二)); 三年级 → 3.
    assert {a.program: a.amount for a in row3.awards} == {"jsbz": Decimal("500")}
    assert row3.values["nj"] == 3
    # 王五: the ID's check digit is wrong → rejected, named by the ID and name read through their roles.
    assert isinstance(row4, engine.Rejected)
    assert (row4.row, row4.id_number, row4.name) == (4, BAD_CHECK, "王五")
    assert [e.field for e in row4.reasons] == ["sfzh"]


def test_a_result_carries_the_id_and_name_read_through_their_roles(county, students):
    row2 = next(iter(county.evaluate(students, "2021-autumn")))
    assert (row2.id_number, row2.name) == (ZHANG, "张三")


def test_a_policy_with_other_field_ids_explains(county, students):
    found = find_student(county.read(students).with_cells(), county, ZHANG.lower())  # by the identity role, any case
    assert found is not None
    record, cells = found
    assert record.values["xm"] == "张三" and "张三" in cells.values()
    explained = county.explain(record, "2021-autumn")
    # 张三 is not boarding: 非寄宿 初中 312.5 awarded, 寄宿 denied (its one condition 寄宿 is false).
    outcomes = {e.item: (e.outcome, e.amount) for e in explained.explanations}
    assert outcomes == {"fzbz": ("awarded", Decimal("312.5")), "jsbz": ("denied", None)}
    assert "【非寄宿生生活补助】享受 312.50 元" in explained.text
    assert "【寄宿生生活费补助】不享受" in explained.text
    # The same through the command line: `zizhu explain --id` looks the student up by role.
    result = CliRunner().invoke(
        main, ["explain", str(students), "--policy", str(county.policy.folder), "--period", "2021-autumn",
               "--id", LI],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "【寄宿生生活费补助】享受 500.00 元" in result.output


def test_a_policy_with_other_field_ids_writes_xlsx(county, students, tmp_path):
    ledger = Ledger(county)
    out = tmp_path / "结果.xlsx"
    write_xlsx(str(out), county, ledger.observe(county.evaluate(students, "2021-autumn")), ledger.table)
    book = openpyxl.load_workbook(out)
    sheet = list(book["学生"].values)
    # The context columns are the fields with roles school, township, stage, grade, under their labels.
    assert sheet[0][:8] == ("行", "身份证号", "姓名", "学校", "乡镇", "学段", "年级", "状态")
    assert sheet[1][3:8] == ("一中", "城关镇", "初中", 2, "已评估")  # 年级 is a number Excel can filter and sort
    assert sheet[2][3:8] == ("二小", "城关镇", "小学", 3, "已评估")
    awards = [(r[0], r[4], r[7]) for r in list(book["资助明细"].values)[1:]]
    assert awards == [(2, "fzbz", Decimal("312.5")), (3, "jsbz", 500)]
    rejected = list(book["退回与问题"].values)[1:]  # 行, 身份证号, 姓名, 学校, 乡镇, 状态, 列, 问题, 代码
    assert [(r[0], r[1], r[2], r[5], r[6]) for r in rejected] == [(4, BAD_CHECK, "王五", "退回", "身份证号")]
    # 台账: 312.5 + 500 = 812.5 given in all, nothing lent.
    totals = {r[0]: Decimal(str(r[5])) for r in book["台账"].values if str(r[0]).startswith("合计")}
    assert totals == {"合计（补助与减免）": Decimal("812.5"), "合计（贷款）": Decimal(0)}


def _errors_with_fields(folder: Path, fields_yaml: str) -> list:
    """The diagnostics of loading the county's policy with other fields."""
    with pytest.raises(engine.PolicyError) as caught:
        engine.load(_write(folder, {**POLICY, "fields.yaml": fields_yaml}))
    return caught.value.diagnostics


def test_a_role_declared_twice_is_a_located_error(tmp_path):
    (problem,) = _errors_with_fields(tmp_path, POLICY["fields.yaml"].replace("role: township", "role: school"))
    assert problem.code == "duplicate-role"
    assert problem.location is not None and problem.location.file.endswith("fields.yaml")
    # The second field with role school (乡镇): line 1 of the file is blank, fields: 2, sfzh 3–4, xm 5, xx 6, xz 7.
    assert problem.location.line == 7


def test_a_name_role_on_a_number_field_is_an_error(tmp_path):
    # 姓名 loses its role; 年级 (an integer) claims it.
    fields = POLICY["fields.yaml"].replace("role: name, ", "").replace("role: grade", "role: name")
    assert [d.code for d in _errors_with_fields(tmp_path, fields)] == ["role-type"]


def test_an_unknown_role_is_refused_by_the_schema(tmp_path):
    (problem,) = _errors_with_fields(tmp_path, POLICY["fields.yaml"].replace("role: township", "role: village"))
    # At the value itself (乡镇 is on line 7), naming the roles there are.
    assert problem.location is not None and (problem.location.line, problem.location.column) == (7, 31)
    assert "identity_number、name、school、township、stage、grade" in problem.hint


def test_grade_words_are_read_only_for_the_grade_field(county):
    grade, siblings = county.policy.fields["nj"], county.policy.fields["js"]
    # 初二 is the second year: 2; for the field with role grade only.
    assert parse_value(INT, "初二", grade) == (2, "")
    assert parse_value(INT, "三年级", grade) == (3, "")
    value, problem = parse_value(INT, "初二", None)
    assert value is None and "不是整数" in problem
    assert siblings.role is None


def test_the_python_api_takes_records_as_dicts(county):
    """`engine.load(folder).evaluate(records, period)` and `.explain(record, period)`, no files, no CLI."""
    zhang = {"身份证号": ZHANG, "姓名": "张三", "学校": "一中", "学段": "初中", "年级": "初二", "寄宿": "否"}
    li = {"身份证号": LI, "姓名": "李四", "学段": "小学", "年级": 3, "寄宿": "是"}
    first, second = county.evaluate([zhang, li], "2021-autumn")
    # Rows are numbered as in a sheet whose header is row 1.
    assert (first.row, {a.program: a.amount for a in first.awards}) == (2, {"fzbz": Decimal("312.5")})
    assert (second.row, {a.program: a.amount for a in second.awards}) == (3, {"jsbz": Decimal("500")})
    explained = county.explain(li, "2021-autumn")
    assert explained.outcome.awards[0].amount == Decimal("500")  # 寄宿 小学: 500 (二(二))
    assert "【寄宿生生活费补助】享受 500.00 元" in explained.text
    # A row that cannot be read is not explained: the outcome says why.
    rejected = county.explain({**li, "身份证号": BAD_CHECK}, "2021-autumn")
    assert isinstance(rejected.outcome, engine.Rejected) and rejected.explanations == []
    assert "被退回" in rejected.text
