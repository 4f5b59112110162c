"""Benchmark: policy load + check time as the number of items grows (prints figures, asserts nothing).

    python -m benchmarks.check_scale                # 1,000 and 10,000 extra programs
    python -m benchmarks.check_scale --n 1000 3000

Each run copies policies/2021 and adds N programs (each with two conditions, an exclusion and a
table lookup), once as a first version and once in a version that extends 2021 and overrides them
all, so both the reading of a folder and the merging of versions are measured. Target: 10,000
programs checked in under 5 s. CPU time is printed beside wall time: on the shared machine the wall
time depends on what else is running.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import engine
from engine.language.parse import parse

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "policies" / "2021"


def _program(i: int) -> str:
    return f"""  - id: extra_{i}
    label: 附加项目{i}
    kind: grant
    per: semester
    cite: 一(二)2(2)
    text: 测试用
    when:
      - 已入学
      - 学段 in ["小学", "初中"]
    unless:
      - id: extra_{i}_over_age
        if: 年龄 >= 送教上门等停发年龄
        reason: 超龄
        cite: 一(二)2(2)
        text: 测试用
    amount: 非寄宿生生活补助标准[学段] + {i % 7}
"""


def _override(i: int) -> str:
    return f"""    - id: extra_{i}
      amount: 非寄宿生生活补助标准[学段] + {i % 5}
"""


def build(folder: Path, n: int) -> tuple[Path, Path]:
    first = folder / "2021"
    shutil.copytree(POLICY, first, ignore=shutil.ignore_patterns("tests"))
    (first / "extra.yaml").write_text("programs:\n" + "".join(_program(i) for i in range(n)), encoding="utf-8")
    later = folder / "2022"
    later.mkdir()
    (later / "policy.yaml").write_text(
        "policy:\n  id: scale-2022\n  version: '1'\n  extends: ../2021\n  title: 规模测试\n"
        "  effective: {from: 2022-autumn}\noverride:\n  programs:\n" + "".join(_override(i) for i in range(n)),
        encoding="utf-8",
    )
    return first, later


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, nargs="+", default=[1000, 10_000])
    args = parser.parse_args()
    for n in args.n:
        with tempfile.TemporaryDirectory() as tmp:
            first, later = build(Path(tmp), n)
            for label, folder in (("first version", first), ("extends + overrides all", later)):
                parse.cache_clear()  # each measurement parses its expressions afresh
                start, cpu_start = time.perf_counter(), time.process_time()
                checked = engine.load(folder)
                seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
                total = len(checked.programs)
                print(
                    f"check, {n:>6,} extra programs, {label:<24} {seconds:7.2f} s wall, {cpu:6.2f} s CPU"
                    f"  ({total} programs)"
                )


if __name__ == "__main__":
    main()
