"""Reading YAML at C speed: libyaml's events (through PyYAML's CParser) composed into ruamel's nodes.

ruamel's pure-Python scanner and parser were most of the time of loading a large network. libyaml
gives the same events with the same line, column and character index, so only the scanning moves to
C: the events are screened by yamlfile's _Screen, composed into ruamel.yaml's nodes with tags from
ruamel's own resolver (YAML 1.2 core schema, as the pure path resolves them) and built by ruamel's
RoundTripConstructor, so the maps and lists and their .lc positions are the pure path's.

Anything unusual returns None or raises, and the caller then reads the file again the pure way, so
every error message and position is the pure path's: libyaml reads YAML 1.1, and only where the two
agree (no directives, no NEL/U+2028/U+2029 line breaks, no error of any kind) is its answer used.
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


def compose(text: str, screen: Any, resolver: Any) -> Any:
    """The document's root node (None for an empty stream); raises on anything but one plain document."""
    parser = CParser(text)
    try:
        return _compose(parser, text, screen, resolver)
    finally:
        parser.dispose()


def _compose(parser: Any, text: str, screen: Any, resolver: Any) -> Any:
    see, get = screen.see, parser.get_event
    # ruamel's VersionedResolver.resolve, with its YAML 1.2 table fetched once rather than per scalar
    # (the lookup goes through two properties and an exception), and one Tag object per tag.
    if resolver.yaml_path_resolvers:
        raise ValueError("path resolvers")
    table = resolver.versioned_resolver
    anywhere = table.get(None, [])
    tags = {kind: resolver.resolve(kind, None, (False, False)) for kind in (ScalarNode, SequenceNode, MappingNode)}
    found: dict[str, Any] = {}

    def resolve(kind, value, implicit):
        if kind is ScalarNode and implicit[0]:
            for tag, regexp in table.get(value[:1], []) + anywhere:
                if regexp.match(value):
                    return found.setdefault(tag, Tag(suffix=tag))
        return tags[kind]

    stack: list[list[Any]] = []  # open collections, innermost last, each with a map's key waiting for its value
    root = None
    documents = 0
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
            node = ScalarNode(resolve(ScalarNode, ev.value, ev.implicit), ev.value, ev.start_mark, ev.end_mark,
                              style=ev.style or None)  # libyaml's plain style is '', ruamel's None
        elif kind == "MappingStartEvent" or kind == "SequenceStartEvent":
            cls = MappingNode if kind == "MappingStartEvent" else SequenceNode
            node = cls(resolve(cls, None, ev.implicit), [], ev.start_mark, None, flow_style=ev.flow_style)
            if stack:
                _add(stack[-1], node)
            stack.append([node, None])
            continue
        elif kind == "MappingEndEvent" or kind == "SequenceEndEvent":
            node = stack.pop()[0]
            node.end_mark = ev.end_mark
            if not stack:
                root = node
            continue
        elif kind == "DocumentStartEvent":
            documents += 1
            if documents > 1:
                raise ValueError("more than one document")  # the pure path says so, with positions
            continue
        elif kind == "StreamEndEvent":
            return root
        elif kind in ("StreamStartEvent", "DocumentEndEvent"):
            continue
        else:
            raise ValueError(f"unexpected {kind}")  # aliases: the screen refuses them first
        if stack:
            _add(stack[-1], node)
        else:
            root = node


def _add(open_: list[Any], node: Any) -> None:
    """Put a node into an open collection: a map takes a key, then its value."""
    parent, key = open_
    if parent.__class__ is SequenceNode:
        parent.value.append(node)
    elif key is None:
        open_[1] = node
    else:
        parent.value.append((key, node))
        open_[1] = None


# The scalars that ruamel's round-trip constructor builds with a plain function (no generator, no state).
SIMPLE = frozenset(f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null"))


def build(node: Any, constructor: Any) -> Any:
    """Maps and lists exactly as ruamel's RoundTripConstructor makes them (CommentedMap, CommentedSeq,
    the same .lc line and column for every key, value and item), without its per-node bookkeeping
    for anchors, comments and merge keys, which the screen has refused. Scalars are ruamel's own.

    Raises on a map key that is not a scalar and on a duplicate key: the pure path reports those."""
    table = constructor.yaml_constructors

    def make(n: Any) -> Any:
        cls = n.__class__
        if cls is ScalarNode:
            tag = n.tag
            return table[tag](constructor, n) if tag in SIMPLE else constructor.construct_object(n, deep=True)
        if cls is SequenceNode:
            data = CommentedSeq()
            data._yaml_set_line_col(n.start_mark.line, n.start_mark.column)
            # list.extend: CommentedSeq.append shifts comments item by item, and there are none
            list.extend(data, [make(child) for child in n.value])
            lc = data.lc
            for idx, child in enumerate(n.value):
                mark = child.start_mark
                lc.add_idx_line_col(idx, [mark.line, mark.column])
        else:
            data = CommentedMap()
            data._yaml_set_line_col(n.start_mark.line, n.start_mark.column)
            lc = data.lc
            for key_node, value_node in n.value:
                if key_node.__class__ is not ScalarNode:
                    raise ValueError("a map key that is a list or a map")
                key = make(key_node)
                if key in data:
                    raise ValueError("duplicate key")
                value = make(value_node)
                k, v = key_node.start_mark, value_node.start_mark
                lc.add_kv_line_col(key, [k.line, k.column, v.line, v.column])
                data[key] = value
        if len(data) and n.flow_style is not None:
            data.fa.set_flow_style() if n.flow_style else data.fa.set_block_style()
        return data

    return make(node)
