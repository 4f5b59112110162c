"""`zizhu new`: the skeleton of next year's version, which policy staff then edit.

It writes a manifest that extends the version it starts from, commented examples of each
kind of change (written with that version's own ids, so uncommenting one works), and a tests
file with a few of the earlier version's students and what they get in the new semester — a
starting point that ``zizhu check`` and ``zizhu test`` pass before anything is changed. The tests
file says that the earlier versions' cases are inherited, and how to replace or remove one.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.check.checked import CheckedPolicy
from engine.check.stages import check_policy
from engine.check.texts import number_text
from engine.diagnostics import display_path
from engine.policy.loader import load_policy
from engine.policy.model import Period
from engine.policy.yamlsource import SourceDocument, YamlError, load_yaml
from engine.runtime.results import Record, Result

CASES_KEPT = 4


class ScaffoldError(Exception):
    """The skeleton cannot be written (the folder is in use, the earlier version is broken)."""


@dataclass
class Scaffold:
    manifest: Path
    tests: Path
    cases: int


def new_version(target: Path, source: Path, effective: Period) -> Scaffold:
    """Write the version folder `target` extending `source`, in force from `effective`."""
    if target.exists() and any(target.iterdir()):
        raise ScaffoldError(f"文件夹 {display_path(target)} 已存在且不是空的；请换一个新文件夹名")
    if not (source / "policy.yaml").is_file():
        raise ScaffoldError(f"{display_path(source)} 里没有 policy.yaml，不是一个政策版本文件夹")
    base = check_policy(load_policy(source))  # PolicyError: the earlier version must itself be sound
    if base.manifest.effective_from.key >= effective.key:
        raise ScaffoldError(
            f"新版本的生效学期 {effective} 应晚于 {display_path(source)} 的 {base.manifest.effective_from}"
        )
    target.mkdir(parents=True, exist_ok=True)
    manifest = target / "policy.yaml"
    manifest.write_text(_manifest_text(target, source, base, effective), encoding="utf-8")
    checked = check_policy(load_policy(target))
    tests = target / "tests" / f"{target.name}.yaml"
    tests.parent.mkdir(exist_ok=True)
    text, count = _tests_text(checked, source, effective, _first_inherited_case(base, source))
    tests.write_text(text, encoding="utf-8")
    return Scaffold(manifest, tests, count)


def _manifest_text(target: Path, source: Path, base: CheckedPolicy, effective: Period) -> str:
    m = base.manifest
    extends = Path(os.path.relpath(source.resolve(), target.resolve())).as_posix()
    prefix = re.sub(r"[-_]?[0-9][0-9a-z_-]*$", "", m.id) or m.id
    new_id = f"{prefix}-{re.sub(r'[^a-z0-9_-]', '', target.name.lower()) or effective.year}"
    title = re.sub(r"（[^（）]*）$", "", m.title)
    lines = [
        f"# 新版本：在 {display_path(source)} 的基础上，自 {effective}起施行。",
        "# 只写和上一版本不同的地方，没写的全部沿用上一版本。写好后运行：",
        f"#   zizhu check {display_path(target)}     检查写法",
        f"#   zizhu test {display_path(target)}      运行 tests/ 里的用例",
        f"#   zizhu diff {display_path(source)} {display_path(target)}    看改了什么",
        "policy:",
        f"  id: {new_id}",
        f'  version: "{effective.year}.1"',
        f"  extends: {extends}",
        f"  title: {title}（{effective}起）",
        "  effective:",
        f"    from: {effective}",
        "    until: null",
        "",
        *_examples(base),
    ]
    return "\n".join(lines) + "\n"


def _examples(base: CheckedPolicy) -> list[str]:
    """Commented examples of each kind of change, with ids of the version being extended."""
    p = base.policy
    out = ["# ———— 常见改动（去掉行首的 “# ” 即可生效；同一个 override: 或 remove: 只写一次）————"]
    override: list[str] = []
    parameter = next(iter(p.parameters.values()), None)
    if parameter:
        override += [
            "  parameters:",
            f"    - id: {parameter.id}          # {parameter.label}：改一个参数",
            f"      value: {number_text(base.parameters[parameter.id])}",
            "      text: 新文件的原文（改了数就同时改原文，check 会提醒）",
        ]
    table = next((t for t in p.tables.values() if len(t.keys) == 1 and not t.sample), None)
    if table:
        key, value = next(iter(table.rows.items()))
        override += [
            "  tables:",
            f"    - id: {table.id}          # {table.label}：只写改动的格",
            "      rows:",
            f"        {key}: {number_text(value)}",
        ]
    enum_field = next((f for f in p.fields.values() if f.values), None)
    program = next((pr for pr in p.programs.values() if pr.exclusions), next(iter(p.programs.values()), None))
    if enum_field:
        override += [
            "  fields:",
            f"    - id: {enum_field.id}          # {enum_field.label}：增加一个选项，原有选项保留",
            "      values:",
            "        - {id: new_value, label: 新选项}",
        ]
    if program:
        cite = program.citation.cite or "一(二)"
        override += [
            "  programs:",
            f"    - id: {program.id}          # {program.label}：改金额，增加一条排除情形（原有的保留）",
            f"      amount: {program.amount.text}",
            "      unless:",
            "        - id: new_exclusion",
            "          if: 复读" if "repeating" in p.fields else "          if: 否",
            "          reason: 不享受的原因（可写 {参数名}，显示为参数的值）",
            f"          cite: {cite}",
            "          text: 新文件的原文",
        ]
    if override:
        out += ["# override:", *("# " + line for line in override)]
    out += [
        "#",
        "# 新增项目、字段、参数：照上一版本的写法写在 programs: / fields: / parameters: 下，用新的 id。",
        "# programs:",
        "#   - id: meal_subsidy",
        "#     label: 在校就餐补助",
        "#     kind: grant",
        "#     per: semester",
        "#     cite: 一(二)2(3)",
        "#     text: 新文件的原文",
        "#     when: [已入学]",
        "#     amount: min(5 * 在校就餐天数, 500)      # 写在金额里的数就是元",
        "#",
        "# 删除：整个项目，或项目里的一条（按 id），原有的其余部分保留",
        "# remove:",
    ]
    if program and program.exclusions:
        out.append(f"#   programs.{program.id}.unless: [{program.exclusions[0].id}]")
    last = list(p.programs)[-1] if p.programs else "program_id"
    out.append(f"#   programs: [{last}]")
    out.append("#")
    out.append("# 注意：when（条件列表）没有逐项的 id，覆盖时整体替换——要写出全部条件；check 会提示替换在哪里发生。")
    return out


def _tests_text(checked: CheckedPolicy, source: Path, effective: Period, inherited: str | None) -> tuple[str, int]:
    """A few students of the earlier version's tests, with what the new version gives them now."""
    from engine.backends.python.evaluator import Evaluator

    evaluator = Evaluator(checked, effective)
    candidates: list[tuple[str, dict[str, Any]]] = []
    for path in sorted((source / "tests").glob("*.yaml")) if (source / "tests").is_dir() else []:
        try:
            data = load_yaml(path).data
        except YamlError:
            continue
        if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
            continue
        defaults = data.get("defaults") or {}
        for raw in data["cases"]:
            if isinstance(raw, dict) and isinstance(raw.get("student"), dict):
                candidates.append((str(raw.get("name", "")), {**defaults, **raw["student"]}))
    evaluated = [(name, facts, result) for name, facts in candidates or [("空白学生", {})]
                 if (result := _evaluate(checked, evaluator, facts)) is not None]  # fmt: skip
    # Students who get something this semester show the most; one of each program first.
    chosen: list[tuple[str, dict[str, Any], Result]] = []
    shown: set[str] = set()
    for entry in evaluated:
        programs = {a.program for a in entry[2].awards}
        if programs - shown and len(chosen) < CASES_KEPT:
            chosen.append(entry)
            shown |= programs
    chosen += [e for e in evaluated if e not in chosen][: max(0, CASES_KEPT - len(chosen))]
    lines = [
        f"# {effective}的用例。下面几个学生取自上一版本的测试，expect 是按上一版本的规则在",
        "# 本学期算出的结果，作为起点：改了政策以后，请按新规则手算每个学生应得的金额并改写 expect，",
        "# 再为每个新增或改动的项目、排除情形各加一个用例（zizhu test 会列出没有用例覆盖的规则）。",
        "#",
        "# 上一版本（及它继承的版本）的用例本版本全部继承，zizhu test 按本版本的规则运行它们。改了政策后，",
        "# 预期不再成立的继承用例会失败，并写明它来自哪个文件哪一行。对每一个：",
        "#   - 按新规则手算，在这里写一个 id 相同的用例（没写 id 的用例，名称就是它的 id）来覆盖它；",
        "#     名称里有金额而金额变了的，写 id: 原名称，name: 新名称；",
        "#   - 不再适用的（如删除了的项目），写在下面的 remove: 里删除它，并注明原因。",
        f"period: {effective}",
        "cases:",
    ]
    for name, facts, result in chosen:
        awards = ", ".join(f"{a.program}: {number_text(a.amount)}" for a in result.awards)
        lines += [
            f"  - name: {json.dumps('沿用上一版本：' + name, ensure_ascii=False)}",
            f"    student: {_flow(facts)}",
            "    expect:",
            "      awards: {" + awards + "}",
            f"      flags: [{', '.join(f.check for f in result.flags)}]",
        ]
        errors = sorted({e.program for e in result.errors if e.program})
        if errors:
            lines.append(f"      errors: [{', '.join(errors)}]")
    if inherited:
        lines += ["", "# remove:", "#   cases:", f"#     - {json.dumps(inherited, ensure_ascii=False)}  # 原因：……"]
    return "\n".join(lines) + "\n", len(chosen)


