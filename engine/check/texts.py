"""Texts that follow the policy's figures.

A refusal reason, a condition's label or a check's message may name a parameter or a table
cell in braces — ``已超过 {送教上门等停发年龄} 周岁``, ``每学期 {非寄宿生生活补助标准["小学"]} 元`` —
so that a version which changes the figure changes the sentence too. Each placeholder is checked
like an expression (an unknown name is a located error) and replaced by its value once, when the
policy is checked: parameters and table cells are constants of a version.

And the reverse: a version that overrides an item but keeps its quoted ``text`` may leave the
text stating a figure the item no longer uses (2024 raising 非寄宿生生活补助 to 312.5/375 while the
text still quotes 250/312.5). :func:`stale_quotes` finds those for ``check`` and ``diff``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from engine.check.tables import OTHER
from engine.check.types import Type
from engine.diagnostics import DiagnosticSink, caret_excerpt, suggest
from engine.language import syntax as s
from engine.language.parse import ExpressionSyntaxError, parse
from engine.policy import model as m
from engine.policy.yamlsource import PathKey, SourceDocument

PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
# A figure a sentence states: a number followed by its unit.
STATED_NUMBER = re.compile(r"(\d+(?:\.\d+)?)\s*(?:元|周岁|岁|天|人)")


def number_text(value: Any) -> str:
    """A figure as a sentence writes it: 312.5, 1000, 16 (no trailing zeros, no exponent)."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


def render_texts(
    policy: m.Policy,
    symbols: dict[str, Any],
    tables: dict[str, dict[tuple[Any, ...], Decimal]],
    field_types: dict[str, Type],
    sink: DiagnosticSink,
    parameters: dict[str, Any],
) -> None:
    """Check every placeholder of every reason, label and message, and replace it by its value
    (in place: the checked policy speaks the figures of its own version)."""
    renderer = _Renderer(policy, symbols, tables, field_types, sink, parameters)
    for text, doc, path, put in _templated_texts(policy):
        if "{" in text:
            put(renderer.render(text, doc, path))


def _templated_texts(policy: m.Policy) -> Iterator[tuple[str, SourceDocument, PathKey, Any]]:
    """(text, document, path of the text, setter) for each text that may hold placeholders."""

    def labels(conditions: tuple[m.Condition, ...]) -> Iterator[tuple[str, SourceDocument, PathKey, Any]]:
        for c in conditions:
            if c.label and c.source.path[-1:] == ("if",):

                def put(value: str, c: m.Condition = c) -> None:
                    c.label = value

                yield c.label, c.source.doc, (*c.source.path[:-1], "label"), put

    for group in policy.groups.values():
        yield from labels(group.conditions)
    for program in policy.programs.values():
        yield from labels(program.conditions)
        for ex in program.exclusions:

            def put_reason(value: str, ex: m.Exclusion = ex) -> None:
                ex.reason = value

            yield ex.reason, ex.condition.doc, (*ex.condition.path[:-1], "reason"), put_reason
    doc = policy.documents[0] if policy.documents else None
    for index, check in enumerate(policy.checks.values()):
        yield from labels(check.conditions)
        if doc is not None:

            def put_message(value: str, check: m.Check = check) -> None:
                check.message = value

            yield check.message, doc, ("checks", index, "message"), put_message


