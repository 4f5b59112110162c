"""A text field's declared known values (`known:` on 学校 in policies/2021/fields.yaml): aliases are
read as their school everywhere, and where `required_when` (县内学校) holds, a school outside the
list is a problem at every lookup keyed by it — never the 其他学校 row (engine/check/tables.py).

Figures are the 2021 sample fee tables (policies/2021/tables.yaml): 普通高中 中阳县第二中学 学费 950,
书本 420/380/320, 住宿 360; 普通高中 其他学校 学费 800, 书本 400/350/300, 住宿 300; 中职 其他学校 学费
1000, 书本 300/300/200, 住宿 250; 国家助学金 1500.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner

import engine
from engine.backends.python.evaluator import Evaluator
from engine.check.values import parse_value, value_parser
from engine.cli import main
from examples.generate import HEADERS
from tests.conftest import POLICY_2021
from tests.test_check import errors_of, plant
from tests.test_fallback_tables import AUTUMN, both_engines, fees, school_rows, student


def errors(result) -> dict[str, tuple[str, str, str]]:
    return {e.program: (e.code, e.field, e.message) for e in result.errors}


# -- the one converter: an alias is its school ---------------------------------------------------------


def test_an_alias_is_read_as_its_school_by_the_converter(checked_2021):
    info = checked_2021.fields["school"]
    assert parse_value(info.type, " 中阳二中 ", info.field) == ("中阳县第二中学", "")
    assert value_parser(info.type, info.field)("二中") == ("中阳县第二中学", "")
    # A value outside the list is read as written: whether it may be is the lookup's to say.
    assert value_parser(info.type, info.field)("中阳县第三中学 ") == ("中阳县第三中学", "")


# -- the meaning: fees keyed by school -------------------------------------------------------------------


def test_an_in_county_school_outside_the_list_is_a_problem_not_the_other_row(checked_2021):
    result = Evaluator(checked_2021, AUTUMN).evaluate(
        student(checked_2021, stage="senior", grade=1, school="中阳县第三中学", boarding=True)
    )
    # 国家助学金 1500 does not read the school: paid. The three fees keyed by school: problems, not 800/400/300.
    assert {a.program: a.amount for a in result.awards} == {"national_grant": Decimal(1500)}
    found = errors(result)
    assert set(found) == {"tuition_waiver", "textbook_waiver", "lodging_waiver"}
    code, field, message = found["tuition_waiver"]
    assert code == "unknown-value" and field == "school"
    assert "中阳县第三中学" in message and "「中阳县第二中学」" in message  # the value, and the nearest listed ones


def test_a_listed_school_without_its_own_row_takes_the_other_row(checked_2021):
    # 中阳县第一中学 is listed (fields.yaml) but has no fee row: 普通高中 其他学校, 800 + 400 + 300.
    result = Evaluator(checked_2021, AUTUMN).evaluate(
        student(checked_2021, stage="senior", grade=1, school="中阳县第一中学", boarding=True)
    )
    assert fees(result) == {"tuition_waiver": 800, "textbook_waiver": 400, "lodging_waiver": 300}
    assert not result.errors


OUTSIDE_TOO = (
    "    when:\n      - 已入学\n      - 县内受助对象\n      - 就读方式 == \"在校\"\n"
    "      - 学段 in [\"普通高中\", \"中职\"]\n    amount: 学费标准[学段, 学校]\n"
)


def test_an_out_of_county_school_takes_the_other_row(policy_copy):
    # The 2021 waivers need 县内学校; planted: 免学费 for any 原建档立卡学生, so an out-of-county school
    # reaches the lookup. 汾阳市中学 (县内学校 否) is no listed school: 普通高中 其他学校, 800.
    plant(policy_copy, "programs.yaml", OUTSIDE_TOO, OUTSIDE_TOO.replace("县内受助对象", "原建档立卡学生"))
    checked = engine.load(policy_copy)
    evaluator = Evaluator(checked, AUTUMN)
    outside = evaluator.evaluate(student(checked, stage="senior", grade=1, school="汾阳市中学", school_in_county=False))
    assert fees(outside)["tuition_waiver"] == 800 and not outside.errors
    # The same school in the county: a problem (unknown-value); its alias 中阳二中 in the county: 950.
    inside = evaluator.evaluate(student(checked, stage="senior", grade=1, school="汾阳市中学"))
    assert errors(inside)["tuition_waiver"][0] == "unknown-value"
    alias = evaluator.evaluate(student(checked, stage="senior", grade=1, school="中阳县第二中学"))
    assert fees(alias)["tuition_waiver"] == 950


def test_whether_in_county_unknown_leaves_an_unlisted_school_undecided(policy_copy):
    # As above, and 县内学校 may be blank (its `blank: 否` removed): for a school outside the list,
    # which row applies depends on the blank — missing-fact naming 县内学校; a listed one is decided.
    plant(policy_copy, "programs.yaml", OUTSIDE_TOO, OUTSIDE_TOO.replace("县内受助对象", "原建档立卡学生"))
    plant(policy_copy, "fields.yaml", "    label: 县内学校\n    type: bool\n    blank: 否\n",
          "    label: 县内学校\n    type: bool\n")  # fmt: skip
    checked = engine.load(policy_copy)
    evaluator = Evaluator(checked, AUTUMN)
    unlisted = evaluator.evaluate(student(checked, stage="senior", grade=1, school="汾阳市中学", school_in_county=None))
    code, field, _ = errors(unlisted)["tuition_waiver"]
    assert code == "missing-fact" and field == "school_in_county"
    listed = evaluator.evaluate(
        student(checked, stage="senior", grade=1, school="中阳县第一中学", school_in_county=None)
    )
    assert fees(listed)["tuition_waiver"] == 800  # listed, no row of its own: 其他学校


# -- files: both engines, explain ------------------------------------------------------------------------


def test_duckdb_and_python_agree_byte_for_byte_on_aliases_and_unknown_schools(tmp_path, checked_2021):
    # On 普通高中 and 中职 rows: listed schools, aliases (with spaces too), unlisted names, blanks, an
    # out-of-county school; 县内学校 是, 否 or blank (否).
    schools = ("中阳县第二中学", "中阳二中", " 二中 ", "中阳县第三中学", "中阳县职高", "", "中阳县职业中学",
               "汾阳市中学")  # fmt: skip
    rows = school_rows(3000, seed=5, schools=schools, in_county=("是", "是", "否", ""))
    python, duck = both_engines(tmp_path / "学生.csv", rows, checked_2021, AUTUMN)
    assert duck == python
    joined = "\n".join(python)
    assert '"amount": "950.00"' in joined and '"code": "unknown-value"' in joined  # aliases paid, unknowns loud


def test_explain_shows_the_school_an_alias_names_and_how_the_file_wrote_it(tmp_path: Path):
    path = tmp_path / "学生.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        facts = {"身份证号": "141129200505071784", "姓名": "测试", "出生日期": "2005-05-07", "本县户籍": "是",
                 "家庭类型": "脱贫户", "学段": "普通高中", "年级": "2", "学校": "中阳二中", "县内学校": "是",
                 "有学籍": "是", "就读方式": "在校"}  # fmt: skip
        writer.writerow(HEADERS)
        writer.writerow([facts.get(h, "") for h in HEADERS])
    shown = CliRunner().invoke(main, ["explain", str(path), "--policy", str(POLICY_2021), "--period", "2021-autumn",
                                      "--id", "141129200505071784"])  # fmt: skip
    assert "学校 = 中阳县第二中学（文件中写作「中阳二中」）" in shown.output
    assert "按学校「中阳县第二中学」一行的标准" in shown.output


# -- the checker: every mistake in the list, located ---------------------------------------------------


def test_a_school_listed_twice_is_located(policy_copy):
    twice = "        - 中阳县第二中学\n        - 中阳县第二中学\n"
    line = plant(policy_copy, "fields.yaml", "        - 中阳县第二中学\n", twice)
    (error,) = errors_of(policy_copy)
    assert error.code == "duplicate-value" and error.location.file.endswith("fields.yaml")
    assert error.location.line == line + 1


def test_an_alias_naming_an_unlisted_school_is_located(policy_copy):
    written = "        中阳二中: 中阳县第二中学\n"
    line = plant(policy_copy, "fields.yaml", written, written.replace("第二中学", "第二中学校"))
    (error,) = errors_of(policy_copy)
    assert error.code == "alias-not-listed" and error.location.line == line and "中阳县第二中学" in error.hint


def test_an_alias_that_is_a_listed_name_is_an_error(policy_copy):
    plant(policy_copy, "fields.yaml", "        中阳二中: 中阳县第二中学\n", "        中阳县第一中学: 中阳县第二中学\n")
    (error,) = errors_of(policy_copy)
    assert error.code == "alias-is-listed" and error.location.file.endswith("fields.yaml")


def test_a_fee_row_for_a_school_not_in_the_list_is_located(policy_copy):
    line = plant(policy_copy, "tables.yaml", "        中阳县第二中学: 950\n", "        中阳县第三中学: 950\n")
    (error,) = errors_of(policy_copy)
    assert error.code == "unknown-value" and error.location.file.endswith("tables.yaml") and error.location.line == line


def test_a_fee_row_written_with_an_alias_says_to_write_the_full_name(policy_copy):
    plant(policy_copy, "tables.yaml", "        中阳县第二中学: 360\n", "        中阳二中: 360\n")
    (error,) = errors_of(policy_copy)
    assert error.code == "unknown-value" and "中阳县第二中学" in error.hint


def test_known_values_on_a_field_that_is_not_text_are_an_error(policy_copy):
    plant(policy_copy, "fields.yaml", "    label: 县内学校\n    type: bool\n",
          "    label: 县内学校\n    type: bool\n    known: {values: [是]}\n")  # fmt: skip
    (error,) = errors_of(policy_copy)
    assert error.code == "known-type"


def test_required_when_must_be_a_condition(policy_copy):
    plant(policy_copy, "fields.yaml", "      required_when: 县内学校\n", "      required_when: 年级\n")
    (error,) = errors_of(policy_copy)
    assert error.code == "type-mismatch" and error.location.file.endswith("fields.yaml")


def test_the_template_lists_the_county_schools_for_the_school_column(tmp_path):
    import openpyxl

    target = tmp_path / "模板.xlsx"
    made = CliRunner().invoke(main, ["template", "--policy", str(POLICY_2021), "-o", str(target)])
    assert made.exit_code == 0, made.output
    guide = openpyxl.load_workbook(target)["填表说明"]
    (school,) = [row for row in guide.iter_rows(values_only=True) if row and row[0] == "学校"]
    assert "中阳县第二中学" in school[3].split("、") and "「县内学校」为是时" in school[5]


def test_diff_names_the_schools_and_short_forms_a_version_adds(tmp_path, checked_2021):
    from engine.tools.diff import structural_diff

    listed = "".join(f"          - {school}\n" for school in checked_2021.policy.fields["school"].known.values)
    (tmp_path / "policy.yaml").write_text(
        "policy:\n  id: zhongyang-2025\n  version: '2025.1'\n  extends: " + str(POLICY_2021) + "\n"
        "  title: 示例\n  effective: {from: 2025-autumn}\n  illustration: true\n"
        "override:\n  fields:\n    - id: school\n      known:\n        values:\n" + listed
        + "          - 中阳县第三中学\n        aliases: {三中: 中阳县第三中学}\n",
        encoding="utf-8",
    )
    changes = {c.aspect: (c.old, c.new) for c in structural_diff(checked_2021, engine.load(tmp_path))}
    assert changes["已知取值"] == ("", "中阳县第三中学") and changes["简称"] == ("", "三中 → 中阳县第三中学")
    assert "须为已知取值的条件" not in changes  # inherited: the short forms merge, the condition stays


def test_the_prover_states_the_same_meaning(checked_2021):
    # z3: 免学费 is a problem for an in-county student at a school outside the list, and only then
    # (out of the county, or at a listed school, the same student is decided).
    import z3

    from engine.backends.smt.encode import PolicyEncoding, Student

    student_ = Student(checked_2021, checked_2021.manifest.reference_date(AUTUMN))
    tuition = PolicyEncoding(checked_2021, AUTUMN, student_).programs["tuition_waiver"]
    school, in_county = student_.vars["school"], student_.vars["school_in_county"]

    def possible(*facts) -> bool:
        solver = z3.Solver()
        solver.add(*student_.domain, *facts)
        return solver.check() == z3.sat

    unlisted = school == z3.StringVal("中阳县第三中学")
    assert possible(tuition.failed, unlisted, in_county)
    assert not possible(tuition.failed, unlisted, z3.Not(in_county))
    assert not possible(tuition.failed, school == z3.StringVal("中阳县第二中学"))


def test_a_rule_naming_a_school_reads_a_short_form_as_its_school_and_refuses_an_unlisted_one(policy_copy):
    # Cells are read as full names: a rule's 「中阳二中」 must be too, or it would never match.
    line = plant(policy_copy, "programs.yaml", OUTSIDE_TOO, OUTSIDE_TOO.replace(
        "      - 已入学\n", "      - 已入学\n      - 学校 == \"中阳二中\"\n"))  # fmt: skip
    checked = engine.load(policy_copy)
    paid = Evaluator(checked, AUTUMN).evaluate(student(checked, stage="senior", grade=1, school="中阳县第二中学"))
    assert fees(paid)["tuition_waiver"] == 950  # the listed school, 其他学校 not reached
    plant(policy_copy, "programs.yaml", '学校 == "中阳二中"', '学校 == "中阳县第三中学"')
    (error,) = errors_of(policy_copy)
    assert error.code == "unknown-value" and error.location.file.endswith("programs.yaml")
    assert error.location.line > line
