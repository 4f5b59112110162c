"""Stage ``expressions``: parse every expression of the policy and type it into the checked tree
(:mod:`engine.check.ir`) — computed fields, groups, programs (conditions, exclusions, amount,
priority) and checks — recording which named items each one reads (for the ``graph`` stage)."""

from __future__ import annotations

from decimal import Decimal

from engine.check import ir
from engine.check.builtins import FUNCTIONS, PERIOD_ATTRIBUTES, PERIOD_NAMES
from engine.check.checked import CheckedCheck, CheckedCondition, CheckedExclusion, CheckedProgram, Symbol
from engine.check.context import CheckContext
from engine.check.texts import HALF_WIDTH, full_width_symbols
from engine.check.types import (
    BOOL,
    BY_NAME,
    CENT,
    DATE,
    DECIMAL_LITERAL,
    INT_LITERAL,
    MONEY_LITERAL,
    NOT_MONEY_HINT,
    Type,
    arithmetic_hint,
    arithmetic_result,
    comparable,
    plain,
    unify,
)
from engine.diagnostics import caret_excerpt, suggest
from engine.language import syntax as s
from engine.language.parse import ExpressionSyntaxError, parse
from engine.policy import model as m


def type_expression(
    ctx: CheckContext, src: m.Source, owner: tuple[str, str], numbers_are_money: bool = False
) -> ir.Expr | None:
    """The typed tree of one expression, or None (the error is recorded). In an amount,
    `numbers_are_money`: a number written there is yuan."""
    ctx.depends.setdefault(owner, set())
    if symbols := full_width_symbols(src.text):
        line, column, _ = symbols[0]
        listed = "、".join(f"「{char}」→ {HALF_WIDTH[char]}" for char in dict.fromkeys(c for _, _, c in symbols))
        ctx.sink.error(
            src.location_at(line, column),
            f"表达式里有 {len(symbols)} 个全角符号：{listed}",
            "请切换到英文（半角）输入法重新输入这些符号；引号里的文字可以用中文",
            caret_excerpt(src.text, line, column),
            code="full-width-symbol",
        )
        return None
    try:
        tree = parse(src.text)
    except ExpressionSyntaxError as err:
        ctx.sink.error(
            src.location_at(err.line, err.column),
            f"表达式写法有误：{err.message}",
            excerpt=caret_excerpt(src.text, err.line, err.column),
            code=err.code,  # syntax, or too-long / too-deep past the documented limits
        )
        return None
    try:
        return _Typer(ctx, src, owner, numbers_are_money)._expr(tree)
    except _TypeProblem:
        return None


def _constant(e: ir.Expr | None) -> Decimal | None:
    """The value of an expression the policy alone fixes (numbers and parameters, their negation,
    sums, differences and products: `0 - 5`, `补助标准 * 2`); None when a record decides it."""
    match e:
        case ir.Const(value=v) | ir.ParamRef(value=v) if isinstance(v, int | Decimal) and not isinstance(v, bool):
            return Decimal(v)
        case ir.Negate(operand=x):
            inner = _constant(x)
            return None if inner is None else -inner
        case ir.Arithmetic(op="+" | "-" | "*" as op, left=a, right=b):
            left, right = _constant(a), _constant(b)
            if left is None or right is None:
                return None
            return left + right if op == "+" else left - right if op == "-" else left * right
    return None


def _as_count(number: ir.Expr, other: ir.Expr) -> ir.Expr:
    """A number written in an amount (yuan) that meets a count or a measure in `+`/`-` is a plain
    number of that kind: `年级 - 2` is 年级 minus two, an integer."""
    if number.type is MONEY_LITERAL and isinstance(number, ir.Const) and other.type.kind in ("int", "decimal"):
        value = number.value
        if value == value.to_integral_value():
            return ir.Const(INT_LITERAL, number.text, int(value))
        return ir.Const(DECIMAL_LITERAL, number.text, value)
    return number


class _TypeProblem(Exception):
    """An expression error was recorded; stop typing this expression."""


