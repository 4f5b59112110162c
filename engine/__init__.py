"""zizhu (资助): student aid policies as data.

The packages follow the flow: ``language`` (expression text → syntax tree) → ``policy``
(YAML folder → model) → ``check`` (the one checked tree) → ``backends`` (Python today) with the
shared ``runtime`` → ``files`` (records in, results out) → ``tools`` → ``cli``.
"""

from __future__ import annotations

from pathlib import Path

from engine.backends.python.evaluator import Evaluator
from engine.check.checker import CheckedPolicy, check_policy
from engine.diagnostics import PolicyError
from engine.policy.loader import load_policy
from engine.policy.model import Period
from engine.runtime.results import PeriodNotCovered, Record, Result

__all__ = [
    "CheckedPolicy",
    "Evaluator",
    "Period",
    "PeriodNotCovered",
    "PolicyError",
    "Record",
    "Result",
    "load",
]


def load(folder: Path | str) -> CheckedPolicy:
    """Load, validate and type-check a policy folder; raises PolicyError with every problem."""
    return check_policy(load_policy(folder))
