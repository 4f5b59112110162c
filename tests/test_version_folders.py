"""A folder of versions that is not tidy: broken siblings, copied drafts, symlink loops, leap days."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.diagnostics import PolicyError
from engine.policy.loader import declared_effective
from engine.policy.model import Period
from engine.policy.versions import pick_version
from tests.conftest import ROOT

POLICIES = ROOT / "policies"
STUDENTS = ROOT / "examples" / "students-2021.csv"


def run(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def versions(tmp_path: Path) -> Path:
    root = tmp_path / "policies"
    shutil.copytree(POLICIES, root)
    return root


def draft(root: Path, name: str, policy_yaml: str | bytes) -> Path:
    folder = root / name
    folder.mkdir()
    target = folder / "policy.yaml"
    if isinstance(policy_yaml, bytes):
        target.write_bytes(policy_yaml)
    else:
        target.write_text(policy_yaml, encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    "content",
    [
        "policy: [\n",  # not YAML
        "policy:\n  id: draft\n  effective: 下学期\n",  # no effective.from
        "policy:\n  id: 草稿\n  effective: {from: 2025-fall}\n",  # not a semester
        "policy:\n  title: 草稿\n".encode("gbk"),  # saved as GBK by Notepad
    ],
)
def test_a_broken_sibling_is_named_and_skipped_when_choosing_from_the_folder_of_versions(versions, content):
    draft(versions, "2025-draft", content)
    warnings: list[str] = []
    picked = pick_version(versions, Period.parse("2024-autumn"), declared_effective, warnings.append)
    assert picked.name == "2024-autumn"
    assert len(warnings) == 1 and "2025-draft" in warnings[0]
    result = run("eval", STUDENTS, "--policy", versions, "--period", "2021-autumn", "--format", "jsonl")
    assert result.exit_code != 2
    assert "跳过版本文件夹" in result.stderr and "2025-draft" in result.stderr
    assert "使用政策版本" in result.stderr and "2021" in result.stderr


def test_a_broken_sibling_does_not_stop_a_version_given_by_name(versions):
    # a draft that extends 2024-autumn but whose effective period cannot be read
    draft(versions, "2025", "policy:\n  id: x\n  version: '1'\n  extends: ../2024-autumn\n  effective: {from: 明年}\n")
    result = run("eval", STUDENTS, "--policy", versions / "2024-autumn", "--period", "2024-autumn", "--format", "jsonl")
    assert result.exit_code != 2 and result.stderr.splitlines()[-1].startswith("共读取 320 行")


def test_two_versions_taking_effect_in_the_same_semester_are_an_error_naming_both(versions):
    shutil.copytree(versions / "2024", versions / "2024-copy")
    with pytest.raises(PolicyError) as info:
        pick_version(versions, Period.parse("2024-spring"), declared_effective)
    message = info.value.diagnostics[0].message
    assert "policies/2024、" in message and "policies/2024-copy" in message and "2024年春季学期" in message
    # a semester neither governs is unaffected: 2021-autumn is still 2021's
    assert pick_version(versions, Period.parse("2021-autumn"), declared_effective).name == "2021"
    result = run("eval", STUDENTS, "--policy", versions, "--period", "2024-spring", "--format", "jsonl")
    assert result.exit_code == 2 and "2024-copy" in result.stderr


def test_extends_through_a_symlink_loop_is_a_located_error(versions):
    loop = versions / "loop"
    os.symlink(loop, loop)  # a link to itself
    folder = draft(versions, "2026", "policy:\n  id: x\n  version: '1'\n  extends: ../loop\n  title: 循环\n"
                                     "  effective: {from: 2026-autumn}\n")  # fmt: skip
    result = run("check", folder)
    assert result.exit_code == 1
    assert "policy.yaml:4:" in result.output and "符号链接" in result.output


def edited_2021(folder: Path, file: str = "", old: str = "", new: str = "") -> Path:
    """A copy of policies/2021 at `folder`, with the first `old` in `file` replaced by `new`."""
    shutil.copytree(POLICIES / "2021", folder)
    if file:
        target = folder / file
        target.write_text(target.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    return folder


def test_a_reference_date_every_year_does_not_have_is_refused(tmp_path):
    folder = edited_2021(tmp_path / "2021", "policy.yaml", '"03-01"', '"02-29"')
    result = run("check", folder)
    assert result.exit_code == 1
    assert "基准日「02-29」不是每年都有的日期" in result.output and "policy.yaml:" in result.output


def test_a_changed_check_category_is_a_diff(tmp_path):
    import json

    base = edited_2021(tmp_path / "2021")
    later = edited_2021(tmp_path / "next", "checks.yaml", "    category: outreach\n", "    category: attendance\n")
    result = run("diff", base, later, "--format", "json")
    changes = [(c["id"], c["aspect"], c["old"], c["new"]) for c in json.loads(result.output)["changes"]]
    assert changes == [("outside_county_apply_there", "类别", "跟进告知", "控辍保学")]