class _Typer:
    """Types one parsed expression; the first error is recorded and ends it (:class:`_TypeProblem`)."""

    def __init__(self, ctx: CheckContext, src: m.Source, owner: tuple[str, str], numbers_are_money: bool) -> None:
        self.ctx = ctx
        self.policy = ctx.policy
        self.sink = ctx.sink
        self.symbols = ctx.symbols
        self.field_types = ctx.field_types
        self._src = src
        self._current = owner
        self._numbers_are_money = numbers_are_money

    def _fail(self, node: s.Node, message: str, hint: str = "", code: str = "type-mismatch") -> None:
        src = self._src
        self.sink.error(
            src.location_at(node.span.line, node.span.column),
            message,
            hint,
            caret_excerpt(src.text, node.span.line, node.span.column, max(1, node.span.end_column - node.span.column)),
            code,
        )
        raise _TypeProblem

    def _expr(self, node: s.Node) -> ir.Expr:
        text = s.to_text(node)
        match node:  # the kinds most expressions are made of first: each case tried is a test
            case s.Name():
                return self._name(node)
            case s.Binary(op=op, left=a, right=b) if op in s.COMPARISON_OPS:
                return self._compare(node, op, a, b, text)
            case s.Lookup():
                return self._lookup(node)
            case s.Number(value=v) if self._numbers_are_money:
                return ir.Const(MONEY_LITERAL, text, Decimal(v))
            case s.Number(value=v):
                return ir.Const(DECIMAL_LITERAL if isinstance(v, Decimal) else INT_LITERAL, text, v)
            case s.Bool(value=v):
                return ir.Const(BOOL, text, v)
            case s.DateLit(value=v):
                return ir.Const(DATE, text, v)
            case s.String(value=v):
                return ir.Const(Type("text"), text, v)
            case s.Call():
                return self._call(node)
            case s.ListLit():
                self._fail(node, '列表只能用在 in 后面，如 学段 in ["小学", "初中"]', code="syntax")
            case s.Unary(op="not", operand=x):
                operand = self._bool(x, "not 后面")
                return ir.Not(BOOL, text, operand)
            case s.Unary(operand=x):
                operand = self._expr(x)
                if not operand.type.numeric:
                    self._fail(x, f"负号只能用于数字，「{operand.text}」是{operand.type}")
                return ir.Negate(operand.type, text, operand)
            case s.BoolOp(op=op, operands=xs):
                operands = tuple(self._bool(x, f"{op} 两边") for x in xs)
                return (ir.And if op == "and" else ir.Or)(BOOL, text, operands)
            case s.In(item=x, options=opts, negated=neg):
                item = self._expr(x)
                options = tuple(self._against(item, o) for o in opts.items)
                return ir.InList(BOOL, text, item, options, neg)
            case s.Binary(op=op, left=a, right=b):  # arithmetic (comparisons are matched above)
                left, right = self._expr(a), self._expr(b)
                if op in ("+", "-"):
                    # In an amount a written number is yuan, except beside a count or a measure in a
                    # sum or difference: `年级 - 2` is a count (int − int is int), not money.
                    left, right = _as_count(left, right), _as_count(right, left)
                result = arithmetic_result(op, left.type, right.type)
                if result is None:
                    self._fail(
                        node,
                        f"不能计算「{left.text}」（{left.type}）{op}「{right.text}」（{right.type}）",
                        arithmetic_hint(op, left.type, right.type),
                    )
                return ir.Arithmetic(result, text, op, left, right)
            case s.If(condition=c, then=t, otherwise=o):
                cond = self._bool(c, "if 后面")
                then, otherwise = self._expr(t), self._expr(o)
                result = unify(then.type, otherwise.type)
                if result is None:
                    self._fail(node, f"then 与 else 的类型不一致：{then.type} 与 {otherwise.type}")
                return ir.IfElse(result, text, cond, then, otherwise)
        self._fail(node, f"无法识别的表达式「{text}」", code="syntax")
        raise AssertionError  # unreachable: _fail raises

    def _bool(self, node: s.Node, where: str) -> ir.Expr:
        expr = self._expr(node)
        if expr.type.kind != "bool":
            self._fail(node, f"{where}应为条件（是/否），「{expr.text}」是{expr.type}")
        return expr

    def _against(self, left: ir.Expr, node: s.Node) -> ir.Expr:
        """The right side of a comparison with `left`: a string meets an enum as one of its values,
        and a field with known values as one of them (a short form is its full name, as cells are)."""
        known = self.policy.fields[left.field].known if isinstance(left, ir.FieldRef) else None
        if known is not None and isinstance(node, s.String):
            value = known.resolve(node.value.strip())
            if value not in known.values:
                label = self.policy.fields[left.field].label  # type: ignore[attr-defined]
                self._fail(
                    node,
                    f"「{node.value}」不在字段「{label}」列出的值中",
                    suggest(node.value, known.values) or f"写字段「{label}」的 known 中列出的名称",
                    code="unknown-value",
                )
            return ir.Const(left.type, s.to_text(node), value)
        if left.type.kind == "enum" and isinstance(node, s.String):
            enum = left.type.enum
            assert enum is not None
            value = enum.resolve(node.value)
            if value is None:
                hint = suggest(node.value, enum.labels)
                self._fail(
                    node,
                    f"「{node.value}」不是「{enum.label}」的选项",
                    (hint + " " if hint else "") + "可选：" + "、".join(enum.labels),
                    code="enum-value",
                )
            return ir.Const(left.type, s.to_text(node), value)
        right = self._expr(node)
        if not comparable(left.type, right.type):
            self._fail(node, f"「{left.text}」（{left.type}）不能与「{right.text}」（{right.type}）比较")
        return right

    def _compare(self, node: s.Node, op: str, a: s.Node, b: s.Node, text: str) -> ir.Expr:
        if isinstance(a, s.String) and not isinstance(b, s.String):
            # Allow "小学" == 学段 as well as 学段 == "小学".
            right = self._expr(b)
            left = self._against(right, a)
        else:
            left = self._expr(a)
            right = self._against(left, b)
        if op not in ("==", "!=") and left.type.kind in ("bool", "enum", "text"):
            self._fail(node, f"{left.type}只能用 == 或 != 比较，不能用 {op}")
        return ir.Compare(BOOL, text, op, left, right)

    def _name(self, node: s.Name) -> ir.Expr:
        text = node.text
        if node.parts[0] in PERIOD_NAMES:
            if len(node.parts) != 2 or node.parts[1] not in PERIOD_ATTRIBUTES:
                self._fail(
                    node,
                    f"学期没有「{'.'.join(node.parts[1:])}」这一项",
                    "可用：" + "、".join(f"period.{k}" for k in PERIOD_ATTRIBUTES),
                    code="unknown-name",
                )
            attribute = PERIOD_ATTRIBUTES[node.parts[1]]
            return ir.PeriodRef(attribute.type, text, attribute.id)
        if len(node.parts) > 1:
            self._fail(node, f"「{text}」：只有 period（学期）的属性用点号写", code="unknown-name")
        symbol = self.symbols.get(text)
        if symbol is None:
            hint = suggest(text, [n for n, sym in self.symbols.items() if sym.kind not in ("table", "program")])
            self._fail(
                node,
                f"不认识的名称「{text}」",
                hint or "名称应为字段、条件组或参数的标识或中文名称",
                code="unknown-name",
            )
        assert symbol is not None
        self._depend(symbol)
        match symbol.kind:
            case "field":
                return ir.FieldRef(symbol.type, text, symbol.id)  # type: ignore[arg-type]
            case "computed":
                return ir.ComputedRef(symbol.type, text, symbol.id)  # type: ignore[arg-type]
            case "parameter":
                value = self.ctx.parameters[symbol.id]
                return ir.ParamRef(symbol.type, text, symbol.id, value)  # type: ignore[arg-type]
            case "group":
                return ir.GroupRef(BOOL, text, symbol.id)
            case "table":
                self._fail(node, f"「{text}」是表，查表要写键，如 {text}[学段]")
            case "program":
                self._fail(node, f"「{text}」是资助项目，请写 awarded({text}) 或 amount({text})")
        raise AssertionError

    def _depend(self, symbol: Symbol) -> None:
        if self._current:
            self.ctx.depends[self._current].add((symbol.kind, symbol.id))

    def _lookup(self, node: s.Lookup) -> ir.Expr:
        name = node.table.text
        symbol = self.symbols.get(name)
        if symbol is None or symbol.kind != "table":
            hint = suggest(name, [n for n, sym in self.symbols.items() if sym.kind == "table"])
            self._fail(node.table, f"没有名为「{name}」的表", hint, code="unknown-name")
        assert symbol is not None
        table = self.policy.tables[symbol.id]
        self._depend(symbol)
        if len(node.keys) != len(table.keys):
            key_labels = "、".join(self.policy.fields[k].label for k in table.keys)
            given = len(node.keys)
            self._fail(
                node,
                f"表「{table.label}」按 {len(table.keys)} 个键查（{key_labels}），这里给了 {given} 个",
                code="table-keys",
            )
        keys = []
        for key_node, key_field in zip(node.keys, table.keys, strict=True):
            expected = self.field_types.get(key_field)
            if expected is None:
                raise _TypeProblem
            probe = ir.Const(expected, key_field, None)
            key = self._against(probe, key_node)
            if not (key.type.same_kind(expected) or (expected.numeric and key.type.literal)):
                self._fail(
                    key_node,
                    f"表「{table.label}」的这个键应为「{self.policy.fields[key_field].label}」（{expected}），「{key.text}」是{key.type}",
                    code="table-keys",
                )
            keys.append(key)
        lookup: ir.Expr = ir.TableLookup(BY_NAME[table.value_type], s.to_text(node), symbol.id, tuple(keys))
        for key in keys:
            if isinstance(key, ir.FieldRef) and key.field in self.ctx.known_required:
                lookup = self._require_known(lookup, key)
        return lookup

    def _require_known(self, lookup: ir.Expr, key: ir.FieldRef) -> ir.Expr:
        """A lookup keyed by a field with known values and `required_when` (engine.check.tables):
        the condition typed again for this rule, so what it reads is what the rule reads."""
        known = self.policy.fields[key.field].known
        assert known is not None and known.required_when is not None
        required = type_expression(self.ctx, known.required_when, self._current)
        if required is None:  # reported once by the known stage already
            raise _TypeProblem
        values = frozenset(known.values)
        return ir.RequireKnown(lookup.type, lookup.text, lookup, key, key.field, values, required)

    def _call(self, node: s.Call) -> ir.Expr:
        fn = FUNCTIONS.get(node.function)
        text = s.to_text(node)
        if fn is None:
            self._fail(
                node,
                f"没有函数「{node.function}」",
                suggest(node.function, list(FUNCTIONS)) or "可用：" + "、".join(FUNCTIONS),
                code="unknown-name",
            )
        assert fn is not None
        if fn.takes_program:
            if len(node.args) != 1 or not isinstance(node.args[0], s.Name):
                self._fail(node, f"{fn.usage} 里应写一个资助项目的名称", code="type-mismatch")
            name = node.args[0].text  # type: ignore[union-attr]
            symbol = self.symbols.get(name)
            if symbol is None or symbol.kind != "program":
                hint = suggest(name, [n for n, sym in self.symbols.items() if sym.kind == "program"])
                self._fail(node.args[0], f"没有名为「{name}」的资助项目", hint, code="unknown-name")
            assert symbol is not None
            self._depend(symbol)
            return ir.Awarded(fn.type_rule([]), text, symbol.id, fn.id == "amount")  # type: ignore[misc,arg-type]
        args = tuple(self._expr(a) for a in node.args)
        assert fn.type_rule is not None
        result = fn.type_rule([a.type for a in args])
        if isinstance(result, str):
            self._fail(node, f"{node.function}(...)：{result}（写法：{fn.usage}）", code="type-mismatch")
        return ir.Function(result, text, fn.id, args)  # type: ignore[arg-type]

    # -- putting it together -------------------------------------------------


