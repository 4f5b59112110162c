"""Stage ``data``: the policy's own values typed — parameters, each field's blank value and
identity-number links, every table cell. Typed values go to the context, never back into the model."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from engine.check.checked import FieldInfo, Symbol
from engine.check.context import CheckContext
from engine.check.tables import OTHER
from engine.check.types import BY_NAME, Type
from engine.check.values import parse_value, problem_code
from engine.diagnostics import suggest
from engine.policy import model as m


def type_data(ctx: CheckContext) -> None:
    p = ctx.policy
    for prm in p.parameters.values():
        value, problem = parse_value(BY_NAME[prm.type], prm.value)
        if problem:
            message = f"参数「{prm.label}」的值 {prm.value!r} 不对：{problem}"
            ctx.sink.error(prm.location, message, code=problem_code(problem))
        ctx.symbols[prm.id] = Symbol("parameter", prm.id, prm.label, BY_NAME[prm.type], prm.location)
        ctx.parameters[prm.id] = value if not problem else prm.value
    for f in p.fields.values():
        ctx.fields[f.id] = _field(ctx, f)
    ctx.tables = {t.id: _table(ctx, t) for t in p.tables.values()}


def _field(ctx: CheckContext, f: m.Field) -> FieldInfo:
    p = ctx.policy
    type_ = ctx.field_types[f.id]
    blank = None
    if f.has_blank and f.blank is not None:
        blank, problem = parse_value(type_, f.blank)
        if problem:
            ctx.sink.error(f.location, f"字段「{f.label}」的空白值 {f.blank!r} 不对：{problem}", code="bad-value")
    if f.from_id:
        src = p.fields.get(f.from_id)
        if src is None or src.format != "resident_id":
            ctx.sink.error(
                f.location,
                f"字段「{f.label}」的 from_id 应指向格式为 resident_id 的字段",
                suggest(f.from_id, list(p.fields)),
                code="unknown-name",
            )
        if type_.kind != "date":
            ctx.sink.error(f.location, f"只有日期字段能从身份证号读出（「{f.label}」是{type_}）", code="type-mismatch")
    if f.format == "resident_id" and type_.kind != "text":
        ctx.sink.error(f.location, f"身份证号字段「{f.label}」应为 text 类型", code="type-mismatch")
    return FieldInfo(f, type_, blank)


def _table(ctx: CheckContext, t: m.Table) -> dict[tuple[Any, ...], Decimal]:
    policy = ctx.policy
    key_types: list[Type] = []
    for key in t.keys:
        f = policy.fields.get(key)
        if f is None:
            ctx.sink.error(
                t.location,
                f"表「{t.label}」的查表字段「{key}」不存在",
                suggest(key, list(policy.fields)),
                code="unknown-name",
            )
            return {}
        key_types.append(ctx.field_types[key])
    position, word = _fallback(ctx, t, key_types)
    cells: dict[tuple[Any, ...], Decimal] = {}
    value_type = BY_NAME[t.value_type]

    def visit(node: Any, depth: int, prefix: tuple[Any, ...], path: tuple[Any, ...]) -> None:
        if depth == len(key_types):
            value, problem = parse_value(value_type, node)
            if problem or isinstance(node, (dict, list)):
                ctx.sink.error(
                    t.doc.locate(path),
                    f"表「{t.label}」{_cells_text(prefix, word)} 的值不对：{problem or f'{node!r} 应为一个数'}",
                    code=problem_code(problem) if problem else "bad-value",
                )
                return
            if prefix in cells:  # two spellings of one value (普通高中 and 高中): which figure is meant?
                ctx.sink.error(
                    t.doc.locate(path),
                    f"表「{t.label}」{_cells_text(prefix, word)} 写了两次",
                    "同一个值的不同写法（如名称和别名）算同一行，只保留一行",
                    code="duplicate-row",
                )
                return
            cells[prefix] = value
            return
        if not isinstance(node, dict):
            ctx.sink.error(
                t.doc.locate(path),
                f"表「{t.label}」按 {'、'.join(t.keys)} 查，共 {len(key_types)} 层；"
                f"{_cells_text(prefix, word)} 这里少了一层",
                code="table-keys",
            )
            return
        key_type = key_types[depth]
        for raw_key, child in node.items():
            if word is not None and str(raw_key).strip() == word:
                if depth != position:
                    ctx.sink.error(
                        t.doc.locate((*path, raw_key)),
                        f"表「{t.label}」的兜底词「{word}」只能写在「{policy.fields[t.keys[position]].label}」这一层，"
                        f"这里是「{policy.fields[t.keys[depth]].label}」",
                        code="table-fallback",
                    )
                    continue
                visit(child, depth + 1, (*prefix, OTHER), (*path, raw_key))
                continue
            key, problem = parse_value(key_type, raw_key)
            if problem:
                field_label = policy.fields[t.keys[depth]].label
                ctx.sink.error(
                    t.doc.locate((*path, raw_key)),
                    f"表「{t.label}」的键「{raw_key}」不是「{field_label}」的有效值",
                    problem,
                    code="table-keys",
                )
                continue
            visit(child, depth + 1, (*prefix, key), (*path, raw_key))

    visit(t.rows, 0, (), t.path)
    visit = None  # type: ignore[assignment]  # else the recursive inner function is a reference cycle (with ctx)
    return cells


def _fallback(ctx: CheckContext, t: m.Table, key_types: list[Type]) -> tuple[int | None, str | None]:
    """(position of the fallback key, its word), or (None, None) when the table declares none or
    the declaration is wrong (then said)."""
    if t.fallback is None:
        return None, None
    key, word = t.fallback
    if key not in t.keys:
        ctx.sink.error(
            t.location,
            f"表「{t.label}」的兜底行写在「{key}」上，但它不是这张表的查表字段",
            "可用：" + "、".join(t.keys),
            code="table-fallback",
        )
        return None, None
    position = t.keys.index(key)
    word = word.strip()
    _value, problem = parse_value(key_types[position], word)
    if not problem and key_types[position].kind != "text":
        # A word that is also one of the key's values (an option's label or alias) would be both.
        label = ctx.policy.fields[key].label
        ctx.sink.error(
            t.location,
            f"表「{t.label}」的兜底词「{word}」本身是「{label}」的一个值，分不清是哪一行",
            "换一个不是选项的词，如「其他」",
            code="table-fallback",
        )
        return None, None
    return position, word


def _cells_text(prefix: tuple[Any, ...], word: str | None = None) -> str:
    """A row's keys as written in an error (the fallback row by its word)."""
    return "[" + ", ".join(str(word) if k is OTHER else str(k) for k in prefix) + "]" if prefix else ""
