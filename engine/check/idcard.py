"""Chinese resident identity numbers (GB 11643-1999): check digit and birth date."""

from __future__ import annotations

import datetime as dt
from operator import mul

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"


def check_digit(first17: str) -> str:
    """The 18th character for the first 17 digits (ISO 7064 MOD 11-2)."""
    total = sum(map(mul, map(int, first17), _WEIGHTS))
    return _CHECK_CHARS[total % 11]


def problem(number: str) -> str:
    """What is wrong with an ID number, in words for a school officer; "" when it is valid."""
    if len(number) != 18:
        return f"身份证号应为 18 位，这里是 {len(number)} 位"
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        return "身份证号前 17 位应为数字，最后一位为数字或 X"
    if birth_date(number) is None:
        return f"身份证号中的出生日期 {number[6:14]} 不是有效日期"
    expected = check_digit(number[:17])
    if number[17] != expected:
        return f"身份证号校验位不对：按 GB 11643 应为 {expected}，这里是 {number[17]}（请核对号码）"
    return ""


def birth_date(number: str) -> dt.date | None:
    digits = number[6:14]
    if len(digits) != 8 or not digits.isdigit():
        return None
    try:
        return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None


def normalise(text: str) -> str:
    """Spaces removed, full-width digits and a lower-case x as schools type them."""
    return text.strip().translate(_FULL_WIDTH).replace(" ", "").upper()


_FULL_WIDTH = str.maketrans("０１２３４５６７８９ｘＸ", "0123456789XX")