class _Renderer:
    def __init__(self, policy, symbols, tables, field_types, sink, parameters) -> None:
        self.policy = policy
        self.parameters = parameters  # id → typed value
        self.symbols = symbols
        self.tables = tables
        self.field_types = field_types
        self.sink = sink

    def render(self, text: str, doc: SourceDocument, path: PathKey) -> str:
        out, last = [], 0
        for match in PLACEHOLDER.finditer(text):
            out.append(text[last : match.start()])
            value = self._value(match.group(1).strip(), text, match.start(1) + 1, doc, path)
            out.append(match.group(0) if value is None else number_text(value))
            last = match.end()
        out.append(text[last:])
        return "".join(out)

    def _fail(self, message: str, hint: str, text: str, column: int, doc, path, code: str) -> None:
        where = doc.expression_location(path, 1, column) if tuple(path) in doc.positions else doc.locate(path)
        self.sink.error(where, message, hint, caret_excerpt(text, 1, column), code=code)

    def _value(self, inner: str, text: str, column: int, doc: SourceDocument, path: PathKey) -> Any:
        try:
            node = parse(inner)
        except ExpressionSyntaxError as err:
            self._fail(f"文字中的「{{{inner}}}」写法有误：{err.message}", "", text, column, doc, path, "syntax")
            return None
        parameters = [n for n, sym in self.symbols.items() if sym.kind == "parameter"]
        if isinstance(node, s.Name) and len(node.parts) == 1:
            symbol = self.symbols.get(node.text)
            if symbol is None or symbol.kind != "parameter":
                what = "不认识的名称" if symbol is None else "文字中只能引用参数或表格的格，不能引用"
                hint = suggest(node.text, parameters) or "可用的参数：" + "、".join(parameters)
                self._fail(f"{what}「{node.text}」", hint, text, column, doc, path, "unknown-name")
                return None
            return self.parameters[symbol.id]
        if isinstance(node, s.Lookup):
            return self._cell(node, text, column, doc, path)
        self._fail(
            f"文字中的「{{{inner}}}」只能是一个参数或一个表格的格",
            '如 {送教上门等停发年龄} 或 {非寄宿生生活补助标准["小学"]}',
            text,
            column,
            doc,
            path,
            "bad-placeholder",
        )
        return None

    def _cell(self, node: s.Lookup, text: str, column: int, doc, path) -> Any:
        symbol = self.symbols.get(node.table.text)
        if symbol is None or symbol.kind != "table":
            names = [n for n, sym in self.symbols.items() if sym.kind == "table"]
            hint = suggest(node.table.text, names) or "可用的表：" + "、".join(names)
            self._fail(f"没有名为「{node.table.text}」的表", hint, text, column, doc, path, "unknown-name")
            return None
        table = self.policy.tables[symbol.id]
        key: list[Any] = []
        for key_node, key_field in zip(node.keys, table.keys, strict=False):
            if isinstance(key_node, s.String) and table.fallback == (key_field, key_node.value.strip()):
                key.append(OTHER)  # the fallback row, by its word: {学费标准["普通高中", "其他学校"]}
            elif isinstance(key_node, s.String) and (enum := self.field_types[key_field].enum) is not None:
                key.append(enum.resolve(key_node.value))
            elif isinstance(key_node, (s.Number, s.String)):
                key.append(key_node.value)
            else:
                key.append(None)
        cell = self.tables.get(symbol.id, {}).get(tuple(key)) if len(node.keys) == len(table.keys) else None
        if cell is None:
            self._fail(
                f"表「{table.label}」没有「{s.to_text(node)}」这一格",
                f'按 {"、".join(table.keys)} 写出键，如 {table.label}["{_first_key(table)}"]',
                text,
                column,
                doc,
                path,
                "unknown-name",
            )
        return cell


def _first_key(table: m.Table) -> str:
    return str(next(iter(table.rows), ""))


# -- full-width symbols typed with a Chinese input method --------------------------------------

# What each full-width or mathematical symbol is written as in an expression.
HALF_WIDTH = {
    "＝": "=", "＜": "<", "＞": ">", "≠": "!=", "≥": ">=", "≤": "<=", "＊": "*", "×": "*", "÷": "/",
    "／": "/", "＋": "+", "－": "-", "（": "(", "）": ")", "［": "[", "］": "]", "【": "[", "】": "]",
    "，": ",", "、": ",", "！": "!", "．": ".", "＂": '"', "：": ":", "；": ";",
}  # fmt: skip
_QUOTES = {'"': '"', "“": "”", "'": "'", "‘": "’"}
_ANY_FULL_WIDTH = re.compile("[" + re.escape("".join(HALF_WIDTH)) + "]")


