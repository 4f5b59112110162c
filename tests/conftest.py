from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path

import pytest

import engine

ROOT = Path(__file__).resolve().parent.parent
POLICY_2021 = ROOT / "policies" / "2021"
# examples/students-2021.csv has rows whose 年级 is blank (examples/generate.py EDGE_CASES): those rows
# have problems, so a command reading the whole file exits 1 (contract 2).
EXAMPLE_EXIT_CODE = 1


@pytest.fixture(scope="session")
def checked_2021() -> engine.CheckedPolicy:
    return engine.load(POLICY_2021)


@pytest.fixture
def policy_copy(tmp_path: Path) -> Path:
    """A scratch copy of policies/2021 to plant mistakes in."""
    target = tmp_path / "2021"
    shutil.copytree(POLICY_2021, target)
    return target


def jsonl_rows(text: str) -> list[dict]:
    """The row objects of `zizhu eval --format jsonl` output: the first line, its decision record
    (``{"decision_record": {...}}``), is checked to be there and left out."""
    objects = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert objects and list(objects[0]) == ["decision_record"], "JSONL output must start with its decision record"
    return objects[1:]


@functools.cache
def input_columns() -> tuple[str, ...]:
    """The header of every column the 2021 policy reads from a file, in field order. A test file
    that is about a few columns still needs the others (blank): a missing column is refused."""
    checked = engine.load(POLICY_2021)
    return tuple(info.field.label for info in checked.fields.values() if info.field.compute is None)


def with_all_columns(headers: list[str]) -> list[str]:
    """`headers`, then every other column the 2021 policy reads (to be left blank)."""
    return [*headers, *(label for label in input_columns() if label not in headers)]
