"""Reading YAML 1.2 safely, keeping a line and column for every value.

libyaml's events (`fastyaml`) read a file at C speed; ruamel.yaml's pure-Python round-trip parser
reads whatever libyaml and YAML 1.2 might read differently, and gives every error message and
position. On both paths anchors, aliases (the 'billion laughs' bomb needs them), merge keys and
explicit tags are refused before anything is built, so no YAML feature can construct objects or
multiply the document's size, and both build the same `tree.Map` and `tree.Seq` with plain scalars.
Where a scalar's text is not simply its value (quoted, a block, over several lines), its span is
kept, so an error inside a formula can point at its exact line and column.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from derivator.arguments import collector_paused
from derivator.errors import DerivatorError
from derivator.graph.network import Pos
from derivator.load import fastyaml, jsontext
from derivator.load.tree import LazyPos, Map, Seq, plain, unfound

MAX_FILE_BYTES = 1_000_000
MAX_YAML_DEPTH = 20  # nesting of collections; the format needs 4
MAX_YAML_EVENTS = 200_000  # scalars and collections; 20,000 edges as [from, to, weight] are 100,000
# What YAML 1.2 allows in a stream (section 5.1), less the byte order mark handled by decoding; for
# ASCII text (most files) the few control characters, since the whole class takes 6 ms to compile.
NOT_YAML_ASCII = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
NOT_YAML = "[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
DIRECTIVE = re.compile(r"%(\S*)[ \t]*(\S*)")


class Span(NamedTuple):
    """Where a scalar's source text lies in the file: [start, end) as character offsets."""

    start: int
    end: int
    style: str | None  # None (plain), '"', "'", '|' or '>'


@dataclass
class Document:
    data: Any
    text: str
    spans: dict[tuple[int, int], tuple]  # by the scalar's (line, col), 1-based: a Span's fields
    resolve: Callable[[], dict] | None = None  # read from JSON: finds the positions, and gives the spans

    def locate(self, pos: Pos, offset: int) -> Pos:
        """The file position of character `offset` (0-based) of the scalar value starting at `pos`."""
        if self.resolve is not None:
            self.spans = self.resolve()
        span = self.spans.get((pos.line, pos.col))
        if span is None:  # a plain scalar on one line: its text is its value
            return Pos(pos.line, pos.col + offset)
        index = _source_index(self.text, Span(*span), offset)
        line = self.text.count("\n", 0, index) + 1
        return Pos(line, index - (self.text.rfind("\n", 0, index) + 1) + 1)


def position(text: str, index: int) -> Pos:
    """The 1-based line and column of a character offset."""
    return Pos(text.count("\n", 0, index) + 1, index - (text.rfind("\n", 0, index) + 1) + 1)


