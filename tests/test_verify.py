"""zizhu verify: proofs over every possible student, and planted faults each caught with a
counterexample that the Python back end and `zizhu explain` confirm."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

import engine
from engine.check import idcard
from engine.check.stages import check_policy
from engine.cli import main
from engine.policy import model as m
from engine.policy.loader import load_policy
from engine.tools import verify as v
from engine.tools.diff import structural_diff
from tests.conftest import POLICY_2021, ROOT

AUTUMN_2021 = m.Period(2021, "autumn")
SPRING_2024 = m.Period(2024, "spring")


def run(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def failed(report: v.Report, code: str) -> list[v.Finding]:
    return [f for f in report.failed if f.code == code]


def awards(example: v.Counterexample) -> dict[str, Decimal]:
    (result,) = example.results.values()
    return {a.program: a.amount for a in result.awards}


def test_counterexample_students_are_real_rows():
    """A row built from a solver's student: valid resident ID, the birth date inside it."""
    report = v.verify_policy(_with_consistency_removed(), [AUTUMN_2021])
    assert report.counterexamples  # the 普通高中 年级 4 pupil with no 书本费 cell
    for example in report.counterexamples:
        assert idcard.problem(example.id_number) == ""
        assert example.row["出生日期"] == idcard.birth_date(example.id_number).isoformat()


@pytest.mark.parametrize("version", ["2021", "2023", "2024", "2024-autumn"])
def test_every_shipped_version_is_proven(version):
    report = v.verify_policy(engine.load(ROOT / "policies" / version))
    assert report.failed == [], v.render(report)
    proven = {f.statement for f in report.findings if f.code == "property" and f.holds}
    assert "寄宿生生活费补助与非寄宿生生活补助不同时享受" in proven  # the 2021 properties are inherited


def test_cli_verify_2021_exits_0_and_lists_its_assumptions():
    result = run("verify", POLICY_2021)
    assert result.exit_code == 0, result.output
    assert "学期 2021年秋季学期" in result.output and "学期 2022年春季学期" in result.output
    assert "前提" in result.output and "共 " in result.output


def test_a_quota_is_verified_as_unlimited_and_says_so(policy_copy):
    edit(policy_copy / "programs.yaml", "      count: null", "      count: 10")
    result = run("verify", policy_copy, "--period", "2021-autumn")
    assert "设有名额的项目（滋蕙计划资助）按名额不限验证" in result.output


def test_not_with_removed_from_day_subsidy_gives_a_pupil_with_both_subsidies(policy_copy, tmp_path):
    programs = policy_copy / "programs.yaml"
    edit(
        programs,
        """    not_with:
      - program: boarding_subsidy
        cite: 一(二)2(2)
        text: 该补助项目不能与寄宿生生活费补助项目同时享受。
""",
        "",
    )
    report = v.verify_policy(engine.load(policy_copy), [AUTUMN_2021])
    (finding,) = [f for f in failed(report, "property") if "不同时享受" in f.statement]
    got = awards(finding.counterexample)
    # A boarder in 小学 gets 500 (2(1)) and now also 250 (2(2)); in 初中 625 and 312.5.
    assert (got["boarding_subsidy"], got["day_subsidy"]) in ((500, 250), (625, Decimal("312.5")))
    # explain reads the written row as it is and shows both awarded.
    out = tmp_path / "反例.csv"
    result = run("verify", policy_copy, "--period", "2021-autumn", "-o", out)
    assert result.exit_code == 1
    shown = run("explain", out, "--policy", policy_copy, "--period", "2021-autumn",
                "--id", _id_of(out, 学段=finding.counterexample.row["学段"], 校内住宿="是"))  # fmt: skip
    assert "【寄宿生生活费补助】享受" in shown.output and "【非寄宿生生活补助】享受" in shown.output


def test_primary_row_removed_from_a_table_is_a_lookup_that_fails(policy_copy, tmp_path):
    edit(policy_copy / "tables.yaml", "      小学: 250\n", "")
    report = v.verify_policy(engine.load(policy_copy), [AUTUMN_2021])
    (finding,) = [f for f in failed(report, "lookup-total") if "非寄宿生生活补助标准" in f.statement]
    example = finding.counterexample
    assert example.row["学段"] == "小学"
    (result,) = example.results.values()
    assert [e.program for e in result.errors] == ["day_subsidy"]  # the Python back end: no cell
    out = tmp_path / "反例.xlsx"
    assert run("verify", policy_copy, "--period", "2021-autumn", "-o", out).exit_code == 1
    shown = run("explain", out, "--policy", policy_copy, "--period", "2021-autumn", "--id", _id_of(out, 学段="小学"))
    assert "非寄宿生生活补助标准」中没有 小学" in shown.output


