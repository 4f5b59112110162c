"""Stage ``known``: a text field's declared known values (``known:`` — a county's schools) checked
against themselves and the tables, and its ``required_when`` condition typed.

The list must say one thing: no value twice, no alias written twice, equal to a listed value or
naming a value the list lacks; a table looked up by the field names only listed values (its
fallback word aside), so a fee row cannot be written for a school the readers would never match.
Where ``required_when`` holds for a record, a value outside the list is a problem at every lookup
keyed by the field (engine.check.tables); the expressions stage wraps those lookups in
:class:`engine.check.ir.RequireKnown` with the condition typed here.
"""

from __future__ import annotations

import difflib
from typing import Any

from engine.check import ir
from engine.check.context import CheckContext
from engine.diagnostics import suggest
from engine.policy import model as m

# The owner a required_when condition is typed under: not an item any other stage orders.
KNOWN_OWNER = "known"


def check_known(ctx: CheckContext) -> None:
    for f in ctx.policy.fields.values():
        if f.known is None:
            continue
        known = f.known
        if f.type != "text" or f.format is not None or f.compute is not None:
            ctx.sink.error(
                known.location,
                f"字段「{f.label}」不能写 known（已知取值）：只有填写的文字字段（type: text）可以列出已知取值",
                "选项固定的字段请用 type: enum 和 values",
                code="known-type",
            )
            continue
        _list_says_one_thing(ctx, f, known)
        for table in ctx.policy.tables.values():
            if f.id in table.keys:
                _table_rows_listed(ctx, f, known, table)
        if known.required_when is not None:
            required = _required(ctx, f, known.required_when)
            if required is not None:
                ctx.known_required[f.id] = required


def _list_says_one_thing(ctx: CheckContext, f: m.Field, known: m.KnownValues) -> None:
    listed: set[str] = set()
    for i, value in enumerate(known.values):
        if value in listed:
            ctx.sink.error(
                known.doc.locate((*known.path, "values", i)),
                f"字段「{f.label}」的已知取值「{value}」写了两次",
                "每个值只列一次",
                code="duplicate-value",
            )
        listed.add(value)
    seen_aliases: set[str] = set()
    for alias, target in known.aliases.items():
        where = known.doc.locate((*known.path, "aliases", alias))
        if alias in seen_aliases:  # two keys that differ only by spaces
            ctx.sink.error(where, f"字段「{f.label}」的简称「{alias}」写了两次", code="duplicate-value")
        seen_aliases.add(alias)
        if alias in listed:
            ctx.sink.error(
                where,
                f"字段「{f.label}」的简称「{alias}」本身就是列出的值",
                f"简称应是名单以外的写法；「{alias}」已在名单中，删去这个简称",
                code="alias-is-listed",
            )
        elif target not in listed:
            ctx.sink.error(
                where,
                f"字段「{f.label}」的简称「{alias}」指向的「{target}」不在列出的值中",
                suggest(target, known.values) or "简称要指向 values 中列出的全称",
                code="alias-not-listed",
            )


def _table_rows_listed(ctx: CheckContext, f: m.Field, known: m.KnownValues, table: m.Table) -> None:
    """Every row of `table` at the depth of `f` names a listed value (or the table's fallback word)."""
    depth = table.keys.index(f.id)
    # The fallback word is never a value here (when it is declared for another key, the data stage
    # says so once).
    word = table.fallback[1] if table.fallback is not None else None
    if word is not None and table.fallback[0] == f.id and word in known.values:  # type: ignore[index]
        ctx.sink.error(
            table.location,
            f"表「{table.label}」的兜底词「{word}」是字段「{f.label}」列出的值",
            "兜底词代表表中未列出的值，不能是名单中的一个值；请换一个词，如 其他学校",
            code="table-fallback",
        )
    listed = set(known.values)

    def visit(node: Any, level: int, path: tuple[Any, ...]) -> None:
        if not isinstance(node, dict):
            return
        for raw_key, child in node.items():
            if level < depth:
                visit(child, level + 1, (*path, raw_key))
                continue
            written = str(raw_key).strip()
            if written == word or written in listed:
                continue
            full = known.aliases.get(written)
            hint = (
                f"「{written}」是「{full}」的简称，表中请写全称"
                if full
                else (suggest(written, known.values) or f"表中只能写字段「{f.label}」的 known 中列出的值")
            )
            ctx.sink.error(
                table.doc.locate((*path, raw_key)),
                f"表「{table.label}」的「{written}」不在字段「{f.label}」列出的值中",
                hint,
                code="unknown-value",
            )

    visit(table.rows, 0, table.path)
    visit = None  # type: ignore[assignment]  # else the recursive inner function is a reference cycle (with ctx)


def unknown_value_message(f: m.Field, value: Any, item_label: str) -> str:
    """What a row problem ``unknown-value`` says: the cell, the value, why it must be listed, and
    the nearest listed values (or all of them, when there are few)."""
    known = f.known
    assert known is not None
    written = str(value)
    names = {**{v: v for v in known.values}, **known.aliases}
    near = dict.fromkeys(names[n] for n in difflib.get_close_matches(written, list(names), n=3, cutoff=0.4))
    if near:
        choices = "是否想写：" + "、".join(f"「{v}」" for v in near) + "？"
    elif len(known.values) <= _LIST_ALL:
        choices = "可填：" + "、".join(known.values)
    else:
        choices = f"政策列出的{f.label}共 {len(known.values)} 个，见字段「{f.label}」的 known"
    condition = known.required_when.text if known.required_when is not None else ""
    return (
        f"「{f.label}」填的「{written}」不在政策列出的{f.label}中（「{condition}」成立时，{f.label}须为列出的名称或其简称），"
        f"无法计算「{item_label}」；{choices}"
    )


_LIST_ALL = 12  # a list this short is shown whole in a problem


def _required(ctx: CheckContext, f: m.Field, src: m.Source) -> ir.Expr | None:
    owner = (KNOWN_OWNER, f.id)
    expr = ctx.expression(src, owner)
    reads = ctx.depends.pop(owner, set())
    if expr is None:
        return None
    if expr.type.kind != "bool":
        message = f"required_when 应为条件（是/否），「{src.text}」是{expr.type}"
        ctx.sink.error(src.location, message, code="type-mismatch")
        return None
    if any(kind == "program" for kind, _ in reads):
        ctx.sink.error(
            src.location,
            f"required_when「{src.text}」读了资助项目的结果；它只能读学生信息（如 县内学校）",
            code="type-mismatch",
        )
        return None
    return expr


__all__ = ["KNOWN_OWNER", "check_known", "unknown_value_message"]