def read(text: str) -> Document:
    """Parse YAML text into position-carrying maps and lists (`tree`); raise DerivatorError. JSON
    text is read by `jsontext`, its positions found by this path only when one is read."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise DerivatorError(f"file is larger than {MAX_FILE_BYTES} bytes")
    # Lines as an editor counts them: CR-only and CRLF endings become LF, and a leading BOM (which
    # an editor hides) is dropped, so that every position below is the one the user sees.
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    bad = NOT_YAML_ASCII.search(text) if text.isascii() else re.search(NOT_YAML, text)
    if bad:
        where = position(text, bad.start())
        name = "NUL character" if bad.group() == "\x00" else f"control character U+{ord(bad.group()):04X}"
        raise DerivatorError(f"{name} in file", where.line, where.col)
    # The collector would walk the growing tree of maps, lists and nodes again and again while it is
    # built (a third of the time of reading 2,000 edges); nothing made here is garbage until it is done.
    if jsontext.eligible(text):
        try:
            with collector_paused():
                data, resolve = jsontext.read(text, MAX_YAML_EVENTS, MAX_YAML_DEPTH, _positioned)
            return Document(data, text, {}, resolve)
        except jsontext.NotHere:
            pass
    return _positioned(text)


def _positioned(text: str) -> Document:
    """The YAML path: libyaml's events where they read the text as YAML 1.2 does, else ruamel's parser.
    (Also called from a JSON tree's first position read, outside `read`.)"""
    with collector_paused():
        if fastyaml.usable(text):
            try:
                return _fast(text)
            except fastyaml.TooManyError as e:
                raise DerivatorError(_too_many(), *e.args) from None
            except Exception:  # whatever went wrong, the pure path says it exactly
                pass
        return _pure(text)


def _too_many() -> str:
    return f"more than {MAX_YAML_EVENTS:,} YAML items (names, numbers, lists and maps)"


def _fast(text: str) -> Document:
    """libyaml's events, built into maps and lists in one pass (`fastyaml`)."""
    data, spans = fastyaml.read(text, MAX_YAML_EVENTS, MAX_YAML_DEPTH)
    return Document(data, text, spans)


def _pure(text: str) -> Document:
    """ruamel's pure-Python parser: slower, and the source of every error message and position."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from ruamel.yaml.parser import RoundTripParser
    from ruamel.yaml.scanner import RoundTripScanner

    yaml = YAML(typ="rt", pure=True)
    yaml.preserve_quotes = True  # a quoted scalar's position is its opening quote's
    screen = _Screen()

    class ScreeningParser(RoundTripParser):
        """Each event is screened as the composer takes it: one parse, and nothing composed unscreened."""

        def get_event(self):
            event = super().get_event()
            screen.see(event)
            return event

    class ScreeningScanner(RoundTripScanner):
        """A directive is screened where ruamel's scanner finds one: a line starting with '%' inside a
        quoted or block scalar is text, not a directive."""

        def scan_directive(self):
            index = self.reader.get_mark().index
            m = DIRECTIVE.match(text, index)
            if m and (m.group(1) != "YAML" or m.group(2) != "1.2"):
                where = position(text, index)
                raise DerivatorError(f"only YAML 1.2 is read; the directive '%{m.group(1)} {m.group(2)}' is not "
                                     "allowed", where.line, where.col)
            return super().scan_directive()

    yaml.Parser = ScreeningParser
    yaml.Scanner = ScreeningScanner
    try:
        data = yaml.load(text)
        return Document(_tree(data), text, screen.spans)
    except MarkedYAMLError as e:
        raise _marked(e, text) from None
    except (YAMLError, RecursionError, ValueError, OverflowError, AssertionError, KeyError, TypeError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DerivatorError(f"cannot read YAML: {first}") from None


def _tree(data: Any) -> Any:
    """ruamel's CommentedMap and CommentedSeq (positions 0-based, in .lc) and its round-trip scalars
    as `tree` maps and lists of plain values, as the fast path builds them."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(data, CommentedMap):
        out = Map()
        out.line, out.col, out.at = data.lc.line + 1, data.lc.col + 1, {}
        for key, value in data.items():
            k = plain(key)
            kl, kc = data.lc.key(key)
            try:
                vl, vc = data.lc.value(key)
            except (KeyError, TypeError):  # an empty value: value_pos points at its key
                vl, vc = kl, kc
            out.at[k] = (kl + 1, kc + 1, vl + 1, vc + 1)
            dict.__setitem__(out, k, _tree(value))
        return out
    if isinstance(data, CommentedSeq):
        out = Seq()
        out.line, out.col = data.lc.line + 1, data.lc.col + 1
        out.at = [(line + 1, col + 1) for line, col in (data.lc.item(i) for i in range(len(data)))]
        out.extend(_tree(item) for item in data)
        return out
    return plain(data)


def _marked(e, text: str) -> DerivatorError:
    """One line from ruamel's two-part message: at the problem, or where an unclosed thing began."""
    problem, context = (e.problem or "").strip(), (e.context or "").strip()
    mark = e.problem_mark or e.context_mark
    if problem.startswith("found duplicate key"):
        key = problem.split('"')[1] if '"' in problem else "?"
        return DerivatorError(f"duplicate key '{key}'", mark.line + 1, mark.column + 1)
    at_end = mark is not None and mark.index >= len(text.rstrip())
    if at_end and e.context_mark is not None:
        mark = e.context_mark  # an unclosed quote or bracket: point where it was opened
    message = f"{context}, {problem}" if context and problem else (problem or context or "cannot read YAML")
    return DerivatorError(message, mark.line + 1 if mark else None, mark.column + 1 if mark else None)


class _Screen:
    """Anchors, aliases, tags, merge keys and deep nesting are refused; scalars' spans are kept."""

    def __init__(self) -> None:
        self.spans: dict[tuple[int, int], Span] = {}
        self.depth = 0
        self.events = 0

    def see(self, ev) -> None:
        # By the event's class name: ruamel's events and PyYAML's (the fast path) are named alike.
        where = (ev.start_mark.line + 1, ev.start_mark.column + 1)
        kind = type(ev).__name__
        self.events += 1
        if self.events > MAX_YAML_EVENTS:  # ruamel reads some 10,000 a second: this bounds its time
            raise DerivatorError(_too_many(), *where)
        if kind == "AliasEvent" or getattr(ev, "anchor", None):
            raise DerivatorError("YAML anchors and aliases are not allowed", *where)
        if kind in STARTS and ev.tag is not None:
            tag = str(ev.tag).replace("tag:yaml.org,2002:", "!!")
            raise DerivatorError(f"YAML tags are not allowed (found {tag})", *where)
        if kind == "ScalarEvent":
            if ev.value == "<<" and not ev.style:
                raise DerivatorError("YAML merge keys (<<) are not allowed", *where)
            if ev.style or ev.end_mark.line != ev.start_mark.line:  # else its text is its value
                self.spans[where] = (ev.start_mark.index, ev.end_mark.index, ev.style or None)
        elif kind in STARTS:
            self.depth += 1
            if self.depth > MAX_YAML_DEPTH:
                raise DerivatorError(f"YAML nested more than {MAX_YAML_DEPTH} deep", *where)
        elif kind in ENDS:
            self.depth -= 1


STARTS = ("ScalarEvent", "SequenceStartEvent", "MappingStartEvent")
ENDS = ("SequenceEndEvent", "MappingEndEvent")


def _source_index(text: str, span: Span, offset: int) -> int:
    """Walk a scalar's source beside its value to find where value character `offset` came from.

    Handles quotes, backslash escapes (double quotes), '' (single quotes), block-scalar headers and
    line folding (a line break and indentation that become one space or newline in the value).
    """
    i, end, produced = span.start, span.end, 0
    if span.style in ('"', "'"):
        i += 1
        end -= 1
    elif span.style in ("|", ">"):
        i = text.find("\n", i) + 1  # skip the header line: '|', '|-', '>2', ...
        i += len(text[i:]) - len(text[i:].lstrip(" "))
    while i < end:
        if produced == offset:
            return i
        ch = text[i]
        if ch in "\n\r":  # folding: the break and the next line's indentation make one character
            i += 1
            while i < end and text[i] in " \t":
                i += 1
            produced += 1
            continue
        if span.style == '"' and ch == "\\":
            nxt = text[i + 1] if i + 1 < end else ""
            i += {"x": 4, "u": 6, "U": 10}.get(nxt, 2)
        elif span.style == "'" and text.startswith("''", i):
            i += 2
        else:
            i += 1
        produced += 1
    return min(i, max(end, span.start))


def key_pos(m: Map, key: str) -> Pos:
    if unfound(m):
        return LazyPos(key_pos, m, key)
    line, col = m.at[key][:2]
    return Pos(line, col)


def value_pos(container: Map | Seq, key: Any) -> Pos:
    """Where the value under `key` (a map key or a list index) starts; an empty value, at its key."""
    if unfound(container):
        return LazyPos(value_pos, container, key)
    try:
        if isinstance(container, Seq):
            line, col = container.at[key]
        else:
            if container[key] is None:
                return key_pos(container, key)
            line, col = container.at[key][2:]
    except (AttributeError, KeyError, IndexError, TypeError):
        return container_pos(container)
    return Pos(line, col)


def container_pos(container: Any) -> Pos:
    """Where a map or list starts (the first line for one the loader made itself)."""
    if unfound(container):
        return LazyPos(container_pos, container)
    return Pos(container.line, container.col) if isinstance(container, (Map, Seq)) else Pos(1, 1)
