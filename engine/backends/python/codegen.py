"""Checked policy → one generated Python function per semester: the fast evaluation back end.

The function is built from the typed tree (:mod:`engine.check.ir`) and compiled once.
No text the policy's authors wrote reaches the generated source: every value
(strings, decimals, dates, tables) is passed in as a constant of the function's
namespace under a name the generator makes up, and every variable name is the
generator's own (``f3``, ``g0``, ``a2``). Field keys are schema-checked ASCII ids,
written with ``repr``.

Shared conditions (groups) and computed fields are evaluated at most once per
record, lazily (so a blank field a rule does not reach is never an error), with
assignment expressions. Programs are evaluated in dependency order; every reason
a program is not awarded is a prebuilt :class:`~engine.backends.python.evaluator.Denial`, so a
record costs one list append per program not awarded.

The closure back end (:mod:`engine.backends.python.compile`) stays for ``explain``, which traces
every fact a rule read; the two are held to the same answers by the tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from operator import itemgetter
from typing import Any

from engine.check import ir
from engine.check.checker import CheckedPolicy
from engine.check.types import BOOL
from engine.runtime.facts import MissingFact, NoTableEntry, age_on

_ERROR = object()
EAGER_READS = 4  # a field written this often in the rules is read into a local once per record


class Undetermined(MissingFact):
    """A program this one gives way to could not be decided, so neither can this one."""


def _missing(field: str) -> Any:
    raise MissingFact(field)


def _no_entry(table: str, key: Any) -> Any:
    raise NoTableEntry(table, key if isinstance(key, tuple) else (key,))


def _undetermined(program: str) -> Any:
    raise Undetermined(program)


class _Writer:
    def __init__(self, checked: CheckedPolicy, period: dict[str, Any]) -> None:
        self.checked = checked
        self.period = period
        self.namespace: dict[str, Any] = {
            "_ERR": _ERROR,
            "_D": Decimal,
            "_ZERO": Decimal(0),
            "_miss": _missing,
            "_noentry": _no_entry,
            "_undet": _undetermined,
            "_age": age_on,
            "_Missing": MissingFact,
            "_NoEntry": NoTableEntry,
        }
        self._consts: dict[tuple[type, Any], str] = {}
        fields = list(checked.fields)
        self.field_var = {fid: f"f{i}" for i, fid in enumerate(fields)}
        self.nullable = {fid for fid, info in checked.fields.items() if info.blank is None}
        self.group_var = {gid: f"g{i}" for i, gid in enumerate(checked.groups)}
        self.computed_var = {fid: f"c{i}" for i, fid in enumerate(checked.computed)}
        self.program_var = {pid: f"a{i}" for i, pid in enumerate(checked.program_order)}
        self.field_uses: dict[str, int] = {}

    def resolve_fields(self, source: str, eager: set[str]) -> str:
        for f in self.field_uses:
            token = f"\x00{f}\x00"
            if f in eager:
                read = self.field_var[f]
                checked = f"({read} if {read} is not None else _miss({f!r}))"
            else:
                read = f"rec[{f!r}]"
                checked = f"(_f if (_f := {read}) is not None else _miss({f!r}))"
            source = source.replace(token, checked if f in self.nullable else read)
        return source

    def const(self, value: Any) -> str:
        """A value as a namespace constant: the generated text only ever holds its made-up name."""
        if isinstance(value, bool) or value is None:
            return repr(value)
        if type(value) is int:
            return repr(value)  # an engine-typed int, printed by Python
        key = (type(value), value if not isinstance(value, (dict, list, set)) else id(value))
        if key not in self._consts:
            name = f"_k{len(self._consts)}"
            self._consts[key] = name
            self.namespace[name] = value
        return self._consts[key]

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
                self.field_uses[f] = self.field_uses.get(f, 0) + 1
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
                key = self.expr(keys[0]) if len(keys) == 1 else "(" + ", ".join(self.expr(k) for k in keys) + ",)"
                return f"({table}[_t] if (_t := {key}) in {table} else _noentry({tid}, _t))"
            case ir.Awarded(program=p, want_amount=amount):
                var = self.program_var[p]
                if amount:
                    return f"({var} if {var} is not None and {var} is not _ERR else _ZERO)"
                return f"({var} is not None and {var} is not _ERR)"
            case ir.Function(name="age", args=(birth, day)):
                return f"_age({self.expr(birth)}, {self.expr(day)})"
            case ir.Function(name=name, args=args):
                return f"{name}({', '.join(self.expr(a) for a in args)})"
            case ir.Negate(operand=x):
                return f"(-{self.expr(x)})"
            case ir.Arithmetic(op=op, left=a, right=b):
                left, right = self.expr(a), self.expr(b)
                if op == "/" or (e.type.kind in ("money", "decimal") and a.type.kind == "int" and b.type.kind == "int"):
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

    def table(self, table_id: str) -> dict[Any, Decimal]:
        cells = self.checked.tables[table_id]
        if len(self.checked.policy.tables[table_id].keys) == 1:
            return {key[0]: value for key, value in cells.items()}
        return cells


Evaluate = Callable[[Any], Any]  # Record → Result


@dataclass
class Hooks:
    """What the generated code is handed by its evaluator: the prebuilt outcomes it appends by
    index, and the functions it calls back for what is rare (a new amount, an error)."""

    denials: list[list[Any]]  # per program: one Denial per condition, per exclusion, per relation
    flags: list[Any]  # one Flag per check
    awards: list[dict[Decimal, Any]]  # per program: Award by amount, filled by `award`
    award: Callable[[int, Decimal], Any]
    finish: Callable[..., Any]  # builds the result when there are errors or zero amounts
    result: type


def generate(checked: CheckedPolicy, period: dict[str, Any], hooks: Hooks, reasons: bool) -> tuple[str, Evaluate]:
    """The source and the compiled function `evaluate(record) -> Result`."""
    denials, flags, awards = hooks.denials, hooks.flags, hooks.awards
    w = _Writer(checked, period)
    body: list[str] = []
    emit = body.append
    programs = checked.program_order
    for i, pid in enumerate(programs):
        cp = checked.programs[pid]
        var = w.program_var[pid]
        den = w.const(denials[i])
        emit(f"    # {i}: program")
        emit("    try:")
        branches: list[tuple[str, str]] = []
        k = 0
        for cond in cp.conditions:
            branches.append((f"not {w.expr(cond.expr)}", f"{den}[{k}]"))
            k += 1
        for ex in cp.exclusions:
            branches.append((w.expr(ex.expr), f"{den}[{k}]"))
            k += 1
        for rel in cp.program.not_with:
            other = w.program_var[rel.program]
            branches.append((f"{other} is _ERR", f"_undet({rel.program!r})"))
            branches.append((f"{other} is not None", f"{den}[{k}]"))
            k += 1
        keyword = "if"
        for test, outcome in branches:  # the program's variable is already None
            emit(f"        {keyword} {test}:")
            if outcome.startswith("_undet"):
                emit(f"            {outcome}")
            else:
                emit(f"            dn.append({outcome})" if reasons else "            pass")
            keyword = "elif"
        if isinstance(cp.amount, ir.Const):
            amount = w.const(Decimal(cp.amount.value))
        else:
            amount = w.expr(cp.amount)
            if cp.amount.type.kind != "money":
                amount = f"_D({amount})"
        if keyword == "if":
            emit("        if False:")
            emit("            pass")
        emit("        else:")
        emit(f"            _v = {amount}")
        emit("            if _v > 0:")
        emit(f"                {var} = _v")
        emit(f"                aw.append({w.const(awards[i])}.get(_v) or _award({i}, _v))")
        if cp.priority is not None:
            emit(f"                pr = pr or {{}}; pr[{pid!r}] = {w.expr(cp.priority)}")
        emit("            else:")
        emit(f"                zero = zero or []; zero.append(({i}, _v))")
        emit("    except (_Missing, _NoEntry) as _e:")
        emit(f"        {var} = _ERR")
        emit(f"        er = er or []; er.append(({i}, _e))")
    for j, cc in enumerate(checked.checks.values()):
        test = " and ".join(w.expr(c.expr) for c in cc.conditions) or "True"
        emit(f"    # check {j}")
        emit("    try:")
        emit(f"        if {test}:")
        emit(f"            fl.append({w.const(flags[j])})")
        emit("    except (_Missing, _NoEntry) as _e:")
        emit(f"        er = er or []; er.append(({len(programs) + j}, _e))")
    if reasons:
        for gid in checked.groups:
            emit("    try:")
            emit(f"        if {w.expr(ir.GroupRef(BOOL, gid, gid))}:")
            emit(f"            gr.append({gid!r})")
            emit("    except (_Missing, _NoEntry):")
            emit("        pass")
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
    # Groups and computed fields are None until first needed (a value is never None: a blank
    # fact a rule needs raises instead).
    lazy = [*w.group_var.values(), *w.computed_var.values()]
    if lazy:
        head.append("    " + " = ".join(lazy) + " = None")
    program_vars = list(w.program_var.values())
    if program_vars:
        head.append("    " + " = ".join(program_vars) + " = None")
    tail = [
        "    if er is not None or zero is not None:",
        "        return _finish(rec, row, aw, dn, fl, er, zero, pr, gr)",
        "    return _Result(row, rec.get('id_number') or '', rec.get('name') or '',",
        "                   rec, aw, dn or (), fl, (), pr, gr or ())",
    ]
    w.namespace.update(_award=hooks.award, _finish=hooks.finish, _Result=hooks.result)  # fmt: skip
    source = w.resolve_fields("\n".join([*head, *body, *tail, ""]), eager)
    code = compile(source, "<zizhu policy>", "exec")
    namespace = dict(w.namespace)
    exec(code, namespace)  # the engine's own generated source; no user text in it (see module doc)
    return source, namespace["evaluate"]


def _itemgetter(fields: list[str]):
    getter = itemgetter(*fields)
    if len(fields) == 1:
        return lambda rec: (getter(rec),)
    return getter


__all__ = ["Undetermined", "generate"]
