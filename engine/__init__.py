"""zizhu (资助): student aid policies as data.

The flow, one module a stage: ``yamlsource`` → ``schema`` → ``loader`` (model)
→ ``parse`` → ``check`` (names, types) → ``compile`` → ``evaluate`` → ``report``.
"""

from __future__ import annotations

from pathlib import Path

from .check import CheckedPolicy, check_policy
from .diagnostics import PolicyError
from .evaluate import Evaluator, PeriodNotCovered, Record, Result
from .loader import load_policy
from .model import Period

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
