"""What the documents themselves say (probe2 findings 4, 5, 14, 15): a saved ledger states its row
counts and what its totals leave out; sample money is marked wherever an amount is shown; explain
says which facts were blank and which decided; messages point the right way."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pytest

from tests.conftest import POLICY_2021
from tests.test_status import PERIOD, ROWS, roster, run

# tests/test_status.py's four rows: 甲 evaluated; 乙 (年级 blank) has 书本费 undecided → problem;
# 丙 has a wrong check digit → rejected; 丁 (未入学, 送教上门) evaluated and flagged.
COUNTS = "共读取 4 行：计算 2 行，有问题 1 行，退回 1 行"  # 4 read − 1 problem − 1 rejected = 2 computed
UNCOUNTED = "注意：1 人的资助无法判定、1 行被退回，未计入合计"


@pytest.fixture
def students(tmp_path: Path) -> Path:
    return roster(tmp_path / "s.csv", ROWS)


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_the_text_ledger_states_its_counts_and_what_its_totals_leave_out(students, engine):
    result = run("ledger", students, *PERIOD, "--engine", engine)
    assert result.exit_code == 1
    assert COUNTS in result.stdout  # in the document itself, not only on stderr
    assert UNCOUNTED in result.stdout


def test_a_ledger_with_every_row_decided_says_nothing_is_left_out(tmp_path):
    only_clean = roster(tmp_path / "clean.csv", [ROWS[0]])
    result = run("ledger", only_clean, *PERIOD)
    assert result.exit_code == 0
    assert "共读取 1 行：计算 1 行，有问题 0 行，退回 0 行" in result.stdout
    assert "未计入合计" not in result.stdout


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_the_ledger_workbook_states_counts_and_flag_counts(students, tmp_path, engine):
    target = tmp_path / "台账.xlsx"
    assert run("ledger", students, *PERIOD, "--engine", engine, "-o", target).exit_code == 1
    book = openpyxl.load_workbook(target)
    assert book.sheetnames == ["台账", "核查", "说明"]
    ledger_cells = [r[0] for r in book["台账"].iter_rows(min_row=2, values_only=True)]
    assert COUNTS in ledger_cells
    assert any(str(c).startswith(UNCOUNTED) for c in ledger_cells)
    about = {k: v for k, v in book["说明"].iter_rows(min_row=2, values_only=True)}
    assert about["行数"] == COUNTS and about["未计入合计"].startswith(UNCOUNTED)
    # 核查: only 丁 is flagged — 11 years old on 2021-09-01 and 未入学 (适龄未入学), and 未入学 while
    # 残疾安置 is 送教上门 (a contradiction); she is placed, so 适龄残疾儿童未安置 counts nobody.
    flags = {r[2]: r[4] for r in book["核查"].iter_rows(min_row=2, values_only=True)}
    assert flags["not_in_school"] == 1 and flags["not_enrolled_but_placed"] == 1
    assert flags["disabled_unplaced"] == 0


def test_the_ledger_help_offers_only_the_extensions_it_writes():
    shown = run("ledger", "--help").output
    assert ".xlsx" in shown and ".csv" in shown and ".txt" in shown
    assert ".jsonl" not in shown
    assert ".jsonl" in run("eval", "--help").output


def test_the_ledger_refuses_jsonl_as_its_help_says(students, tmp_path):
    result = run("ledger", students, *PERIOD, "-o", tmp_path / "台账.jsonl")
    assert result.exit_code == 2 and "不能写 .jsonl" in result.output


# -- explain (finding 14) ----------------------------------------------------------------------

# 甲's row with 家庭类型 and 已申请 left blank: the policy declares 一般家庭 and 否 for those blanks.
BLANK_HOUSEHOLD = {**ROWS[0], "家庭类型": ""}


def _explained(tmp_path: Path, row: dict[str, str]) -> tuple[int, dict[str, list[str]]]:
    """explain's exit code and, per item heading (【…】), its lines."""
    result = run("explain", roster(tmp_path / "one.csv", [row]), *PERIOD, "--id", row["身份证号"])
    items: dict[str, list[str]] = {}
    for line in result.stdout.splitlines():
        if line.startswith("【"):
            current = items.setdefault(line[1 : line.index("】")], [])
        elif items:
            current.append(line.strip())
    return result.exit_code, items


