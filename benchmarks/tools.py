"""Every bulk command on each engine, and Parquet in and out: wall-clock seconds of the `zizhu`
command end to end (a fresh process each, output to a file), one run each.

    python -m benchmarks.tools --n 100000

Prints a table: command, python engine, duckdb engine, ratio. The student file has 5% blank cells
(rows with problems) as real files do; the payment list pays what is owed but every 20th payment;
followup compares the file with itself (autumn to spring).
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from benchmarks.students import write_csv
from engine.backends.sql.literals import sql_string

ROOT = Path(__file__).resolve().parent.parent
POLICY = str(ROOT / "policies" / "2021")


def zizhu(*arguments: object) -> float:
    """Seconds the command took; its exit code must be 0 or 1 (policy or data problems)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "engine.cli", *map(str, arguments)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)  # fmt: skip
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"zizhu {' '.join(map(str, arguments))} failed:\n{done.stderr[-2000:]}")
    return seconds


def payments(students: Path, target: Path) -> Path:
    """A payment list of what the students are owed (loans aside: a bank pays them), every 20th
    payment left out (漏发), from the DuckDB engine's results."""
    results = target.with_suffix(".jsonl")
    zizhu("eval", students, "--policy", POLICY, "--period", "2021-autumn", "--engine", "duckdb", "-o", results)
    with results.open(encoding="utf-8") as lines, target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["身份证号", "姓名", "学校", "资助项目", "金额"])
        owed = 0
        for line in lines:
            row = json.loads(line)
            for award in row.get("awards", []):
                owed += 1
                if award["kind"] != "loan" and owed % 20:
                    writer.writerow([row["id_number"], "", "", award["program"], award["amount"]])
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    n = parser.parse_args().n
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        students = work / "students.csv"
        write_csv(students, n, blanks=0.05)
        parquet = work / "students.parquet"
        duckdb.connect().execute(f"COPY (SELECT * FROM read_csv({sql_string(str(students))}, all_varchar=true)) "
                                 f"TO {sql_string(str(parquet))} (FORMAT parquet)")  # fmt: skip
        paid = payments(students, work / "paid.csv")
        semester = ["--policy", POLICY, "--period", "2021-autumn"]
        commands = {
            "eval CSV → JSONL": ["eval", students, *semester, "-o", work / "out.jsonl"],
            "eval Parquet → JSONL": ["eval", parquet, *semester, "-o", work / "out.jsonl"],
            "eval CSV → Parquet": ["eval", students, *semester, "-o", work / "out.parquet"],
            "reconcile": ["reconcile", *semester, "--students", students, "--paid", paid, "-o", work / "r.xlsx"],
            "followup": ["followup", "--policy", ROOT / "policies", students, "--period", "2021-autumn", students,
                         "--period", "2022-spring", "-o", work / "f.xlsx"],
            "diff --students": ["diff", POLICY, ROOT / "policies" / "2024", "--students", students, "--period",
                                "2024-spring", "-o", work / "d.xlsx"],
        }  # fmt: skip
        print(f"{n:,} students, one run each, seconds end to end (zizhu command)")
        print(f"  {'command':24}{'python':>10}{'duckdb':>10}{'ratio':>8}")
        for name, arguments in commands.items():
            python = zizhu(*arguments, "--engine", "python")
            duck = zizhu(*arguments, "--engine", "duckdb")
            print(f"  {name:24}{python:10.1f}{duck:10.1f}{python / duck:7.1f}×", flush=True)


if __name__ == "__main__":
    main()
