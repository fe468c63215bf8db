"""Reading YAML at C speed: libyaml's events (through PyYAML's CParser) built straight into `tree` maps and lists.

ruamel's pure-Python scanner and parser were most of the time of loading a network. libyaml gives
the same events with the same line, column and character index, so the scanning moves to C and
one loop here builds the maps and lists, with the positions the pure path records and the scalars
it makes (YAML 1.2 core schema): names and plain decimal numbers are resolved here, and any other
plain scalar (`0x1F`, `.inf`, `1_000`, a date) by ruamel's own resolver and constructor, imported
only then. tests/test_fastyaml.py holds the two paths to the same data on every spec, every hostile
file and generated documents.

Anything unusual raises `UnusualError`, and the caller then reads the text the pure way, so every error
message and position is the pure path's: libyaml reads YAML 1.1, and only where the two agree (no
directives, tabs or NEL/U+2028/U+2029 line breaks, no empty values, anchors, aliases, tags or
merge keys, no duplicate or collection keys, no error of any kind) is its answer used.
"""

from __future__ import annotations

import re
from typing import Any

from derivator.load.tree import Map, Seq, plain

try:  # present when PyYAML was built with libyaml (yaml.__with_libyaml__)
    from yaml._yaml import CParser
    from yaml.events import (
        DocumentEndEvent,
        DocumentStartEvent,
        MappingEndEvent,
        MappingStartEvent,
        ScalarEvent,
        SequenceEndEvent,
        SequenceStartEvent,
        StreamEndEvent,
        StreamStartEvent,
    )
except ImportError:  # PyYAML is a dependency; without it, or without libyaml, the pure path reads all
    CParser = None

# Where YAML 1.1 (libyaml) and 1.2 (ruamel) read a stream differently, or the pure path has its own
# message: a directive, the line breaks that YAML 1.2 no longer counts as line breaks, and tabs
# (ruamel refuses '1<TAB>' at the end of a document, libyaml reads it).
DIFFERENT = re.compile("^%|[\t\x85\u2028\u2029]", re.MULTILINE)

# A block scalar's header as both read it: indicator, indentation and chomping, then a comment after a space.
HEADER = re.compile(r"[|>](?:[1-9][-+]?|[-+][1-9]?)?(?: +(?:#[^\n]*)?)?(?:\n|\Z)")

# Plain scalars the core schema reads one way only, resolved here (the rest go to ruamel's resolver).
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
FLOAT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)(?:\.[0-9]*(?:[eE][-+]?[0-9]+)?|[eE][-+]?[0-9]+)")
WORDS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False,
         "null": None, "Null": None, "NULL": None, "~": None}


LIST, NO_KEY = object(), object()  # a frame's key in a list, and in a map between a value and the next key


class UnusualError(ValueError):
    """Something the pure path must read (and report, if it is an error)."""


class TooManyError(Exception):
    """More events than the cap, at (line, col): the pure path, which reads some 10,000 a second, would
    say the same after seconds (the events before agreed, or it would be reading them instead)."""


def usable(text: str) -> bool:
    return CParser is not None and DIFFERENT.search(text) is None


def read(text: str, max_events: int, max_depth: int) -> tuple[Any, dict[tuple[int, int], tuple]]:
    """The document's data (None for an empty stream) and the spans of its scalars that need one
    (quoted, block or over several lines: (line, col) -> (start, end, style)); raises on anything
    but one plain document."""
    parser = CParser(text)
    try:
        return _build(parser, text, max_events, max_depth)
    finally:
        parser.dispose()


