"""Reading student files: the same generated students as CSV, XLSX and ODS, read, typed and evaluated
in process; prints the time of each and the XLSX/CSV ratio (target: XLSX no more than 2x CSV) and
the ODS/CSV ratio (ODS: its content.xml scanned first for merged cells and repeated rows).

    python -m benchmarks.files --n 50000
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path

import engine
from engine.backends.python.evaluator import Evaluator
from engine.files.readers import read_table
from engine.files.records import RecordReader, header_test
from engine.policy.model import Period

from .students import write_csv

ROOT = Path(__file__).resolve().parent.parent


def _xlsx_from_csv(source: Path, target: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("学生名单")
    with source.open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle):
            sheet.append(row)
    book.save(target)


def _ods_from_csv(source: Path, target: Path) -> None:
    """An .ods as LibreOffice writes one: every cell a string with its text paragraph."""
    import zipfile
    from xml.sax.saxutils import escape

    with source.open(encoding="utf-8", newline="") as handle:
        rows = "".join(
            "<table:table-row>"
            + "".join(
                f'<table:table-cell office:value-type="string"><text:p>{escape(c)}</text:p></table:table-cell>'
                for c in row
            )
            + "</table:table-row>"
            for row in csv.reader(handle)
        )
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body>'
        f'<office:spreadsheet><table:table table:name="学生名单">{rows}</table:table></office:spreadsheet>'
        "</office:body></office:document-content>"
    )
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", content)
        archive.writestr(
            "META-INF/manifest.xml",
            '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
            'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
            '<manifest:file-entry manifest:full-path="/" '
            'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
            '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
            "</manifest:manifest>",
        )


def _read_and_evaluate(checked, path: Path) -> tuple[float, int]:
    start = time.perf_counter()
    reader = RecordReader(checked, read_table(path, is_header=header_test(checked)))
    count = sum(1 for _ in Evaluator(checked, Period.parse("2021-autumn"), reasons=False).evaluate_all(reader))
    return time.perf_counter() - start, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=50_000, help="students in each file")
    args = parser.parse_args()
    checked = engine.load(ROOT / "policies" / "2021")
    with tempfile.TemporaryDirectory() as folder:
        csv_path, xlsx_path, ods_path = Path(folder) / "s.csv", Path(folder) / "s.xlsx", Path(folder) / "s.ods"
        write_csv(csv_path, args.n)
        _xlsx_from_csv(csv_path, xlsx_path)
        _ods_from_csv(csv_path, ods_path)
        print(f"read + type + evaluate, {args.n} students (best of 2):")
        times = {}
        for name, path in (("CSV ", csv_path), ("XLSX", xlsx_path), ("ODS ", ods_path)):
            runs = [_read_and_evaluate(checked, path) for _ in range(2)]
            assert all(count == args.n for _, count in runs), runs
            times[name] = min(seconds for seconds, _ in runs)
            size = path.stat().st_size / 1e6
            print(f"  {name}  {times[name]:6.2f} s  ({args.n / times[name]:,.0f} students/s, {size:.1f} MB)")
        print(f"  XLSX / CSV  {times['XLSX'] / times['CSV ']:.2f}  (target <= 2)")
        print(f"  ODS / CSV   {times['ODS '] / times['CSV ']:.2f}")


if __name__ == "__main__":
    main()