def _deciding(lines: list[str]) -> set[str]:
    """The facts of the 决定的信息 line (shown in the order the steps read them)."""
    line = next(line for line in lines if line.startswith("决定的信息："))
    return set(re.split(r"，(?![^（]*）)", line.removeprefix("决定的信息：")))  # not at a note's own ，


def test_explain_says_a_blank_was_taken_as_the_declared_value(tmp_path):
    code, items = _explained(tmp_path, BLANK_HOUSEHOLD)
    assert code == 0  # everything decided
    readings = "\n".join(items["非寄宿生生活补助"])
    assert "家庭类型 = 一般家庭（空白，按政策视为一般家庭）" in readings
    assert "县内学校 = 是（" not in readings and "县内学校 = 是" in readings  # written in the file: no note


def test_explain_gives_the_facts_that_decided_a_denial_not_every_fact_read(tmp_path):
    _, items = _explained(tmp_path, BLANK_HOUSEHOLD)
    # 非寄宿生生活补助 fails on 「县内受助对象 or 外地就读未享受资助学生」, both false:
    #   县内受助对象 = 县内在籍原建档立卡学生 or 本县户籍非在籍或无学籍学生 or 特殊群体受助对象 — all false:
    #     the first two fail on 原建档立卡学生 (家庭类型 一般家庭 is not 脱贫户): {家庭类型};
    #     特殊群体受助对象 = [特殊群体, 县内学校, 有学籍, 已申请] fails on 已申请 = 否 (one fact, where
    #     特殊群体 = 否 rests on six): {已申请};
    #   外地就读未享受资助学生 fails on 原建档立卡学生 (its first one-fact failing part): {家庭类型}.
    # So two facts decide it, not the 12 the condition read.
    assert _deciding(items["非寄宿生生活补助"]) == {
        "家庭类型 = 一般家庭（空白，按政策视为一般家庭）", "已申请 = 否（空白，按政策视为否）"
    }  # fmt: skip


def test_explain_gives_the_facts_an_award_rests_on(tmp_path):
    code, items = _explained(tmp_path, ROWS[0])
    assert code == 0
    # 甲 (初中, 脱贫户, 县内学校, 有学籍, 在校) gets 非寄宿生生活补助 312.50 because
    #   已入学 (就读方式 is not 未入学): {就读方式}; 学段 in [小学, 初中]: {学段};
    #   县内受助对象 holds through 县内在籍原建档立卡学生 = [原建档立卡学生, 县内学校, 有学籍]:
    #     {家庭类型, 县内学校, 有学籍} (本县户籍 is not needed for it);
    #   neither exclusion applies since 就读方式 is 在校 (not 送教上门 / 因病…): {就读方式}.
    assert _deciding(items["非寄宿生生活补助"]) == {
        "就读方式 = 在校", "学段 = 初中", "家庭类型 = 脱贫户", "县内学校 = 是", "有学籍 = 是"
    }  # fmt: skip


def test_explain_exits_1_when_something_cannot_be_decided(tmp_path):
    # 乙: 普通高中 with 年级 blank: 免书本费 needs 年级 (无法判定), as eval says with exit 1
    code, items = _explained(tmp_path, ROWS[1])
    assert code == 1
    assert any("无法判定" in line for line in items["免书本费"])


# -- messages that pointed the wrong way (finding 15) ------------------------------------------


