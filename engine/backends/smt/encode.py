"""Checked policy → SMT formulas over one symbolic student (z3): the proof back end.

Reads only the checked tree (:mod:`engine.check.ir`, :class:`CheckedPolicy`) and the runtime's
built-ins, never YAML. One :class:`Student` holds a z3 variable per input field; a
:class:`PolicyEncoding` states, for one semester, when each program is awarded and for how much,
when each check flags and when each table lookup finds no cell — the engine's one meaning (the
Python back end's), for a student whose every fact is present:

- enums are integers ranging over their values; bools are bools; integers keep the field's
  declared bounds; money and decimals are whole hundredths (exact, like the files hold them);
  dates are day numbers, and ``age(d, day)`` for a constant day is the step function of
  the runtime's ``age_on`` (Decision A1: a year completes the day after the birthday);
- every value is a :class:`Term`: the value and when it is unknown — the engine's one
  three-valued meaning (Kleene: ``false and unknown`` is false whatever the order). With every
  fact present, only a table lookup that finds no cell (an if-then-else chain over the cells) and
  what depends on it, or a program that could not be decided, are unknown;
- a program is awarded when ``when ∧ ¬any exclusion ∧ ¬any not_with program awarded`` is true and
  its amount is known and positive; it is a problem when that is unknown, or true with an unknown
  amount (quotas are not modelled).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

import z3

from engine.check import ir
from engine.check.builtins import period_values
from engine.check.checked import CheckedPolicy
from engine.check.tables import OTHER, fallback_position
from engine.policy.model import Period

MAX_AGE = 120  # dates range over the 120 years before the reference date
CENTS = 100


class Unsupported(Exception):
    """The policy uses something the proof back end cannot state exactly (said in Chinese)."""


@dataclass
class Student:
    """One symbolic student: a z3 variable per input field, and the range each may take."""

    checked: CheckedPolicy
    reference_date: dt.date
    prefix: str = ""
    vars: dict[str, Any] = field(default_factory=dict)
    domain: list[Any] = field(default_factory=list)
    # For enum fields: value id → integer, in the order of the field's values.
    enum_codes: dict[str, dict[str, int]] = field(default_factory=dict)
    infos: dict[str, Any] = field(default_factory=dict)  # field id → FieldInfo, of whichever version declared it

    def __post_init__(self) -> None:
        for fid, info in self.checked.fields.items():
            if info.field.compute is None:
                self.declare(fid, info)

    def declare(self, fid: str, info: Any) -> None:
        """A variable for field `fid` (also used for a field only an older version has)."""
        kind, name = info.type.kind, f"{self.prefix}{fid}"
        self.infos[fid] = info
        f = info.field
        if kind == "bool":
            var = z3.Bool(name)
        elif kind == "enum":
            codes = {v.id: i for i, v in enumerate(info.type.enum.values)}
            self.enum_codes[fid] = codes
            var = z3.Int(name)
            self.domain += [var >= 0, var < len(codes)]
        elif kind == "int":
            var = z3.Int(name)
            if f.minimum is not None:
                self.domain.append(var >= int(f.minimum))
            if f.maximum is not None:
                self.domain.append(var <= int(f.maximum))
        elif kind in ("money", "decimal"):
            cents = z3.Int(name)
            var = z3.ToReal(cents) / CENTS
            if kind == "money":
                self.domain.append(cents >= 0)  # the reader refuses negative money
            if f.minimum is not None:
                self.domain.append(var >= _real(f.minimum))
            if f.maximum is not None:
                self.domain.append(var <= _real(f.maximum))
            self.vars[fid + "#cents"] = cents
        elif kind == "date":
            var = z3.Int(name)
            self.domain += [var >= _years_before(self.reference_date, MAX_AGE).toordinal(),
                            var < self.reference_date.toordinal()]  # fmt: skip
        else:  # text
            var = z3.String(name)
            self.domain.append(z3.Length(var) > 0)  # every fact present: a blank is a row problem
            # …and as a file holds it: the reader strips spaces (a text of spaces is blank), and a
            # name must match a table row (fees by school) exactly as read.
            ends = (z3.SubString(var, 0, 1), z3.SubString(var, z3.Length(var) - 1, 1))
            self.domain += [end != z3.StringVal(space) for end in ends for space in _SPACES]
        self.vars[fid] = var

    def plain(self) -> list[tuple[Any, int]]:
        """(formula, weight) a counterexample should meet where it can, so it reads like a real pupil:
        every fact at what its blank means, and an age of a school child."""
        out: list[tuple[Any, int]] = []
        for fid, info in self.infos.items():
            kind, var = info.type.kind, self.vars[fid]
            if kind == "date":
                out.append((z3.And(var >= _years_before(self.reference_date, 19).toordinal(),
                                   var < _years_before(self.reference_date, 3).toordinal()), 5))  # fmt: skip
            elif info.blank is not None and kind == "bool":
                out.append((var == z3.BoolVal(info.blank), 1))
            elif info.blank is not None and kind == "enum":
                out.append((var == self.enum_codes[fid][info.blank], 1))
            elif info.blank is not None and kind in ("money", "decimal"):
                out.append((var == _real(info.blank), 1))
        return out

    def value(self, model: z3.ModelRef, fid: str) -> Any:
        """The typed value (as a Record holds it) the model gives field `fid`."""
        kind = self.infos[fid].type.kind
        if kind in ("money", "decimal"):
            cents = model.eval(self.vars[fid + "#cents"], model_completion=True).as_long()
            return Decimal(cents) / CENTS
        got = model.eval(self.vars[fid], model_completion=True)
        if kind == "bool":
            return z3.is_true(got)
        if kind == "enum":
            code = got.as_long()
            return next(v for v, c in self.enum_codes[fid].items() if c == code)
        if kind == "int":
            return got.as_long()
        if kind == "date":
            return dt.date.fromordinal(got.as_long())
        # z3 writes every character outside printable ASCII as \u{hex} (中 as \u{4e2d}): a school's name back.
        return _Z3_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), got.as_string())


_SPACES = (" ", "\t", "\n", "\r", "\u3000")
_Z3_ESCAPE = re.compile(r"\\u\{([0-9a-fA-F]{1,5})\}")


@dataclass
class LookupSite:
    """A table lookup in a rule, and when it finds no cell for keys that are known."""

    owner: str  # the program, check, group, computed field or property whose rule makes it
    expr: ir.TableLookup
    missing: Any


@dataclass(frozen=True)
class Term:
    """A value and when it is unknown (the three-valued meaning: a lookup that finds no cell, a
    program that could not be decided). Where `unknown` holds, `value` is arbitrary."""

    value: Any
    unknown: Any

    @property
    def true(self) -> Any:
        return self.value if self.unknown is KNOWN else z3.And(self.value, z3.Not(self.unknown))

    @property
    def false(self) -> Any:
        return z3.Not(self.value) if self.unknown is KNOWN else z3.And(z3.Not(self.value), z3.Not(self.unknown))


KNOWN = z3.BoolVal(False)


def known(value: Any) -> Term:
    return Term(value, KNOWN)


def kleene_and(terms: list[Term]) -> Term:
    """Any false → false; else any unknown → unknown; else true (order never matters)."""
    if all(t.unknown is KNOWN for t in terms):  # the common case: nothing here can be unknown
        return known(z3.And(*[t.value for t in terms]))
    is_true = z3.And(*[t.true for t in terms])
    is_false = z3.Or(*[t.false for t in terms])
    return Term(is_true, z3.And(z3.Not(is_true), z3.Not(is_false)))


def kleene_or(terms: list[Term]) -> Term:
    if all(t.unknown is KNOWN for t in terms):
        return known(z3.Or(*[t.value for t in terms]))
    is_true = z3.Or(*[t.true for t in terms])
    is_false = z3.And(*[t.false for t in terms])
    return Term(is_true, z3.And(z3.Not(is_true), z3.Not(is_false)))


def kleene_not(term: Term) -> Term:
    return Term(z3.Not(term.value), term.unknown)


@dataclass
class ProgramFormulas:
    conditions: list[Any]  # each condition of `when` (its value)
    exclusions: list[Any]  # each `unless` (its value)
    failed: Any  # a problem: not decided (a lookup with no cell, a program given way to undecided)
    reaches_amount: Any  # conditions true, no exclusion, no program given way to: the amount counts
    amount: Any
    awarded: Any


@dataclass
class CheckFormulas:
    conditions: list[Any]
    failed: Any
    flags: Any


class PolicyEncoding:
    """The formulas of one checked policy for one semester, over `student`."""

    def __init__(self, checked: CheckedPolicy, period: Period, student: Student) -> None:
        self.checked = checked
        self.period = period
        self.student = student
        self.period_values = period_values(period, checked.manifest)  # the one definition
        self.reference_date = self.period_values["reference_date"]
        self.sites: list[LookupSite] = []
        self._owner = ""
        self._computed: dict[str, Term] = {}
        self._groups: dict[str, list[Term]] = {}
        self.read_fields: set[str] = set()  # input fields some rule reads
        self.programs: dict[str, ProgramFormulas] = {}
        for pid in checked.program_order:
            self.programs[pid] = self._program(pid)
        self.checks = {cid: self._check(cid) for cid in checked.checks}

    def failed_of(self, owner: str) -> Any:
        """When the program or check `owner` is a problem; for any other owner, when anything is."""
        if owner in self.programs:
            return self.programs[owner].failed
        if owner in self.checks:
            return self.checks[owner].failed
        return z3.Or(*[p.failed for p in self.programs.values()], *[c.failed for c in self.checks.values()])

    # -- items ---------------------------------------------------------------------
    def _program(self, pid: str) -> ProgramFormulas:
        cp = self.checked.programs[pid]
        self._owner = pid
        conditions = [self.term(c.expr) for c in cp.conditions]
        exclusions = [self.term(x.expr) for x in cp.exclusions]
        given_way = [Term(self.programs[r.program].awarded, self.programs[r.program].failed)
                     for r in cp.program.not_with]  # fmt: skip
        decision = kleene_and(
            [kleene_and(conditions), kleene_not(kleene_or(exclusions)), kleene_not(kleene_or(given_way))]
        )
        amount = self.term(cp.amount)
        failed = KNOWN
        if _any([decision, amount]) is not KNOWN:
            failed = z3.Or(decision.unknown, z3.And(decision.true, amount.unknown))
        awarded = z3.And(decision.true, amount.value > 0)
        if amount.unknown is not KNOWN:
            awarded = z3.And(awarded, z3.Not(amount.unknown))
        return ProgramFormulas(
            [c.value for c in conditions], [x.value for x in exclusions], failed, decision.true, amount.value, awarded
        )

    def _check(self, cid: str) -> CheckFormulas:
        self._owner = cid
        conditions = [self.term(c.expr) for c in self.checked.checks[cid].conditions]
        together = kleene_and(conditions)
        return CheckFormulas([c.value for c in conditions], together.unknown, together.true)

    def group(self, gid: str) -> Any:
        return kleene_and(self._group(gid)).value

    def group_conditions(self, gid: str) -> list[Any]:
        """The value of each condition of a group's list."""
        return [t.value for t in self._group(gid)]

    def _group(self, gid: str) -> list[Term]:
        if gid not in self._groups:
            owner, self._owner = self._owner, gid
            self._groups[gid] = [self.term(c.expr) for c in self.checked.groups[gid]]
            self._owner = owner
        return self._groups[gid]

    def statement(self, expr: ir.Expr, owner: str) -> tuple[Any, Any]:
        """A property's condition and when it is unknown."""
        self._owner = owner
        term = self.term(expr)
        return term.value, term.unknown

    # -- expressions -------------------------------------------------------------
    def term(self, e: ir.Expr) -> Term:
        match e:
            case ir.Const(value=v):
                return known(self._const(e, v))
            case ir.ParamRef(value=v):
                return known(self._const(e, v))
            case ir.PeriodRef(attribute=a):
                return known(self._const(e, self.period_values[a]))
            case ir.FieldRef(field=f):
                self.read_fields.add(f)
                return known(self.student.vars[f])
            case ir.ComputedRef(field=f):
                if f not in self._computed:
                    owner, self._owner = self._owner, f
                    self._computed[f] = self.term(self.checked.computed[f])
                    self._owner = owner
                return self._computed[f]
            case ir.GroupRef(group=g):
                return kleene_and(self._group(g))
            case ir.TableLookup(table=t, keys=keys):
                return self._lookup(e, t, [self.term(k) for k in keys])
            case ir.RequireKnown(value=v, key=k, known=values, required=r):
                # engine.check.tables: a value outside the known ones is a problem where they are
                # required, unknown where that is unknown; a blank key is the lookup's to decide.
                key, required, inner = self.term(k), self.term(r), self.term(v)
                unlisted = z3.Not(z3.Or(*[key.value == z3.StringVal(x) for x in sorted(values)]))
                if key.unknown is not KNOWN:
                    unlisted = z3.And(z3.Not(key.unknown), unlisted)
                problem = z3.And(unlisted, z3.Not(required.false))
                return Term(inner.value, problem if inner.unknown is KNOWN else z3.Or(inner.unknown, problem))
            case ir.Awarded(program=p, want_amount=want_amount):
                program = self.programs[p]
                if want_amount:
                    return Term(z3.If(program.awarded, program.amount, z3.RealVal(0)), program.failed)
                return Term(program.awarded, program.failed)
            case ir.Function(name="age", args=(birth, day)):
                born = self.term(birth)
                return Term(self._age(born.value, day), born.unknown)
            case ir.Function(name=name, args=args):
                terms = [self.term(a) for a in args]
                best = terms[0].value
                for t in terms[1:]:
                    best = (
                        z3.If(t.value < best, t.value, best) if name == "min" else z3.If(t.value > best, t.value, best)
                    )
                return Term(best, _any(terms))
            case ir.Negate(operand=x):
                t = self.term(x)
                return Term(-t.value, t.unknown)
            case ir.Arithmetic(op=op, left=a, right=b):
                left, right = self.term(a), self.term(b)
                x, y = left.value, right.value
                value = (
                    x + y if op == "+" else x - y if op == "-" else x * y if op == "*" else _as_real(x) / _as_real(y)
                )
                return Term(value, _any([left, right]))
            case ir.Compare(op=op, left=a, right=b):
                left, right = self.term(a), self.term(b)
                return Term(_COMPARE[op](left.value, right.value), _any([left, right]))
            case ir.InList(item=x, options=opts, negated=negated):
                item = self.term(x)
                options = [self.term(o) for o in opts]
                member = z3.Or(*[item.value == o.value for o in options])
                return Term(z3.Not(member) if negated else member, _any([item, *options]))
            case ir.And(operands=xs):
                return kleene_and([self.term(x) for x in xs])
            case ir.Or(operands=xs):
                return kleene_or([self.term(x) for x in xs])
            case ir.Not(operand=x):
                return kleene_not(self.term(x))
            case ir.IfElse(condition=c, then=t, otherwise=o):
                cond, then, otherwise = self.term(c), self.term(t), self.term(o)
                unknown = KNOWN
                if _any([cond, then, otherwise]) is not KNOWN:
                    unknown = z3.Or(cond.unknown, z3.If(cond.value, then.unknown, otherwise.unknown))
                return Term(z3.If(cond.value, then.value, otherwise.value), unknown)
        raise Unsupported(f"证明引擎不支持表达式「{e.text}」")

    def _const(self, e: ir.Expr, value: Any) -> Any:
        kind = e.type.kind
        if kind == "bool":
            return z3.BoolVal(bool(value))
        if kind == "enum":
            return z3.IntVal(self._code(e, value))
        if kind == "int" and not isinstance(value, Decimal):
            return z3.IntVal(int(value))
        if kind in ("int", "decimal", "money"):
            return _real(value)
        if kind == "date":
            return z3.IntVal(value.toordinal())
        return z3.StringVal(str(value))

    def _code(self, e: ir.Expr, value: str) -> int:
        """An enum value's integer; an enum of a period attribute (season) is coded by its own order."""
        enum = e.type.enum
        assert enum is not None
        codes = self.student.enum_codes.get(enum.id)
        if codes is None:
            codes = {v.id: i for i, v in enumerate(enum.values)}
        return codes.get(value, -1)  # a value the student's version does not have: never equal

    def _lookup(self, e: ir.TableLookup, table: str, keys: list[Term]) -> Term:
        cells = self.checked.tables[table]
        key_types = [self.checked.fields[k].type for k in self.checked.policy.tables[table].keys]
        value: Any = z3.RealVal(0)  # arbitrary: the lookup is unknown there
        found = []
        # A fallback row (engine.check.tables) matches on the other keys; the exact rows are
        # tested before it (outermost in the chain), so an exact row always wins.
        position = fallback_position(self.checked.policy.tables[table])
        fallback_first = sorted(cells.items(), key=lambda cell: position is None or cell[0][position] is not OTHER)
        for cell_keys, amount in fallback_first:
            tests = [k.value == self._const(ir.Const(t, "", None), c)
                     for k, t, c in zip(keys, key_types, cell_keys, strict=True) if c is not OTHER]  # fmt: skip
            match = z3.And(*tests) if tests else z3.BoolVal(True)
            value = z3.If(match, _real(amount), value)
            found.append(match)
        keys_unknown = _any(keys)
        missing = (
            z3.Not(z3.Or(*found)) if keys_unknown is KNOWN else z3.And(z3.Not(keys_unknown), z3.Not(z3.Or(*found)))
        )
        self.sites.append(LookupSite(self._owner, e, missing))
        return Term(value, z3.Or(keys_unknown, missing))

    def _age(self, birth: Any, day: ir.Expr) -> Any:
        if not isinstance(day, (ir.PeriodRef, ir.Const)) or (isinstance(day, ir.PeriodRef) and
                                                              day.attribute != "reference_date"):  # fmt: skip
            raise Unsupported(f"证明引擎只能计算到固定日期的周岁（如学期基准日），「{day.text}」不是固定日期")
        on = self.reference_date if isinstance(day, ir.PeriodRef) else day.value
        # age_on(b, on) = k exactly when the birth day is on or after `on` k+1 years back and before
        # `on` k years back (A1): a step function of the day number.
        age: Any = z3.IntVal(MAX_AGE)
        for years in range(MAX_AGE, 0, -1):
            start = _years_before(on, years).toordinal()
            age = z3.If(birth >= start, z3.IntVal(years - 1), age)
        return age


_COMPARE = {
    "==": lambda x, y: x == y,
    "!=": lambda x, y: x != y,
    "<": lambda x, y: x < y,
    "<=": lambda x, y: x <= y,
    ">": lambda x, y: x > y,
    ">=": lambda x, y: x >= y,
}


def _any(terms: list[Term]) -> Any:
    unknown = [t.unknown for t in terms if t.unknown is not KNOWN]
    return z3.Or(*unknown) if unknown else KNOWN


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


def _real(value: Any) -> Any:
    return z3.RealVal(str(Fraction(str(value))))  # exact: 312.5 → 625/2, never through float


def _as_real(x: Any) -> Any:
    return z3.ToReal(x) if z3.is_int(x) else x


__all__ = ["CheckFormulas", "LookupSite", "PolicyEncoding", "ProgramFormulas", "Student", "Unsupported"]