# -- the stage -----------------------------------------------------------------


def type_expressions(ctx: CheckContext) -> None:
    """Every rule's expressions, in the policy's order: computed fields, groups, programs, checks."""
    p = ctx.policy
    for f in p.fields.values():
        if f.compute is None:
            continue
        expr = ctx.expression(f.compute, ("computed", f.id))
        if expr is not None:
            declared = ctx.field_types[f.id]
            if not (expr.type.same_kind(declared) or (declared.numeric and expr.type.literal)):
                ctx.sink.error(
                    f.compute.location,
                    f"字段「{f.label}」声明为{declared}，计算结果却是{expr.type}",
                    code="type-mismatch",
                )
            ctx.computed[f.id] = expr
    ctx.groups = {g.id: _conditions(ctx, g.conditions, ("group", g.id)) for g in p.groups.values()}
    for pr in p.programs.values():
        if (program := _program(ctx, pr)) is not None:
            ctx.programs[pr.id] = program
    ctx.checks = {c.id: CheckedCheck(c, _conditions(ctx, c.conditions, ("check", c.id))) for c in p.checks.values()}


def _program(ctx: CheckContext, pr: m.Program) -> CheckedProgram | None:
    owner = ("program", pr.id)
    conditions = _conditions(ctx, pr.conditions, owner)
    exclusions = []
    for ex in pr.exclusions:
        expr = ctx.expression(ex.condition, owner)
        if expr is not None:
            if expr.type.kind != "bool":
                ctx.sink.error(ex.condition.location, f"排除条件应为是/否，实际是{expr.type}", code="type-mismatch")
            exclusions.append(CheckedExclusion(ex, expr))
    amount = ctx.expression(pr.amount, owner, numbers_are_money=True)
    if amount is not None and not (amount.type.kind == "money" or (amount.type.numeric and amount.type.literal)):
        ctx.sink.error(
            pr.amount.location,
            f"项目「{pr.label}」的金额应为金额，「{amount.text}」是{amount.type}",
            NOT_MONEY_HINT if amount.type.kind in ("int", "decimal") else "",
            code="type-mismatch",
        )
    elif (fixed := _constant(amount)) is not None and fixed <= 0:
        # The policy alone fixes it: every student would be refused, or paid a negative sum.
        what = "负数" if fixed < 0 else "零"
        ctx.sink.error(
            pr.amount.location,
            f"项目「{pr.label}」的金额「{amount.text}」是{what}（{plain(fixed)}），资助金额应大于 0",
            code="negative-amount" if fixed < 0 else "zero-amount",
        )
    elif fixed is not None and fixed != fixed.quantize(CENT):
        ctx.sink.error(
            pr.amount.location,
            f"项目「{pr.label}」的金额「{amount.text}」是 {plain(fixed)}，不到分（金额最多两位小数）",
            code="sub-fen",
        )
    priority = ctx.expression(pr.priority, owner) if pr.priority else None
    if priority is not None and priority.type.kind != "int":
        ctx.sink.error(
            pr.priority.location,  # type: ignore[union-attr]
            f"优先级应为整数（1 最优先），实际是{priority.type}",
            code="type-mismatch",
        )
    if amount is None:
        return None
    return CheckedProgram(pr, conditions, exclusions, amount, priority)


def _conditions(
    ctx: CheckContext, conditions: tuple[m.Condition, ...], owner: tuple[str, str]
) -> list[CheckedCondition]:
    out = []
    for c in conditions:
        expr = ctx.expression(c.source, owner)
        if expr is not None:
            if expr.type.kind != "bool":
                ctx.sink.error(
                    c.source.location, f"条件「{c.source.text}」应为是/否，实际是{expr.type}", code="type-mismatch"
                )
            out.append(CheckedCondition(c, expr))
    return out