def test_unsatisfiable_unless_lets_vocational_year_3_have_the_grant(policy_copy):
    edit(policy_copy / "programs.yaml", '学段 == "中职" and 年级 == 3', '学段 == "中职" and 年级 == 3 and 年级 == 4')
    report = v.verify_policy(engine.load(policy_copy), [AUTUMN_2021])
    (finding,) = [f for f in failed(report, "property") if f.statement == "中职三年级学生不享受国家助学金"]
    example = finding.counterexample
    assert (example.row["学段"], example.row["年级"], example.row["复读"]) == ("中职", "3", "否")
    assert awards(example)["national_grant"] == 1500  # 一(二)3(1): 1500 元/生·学期
    dead = [f.statement for f in report.warnings if f.code == "dead"]
    assert any("vocational_year_3" in s and "永不成立" in s for s in dead)


def test_a_version_lowering_the_day_rate_makes_a_pupil_lose(tmp_path):
    versions = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", versions)
    lowered = versions / "2024-lower"
    lowered.mkdir()
    (lowered / "policy.yaml").write_text(
        (versions / "2024" / "policy.yaml").read_text(encoding="utf-8")
        .replace("extends: ../2023", "extends: ../2024").replace('"2024.1"', '"2024.9"')
        .replace("初中: 375", "初中: 300"),
        encoding="utf-8",
    )  # fmt: skip
    report = v.compare_versions(engine.load(lowered), engine.load(versions / "2024"), SPRING_2024)
    losses = {f.statement: f for f in report.failed}
    finding = losses["没有学生的「非寄宿生生活补助」减少"]
    example = finding.counterexample
    assert example.row["学段"] == "初中"
    # 2024 pays a 初中 day pupil 375 a semester; the lowered version 300.
    assert finding.counterexample.what == "原版本 375.00 元，新版本 300.00 元"
    new, old = example.results.values()
    assert {a.program: a.amount for a in new.awards}["day_subsidy"] == 300
    assert {a.program: a.amount for a in old.awards}["day_subsidy"] == 375
    assert "没有学生的补助与减免合计减少" in losses
    assert "没有学生的「寄宿生生活费补助」减少" not in losses
    result = run("verify", lowered, "--against", versions / "2024", "--period", "2024-spring")
    assert result.exit_code == 1 and "不成立" in result.output


def test_2024_proves_nobody_loses_against_2023_and_finds_who_gains():
    new, old = engine.load(ROOT / "policies" / "2024"), engine.load(ROOT / "policies" / "2023")
    result = run("verify", ROOT / "policies" / "2024", "--against", ROOT / "policies" / "2023",
                 "--period", "2024-spring")  # fmt: skip
    assert result.exit_code == 0 and "已证明：没有学生减少" in result.output
    gains = v.compare_versions(new, old, SPRING_2024, gains=True)
    raised = {f.statement: f.counterexample.what for f in gains.failed}
    # 2024 raises boarding 小学 500 → 625, 初中 625 → 750 (one of the two is the example).
    assert raised["没有学生的「寄宿生生活费补助」增加"] in ("原版本 500.00 元，新版本 625.00 元",
                                                        "原版本 625.00 元，新版本 750.00 元")  # fmt: skip
    assert "没有学生的「免学费」增加" not in raised


def test_birth_date_gives_the_age_the_solver_chose_decision_a1(policy_copy):
    (policy_copy / "properties.yaml").write_text(
        """properties:
  - id: nobody_sixteen
    label: 没有 16 周岁的小学生（故意不成立）
    cite: 一(二)2(2)
    text: （已超过 16 周岁的不再发放）
    for: 学段 == "小学" and 年龄 == 16
    expect: 否
""",
        encoding="utf-8",
    )
    report = v.verify_policy(engine.load(policy_copy), [AUTUMN_2021])
    (finding,) = failed(report, "property")
    birth = dt.date.fromisoformat(finding.counterexample.row["出生日期"])
    # A1: a year completes the day AFTER the birthday. Born 2005-08-31: 16 complete on 2021-09-01,
    # so 16. Born 2005-09-01: 16 complete only on 2021-09-02, so 15. Born 2004-09-01: 17 complete
    # on 2021-09-02, so still 16. Born 2004-08-31: 17. Hence 16 exactly for 2004-09-01 … 2005-08-31.
    assert dt.date(2004, 9, 1) <= birth <= dt.date(2005, 8, 31)


