"""Reading single values out of the parsed file: numbers, and how a wrong value is shown in a message."""

from __future__ import annotations

import math
import re
from typing import Any, NoReturn

import sympy

from derivator.errors import DerivatorError
from derivator.graph.network import Pos
from derivator.load.tree import Map, Seq


def fail(message: str, pos: Pos | None = None) -> NoReturn:
    raise DerivatorError(message, pos.line if pos else None, pos.col if pos else None)


# A fraction as a learner types it: "1/3", "-2.5/4". YAML reads it as text; the tool as a number.
FRACTION = re.compile(r"\s*([+-]?(?:\d+\.?\d*|\.\d+))\s*/\s*(\d+\.?\d*|\.\d+)\s*\Z")
MAX_FRACTION_DIGITS = 30


def fraction(text: str) -> sympy.Rational | None:
    """The exact value of "p/q" (None when the text is no fraction); q = 0 is an error of its own."""
    m = FRACTION.match(text)
    if not m or len(text) > 2 * MAX_FRACTION_DIGITS:
        return None
    top, bottom = sympy.Rational(m.group(1)), sympy.Rational(m.group(2))
    if bottom == 0:
        raise DerivatorError(f"'{text.strip()}' divides by zero")
    return top / bottom


def number(value: Any, pos: Pos, what: str) -> float:
    """A finite number from the file (an int, a float, or a fraction "1/3"; booleans are errors)."""
    if isinstance(value, str) and FRACTION.match(value):
        try:
            return float(fraction(value))
        except DerivatorError as e:
            fail(f"{what}: {e.message}", pos)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        fail(f"{what} must be a number, not {show(value)}", pos)
    try:
        result = float(value)
    except OverflowError:
        fail(f"{what} is out of range", pos)
    if not math.isfinite(result):
        fail(f"{what} must be finite, not {value}", pos)
    return result


def positive(text: str) -> float | None:
    """A positive finite number typed on the command line (a tolerance, a rate), or None."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value > 0 and math.isfinite(value) else None


def show(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (Map, dict)):
        return "a map"
    if isinstance(value, (Seq, list)):
        return "a list"
    return str(value)


def article(kind: str) -> str:
    return ("an " if kind[0] in "aeiou" else "a ") + kind
