"""Benchmark: `zizhu reconcile` end to end at 10k / 40k / 100k students (issue 18 item 17: linear,
100k students in under 10 s). Prints figures, asserts nothing.

    python -m benchmarks.reconcile                 # from the repository root
    python -m benchmarks.reconcile --n 10000 20000

For each size: a generated student CSV, and a payment list of everyone's bureau-paid entitlements
with planted differences (every 101st award left out, every 97th paid 10 more, every 89th paid
twice), then the command timed as a person runs it (a fresh process: load, evaluate, reconcile,
report to a file), and the same phases timed in one process. Seconds per 10k students staying
flat as n grows is what "linear" means.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import engine
from benchmarks.students import write_csv as write_students
from engine.files.readers import read_table
from engine.files.records import RecordReader
from engine.runtime.results import Result
from engine.tools.reconcile import read_payments, reconcile

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "policies" / "2021"
PERIOD = "2021-autumn"


def write_payments(students: Path, target: Path) -> int:
    """The payment list the bureau would have made, with planted differences; returns its row count."""
    checked = engine.load(POLICY)
    evaluator = engine.Evaluator(checked, engine.Period.parse(PERIOD), reasons=False)
    programs = checked.policy.programs
    count = award_index = 0
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["身份证号", "姓名", "学校", "资助项目", "金额"])
        for outcome in evaluator.evaluate_all(RecordReader(checked, read_table(str(students)))):
            if not isinstance(outcome, Result):
                continue
            for award in outcome.awards:
                if programs[award.program].paid_by != "bureau":
                    continue
                award_index += 1
                if award_index % 101 == 0:
                    continue  # omitted
                amount = award.amount + (Decimal(10) if award_index % 97 == 0 else 0)
                times = 2 if award_index % 89 == 0 else 1
                for _ in range(times):
                    writer.writerow([outcome.id_number, outcome.name, "", award.label, f"{amount:,.2f}"])
                    count += 1
    return count


def timed_reconcile(students: Path, payments: Path, output: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of the command: CPU time is the figure to trust on a shared machine."""
    arguments = ["reconcile", "--policy", str(POLICY), "--period", PERIOD, "--students", str(students),
                 "--paid", str(payments), "-o", str(output)]  # fmt: skip
    start, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(os.devnull, "w") as sink:
        subprocess.run([sys.executable, "-m", "engine.cli", *arguments], stdout=sink, stderr=sink, check=False,
                       cwd=ROOT)  # fmt: skip
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return time.perf_counter() - start, cpu


def phases(students: Path, payments: Path) -> tuple[float, float, float]:
    """In one process, CPU seconds of: reading + evaluating the students, reading the payment list,
    reconciling (the part this benchmark watches for quadratic growth)."""
    checked = engine.load(POLICY)
    evaluator = engine.Evaluator(checked, engine.Period.parse(PERIOD), reasons=False)
    start = time.process_time()
    outcomes = list(evaluator.evaluate_all(RecordReader(checked, read_table(str(students)))))
    evaluated = time.process_time()
    paid, _ = read_payments(checked, read_table(str(payments)))
    read = time.process_time()
    reconcile(checked, outcomes, paid)
    return evaluated - start, read - evaluated, time.process_time() - read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, nargs="+", default=[10_000, 40_000, 100_000], help="students per run")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, load average {load:.1f} at start")
    print("zizhu reconcile, end to end (student CSV + payment CSV → findings XLSX):")
    with tempfile.TemporaryDirectory() as folder:
        for n in args.n:
            students, payments = Path(folder) / f"students-{n}.csv", Path(folder) / f"paid-{n}.csv"
            write_students(students, n)
            rows = write_payments(students, payments)
            seconds, cpu = timed_reconcile(students, payments, Path(folder) / f"findings-{n}.xlsx")
            print(f"  {n:>7,} students, {rows:>7,} payments: {seconds:6.1f} s wall, {cpu:6.1f} s CPU "
                  f"({cpu / n * 10_000:.2f} CPU s per 10k)")  # fmt: skip
            evaluate, read, compare = phases(students, payments)
            print(f"           of which, in process (CPU): read + evaluate students {evaluate:5.1f} s, "
                  f"read payments {read:4.1f} s, reconcile {compare:4.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
