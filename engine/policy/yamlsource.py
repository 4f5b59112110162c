"""Line-aware, safe YAML: plain Python data plus the position of every node.

We let PyYAML's SafeLoader compose the node graph (no object construction from
tags, so nothing in a policy file can run code) and build the values ourselves,
so that:

* every mapping key and value, every list item, keeps its line and column;
* non-integer numbers become ``Decimal`` (YAML would give a float: 312.5 must stay 312.5);
* a key written twice in one mapping is an error, not a silent overwrite;
* aliases (``*name``) may not expand a small file into gigabytes: beyond a small budget of
  repeated nodes, or an alias inside itself, the file is refused at the alias;
* a file saved by Windows Notepad as "ANSI" (GBK) is read as GBK; one that is UTF-8 except for a
  damaged byte is refused at that line rather than read as garbled text.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from engine.diagnostics import Diagnostic, Location

PathKey = tuple[str | int, ...]
# Where a string scalar starts, its style, and for a block scalar (| or >) the lengths of its
# source lines with the indentation they are written at.
ScalarStart = tuple[Location, str | None, int, tuple[int, ...]]


@dataclass
class SourceDocument:
    """One YAML file: its data, and the location of each node by its path from the root."""

    file: str
    text: str
    data: Any
    positions: dict[PathKey, Location] = field(default_factory=dict)
    # Where each quoted or block string scalar starts, its style, and (block scalars) the
    # indentation of its text, to place an error inside an expression string; a plain scalar (most
    # of a file) starts at its position. Locations carry their file, so a document merged from
    # several files (a policy that extends another) still points at the right one.
    scalar_starts: dict[PathKey, ScalarStart] = field(default_factory=dict)

    def locate(self, path: PathKey) -> Location:
        """The location of the node at path, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path not in self.positions and path:
            path = path[:-1]
        return self.positions.get(path, Location(self.file, 1, 1))

    def expression_location(self, path: PathKey, line: int, column: int) -> Location:
        """The file location of (line, column) inside the string scalar at path (plain, unless
        `scalar_starts` says otherwise)."""
        start, style, indent, lengths = self.scalar_starts.get(tuple(path), (self.locate(path), None, 0, ()))
        if style in ('"', "'"):
            start = Location(start.file, start.line, (start.column or 1) + 1)
        first = (start.line or 1) + 1  # block scalars begin on the line after the indicator
        if style == "|":
            return Location(start.file, first + line - 1, indent + column)
        if style == ">":
            # Folded: the source lines were joined with spaces into one line of text.
            offset = column - 1
            for index, length in enumerate(lengths):
                if offset <= length:
                    return Location(start.file, first + index, indent + offset + 1)
                offset -= length + 1
            return Location(start.file, first + max(len(lengths) - 1, 0), indent + 1)
        return start.shifted(line - 1, column)


def _block_lines(text_lines: list[str], node: yaml.ScalarNode) -> tuple[int, tuple[int, ...]]:
    """The indentation of a block scalar's text, and the length of each of its lines
    (`text_lines`: the file split at "\n" once, not once per block scalar)."""
    end = node.end_mark.line + (1 if node.end_mark.column > 0 else 0)  # the end mark may open the next line
    lines = text_lines[node.start_mark.line + 1 : end]
    content = [line for line in lines if line.strip()]
    indent = min((len(line) - len(line.lstrip(" ")) for line in content), default=0)
    return indent, tuple(len(line[indent:].rstrip()) for line in content)


class YamlError(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.render())
        self.diagnostic = diagnostic


# libyaml's safe loader when PyYAML was built with it (ten times faster on a large policy), else
# the pure-Python one; both build only plain data, and both give every node its line and column.
_SAFE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# How many nodes aliases may add by repetition (a policy uses a handful, if any; a "billion laughs"
# file adds billions).
MAX_ALIAS_NODES = 10_000


def guess_encoding(data: bytes) -> tuple[str, int | None]:
    """(encoding, None) for the whole of `data`: UTF-8 (with or without BOM), or GB18030 (a
    superset of GBK, what Chinese Windows calls "ANSI"). ("utf-8", offset) when the data is
    UTF-8 but for a damaged byte at `offset`: decoding that as GBK would garble every character."""
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig", None
    try:
        data.decode("utf-8")
        return "utf-8", None
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    non_ascii = len(text) - len(text.encode("ascii", "ignore"))
    if non_ascii - bad > bad:  # mostly well-formed multi-byte UTF-8: one damaged spot
        return "utf-8", first_bad
    return "gb18030", None


