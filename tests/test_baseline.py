"""Differential test: the engine and the hand-written 2021 rules agree on 20,000 generated students.

The generator lays edge cases and contradictions over a tenth of the students (examples/generate.py,
EDGE_CASES), and the test leaves 学校 blank on every fortieth. A few have a blank 年级 or 学校 that a
rule reaches: the baseline does not model blank facts
(three-valued evaluation is the engine's), so for those it only predicts that the row is a problem
(`undecided`), and awards and flags are compared on every other student, whose facts are present.
"""

from __future__ import annotations

import engine
from benchmarks.baseline import evaluate as by_hand
from benchmarks.baseline import fees_waived, undecided
from benchmarks.students import typed_records
from tests.conftest import POLICY_2021


def test_engine_and_hand_written_rules_agree_on_20000_students():
    checked = engine.load(POLICY_2021)
    for period in ("2021-autumn", "2022-spring"):
        semester = engine.Period.parse(period)
        evaluator = engine.Evaluator(checked, semester)
        reference = checked.manifest.reference_date(semester)
        records = typed_records(checked, 10_000, seed=7 if semester.season == "autumn" else 8)
        for record in records[::40]:  # 学校 left blank: a problem where the fee tables list schools
            record.values["school"] = None
        disagreements = []
        compared = problems = 0
        for record in records:
            result = evaluator.evaluate(record)
            if undecided(record.values):
                problems += 1
                assert result.errors, record.row  # a blank that decides something is never silently passed
                continue
            assert not result.errors, (record.row, result.errors)
            compared += 1
            awards = {a.program: a.amount for a in result.awards}
            flags = [f.check for f in result.flags]
            expected = by_hand(record.values, semester.season == "autumn", reference)
            if (awards, flags) != expected:
                disagreements.append((record.row, awards, flags, expected))
        assert disagreements == []
        # The edge cases are there (a tenth of the rows, an eighth of those with a blank 年级; a
        # fortieth with a blank 学校) but rare.
        assert 0 < problems < 0.05 * len(records) and compared + problems == len(records)
        # Both fee rows are reached: the sample school's own (950) and the 其他学校 row (800).
        tuition = {r.values["school"] for r in records if r.values["stage"] == "senior" and fees_waived(r.values)}
        assert {"中阳县第一中学", "中阳县第二中学", None} <= tuition


def test_the_generated_students_carry_every_contradiction_the_policy_checks():
    checked = engine.load(POLICY_2021)
    evaluator = engine.Evaluator(checked, engine.Period.parse("2021-autumn"))
    seen = {f.check for record in typed_records(checked, 2_000, seed=7) for f in evaluator.evaluate(record).flags}
    assert seen == set(checked.checks)
