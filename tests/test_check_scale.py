"""What `check` of a large policy relies on to be fast stays true: a load leaves no reference
cycles behind (its objects may be frozen out of the cycle collector's reach), merging versions
never changes the versions merged (their data is shared, not copied), and programs are put in
order without a quadratic scan. The timing itself is a benchmark (benchmarks/check_scale.py)."""

from __future__ import annotations

import copy
import gc
from pathlib import Path

import pytest

import engine
from engine.check.graph import _stable_topological
from engine.diagnostics import Location
from engine.policy import yamlsource
from engine.policy.versions import _merge, _Node
from tests.conftest import ROOT
from tests.test_versions import version

POLICY_2021 = ROOT / "policies" / "2021"

OVERRIDES = """override:
  tables:
    - id: day_rate
      rows: {小学: 260}
  programs:
    - id: national_grant
      unless:
        - id: extra_reason
          if: 年龄 >= 送教上门等停发年龄
          reason: 超龄
          cite: 一(二)2(2)
          text: 测试用
"""


@pytest.fixture
def cycle_garbage_kept():
    """The cycle collector paused, with every cycle it finds kept in gc.garbage to be counted."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


@pytest.mark.parametrize("extended", [False, True])
def test_a_load_leaves_no_reference_cycles(tmp_path, cycle_garbage_kept, extended):
    # A cycle left by a load would never be freed once the load's objects are frozen.
    folder = version(tmp_path, OVERRIDES) if extended else POLICY_2021
    engine.load(folder)
    assert gc.collect() == 0, sorted({type(o).__qualname__ for o in gc.garbage})


def test_a_large_load_is_frozen_out_of_the_cycle_collectors_reach(monkeypatch):
    monkeypatch.setattr(yamlsource, "FREEZE_ABOVE", 0)  # policies/2021 counts as large here
    gc.unfreeze()
    try:
        engine.load(POLICY_2021)
        assert gc.isenabled() and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_a_load_that_fails_freezes_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(yamlsource, "FREEZE_ABOVE", 0)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "policy.yaml").write_text("policy: [\n", encoding="utf-8")
    gc.unfreeze()
    with pytest.raises(engine.PolicyError):
        engine.load(broken)
    assert gc.isenabled() and gc.get_freeze_count() == 0


def _node(data: dict) -> _Node:
    return _Node(data, {(): Location("f.yaml", 1, 1)}, {})


def test_merging_changes_neither_version_and_shares_what_it_keeps():
    base = _node(
        {
            "rows": {"普通高中": {1: 400, 2: 350}, "中职": {1: 300}},
            "unless": [{"id": "a", "if": "x"}, {"id": "b", "if": "y"}],
            "when": ["已入学"],
            "label": "书本费",
        }
    )
    patch = _node({"rows": {"普通高中": {2: 360}}, "unless": [{"id": "b", "if": "z"}], "when": ["在校"]})
    base_before, patch_before = copy.deepcopy(base.data), copy.deepcopy(patch.data)
    merged = _merge(base, patch, [])
    assert base.data == base_before and patch.data == patch_before
    # One cell changed (350 → 360), item b of `unless` replaced by id, `when` replaced whole.
    assert merged.data == {
        "rows": {"普通高中": {1: 400, 2: 360}, "中职": {1: 300}},
        "unless": [{"id": "a", "if": "x"}, {"id": "b", "if": "z"}],
        "when": ["在校"],
        "label": "书本费",
    }
    assert merged.data["rows"]["中职"] is base.data["rows"]["中职"]  # untouched: shared, not copied
    assert merged.data["unless"] is not base.data["unless"]


def test_programs_keep_the_policys_order_where_dependencies_allow():
    # a reads c, d reads a; e reads itself (a cycle, reported elsewhere): each step takes the first
    # item whose dependencies are placed: b, then c, then a (c placed), then d; e last.
    order = _stable_topological(["a", "b", "c", "d", "e"], {"a": {"c"}, "d": {"a"}, "e": {"e"}})
    assert order == ["b", "c", "a", "d", "e"]


def test_ordering_many_programs_that_each_read_the_next_is_not_quadratic():
    # 20,000 programs, each reading the one after it: the only order is last to first. A scan of the
    # remaining list per step would take 200 million steps; this must finish at once.
    items = [f"p{i}" for i in range(20_000)]
    deps = {items[i]: {items[i + 1]} for i in range(len(items) - 1)}
    assert _stable_topological(items, deps) == items[::-1]


def test_the_benchmark_policy_checks_and_every_error_is_still_located(tmp_path: Path):
    from benchmarks.check_scale import build

    first, later = build(tmp_path, 20)
    assert len(engine.load(later).programs) == 9 + 20
    (first / "extra.yaml").write_text(
        (first / "extra.yaml").read_text(encoding="utf-8").replace("年龄 >= 送教上门等停发年龄", "年龄 >= 未知参数", 1),
        encoding="utf-8",
    )
    with pytest.raises(engine.PolicyError) as caught:
        engine.load(later)
    [problem] = caught.value.diagnostics
    assert problem.code == "unknown-name"
    # extra_0's exclusion: line 13 `        if: 年龄 >= 未知参数`, the value at column 13, the name 6 further.
    assert problem.location.file.endswith("extra.yaml")
    assert (problem.location.line, problem.location.column) == (13, 19)


def test_every_section_of_the_policy_schema_is_a_list_of_items_valid_one_by_one():
    # validate(known_valid=…) skips items already found valid: sound only while no section schema
    # says anything about its list as a whole (minItems, uniqueItems, contains …).
    from engine.policy.schema import _ITEMS, POLICY_FILE_SCHEMA

    for section, item in _ITEMS.items():
        schema = POLICY_FILE_SCHEMA["properties"][section]
        assert set(schema) <= {"type", "items", "description"} and schema["type"] == "array", section
        assert schema["items"] is item


def test_an_item_an_override_leaves_invalid_is_still_found(tmp_path):
    # household is an enum with values; overridden to text it must lose its values (schema allOf),
    # which the override alone cannot show: only the merged item does.
    folder = version(tmp_path, "override:\n  fields:\n    - id: household\n      type: text\n")
    with pytest.raises(engine.PolicyError) as caught:
        engine.load(folder)
    [problem] = caught.value.diagnostics
    # Located at the item as first written: policies/2021/fields.yaml line 31, `  - id: household`.
    assert problem.code == "schema" and problem.location.file.endswith("2021/fields.yaml")
    assert (problem.location.line, problem.location.column) == (31, 5)
