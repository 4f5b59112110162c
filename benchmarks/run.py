"""Benchmark: prints figures, asserts nothing (targets are read by people, not by CI).

    python -m benchmarks.run --n 200000            # from the repository root
    python -m benchmarks.run --n 1000000 --jobs 2  # the end-to-end target run

Figures, in one run on this machine:
- policy load + check, cold (first in the process) and warm;
- evaluation throughput on one core of the engine and of the hand-written baseline
  (benchmarks/baseline.py) over the same typed records, and their ratio;
- end-to-end CSV → JSONL throughput of the `zizhu eval` command, with --jobs 1 and N,
  and the peak resident memory of those runs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import engine
from benchmarks.baseline import evaluate as by_hand
from benchmarks.students import typed_records

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "policies" / "2021"
PERIOD = "2021-autumn"


def _best(seconds: list[float]) -> float:
    return min(seconds)


def load_times() -> tuple[float, float]:
    start = time.perf_counter()
    engine.load(POLICY)
    cold = time.perf_counter() - start
    warm = []
    for _ in range(5):
        start = time.perf_counter()
        engine.load(POLICY)
        warm.append(time.perf_counter() - start)
    return cold, _best(warm)


def throughput(n: int) -> tuple[float, float]:
    checked = engine.load(POLICY)
    period = engine.Period.parse(PERIOD)
    evaluator = engine.Evaluator(checked, period, reasons=False)
    reference = checked.manifest.reference_date(period)
    records = typed_records(checked, n)
    values = [r.values for r in records]
    engine_runs, baseline_runs = [], []
    for _ in range(3):
        start = time.perf_counter()
        for record in records:
            evaluator.evaluate(record)
        engine_runs.append(time.perf_counter() - start)
        start = time.perf_counter()
        for v in values:
            by_hand(v, True, reference)
        baseline_runs.append(time.perf_counter() - start)
    return n / _best(engine_runs), n / _best(baseline_runs)


# Runs the command in a fresh interpreter and reports its own peak memory and its workers'
# (measured from outside, a forked child would count this process's pages too).
_MEASURED = """
import resource, sys
from engine.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
finally:
    peak = max(resource.getrusage(r).ru_maxrss for r in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    print(f"peak-kib {peak}", file=sys.stderr)
"""


def end_to_end(csv_path: Path, rows: int, jobs: int) -> tuple[float, float]:
    """(rows per second, peak RSS in MB of the command and its workers) of `zizhu eval --format jsonl`."""
    arguments = ["eval", str(csv_path), "--policy", str(POLICY), "--period", PERIOD, "--format", "jsonl",
                 "--jobs", str(jobs)]  # fmt: skip
    start = time.perf_counter()
    with open(os.devnull, "w") as sink:
        done = subprocess.run([sys.executable, "-c", _MEASURED, *arguments], stdout=sink, stderr=subprocess.PIPE,
                              text=True, check=False, cwd=ROOT)  # fmt: skip
    elapsed = time.perf_counter() - start
    peak = next(int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("peak-kib"))
    return rows / elapsed, peak / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200_000, help="students in the end-to-end file")
    parser.add_argument("--eval-n", type=int, default=100_000, help="students in the in-process throughput run")
    parser.add_argument("--jobs", type=int, default=2, help="processes for the second end-to-end run")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")

    # End to end first, while this process is small: a child's peak memory starts from its parent's.
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "students.csv"
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "benchmarks.students", str(path), str(args.n)], check=True, cwd=ROOT)
        print(f"end to end, CSV → JSONL, {args.n} students ({path.stat().st_size / 1e6:.0f} MB, "
              f"generated in {time.perf_counter() - start:.0f} s):")  # fmt: skip
        for jobs in sorted({1, args.jobs}):
            rate, peak = end_to_end(path, args.n, jobs)
            print(f"  --jobs {jobs}: {rate:>10,.0f} students/s, {args.n / rate:6.1f} s, peak RSS {peak:.0f} MB")

    cold, warm = load_times()
    print(f"policy load + check (policies/2021): cold {cold * 1000:.0f} ms, warm {warm * 1000:.0f} ms")

    engine_rate, baseline_rate = throughput(args.eval_n)
    print(f"evaluation, one core, {args.eval_n} students (best of 3):")
    print(f"  engine    {engine_rate:>10,.0f} students/s")
    print(f"  baseline  {baseline_rate:>10,.0f} students/s (hand-written Python)")
    print(f"  ratio     {engine_rate / baseline_rate:>10.2f}")


if __name__ == "__main__":
    main()
