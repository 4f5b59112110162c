"""The language's types and values in SQL: exact decimals, dates, escaped strings."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

# Money and decimals are exact: 28 digits before the point, 10 after (a value needing more is
# left to the Python back end, never rounded). Never DOUBLE.
DECIMAL_SCALE = 10
DECIMAL_SQL = f"DECIMAL(38,{DECIMAL_SCALE})"
SQL_TYPES = {"bool": "BOOLEAN", "int": "BIGINT", "decimal": DECIMAL_SQL, "money": DECIMAL_SQL, "date": "DATE",
             "text": "VARCHAR", "enum": "VARCHAR"}  # fmt: skip


def sql_string(text: str) -> str:
    """A SQL string literal (quotes doubled); used for the policy's own constants and file paths."""
    return "'" + text.replace("'", "''") + "'"


def sql_value(value: Any, kind: str) -> str:
    """A typed value of the language as a SQL literal."""
    if value is None:
        return f"CAST(NULL AS {SQL_TYPES[kind]})"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if kind in ("money", "decimal"):
        return f"CAST({sql_string(str(Decimal(value)))} AS {DECIMAL_SQL})"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.date):
        return f"DATE {sql_string(value.isoformat())}"
    return sql_string(str(value))


def exact_in_sql(value: Decimal) -> bool:
    """Whether a Decimal fits DECIMAL(38,10) without rounding."""
    _sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):
        return False
    return exponent >= -DECIMAL_SCALE and len(digits) + exponent <= 38 - DECIMAL_SCALE
