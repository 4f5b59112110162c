"""Reading student files: encodings, formats, tolerant cells, and rejection with reasons."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from engine.check import idcard
from engine.files.readers import read_table
from engine.files.records import RecordReader, Rejected
from engine.runtime.results import Record
from tests.conftest import with_all_columns


def header_line(*names: str) -> str:
    """A CSV header with these columns first, then every other column the policy reads."""
    return ",".join(with_all_columns(list(names))) + "\n"


HEADER = header_line(
    "身份证号", "姓名", "家庭类型", "本县户籍", "县内学校", "有学籍", "就读方式", "学段", "年级", "校内住宿"
)


def complete(text: str) -> str:
    """CSV text whose rows stop after their last filled cell, completed with blank cells to the
    header's width: a row shorter than its header is rejected (short-row), not read as blanks."""
    header, *rows = text.splitlines()
    width = header.count(",")
    return "\n".join([header, *(row + "," * (width - row.count(",")) for row in rows)]) + "\n"


def valid_id(birth: str, seq: str = "001") -> str:
    first17 = f"141129{birth}{seq}"
    return first17 + idcard.check_digit(first17)


def rows_of(checked, path: Path, **kw):
    return list(RecordReader(checked, read_table(path, **kw)))


def test_check_digit_matches_gb11643_worked_example():
    # The standard's own example number 11010519491231002X.
    assert idcard.check_digit("11010519491231002") == "X"
    assert idcard.problem("11010519491231002X") == ""
    assert "校验位" in idcard.problem("110105194912310021")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_same_students_from_utf8_bom_and_gbk_csv(checked_2021, tmp_path, encoding):
    text = HEADER + f"{valid_id('20080501')},李明,脱贫户,是,是,是,在校,初中,初二,否\n"
    path = tmp_path / "s.csv"
    path.write_text(complete(text), encoding=encoding)
    (record,) = rows_of(checked_2021, path)
    assert isinstance(record, Record)
    assert record.values["stage"] == "junior" and record.values["grade"] == 2
    assert record.values["birth_date"].isoformat() == "2008-05-01"  # from the ID


def test_bad_rows_are_rejected_with_reasons_and_good_rows_kept(checked_2021, tmp_path):
    good = valid_id("20100301", "011")
    dup = valid_id("20090301", "021")
    bad_check = valid_id("20100301", "031")[:-1] + ("0" if valid_id("20100301", "031")[-1] != "0" else "1")
    text = (
        HEADER
        + "\n".join(
            [
                f"{good},好,脱贫户,是,是,是,在校,小学,3,否",
                f"{bad_check},校验错,脱贫户,是,是,是,在校,小学,3,否",
                f"{dup},甲,脱贫户,是,是,是,在校,大学,3,否",
                f"{dup},乙,脱贫户,是,是,是,在校,小学,x,否",
                "14112920101301001X,日期错,脱贫户,是,是,是,在校,小学,3,否",
                ",无号,脱贫户,是,是,是,在校,小学,3,否",
            ]
        )
        + "\n"
    )
    path = tmp_path / "bad.csv"
    path.write_text(complete(text), encoding="utf-8")
    out = rows_of(checked_2021, path)
    assert [type(o).__name__ for o in out] == ["Record", "Rejected", "Rejected", "Rejected", "Rejected", "Rejected"]
    assert [o.row for o in out] == [2, 3, 4, 5, 6, 7]
    messages = {o.row: " | ".join(r.message for r in o.reasons) for o in out if isinstance(o, Rejected)}
    assert "校验位" in messages[3]
    assert "「大学」不是「学段」的选项" in messages[4] and "与第 5 行相同" in messages[4]
    assert "「x」不是整数" in messages[5] and "与第 4 行相同" in messages[5]
    assert "出生日期 20101301 不是有效日期" in messages[6]
    assert "「身份证号」是必填项" in messages[7]


def test_xlsx_json_and_yaml_read_the_same(checked_2021, tmp_path):
    import openpyxl

    number = valid_id("20080501")
    book = openpyxl.Workbook()
    book.active.append(with_all_columns(["身份证号", "姓名", "申请贷款金额", "出生日期"]))
    book.active.append([number, "王", 312.5, None])
    book.save(tmp_path / "s.xlsx")
    (tmp_path / "s.json").write_text(
        json.dumps([{"身份证号": number, "姓名": "王", "申请贷款金额": 312.5}]), encoding="utf-8"
    )
    (tmp_path / "s.yaml").write_text(f"- {{身份证号: '{number}', 姓名: 王, 申请贷款金额: 312.5}}\n", encoding="utf-8")
    loans = []
    for name in ("s.xlsx", "s.json", "s.yaml"):
        (record,) = rows_of(checked_2021, tmp_path / name)
        loans.append(record.values["loan_requested"])
    assert loans == [Decimal("312.5")] * 3


def test_tolerant_cells(checked_2021, tmp_path):
    number = valid_id("20080501")
    text = header_line("身份证号", "姓名", "本县户籍", "出生日期", "学段", "年级")
    text += f" {number.lower()} ,王,Y,2008/5/1,高中,高一\n"
    path = tmp_path / "t.csv"
    path.write_text(complete(text), encoding="utf-8")
    (record,) = rows_of(checked_2021, path)
    assert record.values["hukou_in_county"] is True
    assert (record.values["stage"], record.values["grade"]) == ("senior", 1)


def test_birth_date_disagreeing_with_the_id_is_rejected(checked_2021, tmp_path):
    text = header_line("身份证号", "姓名", "出生日期") + f"{valid_id('20080501')},王,2008-05-02\n"
    path = tmp_path / "d.csv"
    path.write_text(complete(text), encoding="utf-8")
    (row,) = rows_of(checked_2021, path)
    assert isinstance(row, Rejected) and "不一致" in row.reasons[0].message


def test_a_zero_from_excel_is_a_value_not_a_blank(checked_2021, tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(with_all_columns(["身份证号", "姓名", "年级"]))
    book.active.append([valid_id("20080501"), "王", 0])
    book.save(tmp_path / "zero.xlsx")
    (row,) = rows_of(checked_2021, tmp_path / "zero.xlsx")
    assert isinstance(row, Rejected) and "小于最小值 1" in row.reasons[0].message