def load_yaml(path: Path | str, display_name: str | None = None) -> SourceDocument:
    path = Path(path)
    name = display_name or str(path)
    data = path.read_bytes()
    encoding, bad_byte = guess_encoding(data)
    try:
        if bad_byte is not None:
            raise UnicodeDecodeError(encoding, data, bad_byte, bad_byte + 1, "damaged byte")
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise YamlError(
            Diagnostic(
                Location(name, line, 1),
                "文件不是有效的 UTF-8 或 GBK 文本，这一行有无法识别的字节",
                "请用记事本或编辑器打开，「另存为」时编码选 UTF-8。",
                code="bad-encoding",
            )
        ) from None
    return load_yaml_text(text, name)


# Objects made while the collector was paused beyond which they are moved out of its reach when it
# resumes (a policy of some thousands of items; policies/2021 makes about 60,000).
FREEZE_ABOVE = 500_000


@contextmanager
def cycle_collection_paused() -> Iterator[None]:
    """Python's cycle collector paused while a file is composed and built: the hundreds of
    thousands of nodes a large policy makes triggered full collections, each walking every live
    object (10,000 programs: seconds). The data built holds no reference cycles; any garbage cycle
    (a self-containing alias that is refused) is collected once the collector runs again. Also
    worth using around a whole load + check of a large policy (see the README, Performance).

    When the work went well and made more than FREEZE_ABOVE objects, they are frozen (``gc.freeze``,
    Python's own way to keep long-lived objects made at start-up out of every later collection)
    before the collector resumes: its first pass would otherwise walk all of them (10,000
    programs: a second), and every full pass after that again. Frozen objects are still freed by
    reference counting when no longer used; only a reference cycle among them would stay, and a
    load makes none (tests/test_check_scale.py). After an error nothing is frozen."""
    was_enabled = gc.isenabled()
    gc.disable()
    succeeded = False
    try:
        yield
        succeeded = True
    finally:
        if was_enabled:
            if succeeded and gc.get_count()[0] > FREEZE_ABOVE:
                gc.freeze()
            gc.enable()


def load_yaml_text(text: str, file: str) -> SourceDocument:
    with cycle_collection_paused():
        return _load_yaml_text(text, file)


