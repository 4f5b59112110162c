"""Checked policy → one generated Python function per semester: the evaluation back end.

The function is built from the typed tree (:mod:`engine.check.ir`) and compiled once.
No text the policy's authors wrote reaches the generated source: every value
(strings, decimals, dates, tables, built-in functions) is passed in as a constant of the
function's namespace under a name the generator makes up, and every variable name is the
generator's own (``f3``, ``g0``, ``a2``). Field keys are schema-checked ASCII ids, written with
``repr``.

Meaning (:mod:`engine.runtime.facts`): a blank fact is *unknown*, and conditions follow Kleene
(SQL NULL) logic. Each program and check is generated twice:

- a **fast path** in plain Python booleans, as most records need: a blank read, a missing table
  cell or failed arithmetic raises, and nothing else;
- a **three-valued path**, run only for an item whose fast path raised, in which such a value is
  an :class:`~engine.runtime.facts.Unknown` and the operators are those of
  :mod:`engine.runtime.facts` (the one definition of their meaning).

On a record whose reads are all known both give the same answer (plain ``and`` stops at a false
operand, which decides a Kleene ``and`` too), so there is one meaning. A program's conditions,
exclusions and relations are tested in the checked tree's one canonical order
(:class:`~engine.check.checked.Parts`, :mod:`engine.check.order`) so the reason reported for a
refusal never depends on the order of a list, and is the one every back end reports.

``trace=True`` generates the **trace flavour** ``explain`` runs: the three-valued path only, with
every read of a field, group, computed field, parameter, table cell, period attribute and program
handed to a hook, and every condition, exclusion, relation and amount recorded as a step.

Shared conditions (groups) and computed fields are evaluated at most once per record in each path,
lazily (a blank field a rule does not reach is never a problem).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from operator import itemgetter
from typing import Any

from engine.check import ir
from engine.check.builtins import BY_ID
from engine.check.checked import CheckedPolicy
from engine.check.tables import fallback_tables
from engine.check.types import BOOL
from engine.runtime.facts import (
    FALLBACK,
    MissingFact,
    NoTableEntry,
    Undecided,
    Unknown,
    and3,
    apply3,
    known3,
    lookup_fallback,
    lookup_fallback3,
    not3,
    or3,
    rounder,
    unlisted,
)

EAGER_READS = 4  # a field written this often in the rules is read into a local once per record
_NOT_YET = object()  # a three-valued memo not yet computed (None cannot be: it is a value there)

_COMPARE = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_ARITHMETIC = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}


def _missing(field: str) -> Any:
    raise MissingFact(field)


def _undecided() -> Any:
    raise Undecided()


def _lookup(table: dict[Any, Decimal], table_id: str, *keys: Any) -> Decimal:
    key = keys[0] if len(keys) == 1 else keys
    try:
        return table[key]
    except KeyError:
        raise NoTableEntry(table_id, keys) from None


def _traced_row(read: Callable[[str, str, Any], Any], table_id: str, found: tuple[Any, Any]) -> Any:
    """The trace flavour's read of a table with a fallback row: which row was read, then the value."""
    value, row = found
    if row is not None:
        read("table-row", table_id, row)
    return value


