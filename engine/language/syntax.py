"""The expression syntax tree, as the parser builds it, and its canonical printer.

Nodes compare equal when they say the same thing: positions are carried for
error messages but take no part in equality, so ``parse(print(tree)) == tree``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property


@dataclass(frozen=True)
class Span:
    """Where a node stands in its expression text (1-based line and column)."""

    line: int
    column: int
    end_column: int


NO_SPAN = Span(1, 1, 1)


@dataclass(frozen=True)
class Node:
    span: Span = field(default=NO_SPAN, compare=False, repr=False, kw_only=True)

    @cached_property
    def canonical_text(self) -> str:
        """:func:`to_text` of this node, worked out once (trees are immutable, and the parser's
        cache shares one tree among all the items that write the same expression)."""
        return _render(self)


@dataclass(frozen=True)
class Number(Node):
    value: int | Decimal


@dataclass(frozen=True)
class String(Node):
    value: str


@dataclass(frozen=True)
class Bool(Node):
    value: bool


@dataclass(frozen=True)
class DateLit(Node):
    value: date


@dataclass(frozen=True)
class Name(Node):
    """A name, possibly dotted (``period.season``)."""

    parts: tuple[str, ...]

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Call(Node):
    function: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Lookup(Node):
    table: Name
    keys: tuple[Node, ...]


@dataclass(frozen=True)
class ListLit(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Unary(Node):
    op: str  # "-" or "not"
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    op: str  # + - * / == != < <= > >=
    left: Node
    right: Node


@dataclass(frozen=True)
class BoolOp(Node):
    """``and`` / ``or`` over two or more operands (flattened: a and b and c)."""

    op: str
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class In(Node):
    item: Node
    options: ListLit
    negated: bool = False


@dataclass(frozen=True)
class If(Node):
    condition: Node
    then: Node
    otherwise: Node


# Binding strength, loosest first; the printer adds parentheses from it.
_PRECEDENCE = {
    If: 1,
    "or": 2,
    "and": 3,
    "not": 4,
    "compare": 5,
    "+": 6,
    "-": 6,
    "*": 7,
    "/": 7,
    "neg": 8,
}
COMPARISON_OPS = frozenset({"==", "!=", "<", "<=", ">", ">="})
_ATOM = 9


def _precedence(node: Node) -> int:
    match node:
        case If():
            return _PRECEDENCE[If]
        case BoolOp(op=op):
            return _PRECEDENCE[op]
        case Unary(op="not"):
            return _PRECEDENCE["not"]
        case Unary():
            return _PRECEDENCE["neg"]
        case In():
            return _PRECEDENCE["compare"]
        case Binary(op=op) if op in COMPARISON_OPS:
            return _PRECEDENCE["compare"]
        case Binary(op=op):
            return _PRECEDENCE[op]
    return _ATOM


def to_text(node: Node) -> str:
    """The canonical text of a tree: one space around operators, minimal parentheses."""
    return node.canonical_text


def _render(node: Node) -> str:
    """The canonical text of `node`, from that of its children (each worked out once)."""

    def wrap(child: Node, minimum: int) -> str:
        text = to_text(child)
        return f"({text})" if _precedence(child) < minimum else text

    match node:
        case Number(value=v):
            return str(v)
        case String(value=v):
            return '"' + v + '"'
        case Bool(value=v):
            return "是" if v else "否"
        case DateLit(value=v):
            return v.isoformat()
        case Name():
            return node.text
        case Call(function=f, args=args):
            return f"{f}({', '.join(to_text(a) for a in args)})"
        case Lookup(table=t, keys=keys):
            return f"{t.text}[{', '.join(to_text(k) for k in keys)}]"
        case ListLit(items=items):
            return "[" + ", ".join(to_text(i) for i in items) + "]"
        case Unary(op="not", operand=x):
            return "not " + wrap(x, _PRECEDENCE["not"])
        case Unary(operand=x):
            return "-" + wrap(x, _PRECEDENCE["neg"])
        case BoolOp(op=op, operands=xs):
            p = _PRECEDENCE[op]
            return f" {op} ".join(wrap(x, p + 1) for x in xs)
        case In(item=x, options=opts, negated=neg):
            p = _PRECEDENCE["compare"]
            return f"{wrap(x, p + 1)} {'not in' if neg else 'in'} {to_text(opts)}"
        case Binary(op=op, left=a, right=b):
            p = _precedence(node)
            # Comparisons do not chain; arithmetic is left-associative.
            left_min = p + 1 if op in COMPARISON_OPS else p
            return f"{wrap(a, left_min)} {op} {wrap(b, p + 1)}"
        case If(condition=c, then=t, otherwise=o):
            return f"if {to_text(c)} then {to_text(t)} else {to_text(o)}"
    raise TypeError(f"not a syntax node: {node!r}")


def normalise(node: Node) -> Node:
    """The same meaning, one spelling: operands of and/or and the options of `in` in a fixed order,
    so that reordering them is not a change (used by the diff)."""
    match node:
        case BoolOp(op=op, operands=xs):
            parts = sorted((normalise(x) for x in xs), key=to_text)
            return BoolOp(op, tuple(parts))
        case In(item=x, options=ListLit(items=opts), negated=neg):
            return In(normalise(x), ListLit(tuple(sorted((normalise(o) for o in opts), key=to_text))), negated=neg)
        case Unary(op=op, operand=x):
            return Unary(op, normalise(x))
        case Binary(op=op, left=a, right=b):
            return Binary(op, normalise(a), normalise(b))
        case If(condition=c, then=t, otherwise=o):
            return If(normalise(c), normalise(t), normalise(o))
        case Call(function=f, args=xs):
            return Call(f, tuple(normalise(x) for x in xs))
        case Lookup(table=t, keys=xs):
            return Lookup(t, tuple(normalise(x) for x in xs))
    return node
