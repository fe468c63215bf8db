"""A network file that is JSON, read by Python's C json parser; its positions are found only when asked.

JSON is YAML 1.2 (a network exported by a script is usually JSON), and `json.loads` reads it some
thirty times faster than libyaml's events can be turned into Python objects. It gives no positions,
but a file that loads without error never shows one: every key_pos, value_pos and container_pos of
such a tree is a `tree.LazyPos`, and the first one read (an error's message) has the text read
again by the YAML path (`yamlfile`), whose positions are copied onto this tree. Each value is compared
on the way, so a file read differently by the two would be a loud failure, not a wrong position.

Only text that both read the same way comes here: no escaped surrogate, no tab, no character that
YAML may count as a line break (U+0085, U+2028, U+2029) or a byte order mark; one object; no key
longer than YAML's implicit keys allow, or broken over lines or far from its ':'; no duplicate key, NaN or
Infinity; no deeper or larger than the YAML path's caps. Anything else is `NotHere`, and the caller
reads the text as YAML.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from derivator.load.tree import LazyMap, LazySeq, Map, Seq

# A key whose ':' is on a later line (JSON allows it; a YAML implicit key is one line), or far after
# it (YAML's limit of 1024 characters counts the source up to the ':'). Only outside a string can a
# quote be followed by a line break (JSON strings hold none), so the first is always a key's.
KEY_APART = re.compile(r'"(?: {16,}|[ \n]*\n[ \n]*):')
# Tabs, and what YAML may count as a line break or a mark; and an escaped UTF-16 surrogate, which
# json pairs and YAML refuses (every other JSON escape YAML reads alike).
OTHERWISE = re.compile("[\t\x85\u2028\u2029\ufeff]")
SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
MAX_KEY = 160  # so its source is under 1024 characters even if each is written \u00e9, as JSON may


class NotHere(ValueError):  # noqa: N818 - not an error: the YAML path reads the text
    """The YAML path must read this text."""


def eligible(text: str) -> bool:
    if ("\t" in text if text.isascii() else OTHERWISE.search(text)) or ("\\" in text and SURROGATE.search(text)):
        return False
    return text.lstrip(" \n")[:1] == "{" and KEY_APART.search(text) is None


def read(text: str, max_items: int, max_depth: int, positioned: Callable[[str], Any]):
    """(data, resolve): the tree, and the function that gives it the positions of `positioned(text)`
    (the YAML path's Document) and returns that Document's spans."""
    try:
        data = json.loads(text, object_pairs_hook=_map, parse_constant=_constant)
    except (ValueError, RecursionError):
        raise NotHere("not JSON as the YAML path would read it") from None
    source = _Source(text, data, positioned)
    try:
        _Walk(source, max_items, max_depth).lists(data, 1)
    except RecursionError:  # only with a depth cap far above the YAML path's own: it says what is wrong
        raise NotHere("nested past Python's recursion limit") from None
    return data, source


def _map(pairs: list[tuple[str, Any]]) -> LazyMap:
    m = LazyMap(pairs)
    if len(m) != len(pairs):
        raise NotHere("a duplicate key")  # YAML refuses it, with its position
    return m


def _constant(name: str):
    raise NotHere(name)  # NaN, Infinity: not YAML's .nan and .inf


class _Walk:
    """Lists made `LazySeq`, every map and list given the source, and the YAML path's caps checked."""

    def __init__(self, source: _Source, max_items: int, max_depth: int):
        self.source, self.left, self.max_depth = source, max_items - 4, max_depth  # the stream's and document's events

    def lists(self, node: Any, depth: int) -> Any:
        """The YAML path counts events: a collection's start and end, and each scalar (a key is one).
        Here each item counts once more if it is a collection, so this count is never the lower."""
        if depth > self.max_depth:
            raise NotHere("nested too deep")
        self.left -= 2 + len(node) * (2 if type(node) is LazyMap else 1)
        if self.left < 0:
            raise NotHere("too many items")
        if type(node) is LazyMap:
            node.source = self.source
            for key, value in node.items():
                if len(key) > MAX_KEY:
                    raise NotHere("a long key")
                if type(value) is list or type(value) is LazyMap:
                    dict.__setitem__(node, key, self.lists(value, depth + 1))
            return node
        out = LazySeq(self.lists(v, depth + 1) if type(v) is list or type(v) is LazyMap else v for v in node)
        out.source = self.source
        return out


class _Source:
    """The text, and its positions once asked for (then `spans`, the YAML path's, too)."""

    def __init__(self, text: str, data: Any, positioned: Callable[[str], Any]):
        self.text, self.data, self.positioned, self.spans = text, data, positioned, None

    def __call__(self) -> dict:
        if self.spans is None:
            document = self.positioned(self.text)  # a YAML error here is the file's error
            _copy(self.data, document.data, "the document")
            self.spans = document.spans
        return self.spans


def _copy(ours: Any, theirs: Any, where: str) -> None:
    """The YAML tree's positions onto ours, which must hold the same values."""
    kind = isinstance(ours, Map) - isinstance(ours, Seq)  # 1 map, -1 list, 0 scalar
    if kind != isinstance(theirs, Map) - isinstance(theirs, Seq):
        raise RuntimeError(f"JSON and YAML read {where} differently")
    if kind == 0:
        if type(ours) is not type(theirs) or repr(ours) != repr(theirs):
            raise RuntimeError(f"JSON and YAML read {ours!r} in {where} differently")
        return
    keys = list(ours) if kind == 1 else range(len(ours))
    if keys != (list(theirs) if kind == 1 else range(len(theirs))):
        raise RuntimeError(f"JSON and YAML read the items of {where} differently")
    ours.where = (theirs.line, theirs.col, theirs.at)
    for key in keys:
        _copy(ours[key], theirs[key], repr(key) if kind == 1 else where)