def _decimal_operation(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """An operation whose result is a decimal even when both operands are ints (never a float)."""
    return lambda a, b: op(Decimal(a), b)


class _Writer:
    def __init__(self, checked: CheckedPolicy, period: dict[str, Any], trace: bool) -> None:
        self.checked = checked
        self.period = period
        self.trace = trace
        self.namespace: dict[str, Any] = {
            "_D": Decimal,
            "_U": Unknown,
            "_NA": _NOT_YET,
            "_ZERO": Decimal(0),
            "_miss": _missing,
            "_undecided": _undecided,
            "_lookup": _lookup,
            "_lookup_fb": lookup_fallback,
            "_lookup_fb3": lambda table, *keys: lookup_fallback3(table, keys)[0],
            "_row_fb3": lookup_fallback3,
            "_traced_row": _traced_row,
            "_Fallback": FALLBACK,
            "_and3": and3,
            "_or3": or3,
            "_not3": not3,
            "_apply3": apply3,
            "_unlisted": unlisted,
            "_known3": known3,
            "_round": rounder(checked.manifest.rounding),
        }
        self._consts: dict[tuple[type, Any], str] = {}
        fields = list(checked.fields)
        self.field_var = {fid: f"f{i}" for i, fid in enumerate(fields)}
        self.nullable = {fid for fid, info in checked.fields.items() if info.blank is None}
        self.group_var = {gid: f"g{i}" for i, gid in enumerate(checked.groups)}
        self.computed_var = {fid: f"c{i}" for i, fid in enumerate(checked.computed)}
        self.group3_var = {gid: f"h{i}" for i, gid in enumerate(checked.groups)}
        self.computed3_var = {fid: f"d{i}" for i, fid in enumerate(checked.computed)}
        self.program_var = {pid: f"a{i}" for i, pid in enumerate(checked.program_order)}
        self.fallbacks = fallback_tables(checked.policy, checked.tables)
        self._tables: dict[str, dict[Any, Decimal]] = {}
        self.field_uses: dict[str, int] = {}  # reads per field in the fast path proper (eager ones)
        self.fields_read: set[str] = set()  # every field with a placeholder to resolve
        self.counting = True  # off while writing the fallback, which rarely runs

    def resolve_fields(self, source: str, eager: set[str], known: bool) -> str:
        """Field reads in place of their placeholders; with `known`, for a record whose every
        field the rules read is filled in (the evaluator checks that first), so no read tests
        for a blank."""
        for f in self.fields_read:
            token = f"\x00{f}\x00"
            if f in eager:
                read = self.field_var[f]
                checked = f"({read} if {read} is not None else _miss({f!r}))"
            else:
                read = f"rec[{f!r}]"
                checked = f"(_f if (_f := {read}) is not None else _miss({f!r}))"
            source = source.replace(token, checked if f in self.nullable and not known else read)
        return source

    def const(self, value: Any) -> str:
        """A value as a namespace constant: the generated text only ever holds its made-up name."""
        if isinstance(value, bool) or value is None:
            return repr(value)
        if type(value) is int:
            return repr(value)  # an engine-typed int, printed by Python
        key = (type(value), value if not isinstance(value, (dict, list, set, Unknown)) else id(value))
        if callable(value):
            key = (type(value), id(value))
        if key not in self._consts:
            name = f"_k{len(self._consts)}"
            self._consts[key] = name
            self.namespace[name] = value
        return self._consts[key]

    def table(self, table_id: str) -> dict[Any, Decimal]:
        """A table's cells as the generated code looks them up: the same dict at every lookup (one
        constant in the namespace), keyed by the value itself when the table has one key."""
        if table_id not in self._tables:
            cells = self.checked.tables[table_id]
            if len(self.checked.policy.tables[table_id].keys) == 1 and table_id not in self.fallbacks:
                cells = {key[0]: value for key, value in cells.items()}
            self._tables[table_id] = cells
        return self._tables[table_id]

    # -- the fast path: plain Python values; anything unknown raises ----------------------------
    def expr(self, e: ir.Expr) -> str:
        match e:
            case ir.Const(value=v):
                return self.const(v)
            case ir.ParamRef(value=v):
                return self.const(v)
            case ir.PeriodRef(attribute=a):
                return self.const(self.period[a])
            case ir.FieldRef(field=f):
                # A placeholder: once all uses are counted, a field read often becomes a local
                # read once per record, one read rarely stays a dict lookup where it is used.
                if self.counting:
                    self.field_uses[f] = self.field_uses.get(f, 0) + 1
                self.fields_read.add(f)
                return f"\x00{f}\x00"
            case ir.ComputedRef(field=f):
                var = self.computed_var[f]
                inner = self.expr(self.checked.computed[f])
                return f"({var} if {var} is not None else ({var} := {inner}))"
            case ir.GroupRef(group=g):
                var = self.group_var[g]
                inner = " and ".join(self.expr(c.expr) for c in self.checked.groups[g]) or "True"
                return f"({var} if {var} is not None else ({var} := ({inner})))"
            case ir.TableLookup(table=t, keys=keys):
                cells = self.table(t)
                table = self.const(cells)
                tid = self.const(t)
                if t in self.fallbacks:  # an exact row at once; else the fallback row, through a call
                    key = "(" + "".join(self.expr(k) + ", " for k in keys) + ")"
                    fallback = self.const(self.fallbacks[t])
                    return f"({table}[_t] if (_t := {key}) in {table} else _lookup_fb({fallback}, _t))"
                key = self.expr(keys[0]) if len(keys) == 1 else "(" + ", ".join(self.expr(k) for k in keys) + ",)"
                return f"({table}[_t] if (_t := {key}) in {table} else _lookup({table}, {tid}, _t))"
            case ir.RequireKnown(value=v, key=k, field=f, known=known, required=r):
                # A value outside the known ones where they are required sends the item to the
                # three-valued path (engine.check.tables), as a blank does.
                may_look_up = f"(_kq := {self.expr(k)}) in {self.const(known)} or not {self.expr(r)}"
                return f"({self.expr(v)} if {may_look_up} else _unlisted({f!r}, _kq))"
            case ir.Awarded(program=p, want_amount=amount):
                var = self.program_var[p]
                # An undecided program (an Unknown) sends the item to the three-valued path.
                if amount:
                    return f"(_ZERO if {var} is None else {var} if {var}.__class__ is _D else _undecided())"
                return f"(False if {var} is None else True if {var}.__class__ is _D else _undecided())"
            case ir.Function(name=name, args=args):
                function = self.const(BY_ID[name].implementation)
                return f"{function}({', '.join(self.expr(a) for a in args)})"
            case ir.Negate(operand=x):
                return f"(-{self.expr(x)})"
            case ir.Arithmetic(op=op, left=a, right=b):
                left, right = self.expr(a), self.expr(b)
                if _decimal_result(e):
                    left = f"_D({left})"  # never a float: int / int would be one
                return f"({left} {op} {right})"
            case ir.Compare(op=op, left=a, right=b):
                return f"({self.expr(a)} {op} {self.expr(b)})"
            case ir.InList(item=x, options=opts, negated=neg):
                word = "not in" if neg else "in"
                if all(isinstance(o, ir.Const) for o in opts):
                    return f"({self.expr(x)} {word} {self.const(frozenset(o.value for o in opts))})"  # type: ignore[attr-defined]
                return f"({self.expr(x)} {word} ({', '.join(self.expr(o) for o in opts)},))"
            case ir.And(operands=xs):
                return "(" + " and ".join(self.expr(x) for x in xs) + ")"
            case ir.Or(operands=xs):
                return "(" + " or ".join(self.expr(x) for x in xs) + ")"
            case ir.Not(operand=x):
                return f"(not {self.expr(x)})"
            case ir.IfElse(condition=c, then=t, otherwise=o):
                return f"({self.expr(t)} if {self.expr(c)} else {self.expr(o)})"
        raise TypeError(f"no code for {type(e).__name__}")

    # -- the three-valued path: an unknown is a value; the operators are engine.runtime.facts' ---
    def expr3(self, e: ir.Expr) -> str:
        match e:
            case ir.Const(value=v):
                return self.const(v)
            case ir.ParamRef(param=p, value=v):
                return self.traced("parameter", p, self.const(v))
            case ir.PeriodRef(attribute=a):
                return self.traced("period", a, self.const(self.period[a]))
            case ir.FieldRef(field=f):
                read = self.traced("field", f, f"rec[{f!r}]")
                if f not in self.nullable:
                    return read
                unknown = self.const(Unknown(fields=frozenset({f})))
                return f"(_y if (_y := {read}) is not None else {unknown})"
            case ir.ComputedRef(field=f):
                inner = self.expr3(self.checked.computed[f])
                if self.trace:  # every step shows its own reads: nothing remembered between steps
                    return self.traced("computed", f, inner)
                var, known = self.computed3_var[f], self.computed_var[f]  # the fast path's value, if it got one
                return f"({known} if {known} is not None else {var} if {var} is not _NA else ({var} := {inner}))"
            case ir.GroupRef(group=g):
                inner = "_and3(" + "".join(self.expr3(c.expr) + ", " for c in self.checked.groups[g]) + ")"
                if self.trace:
                    return self.traced("group", g, inner)
                var, known = self.group3_var[g], self.group_var[g]
                return f"({known} if {known} is not None else {var} if {var} is not _NA else ({var} := {inner}))"
            case ir.TableLookup(table=t, keys=keys):
                table, tid = self.const(self.table(t)), self.const(t)
                args = "".join(", " + self.expr3(k) for k in keys)
                if t in self.fallbacks:
                    fallback = self.const(self.fallbacks[t])
                    if self.trace:  # the row read (exact or fallback) is shown by explain
                        found = f"_row_fb3({fallback}, ({args[2:]},))"
                        return self.traced("table", t, f"_traced_row(_read, {tid}, {found})")
                    return f"_lookup_fb3({fallback}{args})"
                return self.traced("table", t, f"_apply3(_lookup, {table}, {tid}{args})")
            case ir.RequireKnown(value=v, key=k, field=f, known=known, required=r):
                # Only when the value may be looked up is the table read (explain shows no row else).
                check = f"_known3({self.const(known)}, {f!r}, {self.expr3(k)}, {self.expr3(r)})"
                return f"(_kv if (_kv := {check}) is not True else {self.expr3(v)})"
            case ir.Awarded(program=p, want_amount=amount):
                var = self.program_var[p]
                undecided = self.const(Unknown(programs=frozenset({p})))
                if amount:
                    value = f"(_ZERO if {var} is None else {var} if {var}.__class__ is _D else {undecided})"
                else:
                    value = f"(False if {var} is None else True if {var}.__class__ is _D else {undecided})"
                return self.traced("program", p, value)
            case ir.Function(name=name, args=args):
                return self.strict(BY_ID[name].implementation, args)
            case ir.Negate(operand=x):
                return self.strict(operator.neg, (x,))
            case ir.Arithmetic(op=op, left=a, right=b):
                function = _ARITHMETIC[op]
                return self.strict(_decimal_operation(function) if _decimal_result(e) else function, (a, b))
            case ir.Compare(op=op, left=a, right=b):
                return self.strict(_COMPARE[op], (a, b))
            case ir.InList(item=x, options=opts, negated=neg):
                test = operator.not_ if neg else bool
                if all(isinstance(o, ir.Const) for o in opts):
                    options = frozenset(o.value for o in opts)  # type: ignore[attr-defined]
                    return self.strict(lambda item: test(item in options), (x,))
                return self.strict(lambda item, *values: test(item in values), (x, *opts))
            case ir.And(operands=xs):
                return "_and3(" + "".join(self.expr3(x) + ", " for x in xs) + ")"
            case ir.Or(operands=xs):
                return "_or3(" + "".join(self.expr3(x) + ", " for x in xs) + ")"
            case ir.Not(operand=x):
                return f"_not3({self.expr3(x)})"
            case ir.IfElse(condition=c, then=t, otherwise=o):
                # Only the branch taken is evaluated; an unknown condition is the value.
                then, otherwise = self.expr3(t), self.expr3(o)
                return f"({then} if (_c := {self.expr3(c)}) is True else ({otherwise} if _c is False else _c))"
        raise TypeError(f"no code for {type(e).__name__}")

    def in_fen(self, e: ir.Expr) -> ir.Expr | None:
        """The amount expression with every constant a Decimal rounded to the fen, when it can only
        ever give whole fen (constants, tables whose every cell is in fen, a choice or min/max of
        such); None when its value must be rounded where it is computed."""
        to_fen = self.namespace["_round"]
        match e:
            case ir.Const(value=v) | ir.ParamRef(value=v):
                try:
                    rounded = to_fen(v)
                except ArithmeticError:
                    return None  # a problem on every row, reported where it is evaluated
                return ir.Const(e.type, e.text, rounded) if rounded == v else None
            case ir.TableLookup(table=t):
                exact = all(v.is_finite() and v == v.quantize(Decimal("0.01")) for v in self.checked.tables[t].values())
                return e if exact else None
            case ir.RequireKnown(value=v):
                inner = self.in_fen(v)
                if inner is None:
                    return None
                return ir.RequireKnown(e.type, e.text, inner, e.key, e.field, e.known, e.required)
            case ir.IfElse(condition=c, then=t, otherwise=o):
                then, otherwise = self.in_fen(t), self.in_fen(o)
                return None if then is None or otherwise is None else ir.IfElse(e.type, e.text, c, then, otherwise)
            case ir.Function(name="min" | "max", args=args):
                parts = [self.in_fen(a) for a in args]
                return None if None in parts else ir.Function(e.type, e.text, e.name, tuple(parts))  # type: ignore[arg-type]
        return None

    def amount(self, e: ir.Expr, three_valued: bool) -> str:
        """A program's amount, rounded to the fen by the policy's rule once, where it is computed
        (at generation when it can only ever be whole fen)."""
        exact = self.in_fen(e)
        if exact is not None:
            return self.expr3(exact) if three_valued else self.expr(exact)
        if three_valued:
            return f"_apply3(_round, {self.expr3(e)})"
        return f"_round({self.expr(e)})"

    def strict(self, function: Callable[..., Any], args: tuple[ir.Expr, ...]) -> str:
        return f"_apply3({self.const(function)}" + "".join(", " + self.expr3(a) for a in args) + ")"

    def traced(self, kind: str, name: str, value: str) -> str:
        """In the trace flavour, a read handed to the trace hook; otherwise the read itself."""
        return f"_read({kind!r}, {name!r}, {value})" if self.trace else value

    def step(self, item: int, role: str, index: int, value: str) -> str:
        """In the trace flavour, a condition, exclusion, relation or amount recorded as a step."""
        return f"_step(_begin(), {value}, {item}, {role!r}, {index})" if self.trace else value


def _decimal_result(e: ir.Arithmetic) -> bool:
    ints = e.left.type.kind == "int" and e.right.type.kind == "int"
    return e.op == "/" or (e.type.kind in ("money", "decimal") and ints)


Evaluate = Callable[[Any], Any]  # Record → Result


@dataclass
class Hooks:
    """What the generated code is handed by its evaluator: the prebuilt outcomes it appends by
    index, and the functions it calls back for what is rare (a new amount, a problem)."""

    denials: list[list[Any]]  # per program: one Denial per part, in canonical order (Parts), then zero
    flags: list[Any]  # one Flag per check
    awards: list[dict[Decimal, Any]]  # per program: Award by amount, filled by `award`
    award: Callable[[int, Decimal], Any]
    finish: Callable[..., Any]  # builds the result when there are problems or zero amounts
    result: type
    # The trace flavour only: start a step's reads, record a read, record a step.
    begin: Callable[[], Any] | None = None
    read: Callable[[str, str, Any], Any] | None = None
    step: Callable[..., Any] | None = None


def generate(
    checked: CheckedPolicy, period: dict[str, Any], hooks: Hooks, reasons: bool, trace: bool = False
) -> tuple[str, Evaluate]:
    """The source and the compiled function `evaluate(record) -> Result` (the trace flavour when
    `trace`: three-valued only, reporting every read and step to the hooks; always with reasons)."""
    reasons = reasons or trace
    denials, flags, awards = hooks.denials, hooks.flags, hooks.awards
    w = _Writer(checked, period, trace)
    body: list[str] = []
    emit = body.append

    def record_problem(indent: str, item: int, value: str) -> None:
        emit(f"{indent}er = er or []; er.append(({item}, {value}))")

    def either(indent: str, target: str, fast: str, slow: str) -> None:
        """`target = fast`, or the three-valued `slow` when the fast one meets an unknown (in the
        trace flavour, `slow` alone)."""
        if trace:
            emit(f"{indent}{target} = {slow}")
            return
        emit(f"{indent}try:")
        emit(f"{indent}    {target} = {fast}")
        emit(f"{indent}except _Fallback:")
        emit(f"{indent}    {target} = {slow}")

    def decision(indent: str, item: int, parts: list[tuple[str, int, ir.Expr, bool]]) -> None:
        """`_o` = the index of the first part (in canonical order) whose value decides against the
        item (a false condition; a true exclusion or relation), else True when every part is
        decided for it, else the Unknown of all undecided parts: the `and` of the parts. Parts are
        evaluated in turn until one decides, each three-valued only if its fast form meets an
        unknown, so the index never depends on which parts were reached."""
        emit(f"{indent}_o = _u = None")
        for n, (role, index, e, against) in enumerate(parts):
            inner = indent
            if n:
                emit(f"{indent}if _o is None:")
                inner = indent + "    "
            either(inner, "_x", w.expr(e), w.step(item, role, index, w.expr3(e)))
            emit(f"{inner}if _x is {against}:")
            emit(f"{inner}    _o = {n}")
            emit(f"{inner}elif _x.__class__ is _U:")
            emit(f"{inner}    _u = _x if _u is None else _u | _x")
        emit(f"{indent}if _o is None:")
        emit(f"{indent}    _o = True if _u is None else _u")

    lazy3 = [*w.group3_var.values(), *w.computed3_var.values()]

    def fallback(indent: str) -> None:
        """`except` into the three-valued path: its memo of groups and computed fields is set up
        the first time a record needs it (most never do); its field reads are not counted for
        the fast path's locals."""
        emit(f"{indent}except _Fallback:")
        if lazy3:
            emit(f"{indent}    if m3 is None:")
            emit(f"{indent}        m3 = {' = '.join(lazy3)} = _NA")
        w.counting = False

    programs = checked.program_order
    for i, pid in enumerate(programs):
        w.counting = True
        cp = checked.programs[pid]
        parts = cp.parts
        var = w.program_var[pid]
        den = w.const(denials[i])
        award = f"aw.append({w.const(awards[i])}.get(_v) or _award({i}, _v))"
        emit(f"    # {i}: program {pid}")
        fast = not trace
        if fast:
            emit("    try:")
            keyword = "if"
            k = 0
            for cond in parts.conditions:
                emit(f"        {keyword} not {w.expr(cond.expr)}:")
                emit(f"            dn.append({den}[{k}])" if reasons else "            pass")
                keyword, k = "elif", k + 1
            for ex in parts.exclusions:
                emit(f"        {keyword} {w.expr(ex.expr)}:")
                emit(f"            dn.append({den}[{k}])" if reasons else "            pass")
                keyword, k = "elif", k + 1
            for rel in parts.relations:
                emit(f"        {keyword} {w.expr(ir.Awarded(BOOL, rel.program, rel.program))}:")
                emit(f"            dn.append({den}[{k}])" if reasons else "            pass")
                keyword, k = "elif", k + 1
            if keyword == "if":
                emit("        if True:")
            else:
                emit("        else:")
            emit(f"            _v = {w.amount(cp.amount, three_valued=False)}")
            emit("            if _v > 0:")
            if cp.priority is not None:
                emit(f"                _p = {w.expr(cp.priority)}")
            emit(f"                {var} = _v")
            emit(f"                {award}")
            if cp.priority is not None:
                emit(f"                pr = pr or {{}}; pr[{pid!r}] = _p")
            emit("            else:")
            emit(f"                zero = zero or []; zero.append(({i}, _v))")
            fallback("    ")
        indent = "        " if fast else "    "
        decision(indent, i, [
            *(("condition", k, c.expr, False) for k, c in enumerate(parts.conditions)),
            *(("exclusion", k, x.expr, True) for k, x in enumerate(parts.exclusions)),
            *(("relation", k, ir.Awarded(BOOL, r.program, r.program), True) for k, r in enumerate(parts.relations)),
        ])  # fmt: skip
        emit(f"{indent}if _o is True:")
        amount, amount3 = w.amount(cp.amount, three_valued=False), w.amount(cp.amount, three_valued=True)
        either(indent + "    ", "_v", amount, w.step(i, "amount", 0, amount3))
        if cp.priority is not None:
            emit(f"{indent}    if _v.__class__ is _D and _v > 0:")
            either(indent + "        ", "_p", w.expr(cp.priority), w.expr3(cp.priority))
            emit(f"{indent}        if _p.__class__ is _U:")
            emit(f"{indent}            _v = _p")
        emit(f"{indent}    if _v.__class__ is _U:")
        emit(f"{indent}        {var} = _v")
        record_problem(indent + "        ", i, "_v")
        emit(f"{indent}    elif _v > 0:")
        emit(f"{indent}        {var} = _v")
        emit(f"{indent}        {award}")
        if cp.priority is not None:
            emit(f"{indent}        pr = pr or {{}}; pr[{pid!r}] = _p")
        emit(f"{indent}    else:")
        emit(f"{indent}        zero = zero or []; zero.append(({i}, _v))")
        emit(f"{indent}elif _o.__class__ is int:")
        emit(f"{indent}    dn.append({den}[_o])" if reasons else f"{indent}    pass")
        emit(f"{indent}else:")
        emit(f"{indent}    {var} = _o")
        record_problem(indent + "    ", i, "_o")

    for j, cc in enumerate(checked.checks.values()):
        w.counting = True
        item = len(programs) + j
        ordered = cc.parts.conditions
        flag = w.const(flags[j])
        emit(f"    # check {j}")
        indent = "    "
        if not trace:
            test = " and ".join(w.expr(c.expr) for c in ordered) or "True"
            emit("    try:")
            emit(f"        if {test}:")
            emit(f"            fl.append({flag})")
            fallback("    ")
            indent = "        "
        decision(indent, item, [("condition", k, c.expr, False) for k, c in enumerate(ordered)])
        emit(f"{indent}if _o is True:")
        emit(f"{indent}    fl.append({flag})")
        emit(f"{indent}elif _o.__class__ is _U:")
        record_problem(indent + "    ", item, "_o")
    if reasons:
        emit("    _begin()" if trace else "    # groups found true")
        for gid in checked.groups:
            w.counting = True
            test3 = w.expr3(ir.GroupRef(BOOL, gid, gid))
            if trace:
                emit(f"    if {test3} is True:")
                emit(f"        gr.append({gid!r})")
                continue
            emit("    try:")
            emit(f"        if {w.expr(ir.GroupRef(BOOL, gid, gid))}:")
            emit(f"            gr.append({gid!r})")
            fallback("    ")
            emit(f"        if {test3} is True:")
            emit(f"            gr.append({gid!r})")
    eager = {f for f, uses in w.field_uses.items() if uses >= EAGER_READS}
    fields = sorted(eager, key=list(checked.fields).index)
    head = [
        "def evaluate(record):",
        "    rec = record.values; row = record.row",
        "    aw = []; fl = []; er = zero = pr = None",
        "    dn = []; gr = []" if reasons else "    dn = gr = None",
    ]
    if fields:
        head.append("    " + ", ".join(w.field_var[f] for f in fields) + ("," if len(fields) == 1 else "")
                    + " = _fields(rec)")  # fmt: skip
        w.namespace["_fields"] = _itemgetter(fields)
    # Fast-path groups and computed fields are None until first needed (a value is never None
    # there: a blank fact raises); three-valued ones are _NA until needed (None is not a value
    # there either, but an Unknown is).
    lazy = [*w.group_var.values(), *w.computed_var.values()]
    if lazy:
        head.append("    " + " = ".join(lazy) + " = None")
    if lazy3:
        head.append("    " + " = ".join(lazy3) + " = _NA" if trace else "    m3 = None")
    program_vars = list(w.program_var.values())
    if program_vars:
        head.append("    " + " = ".join(program_vars) + " = None")
    # The student's ID and name are whichever fields the policy gave those roles (ids are schema-checked).
    id_field, name_field = checked.role_field("identity_number") or "", checked.role_field("name") or ""
    tail = [
        "    if er is not None or zero is not None:",
        "        return _finish(rec, row, aw, dn, fl, er, zero, pr, gr)",
        f"    return _Result(row, rec.get({id_field!r}) or '', rec.get({name_field!r}) or '',",
        "                   rec, aw, dn or (), fl, (), pr, gr or ())",
    ]
    w.namespace.update(_award=hooks.award, _finish=hooks.finish, _Result=hooks.result)  # fmt: skip
    if trace:
        w.namespace.update(_begin=hooks.begin, _read=hooks.read, _step=hooks.step)
    text = "\n".join([*head, *body, *tail, ""])
    blankable = sorted((f for f in w.fields_read if f in w.nullable), key=list(checked.fields).index)
    if blankable:
        # Most records have every field the rules read: they run a copy of the function whose
        # reads need no blank test; a record with a blank runs the one that tests each read.
        w.namespace["_blankable"] = _itemgetter(blankable)
        with_blanks = w.resolve_fields(text.replace("def evaluate(", "def _evaluate_blanks(", 1), eager, known=False)
        dispatch = "    if None in _blankable(record.values):\n        return _evaluate_blanks(record)\n"
        known = w.resolve_fields(text, eager, known=True).replace("\n", "\n" + dispatch, 1)
        source = with_blanks + "\n\n" + known
    else:
        source = w.resolve_fields(text, eager, known=True)
    code = compile(source, "<zizhu policy>", "exec")
    namespace = dict(w.namespace)
    exec(code, namespace)  # the engine's own generated source; no user text in it (see module doc)
    return source, namespace["evaluate"]


def _itemgetter(fields: list[str]):
    getter = itemgetter(*fields)
    if len(fields) == 1:
        return lambda rec: (getter(rec),)
    return getter


__all__ = ["Hooks", "generate"]
