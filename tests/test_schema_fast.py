"""The compiled schema check (the fast path of validation) agrees with jsonschema itself.

`fits_schema` may only say "fits" where jsonschema finds no error — otherwise an error would go
unreported. These tests compare the two answers on every policy and policy-test file in the
repository and on thousands of seeded random mutations of them (keys removed, renamed and added,
values of every other type, booleans where numbers go, ids with a trailing newline, …).
"""

from __future__ import annotations

import copy
import random
from decimal import Decimal
from pathlib import Path

import pytest

from engine.policy.schema import POLICY_VALIDATOR, _jsonable, fits_schema, validate
from engine.policy.yamlsource import load_yaml, load_yaml_text
from engine.tools.policytest import _validator as TEST_VALIDATOR

ROOT = Path(__file__).resolve().parent.parent
POLICY_FILES = sorted(p for p in (ROOT / "policies").rglob("*.yaml") if "tests" not in p.parts)
TEST_FILES = sorted(p for p in (ROOT / "policies").rglob("*.yaml") if "tests" in p.parts)

# Values of every JSON type, and the near-misses a schema must tell apart.
_REPLACEMENTS = [
    None, True, False, 0, 1, -1, 16, Decimal("312.5"), Decimal("-0.01"), "", "x", "小学", "aid\n",
    "Aid", "a1_b", "2021-09-01", "2021-02-30", "09-01", "2021秋季", "2021-autumn", "bank", "grant",
    "semester", "bool", "enum", "A1", "一(二)2(2)", [], [1], ["x"], {}, {"id": "x"}, {"id": "x", "label": "甲"},
]  # fmt: skip


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


def _mutate(data, rng: random.Random):
    data = copy.deepcopy(data)
    path = rng.choice(list(_paths(data)))
    if not path:
        return rng.choice(_REPLACEMENTS)
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    action = rng.randrange(4)
    if action == 0:  # another value
        parent[key] = copy.deepcopy(rng.choice(_REPLACEMENTS))
    elif action == 1:  # removed
        del parent[key]
    elif action == 2 and isinstance(parent, dict):  # renamed (a typo, a section indented)
        parent[rng.choice(["lable", "when", "programs", "x", "cite", "id", "note"])] = parent.pop(key)
    elif isinstance(parent[key], dict):  # a key added
        added = rng.choice(["amount", "kind", "bogus", "sample", "values"])
        parent[key][added] = copy.deepcopy(rng.choice(_REPLACEMENTS))
    else:
        parent[key] = copy.deepcopy(rng.choice(_REPLACEMENTS))
    return data


def _agree(validator, data) -> None:
    expected = not any(True for _ in validator.iter_errors(data))
    assert fits_schema(validator, data) == expected, data


@pytest.mark.parametrize("path", POLICY_FILES + TEST_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_fast_check_agrees_on_every_file_and_its_mutations(path: Path):
    validator = TEST_VALIDATOR if "tests" in path.parts else POLICY_VALIDATOR
    data = _jsonable(load_yaml(path).data)
    _agree(validator, data)
    rng = random.Random(str(path.relative_to(ROOT)))
    for _ in range(300):
        mutated = _mutate(data, rng)
        _agree(validator, mutated)
        _agree(validator, _mutate(mutated, rng))  # two mistakes at once


def test_policy_files_fit_so_the_fast_path_is_taken():
    # If this fails, the fast path is never used and `check` is slow again (not wrong).
    assert POLICY_FILES
    for path in POLICY_FILES:
        assert fits_schema(POLICY_VALIDATOR, _jsonable(load_yaml(path).data)), path


def test_an_error_is_still_located_after_the_fast_path_says_no():
    # An id with a trailing newline (issue 18 item 14): `$` would let it pass, the full match not.
    doc = load_yaml_text('programs:\n  - id: "aid\\n"\n    label: 甲\n', "p.yaml")
    found = validate(doc)
    assert [d.code for d in found] and all(d.location.line == 2 for d in found), found
    assert "bad-format" in {d.code for d in found}
