"""Issue 18 items 1–6, 9 and issue 10/16 (file side): a file is read whole or refused at a
located spot; no row is silently lost, and no cell silently changes meaning.

Expected awards are the plan's (一(二)2(2)): a 脱贫户 day pupil in a county school gets the
non-boarding living subsidy per semester — 小学 500 ÷ 2 = 250.00, 初中 625 ÷ 2 = 312.50;
an 一般家庭 child gets nothing. Example rows 2, 3 and 6 are such pupils (初中, 小学, 小学),
rows 4 and 5 are 一般家庭.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.files.readers import FORMULA_WITHOUT_VALUE, InputError, read_table
from engine.files.records import RecordReader, Rejected, header_test
from engine.runtime.results import Result
from tests.conftest import POLICY_2021, jsonl_rows
from tests.hostile.helpers import (
    EXAMPLE_CSV,
    FIXTURES,
    awards,
    codes,
    example_rows,
    outcomes,
    run,
    write_csv,
    write_xlsx,
)

DAY = "day_subsidy"
FIRST_FIVE = {2: {DAY: Decimal("312.5")}, 3: {DAY: Decimal(250)}, 4: {}, 5: {}, 6: {DAY: Decimal(250)}}


def test_the_first_five_example_rows_as_a_baseline(checked_2021, tmp_path):
    header, rows = example_rows(5)
    out = outcomes(checked_2021, write_csv(tmp_path / "s.csv", header, rows))
    assert [o.row for o in out] == [2, 3, 4, 5, 6]  # rows in = rows out
    assert {o.row: awards(o) for o in out} == FIRST_FIVE


# -- 1. a stray quote ------------------------------------------------------------------------


def test_a_stray_quote_is_a_located_error_not_a_shorter_file(checked_2021, tmp_path):
    lines = EXAMPLE_CSV.read_text(encoding="utf-8-sig").splitlines()
    cells = lines[5].split(",")
    cells[1] = '"' + cells[1]  # line 6: 谢怡菊 becomes "谢怡菊 — the quote never closes
    lines[5] = ",".join(cells)
    path = tmp_path / "quote.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as error:
        outcomes(checked_2021, path)
    assert error.value.code == "unclosed-quote" and "第 6 行" in str(error.value)
    result = run("eval", path, "--policy", POLICY_2021, "--period", "2021-autumn", "--format", "jsonl")
    assert result.exit_code == 2 and result.stdout == ""  # not "10 rows read, 10 evaluated"


def test_a_quote_closed_on_its_own_line_loses_nothing(checked_2021, tmp_path):
    header, rows = example_rows(5)
    rows[2][1] = '黄"娜"鹏'  # quotes inside a cell, written correctly by the csv module
    out = outcomes(checked_2021, write_csv(tmp_path / "s.csv", header, rows))
    assert [o.row for o in out] == [2, 3, 4, 5, 6] and out[2].name == '黄"娜"鹏'


# -- 2. a duplicated header --------------------------------------------------------------------


def test_a_field_given_two_columns_is_an_error_naming_both(checked_2021, tmp_path):
    header, rows = example_rows(5)
    path = write_csv(tmp_path / "twice.csv", [*header, "学段"], [[*row, "本科"] for row in rows])
    with pytest.raises(InputError) as error:
        outcomes(checked_2021, path)
    # 学段 is the 11th column (K); the copy is the 33rd (AG).
    assert error.value.code == "duplicate-column"
    assert "第 K 列" in str(error.value) and "第 AG 列" in str(error.value)


# -- 3. merged cells and formulas without a value ----------------------------------------------


def test_a_merged_cell_gives_its_value_to_every_row_it_covers(checked_2021, tmp_path):
    header, rows = example_rows(5)
    column = header.index("县内学校")
    for row in rows[1:]:
        row[column] = None  # only the top cell of a merged range holds the value
    book, sheet = write_xlsx(tmp_path / "merged.xlsx", header, rows)
    sheet.merge_cells(start_row=2, start_column=column + 1, end_row=6, end_column=column + 1)
    book.save(tmp_path / "merged.xlsx")
    out = outcomes(checked_2021, tmp_path / "merged.xlsx")
    assert [o.row for o in out] == [2, 3, 4, 5, 6]
    assert {o.row: awards(o) for o in out} == FIRST_FIVE  # blank would be 否: no day subsidy at all


def test_a_formula_without_its_value_is_a_row_problem_not_a_blank(checked_2021, tmp_path):
    header, rows = example_rows(5)
    rows[0][header.index("县内学校")] = '="是"'  # written by a script: openpyxl stores no cached value
    write_xlsx(tmp_path / "formula.xlsx", header, rows)
    table = read_table(tmp_path / "formula.xlsx")
    assert next(raw for _, raw in table.rows())["县内学校"] is FORMULA_WITHOUT_VALUE
    out = outcomes(checked_2021, tmp_path / "formula.xlsx")
    assert [o.row for o in out] == [2, 3, 4, 5, 6]
    assert isinstance(out[0], Rejected) and codes(out[0]) == {"formula-no-value"}
    assert "Excel" in out[0].reasons[0].message
    assert {o.row: awards(o) for o in out[1:]} == {k: v for k, v in FIRST_FIVE.items() if k != 2}


# -- 4. IDs Excel stored as numbers ------------------------------------------------------------


def test_an_id_excel_stored_as_a_number_is_never_turned_into_digits(checked_2021, tmp_path):
    header, rows = example_rows(3)
    rows[0][0] = int(rows[0][0])  # 141129200805015880 in a number cell: Excel keeps 15 digits
    write_xlsx(tmp_path / "number.xlsx", header, rows)
    out = outcomes(checked_2021, tmp_path / "number.xlsx")
    assert [o.row for o in out] == [2, 3, 4]
    assert isinstance(out[0], Rejected) and codes(out[0]) == {"id-as-number"}
    assert "设为文本" in out[0].reasons[0].message
    assert all(isinstance(o, Result) for o in out[1:])


@pytest.mark.parametrize("shown", ["1.41129200805016e+17", "141129200805016000"])
def test_an_id_that_went_through_excel_as_a_number_in_a_csv(checked_2021, tmp_path, shown):
    header, rows = example_rows(3)
    rows[0][0] = shown  # what Excel saves for 141129200805015880 typed into a number cell
    out = outcomes(checked_2021, write_csv(tmp_path / "s.csv", header, rows))
    assert [o.row for o in out] == [2, 3, 4] and codes(out[0]) == {"id-as-number"}


# -- 5. the active, visible sheet --------------------------------------------------------------


def test_the_sheet_excel_shows_is_read_not_a_hidden_first_one(checked_2021, tmp_path):
    import openpyxl

    header, rows = example_rows(3)
    book = openpyxl.Workbook()
    stale = book.active
    stale.title = "旧表"
    stale.append(header)
    stale.append([*rows[0][:10], "小学", *rows[0][11:]])  # a stale copy: 小学 gives 250.00, not 312.50
    stale.sheet_state = "hidden"
    current = book.create_sheet("学生名单")
    current.append(header)
    for row in rows:
        current.append(row)
    book.active = 1
    book.save(tmp_path / "sheets.xlsx")
    table = read_table(tmp_path / "sheets.xlsx")
    assert any("旧表" in w for w in table.warnings)  # the other sheet is named
    out = outcomes(checked_2021, tmp_path / "sheets.xlsx")
    assert [o.row for o in out] == [2, 3, 4] and awards(out[0]) == {DAY: Decimal("312.5")}


# -- 6. the encoding of the whole file ---------------------------------------------------------


def test_a_gbk_file_with_ascii_headers_is_read_as_gbk(checked_2021, tmp_path):
    header, rows = example_rows(3)
    ids = [checked_2021.fields[f].field.label for f in checked_2021.fields]
    ascii_header = [next(f for f in checked_2021.fields if checked_2021.fields[f].field.label == h) for h in header]
    assert len(ascii_header) == len(header) and ids  # every column by its field id: ASCII only
    path = write_csv(tmp_path / "gbk.csv", ascii_header, rows, encoding="gbk")
    out = outcomes(checked_2021, path)
    assert [o.row for o in out] == [2, 3, 4]
    assert [o.name for o in out] == [row[1] for row in rows]  # 高建, not mojibake


def test_a_damaged_byte_after_64_kib_of_utf8_is_located(checked_2021, tmp_path):
    header, rows = example_rows()
    path = write_csv(tmp_path / "big.csv", header, rows * 3)
    data = bytearray(path.read_bytes())
    assert len(data) > 70_000
    cut = data.index(b"\n", 70_000) + 1  # the start of a line after the first 64 KiB
    line = data.count(b"\n", 0, cut) + 1
    data[cut + 19] = 0xFF  # inside the 姓名 of that line
    path.write_bytes(bytes(data))
    with pytest.raises(InputError) as error:
        outcomes(checked_2021, path)
    assert error.value.code == "bad-encoding" and f"第 {line} 行" in str(error.value)


# -- 8 (file parts). tracebacks that are now located messages ----------------------------------


def test_an_id_with_a_superscript_digit_is_a_rejection(checked_2021, tmp_path):
    header, rows = example_rows(2)
    rows[0][0] = rows[0][0][:5] + "²" + rows[0][0][6:]  # "²".isdigit() is True; int("²") fails
    out = outcomes(checked_2021, write_csv(tmp_path / "s.csv", header, rows))
    assert [o.row for o in out] == [2, 3] and codes(out[0]) == {"bad-id-characters"}


def test_a_cell_longer_than_any_real_one_is_located(checked_2021, tmp_path):
    header, rows = example_rows(3)
    rows[1][1] = "长" * 140_000  # on one line: not a quote problem, just too long
    with pytest.raises(InputError) as error:
        outcomes(checked_2021, write_csv(tmp_path / "s.csv", header, rows))
    assert error.value.code == "cell-too-long" and "第 3 行" in str(error.value)


def test_a_zip_with_a_truncated_sheet_is_a_file_error(checked_2021, tmp_path):
    import zipfile

    header, rows = example_rows(3)
    write_xlsx(tmp_path / "whole.xlsx", header, rows)
    with zipfile.ZipFile(tmp_path / "whole.xlsx") as source, zipfile.ZipFile(tmp_path / "cut.xlsx", "w") as target:
        for item in source.infolist():
            data = source.read(item)
            target.writestr(item, data[: len(data) // 2] if item.filename.endswith("sheet1.xml") else data)
    with pytest.raises(InputError) as error:
        outcomes(checked_2021, tmp_path / "cut.xlsx")
    assert error.value.code == "bad-file"
    result = run("eval", tmp_path / "cut.xlsx", "--policy", POLICY_2021, "--period", "2021-autumn")
    assert result.exit_code == 2


# -- 9. birth dates that cannot be -------------------------------------------------------------


@pytest.mark.parametrize("birth", ["20300101", "18990101"])
def test_a_birth_date_in_the_future_or_before_1900_is_a_row_problem(checked_2021, tmp_path, birth):
    from engine.check import idcard

    header, rows = example_rows(2)
    first17 = f"141129{birth}001"
    rows[0][0] = first17 + idcard.check_digit(first17)  # a valid ID whose date is impossible for a pupil
    rows[0][header.index("出生日期")] = ""  # read from the ID
    out = outcomes(checked_2021, write_csv(tmp_path / "s.csv", header, rows))
    assert [o.row for o in out] == [2, 3] and codes(out[0]) == {"birth-date-range"}


# -- issue 16: the header under a title, .xls and .ods, rejections naming their column ---------


def test_a_merged_title_row_above_the_header_is_skipped(checked_2021, tmp_path):
    header, rows = example_rows(5)
    write_xlsx(tmp_path / "title.xlsx", header, rows, title="中阳县 2021 年秋季学期资助名单")
    table = read_table(tmp_path / "title.xlsx", is_header=header_test(checked_2021))
    assert table.header_row == 2
    out = outcomes(checked_2021, tmp_path / "title.xlsx")
    # Spreadsheet rows: the title is row 1, the header row 2, students 3–7.
    assert [o.row for o in out] == [3, 4, 5, 6, 7]
    assert [awards(o) for o in out] == list(FIRST_FIVE.values())


def test_a_title_line_above_a_csv_header_is_skipped(checked_2021, tmp_path):
    header, rows = example_rows(5)
    path = tmp_path / "title.csv"
    write_csv(path, header, rows)
    path.write_text("中阳县 2021 年秋季学期资助名单\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    out = outcomes(checked_2021, path)
    assert [o.row for o in out] == [3, 4, 5, 6, 7]
    assert [awards(o) for o in out] == list(FIRST_FIVE.values())


@pytest.mark.parametrize("name", ["students-3.xls", "students-3.ods"])
def test_xls_and_ods_read_like_the_csv(checked_2021, name):
    out = outcomes(checked_2021, FIXTURES / name)  # the example's first three rows, all text cells
    assert [o.row for o in out] == [2, 3, 4]
    assert [awards(o) for o in out] == [FIRST_FIVE[2], FIRST_FIVE[3], FIRST_FIVE[4]]


def test_a_rejection_names_its_column(checked_2021, tmp_path):
    header, rows = example_rows(2)
    rows[0][header.index("年级")] = "10"  # 初中 has grades 1–3; the field allows at most 9
    rows[1][header.index("校内住宿")] = "可能"
    out = outcomes(checked_2021, write_csv(tmp_path / "s.csv", header, rows))
    assert [o.row for o in out] == [2, 3]
    assert out[0].reasons[0].column == "年级" and out[0].reasons[0].message.startswith("年级")
    assert out[0].reasons[0].code == "out-of-range"
    assert out[1].reasons[0].message.startswith("校内住宿") and out[1].reasons[0].code == "bad-value"


# -- issue 10: a missing column is not a blank cell --------------------------------------------


def test_a_missing_column_the_rules_read_stops_the_file_naming_who_reads_it(checked_2021, tmp_path):
    header, rows = example_rows(5)
    column = header.index("县内学校")
    path = write_csv(tmp_path / "s.csv", header[:column] + header[column + 1 :],
                     [row[:column] + row[column + 1 :] for row in rows])  # fmt: skip
    with pytest.raises(InputError) as error:
        RecordReader(checked_2021, read_table(path))
    assert error.value.code == "missing-column"
    assert "县内学校" in str(error.value) and checked_2021.policy.programs[DAY].label in str(error.value)
    result = run("eval", path, "--policy", POLICY_2021, "--period", "2021-autumn", "--format", "jsonl")
    assert result.exit_code == 2 and result.stdout == ""  # before any row


def test_a_field_declared_absent_gives_a_warning_and_its_declared_value(policy_copy, tmp_path):
    fields = policy_copy / "fields.yaml"
    text = fields.read_text(encoding="utf-8")
    field = "    label: 县内学校\n    type: bool\n"
    declared = text.replace(field, field + "    absent: 是\n")
    assert declared != text
    fields.write_text(declared, encoding="utf-8")
    header, rows = example_rows(5)
    column = header.index("县内学校")
    path = write_csv(tmp_path / "s.csv", header[:column] + header[column + 1 :],
                     [row[:column] + row[column + 1 :] for row in rows])  # fmt: skip
    result = run("eval", path, "--policy", policy_copy, "--period", "2021-autumn", "--format", "jsonl")
    assert result.stderr.count("县内学校") == 1  # one warning
    lines = jsonl_rows(result.stdout)
    assert [line["row"] for line in lines] == [2, 3, 4, 5, 6]
    assert {line["row"]: {a["program"]: Decimal(a["amount"]) for a in line["awards"]} for line in lines} == FIRST_FIVE


def test_a_sheet_that_does_not_start_at_a1_keeps_its_row_numbers(checked_2021, tmp_path):
    import openpyxl

    header, rows = example_rows(3)
    book = openpyxl.Workbook()
    sheet = book.active
    for r, cells in enumerate([header, *rows], start=2):  # row 1 empty, column A empty
        for c, value in enumerate(cells, start=2):
            sheet.cell(r, c).value = value
    book.save(tmp_path / "offset.xlsx")
    out = outcomes(checked_2021, tmp_path / "offset.xlsx")
    assert [o.row for o in out] == [3, 4, 5]
    assert [awards(o) for o in out] == [FIRST_FIVE[2], FIRST_FIVE[3], FIRST_FIVE[4]]
