from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import engine

ROOT = Path(__file__).resolve().parent.parent
POLICY_2021 = ROOT / "policies" / "2021"


@pytest.fixture(scope="session")
def checked_2021() -> engine.CheckedPolicy:
    return engine.load(POLICY_2021)


@pytest.fixture
def policy_copy(tmp_path: Path) -> Path:
    """A scratch copy of policies/2021 to plant mistakes in."""
    target = tmp_path / "2021"
    shutil.copytree(POLICY_2021, target)
    return target
