"""README's 解释 section shows `zizhu explain` "after" excerpts for three example students: each
excerpt must be what the command prints today, line for line, in its order (probe 3 finding 12)."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from engine.cli import main
from tests.conftest import POLICY_2021, ROOT

README = ROOT / "README.md"
EXAMPLE_CSV = ROOT / "examples" / "students-2021.csv"
# The three students README names, with their IDs (examples/students-2021.csv rows 2, 4 and 57).
STUDENTS = {"高建": "141129200805015880", "黄娜鹏": "141129200505293459", "郝鹏": "141129200211116764"}


def after_excerpts() -> dict[str, list[str]]:
    """Each student's "# after" block in README's 解释 section."""
    section = README.read_text(encoding="utf-8").split("## 解释", 1)[1].split("\n## ", 1)[0]
    excerpts = {}
    for name, block in re.findall(r"\*\*(\S+?)\*\*.*?```text\n(.*?)```", section, flags=re.S):
        excerpts[name] = block.split("# after\n", 1)[1].splitlines()
    return excerpts


def test_readme_shows_the_three_students():
    assert set(after_excerpts()) == set(STUDENTS)


@pytest.mark.parametrize("name", sorted(STUDENTS))
def test_each_after_excerpt_is_what_explain_prints(name):
    done = CliRunner().invoke(main, ["explain", str(EXAMPLE_CSV), "--policy", str(POLICY_2021), "--period",
                                     "2021-autumn", "--id", STUDENTS[name]])  # fmt: skip
    printed = done.stdout.splitlines()
    excerpt = after_excerpts()[name]
    # The excerpt's lines appear in the output in order, each block of consecutive lines unbroken:
    # an excerpt may leave programs out, never lines inside the one it shows.
    start = printed.index(excerpt[0])
    for block in "\n".join(excerpt).split("\n\n"):
        lines = block.splitlines()
        at = printed.index(lines[0], start)
        assert printed[at : at + len(lines)] == lines, name
        start = at + len(lines)
