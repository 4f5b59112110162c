"""The checked tree (:mod:`engine.check.ir`) → SQL, in DuckDB's dialect (sqlglot translates it for Spark).

SQL's NULL is the language's *unknown*, and its three-valued ``AND``/``OR``/``NOT``, comparisons,
``IN`` and arithmetic are the language's one meaning for blanks. Where SQL differs, the generated
text says so itself:

- ``min``/``max``: ``least``/``greatest`` skip NULLs; here any unknown argument gives unknown;
- ``if … then … else``: ``CASE WHEN c`` takes the ``ELSE`` branch for a NULL condition; here an
  unknown condition gives unknown;
- money and decimals are ``DECIMAL(38,10)``, never floating point; division (which SQL engines
  turn into a double) is not compiled: such a policy runs on the Python back end.

A program is a pair of columns, in dependency order: ``aw_i`` (TRUE awarded, FALSE not, NULL could
not be decided) and ``amt_i`` (the amount when awarded); a check is ``fl_i``. Asked for its reasons
(``compile_policy(…, reasons=True)``), a program also has ``why_i``: the number of the reason it is
not awarded, as :class:`~engine.check.checked.Parts` numbers them — the first of its conditions,
exclusions and relations, in the checked tree's canonical order, that decides against it, else a
zero amount — NULL when awarded or undecided (the per-record evaluator words the number:
``Evaluator.settled_result``). Only when asked: the JSONL path does not pay for it. Table lookups are
``CASE`` over the table's cells (a missing cell is NULL; a fallback row comes after the exact rows,
as :mod:`engine.check.tables` says). Every name in the SQL is the generator's
own (``f3``, ``aw2``); the policy's values appear only as escaped literals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.backends.sql.literals import DECIMAL_SQL, sql_value
from engine.check import ir
from engine.check.checked import CheckedPolicy, CheckedProgram
from engine.check.tables import OTHER, fallback_tables


class Unsupported(Exception):
    """The policy uses something this back end does not compile (the message says what)."""


@dataclass
class Compiled:
    """The SQL for one policy and semester over a table of typed fields."""

    programs: list[str]  # program ids, in the order of aw0, aw1 …
    checks: list[str]  # check ids, in the order of fl0, fl1 …
    query: str  # SELECT row, <field columns>, aw_i, amt_i, [why_i,] fl_j FROM <source>
    reasons: bool = False  # whether the query has why_i


class SqlWriter:
    def __init__(self, checked: CheckedPolicy, period: dict[str, Any], field_column: dict[str, str]) -> None:
        self.checked = checked
        self.period = period
        self.field_column = field_column
        self.program_index = {pid: i for i, pid in enumerate(checked.program_order)}
        self.columns: dict[tuple[str, str], str] = {}  # groups and computed fields already a column
        self.fallbacks = fallback_tables(checked.policy, checked.tables)  # once, not at each lookup

    def shared_layers(self) -> list[list[tuple[str, str]]]:
        """Groups and computed fields as columns, computed once per row rather than at each use:
        (column, SQL) per layer, each layer reading only earlier ones. Those reading a program's
        outcome stay inline (they must follow the program)."""
        items = [("computed", c) for c in self.checked.computed] + [("group", g) for g in self.checked.groups]
        level: dict[tuple[str, str], int] = {}

        def depth(item: tuple[str, str]) -> int:
            if item not in level:
                level[item] = 0  # no cycles: the checker refused them
                reads = self.checked.depends.get(item, set())
                level[item] = 1 + max((depth(r) for r in reads if r[0] in ("group", "computed")), default=-1)
            return level[item]

        shared = [i for i in items if not any(kind == "program" for kind, _ in self.checked.reads(i))]
        layers: list[list[tuple[str, str]]] = []
        for n in range(max((depth(i) for i in shared), default=-1) + 1):
            members = [i for i in shared if depth(i) == n]
            layer = [(f"s{len(self.columns) + k}", self._shared(item)) for k, item in enumerate(members)]
            self.columns.update({item: name for item, (name, _) in zip(members, layer, strict=True)})
            layers.append(layer)
        return layers

    def _shared(self, item: tuple[str, str]) -> str:
        kind, name = item
        if kind == "group":
            return self.all_of([c.expr for c in self.checked.groups[name]])
        return self.expr(self.checked.computed[name])

    def expr(self, e: ir.Expr) -> str:
        match e:
            case ir.Const(value=v) | ir.ParamRef(value=v):
                return sql_value(v, e.type.kind)
            case ir.PeriodRef(attribute=a):
                return sql_value(self.period[a], e.type.kind)
            case ir.FieldRef(field=f):
                if f not in self.field_column:
                    return sql_value(None, e.type.kind)  # a field the file does not have: blank
                return self.field_column[f]
            case ir.ComputedRef(field=f):
                return self.columns.get(("computed", f)) or self.expr(self.checked.computed[f])
            case ir.GroupRef(group=g):
                return self.columns.get(("group", g)) or self.all_of([c.expr for c in self.checked.groups[g]])
            case ir.TableLookup(table=t, keys=keys):
                return self.lookup(t, keys)
            case ir.RequireKnown(value=v, key=k, known=known, required=r):
                # engine.check.tables: a value outside the known ones where required (or where that
                # is unknown) is NULL, so the row goes to the per-record engine, which says why.
                key, listed = self.expr(k), ", ".join(sql_value(x, "text") for x in sorted(known))
                unlisted = f"{key} IS NOT NULL AND {key} NOT IN ({listed})"
                return f"(CASE WHEN {unlisted} AND coalesce({self.expr(r)}, TRUE) THEN NULL ELSE {self.expr(v)} END)"
            case ir.Awarded(program=p, want_amount=amount):
                i = self.program_index[p]
                if amount:
                    zero = sql_value(0, "money")
                    return f"(CASE WHEN aw{i} IS NULL THEN NULL WHEN aw{i} THEN amt{i} ELSE {zero} END)"
                return f"aw{i}"
            case ir.Function(name="age", args=(birth, day)):
                # 周岁 (engine.runtime.facts.age_on): a year is complete from the day after the birthday.
                b, d = self.expr(birth), self.expr(day)
                day_of = f"month({d}) * 100 + day({d})"
                birthday = f"month({b}) * 100 + day({b})"
                return f"(year({d}) - year({b}) - CASE WHEN {day_of} <= {birthday} THEN 1 ELSE 0 END)"
            case ir.Function(name=name, args=args) if name in ("min", "max"):
                parts = [self.expr(a) for a in args]
                any_null = " OR ".join(f"{p} IS NULL" for p in parts)
                best = "least" if name == "min" else "greatest"
                return f"(CASE WHEN {any_null} THEN NULL ELSE {best}({', '.join(parts)}) END)"
            case ir.Negate(operand=x):
                return f"(-{self.expr(x)})"
            case ir.Arithmetic(op=op, left=a, right=b):
                if op == "/":
                    raise Unsupported(f"除法（{e.text}）：SQL 引擎会把小数除法算成浮点数")
                return f"({self.expr(a)} {op} {self.expr(b)})"
            case ir.Compare(op=op, left=a, right=b):
                sql_op = {"==": "=", "!=": "<>"}.get(op, op)
                return f"({self.expr(a)} {sql_op} {self.expr(b)})"
            case ir.InList(item=x, options=opts, negated=neg):
                word = "NOT IN" if neg else "IN"
                return f"({self.expr(x)} {word} ({', '.join(self.expr(o) for o in opts)}))"
            case ir.And(operands=xs):
                return self.all_of(list(xs))
            case ir.Or(operands=xs):
                return "(" + " OR ".join(self.expr(x) for x in xs) + ")"
            case ir.Not(operand=x):
                return f"(NOT {self.expr(x)})"
            case ir.IfElse(condition=c, then=t, otherwise=o):
                cond = self.expr(c)
                return f"(CASE WHEN {cond} IS NULL THEN NULL WHEN {cond} THEN {self.expr(t)} ELSE {self.expr(o)} END)"
        raise Unsupported(f"表达式「{e.text}」")

    def against(self, cp: CheckedProgram) -> list[str]:
        """Each part of a program, in canonical order (:class:`~engine.check.checked.Parts`), as SQL
        TRUE when it decides against the program: a condition false, an exclusion true, the program
        given way to awarded."""
        parts = cp.parts
        out = [f"(NOT {self.expr(c.expr)})" for c in parts.conditions]
        out += [self.expr(x.expr) for x in parts.exclusions]
        out += [f"aw{self.program_index[r.program]}" for r in parts.relations]
        return out

    def all_of(self, exprs: list[ir.Expr]) -> str:
        return "(" + " AND ".join(self.expr(x) for x in exprs) + ")" if exprs else "TRUE"

    def lookup(self, table_id: str, keys: tuple[ir.Expr, ...]) -> str:
        table = self.checked.policy.tables[table_id]
        key_kinds = [self.checked.fields[k].type.kind for k in table.keys]
        key_sql = [self.expr(k) for k in keys]
        value_kind = "money"
        branches = []
        cells = self.checked.tables[table_id]
        fallback = self.fallbacks.get(table_id)
        position = fallback.position if fallback is not None else None

        def matches(values: tuple[Any, ...], skip: int | None = None) -> str:
            pairs = enumerate(zip(key_sql, values, key_kinds, strict=True))
            tests = [f"{k} = {sql_value(v, kind)}" for i, (k, v, kind) in pairs if i != skip]
            return " AND ".join(tests) or "TRUE"

        for cell_keys, value in cells.items():
            if position is None or cell_keys[position] is not OTHER:
                branches.append(f"WHEN {matches(cell_keys)} THEN {sql_value(value, value_kind)}")
        if fallback is not None and position is not None:  # engine.check.tables: exact rows, then fallback
            blank = f"{key_sql[position]} IS NULL"
            for others in sorted(fallback.listed, key=repr):  # which row applies depends on the blank
                listed = (*others[:position], None, *others[position:])
                branches.append(f"WHEN {matches(listed, position)} AND {blank} THEN NULL")
            for cell_keys, value in cells.items():
                if cell_keys[position] is OTHER:
                    branches.append(f"WHEN {matches(cell_keys, position)} THEN {sql_value(value, value_kind)}")
        if not branches:
            return sql_value(None, value_kind)
        return "(CASE " + " ".join(branches) + " END)"


def program_levels(checked: CheckedPolicy) -> list[list[str]]:
    """The programs in layers, each (in program order) reading only the outcomes of earlier layers'
    programs: through `awarded(…)` in its rules, or a `not_with` relation."""
    level: dict[str, int] = {}

    def depth(pid: str) -> int:
        if pid not in level:
            level[pid] = 0  # no cycles: the checker refused them
            # (a not_with relation is among what a program reads: engine.check.relations records it)
            read = {p for kind, p in checked.reads(("program", pid)) if kind == "program"}
            level[pid] = 1 + max((depth(p) for p in read), default=-1)
        return level[pid]

    order = checked.program_order
    return [[p for p in order if depth(p) == n] for n in range(max((depth(p) for p in order), default=-1) + 1)]


def compile_policy(
    checked: CheckedPolicy, period: dict[str, Any], field_column: dict[str, str], source: str, reasons: bool = False
) -> Compiled:
    """One SELECT adding, over `source`, a column per program (awarded, amount; with `reasons`, why
    not awarded) and per check."""
    w = SqlWriter(checked, period, field_column)
    layers = [f"SELECT * FROM {source}"]
    for shared in w.shared_layers():
        columns = "".join(f", {sql} AS {name}" for name, sql in shared)
        layers.append(f"SELECT *{columns} FROM ({layers[-1]})")
    # Programs reading no other program's outcome are one layer (two projections: whether the rules
    # hold and the amount, then awarded and the amount awarded); those reading them the next, and so on.
    for level in program_levels(checked):
        raw, awarded = [], []
        for pid in level:
            i, cp = w.program_index[pid], checked.programs[pid]
            parts = [w.expr(c.expr) for c in cp.conditions]
            parts += [f"(NOT {w.expr(x.expr)})" for x in cp.exclusions]
            parts += [f"(NOT aw{w.program_index[r.program]})" for r in cp.program.not_with]
            holds = "(" + " AND ".join(parts) + ")" if parts else "TRUE"  # the `and` of them: any order
            raw.append(f"{holds} AS holds{i}, CAST({w.expr(cp.amount)} AS {DECIMAL_SQL}) AS raw{i}")
            # Awarded iff the conditions hold and the amount is above zero (a zero amount is no award).
            awarded.append(f"CASE WHEN holds{i} IS NULL THEN NULL WHEN NOT holds{i} THEN FALSE "
                           f"WHEN raw{i} IS NULL THEN NULL ELSE raw{i} > 0 END AS aw{i}, "
                           f"CASE WHEN holds{i} AND raw{i} > 0 THEN raw{i} END AS amt{i}")  # fmt: skip
            if reasons:
                # The first part, in canonical order, that decides against the program (a NULL one is
                # passed over, as the evaluator does), else exactly 0 to pay; NULL when neither.
                cases = "".join(f"WHEN {a} THEN {k} " for k, a in enumerate(w.against(cp)))
                zero = cp.parts.zero_amount
                awarded.append(f"CASE {cases}WHEN holds{i} AND raw{i} = 0 THEN {zero} END AS why{i}")
        layers.append(f"SELECT *, {', '.join(raw)} FROM ({layers[-1]})")
        layers.append(f"SELECT *, {', '.join(awarded)} FROM ({layers[-1]})")
    checks = list(checked.checks)
    flags = [f"{w.all_of([c.expr for c in checked.checks[cid].conditions])} AS fl{j}" for j, cid in enumerate(checks)]
    query = f"SELECT *{''.join(', ' + f for f in flags)} FROM ({layers[-1]})"
    return Compiled(list(checked.program_order), checks, query, reasons)
