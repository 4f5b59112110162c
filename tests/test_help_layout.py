"""--help laid out by terminal cells: a Chinese character takes two, so columns line up."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from engine.cli import _wrap_cells, main
from engine.diagnostics import display_width


def _help(*command: str) -> list[str]:
    result = CliRunner().invoke(main, [*command, "--help"], terminal_width=80)
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def _description_columns(lines: list[str], heading: str) -> set[int]:
    """The display column each row's description starts at, for rows of a definition list that have one."""
    start = lines.index(heading) + 1
    columns = set()
    for line in lines[start:]:
        if not line.strip():
            break
        if line.startswith("  ") and not line.startswith("   "):  # a row's first line (not a continuation)
            term, gap, text = line[2:].partition("  ")
            if gap and text.strip():
                columns.add(display_width("  " + term + gap + text[: len(text) - len(text.lstrip())]))
    return columns


@pytest.mark.parametrize("command", ["eval", "diff", "verify", "ledger"])
def test_option_descriptions_start_in_one_column_whatever_the_placeholder(command):
    # e.g. eval: "--policy 文件夹" is 15 characters but 18 cells; "--jobs 整数" 9 characters, 11 cells
    columns = _description_columns(_help(command), "选项:")
    assert len(columns) == 1, columns


def test_command_list_lines_fit_the_terminal_and_line_up():
    lines = _help()
    assert len(_description_columns(lines, "命令:")) == 1
    start = lines.index("命令:")
    assert all(display_width(line) <= 80 for line in lines[start:])
    # a long first sentence is wrapped, not cut to "..." (followup's was)
    assert not any(line.rstrip().endswith("...") for line in lines[start:])


def test_wrapping_counts_cells_and_keeps_closing_punctuation_on_its_line():
    # 10 Chinese characters = 20 cells: at width 10, five per line
    assert _wrap_cells("一二三四五六七八九十", 10) == ["一二三四五", "六七八九十"]
    # "，" may not start a line: 五 moves down with it
    assert _wrap_cells("一二三四五，六七", 10) == ["一二三四", "五，六七"]
    # two closing marks in a row move down with the character they close, and its opening bracket
    assert _wrap_cells("一二三（四）、五", 10) == ["一二三", "（四）、五"]
    # an opening bracket does not end a line: "[必填]" stays whole
    assert _wrap_cells("一二三 [必填]", 10) == ["一二三", "[必填]"]
    # after a word it overhangs instead
    assert _wrap_cells("一二三 abcd，六", 11) == ["一二三 abcd，", "六"]
    # words are not split; a line ending in Chinese joins the next without a space
    assert _wrap_cells("学期，如\n2021-autumn 或 2022春季", 40) == ["学期，如2021-autumn 或 2022春季"]
    assert _wrap_cells("按扩展名 .jsonl .csv", 12) == ["按扩展名", ".jsonl .csv"]
