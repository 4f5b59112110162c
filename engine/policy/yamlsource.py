"""Line-aware, safe YAML: plain Python data plus the position of every node.

We let PyYAML's SafeLoader compose the node graph (no object construction from
tags, so nothing in a policy file can run code) and build the values ourselves,
so that:

* every mapping key and value, every list item, keeps its line and column;
* non-integer numbers become ``Decimal`` (YAML would give a float: 312.5 must stay 312.5);
* a key written twice in one mapping is an error, not a silent overwrite.
"""

from __future__ import annotations

import datetime as dt
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
    # Where each string scalar starts, its style, and (block scalars) the indentation of its text,
    # to place an error inside an expression string. Locations carry their file, so a document
    # merged from several files (a policy that extends another) still points at the right one.
    scalar_starts: dict[PathKey, ScalarStart] = field(default_factory=dict)

    def locate(self, path: PathKey) -> Location:
        """The location of the node at path, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path not in self.positions and path:
            path = path[:-1]
        return self.positions.get(path, Location(self.file, 1, 1))

    def expression_location(self, path: PathKey, line: int, column: int) -> Location:
        """The file location of (line, column) inside the string scalar at path."""
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


def _block_lines(text: str, node: yaml.ScalarNode) -> tuple[int, tuple[int, ...]]:
    """The indentation of a block scalar's text, and the length of each of its lines."""
    end = node.end_mark.line + (1 if node.end_mark.column > 0 else 0)  # the end mark may open the next line
    lines = text.split("\n")[node.start_mark.line + 1 : end]
    content = [line for line in lines if line.strip()]
    indent = min((len(line) - len(line.lstrip(" ")) for line in content), default=0)
    return indent, tuple(len(line[indent:].rstrip()) for line in content)


class YamlError(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.render())
        self.diagnostic = diagnostic


_SAFE = yaml.SafeLoader


def load_yaml(path: Path | str, display_name: str | None = None) -> SourceDocument:
    path = Path(path)
    text = path.read_text(encoding="utf-8-sig")
    return load_yaml_text(text, display_name or str(path))


def load_yaml_text(text: str, file: str) -> SourceDocument:
    try:
        root = yaml.compose(text, Loader=_SAFE)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
        from engine.diagnostics import caret_excerpt

        excerpt = caret_excerpt(text, loc.line or 1, loc.column or 1) if mark else ""
        raise YamlError(Diagnostic(loc, f"YAML 格式错误：{exc.problem or exc}", _yaml_hint(exc), excerpt)) from None
    except yaml.YAMLError as exc:
        raise YamlError(Diagnostic(Location(file), f"YAML 格式错误：{exc}")) from None
    doc = SourceDocument(file, text, None)
    doc.data = _build(root, (), doc) if root is not None else None
    return doc


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


def _build(node: yaml.Node, path: PathKey, doc: SourceDocument) -> Any:
    loc = Location(doc.file, node.start_mark.line + 1, node.start_mark.column + 1)
    doc.positions[path] = loc
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        seen: dict[Any, Location] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise YamlError(Diagnostic(loc, "不支持 YAML 合并键 <<，请直接写出各项"))
            key = _scalar(key_node)
            key_loc = Location(doc.file, key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if isinstance(key, (dict, list)):
                raise YamlError(Diagnostic(key_loc, "键必须是简单的文字或数字"))
            if key in seen:
                raise YamlError(Diagnostic(key_loc, f"键「{key}」重复出现", f"第一次出现在 {seen[key]}"))
            seen[key] = key_loc
            result[key] = _build(value_node, (*path, key), doc)
            doc.positions.setdefault((*path, key), key_loc)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), doc) for i, item in enumerate(node.value)]
    indent, lengths = _block_lines(doc.text, node) if node.style in ("|", ">") else (0, ())
    doc.scalar_starts[path] = (loc, node.style, indent, lengths)
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        return {} if isinstance(node, yaml.MappingNode) else []
    tag = node.tag
    if tag == "tag:yaml.org,2002:float":
        try:
            return Decimal(node.value.replace("_", ""))
        except InvalidOperation:
            return node.value  # .inf, .nan: left as text, the schema says what is wanted
    if tag in (
        "tag:yaml.org,2002:str",
        "tag:yaml.org,2002:null",
        "tag:yaml.org,2002:bool",
        "tag:yaml.org,2002:int",
        "tag:yaml.org,2002:timestamp",
    ):
        value = _constructor.construct_object(node)
        if isinstance(value, dt.datetime):
            return value.date() if value.time() == dt.time() else value
        return value
    # Any other tag (!!python/object, custom tags) is read as its plain text.
    return node.value
