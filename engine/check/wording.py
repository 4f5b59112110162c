"""Checked expressions → Chinese sentences an auditor reads, not expression syntax.

`学段 in ["小学", "初中"]` reads 学段为小学或初中; `period.season == "autumn"` reads 本学期为秋季学期;
`县内受助对象 and not 复读` reads 属于「县内受助对象」，且复读为否. Parentheses are kept only where they
change the meaning (an `or` inside an `and`). Every name is shown by its Chinese label, every value
as a person writes it (是/否, an option's label, money with two decimals).
"""

from __future__ import annotations

from engine.check import ir
from engine.check.checked import CheckedPolicy
from engine.check.types import display

_COMPARE = {"==": "为", "!=": "不是", "<": "小于", "<=": "不大于", ">": "大于", ">=": "不小于"}
_ARITHMETIC = {"+": "＋", "-": "－", "*": "×", "/": "÷"}
_PERIOD = {"season": "本学期", "year": "学期所在年份", "school_year": "学年", "reference_date": "基准日"}
_SEASON_WORDS = {"autumn": "秋季学期", "spring": "春季学期", "秋季": "秋季学期", "春季": "春季学期"}

# How tightly each kind of node binds: a looser node inside a tighter one is put in （）.
_OR, _AND, _NOT, _ATOM = 1, 2, 3, 4


def sentence(expr: ir.Expr, checked: CheckedPolicy) -> str:
    """The expression as one Chinese sentence."""
    return _Wording(checked).say(expr)


class _Wording:
    def __init__(self, checked: CheckedPolicy) -> None:
        self.checked = checked

    def say(self, e: ir.Expr, context: int = _OR) -> str:
        text, binding = self._node(e)
        return f"（{text}）" if binding < context else text

    def _node(self, e: ir.Expr) -> tuple[str, int]:
        match e:
            case ir.And(operands=xs):
                return "，且".join(self.say(x, _AND + 1) for x in xs), _AND
            case ir.Or(operands=xs):
                # An `and` inside an `or` is bracketed too: "A，或B，且C" would leave the reader guessing.
                return "，或".join(self.say(x, _AND + 1) for x in xs), _OR
            case ir.Not(operand=ir.FieldRef() as f) if f.type.kind == "bool":
                return f"{self.name(f)}为否", _ATOM
            case ir.Not(operand=ir.GroupRef(group=g)):
                return f"不属于「{self.checked.policy.groups[g].label}」", _ATOM
            case ir.Not(operand=ir.Awarded(program=p, want_amount=False)):
                return f"未享受「{self.checked.policy.programs[p].label}」", _ATOM
            case ir.Not(operand=x):
                return f"并非{self.say(x, _ATOM)}", _NOT
            case ir.FieldRef() | ir.ComputedRef() if e.type.kind == "bool":
                return f"{self.name(e)}为是", _ATOM
            case ir.GroupRef(group=g):
                return f"属于「{self.checked.policy.groups[g].label}」", _ATOM
            case ir.Awarded(program=p, want_amount=False):
                return f"享受「{self.checked.policy.programs[p].label}」", _ATOM
            case ir.Compare(op=op, left=ir.PeriodRef(attribute="season"), right=ir.Const(value=v)):
                word = _SEASON_WORDS.get(str(v), str(v))
                return (f"本学期为{word}" if op == "==" else f"本学期不是{word}"), _ATOM
            case ir.Compare(op=op, left=a, right=b):
                return f"{self.value(a)}{_COMPARE[op]}{_spaced(self.value(b, a))}", _ATOM
            case ir.InList(item=x, options=opts, negated=negated):
                shown = [self.value(o, x) for o in opts]
                if negated:
                    return f"{self.value(x)}不是{'、'.join(shown)}中的任何一项", _ATOM
                return f"{self.value(x)}为{'或'.join(shown)}", _ATOM
            case ir.Const(value=bool() as v):
                return ("总是成立" if v else "从不成立"), _ATOM
            case ir.IfElse(condition=c, then=t, otherwise=o):
                return f"若{self.say(c)}，则{_spaced(self.say(t))}，否则{_spaced(self.say(o))}", _OR
        return self.value(e), _ATOM

    def name(self, e: ir.Expr) -> str:
        """A fact's Chinese name."""
        match e:
            case ir.FieldRef(field=f) | ir.ComputedRef(field=f):
                return self.checked.fields[f].field.label
        return self.value(e)

    def value(self, e: ir.Expr, beside: ir.Expr | None = None) -> str:
        """A value or a computed quantity; `beside` is what it is compared with (for enum labels)."""
        match e:
            case ir.Const(value=v):
                return display(v, beside.type if beside is not None and e.type.kind != "money" else e.type)
            case ir.FieldRef() | ir.ComputedRef():
                return self.name(e)
            case ir.ParamRef(param=p, value=v):
                return f"{self.checked.policy.parameters[p].label}（{display(v, e.type)}）"
            case ir.PeriodRef(attribute=a):
                return _PERIOD.get(a, a)
            case ir.RequireKnown(value=v):  # the lookup it guards, as written
                return self.value(v, beside)
            case ir.TableLookup(table=t, keys=keys):
                table = self.checked.policy.tables[t]
                return f"「{table.label}」中{'、'.join(self.value(k) for k in keys)}对应的标准"
            case ir.Awarded(program=p, want_amount=True):
                return f"「{self.checked.policy.programs[p].label}」的金额"
            case ir.Function(name="age", args=(birth, day)):
                return f"{self.value(birth)}到{self.value(day)}的周岁年龄"
            case ir.Function(name="min", args=args):
                return "、".join(self.value(a) for a in args) + "中较小者"
            case ir.Function(name="max", args=args):
                return "、".join(self.value(a) for a in args) + "中较大者"
            case ir.Negate(operand=x):
                return f"－{self.value(x)}"
            case ir.Arithmetic(op=op, left=a, right=b):
                return f"{self.value(a)} {_ARITHMETIC[op]} {self.value(b)}"
            case ir.IfElse():
                return f"（{self.say(e)}）"
        return self.say(e)


def _spaced(text: str) -> str:
    """A number set off from the Chinese around it (大于 0, not 大于0), as printed documents do."""
    return f" {text}" if text[:1].isdigit() or text[:1] == "-" else text
