"""The checker: planted mistakes in a copy of policies/2021 each give one located error."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
from engine.diagnostics import PolicyError


def plant(folder: Path, file: str, old: str, new: str) -> int:
    """Replace `old` (once) in a policy file; return the 1-based line it stands on."""
    path = folder / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= 1, f"{old!r} not in {file}"
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return line


def errors_of(folder: Path) -> list:
    with pytest.raises(PolicyError) as info:
        engine.load(folder)
    return info.value.diagnostics


def test_the_2021_policy_checks_clean(checked_2021):
    assert len(checked_2021.programs) == 9
    assert len(checked_2021.checks) == 12  # 3 控辍保学, 3 跟进告知, 6 数据核对 (C1 added one)


def test_typo_in_a_field_name_is_located_with_a_suggestion(policy_copy):
    line = plant(policy_copy, "programs.yaml", "      - if: 校内住宿\n", "      - if: 校内住宿x\n")
    (error,) = errors_of(policy_copy)
    assert error.location.file.endswith("programs.yaml")
    assert error.location.line == line
    assert error.location.column == 13  # the name starts after "      - if: "
    assert error.code == "unknown-name" and "校内住宿x" in error.message
    assert "「校内住宿」" in error.hint


def test_typo_in_an_enum_value_is_an_error_not_a_rule_that_never_matches(policy_copy):
    line = plant(policy_copy, "checks.yaml", '学段 in ["小学", "初中"]', '学段 in ["小学", "初仲"]')
    (error,) = errors_of(policy_copy)
    assert error.location.line == line
    assert error.code == "enum-value" and "初仲" in error.message
    assert "「初中」" in error.hint


def test_typo_in_a_table_key_is_located_with_a_suggestion(policy_copy):
    line = plant(policy_copy, "tables.yaml", "      中职:\n        其他学校: 1000\n", "      中织: {其他学校: 1000}\n")
    (error,) = errors_of(policy_copy)
    assert (error.location.file.endswith("tables.yaml"), error.location.line) == (True, line)
    assert error.code == "table-keys" and "中织" in error.message
    assert "「中职」" in error.hint


def test_an_amount_that_is_not_money_is_refused(policy_copy):
    plant(policy_copy, "programs.yaml", "    amount: 1000\n", "    amount: 年级\n")
    (error,) = errors_of(policy_copy)
    assert error.code == "type-mismatch" and error.location.file.endswith("programs.yaml")


def test_a_condition_that_is_not_boolean_is_refused(policy_copy):
    plant(policy_copy, "checks.yaml", "      - 学习困难 or 厌学\n", "      - 年级 + 1\n")
    (error,) = errors_of(policy_copy)
    assert error.code == "type-mismatch" and error.location.file.endswith("checks.yaml")


def test_a_lookup_with_the_wrong_number_of_keys(policy_copy):
    plant(policy_copy, "programs.yaml", "书本费标准[学段, 学校, 年级]", "书本费标准[学段, 年级]")
    (error,) = errors_of(policy_copy)
    assert error.code == "table-keys" and error.location.file.endswith("programs.yaml")


def test_a_program_that_refers_to_itself_through_others(policy_copy):
    plant(
        policy_copy,
        "programs.yaml",
        "      - 高中职学段\n",
        "      - 高中职学段\n      - not awarded(tuition_waiver)\n",
    )
    plant(
        policy_copy,
        "programs.yaml",
        "    amount: 学费标准[学段, 学校]",
        "    amount: 学费标准[学段, 学校] + amount(national_grant)",
    )
    errors = errors_of(policy_copy)
    assert any(e.code == "cycle" and "国家助学金" in e.message and "免学费" in e.message for e in errors)


def test_all_errors_are_reported_at_once_in_source_order(policy_copy):
    plant(policy_copy, "checks.yaml", "      - 学习困难 or 厌学\n", "      - 学习困难 or 厌学x\n")
    plant(policy_copy, "groups.yaml", '家庭类型 == "脱贫户"', '家庭类型 == "脱贫"')
    plant(policy_copy, "programs.yaml", "    amount: 1500\n", "    amount: 1500 +\n")
    errors = errors_of(policy_copy)
    files = [Path(e.location.file).name for e in errors]
    assert files == ["checks.yaml", "groups.yaml", "programs.yaml"]
    assert [e.code for e in errors] == ["unknown-name", "enum-value", "syntax"] and "^" in errors[2].excerpt


def test_schema_errors_point_at_the_yaml_node(policy_copy):
    line = plant(policy_copy, "programs.yaml", "    kind: loan\n", "    kind: lone\n")
    (error,) = errors_of(policy_copy)
    assert error.location.line == line
    assert error.code == "not-allowed" and "loan" in error.hint


def test_unknown_key_in_a_program_gets_a_suggestion(policy_copy):
    plant(policy_copy, "programs.yaml", "    per: once\n", "    per: once\n    uless: []\n")
    (error,) = errors_of(policy_copy)
    assert error.code == "unknown-key" and "uless" in error.message and "「unless」" in error.hint


def test_duplicate_yaml_keys_are_an_error(policy_copy):
    plant(policy_copy, "programs.yaml", "    amount: 1000\n", "    amount: 1000\n    amount: 2000\n")
    (error,) = errors_of(policy_copy)
    assert error.code == "duplicate-key"


def test_mutual_yielding_is_refused(policy_copy):
    plant(
        policy_copy,
        "programs.yaml",
        "    amount: 寄宿生生活费补助标准[学段]\n",
        "    amount: 寄宿生生活费补助标准[学段]\n"
        "    not_with:\n      - program: day_subsidy\n        cite: 一(二)2(2)\n        text: 不能同时享受\n",
    )
    errors = errors_of(policy_copy)
    assert any(e.code == "relation" for e in errors)


_YAML_PIECES = (
    "programs:", "fields:", "policy:", "  - id: x", "    when: ", "    amount: ", "学段 ==", '"小学"', "[", "]", "{",
    "}", ":", "- ", "\t", "  ", "\n", "&a", "*a", "!!python/object:os.system", "1.5", "否", "#", "'", "<<: *a",
)  # fmt: skip
_yaml_pieces = st.sampled_from(_YAML_PIECES)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.text(max_size=80), st.lists(_yaml_pieces, max_size=25).map("".join)))
def test_random_text_never_crashes_the_loader(tmp_path_factory, text):
    folder = tmp_path_factory.mktemp("p")
    (folder / "policy.yaml").write_text(text, encoding="utf-8")
    try:
        engine.load(folder)
    except PolicyError as exc:
        assert exc.diagnostics
        assert all(d.location is not None and d.location.file for d in exc.diagnostics)
        assert all(d.code for d in exc.diagnostics)  # every diagnostic carries a stable code


def test_an_error_inside_a_folded_multi_line_expression_points_at_its_own_line(policy_copy):
    line = plant(policy_copy, "groups.yaml", "      or 孤儿 or 烈士子女", "      or 孤而 or 烈士子女")
    (error,) = errors_of(policy_copy)
    assert (error.location.line, error.location.column) == (line, 10)
    assert error.code == "unknown-name" and "孤而" in error.message and "「孤儿」" in error.hint


def test_an_expression_past_the_nesting_limit_is_a_located_check_error(policy_copy):
    # 40 nested `not`s: past the documented 32 levels, refused at the 33rd, never a RecursionError later.
    line = plant(policy_copy, "checks.yaml", "      - 学习困难 or 厌学\n", "      - " + "not " * 40 + "厌学\n")
    (error,) = errors_of(policy_copy)
    assert (error.code, error.location.line) == ("too-deep", line)


def test_a_condition_that_yaml_reads_as_a_date_is_a_located_error_not_a_crash(policy_copy):
    # `when: 2021-09-01` is a date to YAML; as a condition it is not 是/否.
    line = plant(policy_copy, "groups.yaml", '    when: 家庭类型 == "脱贫户"', "    when: 2021-09-01")
    errors = errors_of(policy_copy)
    assert [(e.code, e.location.line) for e in errors][:1] == [("type-mismatch", line)]
