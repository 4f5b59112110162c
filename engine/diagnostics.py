"""Errors as values: every problem carries where it is and what would be valid.

Like a compiler, each stage collects all the problems it finds and reports them
together; a stage raises :class:`PolicyError` only once it has looked at
everything it could.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Location:
    """A place in a source: a YAML file (line, column, 1-based) or a data file (row, column header)."""

    file: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def shifted(self, line_offset: int, column: int) -> Location:
        """The location of a position inside a text that starts at this location."""
        if self.line is None:
            return self
        if line_offset == 0:
            return Location(self.file, self.line, (self.column or 1) + column - 1)
        return Location(self.file, self.line + line_offset, column)


@dataclass(frozen=True)
class Diagnostic:
    location: Location | None
    message: str
    hint: str = ""
    # The offending source line with a caret under the column, when we have it.
    excerpt: str = ""
    # A stable, English, kebab-case code (``unknown-name``, ``enum-value`` …): what tests and
    # tools match on; the Chinese message is for people and may be reworded.
    code: str = ""

    def render(self) -> str:
        where = f"{self.location}: " if self.location else ""
        text = f"{where}错误: {self.message}"
        if self.hint:
            text += f"\n    {self.hint}"
        if self.excerpt:
            text += "\n" + "\n".join("    " + line for line in self.excerpt.splitlines())
        return text


@dataclass
class PolicyError(Exception):
    """Raised by a stage that found errors; carries all of them, in source order."""

    diagnostics: list[Diagnostic] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(d.render() for d in self.diagnostics)


class DiagnosticSink:
    """Collects diagnostics while a stage runs; :meth:`raise_if_any` ends the stage."""

    def __init__(self) -> None:
        self.items: list[Diagnostic] = []

    def error(self, location: Location | None, message: str, hint: str = "", excerpt: str = "", code: str = "") -> None:
        self.items.append(Diagnostic(location, message, hint, excerpt, code))

    def extend(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.items.extend(diagnostics)

    def raise_if_any(self) -> None:
        if self.items:
            raise PolicyError(sorted(self.items, key=_source_order))

    def __bool__(self) -> bool:
        return bool(self.items)


def _source_order(d: Diagnostic) -> tuple[str, int, int]:
    loc = d.location
    if loc is None:
        return ("", 0, 0)
    return (loc.file, loc.line or 0, loc.column or 0)


def suggest(name: str, candidates: Iterable[str]) -> str:
    """A "did you mean" hint, or "" when nothing is close."""
    matches = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.5)
    if not matches:
        return ""
    return "是否想写：" + "、".join(f"「{m}」" for m in matches) + "？"


def caret_excerpt(text: str, line: int, column: int, width: int = 1) -> str:
    """The text's line (1-based) with a caret under the column (1-based)."""
    lines = text.split("\n")
    source = lines[min(line, len(lines)) - 1]
    # CJK characters take two cells in a terminal; pad the caret to match.
    pad = "".join("  " if _is_wide(ch) else " " for ch in source[: column - 1])
    return f"{source}\n{pad}{'^' * max(width, 1)}"


def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


# C0 and C1 control characters but line break and tab, DEL, and the bidirectional overrides that
# reorder what a terminal shows. A cell of a file may carry them: ESC [31m recolours a screen, ESC [2K
# erases a line, OSC 8 plants a link — the terminal twin of a formula in a spreadsheet cell.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    """Text safe to print on a terminal: each control character shown as its escape (\\x1b), never sent."""
    return _CONTROL.sub(lambda found: found.group().encode("unicode_escape").decode("ascii"), text)


def display_width(text: str) -> int:
    """How many terminal cells a text takes: a Chinese character (or a full-width sign) takes two."""
    return sum(2 if _is_wide(ch) else 1 for ch in text)


def display_path(path: Path) -> str:
    """Paths in messages are relative to the working folder when they can be."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
