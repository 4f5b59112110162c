"""The second probe's file-reading findings (probe2 1, 2, 6, 11, 12, 15): every row in comes out,
rejected with a located reason and a stable code where the file cannot say what it means; never a
blank read for a cell the file did not give, never a traceback, never gigabytes."""

from __future__ import annotations

import json
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engine.check import idcard
from engine.cli import main
from engine.files.readers import InputError, read_table
from engine.files.records import Rejected
from tests.conftest import ROOT, input_columns, jsonl_rows
from tests.hostile.helpers import awards, codes, outcomes

POLICY = ["--policy", str(ROOT / "policies" / "2021"), "--period", "2021-autumn"]
HEADER = list(input_columns())


def student_id(birth: str = "20080501", sequence: str = "123") -> str:
    first17 = "141129" + birth + sequence
    return first17 + idcard.check_digit(first17)


def student(**cells: str) -> list[str]:
    """A county 初中 脱贫户 day pupil in 年级 2 (cells by header; the rest blank)."""
    base = {
        "身份证号": student_id(),
        "姓名": "张三",
        "本县户籍": "是",
        "家庭类型": "脱贫户",
        "学段": "初中",
        "年级": "2",
        "学校": "金罗镇中学",
        "县内学校": "是",
        "有学籍": "是",
        "就读方式": "在校",
        "乡镇": "金罗镇",
    }
    base.update(cells)
    return [base.get(h, "") for h in HEADER]


def zizhu(*arguments: Any) -> tuple[int, str, str]:
    done = CliRunner().invoke(main, [str(a) for a in arguments], catch_exceptions=False)
    return done.exit_code, done.stdout, done.stderr


# -- finding 2: a CSV row shorter than its header --------------------------------------------------


