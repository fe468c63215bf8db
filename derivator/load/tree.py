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


ITSELF = object()  # a LazyPos of the container itself, not of one of its keys


class Lazy:
    """A map or list read from JSON (`jsontext`): its positions are the YAML path's, found when first read."""

    source: Any  # called, it gives every map and list of the tree its `where`
    where: tuple[int, int, Any]  # (line, col, at) once found

    def _where(self) -> tuple[int, int, Any]:
        if "where" not in self.__dict__:
            self.source()
        return self.where

    line = property(lambda self: self._where()[0])
    col = property(lambda self: self._where()[1])
    at = property(lambda self: self._where()[2])


def unfound(container: Any) -> bool:
    """Whether `container` was read from JSON and its positions are not yet found (then a position
    of it is a `LazyPos`, so that a file loaded without error never has them found)."""
    return isinstance(container, Lazy) and "where" not in container.__dict__


class LazyMap(Lazy, Map):
    pass


class LazySeq(Lazy, Seq):
    pass


class LazyPos:
    """A position not yet known: `find(container, *args)` (key_pos, value_pos or container_pos of a
    `Lazy` container), run once the positions are found, when its line or column is first read, as an
    error's message reads them."""

    __slots__ = ("_container", "_find", "_key", "_pos")

    def __init__(self, find, container: Lazy, key: Any = ITSELF):
        self._find, self._container, self._key, self._pos = find, container, key, None

    def pos(self):
        if self._pos is None:
            self._container._where()
            key = self._key
            self._pos = self._find(self._container) if key is ITSELF else self._find(self._container, key)
        return self._pos

    line = property(lambda self: self.pos().line)
    col = property(lambda self: self.pos().col)

    def __eq__(self, other: object) -> bool:
        return self.pos() == (other.pos() if isinstance(other, LazyPos) else other)

    def __hash__(self) -> int:
        return hash(self.pos())

    def __repr__(self) -> str:
        return repr(self.pos())
