"""Names and types: policy model → :class:`CheckedPolicy`, or every error at once.

Stages, in order (after OPA's compiler): collect symbols; type the data
(parameters, blanks, tables); parse and type every expression; order the
programs and refuse cycles. Each problem is located in the YAML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.check import ir
from engine.check.builtins import FUNCTIONS, PERIOD_ATTRIBUTES, PERIOD_NAMES
from engine.check.properties import CheckedProperty, check_properties
from engine.check.roles import field_roles
from engine.check.texts import HALF_WIDTH, full_width_symbols, render_texts
from engine.check.types import (
    BOOL,
    BY_NAME,
    DATE,
    DECIMAL_LITERAL,
    INT_LITERAL,
    MONEY_LITERAL,
    EnumDef,
    Type,
    arithmetic_result,
    comparable,
    plain,
    unify,
)
from engine.check.values import parse_value
from engine.diagnostics import DiagnosticSink, Location, PolicyError, caret_excerpt, suggest
from engine.language import syntax as s
from engine.language.parse import ExpressionSyntaxError, parse
from engine.policy import model as m

_IDENTIFIER = re.compile(r"^[A-Za-z_\u3400-\u4dbf\u4e00-\u9fff][A-Za-z0-9_\u3400-\u4dbf\u4e00-\u9fff]*$")
_RESERVED = {"and", "or", "not", "in", "if", "then", "else", "true", "false", "是", "否"}


@dataclass(frozen=True)
class Symbol:
    kind: str  # field | computed | parameter | group | table | program
    id: str
    label: str
    type: Type | None
    location: Location


@dataclass
class CheckedCondition:
    condition: m.Condition
    expr: ir.Expr

    @property
    def label(self) -> str:
        return self.condition.label or self.expr.text


@dataclass
class CheckedExclusion:
    exclusion: m.Exclusion
    expr: ir.Expr


@dataclass
class CheckedProgram:
    program: m.Program
    conditions: list[CheckedCondition]
    exclusions: list[CheckedExclusion]
    amount: ir.Expr
    priority: ir.Expr | None


@dataclass
class CheckedCheck:
    check: m.Check
    conditions: list[CheckedCondition]


@dataclass
class FieldInfo:
    field: m.Field
    type: Type
    blank: Any  # typed value a blank cell takes; None = missing


@dataclass
class CheckedPolicy:
    policy: m.Policy
    fields: dict[str, FieldInfo]
    computed: dict[str, ir.Expr]
    groups: dict[str, list[CheckedCondition]]
    tables: dict[str, dict[tuple[Any, ...], Decimal]]
    programs: dict[str, CheckedProgram]
    checks: dict[str, CheckedCheck]
    # Programs in evaluation order: a program comes after those it refers to or gives way to.
    program_order: list[str]
    symbols: dict[str, Symbol] = field(repr=False, default_factory=dict)
    # (kind, id) of each program, check, group and computed field → the named items its rules read.
    depends: dict[tuple[str, str], set[tuple[str, str]]] = field(repr=False, default_factory=dict)
    # role (identity_number, name, school, township, stage, grade) → the field id that has it.
    roles: dict[str, str] = field(default_factory=dict)

    def role_field(self, role: str) -> str | None:
        """The id of the field the policy gave `role`, or None when no field has it."""
        return self.roles.get(role)
    properties: list[CheckedProperty] = field(repr=False, default_factory=list)

    def reads(self, owner: tuple[str, str]) -> set[tuple[str, str]]:
        return transitive_reads(self.depends, owner)

    @property
    def manifest(self) -> m.Manifest:
        return self.policy.manifest

    def label(self, item_id: str) -> str:
        for section in (self.policy.programs, self.policy.checks, self.policy.groups, self.policy.fields):
            if item_id in section:
                return section[item_id].label
        return item_id


def check_policy(policy: m.Policy) -> CheckedPolicy:
    return _Checker(policy).run()


def _constant(e: ir.Expr | None) -> Decimal | None:
    """The value of an expression the policy alone fixes (a number, a parameter, their negation)."""
    match e:
        case ir.Const(value=v) | ir.ParamRef(value=v) if isinstance(v, int | Decimal) and not isinstance(v, bool):
            return Decimal(v)
        case ir.Negate(operand=x):
            inner = _constant(x)
            return None if inner is None else -inner
    return None


class _Checker:
    def __init__(self, policy: m.Policy) -> None:
        self.policy = policy
        self.sink = DiagnosticSink()
        self.symbols: dict[str, Symbol] = {}
        self.enums: dict[str, EnumDef] = {}
        self.field_types: dict[str, Type] = {}
        # Which named items each item's expressions mention, for cycle detection.
        self.depends: dict[tuple[str, str], set[tuple[str, str]]] = {}
        self._current: tuple[str, str] | None = None
        self._numbers_are_money = False

    # -- stage 1: symbols -------------------------------------------------
    def collect_symbols(self) -> None:
        p = self.policy
        for f in p.fields.values():
            type_ = self._field_type(f)
            self.field_types[f.id] = type_
            kind = "computed" if f.compute else "field"
            self._declare(Symbol(kind, f.id, f.label, type_, f.location), f.label, f.aliases)
        for prm in p.parameters.values():
            self._declare(Symbol("parameter", prm.id, prm.label, BY_NAME[prm.type], prm.location), prm.label)
        for g in p.groups.values():
            self._declare(Symbol("group", g.id, g.label, BOOL, g.location), g.label)
        for t in p.tables.values():
            self._declare(Symbol("table", t.id, t.label, None, t.location), t.label)
        for pr in p.programs.values():
            self._declare(Symbol("program", pr.id, pr.label, None, pr.location), pr.label)

    def _field_type(self, f: m.Field) -> Type:
        if f.type == "enum":
            enum = EnumDef(f.id, f.label, f.values)
            self.enums[f.id] = enum
            seen: dict[str, str] = {}
            for v in f.values:
                for name in (v.id, v.label, *v.aliases):
                    if name in seen and seen[name] != v.id:
                        self.sink.error(f.location, f"字段「{f.label}」的选项名「{name}」重复", code="duplicate-name")
                    seen[name] = v.id
            return Type("enum", enum)
        return BY_NAME[f.type]

    def _declare(self, symbol: Symbol, label: str, aliases: tuple[str, ...] = ()) -> None:
        names = [symbol.id]
        if _IDENTIFIER.match(label) and label not in _RESERVED:
            names.append(label)
        names.extend(a for a in aliases if _IDENTIFIER.match(a) and a not in _RESERVED)
        for name in names:
            other = self.symbols.get(name)
            if other and (other.kind, other.id) != (symbol.kind, symbol.id):
                self.sink.error(
                    symbol.location,
                    f"名称「{name}」已被 {other.location} 的「{other.label}」使用",
                    "表达式按名称引用字段、条件组、表、参数和项目，名称不能重复；请改名",
                    code="duplicate-name",
                )
                continue
            self.symbols[name] = symbol

    # -- stage 2: data -------------------------------------------------------
    def type_data(self) -> tuple[dict[str, FieldInfo], dict[str, dict[tuple[Any, ...], Decimal]]]:
        p = self.policy
        for prm in p.parameters.values():
            value, problem = parse_value(BY_NAME[prm.type], prm.value)
            if problem:
                self.sink.error(
                    prm.location, f"参数「{prm.label}」的值 {prm.value!r} 不对：{problem}", code="bad-value"
                )
            self.symbols[prm.id] = Symbol("parameter", prm.id, prm.label, BY_NAME[prm.type], prm.location)
            prm.value = value if not problem else prm.value
        fields: dict[str, FieldInfo] = {}
        for f in p.fields.values():
            type_ = self.field_types[f.id]
            blank = None
            if f.has_blank and f.blank is not None:
                blank, problem = parse_value(type_, f.blank)
                if problem:
                    self.sink.error(
                        f.location, f"字段「{f.label}」的空白值 {f.blank!r} 不对：{problem}", code="bad-value"
                    )
            if f.from_id:
                src = p.fields.get(f.from_id)
                if src is None or src.format != "resident_id":
                    self.sink.error(
                        f.location,
                        f"字段「{f.label}」的 from_id 应指向格式为 resident_id 的字段",
                        suggest(f.from_id, list(p.fields)),
                        code="unknown-name",
                    )
                if type_.kind != "date":
                    self.sink.error(
                        f.location, f"只有日期字段能从身份证号读出（「{f.label}」是{type_}）", code="type-mismatch"
                    )
            if f.format == "resident_id" and type_.kind != "text":
                self.sink.error(f.location, f"身份证号字段「{f.label}」应为 text 类型", code="type-mismatch")
            fields[f.id] = FieldInfo(f, type_, blank)
        tables = {t.id: self._table(t) for t in p.tables.values()}
        return fields, tables

    def _table(self, t: m.Table) -> dict[tuple[Any, ...], Decimal]:
        key_types: list[Type] = []
        for key in t.keys:
            f = self.policy.fields.get(key)
            if f is None:
                self.sink.error(
                    t.location,
                    f"表「{t.label}」的查表字段「{key}」不存在",
                    suggest(key, list(self.policy.fields)),
                    code="unknown-name",
                )
                return {}
            key_types.append(self.field_types[key])
        cells: dict[tuple[Any, ...], Decimal] = {}
        value_type = BY_NAME[t.value_type]

        def visit(node: Any, depth: int, prefix: tuple[Any, ...], path: tuple[Any, ...]) -> None:
            if depth == len(key_types):
                value, problem = parse_value(value_type, node)
                if problem or isinstance(node, (dict, list)):
                    self.sink.error(
                        t.doc.locate(path),
                        f"表「{t.label}」{_cells_text(prefix)} 的值 {node!r} 不对：{problem or '应为一个数'}",
                        code="bad-value",
                    )
                    return
                cells[prefix] = value
                return
            if not isinstance(node, dict):
                self.sink.error(
                    t.doc.locate(path),
                    f"表「{t.label}」按 {'、'.join(t.keys)} 查，共 {len(key_types)} 层；"
                    f"{_cells_text(prefix)} 这里少了一层",
                    code="table-keys",
                )
                return
            key_type = key_types[depth]
            for raw_key, child in node.items():
                key, problem = parse_value(key_type, raw_key)
                if problem:
                    field_label = self.policy.fields[t.keys[depth]].label
                    self.sink.error(
                        t.doc.locate((*path, raw_key)),
                        f"表「{t.label}」的键「{raw_key}」不是「{field_label}」的有效值",
                        problem,
                        code="table-keys",
                    )
                    continue
                visit(child, depth + 1, (*prefix, key), (*path, raw_key))

        visit(t.rows, 0, (), t.path)
        return cells

    # -- stage 3: expressions --------------------------------------------------
    def expression(self, src: m.Source, owner: tuple[str, str], numbers_are_money: bool = False) -> ir.Expr | None:
        """The typed tree of one expression, or None (the error is recorded). In an amount,
        `numbers_are_money`: a number written there is yuan."""
        self._current = owner
        self._numbers_are_money = numbers_are_money
        self.depends.setdefault(owner, set())
        if symbols := full_width_symbols(src.text):
            line, column, _ = symbols[0]
            listed = "、".join(f"「{char}」→ {HALF_WIDTH[char]}" for char in dict.fromkeys(c for _, _, c in symbols))
            self.sink.error(
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
            self.sink.error(
                src.location_at(err.line, err.column),
                f"表达式写法有误：{err.message}",
                excerpt=caret_excerpt(src.text, err.line, err.column),
                code=err.code,  # syntax, or too-long / too-deep past the documented limits
            )
            return None
        self._src = src
        try:
            return self._expr(tree)
        except _TypeProblem:
            return None

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
        match node:
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
            case s.Name():
                return self._name(node)
            case s.Lookup():
                return self._lookup(node)
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
            case s.Binary(op=op, left=a, right=b) if op in s.COMPARISON_OPS:
                return self._compare(node, op, a, b, text)
            case s.Binary(op=op, left=a, right=b):
                left, right = self._expr(a), self._expr(b)
                result = arithmetic_result(op, left.type, right.type)
                if result is None:
                    self._fail(node, f"不能计算「{left.text}」（{left.type}）{op}「{right.text}」（{right.type}）")
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
        """The right side of a comparison with `left`: a string meets an enum as one of its values."""
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
                value = self.policy.parameters[symbol.id].value
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
            self.depends[self._current].add((symbol.kind, symbol.id))

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
        return ir.TableLookup(BY_NAME[table.value_type], s.to_text(node), symbol.id, tuple(keys))

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
    def _conditions(self, conditions: tuple[m.Condition, ...], owner: tuple[str, str]) -> list[CheckedCondition]:
        out = []
        for c in conditions:
            expr = self.expression(c.source, owner)
            if expr is not None:
                if expr.type.kind != "bool":
                    self.sink.error(
                        c.source.location, f"条件「{c.source.text}」应为是/否，实际是{expr.type}", code="type-mismatch"
                    )
                out.append(CheckedCondition(c, expr))
        return out

    def run(self) -> CheckedPolicy:
        p = self.policy
        self.collect_symbols()
        fields, tables = self.type_data()
        computed: dict[str, ir.Expr] = {}
        for f in p.fields.values():
            if f.compute is None:
                continue
            expr = self.expression(f.compute, ("computed", f.id))
            if expr is not None:
                declared = self.field_types[f.id]
                if not (expr.type.same_kind(declared) or (declared.numeric and expr.type.literal)):
                    self.sink.error(
                        f.compute.location,
                        f"字段「{f.label}」声明为{declared}，计算结果却是{expr.type}",
                        code="type-mismatch",
                    )
                computed[f.id] = expr
        groups = {g.id: self._conditions(g.conditions, ("group", g.id)) for g in p.groups.values()}
        programs = {}
        for pr in p.programs.values():
            owner = ("program", pr.id)
            conditions = self._conditions(pr.conditions, owner)
            exclusions = []
            for ex in pr.exclusions:
                expr = self.expression(ex.condition, owner)
                if expr is not None:
                    if expr.type.kind != "bool":
                        self.sink.error(
                            ex.condition.location, f"排除条件应为是/否，实际是{expr.type}", code="type-mismatch"
                        )
                    exclusions.append(CheckedExclusion(ex, expr))
            amount = self.expression(pr.amount, owner, numbers_are_money=True)
            if amount is not None and not (
                amount.type.kind == "money" or (amount.type.numeric and amount.type.literal)
            ):
                self.sink.error(
                    pr.amount.location,
                    f"项目「{pr.label}」的金额应为金额，「{amount.text}」是{amount.type}",
                    code="type-mismatch",
                )
            elif (fixed := _constant(amount)) is not None and fixed < 0:
                self.sink.error(
                    pr.amount.location,
                    f"项目「{pr.label}」的金额是负数（{plain(fixed)}），资助金额不能为负",
                    code="negative-amount",
                )
            priority = self.expression(pr.priority, owner) if pr.priority else None
            if priority is not None and priority.type.kind != "int":
                self.sink.error(
                    pr.priority.location, f"优先级应为整数（1 最优先），实际是{priority.type}", code="type-mismatch"
                )  # type: ignore[union-attr]
            for rel in pr.not_with:
                if rel.program not in p.programs:
                    self.sink.error(
                        rel.location,
                        f"不认识的资助项目「{rel.program}」",
                        suggest(rel.program, list(p.programs)),
                        code="unknown-name",
                    )
                elif rel.program == pr.id:
                    self.sink.error(rel.location, "项目不能与自己互斥", code="relation")
                else:
                    self.depends[owner].add(("program", rel.program))
                    other = p.programs[rel.program]
                    if any(r.program == pr.id for r in other.not_with):
                        self.sink.error(
                            rel.location,
                            f"「{pr.label}」与「{other.label}」互相让位，无法决定保留哪一个",
                            "互斥关系只在让位的一方写",
                            code="relation",
                        )
            if amount is not None:
                programs[pr.id] = CheckedProgram(pr, conditions, exclusions, amount, priority)
        checks = {c.id: CheckedCheck(c, self._conditions(c.conditions, ("check", c.id))) for c in p.checks.values()}
        render_texts(p, self.symbols, tables, self.field_types, self.sink)
        self._quota_not_referenced()
        order = self._order()
        roles, role_problems = field_roles(p)
        self.sink.extend(role_problems)
        properties = check_properties(self)  # zizhu verify's statements (engine/check/properties.py)
        self.sink.raise_if_any()
        return CheckedPolicy(
            p, fields, computed, groups, tables, programs, checks, order, self.symbols, self.depends, roles, properties
        )

    def _quota_not_referenced(self) -> None:
        # A quota is filled after all students are evaluated, so no rule may depend on its outcome.
        for owner, deps in self.depends.items():
            for kind, target in deps:
                program = self.policy.programs.get(target) if kind == "program" else None
                if program and program.quota:
                    self.sink.error(
                        self._item(owner).location,
                        f"「{program.label}」设有名额，其结果在全部学生评完后才定，不能被其他规则引用",
                        code="quota-reference",
                    )

    def _item(self, owner: tuple[str, str]) -> m.Field | m.Group | m.Program | m.Check:
        kind, item_id = owner
        section = {
            "computed": self.policy.fields,
            "group": self.policy.groups,
            "program": self.policy.programs,
            "check": self.policy.checks,
        }[kind]
        return section[item_id]

    def _order(self) -> list[str]:
        """Programs in dependency order; a cycle among programs, groups or computed fields is an error."""
        state: dict[tuple[str, str], int] = {}  # 1 = on the path being explored, 2 = done
        stack: list[tuple[str, str]] = []

        def visit(node: tuple[str, str]) -> None:
            if state.get(node) == 2:
                return
            if state.get(node) == 1:
                cycle = [*stack[stack.index(node) :], node]
                names = " → ".join(self._item(n).label for n in cycle)
                self.sink.error(
                    self._item(node).location, f"循环引用：{names}", "规则不能经由其他规则引用自己", code="cycle"
                )
                return
            state[node] = 1
            stack.append(node)
            for dep in sorted(self.depends.get(node, ())):
                visit(dep)
            stack.pop()
            state[node] = 2

        for node in sorted(self.depends):
            visit(node)
        # The policy's own order where dependencies allow it: stable for reports.
        deps = {pid: self._indirect_programs(("program", pid)) for pid in self.policy.programs}
        return _stable_topological(list(self.policy.programs), deps)

    def _indirect_programs(self, node: tuple[str, str]) -> set[str]:
        """Programs a program depends on, directly or through groups and computed fields."""
        return {item for kind, item in transitive_reads(self.depends, node) if kind == "program"}


def transitive_reads(
    depends: dict[tuple[str, str], set[tuple[str, str]]], owner: tuple[str, str]
) -> set[tuple[str, str]]:
    """Everything `owner` reads, directly or through groups and computed fields (not through programs:
    another program's outcome is read, not its rules)."""
    found: set[tuple[str, str]] = set()
    todo = list(depends.get(owner, ()))
    while todo:
        item = todo.pop()
        if item not in found:
            found.add(item)
            if item[0] in ("group", "computed"):
                todo.extend(depends.get(item, ()))
    return found


def _stable_topological(items: list[str], deps: dict[str, set[str]]) -> list[str]:
    done: list[str] = []
    placed: set[str] = set()
    remaining = list(items)
    while remaining:
        for pid in remaining:
            if deps.get(pid, set()) <= placed:
                done.append(pid)
                placed.add(pid)
                remaining.remove(pid)
                break
        else:  # a cycle, already reported
            done.extend(remaining)
            break
    return done


def _cells_text(prefix: tuple[Any, ...]) -> str:
    return "[" + ", ".join(map(str, prefix)) + "]" if prefix else ""


class _TypeProblem(Exception):
    """An expression error was recorded; stop typing this expression."""


__all__ = ["CheckedPolicy", "PolicyError", "check_policy"]