def _build(parser: Any, text: str, max_events: int, max_depth: int) -> tuple[Any, dict]:
    """One pass over the events. Open collections are frames [data, key, key's line, key's column]
    (a list's key is LIST; a map waiting for a key has NO_KEY: a key may itself be None or False)."""
    get, scalar, spans = parser.get_event, _Scalars(), {}
    is_name, words = NAME.fullmatch, WORDS
    stack: list[list[Any]] = []
    root, documents, events = None, 0, 0
    while True:
        ev = get()
        events += 1
        if events > max_events:
            raise TooManyError(ev.start_mark.line + 1, ev.start_mark.column + 1)
        cls = type(ev)
        if cls is ScalarEvent:
            if ev.anchor is not None or ev.tag is not None:
                raise UnusualError("an anchor or a tag")
            mark, end = ev.start_mark, ev.end_mark
            if mark.index == end.index:
                raise UnusualError("an empty value")  # libyaml places it after the ':', ruamel at the next token
            style, line, col = ev.style, mark.line + 1, mark.column + 1
            if style:
                if style in "|>" and not HEADER.match(text, mark.index):
                    raise UnusualError("a block scalar's header")  # '>#' is an error in YAML 1.2, not in libyaml
                data = ev.value
                spans[line, col] = (mark.index, end.index, style)
            else:
                data = ev.value
                data = words.get(data, data) if is_name(data) else scalar(data, mark)  # names: most scalars
                if end.line != mark.line:
                    spans[line, col] = (mark.index, end.index, None)
            is_scalar = True
        elif cls is MappingStartEvent or cls is SequenceStartEvent:
            if ev.anchor is not None or ev.tag is not None:
                raise UnusualError("an anchor or a tag")
            mark = ev.start_mark
            line, col = mark.line + 1, mark.column + 1
            data = Map() if cls is MappingStartEvent else Seq()
            data.line, data.col = line, col
            data.at = {} if cls is MappingStartEvent else []
            is_scalar = False
        elif cls is MappingEndEvent or cls is SequenceEndEvent:
            stack.pop()
            continue
        elif cls is StreamEndEvent:
            return root, spans
        elif cls is DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise UnusualError("more than one document")  # the pure path says so, with positions
            continue
        elif cls is StreamStartEvent or cls is DocumentEndEvent:
            continue
        else:
            raise UnusualError(cls.__name__)  # an alias
        if not stack:
            root = data
        else:
            frame = stack[-1]
            parent, key = frame[0], frame[1]
            if key is LIST:
                parent.at.append((line, col))
                list.append(parent, data)
            elif key is NO_KEY:
                if not is_scalar:
                    raise UnusualError("a map key that is a list or a map")
                if data in parent or (data == "<<" and not style):
                    raise UnusualError("a duplicate key or a merge key")
                frame[1], frame[2], frame[3] = data, line, col
            else:
                parent.at[key] = (frame[2], frame[3], line, col)
                dict.__setitem__(parent, key, data)
                frame[1] = NO_KEY
        if not is_scalar:
            if len(stack) >= max_depth:
                raise UnusualError("nested too deep")
            stack.append([data, NO_KEY if cls is MappingStartEvent else LIST, 0, 0])


class _Scalars:
    """A plain scalar's value: names, words and decimal numbers here; the rest by ruamel, as the pure path."""

    def __init__(self) -> None:
        self._ruamel = None

    def __call__(self, value: str, mark: Any) -> Any:
        if NAME.fullmatch(value) or value == "~":
            return WORDS[value] if value in WORDS else value
        if INT.fullmatch(value):
            return int(value)
        if FLOAT.fullmatch(value):
            return float(value)
        if self._ruamel is None:
            self._ruamel = _ruamel_scalars()
        return self._ruamel(value, mark)


def _ruamel_scalars():
    """ruamel's YAML 1.2 resolver and round-trip constructor for one plain scalar, as plain data."""
    from ruamel.yaml import YAML
    from ruamel.yaml.nodes import ScalarNode

    class Versionless:  # no %YAML directive was seen, so the resolver reads YAML 1.2 (without asking
        yaml_version = None  # the loader for its scanner at every number and catching an AttributeError)

    yaml = YAML(typ="rt", pure=True)
    yaml._scanner = Versionless()
    if yaml.resolver.yaml_path_resolvers:
        raise UnusualError("path resolvers")

    def construct(value: str, mark: Any) -> Any:
        tag = yaml.resolver.resolve(ScalarNode, value, (True, False))
        if tag.suffix in ("tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"):
            raise UnusualError("a YAML 1.1 key")
        return plain(yaml.constructor.construct_object(ScalarNode(tag, value, mark, mark), deep=True))

    return construct
