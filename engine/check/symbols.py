"""Stage ``symbols``: every name an expression may use (fields and their aliases, parameters,
groups, tables, programs), with its type; a name used twice is an error."""

from __future__ import annotations

import re

from engine.check.checked import Symbol
from engine.check.context import CheckContext
from engine.check.types import BOOL, BY_NAME, EnumDef, Type
from engine.policy import model as m

_IDENTIFIER = re.compile(r"^[A-Za-z_\u3400-\u4dbf\u4e00-\u9fff][A-Za-z0-9_\u3400-\u4dbf\u4e00-\u9fff]*$")
_RESERVED = {"and", "or", "not", "in", "if", "then", "else", "true", "false", "是", "否"}


def collect_symbols(ctx: CheckContext) -> None:
    p = ctx.policy
    for f in p.fields.values():
        type_ = _field_type(ctx, f)
        ctx.field_types[f.id] = type_
        kind = "computed" if f.compute else "field"
        _declare(ctx, Symbol(kind, f.id, f.label, type_, f.location), f.label, f.aliases)
    for prm in p.parameters.values():
        _declare(ctx, Symbol("parameter", prm.id, prm.label, BY_NAME[prm.type], prm.location), prm.label)
    for g in p.groups.values():
        _declare(ctx, Symbol("group", g.id, g.label, BOOL, g.location), g.label)
    for t in p.tables.values():
        _declare(ctx, Symbol("table", t.id, t.label, None, t.location), t.label)
    for pr in p.programs.values():
        _declare(ctx, Symbol("program", pr.id, pr.label, None, pr.location), pr.label)


def _field_type(ctx: CheckContext, f: m.Field) -> Type:
    if f.type == "enum":
        enum = EnumDef(f.id, f.label, f.values)
        ctx.enums[f.id] = enum
        seen: dict[str, str] = {}
        for v in f.values:
            for name in (v.id, v.label, *v.aliases):
                if name in seen and seen[name] != v.id:
                    ctx.sink.error(f.location, f"字段「{f.label}」的选项名「{name}」重复", code="duplicate-name")
                seen[name] = v.id
        return Type("enum", enum)
    return BY_NAME[f.type]


def _declare(ctx: CheckContext, symbol: Symbol, label: str, aliases: tuple[str, ...] = ()) -> None:
    names = [symbol.id]
    if _IDENTIFIER.match(label) and label not in _RESERVED:
        names.append(label)
    names.extend(a for a in aliases if _IDENTIFIER.match(a) and a not in _RESERVED)
    for name in names:
        other = ctx.symbols.get(name)
        if other and (other.kind, other.id) != (symbol.kind, symbol.id):
            ctx.sink.error(
                symbol.location,
                f"名称「{name}」已被 {other.location} 的「{other.label}」使用",
                "表达式按名称引用字段、条件组、表、参数和项目，名称不能重复；请改名",
                code="duplicate-name",
            )
            continue
        ctx.symbols[name] = symbol