def test_a_yaml_error_in_a_version_folder_is_reported_where_it_is(tmp_path):
    import shutil

    from engine.diagnostics import PolicyError
    from engine.policy.loader import declared_effective

    root = tmp_path / "policies"
    shutil.copytree(POLICY_2021, root / "2021")
    draft = root / "2025"
    draft.mkdir()
    # line 4: a flow list whose item holds a quoted list — YAML ends the item at the inner ']'
    (draft / "policy.yaml").write_text(
        'policy:\n  id: z\n  effective: {from: 2025-autumn}\nprograms:\n  - when: [已入学, 学段 in ["小学"], 县内]\n',
        encoding="utf-8",
    )
    with pytest.raises(PolicyError) as caught:
        declared_effective(draft)
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.code == "yaml-syntax" and diagnostic.location is not None and diagnostic.location.line == 5
    chosen = run("eval", roster(tmp_path / "s.csv", [ROWS[0]]), "--policy", root, "--period", "2021-autumn")
    assert "跳过版本文件夹" in chosen.stderr and "policy.yaml:5:" in chosen.stderr
    assert "effective.from" not in chosen.stderr
    named = run("eval", roster(tmp_path / "s.csv", [ROWS[0]]), "--policy", draft, "--period", "2025-autumn")
    assert named.exit_code == 2 and "policy.yaml:5:" in named.stderr and "effective.from" not in named.stderr


def _with_attendance_options(tmp_path: Path, options: str) -> Path:
    import shutil

    folder = tmp_path / "reordered"
    shutil.copytree(POLICY_2021, folder)
    fields = folder / "fields.yaml"
    listed = (
        "      - {id: in_school, label: 在校}\n      - {id: home_delivery, label: 送教上门}\n"
        "      - {id: health_unable, label: 因病不具备学习条件}\n      - {id: not_enrolled, label: 未入学}\n"
    )
    text = fields.read_text(encoding="utf-8")
    assert listed in text
    fields.write_text(text.replace(listed, options), encoding="utf-8")
    return folder


def test_diff_does_not_count_reordered_enum_options_as_a_change(tmp_path):
    # 就读方式's four options listed backwards: no rule can order an enum (check refuses <), and a cell
    # matches its option wherever it is listed, so nothing a student gets can change.
    backwards = (
        "      - {id: not_enrolled, label: 未入学}\n      - {id: health_unable, label: 因病不具备学习条件}\n"
        "      - {id: home_delivery, label: 送教上门}\n      - {id: in_school, label: 在校}\n"
    )
    result = run("diff", POLICY_2021, _with_attendance_options(tmp_path, backwards), "--exit-code")
    assert result.exit_code == 0
    assert "两个版本没有差别" in result.stdout


def test_diff_still_reports_an_option_added_to_an_enum(tmp_path):
    added = (
        "      - {id: in_school, label: 在校}\n      - {id: home_delivery, label: 送教上门}\n"
        "      - {id: health_unable, label: 因病不具备学习条件}\n      - {id: not_enrolled, label: 未入学}\n"
        "      - {id: suspended, label: 休学}\n"
    )
    result = run("diff", POLICY_2021, _with_attendance_options(tmp_path, added), "--format", "json", "--exit-code")
    assert result.exit_code == 1
    assert "选项" in result.stdout and "休学" in result.stdout


# -- sample money marked in followup, reconcile and diff impact (finding 5) ----------------------
# tables.yaml marks 学费标准, 书本费标准 and 住宿费标准 sample: 免学费, 免书本费, 免住宿费 read them.


