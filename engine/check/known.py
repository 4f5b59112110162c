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
import re
import unicodedata
from typing import Any

from engine.check import ir
from engine.check.context import CheckContext
from engine.diagnostics import Location, suggest
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


def folded(text: str) -> str:
    """A name as a reader compares it: full-width letters, digits and spaces as half-width (NFKC:
    第２中学 is 第2中学), a number in Chinese numerals as digits (第二中学 is 第2中学), spaces around it
    dropped. Two names of a list that fold alike are one school written twice — and a cell matching
    only one of them would silently take the other's row (or the 其他学校 row)."""
    return _CHINESE_NUMBER.sub(_digits, unicodedata.normalize("NFKC", text)).strip()


_CHINESE_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
_CHINESE_NUMBER = re.compile("[零〇一二两三四五六七八九十]+")


def _digits(match: re.Match[str]) -> str:
    """二 → 2, 十二 → 12, 二十三 → 23, 二〇二一 → 2021 (a run of numerals read as a reader reads it)."""
    run = match.group()
    if "十" not in run:
        return "".join(str(_CHINESE_DIGITS[c]) for c in run)
    tens, _, ones = run.partition("十")
    if len(tens) > 1 or len(ones) > 1 or "十" in ones:
        return run  # not a number below 100 written the usual way: compared as written
    return str(_CHINESE_DIGITS.get(tens, 1) * 10 + _CHINESE_DIGITS.get(ones, 0))


def _list_says_one_thing(ctx: CheckContext, f: m.Field, known: m.KnownValues) -> None:
    listed: dict[str, str] = {}  # folded → as listed
    for i, value in enumerate(known.values):
        same = listed.get(folded(value))
        if same is not None:
            ctx.sink.error(
                known.where("values", i),
                f"字段「{f.label}」的已知取值「{value}」写了两次"
                + (f"（与「{same}」只是数字或全角、半角的写法不同）" if same != value else ""),
                "每个值只列一次" + ("，按学校的正式名称写" if same != value else ""),
                code="duplicate-value",
            )
        listed.setdefault(folded(value), value)
    values_age = _age(ctx.policy, known.where("values"))
    stale: dict[str, str] = {}  # alias → the school it names, inherited, which this version no longer lists
    seen_aliases: set[str] = set()
    for alias, target in known.aliases.items():
        where = known.where("aliases", alias)
        if alias in seen_aliases:  # two keys that differ only by spaces
            ctx.sink.error(where, f"字段「{f.label}」的简称「{alias}」写了两次", code="duplicate-value")
        seen_aliases.add(alias)
        if folded(alias) in listed:
            same = listed[folded(alias)]
            ctx.sink.error(
                where,
                f"字段「{f.label}」的简称「{alias}」本身就是列出的值"
                + (f"「{same}」（只是数字或全角、半角的写法不同）" if same != alias else ""),
                f"简称应是名单以外的写法；「{same}」已在名单中，删去这个简称",
                code="alias-is-listed",
            )
        elif target not in known.values:
            if _age(ctx.policy, where) > values_age:
                stale[alias] = target
            elif target in known.aliases:
                ctx.sink.error(
                    where,
                    f"字段「{f.label}」的简称「{alias}」指向的「{target}」本身是简称"
                    f"（指向「{known.aliases[target]}」）",
                    f"简称要直接指向全称：写 {alias}: {known.aliases[target]}",
                    code="alias-not-listed",
                )
            else:
                ctx.sink.error(
                    where,
                    f"字段「{f.label}」的简称「{alias}」指向的「{target}」不在列出的值中",
                    suggest(target, known.values) or "简称要指向 values 中列出的全称",
                    code="alias-not-listed",
                )
    if stale:
        schools = "、".join(f"「{t}」" for t in dict.fromkeys(stale.values()))
        ctx.sink.error(
            known.where("values"),
            f"本版本字段「{f.label}」的名单不再列出{schools}，上一版本指向这些学校的 {len(stale)} 个简称仍在："
            + "、".join(stale),
            f"删去这些简称：在本版本写 remove: {{fields.{f.id}.known.aliases: [{', '.join(stale)}]}}；"
            f"学校合并或改名的，也可在 override: 的 known.aliases 下把简称改指现在的全称",
            code="alias-not-listed",
        )


