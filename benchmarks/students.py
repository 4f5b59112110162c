"""Synthetic students for benchmarks and the differential test: the example generator, at any size."""

from __future__ import annotations

import csv
import random
from pathlib import Path

from engine.check.checked import CheckedPolicy
from engine.files.readers import RawTable
from engine.files.records import RecordReader
from engine.runtime.results import Record
from examples.generate import HEADERS, Generator

# Columns never blanked by `with_blanks`: a row without them is rejected, not evaluated.
_KEPT = ("身份证号", "姓名")


def raw_rows(n: int, seed: int = 2021, blanks: float = 0.0) -> list[dict[str, object]]:
    """`n` generated students; with `blanks` > 0, that share of the other cells left blank."""
    return with_blanks(Generator(seed).students(n), blanks, seed)


def with_blanks(rows: list[dict[str, object]], share: float, seed: int = 2021) -> list[dict[str, object]]:
    """The rows with about `share` of their cells (other than the ID and name) blanked at random,
    as schools' sheets have them: the case three-valued evaluation exists for."""
    if share <= 0:
        return rows
    pick = random.Random(seed + 1)
    return [{k: ("" if k not in _KEPT and pick.random() < share else v) for k, v in row.items()} for row in rows]


def typed_records(checked: CheckedPolicy, n: int, seed: int = 2021) -> list[Record]:
    """Generated students read through the engine's own reader, as a file would be."""
    rows = raw_rows(n, seed)
    table = RawTable(
        "<generated>", HEADERS, lambda: ((i + 2, {k: str(v) for k, v in r.items()}) for i, r in enumerate(rows))
    )
    out = []
    for item in RecordReader(checked, table):
        if not isinstance(item, Record):
            raise ValueError(f"generated row {item.row} rejected: {item.reasons}")
        out.append(item)
    return out


def write_csv(path: Path, n: int, seed: int = 2021, chunk: int = 50_000, blanks: float = 0.0) -> None:
    """A large student CSV, written in chunks so the generator's memory stays small."""
    generator = Generator(seed)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADERS)
        done = 0
        while done < n:
            batch = with_blanks(generator.students(min(chunk, n - done)), blanks, seed + done)
            writer.writerows([row.get(h, "") for h in HEADERS] for row in batch)
            done += len(batch)


if __name__ == "__main__":
    import sys

    write_csv(Path(sys.argv[1]), int(sys.argv[2]))
