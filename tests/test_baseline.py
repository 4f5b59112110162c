"""Differential test: the engine and the hand-written 2021 rules agree on 20,000 generated students."""

from __future__ import annotations

import datetime as dt

import engine
from benchmarks.baseline import evaluate as by_hand
from benchmarks.students import typed_records
from tests.conftest import POLICY_2021


def test_engine_and_hand_written_rules_agree_on_20000_students():
    checked = engine.load(POLICY_2021)
    for period in ("2021-autumn", "2022-spring"):
        semester = engine.Period.parse(period)
        evaluator = engine.Evaluator(checked, semester)
        reference = checked.manifest.reference_date(semester)
        records = typed_records(checked, 10_000, seed=7 if semester.season == "autumn" else 8)
        disagreements = []
        for record in records:
            result = evaluator.evaluate(record)
            assert not result.errors, (record.row, result.errors)
            awards = {a.program: a.amount for a in result.awards}
            flags = [f.check for f in result.flags]
            expected = by_hand(record.values, semester.season == "autumn", reference)
            if (awards, flags) != expected:
                disagreements.append((record.row, awards, flags, expected))
        assert disagreements == []
        assert isinstance(reference, dt.date)
