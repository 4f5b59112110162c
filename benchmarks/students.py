"""Synthetic students for benchmarks and the differential test: the example generator, at any size."""

from __future__ import annotations

import csv
from pathlib import Path

from engine.check.checker import CheckedPolicy
from engine.files.readers import RawTable
from engine.files.records import RecordReader
from engine.runtime.results import Record
from examples.generate import HEADERS, Generator


def raw_rows(n: int, seed: int = 2021) -> list[dict[str, object]]:
    return Generator(seed).students(n)


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


def write_csv(path: Path, n: int, seed: int = 2021, chunk: int = 50_000) -> None:
    """A large student CSV, written in chunks so the generator's memory stays small."""
    generator = Generator(seed)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADERS)
        done = 0
        while done < n:
            batch = generator.students(min(chunk, n - done))
            writer.writerows([row.get(h, "") for h in HEADERS] for row in batch)
            done += len(batch)


if __name__ == "__main__":
    import sys

    write_csv(Path(sys.argv[1]), int(sys.argv[2]))