def _short_row_file(tmp_path: Path) -> Path:
    boarder = student(校内住宿="是", 身份证号=student_id(sequence="601"))
    cut = student(校内住宿="是", 身份证号=student_id(sequence="602"))[: HEADER.index("就读方式") + 1]
    path = tmp_path / "short.csv"
    lines = [",".join(HEADER), ",".join(boarder), ",".join(cut)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_row_shorter_than_the_header_is_rejected_not_read_as_blanks(checked_2021, tmp_path) -> None:
    path = _short_row_file(tmp_path)
    first, second = outcomes(checked_2021, path)
    # Plan 一(一)2: 寄宿生生活费补助 初中 625 元/生·学期 — the full row is a boarder: 625.00.
    assert awards(first) == {"boarding_subsidy": Decimal("625.00")}
    # The cut row would have read 校内住宿 blank → 否 → 非寄宿 312.50: it is rejected instead.
    assert isinstance(second, Rejected) and codes(second) == {"short-row"}
    missing = len(HEADER) - (HEADER.index("就读方式") + 1)
    assert f"这一行比列标题少 {missing} 个单元格" in second.reasons[0].message


@pytest.mark.parametrize("output", ["jsonl", "csv"])
def test_a_short_row_gives_the_same_bytes_in_both_engines(tmp_path, output) -> None:
    path = _short_row_file(tmp_path)
    python = zizhu("eval", path, *POLICY, "--format", output, "--engine", "python")
    duck = zizhu("eval", path, *POLICY, "--format", output, "--engine", "duckdb")
    assert python[:2] == duck[:2]
    assert python[0] == 1  # a rejected row: exit 1
    assert "共读取 2 行：计算 1 行，有问题 0 行，退回 1 行" in python[2]
    if output == "jsonl":
        rows = jsonl_rows(python[1])
        assert [r["status"] for r in rows] == ["evaluated", "rejected"]


def test_trailing_columns_without_a_header_are_not_missing_cells(checked_2021, tmp_path) -> None:
    path = tmp_path / "trailing.csv"
    path.write_text(",".join([*HEADER, "", ""]) + "\n" + ",".join(student()) + "\n", encoding="utf-8")
    (only,) = outcomes(checked_2021, path)
    assert not isinstance(only, Rejected)
    # Plan 一(一)2: 非寄宿生生活补助 初中 625 元/生·年, half a year per semester: 312.50.
    assert awards(only) == {"day_subsidy": Decimal("312.50")}


# -- finding 12: a list or an object where one value belongs ---------------------------------------


@pytest.mark.parametrize("suffix", ["json", "jsonl", "yaml"])
def test_a_list_or_object_in_a_record_rejects_that_row_only(checked_2021, tmp_path, suffix) -> None:
    good = dict(zip(HEADER, student(身份证号=student_id(sequence="701")), strict=True))
    bad_object = {**good, "身份证号": student_id(sequence="702"), "申请贷款金额": {"a": 1}}
    bad_list = {**good, "身份证号": student_id(sequence="703"), "外地就读未享受资助": ["是"]}
    records = [good, bad_object, bad_list]
    path = tmp_path / f"students.{suffix}"
    if suffix == "jsonl":
        path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    else:  # JSON is YAML too
        path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    first, second, third = outcomes(checked_2021, path)
    assert awards(first) == {"day_subsidy": Decimal("312.50")}  # 625 a year, half per semester
    assert codes(second) == {"not-one-value"} and codes(third) == {"not-one-value"}
    assert second.reasons[0].column == "申请贷款金额" and "应为一个值，这里是一个对象" in second.reasons[0].message
    assert third.reasons[0].column == "外地就读未享受资助" and "这里是一个列表" in third.reasons[0].message


# -- finding 6 and 15: an ID stored as a number --------------------------------------------------------


def _numeric_id_workbook(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "名单"
    book.active.append(header)
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def test_a_numeric_id_in_a_payment_list_is_unknown_never_matched(tmp_path) -> None:
    first, second = student_id(sequence="801"), student_id(sequence="802")
    students = tmp_path / "students.csv"
    lines = [",".join(HEADER), ",".join(student(身份证号=first)), ",".join(student(身份证号=second, 姓名="李四"))]
    students.write_text("\n".join(lines) + "\n", encoding="utf-8")
    # As WPS/Excel store them: numbers, which keep 15 significant digits — both become the same number.
    paid = _numeric_id_workbook(
        tmp_path / "paid.xlsx",
        ["身份证号", "姓名", "学校", "资助项目", "金额"],
        [
            [int(first), "张三", "金罗镇中学", "非寄宿生生活补助", 312.5],
            [int(second), "李四", "金罗镇中学", "非寄宿生生活补助", 312.5],
        ],
    )
    code, out, err = zizhu("reconcile", *POLICY, "--students", students, "--paid", paid)
    assert code == 1
    assert out.count(idcard.ID_AS_NUMBER) == 2 and "重复发放 0 人次" in out + err
    # Each student is entitled to 312.50 (625 a year, half per semester) and neither payment can be
    # matched: 漏发 2 人次 625.00, 未知 2 人次 625.00 — never an invented ID found paid twice.
    assert "漏发 2 人次 625.00 元" in out + err and "未知 2 人次 625.00 元" in out + err
    # 141129200805018010 and …8029 both held as 1.41129200805018E+17 (15 significant digits): shown so.
    assert out.count("1.41129200805018E+17") == 2


def test_a_rejected_numeric_id_shows_what_the_cell_held(checked_2021, tmp_path) -> None:
    number = student_id(sequence="003")  # 141129200805010033 → Excel keeps 1.41129200805010E+17
    row = student()
    row[HEADER.index("身份证号")] = int(number)
    path = _numeric_id_workbook(tmp_path / "s.xlsx", HEADER, [row])
    (only,) = outcomes(checked_2021, path)
    assert codes(only) == {"id-as-number"}
    assert only.id_number == "1.41129200805010E+17"


@pytest.mark.parametrize("suffix", ["json", "yaml"])
def test_an_exact_integer_id_in_json_or_yaml_is_its_digits(checked_2021, tmp_path, suffix) -> None:
    number = student_id(sequence="004")
    record = dict(zip(HEADER, student(), strict=True))
    exact = {**record, "身份证号": int(number)}  # a JSON/YAML integer: exact, every digit written
    as_float = {**record, "身份证号": float(number)}  # a float: 15–17 digits, not an ID
    path = tmp_path / f"s.{suffix}"
    path.write_text(json.dumps([exact, as_float], ensure_ascii=False), encoding="utf-8")
    read, refused = outcomes(checked_2021, path)
    assert not isinstance(read, Rejected) and read.id_number == number
    assert codes(refused) == {"id-as-number"}


# -- finding 1 and 11: ODS merged cells, and sheets whose declared size is huge -------------------------


def _ods_cell(value: str, extra: str = "") -> str:
    from xml.sax.saxutils import escape

    return f'<table:table-cell office:value-type="string"{extra}><text:p>{escape(value)}</text:p></table:table-cell>'


def _ods(path: Path, tables: dict[str, str], prolog: str = "") -> Path:
    """An .ods as LibreOffice/WPS write one: `tables` maps each sheet's name to its rows' XML."""
    body = "".join(f'<table:table table:name="{name}">{rows}</table:table>' for name, rows in tables.items())
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f"<office:body><office:spreadsheet>{body}</office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>'
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", content)
        archive.writestr("META-INF/manifest.xml", manifest)
    return path


def _ods_row(cells: str, repeated: int = 1) -> str:
    return f'<table:table-row table:number-rows-repeated="{repeated}">{cells}</table:table-row>'


HEADER_ROW = _ods_row("".join(_ods_cell(h) for h in HEADER))


def test_an_ods_merged_cell_gives_its_value_to_every_cell_it_covers(checked_2021, tmp_path) -> None:
    # 县内学校 = 是 merged down rows 2–5 (the first cell spans 4 rows, the 3 below are covered cells).
    column = HEADER.index("县内学校")
    rows = []
    for k in range(4):
        cells = ""
        for j, value in enumerate(student(身份证号=student_id(sequence=f"90{k}"))):
            if j == column:
                cells += _ods_cell("是", ' table:number-rows-spanned="4"') if k == 0 else "<table:covered-table-cell/>"
            else:
                cells += _ods_cell(value)
        rows.append(_ods_row(cells))
    path = _ods(tmp_path / "merged.ods", {"学生名单": HEADER_ROW + "".join(rows)})
    read = outcomes(checked_2021, path)
    # Each an in-county 初中 脱贫户 day pupil: 625 a year, half per semester → 312.50 each, four times.
    assert [awards(o) for o in read] == [{"day_subsidy": Decimal("312.50")}] * 4
    assert all(not getattr(o, "flags", ()) for o in read)  # no 县外就读 notice: they are in the county


def test_an_ods_merge_across_columns_fills_the_row(tmp_path) -> None:
    cells = _ods_cell("x", ' table:number-columns-spanned="2"') + "<table:covered-table-cell/>" + _ods_cell("y")
    path = _ods(
        tmp_path / "across.ods", {"表": _ods_row(_ods_cell("a") + _ods_cell("b") + _ods_cell("c")) + _ods_row(cells)}
    )
    table = read_table(path)
    assert [cells for _, cells in table.rows()] == [{"a": "x", "b": "x", "c": "y"}]


def test_an_ods_row_repeated_a_million_times_is_refused_before_it_is_expanded(tmp_path) -> None:
    import resource

    body = HEADER_ROW + _ods_row("".join(_ods_cell(v) for v in student()), repeated=1_048_000)
    path = _ods(tmp_path / "repeated.ods", {"学生名单": body})
    assert path.stat().st_size < 20_000  # declared: 1,048,000 rows × 32 columns
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(InputError) as refused:
        read_table(path)
    assert refused.value.code == "file-too-large"
    assert "工作表「学生名单」的单元格延伸到第 1,048,001 行、第 32 列" in str(refused.value)
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kb < 200_000  # expanded, it takes gigabytes


def test_an_ods_with_a_dtd_is_refused_without_expanding_entities(tmp_path) -> None:
    bomb = '<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    path = _ods(tmp_path / "dtd.ods", {"表": _ods_row(_ods_cell("&b;"))}, prolog=bomb)
    with pytest.raises(InputError) as refused:
        read_table(path)
    assert refused.value.code == "bad-file" and "DTD" in str(refused.value)


def test_a_stray_far_cell_on_a_notes_sheet_is_never_loaded(checked_2021, tmp_path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "学生名单"
    book.active.append(HEADER)
    book.active.append(student())
    notes = book.create_sheet("备注")
    notes["A1"] = "说明"
    notes["XFD1048576"] = "x"  # loaded, the sheet is 1,048,576 × 16,384 cells: an abort, not a list
    path = tmp_path / "notes.xlsx"
    book.save(path)
    table = read_table(path, is_header=lambda cells: "身份证号" in cells)
    assert [n for n, _ in table.rows()] == [2]
    assert any("「备注」（延伸到第 1,048,576 行、第 16,384 列）超过可读上限" in w for w in table.warnings)
    (only,) = outcomes(checked_2021, path)
    assert awards(only) == {"day_subsidy": Decimal("312.50")}  # 625 a year, half per semester


def test_a_far_reaching_sheet_named_with_sheet_is_refused_before_it_is_expanded(tmp_path) -> None:
    """--sheet 备注 on the same kind of workbook: the sheet's extent is read from the zip and the file
    refused with where its cells reach; expanded, it would have been 17 billion cells (an abort)."""
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(HEADER)
    notes = book.create_sheet("备注")
    notes["XFD1048576"] = "x"
    path = tmp_path / "notes.xlsx"
    book.save(path)
    with pytest.raises(InputError) as refused:
        read_table(path, sheet="备注")
    assert refused.value.code == "file-too-large"
    assert "「备注」的单元格延伸到第 1,048,576 行、第 16,384 列" in str(refused.value)


def test_a_hidden_sheet_beside_the_list_is_named(tmp_path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "旧名单"
    book.active.append(HEADER)
    book.active.sheet_state = "hidden"
    current = book.create_sheet("新名单")
    current.append(HEADER)
    current.append(student())
    book.active = 1
    path = tmp_path / "hidden.xlsx"
    book.save(path)
    table = read_table(path, is_header=lambda cells: "身份证号" in cells)
    assert "另有工作表「旧名单」（隐藏），未读取；可用 --sheet 指定" in table.warnings


# -- finding 15: UTF-16 text, invisible characters in an ID, terminal escapes in a name -----------------


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_a_utf16_tab_separated_file_is_read(checked_2021, tmp_path, encoding) -> None:
    # Excel/WPS "Unicode 文本": UTF-16 (LE) with its BOM, tab-separated.
    lines = ["\t".join(HEADER), "\t".join(student())]
    data = ("\n".join(lines) + "\n").encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    path = tmp_path / "unicode.csv"
    path.write_bytes(data)
    table = read_table(path)
    assert any("UTF-16" in w for w in table.warnings)
    (only,) = outcomes(checked_2021, path)
    assert awards(only) == {"day_subsidy": Decimal("312.50")}  # 625 a year, half per semester


@pytest.mark.parametrize("invisible", ["\u200b", "\ufeff", "\xa0", "\u2060"])
def test_an_invisible_character_in_an_id_is_not_part_of_it(checked_2021, tmp_path, invisible) -> None:
    number = student_id(sequence="005")
    path = tmp_path / "ids.csv"
    typed = number[:6] + invisible + number[6:] + invisible
    path.write_text(",".join(HEADER) + "\n" + ",".join(student(身份证号=typed)) + "\n", encoding="utf-8")
    (only,) = outcomes(checked_2021, path)
    assert not isinstance(only, Rejected) and only.id_number == number
    python = zizhu("eval", path, *POLICY, "--format", "jsonl", "--engine", "python")
    duck = zizhu("eval", path, *POLICY, "--format", "jsonl", "--engine", "duckdb")
    assert python[:2] == duck[:2] and python[0] == 0


def test_terminal_escapes_in_a_name_are_shown_not_sent(tmp_path) -> None:
    name = "x\x1b[31mRED\x1b]8;;http://example.com\x07链接\x1b]8;;\x07\u202e"
    path = tmp_path / "names.csv"
    path.write_text(",".join(HEADER) + "\n" + ",".join(student(姓名=name, 年级="x")) + "\n", encoding="utf-8")
    code, out, _err = zizhu("eval", path, *POLICY, "--format", "table")
    assert code == 1  # 年级 x: rejected
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "x\\x1b[31mRED\\x1b]8;;http://example.com\\x07链接" in out
    _code, out, _err = zizhu("explain", path, *POLICY, "--id", student_id())
    assert "\x1b" not in out


def test_an_ods_as_libreoffice_saves_it_with_empty_repeated_rows_is_read(checked_2021, tmp_path) -> None:
    # LibreOffice writes the empty rest of a formatted sheet as repeated empty rows and cells: no content.
    filled = "".join(_ods_cell(v) for v in student()) + '<table:table-cell table:number-columns-repeated="990"/>'
    empty = _ods_row('<table:table-cell table:number-columns-repeated="1024"/>', repeated=1_048_000)
    path = _ods(tmp_path / "lo.ods", {"学生名单": HEADER_ROW + _ods_row(filled) + empty})
    (only,) = outcomes(checked_2021, path)
    assert awards(only) == {"day_subsidy": Decimal("312.50")}  # 625 a year, half per semester
