"""A later version and the county's school list (`known:` on 学校, policies/2021/fields.yaml), and the
checker's words on mistakes in the list (probe 3 findings 2, 3, 7, 11, 12).

A later version that stops listing a school must be able to drop the short forms and fee rows it
inherits for it (`remove: {fields.school.known.aliases: [...]}`, `remove: {tables.X.rows.普通高中: [...]}`),
and what is left over is located in the version's own file, not in 2021's.

Figures: the 2021 sample fee tables (policies/2021/tables.yaml): 普通高中 中阳县第二中学 学费 950;
普通高中 其他学校 学费 800; 国家助学金 1500.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import engine
from engine.backends.python.evaluator import Evaluator
from engine.check.known import folded
from engine.check.values import parse_value
from engine.files.template import blank_meaning
from engine.policy.model import Period
from tests.conftest import POLICY_2021
from tests.test_check import errors_of, plant
from tests.test_fallback_tables import AUTUMN, student

# The short forms 2021 lists for 中阳县第二中学 (policies/2021/fields.yaml).
SECOND_SCHOOL_ALIASES = ["中阳二中", "二中"]
FEE_TABLES = ["tuition_fee", "book_fee", "lodging_fee"]  # each has a 普通高中 中阳县第二中学 row


def version(folder: Path, body: str) -> Path:
    """A version extending policies/2021, effective 2025 autumn, with `body` below its manifest."""
    folder.mkdir()
    (folder / "policy.yaml").write_text(
        "policy:\n  id: zhongyang-2025\n  version: '2025.1'\n  extends: " + str(POLICY_2021) + "\n"
        "  title: 示例\n  effective: {from: 2025-autumn}\n  illustration: true\n" + body,
        encoding="utf-8",
    )
    return folder


def without_the_second_school(folder: Path, extra: str = "") -> Path:
    """A version whose school list is 2021's without 中阳县第二中学 (closed, say)."""
    schools = [s for s in engine.load(POLICY_2021).policy.fields["school"].known.values if s != "中阳县第二中学"]
    listed = "".join(f"          - {s}\n" for s in schools)
    return version(folder, "override:\n  fields:\n    - id: school\n      known:\n        values:\n" + listed + extra)


REMOVALS = (
    "remove:\n"
    f"  fields.school.known.aliases: [{', '.join(SECOND_SCHOOL_ALIASES)}]\n"
    + "".join(f"  tables.{t}.rows.普通高中: [中阳县第二中学]\n" for t in FEE_TABLES)
)


def test_dropping_a_school_says_what_is_left_in_the_versions_own_file(tmp_path):
    folder = without_the_second_school(tmp_path / "2025")
    found = errors_of(folder)
    # One error for the two inherited short forms, one per fee table with a row for the school.
    assert sorted(e.code for e in found) == ["alias-not-listed"] + ["unknown-value"] * 3
    assert all(e.location.file.endswith("2025/policy.yaml") for e in found)  # none in 2021/fields.yaml
    (aliases,) = [e for e in found if e.code == "alias-not-listed"]
    assert "remove: {fields.school.known.aliases: [中阳二中, 二中]}" in aliases.hint
    hints = " ".join(e.hint for e in found if e.code == "unknown-value")
    for table in FEE_TABLES:
        assert f"remove: {{tables.{table}.rows.普通高中: [中阳县第二中学]}}" in hints
    # No "did you mean" pointing the closed school's students at another school's fees.
    assert not any("中阳县第一中学" in e.hint or "是否想写" in e.hint for e in found)


def test_removing_the_short_forms_and_rows_makes_the_version_check_and_the_old_names_problems(tmp_path):
    checked = engine.load(without_the_second_school(tmp_path / "2025", REMOVALS))
    known = checked.policy.fields["school"].known
    assert "中阳二中" not in known.aliases and "中阳县第二中学" not in known.values
    assert "三中" not in known.aliases and known.aliases["宁乡镇一小"] == "宁乡镇第一小学"  # the others stay
    assert "中阳县第二中学" not in checked.policy.tables["tuition_fee"].rows["普通高中"]
    # An in-county 普通高中 student still written 中阳二中 is no longer read as a school: the fees keyed by
    # school are problems (unknown-value), never the 其他学校 row (800); 国家助学金 1500 does not read 学校.
    autumn_2025 = Period.parse("2025-autumn")
    result = Evaluator(checked, autumn_2025).evaluate(student(checked, stage="senior", grade=1, school="中阳二中"))
    assert {a.program: a.amount for a in result.awards} == {"national_grant": Decimal(1500)}
    assert {e.program: e.code for e in result.errors}["tuition_waiver"] == "unknown-value"


def test_removing_a_short_form_that_is_not_there_is_located(tmp_path):
    folder = version(tmp_path / "2025", "remove:\n  fields.school.known.aliases: [中阳三中]\n")
    (error,) = errors_of(folder)
    assert error.code == "unknown-name" and error.location.line == 9


def test_remove_refuses_an_items_own_keys(tmp_path):
    # label, amount … of an item are changed through override:, never dropped.
    folder = version(tmp_path / "2025", "remove:\n  fields.school.known: [required_when]\n")
    (error,) = errors_of(folder)
    assert error.code == "not-an-id-list"


