"""zizhu (资助): student aid policies as data.

The packages follow the flow: ``language`` (expression text → syntax tree) → ``policy``
(YAML folder → model) → ``check`` (the one checked tree) → ``backends`` (Python today) with the
shared ``runtime`` → ``files`` (records in, results out) → ``tools`` → ``api`` and ``cli``.
"""

from __future__ import annotations

from pathlib import Path

from engine.api import Explained, Policy
from engine.backends.python.evaluator import Evaluator
from engine.check.checked import CheckedPolicy
from engine.check.stages import check_policy
from engine.diagnostics import PolicyError
from engine.files.records import Rejected
from engine.policy.loader import load_policy
from engine.policy.model import Period
from engine.policy.yamlsource import cycle_collection_paused
from engine.runtime.results import PeriodNotCovered, Record, Result

__all__ = [
    "CheckedPolicy",
    "Evaluator",
    "Explained",
    "Period",
    "PeriodNotCovered",
    "Policy",
    "PolicyError",
    "Record",
    "Rejected",
    "Result",
    "load",
]


def load(folder: Path | str) -> Policy:
    """Load, validate and type-check a policy folder; raises PolicyError with every problem. The
    result is the checked policy, able to evaluate and explain students (:class:`engine.api.Policy`)."""
    # The cycle collector paused over the whole load: a large policy's many small objects hold no
    # cycles, yet triggered full collections (10,000 programs: seconds; README, Performance).
    with cycle_collection_paused():
        return Policy.of(check_policy(load_policy(folder)))
