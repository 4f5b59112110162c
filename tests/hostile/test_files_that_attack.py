"""Issue 18 items 8 (outputs, periods), 10–14 and 19: files that attack whoever reads our output,
the machine, or the input itself — each refused with a located message, or made harmless."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from engine.files.readers import InputError, read_table
from engine.files.writers import csv_cell
from engine.policy.schema import make_validator
from engine.policy.yamlsource import MAX_ALIAS_NODES, YamlError, load_yaml_text
from tests.conftest import POLICY_2021
from tests.hostile.helpers import example_rows, outcomes, run, write_csv, write_xlsx

EVAL = ("--policy", POLICY_2021, "--period", "2021-autumn")
HYPERLINK = '=HYPERLINK("http://x","y")'
DDE = "=cmd|' /C calc'!A0"


# -- 10. formula injection ---------------------------------------------------------------------


def test_names_that_look_like_formulas_are_text_in_every_workbook(tmp_path):
    import openpyxl

    header, rows = example_rows(3)
    rows[0][header.index("姓名")] = HYPERLINK
    rows[1][header.index("学校")] = DDE
    rows[2][header.index("姓名")] = "#N/A"  # text, not Excel's error value
    students = write_csv(tmp_path / "s.csv", header, rows)
    assert run("eval", students, *EVAL, "-o", tmp_path / "out.xlsx").exit_code == 0
    assert run("ledger", students, *EVAL, "--by", "school", "-o", tmp_path / "ledger.xlsx").exit_code == 0
    seen = set()
    for name in ("out.xlsx", "ledger.xlsx"):
        book = openpyxl.load_workbook(tmp_path / name)
        for sheet in book.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    if cell.value in (HYPERLINK, DDE, "#N/A"):
                        assert cell.data_type == "s", (name, sheet.title, cell.coordinate)
                        seen.add((name, cell.value))
                    assert cell.data_type != "f"  # no formula anywhere
    assert {("out.xlsx", HYPERLINK), ("out.xlsx", DDE), ("out.xlsx", "#N/A"), ("ledger.xlsx", DDE)} <= seen
    students_sheet = openpyxl.load_workbook(tmp_path / "out.xlsx")["学生"]
    assert [row[0] for row in students_sheet.iter_rows(min_row=2, values_only=True)] == [2, 3, 4]  # rows in = out


def test_csv_cells_that_excel_would_run_get_a_leading_quote(tmp_path):
    header, rows = example_rows(2)
    rows[0][header.index("姓名")] = HYPERLINK
    rows[1][header.index("姓名")] = "@SUM(1+1)*cmd|' /C calc'!A0"
    students = write_csv(tmp_path / "s.csv", header, rows)
    result = run("eval", students, *EVAL, "--format", "csv")
    assert result.exit_code == 0
    import csv
    import io

    out = list(csv.reader(io.StringIO(result.stdout.lstrip("\ufeff"))))
    assert [r[2] for r in out[1:]] == ["'" + HYPERLINK, "'@SUM(1+1)*cmd|' /C calc'!A0"]


@pytest.mark.parametrize(
    ("cell", "written"),
    [("=1+1", "'=1+1"), ("+1+1", "'+1+1"), ("-1+1", "'-1+1"), ("@A1", "'@A1"), ("\tx", "'\tx"), ("\rx", "'\rx"),
     ("-250", "-250"), ("312.50", "312.50"), ("高建", "高建"), (312, 312)],
)  # fmt: skip
def test_csv_neutralisation_follows_owasp_and_leaves_numbers(cell, written):
    assert csv_cell(cell) == written


# -- 11. the output is never the input, and never half-written --------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_output_onto_the_input_is_refused_and_the_input_kept(tmp_path, suffix):
    header, rows = example_rows(3)
    students = write_csv(tmp_path / f"s{suffix}", header, rows) if suffix == ".csv" else tmp_path / "s.jsonl"
    if suffix == ".jsonl":
        students.write_text("".join(json.dumps(dict(zip(header, r, strict=True)), ensure_ascii=False) + "\n"
                                    for r in rows), encoding="utf-8")  # fmt: skip
    before = students.read_bytes()
    result = run("eval", students, *EVAL, "-o", students)
    assert result.exit_code == 2 and "输入文件" in result.stderr
    link = tmp_path / f"link{suffix}"
    link.symlink_to(students)
    assert run("eval", students, *EVAL, "-o", link).exit_code == 2  # also through a symlink
    assert run("ledger", students, *EVAL, "-o", link).exit_code == 2
    assert students.read_bytes() == before


def test_an_interrupted_run_leaves_the_old_output_whole(tmp_path, monkeypatch):
    header, rows = example_rows(5)
    students = write_csv(tmp_path / "s.csv", header, rows)
    target = tmp_path / "out.jsonl"
    target.write_text("the complete result of yesterday\n", encoding="utf-8")
    import engine.cli

    written = []

    def interrupted(outcome):
        written.append(outcome)
        if len(written) == 3:
            raise KeyboardInterrupt  # Ctrl-C on the third row
        return json.dumps({"row": outcome.row})

    monkeypatch.setattr(engine.cli, "jsonl_line", interrupted)
    result = run("eval", students, *EVAL, "-o", target)
    assert result.exit_code == 2 and "已中断" in result.stderr and "Traceback" not in result.output
    assert target.read_text(encoding="utf-8") == "the complete result of yesterday\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl", "s.csv"]  # no temporary left


# -- 8. -o into a missing folder; a period that is not one -------------------------------------


@pytest.mark.parametrize("command", ["eval", "ledger", "template", "reconcile", "schema"])
def test_output_into_a_missing_folder_is_a_located_message(tmp_path, command):
    header, rows = example_rows(2)
    students = write_csv(tmp_path / "s.csv", header, rows)
    target = tmp_path / "没有这个文件夹" / "out.xlsx"
    args = {
        "eval": ("eval", students, *EVAL, "-o", target),
        "ledger": ("ledger", students, *EVAL, "-o", target),
        "template": ("template", "--policy", POLICY_2021, "-o", target),
        "reconcile": ("reconcile", *EVAL, "--students", students, "--paid", students, "-o", target),
        "schema": ("schema", "-o", tmp_path / "没有这个文件夹" / "policy.schema.json"),
    }[command]
    result = run(*args)
    assert result.exit_code == 2 and "没有这个文件夹" in result.stderr and "不存在" in result.stderr


@pytest.mark.parametrize("command", ["eval", "diff", "verify"])
def test_output_where_nothing_can_be_written_names_the_users_path_before_any_work(tmp_path, command):
    # /proc takes no new files, not even from root (a chmod 555 folder would not stop root).
    if not Path("/proc/self").is_dir():
        pytest.skip("needs Linux /proc")
    header, rows = example_rows(2)
    students = write_csv(tmp_path / "s.csv", header, rows)
    target = "/proc/zizhu-结果.jsonl" if command == "eval" else "/proc/zizhu-结果.xlsx"
    if command == "verify":
        target = "/proc/zizhu-反例.csv"
    args = {
        "eval": ("eval", students, *EVAL, "--format", "jsonl", "-o", target),
        "diff": ("diff", POLICY_2021, POLICY_2021, "--students", students, "--period", "2021-autumn", "-o", target),
        "verify": ("verify", POLICY_2021, "-o", target),
    }[command]
    result = run(*args)
    assert result.exit_code == 2
    assert result.stderr.strip() == f"错误：无法写入 {target}：该位置不能建立文件；请换一个位置（-o）"
    assert "共读取" not in result.stderr and result.stdout == ""  # refused before any row was read


def test_a_read_only_folder_is_refused_with_the_users_path(tmp_path, monkeypatch):
    import errno

    from engine.files import writers

    def refused(**_: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / ".out.x.part.jsonl"))

    monkeypatch.setattr(writers.tempfile, "mkstemp", refused)  # as a chmod 555 folder does (but not to root)
    with pytest.raises(writers.OutputError) as error:
        writers.check_output(str(tmp_path / "out.jsonl"))
    assert error.value.code == "output-not-writable"
    assert str(error.value) == f"无法写入 {tmp_path / 'out.jsonl'}：没有权限；请换一个位置（-o）"


def test_a_disk_full_while_writing_names_the_output_and_leaves_nothing(tmp_path):
    import errno

    from engine.files.writers import OutputError, atomic_output

    target = tmp_path / "out.jsonl"
    with pytest.raises(OutputError) as error, atomic_output(str(target)) as path:
        raise OSError(errno.ENOSPC, "No space left on device", path)
    assert error.value.code == "output-not-writable" and "磁盘空间已满" in str(error.value)
    assert list(tmp_path.iterdir()) == []  # neither the output nor its temporary


def test_a_five_digit_year_is_not_a_period(tmp_path):
    header, rows = example_rows(2)
    result = run("eval", write_csv(tmp_path / "s.csv", header, rows), "--policy", POLICY_2021,
                 "--period", "99999-autumn")  # fmt: skip
    assert result.exit_code == 2 and "99999-autumn" in result.output


# -- 12. YAML alias bombs ----------------------------------------------------------------------

BOMB = "\n".join(
    ["a: &a [x, x, x, x, x, x, x, x, x]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]" for i in range(8)]
)  # 9 ** 9 = 387,420,489 items from 9 short lines


def test_an_alias_bomb_is_refused_at_an_alias():
    with pytest.raises(YamlError) as error:
        load_yaml_text(BOMB, "bomb.yaml")
    assert error.value.diagnostic.code == "alias-bomb" and error.value.diagnostic.location.line > 1


def test_a_few_aliases_are_fine_and_a_loop_is_refused():
    assert load_yaml_text("a: &a [1, 2]\nb: *a\n", "ok.yaml").data == {"a": [1, 2], "b": [1, 2]}
    assert MAX_ALIAS_NODES >= 1000
    with pytest.raises(YamlError) as error:
        load_yaml_text("a: &a [1, *a]\n", "loop.yaml")
    assert error.value.diagnostic.code == "alias-loop"


def test_a_student_yaml_bomb_and_a_policy_bomb_are_located_errors(tmp_path, policy_copy):
    path = tmp_path / "students.yaml"
    path.write_text(BOMB + "\nstudents: [{身份证号: *i}]\n", encoding="utf-8")
    with pytest.raises(InputError) as error:
        read_table(path)
    assert error.value.code == "alias-bomb"
    (policy_copy / "bomb.yaml").write_text(BOMB.replace("a:", "x_a:", 1) + "\n", encoding="utf-8")
    result = run("check", policy_copy)
    assert result.exit_code in (1, 2) and "bomb.yaml" in result.output and "Traceback" not in result.output


def test_a_policy_test_file_bomb_is_a_located_error(policy_copy):
    (policy_copy / "tests" / "bomb.yaml").write_text(BOMB + "\n", encoding="utf-8")
    result = run("test", policy_copy)
    assert result.exit_code == 1 and "bomb.yaml" in result.output


# -- GBK policy files --------------------------------------------------------------------------


def test_a_policy_saved_as_ansi_by_notepad_is_read(policy_copy):
    fields = policy_copy / "fields.yaml"
    fields.write_bytes(fields.read_text(encoding="utf-8").encode("gb18030"))
    assert run("check", policy_copy).exit_code == 0


def test_a_policy_file_with_a_damaged_byte_is_located(policy_copy):
    fields = policy_copy / "fields.yaml"
    data = bytearray(fields.read_bytes())
    data[data.index("县内学校".encode()) + 1] = 0xFF  # inside a UTF-8 character
    fields.write_bytes(bytes(data))
    result = run("check", policy_copy)
    line = bytes(data).count(b"\n", 0, bytes(data).index(b"\xff")) + 1
    assert result.exit_code == 1 and f"fields.yaml:{line}" in result.output and "UTF-8" in result.output


# -- 13. workbook bombs ------------------------------------------------------------------------


def test_a_shared_strings_bomb_is_refused_before_it_expands(tmp_path):
    header, rows = example_rows(2)
    write_xlsx(tmp_path / "ok.xlsx", header, rows)
    with (
        zipfile.ZipFile(tmp_path / "ok.xlsx") as source,
        zipfile.ZipFile(tmp_path / "bomb.xlsx", "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            target.writestr(item.filename, source.read(item))
        # 8 MB of one letter, kilobytes compressed (openpyxl writes inline strings: add the part).
        target.writestr("xl/sharedStrings.xml", b"<sst><si><t>" + b"a" * (8 << 20) + b"</t></si></sst>")
    assert (tmp_path / "bomb.xlsx").stat().st_size < 100_000
    with pytest.raises(InputError) as error:
        read_table(tmp_path / "bomb.xlsx")
    assert error.value.code == "file-too-large" and "sharedStrings.xml" in str(error.value)


# -- 14. full-match patterns -------------------------------------------------------------------


def test_an_id_with_a_trailing_newline_is_refused_by_the_schema(policy_copy):
    validator = make_validator({"type": "string", "pattern": "^[a-z][a-z0-9_]*$"})
    assert [e.message for e in validator.iter_errors("aid\n")] and not list(validator.iter_errors("aid"))
    programs = policy_copy / "programs.yaml"
    text = programs.read_text(encoding="utf-8")
    programs.write_text(text.replace("id: day_subsidy\n", 'id: "day_subsidy\\n"\n', 1), encoding="utf-8")
    assert run("check", policy_copy).exit_code == 1


# -- 19. --format table on a file too large for a screen ---------------------------------------


def test_table_output_of_a_huge_file_is_refused_with_a_hint(tmp_path, monkeypatch):
    import engine.cli

    monkeypatch.setattr(engine.cli, "TABLE_MAX_ROWS", 3)  # the real bound is 20,000 rows
    header, rows = example_rows(5)
    result = run("eval", write_csv(tmp_path / "s.csv", header, rows), *EVAL, "--format", "table")
    assert result.exit_code == 2 and "--format jsonl" in result.stderr


def test_rows_in_equal_rows_out_for_the_whole_example(checked_2021, tmp_path):
    header, rows = example_rows()
    out = outcomes(checked_2021, write_csv(tmp_path / "s.csv", header, rows))
    assert [o.row for o in out] == list(range(2, len(rows) + 2))


def test_one_cell_far_away_is_refused_before_the_sheet_is_allocated(tmp_path):
    header, rows = example_rows(2)
    write_xlsx(tmp_path / "ok.xlsx", header, rows)
    far = b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'
    with zipfile.ZipFile(tmp_path / "ok.xlsx") as source, zipfile.ZipFile(tmp_path / "far.xlsx", "w") as target:
        for item in source.infolist():
            data = source.read(item)
            target.writestr(item, data.replace(b"</sheetData>", far) if item.filename.endswith("sheet1.xml") else data)
    with pytest.raises(InputError) as error:  # 1,048,576 x 16,384 cells: a reader would ask for 500 GB
        read_table(tmp_path / "far.xlsx")
    assert error.value.code == "file-too-large" and "1,048,576" in str(error.value)
