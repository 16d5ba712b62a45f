"""Bounded parsing of what arrives from outside: JSON with a depth and number limit, finite
coordinates, sane integers. Used by every channel and the API, so one rule holds everywhere.

``json.loads`` recurses once per nesting level (10,000 levels is a RecursionError, or worse),
turns ``1e400`` into ``inf`` and accepts ``NaN``: :func:`load_json` refuses all three before
anything reads the value. Text fields then go through :func:`core.text.clean_text`.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 16  # our frames and requests nest three levels at most
MAX_INT_DIGITS = 18  # fits a 64-bit integer; ids and counts are far smaller
INT32_MAX = 2**31 - 1

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


class BadInput(ValueError):
    """Input refused before use; ``reason`` is English for the log (the caller shows its own
    Chinese sentence)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def nesting_depth(raw: str) -> int:
    """The deepest ``[``/``{`` nesting of a JSON text, strings ignored (no recursion)."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub("", raw)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadInput(f"number out of range: {text[:20]}")
    return value


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise BadInput(f"integer too long: {len(text)} digits")
    return int(text)


def _constant(name: str) -> Any:
    raise BadInput(f"{name} is not a number")


def load_json(raw: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON or raise :class:`BadInput`: not UTF-8, malformed, nested deeper than
    ``max_depth``, a number beyond float range, NaN or Infinity, an integer over 18 digits."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadInput("not UTF-8") from None
    if nesting_depth(raw) > max_depth:
        raise BadInput(f"nested deeper than {max_depth}")
    try:
        return json.loads(raw, parse_float=_float, parse_int=_int, parse_constant=_constant)
    except BadInput:
        raise
    except (ValueError, RecursionError) as exc:
        raise BadInput(f"malformed JSON: {str(exc)[:80]}") from None


def finite(value: Any, bound: float) -> float | None:
    """A finite number within ±``bound`` (not a bool, not a string) as a float, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    if not (math.isfinite(number) and -bound <= number <= bound):
        return None
    return number


def int_id(raw: str) -> int | None:
    """A positive 32-bit id from a URL or a field given as text (ASCII digits only)."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10:
        return None
    value = int(raw)
    return value if 0 < value <= INT32_MAX else None