def _load_yaml_text(text: str, file: str) -> SourceDocument:
    try:
        root = yaml.compose(text, Loader=_SAFE)
    except RecursionError:
        raise YamlError(
            Diagnostic(Location(file), "YAML 嵌套层数太深，无法读取", "请减少列表和映射的嵌套层数。", code="too-deep")
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
        from engine.diagnostics import caret_excerpt

        excerpt = caret_excerpt(text, loc.line or 1, loc.column or 1) if mark else ""
        raise YamlError(
            Diagnostic(loc, f"YAML 格式错误：{exc.problem or exc}", _yaml_hint(exc), excerpt, code="yaml-syntax")
        ) from None
    except yaml.YAMLError as exc:
        raise YamlError(Diagnostic(Location(file), f"YAML 格式错误：{exc}", code="yaml-syntax")) from None
    doc = SourceDocument(file, text, None)
    try:
        doc.data = _build(root, (), doc, _Expansion()) if root is not None else None
    except RecursionError:
        raise YamlError(
            Diagnostic(Location(file), "YAML 嵌套层数太深，无法读取", "请减少列表和映射的嵌套层数。", code="too-deep")
        ) from None
    return doc


@dataclass
class _Expansion:
    """Nodes built so far (by identity), those being built (an alias inside itself), and how many
    were built again through an alias."""

    built: set[int] = field(default_factory=set)
    open: set[int] = field(default_factory=set)
    repeated: int = 0
    alias_use: Location | None = None  # where the outermost alias being expanded is used
    text_lines: list[str] | None = None  # the file's lines, split when a block scalar first needs them


def _yaml_hint(exc: yaml.MarkedYAMLError) -> str:
    problem = str(exc.problem or "")
    if "tab" in problem or "\t" in problem or "\\t" in problem:
        return "这一行有制表符（Tab），请改用空格。"
    if "expected <block end>" in problem:
        return "这一行的缩进和上面同一层的项目没有对齐：同一层的项目前面的空格数要相同。"
    if "mapping values" in problem:
        return "冒号后面要有空格；若表达式里有冒号，请给整个表达式加引号。"
    return "请检查缩进（同一层要对齐）和引号是否成对。"


_constructor = yaml.constructor.SafeConstructor()
_PLAIN_CONSTRUCTORS = {
    f"tag:yaml.org,2002:{name}": yaml.constructor.SafeConstructor.yaml_constructors[f"tag:yaml.org,2002:{name}"]
    for name in ("null", "bool", "int", "timestamp")
}


def _node_location(doc: SourceDocument, node: yaml.Node) -> Location:
    return Location(doc.file, node.start_mark.line + 1, node.start_mark.column + 1)


def _build(node: yaml.Node, path: PathKey, doc: SourceDocument, expansion: _Expansion) -> Any:
    loc = _node_location(doc, node)
    key = id(node)
    if key in expansion.open:
        raise YamlError(Diagnostic(loc, "YAML 别名引用了包含它自己的内容（无限循环）", code="alias-loop"))
    outermost_alias = False
    if key in expansion.built:  # reached again: through an alias
        expansion.repeated += 1
        if expansion.alias_use is None:
            # The node's own position is its anchor; the error belongs where the alias is used.
            expansion.alias_use, outermost_alias = doc.locate(path[:-1]), True
        if expansion.repeated > MAX_ALIAS_NODES:
            raise YamlError(
                Diagnostic(
                    expansion.alias_use,
                    f"YAML 别名（&/*）展开后的内容超过 {MAX_ALIAS_NODES:,} 项，拒绝读取",
                    "别名会把内容成倍复制；请直接写出各项，或减少别名的使用。",
                    code="alias-bomb",
                )
            )
    expansion.built.add(key)
    try:
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            expansion.open.add(key)
            try:
                return _build_collection(node, path, doc, expansion, loc)
            finally:
                expansion.open.discard(key)
        return _build_scalar(node, path, doc, expansion, loc)
    finally:
        if outermost_alias:
            expansion.alias_use = None


def _build_scalar(node: yaml.Node, path: PathKey, doc: SourceDocument, expansion: _Expansion, loc: Location) -> Any:
    doc.positions[path] = loc
    style = node.style
    if style == "|" or style == ">":
        if expansion.text_lines is None:
            expansion.text_lines = doc.text.split("\n")
        indent, lengths = _block_lines(expansion.text_lines, node)
        doc.scalar_starts[path] = (loc, style, indent, lengths)
    elif style == '"' or style == "'":
        doc.scalar_starts[path] = (loc, style, 0, ())
    return node.value if node.tag == _STR else _scalar(node)


def _build_child(node: yaml.Node, path: PathKey, doc: SourceDocument, expansion: _Expansion) -> Any:
    """A value or list item: a scalar met for the first time (most nodes of a file) is built here
    directly; anything else, and a scalar met again through an alias, by :func:`_build`."""
    if type(node) is yaml.ScalarNode and id(node) not in expansion.built:
        expansion.built.add(id(node))
        mark = node.start_mark
        return _build_scalar(node, path, doc, expansion, Location(doc.file, mark.line + 1, mark.column + 1))
    return _build(node, path, doc, expansion)


def _build_collection(node: yaml.Node, path: PathKey, doc: SourceDocument, expansion: _Expansion, loc: Location) -> Any:
    doc.positions[path] = loc
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        seen: dict[Any, yaml.Node] = {}  # key → its node; a key's Location is made only for an error
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise YamlError(Diagnostic(loc, "不支持 YAML 合并键 <<，请直接写出各项", code="merge-key"))
            key = _scalar(key_node)
            if isinstance(key, (dict, list)) or key in seen:
                key_loc = _node_location(doc, key_node)
                if isinstance(key, (dict, list)):
                    raise YamlError(Diagnostic(key_loc, "键必须是简单的文字或数字", code="complex-key"))
                first = _node_location(doc, seen[key])
                message = f"键「{key}」重复出现"
                raise YamlError(Diagnostic(key_loc, message, f"第一次出现在 {first}", code="duplicate-key"))
            seen[key] = key_node
            # The value's own position is recorded under (*path, key), whatever its kind.
            result[key] = _build_child(value_node, (*path, key), doc, expansion)
        return result
    return [_build_child(item, (*path, i), doc, expansion) for i, item in enumerate(node.value)]


_STR = "tag:yaml.org,2002:str"


def _scalar(node: yaml.Node) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        return {} if isinstance(node, yaml.MappingNode) else []
    tag = node.tag
    if tag == "tag:yaml.org,2002:float":
        try:
            return Decimal(node.value.replace("_", ""))
        except InvalidOperation:
            return node.value  # .inf, .nan: left as text, the schema says what is wanted
    if tag == _STR:
        return node.value  # what SafeConstructor.construct_yaml_str gives
    if tag in _PLAIN_CONSTRUCTORS:
        # The safe constructor's own function for the tag, called directly: construct_object would
        # also remember every node in the shared constructor (memory kept for the life of the process).
        value = _PLAIN_CONSTRUCTORS[tag](_constructor, node)
        if isinstance(value, dt.datetime):
            return value.date() if value.time() == dt.time() else value
        return value
    # Any other tag (!!python/object, custom tags) is read as its plain text.
    return node.value
