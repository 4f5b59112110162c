"""Benchmark of `zizhu verify`: prints figures, asserts nothing (the target, < 10 s for
policies/2021 on the 2-core machine, is read by people, not by CI).

    python -m benchmarks.verify          # from the repository root, in the venv

Figures: wall time of the whole command (process start, policy load, every proof of both
semesters, counterexample re-evaluation), best of three; and of `verify 2024 --against 2023`.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ZIZHU = [sys.executable, "-c", "from engine.cli import main; main()"]


def wall_time(*args: str, runs: int = 3) -> tuple[float, int]:
    best, code = float("inf"), 0
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run([*ZIZHU, *args], cwd=ROOT, capture_output=True, check=False)
        best = min(best, time.perf_counter() - start)
        code = done.returncode
    return best, code


def main() -> None:
    seconds, code = wall_time("verify", "policies/2021")
    print(f"zizhu verify policies/2021 (2 学期): {seconds:.2f} s (exit {code}; target < 10 s)")
    seconds, code = wall_time("verify", "policies/2024", "--against", "policies/2023", "--period", "2024-spring")
    print(f"zizhu verify policies/2024 --against policies/2023 --period 2024-spring: {seconds:.2f} s (exit {code})")


if __name__ == "__main__":
    main()
