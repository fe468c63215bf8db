"""Reading YAML at C speed: libyaml's events (through PyYAML's CParser) built into ruamel's maps and lists.

ruamel's pure-Python scanner and parser were most of the time of loading a large network. libyaml
gives the same events with the same line, column and character index, so the scanning moves to C:
the events are screened by yamlfile's _Screen, each scalar becomes a ruamel ScalarNode tagged by
ruamel's own resolver (YAML 1.2 core schema, as the pure path resolves it) and is built by ruamel's
RoundTripConstructor, and the maps and lists are CommentedMap and CommentedSeq with the .lc
positions that constructor gives them, so the data is the pure path's (tests/test_fastyaml.py).

Anything unusual raises, and the caller then reads the text again the pure way, so every error
message and position is the pure path's: libyaml reads YAML 1.1, and only where the two agree (no
directives, tabs or NEL/U+2028/U+2029 line breaks, no empty values, no error of any kind) is its
answer used.
"""

from __future__ import annotations

import re
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode
from ruamel.yaml.tag import Tag

try:
    from yaml._yaml import CParser  # present when PyYAML was built with libyaml (yaml.__with_libyaml__)
except ImportError:  # PyYAML is a dependency; without it, or without libyaml, the pure path reads all
    CParser = None

# Where YAML 1.1 (libyaml) and 1.2 (ruamel) read a stream differently, or the pure path has its own
# message: a directive, the line breaks that YAML 1.2 no longer counts as line breaks, and tabs
# (ruamel refuses '1<TAB>' at the end of a document, libyaml reads it).
DIFFERENT = re.compile("^%|[\t\x85\u2028\u2029]", re.MULTILINE)


# A block scalar's header as both read it: indicator, indentation and chomping, then a comment after a space.
HEADER = re.compile(r"[|>](?:[1-9][-+]?|[-+][1-9]?)?(?: +(?:#[^\n]*)?)?(?:\n|\Z)")


def usable(text: str) -> bool:
    return CParser is not None and DIFFERENT.search(text) is None


class _Versionless:
    """Stands in for ruamel's scanner: no %YAML directive was seen, so the resolver reads YAML 1.2.

    Without it ruamel's resolver asks the loader for its scanner at every number and catches the
    AttributeError, which costs more than building the number."""

    yaml_version = None


def read(text: str, screen: Any, resolver: Any, constructor: Any) -> Any:
    """The document's data (None for an empty stream); raises on anything but one plain document."""
    parser = CParser(text)
    try:
        return _build(parser, text, screen, _resolver(resolver), constructor)
    finally:
        parser.dispose()


def _resolver(resolver: Any):
    """ruamel's VersionedResolver.resolve for scalars, with its YAML 1.2 table fetched once rather than
    per scalar (the lookup goes through two properties and an exception), and one Tag object per tag."""
    if resolver.yaml_path_resolvers:
        raise ValueError("path resolvers")
    table = resolver.versioned_resolver
    anywhere = table.get(None, [])
    plain_text = resolver.resolve(ScalarNode, "", (False, False))
    found: dict[str, Any] = {}

    def resolve(value: str, implicit: tuple[bool, bool]) -> Any:
        if implicit[0]:
            for tag, regexp in table.get(value[:1], []) + anywhere:
                if regexp.match(value):
                    return found.setdefault(tag, Tag(suffix=tag))
        return plain_text

    for kind in (SequenceNode, MappingNode):  # a collection's tag is its kind's: nothing else is built
        assert resolver.resolve(kind, None, (True, False)).suffix == f"tag:yaml.org,2002:{kind.id[:3]}"
    return resolve


# The scalars that ruamel's round-trip constructor builds with a plain function (no generator, no state).
SIMPLE = frozenset(f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null"))


def _build(parser: Any, text: str, screen: Any, resolve: Any, constructor: Any) -> Any:
    """Maps and lists exactly as ruamel's RoundTripConstructor makes them (CommentedMap, CommentedSeq,
    the same .lc line and column for every key, value and item; scalars by ruamel's own functions),
    in one pass over the events, without its per-node bookkeeping for anchors, comments and merge
    keys, which the screen has refused. Raises on a key that is a list or a map and on a duplicate
    key: the pure path reports those."""
    see, get, table = screen.see, parser.get_event, constructor.yaml_constructors
    # Open collections, innermost last: [data, flow_style, key, key's mark] (the key of a map waiting
    # for its value; for a list, key is False).
    stack: list[list[Any]] = []
    root, documents = None, 0
    while True:
        ev = get()
        see(ev)
        kind = type(ev).__name__
        if kind == "ScalarEvent":
            if ev.start_mark.index == ev.end_mark.index:
                # An empty value: libyaml places it after the ':', ruamel at the next token.
                raise ValueError("an empty value")
            if ev.style in ("|", ">") and not HEADER.match(text, ev.start_mark.index):
                raise ValueError("a block scalar's header")  # '>#' is an error in YAML 1.2, not in libyaml
            node = ScalarNode(resolve(ev.value, ev.implicit), ev.value, ev.start_mark, ev.end_mark,
                              style=ev.style or None)  # libyaml's plain style is '', ruamel's None
            tag = node.tag
            data = table[tag](constructor, node) if tag in SIMPLE else constructor.construct_object(node, deep=True)
            if not stack:
                root = data
            else:
                _put(stack[-1], data, ev.start_mark, scalar=True)
            continue
        if kind == "MappingStartEvent" or kind == "SequenceStartEvent":
            data = CommentedMap() if kind == "MappingStartEvent" else CommentedSeq()
            data._yaml_set_line_col(ev.start_mark.line, ev.start_mark.column)
            if not stack:
                root = data
            else:
                _put(stack[-1], data, ev.start_mark, scalar=False)
            stack.append([data, ev.flow_style, None if kind == "MappingStartEvent" else False, None])
            continue
        if kind == "MappingEndEvent" or kind == "SequenceEndEvent":
            data, flow, _, _ = stack.pop()
            if len(data) and flow is not None:
                data.fa.set_flow_style() if flow else data.fa.set_block_style()
            continue
        if kind == "DocumentStartEvent":
            documents += 1
            if documents > 1:
                raise ValueError("more than one document")  # the pure path says so, with positions
            continue
        if kind == "StreamEndEvent":
            return root
        if kind not in ("StreamStartEvent", "DocumentEndEvent"):
            raise ValueError(f"unexpected {kind}")  # aliases: the screen refuses them first


def _put(open_: list[Any], data: Any, mark: Any, scalar: bool) -> None:
    """Put a value into an open collection: a list appends it, a map takes a key and then its value."""
    parent, _, key, key_mark = open_
    if key is False:
        # list.append: CommentedSeq.append shifts comments item by item, and there are none
        parent.lc.add_idx_line_col(len(parent), [mark.line, mark.column])
        list.append(parent, data)
    elif key_mark is None:
        if not scalar:
            raise ValueError("a map key that is a list or a map")
        if data in parent:
            raise ValueError("duplicate key")
        open_[2], open_[3] = data, mark
    else:
        parent.lc.add_kv_line_col(key, [key_mark.line, key_mark.column, mark.line, mark.column])
        parent[key] = data
        open_[2] = open_[3] = None
