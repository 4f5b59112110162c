"""The JSON Schema (draft 2020-12) of a policy file, and validation with located errors.

One schema serves every YAML file of a policy folder: a file holds any of the
sections (``policy``, ``parameters``, ``fields``, ``tables``, ``groups``,
``programs``, ``checks``, ``properties``). ``zizhu schema`` writes it out for editors.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema._utils import equal as _json_equal  # enum/const equality: 1 is not true
from jsonschema.exceptions import ValidationError, best_match

from engine.diagnostics import Diagnostic, Location, suggest
from engine.policy.model import CITE_STYLES, PERIOD_PATTERN
from engine.policy.yamlsource import SourceDocument
from engine.vocabulary import CHECK_CATEGORY_WORDS, ROLE_WORDS, SECTION_WORDS

SCHEMA_ID = "https://zizhu.invalid/schema/policy-file.json"

_ID = {"type": "string", "pattern": "^[a-z][a-z0-9_]*$", "description": "英文小写标识（snake_case）"}
_LABEL = {"type": "string", "minLength": 1, "description": "中文名称"}
# The clause a rule encodes. How clauses are numbered depends on the document (一(二)2(2) in the
# 2021 plan, 第三条第（二）款 in a regulation): the manifest's source says which style, and
# versions.check_citations checks every cite of a version against its own document's style.
_CITE = {"type": "string", "minLength": 1, "description": "文件条款编号，如 一(二)2(2) 或 第三条第（二）款"}
_TEXT = {"type": "string", "minLength": 1, "description": "方案原文"}
_DECISION = {"type": "string", "pattern": "^[A-Z][A-Z0-9]*[a-z]?$", "description": "解读中的决定编号，如 A1"}
_NOTE = {"type": "string"}
_EXPR = {"type": "string", "minLength": 1, "description": "表达式"}
_SCALAR = {"type": ["string", "number", "boolean", "null"]}
_PERIOD = {"type": "string", "pattern": PERIOD_PATTERN, "description": "学期，如 2021秋季、2022春季 或 2021-autumn"}
_MONTH_DAY = {"type": "string", "pattern": "^[0-9]{2}-[0-9]{2}$", "description": "月-日，如 09-01"}

_CITED = {"cite": _CITE, "text": _TEXT, "decision": _DECISION, "note": _NOTE}

_CONDITION = {
    "oneOf": [
        _EXPR,
        {
            "type": "object",
            "required": ["if"],
            "additionalProperties": False,
            "properties": {"if": _EXPR, "label": _LABEL, **_CITED},
        },
    ]
}

_FIELD = {
    "type": "object",
    "required": ["id", "label", "type"],
    "additionalProperties": False,
    "properties": {
        "id": _ID,
        "label": _LABEL,
        "type": {"enum": ["bool", "int", "decimal", "money", "date", "text", "enum"]},
        "values": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["id", "label"],
                "additionalProperties": False,
                "properties": {"id": _ID, "label": _LABEL, "aliases": {"type": "array", "items": _LABEL}},
            },
        },
        "aliases": {"type": "array", "items": _LABEL, "description": "其他可接受的列标题"},
        "required": {"type": "boolean"},
        "unique": {"type": "boolean"},
        "blank": {**_SCALAR, "description": "空白时取的值；不写则空白表示缺少该信息"},
        "absent": {**_SCALAR, "description": "文件整列缺少时每人取的值；不写则缺少这一列是错误"},
        "format": {"enum": ["resident_id"]},
        "role": {"enum": list(ROLE_WORDS), "description": "引擎据此认出的字段：身份证号、姓名、学校、乡镇、学段、年级"},
        "from_id": _ID,
        "min": {"type": "number"},
        "max": {"type": "number"},
        "compute": _EXPR,
        "description": {"type": "string"},
        "known": {
            # The values a text field may take (a county's schools): aliases are read as their value
            # everywhere; where `required_when` holds, a value outside the list is a problem on the
            # row (`unknown-value`) wherever a table is looked up by it — never a fallback row.
            "type": "object",
            "required": ["values"],
            "additionalProperties": False,
            "properties": {
                "values": {"type": "array", "minItems": 1, "items": _LABEL, "description": "列出的值（全称）"},
                "aliases": {
                    "type": "object",
                    "patternProperties": {".": _LABEL},
                    "description": "简称: 全称，如 {中阳二中: 中阳县第二中学}；简称按全称读",
                },
                "required_when": {**_EXPR, "description": "此条件成立时，值必须是列出的值之一（如 县内学校）"},
                "note": _NOTE,
            },
            "description": "文字字段的已知取值（如县内学校名单）、简称，以及何时必须是名单中的值",
        },
        **_CITED,
    },
    "allOf": [
        {"if": {"properties": {"type": {"const": "enum"}}}, "then": {"required": ["values"]}},
        {"if": {"properties": {"type": {"not": {"const": "enum"}}}}, "then": {"not": {"required": ["values"]}}},
    ],
}

_PARAMETER = {
    "type": "object",
    "required": ["id", "label", "type", "value", "cite", "text"],
    "additionalProperties": False,
    "properties": {
        "id": _ID,
        "label": _LABEL,
        "type": {"enum": ["bool", "int", "decimal", "money", "date", "text"]},
        "value": _SCALAR,
        **_CITED,
    },
}

_TABLE = {
    "type": "object",
    "required": ["id", "label", "keys", "rows", "cite", "text"],
    "additionalProperties": False,
    "properties": {
        "id": _ID,
        "label": _LABEL,
        "keys": {"type": "array", "minItems": 1, "items": _ID, "description": "按哪些字段查表"},
        "value": {"enum": ["money", "int", "decimal"]},
        "sample": {"type": "boolean", "description": "示例数据，须由主管部门替换"},
        "fallback": {
            # One key (the checker says so when there are more): keywords the compiled check knows.
            "type": "object",
            "minProperties": 1,
            "patternProperties": {"^[a-z][a-z0-9_]*$": {"type": "string", "minLength": 1}},
            "additionalProperties": False,
            "description": "兜底行：某一查表字段写这个词的行，适用于表中未列出的其他值，如 {school: 其他学校}",
        },
        "rows": {"type": "object", "minProperties": 1},
        **_CITED,
    },
}

_GROUP = {
    "type": "object",
    "required": ["id", "label", "when", "cite", "text"],
    "additionalProperties": False,
    "properties": {
        "id": _ID,
        "label": _LABEL,
        "rule": {"type": "string", "pattern": "^[A-Z][A-Z0-9]*[a-z]?$", "description": "解读中的规则编号，如 W1"},
        "when": {"oneOf": [_EXPR, {"type": "array", "minItems": 1, "items": _CONDITION}]},
        **_CITED,
    },
}

_EXCLUSION = {
    "type": "object",
    "required": ["id", "if", "reason", "cite", "text"],
    "additionalProperties": False,
    "properties": {"id": _ID, "if": _EXPR, "reason": _LABEL, **_CITED},
}

_PROGRAM = {
    "type": "object",
    "required": ["id", "label", "kind", "per", "cite", "text", "when", "amount"],
    "additionalProperties": False,
    "properties": {
        "id": _ID,
        "label": _LABEL,
        "kind": {"enum": ["grant", "waiver", "loan"]},
        "per": {"enum": ["semester", "year", "once"]},
        # Who disburses it: the bureau's payment list (default), or a bank (loans), whose payments
        # are not on that list — reconcile leaves such programs out unless asked for them.
        "paid_by": {
            "enum": ["bureau", "bank"],
            "description": "发放方：bureau（教育局发放名单，默认）或 bank（银行发放，不在发放名单上）",
        },
        "when": {"type": "array", "minItems": 1, "items": _CONDITION},
        "unless": {"type": "array", "items": _EXCLUSION},
        "amount": {"oneOf": [_EXPR, {"type": "number"}]},
        "not_with": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["program", "cite", "text"],
                "additionalProperties": False,
                "properties": {"program": _ID, **_CITED},
            },
        },
        "priority": {"oneOf": [_EXPR, {"type": "integer"}]},
        "quota": {
            "type": ["object", "null"],
            "additionalProperties": False,
            "properties": {
                "count": {"type": ["integer", "null"], "minimum": 0},
                "budget": {"type": ["number", "null"], "minimum": 0},
            },
        },
        **_CITED,
    },
}

_CHECK = {
    "type": "object",
    "required": ["id", "label", "when", "cite", "text", "message"],
    "additionalProperties": False,
    "properties": {
        "id": _ID,
        "label": _LABEL,
        "when": {"type": "array", "minItems": 1, "items": _CONDITION},
        "message": _LABEL,
        "category": {
            "enum": list(CHECK_CATEGORY_WORDS),
            "description": "核查类别：attendance 控辍保学（默认）、outreach 跟进告知、consistency 数据核对",
        },
        **_CITED,
    },
}

_PROPERTY = {
    "type": "object",
    "required": ["id", "label", "expect", "cite", "text"],
    "additionalProperties": False,
    "properties": {
        "id": _ID,
        "label": _LABEL,
        "for": {**_EXPR, "description": "对哪些学生成立（不写则对所有学生）"},
        "expect": {**_EXPR, "description": "对这些学生必然成立的条件，如 awarded(day_subsidy)"},
        **_CITED,
    },
}

_MANIFEST = {
    "type": "object",
    "required": ["id", "version", "title", "effective"],
    # A version that extends another inherits what it does not say; a first version says it all.
    "if": {"not": {"required": ["extends"]}},
    "then": {"required": ["source", "semesters", "currency", "rounding"]},
    "additionalProperties": False,
    "properties": {
        "extends": {"type": "string", "description": "所继承的上一版本政策文件夹，如 ../2021"},
        "id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]*$"},
        "version": {"type": ["string", "integer"]},
        "title": _LABEL,
        "source": {
            "type": "object",
            "required": ["issuer", "number", "title", "date"],
            "additionalProperties": False,
            "properties": {
                "issuer": _LABEL,
                "number": _LABEL,
                "title": _LABEL,
                "date": {"type": "string", "format": "date"},
                "file": {"type": "string"},
                "cite_style": {
                    "enum": list(CITE_STYLES),
                    "description": "本文件条款编号的写法：方案条目 如 一(二)2(2)；条款 如 第三条第（二）款",
                },
                "cite_pattern": {"type": "string", "description": "其他写法：条款编号的正则表达式（由技术人员填写）"},
            },
        },
        "effective": {
            "type": "object",
            "required": ["from"],
            "additionalProperties": False,
            "properties": {"from": _PERIOD, "until": {"oneOf": [_PERIOD, {"type": "null"}]}},
        },
        "semesters": {
            "type": "object",
            "required": ["autumn", "spring"],
            "additionalProperties": False,
            "properties": {
                season: {
                    "type": "object",
                    "required": ["label", "reference_date"],
                    "additionalProperties": False,
                    "properties": {"label": _LABEL, "reference_date": _MONTH_DAY, **_CITED},
                }
                for season in ("autumn", "spring")
            },
        },
        "currency": {"const": "CNY"},
        "rounding": {
            "enum": ["half_up", "half_even", "down"],
            "description": "金额算到分的舍入方式，每个金额在算出时舍入一次："
            "half_up 四舍五入，half_even 银行家舍入，down 舍去",
        },
        "note": _NOTE,
        "illustration": {
            "type": "boolean",
            "description": "true：示例版本，不是县里发布的文件（报表和解释的标题会注明）",
        },
        "decisions": {
            "type": "object",
            "patternProperties": {_DECISION["pattern"]: {"type": "string", "minLength": 1}},
            "additionalProperties": False,
            "description": "解读中每个决定的一句话说明（如 A1: 年龄按基准日的周岁计算…），解释时与用到它的规则一起显示",
        },
    },
}

_ITEMS = {
    "parameters": _PARAMETER,
    "fields": _FIELD,
    "tables": _TABLE,
    "groups": _GROUP,
    "programs": _PROGRAM,
    "checks": _CHECK,
    "properties": _PROPERTY,
}


def _partial(item: dict[str, Any]) -> dict[str, Any]:
    """An override names the item by id and gives only what changes."""
    partial = {k: v for k, v in item.items() if k not in ("required", "allOf")}
    if "known" in partial.get("properties", {}):
        # A field's known values merge key by key too: an override adding one short form need not
        # copy the whole list (values, when written, replace it; the merged field still needs one).
        properties = dict(partial["properties"])
        properties["known"] = {k: v for k, v in properties["known"].items() if k != "required"}
        partial["properties"] = properties
    return {**partial, "required": ["id"]}


POLICY_FILE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": SCHEMA_ID,
    "title": "zizhu 资助政策文件",
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "properties": {
        "policy": _MANIFEST,
        "parameters": {"type": "array", "items": _PARAMETER},
        "fields": {"type": "array", "items": _FIELD},
        "tables": {"type": "array", "items": _TABLE},
        "groups": {"type": "array", "items": _GROUP},
        "programs": {"type": "array", "items": _PROGRAM},
        "checks": {"type": "array", "items": _CHECK},
        "properties": {"type": "array", "items": _PROPERTY, "description": "zizhu verify 要证明的性质"},
        "override": {
            "type": "object",
            "description": "覆盖上一版本中同一标识的项目：只写要改的部分（表格可只写改动的格）",
            "additionalProperties": False,
            "properties": {name: {"type": "array", "items": _partial(item)} for name, item in _ITEMS.items()},
        },
        "remove": {
            "type": "object",
            "description": "删除上一版本中的项目，按标识；或删除项目里列表中的一项，"
            "如 programs.national_grant.unless: [vocational_year_3]；或删除简称、表格的行，"
            "如 fields.school.known.aliases: [中阳二中]",
            "additionalProperties": False,
            "properties": {name: {"type": "array", "items": _ID} for name in _ITEMS},
            # section.item_id.list[.item_id.list…]: the ids to drop from a list inside an item; or
            # section.item_id.…aliases / .rows[.key…]: the short forms or table rows to drop by name
            # (a table's keys are Chinese: 普通高中)
            "patternProperties": {
                "^(" + "|".join(_ITEMS) + ")\\.[a-z][a-z0-9_]*(\\.[^.\\s]+)+$": {"type": "array", "items": _SCALAR}
            },
        },
    },
}


def schema_json() -> str:
    return json.dumps(POLICY_FILE_SCHEMA, ensure_ascii=False, indent=2, default=str)


# Numbers from our YAML loader are Decimal (never float); teach the validator they are numbers.
_TYPES = Draft202012Validator.TYPE_CHECKER.redefine(
    "number", lambda _checker, v: isinstance(v, (int, Decimal)) and not isinstance(v, bool)
)


def _full_match(validator, pattern: str, instance: Any, schema: dict[str, Any]):
    """`pattern` over the whole value: JSON Schema's own search lets Python's `$` match before a
    trailing newline, so "aid\n" would pass `^[a-z]+$` as an id."""
    if validator.is_type(instance, "string") and not re.fullmatch(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


_Validator = validators.extend(Draft202012Validator, validators={"pattern": _full_match}, type_checker=_TYPES)


def make_validator(schema: dict[str, Any]):
    """A validator for one of our YAML schemas (numbers are Decimal, dates are checked)."""
    return _Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


POLICY_VALIDATOR = make_validator(POLICY_FILE_SCHEMA)


# --- A compiled yes/no check: the fast path for a file that fits ----------------------------------
#
# jsonschema builds a validator object and a generator for every keyword at every node, which made
# validation a third of `check` on a large policy (10,000 programs: tens of seconds). Most files
# fit their schema, so the schema is compiled once into plain Python closures that only answer
# "does the whole file fit?". When the answer is no (or the check meets anything unexpected), the
# file goes through jsonschema as before, so every error is still collected and located exactly as
# it always was. The closures follow jsonschema's own definition of each keyword (same type
# checker, same format checker, same equality for enum/const, full-match `pattern`, search for
# `patternProperties`); tests/test_schema_fast.py compares the two on every policy file and on
# thousands of mutated ones. A schema using a keyword not listed here is not compiled at all.

Check = Callable[[Any], bool]

_ANNOTATIONS = {"$id", "$schema", "$comment", "title", "description", "examples", "default", "$defs"}


def _all(checks: list[Check]) -> Check:
    if len(checks) == 1:
        return checks[0]

    def every(value: Any) -> bool:
        for check in checks:  # noqa: SIM110 — a plain loop: this runs for every node of a file
            if not check(value):
                return False
        return True

    return every


def _compile(schema: Any) -> Check:
    """A function telling whether a value fits `schema`; raises NotImplementedError for a keyword
    it does not know (the caller then never takes the fast path)."""
    if schema is True:
        return lambda _value: True
    if schema is False:
        return lambda _value: False
    unknown = set(schema) - _ANNOTATIONS - set(_KEYWORD_COMPILERS) - {"then", "else"}
    if unknown:
        raise NotImplementedError(f"schema keywords {sorted(unknown)}")
    # The shapes most nodes of a file meet, each as one function (a call per keyword per node was
    # most of the time); every other keyword beside them as usual.
    combined: tuple[Check, set[str]] | None = None
    if schema.get("type") == "object" and "properties" in schema and "patternProperties" not in schema:
        combined = _object(schema), {"type", "properties", "required", "additionalProperties"}
    elif schema.get("type") == "string" and set(schema) - _ANNOTATIONS <= {"type", "minLength", "pattern"}:
        combined = _string(schema), {"type", "minLength", "pattern"}
    elif set(schema) - _ANNOTATIONS == {"enum"} and all(isinstance(o, str) for o in schema["enum"]):
        options = frozenset(schema["enum"])  # equal to a string option only if a string (jsonschema's equal)
        combined = (lambda value: isinstance(value, str) and value in options), {"enum"}
    done = combined[1] if combined else set()
    checks = [_KEYWORD_COMPILERS[k](schema[k], schema) for k in schema if k in _KEYWORD_COMPILERS and k not in done]
    if combined:
        checks.insert(0, combined[0])
    return _all([c for c in checks if c is not None]) if checks else (lambda _value: True)


def _object(schema: dict) -> Check:
    """`type: object` with its `properties`, `required` and `additionalProperties`, in one pass."""
    properties = {key: _compile(sub) for key, sub in schema["properties"].items()}
    required = tuple(schema.get("required", ()))
    additional = schema.get("additionalProperties", True)
    extra = _compile(additional) if isinstance(additional, dict) else None

    def fits(value: Any) -> bool:
        if not isinstance(value, dict):
            return False
        for name in required:
            if name not in value:
                return False
        for key, item in value.items():
            check = properties.get(key)
            if check is not None:
                if not check(item):
                    return False
            elif extra is not None:
                if not extra(item):
                    return False
            elif not additional:
                return False
        return True

    return fits


def _string(schema: dict) -> Check:
    """`type: string` with its `minLength` and (full-match) `pattern`."""
    shortest = schema.get("minLength", 0)
    pattern = re.compile(schema["pattern"]) if "pattern" in schema else None

    def fits(value: Any) -> bool:
        return (
            isinstance(value, str)
            and len(value) >= shortest
            and (pattern is None or pattern.fullmatch(value) is not None)
        )

    return fits


def _when(kind: type, check: Check) -> Check:
    """A keyword that applies only to values of one JSON type (draft 2020-12: others pass)."""
    return lambda value: not isinstance(value, kind) or check(value)


def _type_keyword(types: Any, _schema: dict) -> Check:
    names = [types] if isinstance(types, str) else list(types)
    # The common types are Python classes (jsonschema's own definitions: str, dict, list, None;
    # "number" and "integer" are not bool, which Python counts as int); others ask the type checker.
    classes: list[type] = []
    for name in names:
        if name not in _PLAIN_TYPES:
            return lambda value: any(_TYPES.is_type(value, name) for name in names)
        classes.append(_PLAIN_TYPES[name])
    exact = tuple(classes)
    numeric = [name for name in names if name in ("number", "integer")]
    plain_bool = "boolean" in names

    def fits(value: Any) -> bool:
        if isinstance(value, bool):
            return plain_bool
        if isinstance(value, exact):
            return True
        return any(_TYPES.is_type(value, name) for name in numeric)  # Decimal; a float 2.0 is an integer

    return fits


_PLAIN_TYPES: dict[str, type] = {
    "string": str,
    "object": dict,
    "array": list,
    "null": type(None),
    "boolean": bool,
    "integer": int,
    "number": int,
}


def _properties_keyword(properties: dict, _schema: dict) -> Check:
    compiled = [(key, _compile(sub)) for key, sub in properties.items()]

    def fits(value: Any) -> bool:
        if not isinstance(value, dict):
            return True
        for key, check in compiled:  # noqa: SIM110 — a plain loop: this runs for every node of a file
            if key in value and not check(value[key]):
                return False
        return True

    return fits


def _pattern_properties_keyword(patterns: dict, _schema: dict) -> Check:
    compiled = [(re.compile(pattern), _compile(sub)) for pattern, sub in patterns.items()]

    def fits(value: dict) -> bool:
        for pattern, check in compiled:
            for key, item in value.items():
                if pattern.search(key) and not check(item):
                    return False
        return True

    return _when(dict, fits)


def _additional_properties_keyword(additional: Any, schema: dict) -> Check:
    named = set(schema.get("properties", {}))
    patterns = "|".join(schema.get("patternProperties", {}))
    pattern = re.compile(patterns) if patterns else None
    check = _compile(additional) if isinstance(additional, dict) else None

    def fits(value: dict) -> bool:
        for key, item in value.items():
            if key in named or (pattern is not None and pattern.search(key)):
                continue
            if check is None:
                if not additional:
                    return False
            elif not check(item):
                return False
        return True

    return _when(dict, fits)


def _items_keyword(items: Any, schema: dict) -> Check:
    if "prefixItems" in schema or items is False:
        raise NotImplementedError("prefixItems")
    check = _compile(items)

    def fits(value: Any) -> bool:
        if not isinstance(value, list):
            return True
        for item in value:  # noqa: SIM110 — a plain loop: this runs for every item of a file
            if not check(item):
                return False
        return True

    return fits


def _if_keyword(condition: Any, schema: dict) -> Check:
    test = _compile(condition)
    then = _compile(schema["then"]) if "then" in schema else None
    otherwise = _compile(schema["else"]) if "else" in schema else None

    def fits(value: Any) -> bool:
        if test(value):
            return then is None or then(value)
        return otherwise is None or otherwise(value)

    return fits


def _one_of_keyword(options: list, _schema: dict) -> Check:
    compiled = [_compile(sub) for sub in options]

    def fits(value: Any) -> bool:
        valid = 0
        for check in compiled:
            if check(value):
                valid += 1
                if valid > 1:
                    return False
        return valid == 1

    return fits


def _all_of_keyword(options: list, _schema: dict) -> Check:
    return _all([_compile(sub) for sub in options])


def _not_keyword(sub: Any, _schema: dict) -> Check:
    check = _compile(sub)
    return lambda value: not check(value)


def _pattern_keyword(pattern: str, _schema: dict) -> Check:
    compiled = re.compile(pattern)  # re.fullmatch(pattern, …) as _full_match does
    return _when(str, lambda value: compiled.fullmatch(value) is not None)


def _format_keyword(name: str, _schema: dict) -> Check:
    checker = Draft202012Validator.FORMAT_CHECKER
    return lambda value: checker.conforms(value, name)


def _minimum_keyword(minimum: Any, _schema: dict) -> Check:
    return lambda value: not _TYPES.is_type(value, "number") or not value < minimum


_KEYWORD_COMPILERS: dict[str, Callable[[Any, dict], Check | None]] = {
    "type": _type_keyword,
    "properties": _properties_keyword,
    "patternProperties": _pattern_properties_keyword,
    "additionalProperties": _additional_properties_keyword,
    "required": lambda names, _s: _when(dict, lambda value: all(n in value for n in names)),
    "minProperties": lambda n, _s: _when(dict, lambda value: len(value) >= n),
    "items": _items_keyword,
    "minItems": lambda n, _s: _when(list, lambda value: len(value) >= n),
    "minLength": lambda n, _s: _when(str, lambda value: len(value) >= n),
    "minimum": _minimum_keyword,
    "pattern": _pattern_keyword,
    "format": _format_keyword,
    "enum": lambda options, _s: lambda value: any(_json_equal(option, value) for option in options),
    "const": lambda constant, _s: lambda value: _json_equal(value, constant),
    "if": _if_keyword,
    "oneOf": _one_of_keyword,
    "allOf": _all_of_keyword,
    "not": _not_keyword,
}

# Validators made here, with their compiled check (None: the schema cannot be compiled).
_FAST_CHECKS: dict[int, tuple[Any, Check | None]] = {}


def fits_schema(validator, data: Any) -> bool:
    """True only when jsonschema would find no error in `data` (already made JSON-like); False
    means "ask jsonschema", not necessarily that there is an error."""
    entry = _FAST_CHECKS.get(id(validator))
    if entry is None or entry[0] is not validator:
        try:
            compiled: Check | None = _compile(validator.schema)
        except NotImplementedError:
            compiled = None
        entry = _FAST_CHECKS[id(validator)] = (validator, compiled)
    check = entry[1]
    if check is None:
        return False
    try:
        return check(data)
    except Exception:  # anything unexpected (a comparison that cannot be made): the full path decides
        return False


def validate(
    doc: SourceDocument, validator=POLICY_VALIDATOR, labels=None, known_valid: dict[int, Any] | None = None
) -> list[Diagnostic]:
    """Every schema violation of one file, each at the YAML node it concerns. `labels()`, when
    given, maps the Chinese labels of the policy's items to their ids: a label written where an id
    is needed gets "是否想写 preschool_aid".

    `known_valid` (the policy schema only): id → item of section items this validator already
    passed, unchanged since (data is never changed in place); the quick check skips them. Each
    section is a list of items valid one by one (tests/test_check_scale.py holds the schema to
    that), so the others decide. When the quick check fails, the whole file is validated again."""
    if known_valid and validator is POLICY_VALIDATOR and isinstance(doc.data, dict):
        unseen = {
            key: [item for item in value if id(item) not in known_valid]
            if key in _ITEMS and isinstance(value, list)
            else value
            for key, value in doc.data.items()
        }
        if fits_schema(validator, _jsonable(unseen)):
            return []
    data = _jsonable(doc.data)
    if fits_schema(validator, data):
        return []
    found: list[Diagnostic] = []
    said: set[tuple[tuple, str]] = set()
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        error = _most_specific(error)
        path = tuple(error.absolute_path)
        # Each missing key is an error of its own, and each message names all of them: say it once.
        said_before = (tuple(map(str, path)), _message(error))
        if said_before in said:
            continue
        said.add(said_before)
        location = _key_location(doc, path, error)
        if _full_width_colon(error):
            location = _colon_location(doc, location)
            code = "full-width-colon"
        else:
            code = _CODES.get(str(error.validator), "schema")
        found.append(
            Diagnostic(
                location,
                _message(error).replace(_where(error), where_in_words(data, path), 1),
                _label_hint(error, labels) or _null_in_override_hint(data, path, error) or _hint(error),
                code=code,
            )
        )
    return found


def _full_width_colon(error: ValidationError) -> bool:
    """Text where a mapping or list belongs, with a full-width colon in it: `初中：400` is one
    string to YAML, which knows only the half-width `: ` as the colon of a key."""
    return error.validator == "type" and isinstance(error.instance, str) and "：" in error.instance


def _colon_location(doc: SourceDocument, at: Location) -> Location:
    """The full-width colon itself, when it is on the line the value starts on."""
    lines = doc.text.splitlines()
    line = lines[at.line - 1] if at.line and 0 < at.line <= len(lines) else ""
    column = line.find("：")
    return Location(at.file, at.line, column + 1) if column >= 0 else at


def _key_location(doc: SourceDocument, path: tuple, error: ValidationError) -> Location:
    """Where to point: an unknown key at its own line (a section indented by mistake under the
    item above it is found where it is written, not at the item's first line)."""
    if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
        return doc.locate(path)
    allowed = error.schema.get("properties") or {}
    extra = next((k for k in error.instance if k not in allowed), None)
    if extra is None:
        return doc.locate(path)
    value_at = doc.locate((*path, extra))
    lines = doc.text.splitlines()
    written = re.compile(r"^(\s*-?\s*)" + re.escape(str(extra)) + r"\s*:")
    for line in range((value_at.line or 1), max((value_at.line or 1) - 3, 0), -1):
        match = written.match(lines[line - 1]) if 0 < line <= len(lines) else None
        if match:
            return Location(value_at.file, line, len(match.group(1)) + 1)
    return value_at


def _label_hint(error: ValidationError, labels) -> str:
    if error.validator != "pattern" or error.schema.get("pattern") != _ID["pattern"] or labels is None:
        return ""
    item_id = labels().get(str(error.instance).strip())
    return f"是否想写 {item_id}？这里要写英文标识（id），不是中文名称" if item_id else ""


POLICY_SECTIONS = ("policy", "parameters", "fields", "tables", "groups", "programs", "checks", "override", "remove")

_CODES = {
    "required": "missing-key",
    "additionalProperties": "unknown-key",
    "enum": "not-allowed",
    "const": "not-allowed",
    "pattern": "bad-format",
    "type": "bad-type",
    "minimum": "below-minimum",
    "maximum": "above-maximum",
}
_SECTION_WORDS = {
    **SECTION_WORDS,
    "unless": "排除情形",
    "values": "选项",
    "not_with": "互斥关系",
    "cases": "用例",
}


def where_in_words(data: Any, path: tuple) -> str:
    """A schema path as a person reads it: programs.0.when → 资助项目「学前教育资助」的 when."""
    if not path:
        return "文件顶层"
    words: list[str] = []
    node = data
    for key in path:
        child = node[key] if isinstance(node, (dict, list)) and _has(node, key) else None
        if isinstance(key, int) and isinstance(child, dict):
            name = child.get("label") or child.get("id") or child.get("name") or child.get("program")
            section = words.pop() if words else ""
            word = _SECTION_WORDS.get(section, section)
            words.append(f"{word}「{name}」" if name else f"{word}第 {key + 1} 项")
        elif key == "override":
            words.append("覆盖")
        else:
            words.append(str(key))
        node = child
    text = "的".join(words)
    return re.sub(r"的([A-Za-z0-9_])", r"的 \1", text)


def _has(node: Any, key: Any) -> bool:
    return key in node if isinstance(node, dict) else isinstance(key, int) and 0 <= key < len(node)


def _most_specific(error: ValidationError) -> ValidationError:
    # For oneOf, the branch that got furthest explains the problem best.
    if error.context:
        return _most_specific(best_match(error.context))
    return error


_KEYWORD_WORDS = {
    "required": "缺少必填项",
    "additionalProperties": "有不认识的项",
    "enum": "取值不在允许范围内",
    "pattern": "格式不对",
    "type": "类型不对",
}


def _where(error: ValidationError) -> str:
    path = [str(p) for p in error.absolute_path]
    return "「" + ".".join(path) + "」" if path else "文件顶层"


def _message(error: ValidationError) -> str:
    where = _where(error)
    if error.validator == "required":
        missing = [k for k in error.validator_value if k not in (error.instance or {})]
        return f"{where} 缺少必填项：{', '.join(missing)}"
    if error.validator == "additionalProperties":
        allowed = sorted((error.schema.get("properties") or {}).keys())
        extra = [k for k in (error.instance or {}) if k not in allowed]
        return f"{where} 有不认识的项：{', '.join(map(str, extra))}"
    if error.validator == "enum":
        return f"{where} 的值 {error.instance!r} 不在允许范围内"
    if error.validator == "const":
        return f"{where} 的值应为 {error.validator_value!r}"
    if error.validator == "pattern":
        desc = error.schema.get("description", "")
        return f"{where} 的值 {error.instance!r} 格式不对" + (f"（应为{desc}）" if desc else "")
    if error.validator == "type":
        wanted = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        expected = "或".join(_JSON_TYPE_WORDS.get(str(t), str(t)) for t in wanted)
        return f"{where} 类型不对：应为{expected}，实际是{_value_kind(error.instance)}"
    return f"{where}：{error.message}"


# What a schema type is to a person writing YAML.
_JSON_TYPE_WORDS = {
    "object": "若干「键: 值」（映射）",
    "array": "列表（每项以「- 」开头）",
    "string": "文字",
    "number": "数字",
    "integer": "整数",
    "boolean": "是/否（true/false）",
    "null": "空",
}


def _value_kind(value: Any) -> str:
    if isinstance(value, bool):
        return _JSON_TYPE_WORDS["boolean"]
    if isinstance(value, dict):
        return _JSON_TYPE_WORDS["object"]
    if isinstance(value, list):
        return _JSON_TYPE_WORDS["array"]
    if isinstance(value, int):
        return _JSON_TYPE_WORDS["integer"]
    if isinstance(value, (float, Decimal)):
        return _JSON_TYPE_WORDS["number"]
    if value is None:
        return _JSON_TYPE_WORDS["null"]
    return f"文字「{value}」" if isinstance(value, str) and len(value) <= 40 else _JSON_TYPE_WORDS["string"]


def _hint(error: ValidationError) -> str:
    if error.validator == "additionalProperties":
        allowed = sorted((error.schema.get("properties") or {}).keys())
        extra = [k for k in (error.instance or {}) if k not in allowed]
        if any(k in POLICY_SECTIONS for k in extra) and error.absolute_path:
            section = next(k for k in extra if k in POLICY_SECTIONS)
            return f"「{section}」是文件的顶层部分，应顶格写（前面不留空格）；现在缩进了，被当成了上面一项的内容"
        hints = [suggest(str(k), allowed) for k in extra]
        hint = " ".join(h for h in hints if h)
        return (hint + " " if hint else "") + "可用的项：" + ", ".join(allowed)
    if error.validator == "enum":
        return "可选：" + "、".join(map(str, error.validator_value))
    if _full_width_colon(error):
        return full_width_colon_hint(str(error.instance))
    return ""


def _null_in_override_hint(data: Any, path: tuple, error: ValidationError) -> str:
    """`override: … aliases: {中阳二中: null}` meant to drop an inherited short form (or table row):
    an empty value drops nothing; `remove:` does, and the hint writes the exact line."""
    if error.validator != "type" or error.instance is not None or len(path) < 5 or path[0] != "override":
        return ""
    inner = [str(step) for step in path[3:-1]]
    if not (inner[-1] == "aliases" or "rows" in inner):
        return ""
    item = data["override"][path[1]][path[2]]
    item_id = item.get("id") if isinstance(item, dict) else None
    key = ".".join([str(path[1]), str(item_id), *inner])
    return f"空值不会删除上一版本的这一项；要删除「{path[-1]}」，请写 remove: {{{key}: [{path[-1]}]}}"


def full_width_colon_hint(text: str) -> str:
    """What to say of `初中：400` read from a policy: one string, not a key and its value."""
    key, _, value = text.strip().partition("：")
    return (
        f"「{text}」用了全角冒号「：」，YAML 把它读成了一段文字；键和值之间要用半角冒号加一个空格，"
        f"如「{key.strip()}: {value.strip()}」"
    )


# Values the schema sees as they are (most of a file): not copied, not looked at again.
_AS_IS = frozenset({str, int, bool, Decimal, type(None)})


def _jsonable(value: Any) -> Any:
    """Dates are strings to the schema, keys are strings (YAML allows 1: as a key). Data with
    neither (nearly every file) is given as it is, not copied."""
    return _converted(value) if _needs_converting(value) else value


def _needs_converting(value: Any) -> bool:
    if isinstance(value, dict):
        for k, v in value.items():  # noqa: SIM110 — a plain loop: this runs for every node of a file
            if not isinstance(k, str) or (type(v) not in _AS_IS and _needs_converting(v)):
                return True
        return False
    if isinstance(value, list):
        return any(type(v) not in _AS_IS and _needs_converting(v) for v in value)
    return isinstance(value, (dt.date, dt.datetime))


def _converted(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            (k if isinstance(k, str) else str(k)): (v if type(v) in _AS_IS else _converted(v)) for k, v in value.items()
        }
    if isinstance(value, list):
        return [v if type(v) in _AS_IS else _converted(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value
