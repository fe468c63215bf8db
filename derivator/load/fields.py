"""Reading single values out of the parsed file: numbers, and how a wrong value is shown in a message."""

from __future__ import annotations

import math
from typing import Any, NoReturn

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from derivator.errors import DerivatorError
from derivator.graph.network import Pos


def fail(message: str, pos: Pos | None = None) -> NoReturn:
    raise DerivatorError(message, pos.line if pos else None, pos.col if pos else None)


def number(value: Any, pos: Pos, what: str) -> float:
    """A finite number from the file (an int or a float; booleans and strings are errors)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        fail(f"{what} must be a number, not {show(value)}", pos)
    try:
        result = float(value)
    except OverflowError:
        fail(f"{what} is out of range", pos)
    if not math.isfinite(result):
        fail(f"{what} must be finite, not {value}", pos)
    return result


def show(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (CommentedMap, dict)):
        return "a map"
    if isinstance(value, (CommentedSeq, list)):
        return "a list"
    return str(value)


def article(kind: str) -> str:
    return ("an " if kind[0] in "aeiou" else "a ") + kind