def _first_inherited_case(base: CheckedPolicy, source: Path) -> str | None:
    """The id of one case the new version inherits from `source` (for the commented remove: example)."""
    from engine.diagnostics import PolicyError
    from engine.tools.policytest import load_cases

    try:
        suite = load_cases(base, source)
    except PolicyError:
        return None  # the earlier version's tests have problems: its own `zizhu test` names them
    return suite.cases[0].id if suite.cases else None


def _evaluate(checked: CheckedPolicy, evaluator: Any, facts: dict[str, Any]) -> Result | None:
    """The student's facts read as a policy test reads them (labels, 是/否, dates), then evaluated."""
    from engine.diagnostics import DiagnosticSink
    from engine.tools.policytest import _facts  # the one reading of test facts

    sink = DiagnosticSink()
    doc = SourceDocument("（用例）", "", {"student": facts})
    values = _facts(checked, facts, doc, ("student",), sink)
    if sink.items:
        return None
    return evaluator.evaluate(Record(0, values))


def _flow(facts: dict[str, Any]) -> str:
    """The facts as a YAML flow mapping: {学段: "小学", 年级: 3, 出生日期: 2012-05-01}."""
    parts = []
    for key, value in facts.items():
        if isinstance(value, bool):
            shown = "是" if value else "否"
        elif isinstance(value, (int, Decimal)):
            shown = number_text(Decimal(value))
        elif isinstance(value, dt.date):
            shown = value.isoformat()
        elif value is None:
            shown = '""'
        else:
            shown = json.dumps(str(value), ensure_ascii=False)
        parts.append(f"{json.dumps(str(key), ensure_ascii=False)}: {shown}")
    return "{" + ", ".join(parts) + "}"


__all__ = ["Scaffold", "ScaffoldError", "new_version"]
