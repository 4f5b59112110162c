"""Chinese resident identity numbers (GB 11643-1999): check digit and birth date."""

from __future__ import annotations

import datetime as dt
import re
from operator import mul

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"


def check_digit(first17: str) -> str:
    """The 18th character for the first 17 digits (ISO 7064 MOD 11-2)."""
    total = sum(map(mul, map(int, first17), WEIGHTS))
    return CHECK_CHARS[total % 11]


_SHAPE = re.compile(r"[0-9]{17}[0-9X]")  # ASCII digits only: "²".isdigit() is True, int("²") fails
# What Excel makes of an ID typed into a number cell: 1.41129201007200E+17, or the 15 significant
# digits it keeps followed by zeros.
_EXCEL_NUMBER = re.compile(r"[0-9](?:\.[0-9]+)?E\+?[0-9]+")
ID_AS_NUMBER = (
    "Excel 把身份证号变成了数字，最后几位已经丢失（只保留 15 位有效数字）；请把该列设为文本后重新输入身份证号"
)


def check(number: str) -> tuple[str, str]:
    """(code, what is wrong in words for a school officer); ("", "") when the number is valid."""
    if _EXCEL_NUMBER.fullmatch(number):
        return "id-as-number", ID_AS_NUMBER
    if len(number) != 18:
        return "bad-id-length", f"身份证号应为 18 位，这里是 {len(number)} 位"
    if not _SHAPE.fullmatch(number):
        return "bad-id-characters", "身份证号前 17 位应为数字 0–9，最后一位为数字或 X"
    if birth_date(number) is None:
        return "bad-id-birth-date", f"身份证号中的出生日期 {number[6:14]} 不是有效日期"
    expected = check_digit(number[:17])
    if number[17] != expected:
        if number.endswith("000"):  # 15 digits kept, the rest zeros: Excel stored it as a number
            return "id-as-number", ID_AS_NUMBER
        return "bad-check-digit", f"身份证号校验位不对：按 GB 11643 应为 {expected}，这里是 {number[17]}（请核对号码）"
    return "", ""


def problem(number: str) -> str:
    """What is wrong with an ID number, in words for a school officer; "" when it is valid."""
    return check(number)[1]


def birth_date(number: str) -> dt.date | None:
    digits = number[6:14]
    if len(digits) != 8 or not digits.isdigit():
        return None
    try:
        return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None


def normalise(text: str) -> str:
    """Spaces removed (also no-break and full-width ones), characters no one sees (a zero-width
    space, a BOM, a soft hyphen, copied from a web page or a chat) removed, full-width digits and a
    lower-case x as schools type them, and the apostrophe Excel users type before a number to keep
    it text ('141129…)."""
    return _INVISIBLE.sub("", text).lstrip("'‘’`").translate(_FULL_WIDTH).upper()


# Whitespace of any kind, and the format characters that show as nothing.
_INVISIBLE = re.compile("[\\s\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


_FULL_WIDTH = str.maketrans("０１２３４５６７８９ｘＸ", "0123456789XX")