def test_followup_marks_stopped_money_from_sample_tables(tmp_path):
    from tests.test_followup import follow, sheet_dicts
    from tests.test_reconcile import C

    # 丙 (普通高中一年级, 脱贫户, 走读) gets 国家助学金 1500 + 免学费 800 + 免书本费 400 in 2021 autumn; in
    # 2022 spring she studies outside the county without 情况说明: all three stop. 800 and 400 are sample
    # figures, 1500 is the plan's.
    result, book = follow(tmp_path, [C], [{**C, "县内学校": "否"}])
    stopped = {r["核查或资助项目"]: (r["金额（元）"], r["示例标准"]) for r in sheet_dicts(book, "明细")
               if r["变化"] == "停止享受"}  # fmt: skip
    assert stopped == {"国家助学金": (1500, None), "免学费": (800, "※"), "免书本费": (400, "※")}
    summary = {r["乡镇"]: r for r in sheet_dicts(book, "汇总")}
    assert summary["合计"]["停止享受金额"] == 2700  # 1500 + 800 + 400
    assert summary["其中示例数据金额※"]["停止享受金额"] == 1200  # 800 + 400
    about = {k: v for k, v in book["说明"].iter_rows(min_row=2, values_only=True)}
    assert "须由主管部门替换" in about["示例数据"] and "免学费" in about["示例数据"]
    assert "国家助学金" not in about["示例数据"]
    assert "标 ※ 的金额（" in result.stdout


def test_reconcile_marks_an_entitlement_from_a_sample_table(tmp_path):
    from tests.test_reconcile import EXACT, C, paid, reconcile

    # 丙 was paid 700 of her 免学费 800 (a sample figure): 少发 100, computed from the sample table
    payments = [p for p in EXACT if not (p["姓名"] == "丙" and p["资助项目"] == "免学费")] + [paid(C, "免学费", "700")]
    result, findings = reconcile(tmp_path, payments)
    (short,) = findings["金额不符"]
    assert (short["资助项目"], short["应发（元）"], short["实发（元）"]) == ("免学费", 800, 700)
    assert short["涉及金额（元）"] == 100 and short["示例标准"] == "※"
    book = openpyxl.load_workbook(tmp_path / "findings.xlsx", read_only=True)
    by_program = [r[0] for r in book["按项目汇总"].iter_rows(min_row=2, values_only=True)]
    assert by_program == ["免学费※"]
    about = {k: v for k, v in book["说明"].iter_rows(min_row=2, values_only=True)}
    assert "免学费" in about["示例数据"] and "须由主管部门替换" in about["示例数据"]
    assert "少发 100.00 元" in result.stdout and "标 ※ 的金额（免学费）" in result.stdout


def test_reconcile_of_plan_figures_has_no_mark(tmp_path):
    from tests.test_reconcile import EXACT, A, paid, reconcile

    # 甲's 非寄宿生生活补助 312.50 paid as 300: 少发 12.50 from the plan's own figure — no ※
    payments = [p for p in EXACT if p["姓名"] != "甲"] + [paid(A, "非寄宿生生活补助", "300")]
    result, findings = reconcile(tmp_path, payments)
    (short,) = findings["金额不符"]
    assert short["涉及金额（元）"] == 12.5 and short["示例标准"] is None
    assert "示例收费标准" not in result.stdout


def test_diff_impact_marks_sample_programs_and_counts_their_money_apart(tmp_path, students):
    target = tmp_path / "影响.xlsx"
    result = run("diff", POLICY_2021, POLICY_2021, "--students", students, "--period", "2021-autumn", "-o", target)
    assert result.exit_code == 0
    book = openpyxl.load_workbook(target)
    rows = {r[0]: r for r in book["汇总"].iter_rows(min_row=2, values_only=True)}
    # 乙 (普通高中, 年级 blank) has 免学费 800 from the sample 学费标准 under both versions; nobody else has
    # sample money (甲 初中 312.50; 丙 rejected; 丁 未入学).
    assert rows["免学费※"][6:9] == (800, 800, 0)
    assert "国家助学金" in rows and "国家助学金※" not in rows
    assert rows["其中示例数据金额※"][6:9] == (800, 800, 0)
    about = {k: v for k, v in book["说明"].iter_rows(min_row=2, values_only=True)}
    assert "免学费" in about["示例数据"]
    assert "免学费※" in result.stdout and "标 ※ 的金额（免学费）" in result.stdout