def _age(policy: m.Policy, where: Location) -> int:
    """How many versions back `where` was written: 0 for this version's own files (or a policy
    that extends none)."""
    for age, folder in enumerate(policy.lineage_folders):
        if where.file.startswith(folder.rstrip("/") + "/"):
            return age
    return 0


def _table_rows_listed(ctx: CheckContext, f: m.Field, known: m.KnownValues, table: m.Table) -> None:
    """Every row of `table` at the depth of `f` names a listed value (or the table's fallback word)."""
    depth = table.keys.index(f.id)
    # The fallback word is never a value here (when it is declared for another key, the data stage
    # says so once).
    word = table.fallback[1] if table.fallback is not None else None
    if word is not None and table.fallback[0] == f.id and word in known.values:  # type: ignore[index]
        ctx.sink.error(
            table.doc.locate((*table.path[:-1], "fallback")),
            f"表「{table.label}」的兜底词「{word}」是字段「{f.label}」列出的值",
            "兜底词代表表中未列出的值，不能是名单中的一个值；请换一个词，如 其他学校",
            code="table-fallback",
        )
        return  # which row was meant for unlisted schools is unclear until the word is fixed
    listed = set(known.values)
    values_age = _age(ctx.policy, known.where("values"))
    stale: dict[tuple[Any, ...], list[str]] = {}  # rows inherited for schools this version dropped

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
            where = table.doc.locate((*path, raw_key))
            full = known.aliases.get(written)
            if full is None and _age(ctx.policy, where) > values_age:
                stale.setdefault(path[len(table.path) :], []).append(written)
                continue
            hint = (
                f"「{written}」是「{full}」的简称，表中请写全称"
                if full
                else (suggest(written, known.values) or f"表中只能写字段「{f.label}」名单中的值")
            )
            ctx.sink.error(
                where,
                f"表「{table.label}」的「{written}」不在字段「{f.label}」列出的值中",
                hint,
                code="unknown-value",
            )

    visit(table.rows, 0, table.path)
    visit = None  # type: ignore[assignment]  # else the recursive inner function is a reference cycle (with ctx)
    for keys, schools in stale.items():
        where_rows = ".".join(["tables", table.id, "rows", *map(str, keys)])
        ctx.sink.error(
            known.where("values"),
            f"本版本字段「{f.label}」的名单不再列出" + "、".join(f"「{s}」" for s in schools)
            + f"，上一版本的表「{table.label}」" + (f"（{'、'.join(map(str, keys))}）" if keys else "")
            + "中仍有这些学校的行",
            f"删去这些行：在本版本写 remove: {{{where_rows}: [{', '.join(schools)}]}}",
            code="unknown-value",
        )


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
        choices = "可填：" + "、".join(known.values) + "。"
    else:
        # Words a school aid officer can follow: the template's guide sheet lists every name.
        choices = (
            f"政策列出的{f.label}共 {len(known.values)} 个，见填表模板「填表说明」中「{f.label}」一行的「可填的值」。"
        )
    condition = known.required_when.text if known.required_when is not None else ""
    return (
        f"「{f.label}」填的「{written}」不在政策列出的{f.label}中（「{condition}」为是时，「{f.label}」一列须填列出的名称或其简称），"
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
        if expr.type.kind == "enum" and expr.type.enum is not None:
            labels = expr.type.enum.labels
            shown = "、".join(labels[:4]) + ("等" if len(labels) > 4 else "")
            what = f"「{expr.type.enum.label}」这个选项字段的值（{shown}）"
            hint = f'要按它判断，写成比较，如 required_when: {src.text} == "{labels[0]}"'
        else:
            what, hint = f"{expr.type}，不是条件", ""
        ctx.sink.error(
            src.location,
            f"required_when 要写一个为是或否的条件（如 县内学校），「{src.text}」是{what}",
            hint or "写一个为是或否的条件，如 县内学校",
            code="type-mismatch",
        )
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