def full_width_symbols(text: str) -> list[tuple[int, int, str]]:
    """Every full-width symbol outside quoted strings: (line, column, symbol), 1-based, so that
    all of them are reported at once with their half-width forms."""
    if not _ANY_FULL_WIDTH.search(text):  # nearly every expression: one scan in C
        return []
    found = []
    line, column, closing = 1, 0, ""
    for char in text:
        column += 1
        if char == "\n":
            line, column = line + 1, 0
        elif closing:
            closing = "" if char == closing else closing
        elif char in _QUOTES:
            closing = _QUOTES[char]
        elif char in HALF_WIDTH:
            found.append((line, column, char))
    return found


# -- quoted texts that a version left behind ------------------------------------------------


def stale_quotes(checked: Any, before: Any = None) -> list[str]:
    """Items whose quoted `text` states a figure (a number with 元、周岁 …) that the item no longer
    uses, one line each. Alone (`check`): the items this version overrides without rewriting their
    text. Against the version `before` (`diff`): items whose text is the same in both, stating a
    figure the item used before and uses no more."""
    policy: m.Policy = checked.policy
    if before is None:
        candidates = [key for key, keys in sorted(policy.rewritten.items()) if "text" not in keys]
    else:
        candidates = [
            (section, item_id)
            for section in SECTIONS
            for item_id, item in getattr(policy, section).items()
            if (old := getattr(before.policy, section).get(item_id)) is not None
            and old.citation.text == item.citation.text
        ]
    found = []
    for section, item_id in candidates:
        item = getattr(policy, section).get(item_id)
        if item is None or not item.citation.text:
            continue
        used = {Decimal(v) for v in _numbers_used(checked, section, item)}
        stated = [n for n in STATED_NUMBER.findall(item.citation.text) if Decimal(n) not in used]
        if before is not None:
            used_before = {Decimal(v) for v in _numbers_used(before, section, getattr(before.policy, section)[item_id])}
            stated = [n for n in stated if Decimal(n) in used_before]
        if stated and used:
            where = policy.provenance.get((section, item_id), [""])[-1]
            found.append(
                f"{item.label}（{item_id}，{where}）：原文 text 中的 {'、'.join(dict.fromkeys(stated))} "
                f"已不是它用的数（现用 {'、'.join(sorted({number_text(u) for u in used}, key=Decimal))}），"
                "请同时改写 text"
            )
    return found


SECTIONS = ("parameters", "tables", "groups", "programs", "checks")


def _numbers_used(checked: Any, section: str, item: Any) -> list[Any]:
    if section == "tables":
        return list(checked.tables.get(item.id, {}).values())
    if section == "parameters":
        value = checked.parameters.get(item.id)
        return [value] if isinstance(value, (int, Decimal)) and not isinstance(value, bool) else []
    numbers: list[Any] = []
    kind = {"programs": "program", "groups": "group", "checks": "check"}.get(section)
    if kind is None:
        return numbers
    for dep_kind, dep_id in checked.depends.get((kind, item.id), ()):
        if dep_kind == "table":
            numbers.extend(checked.tables.get(dep_id, {}).values())
        elif dep_kind == "parameter":
            numbers.extend(_numbers_used(checked, "parameters", checked.policy.parameters[dep_id]))
    texts = [c.source.text for c in item.conditions]
    if section == "programs":
        texts += [item.amount.text, *(ex.condition.text for ex in item.exclusions)]
    for text in texts:
        numbers.extend(Decimal(n) for n in re.findall(r"(?<![\w.])\d+(?:\.\d+)?", text))
    return numbers


__all__ = ["number_text", "render_texts", "stale_quotes"]
