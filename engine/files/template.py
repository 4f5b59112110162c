"""The blank student sheet a school fills in, made from the policy's fields.

Headers are the fields' Chinese labels; every enum and 是/否 column gets a
drop-down; date columns show their format; a second sheet explains each column.
"""

from __future__ import annotations

from engine.check.checked import CheckedPolicy, FieldInfo
from engine.check.types import display
from engine.policy.model import Table
from engine.vocabulary import TYPE_WORDS


def _type_word(info: FieldInfo) -> str:
    """The type as a form names it: money with its unit, so a school writes 312.5 rather than 312.5元."""
    word = TYPE_WORDS[info.type.kind]
    return f"{word}（元）" if info.type.kind == "money" else word


DATE_FORMAT = "yyyy-mm-dd"
MAX_ROWS = 5000  # rows prepared with drop-downs


def input_fields(checked: CheckedPolicy) -> list[FieldInfo]:
    return [info for info in checked.fields.values() if info.field.compute is None]


def allowed_values(info: FieldInfo) -> list[str]:
    if info.type.kind == "bool":
        return ["是", "否"]
    if info.type.kind == "enum" and info.type.enum is not None:
        return info.type.enum.labels
    return []


def blank_meaning(info: FieldInfo) -> str:
    f = info.field
    if f.required:
        return "必填，不能为空"
    if f.from_id:
        return "空白时从身份证号读出"
    if f.has_blank:
        return f"空白视为「{display(info.blank, info.type)}」"
    # A blank here leaves the row 有问题 (evaluated, the items needing it undecided), not 退回:
    # only a malformed row is rejected.
    return (
        "与该生资助有关时必须填写；留空时，用到这一列的资助项目无法核定，"
        "该行列为「有问题」（其他项目照常计算），请补填后重新上报"
    )


def write_template(checked: CheckedPolicy, path: str) -> None:
    import openpyxl
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    fields = input_fields(checked)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "学生名单"
    sheet.append([info.field.label for info in fields])
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    for col, info in enumerate(fields, start=1):
        letter = get_column_letter(col)
        cell = sheet.cell(1, col)
        cell.font = Font(bold=True, color="C00000" if info.field.required else "000000")
        cell.fill = header_fill
        cell.comment = Comment(_column_note(info), "zizhu")
        sheet.column_dimensions[letter].width = max(10, 2 * len(info.field.label) + 4)
        cells = f"{letter}2:{letter}{MAX_ROWS + 1}"
        rule = _validation(info)
        if rule is not None:
            sheet.add_data_validation(rule)
            rule.add(cells)
        if info.type.kind == "date":
            for row in range(2, MAX_ROWS + 2):
                sheet.cell(row, col).number_format = DATE_FORMAT
        elif info.field.format == "resident_id":
            sheet.column_dimensions[letter].width = 22
            for row in range(2, MAX_ROWS + 2):
                sheet.cell(row, col).number_format = "@"  # text: Excel must not turn the ID into 1.41E+17
        elif info.type.kind == "text":
            sheet.column_dimensions[letter].width = max(24, 2 * len(info.field.label) + 4)  # 学校 names are long
    sheet.freeze_panes = "A2"

    guide = book.create_sheet("填表说明")
    guide.append(["列标题", "标识", "类型", "可填的值", "空白", "说明"])
    for cell in guide[1]:
        cell.font = Font(bold=True)
        cell.fill = header_fill
    # Tables looked up by a column with a fallback row (fees by 学校): how to write that column.
    listed_by: dict[str, list[Table]] = {}
    for table in checked.policy.tables.values():
        if table.fallback is not None:
            listed_by.setdefault(table.fallback[0], []).append(table)
    for info in fields:
        f = info.field
        values = "、".join(allowed_values(info))
        if info.type.kind == "date":
            values = "如 2012-05-01（也可 2012/5/1、20120501）"
        elif info.type.numeric:
            values = _range_words(info)
        notes = [f.description] if f.description else []
        if f.aliases:
            notes.append(f"也可用列名：{'、'.join(f.aliases)}")
        if f.known is not None:  # the county's schools: the names the policy lists, or their short forms
            values = "、".join(f.known.values)
            if f.known.required_when is not None:
                notes.append(f"「{f.known.required_when.text}」为是时须写「可填的值」中的名称（或其简称），否则按此列查的标准无法计算")
            if f.known.aliases:
                short = "、".join(f"{alias}（{full}）" for alias, full in f.known.aliases.items())
                notes.append(f"可用的简称：{short}")
        if f.id in listed_by:
            tables = listed_by[f.id]
            words = "或".join(dict.fromkeys(f"「{t.fallback[1]}」" for t in tables))
            notes.append(f"按此列查{'、'.join(t.label for t in tables)}：写法须与表中一致，表中未列出的按{words}一行")
        guide.append([f.label, f.id, _type_word(info), values, blank_meaning(info), "；".join(notes)])
    for letter, width in zip("ABCDEF", (16, 20, 10, 48, 30, 40), strict=True):
        guide.column_dimensions[letter].width = width
    m = checked.manifest
    guide.append([])
    guide.append([f"政策：{m.heading()}"])
    book.save(path)


def _validation(info: FieldInfo):
    """The data validation Excel/WPS enforces on a column (a wrong value is refused when typed, not
    found later by the reader), or None for free text and IDs (checked when the file is read)."""
    from openpyxl.worksheet.datavalidation import DataValidation

    f, kind = info.field, info.type.kind
    values = allowed_values(info)
    if values:
        rule = DataValidation(type="list", formula1='"' + ",".join(values) + '"', allow_blank=True)
        rule.error = f"请从下拉列表中选择：{'、'.join(values)}"
    elif kind == "date":
        rule = DataValidation(type="date", operator="greaterThan", formula1="1", allow_blank=True)
        rule.error = "请填写日期，如 2012-05-01"
    elif kind in ("int", "decimal", "money"):
        low = f.minimum if f.minimum is not None else 0
        excel_type = "whole" if kind == "int" else "decimal"
        if f.maximum is not None:
            rule = DataValidation(type=excel_type, operator="between", formula1=str(low), formula2=str(f.maximum),
                                  allow_blank=True)  # fmt: skip
            rule.error = f"请填写{_range_words(info)}"
        else:
            rule = DataValidation(type=excel_type, operator="greaterThanOrEqual", formula1=str(low), allow_blank=True)
            rule.error = f"请填写{_range_words(info)}"
    else:
        return None
    rule.errorTitle = f.label
    rule.errorStyle = "stop"
    rule.showErrorMessage = True  # openpyxl's default is off: the drop-down would block nothing
    rule.promptTitle = f.label
    rule.prompt = _column_note(info)
    rule.showInputMessage = True
    return rule


def _range_words(info: FieldInfo) -> str:
    f = info.field
    low = f.minimum if f.minimum is not None else 0
    if f.maximum is not None:
        return f"{low} 到 {f.maximum} 的{_type_word(info)}"
    return f"不小于 {low} 的{_type_word(info)}"


def _column_note(info: FieldInfo) -> str:
    values = allowed_values(info)
    text = f"{info.field.label}：{_type_word(info)}"
    if values:
        text += f"，可填 {'、'.join(values)}"
    return f"{text}。{blank_meaning(info)}"
