"""Expression text → syntax tree, with syntax errors a non-programmer can follow."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path

from lark import Lark, Token, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError
from lark.visitors import Transformer_NonRecursive

from engine.language import syntax as s

GRAMMAR_FILE = "expr.lark"

# What each terminal is, in the words of the people who write policies.
_TERMINAL_WORDS = {
    "NAME": "名称（字段、条件组、表或项目）",
    "NUMBER": "数字",
    "STRING": '带引号的文字（如 "小学"）',
    "DATE": "日期（如 2021-09-01）",
    "COMP_OP": "比较符号（== != < <= > >=）",
    "ADD_OP": "+ 或 -",
    "MUL_OP": "* 或 /",
    "LPAR": "(",
    "RPAR": ")",
    "LSQB": "[",
    "RSQB": "]",
    "COMMA": "逗号 ,",
    "DOT": "点号 .",
    "MINUS": "-",
    "AND": "and",
    "OR": "or",
    "NOT": "not",
    "IN": "in",
    "IF": "if",
    "THEN": "then",
    "ELSE": "else",
    "TRUE": "是/true",
    "FALSE": "否/false",
    "$END": "表达式结束",
}


# Limits a policy expression must keep (README: "表达式的上限"). Written by people, expressions are
# short and shallow; past these they are refused at their own place, before anything recursive (the
# checker, the generated Python, whose parser stops near 200 nested brackets) can fail on them.
MAX_LENGTH = 10_000  # characters
MAX_NESTING = 32  # levels of not, unary minus, function calls, if/then/else, bracketed sub-expressions


class ExpressionSyntaxError(Exception):
    """A syntax error at a line and column of the expression text."""

    def __init__(self, message: str, line: int, column: int, text: str, code: str = "syntax") -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.text = text
        self.code = code


def grammar_text() -> str:
    """The grammar, from the installed package or, in a source checkout, from grammar/."""
    checkout = Path(__file__).resolve().parent.parent / "grammar" / GRAMMAR_FILE
    if checkout.is_file():
        return checkout.read_text(encoding="utf-8")
    return resources.files("engine.grammar").joinpath(GRAMMAR_FILE).read_text(encoding="utf-8")


@cache
def _parser() -> Lark:
    # cache=True stores the LALR tables in the temp folder: later processes start faster.
    return Lark(grammar_text(), parser="lalr", propagate_positions=True, maybe_placeholders=False, cache=True)


def _span(meta_or_token) -> s.Span:
    line = getattr(meta_or_token, "line", 1) or 1
    column = getattr(meta_or_token, "column", 1) or 1
    end = getattr(meta_or_token, "end_column", column + 1) or column + 1
    return s.Span(line, column, end)


_COMPARISON_ALIASES = {"=": "==", "<>": "!="}


@v_args(meta=True)
class _Build(Transformer_NonRecursive):  # a long `and` chain is a deep tree
    """Lark parse tree → syntax nodes, each with its span."""

    def number(self, meta, children):
        (tok,) = children
        value = Decimal(tok) if "." in tok else int(tok)
        return s.Number(value, span=_span(tok))

    def string(self, meta, children):
        (tok,) = children
        return s.String(str(tok)[1:-1], span=_span(tok))

    def date(self, meta, children):
        (tok,) = children
        try:
            value = date.fromisoformat(str(tok))
        except ValueError as exc:
            raise ExpressionSyntaxError(f"「{tok}」不是有效日期", tok.line, tok.column, "") from exc
        return s.DateLit(value, span=_span(tok))

    def true(self, meta, children):
        return s.Bool(True, span=_span(meta))

    def false(self, meta, children):
        return s.Bool(False, span=_span(meta))

    def name(self, meta, children):
        return s.Name(tuple(str(t) for t in children), span=_span(meta))

    def call(self, meta, children):
        function, *args = children
        return s.Call(str(function), tuple(args), span=_span(meta))

    def lookup(self, meta, children):
        table, *keys = children
        return s.Lookup(table, tuple(keys), span=_span(meta))

    def list(self, meta, children):
        return s.ListLit(tuple(children), span=_span(meta))

    def negate(self, meta, children):
        (operand,) = children
        return s.Unary("-", operand, span=_span(meta))

    def not_expr(self, meta, children):
        (operand,) = children
        return s.Unary("not", operand, span=_span(meta))

    def binary(self, meta, children):
        left, op, right = children
        return s.Binary(str(op), left, right, span=_span(meta))

    def compare(self, meta, children):
        left, op, right = children
        op = _COMPARISON_ALIASES.get(str(op), str(op))
        return s.Binary(op, left, right, span=_span(meta))

    def _boolop(self, op, meta, children):
        operands: list[s.Node] = []
        for child in children:
            # Flatten a and b and c into one node: the printer and the diff see one list.
            if isinstance(child, s.BoolOp) and child.op == op:
                operands.extend(child.operands)
            else:
                operands.append(child)
        return s.BoolOp(op, tuple(operands), span=_span(meta))

    def and_expr(self, meta, children):
        return self._boolop("and", meta, children)

    def or_expr(self, meta, children):
        return self._boolop("or", meta, children)

    def in_expr(self, meta, children):
        item, options = children
        return s.In(item, options, span=_span(meta))

    def not_in_expr(self, meta, children):
        item, options = children
        return s.In(item, options, negated=True, span=_span(meta))

    def if_expr(self, meta, children):
        condition, then, otherwise = children
        return s.If(condition, then, otherwise, span=_span(meta))


# Policies repeat the same condition text across many items (已入学, 学段 in [...]); a syntax tree is
# immutable (frozen nodes, spans relative to its own text), so one parse serves every repetition.
# Errors are not cached (an exception is raised afresh, each with the text it belongs to).
PARSE_CACHE_SIZE = 65_536


@lru_cache(maxsize=PARSE_CACHE_SIZE)
def parse(text: str) -> s.Node:
    """Parse one expression; raises :class:`ExpressionSyntaxError` with a Chinese message."""
    if not text.strip():
        raise ExpressionSyntaxError("表达式是空的", 1, 1, text)
    if len(text) > MAX_LENGTH:
        raise ExpressionSyntaxError(
            f"表达式太长（{len(text)} 个字符），最多 {MAX_LENGTH} 个字符：请把其中一部分写成条件组（groups）",
            1, 1, text, code="too-long",
        )  # fmt: skip
    try:
        tree = _parser().parse(text)
        _refuse_deep_nesting(tree, text)
        return _Build().transform(tree)
    except UnexpectedInput as exc:
        raise _friendly(exc, text) from None
    except VisitError as exc:
        if isinstance(exc.orig_exc, ExpressionSyntaxError):
            err = exc.orig_exc
            raise ExpressionSyntaxError(err.message, err.line, err.column, text) from None
        raise


# A chain of the same operator (a and b and c, a + b + c) is one level, however long.
_CHAINS = {"and_expr", "or_expr", "binary"}


def _refuse_deep_nesting(tree: Tree, text: str) -> None:
    """Raise at the first place nested deeper than MAX_NESTING (measured without recursion)."""
    stack: list[tuple[Tree, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING and any(isinstance(c, Tree) for c in node.children):  # an atom adds no level
            line = getattr(node.meta, "line", 1) if not node.meta.empty else 1
            column = getattr(node.meta, "column", 1) if not node.meta.empty else 1
            raise ExpressionSyntaxError(
                f"表达式嵌套太深（超过 {MAX_NESTING} 层 not、负号、函数或 if）：请把其中一部分写成条件组（groups）",
                line, column, text, code="too-deep",
            )  # fmt: skip
        for child in reversed(node.children):  # popped left to right: the first deep place in the text
            if isinstance(child, Tree):
                same_chain = child.data == node.data and node.data in _CHAINS
                stack.append((child, depth if same_chain else depth + 1))


def _expected_words(names) -> str:
    words = sorted({_TERMINAL_WORDS.get(n, n.strip('"').lower()) for n in names})
    return "、".join(words)


def _friendly(exc: UnexpectedInput, text: str) -> ExpressionSyntaxError:
    line = getattr(exc, "line", 1)
    column = getattr(exc, "column", 1)
    if isinstance(exc, UnexpectedCharacters):
        ch = exc.char
        hint = ""
        if ch in "（）【】，＝＞＜！":
            hint = "（请用半角符号，如 ( ) [ ] , = > <）"
        message = f"这里不能出现字符「{ch}」{hint}"
    elif isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
        expected = getattr(exc, "expected", None) or getattr(exc, "accepts", set())
        message = f"表达式没有写完，后面还应有：{_expected_words(expected)}"
        lines = text.split("\n")  # lark counts lines by \n only
        line, column = len(lines), len(lines[-1]) + 1
    else:
        assert isinstance(exc, UnexpectedToken)
        token: Token = exc.token
        expected = exc.accepts or exc.expected
        message = f"这里不应出现「{token}」，此处应为：{_expected_words(expected)}"
    return ExpressionSyntaxError(message, line, column, text)


def canonical(text: str) -> str:
    """An expression's normal form: parse, order and/or operands and `in` options, print. Two
    expressions with the same normal form mean the same on every record (the diff relies on it, and
    evaluation orders a program's conditions by it, so list order never changes a reason)."""
    return s.to_text(s.normalise(parse(text)))
