"""A YAML document as the reader sees it: maps and lists that know where each key, value and item starts.

Both parsers (libyaml's events in `fastyaml`, ruamel's pure-Python parser in `yamlfile`) build
these, with plain Python scalars (int, float, str, bool, None), so the rest of the loader neither
knows nor cares which one read the file. Lines and columns are 1-based, as an editor shows them.
"""

from __future__ import annotations

from typing import Any


class Map(dict):
    """A YAML map. `at[key]` is (key's line, key's column, value's line, value's column)."""

    line = col = 1  # a map the loader makes itself (an empty node body) is "at the top"
    at: dict[Any, tuple[int, int, int, int]] = {}  # noqa: RUF012 - read only; each parsed map has its own


class Seq(list):
    """A YAML list. `at[i]` is (item's line, item's column)."""

    line = col = 1
    at: list[tuple[int, int]] = []  # noqa: RUF012 - read only; each parsed list has its own


def plain(value: Any) -> Any:
    """ruamel's round-trip scalars (ScalarFloat, ScalarInt, quoted strings, ...) as the plain values
    they stand for, which is what the fast path builds."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    tagged = getattr(value, "value", None)  # ruamel's TaggedScalar ('=' is YAML 1.1's value key)
    return str(tagged) if isinstance(tagged, str) else value
