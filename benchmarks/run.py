"""Benchmark: prints figures, asserts nothing (targets are read by people, not by CI).

    python -m benchmarks.run                        # 100,000 and 1,000,000 students (minutes)
    python -m benchmarks.run --sizes 100000 --jobs 2

Figures, in one run on this machine:
- end-to-end CSV → JSONL for each size: `zizhu eval --engine python` (--jobs 1 and N, once),
  `--engine duckdb` and the hand-written script (`python -m benchmarks.baseline`) (the best of
  --repeat runs, each shown), each run in its own process, with its wall time, students per
  second, CPU time (user + system, the process and its workers: the figure that holds on a shared
  machine), peak resident memory and the load average just before it;
- policy load + check, cold (first in the process) and warm;
- evaluation throughput on one core of the engine and of the hand-written baseline
  (benchmarks/baseline.py) over the same typed records, and their ratio.
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
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
    # The hand-written baseline has no meaning for a blank 年级 (the generator leaves some blank, as schools
    # do): both sides are timed on the students it can evaluate.
    records = [r for r in typed_records(checked, n) if r.values.get("grade") is not None]
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
    return len(records) / _best(engine_runs), len(records) / _best(baseline_runs)


# Runs the command in a fresh interpreter and reports its own peak memory and its workers'
# (measured from outside, a forked child would count this process's pages too).
_MEASURED = """
import resource, sys
try:
    if sys.argv[1] == "baseline":
        from benchmarks.baseline import main
        main(sys.argv[2])
    else:
        from engine.cli import main
        main(sys.argv[2:])
except SystemExit:
    pass
except BaseException:
    print("measured-command-failed", file=sys.stderr)
    raise
finally:
    peak = max(resource.getrusage(r).ru_maxrss for r in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    print(f"peak-kib {peak}", file=sys.stderr)
"""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def end_to_end(command: list[str], rows: int) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds user + system, peak RSS in MB of the process and its workers) of a
    command writing to /dev/null. CPU time is the figure to compare on a shared machine: wall time
    there counts the other engineers' work too."""
    start, cpu = time.perf_counter(), _children_cpu()
    with open(os.devnull, "w") as sink:
        done = subprocess.run([sys.executable, "-c", _MEASURED, *command], stdout=sink, stderr=subprocess.PIPE,
                              text=True, check=False, cwd=ROOT)  # fmt: skip
    elapsed, used = time.perf_counter() - start, _children_cpu() - cpu
    if "measured-command-failed" in done.stderr:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    peak = next(int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("peak-kib"))
    return elapsed, used, peak / 1024


def commands(csv_path: Path, jobs: int) -> list[tuple[str, list[str]]]:
    def zizhu(*options: str) -> list[str]:
        return ["zizhu", "eval", str(csv_path), "--policy", str(POLICY), "--period", PERIOD, "--format", "jsonl",
                *options]  # fmt: skip

    out = [("python --jobs 1", zizhu("--engine", "python"))]
    if jobs > 1:
        out.append((f"python --jobs {jobs}", zizhu("--engine", "python", "--jobs", str(jobs))))
    out.append(("duckdb", zizhu("--engine", "duckdb")))
    out.append(("hand-written", ["baseline", str(csv_path)]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000", help="students in the end-to-end files, comma-separated")
    parser.add_argument("--eval-n", type=int, default=100_000, help="students in the in-process throughput run")
    parser.add_argument("--jobs", type=int, default=2, help="processes for the --jobs run of the python engine")
    parser.add_argument("--repeat", type=int, default=3, help="runs of DuckDB and of the hand-written script")
    args = parser.parse_args()
    # Each command starts a new interpreter. This machine sets PYTHONDONTWRITEBYTECODE, so an editable
    # install would compile every module of the engine from source in every run (~0.2 s), which no
    # installed copy does (pip compiles at install; Python caches at first import): compiled here once.
    compileall.compile_dir(ROOT / "engine", quiet=1)
    compileall.compile_dir(ROOT / "benchmarks", quiet=1)
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")  # fmt: skip

    # End to end first, while this process is small: a child's peak memory starts from its parent's.
    for n in (int(x) for x in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "students.csv"
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "benchmarks.students", str(path), str(n)], check=True, cwd=ROOT)
            print(f"end to end, CSV → JSONL, {n:,} students ({path.stat().st_size / 1e6:.0f} MB, "
                  f"generated in {time.perf_counter() - start:.0f} s):")  # fmt: skip
            timings, cpus = {}, {}
            for name, command in commands(path, args.jobs):
                load = os.getloadavg()[0]
                # The per-record engine runs once (minutes); the others are each the best of --repeat runs,
                # all of which are printed: this machine's speed swings by half from minute to minute.
                runs = [end_to_end(command, n) for _ in range(1 if name.startswith("python") else args.repeat)]
                seconds, cpu, peak = min(runs)
                timings[name], cpus[name] = seconds, cpu
                every = f"   (of {', '.join(f'{r[0]:.1f}' for r in runs)} s)" if len(runs) > 1 else ""
                print(f"  {name:<16} {seconds:7.1f} s wall {n / seconds:>10,.0f} students/s   CPU {cpu:6.1f} s   "
                      f"peak RSS {peak:5.0f} MB   (load before {load:.1f}){every}", flush=True)  # fmt: skip
            print(f"  duckdb is {timings['hand-written'] / timings['duckdb']:.1f}× the hand-written script's speed "
                  f"({cpus['hand-written'] / cpus['duckdb']:.1f}× by CPU time), "
                  f"{timings['python --jobs 1'] / timings['duckdb']:.1f}× the python engine's "
                  f"({cpus['python --jobs 1'] / cpus['duckdb']:.1f}× by CPU time)")  # fmt: skip

    cold, warm = load_times()
    print(f"policy load + check (policies/2021): cold {cold * 1000:.0f} ms, warm {warm * 1000:.0f} ms")

    engine_rate, baseline_rate = throughput(args.eval_n)
    print(f"evaluation, one core, {args.eval_n} students (best of 3):")
    print(f"  engine    {engine_rate:>10,.0f} students/s")
    print(f"  baseline  {baseline_rate:>10,.0f} students/s (hand-written Python)")
    print(f"  ratio     {engine_rate / baseline_rate:>10.2f}")


if __name__ == "__main__":
    main()