def test_an_empty_short_form_in_an_override_points_to_remove(tmp_path):
    folder = version(tmp_path / "2025", "override:\n  fields:\n    - id: school\n      known:\n"
                                        "        aliases: {中阳二中: null}\n")  # fmt: skip
    (error,) = errors_of(folder)
    assert "remove: {fields.school.known.aliases: [中阳二中]}" in error.hint


def test_an_override_of_the_list_may_leave_out_values_and_inherits_them(tmp_path):
    folder = version(tmp_path / "2025", "override:\n  fields:\n    - id: school\n      known:\n"
                                        "        aliases: {县一中: 中阳县第一中学}\n")  # fmt: skip
    checked = engine.load(folder)
    info = checked.fields["school"]
    assert info.field.known.values == engine.load(POLICY_2021).policy.fields["school"].known.values
    assert parse_value(info.type, "县一中", info.field) == ("中阳县第一中学", "")
    assert parse_value(info.type, "二中", info.field) == ("中阳县第二中学", "")  # 2021's short forms stay


def test_a_new_list_on_a_field_without_one_still_needs_its_values(tmp_path):
    folder = version(tmp_path / "2025", "override:\n  fields:\n    - id: township\n      known:\n"
                                        "        aliases: {宁乡: 宁乡镇}\n")  # fmt: skip
    (error,) = errors_of(folder)
    assert error.code == "missing-key" and error.location.file.endswith("2025/policy.yaml")


# -- names that differ only in how a number or a letter is written --------------------------------------


def test_folding_reads_full_width_and_chinese_numerals_as_digits():
    assert folded("中阳县第２中学") == folded("中阳县第2中学") == folded("中阳县第二中学") == "中阳县第2中学"
    assert folded("第十二中学") == folded("第12中学") != folded("第2中学")
    assert folded("第二十三中学") == "第23中学" and folded("　ＡＢ ") == "AB"


def test_two_listed_names_written_with_full_and_half_width_digits_are_one_school(policy_copy):
    line = plant(policy_copy, "fields.yaml", "        - 中阳县第一中学\n",
                 "        - 中阳县第一中学\n        - 中阳县第2中学\n        - 中阳县第２中学\n")  # fmt: skip
    found = errors_of(policy_copy)
    # 第2 (line + 1) is read first; 第２ (line + 2) and the listed 第二 just below (line + 3) fold like it.
    assert [e.code for e in found] == ["duplicate-value", "duplicate-value"]
    assert [e.location.line for e in found] == [line + 2, line + 3]


def test_a_short_form_that_is_a_listed_name_in_other_digits_is_an_error(policy_copy):
    plant(policy_copy, "fields.yaml", "        中阳二中: 中阳县第二中学\n", "        中阳县第２中学: 中阳县第二中学\n")
    (error,) = errors_of(policy_copy)
    assert error.code == "alias-is-listed"


# -- the checker's words ------------------------------------------------------------------------------


def test_a_fallback_word_that_is_a_listed_school_is_located_at_fallback_without_follow_on_errors(policy_copy):
    text = (policy_copy / "tables.yaml").read_text(encoding="utf-8")
    lines = [n for n, line in enumerate(text.splitlines(), 1) if "fallback: {school: 其他学校}" in line]
    (policy_copy / "tables.yaml").write_text(
        text.replace("fallback: {school: 其他学校}", "fallback: {school: 中阳县第一中学}"), encoding="utf-8"
    )
    found = errors_of(policy_copy)
    # One per fee table keyed by school, at its fallback: line; no "其他学校 is not listed" after it.
    assert [e.code for e in found] == ["table-fallback"] * len(lines)
    assert [e.location.line for e in found] == lines


def test_a_short_form_pointing_at_a_short_form_names_the_full_name(policy_copy):
    plant(policy_copy, "fields.yaml", "        二中: 中阳县第二中学\n", "        二中: 中阳二中\n")
    (error,) = errors_of(policy_copy)
    assert error.code == "alias-not-listed" and "二中: 中阳县第二中学" in error.hint


def test_required_when_naming_an_option_field_shows_a_comparison(policy_copy):
    plant(policy_copy, "fields.yaml", "      required_when: 县内学校\n", "      required_when: 学段\n")
    (error,) = errors_of(policy_copy)
    assert error.code == "type-mismatch" and 'required_when: 学段 == "' in error.hint


def test_the_row_message_for_a_far_off_school_points_to_the_template_not_the_policy(checked_2021):
    result = Evaluator(checked_2021, AUTUMN).evaluate(
        student(checked_2021, stage="senior", grade=1, school="ＺＨＯＮＧ", boarding=True)
    )
    messages = [e.message for e in result.errors if e.code == "unknown-value"]
    assert len(messages) == 3  # 免学费, 免书本费, 免住宿费: each keyed by school
    # 24 schools are listed (more than are shown whole): the message names where the list is.
    assert all("known" not in m and "填表说明" in m and m.endswith("。") for m in messages)


def test_the_template_says_a_blank_cell_makes_the_row_a_problem_not_rejected(checked_2021):
    grade = checked_2021.fields["grade"]  # no blank: meaning, not required: a blank is unknown
    assert not grade.field.required and not grade.field.has_blank
    words = blank_meaning(grade)
    assert "有问题" in words and "退回" not in words