def test_consistency_checks_are_assumptions():
    """Without a 数据核对 check, a 普通高中 pupil in 年级 4 finds no 书本费 cell; with one, proven."""
    without = _with_consistency_removed()
    report = v.verify_policy(without, [AUTUMN_2021])
    assert [f.statement for f in failed(report, "lookup-total")] == [
        "「免书本费」查「书本费标准[学段, 学校, 年级]」总能查到（表「书本费标准」）"
    ]
    policy = load_policy(POLICY_2021)
    for check_id in [c for c, check in policy.checks.items() if getattr(check, "category", "") == v.CONSISTENCY]:
        del policy.checks[check_id]
    template = next(iter(policy.checks.values()))
    source = template.conditions[0].source
    check = m.Check(
        "senior_grade_beyond_3", "高中职年级超过 3", (m.Condition(m.Source(
            '学段 in ["普通高中", "中职"] and 年级 > 3', source.doc, source.path)),),
        "年级与学段不符", template.location,
    )  # fmt: skip
    check.category = v.CONSISTENCY  # type: ignore[attr-defined]  # by name, before the schema has it
    policy.checks[check.id] = check
    report = v.verify_policy(check_policy(policy), [AUTUMN_2021])
    assert report.failed == []
    assert any("高中职年级超过 3" in a for a in report.assumptions)


def test_a_disagreement_between_the_back_ends_is_an_internal_error(policy_copy, monkeypatch):
    edit(policy_copy / "tables.yaml", "      小学: 250\n", "")

    class Blind:
        def __init__(self, checked, period):
            self.inner = engine.Evaluator(checked, period)

        def evaluate(self, record):
            result = self.inner.evaluate(record)
            result.errors = []  # pretends every lookup found its cell
            return result

    monkeypatch.setattr(v, "Evaluator", Blind)
    with pytest.raises(v.InternalDisagreement, match=r"证明引擎.*无法判定"):
        v.verify_policy(engine.load(policy_copy), [AUTUMN_2021])


def test_a_property_must_be_a_condition(policy_copy):
    (policy_copy / "properties.yaml").write_text(
        """properties:
  - id: amount_is_not_a_condition
    label: 金额不是条件
    cite: 一(二)2(2)
    text: 非寄宿生生活补助
    expect: amount(day_subsidy)
""",
        encoding="utf-8",
    )
    with pytest.raises(engine.PolicyError) as caught:
        engine.load(policy_copy)
    assert [d.code for d in caught.value.diagnostics] == ["not-a-condition"]


def test_cli_exit_2_for_a_period_outside_the_policy():
    assert run("verify", POLICY_2021, "--period", "2020-autumn").exit_code == 2


def _with_consistency_removed() -> engine.CheckedPolicy:
    policy = load_policy(POLICY_2021)
    for check_id in [c for c, check in policy.checks.items() if getattr(check, "category", "") == v.CONSISTENCY]:
        del policy.checks[check_id]
    return check_policy(policy)


def _id_of(path: Path, **cells: str) -> str:
    """The ID of the counterexample row in `path` with these cells (by header)."""
    if path.suffix == ".xlsx":
        import openpyxl

        sheet = openpyxl.load_workbook(path, read_only=True).active
        headers, *rows = [[str(c) if c is not None else "" for c in row] for row in sheet.iter_rows(values_only=True)]
        records = [dict(zip(headers, row, strict=True)) for row in rows]
    else:
        with path.open(encoding="utf-8-sig") as handle:
            records = list(csv.DictReader(handle))
    for row in records:
        if all(row[h] == want for h, want in cells.items()):
            return row["身份证号"]
    raise AssertionError(f"no row with {cells} in {path}")


def test_a_check_no_one_can_meet_is_a_dead_rule_naming_its_condition(policy_copy):
    watch = "      - 学习困难 or 厌学\n"
    edit(policy_copy / "checks.yaml", watch, watch + '      - 学段 == "本科"\n')
    report = v.verify_policy(engine.load(policy_copy))
    dead = [f.statement for f in report.warnings if f.code == "dead"]
    # 学段 in [小学, 初中] and 学段 == 本科 cannot both hold, in either semester.
    assert dead == ['核查「控辍保学重点对象」对任何学生都不会标记：条件「学段 == "本科"」（与前面的条件一起）无人满足']
    assert report.failed == [] or all(f.code == "lookup-total" for f in report.failed)


def test_a_program_paid_in_autumn_only_is_not_dead():
    report = v.verify_policy(engine.load(POLICY_2021))
    assert [f for f in report.warnings if "生源地信用助学贷款" in f.statement] == []


def test_cli_gains_needs_against():
    assert run("verify", POLICY_2021, "--gains").exit_code == 2


def test_a_version_inherits_properties_and_diff_shows_a_changed_one(tmp_path):
    versions = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", versions)
    (versions / "2023" / "policy.yaml").write_text(
        (versions / "2023" / "policy.yaml").read_text(encoding="utf-8")
        + """  properties:
    - id: loan_within_cap
      expect: amount(student_loan) <= 生源地信用助学贷款最高额度[学段]
""",
        encoding="utf-8",
    )
    old, new = engine.load(versions / "2021"), engine.load(versions / "2023")
    assert {p.property.id for p in new.properties} == {p.property.id for p in old.properties}
    changes = [(c.section, c.item, c.aspect) for c in structural_diff(old, new) if c.section == "properties"]
    assert changes == [("properties", "loan_within_cap", "应成立")]
