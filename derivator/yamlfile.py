"""Reading YAML 1.2 safely, keeping a line and column for every value.

ruamel.yaml's round-trip loader records positions; before it builds anything, a pass over the parser's
events rejects anchors, aliases (the 'billion laughs' bomb needs them) and explicit tags, so no YAML
feature can construct objects or multiply the document's size.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent, CollectionStartEvent, ScalarEvent

from .errors import DerivatorError
from .network import Pos

MAX_FILE_BYTES = 1_000_000
MAX_YAML_DEPTH = 20  # nesting of collections; the format needs 4


def read(text: str) -> Any:
    """Parse YAML text into ruamel's position-carrying maps and lists; raise DerivatorError."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise DerivatorError(f"file is larger than {MAX_FILE_BYTES} bytes")
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise DerivatorError("NUL character in file", line, 1)
    yaml = YAML(typ="rt", pure=True)
    yaml.preserve_quotes = True  # a quoted formula's text starts one column after its position
    try:
        _screen(yaml.parse(text))
        return yaml.load(text)
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        message = (e.problem or e.context or "cannot read YAML").strip()
        message = message.replace('found duplicate key "', "duplicate key '").split('" with value')[0]
        if message.startswith("duplicate key '"):
            message += "'"
        raise DerivatorError(message, mark.line + 1 if mark else None, mark.column + 1 if mark else None) from None
    except (YAMLError, RecursionError, ValueError, OverflowError) as e:
        raise DerivatorError(f"cannot read YAML: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None


def _screen(events) -> None:
    depth = 0
    for ev in events:
        where = (ev.start_mark.line + 1, ev.start_mark.column + 1)
        if isinstance(ev, AliasEvent) or getattr(ev, "anchor", None):
            raise DerivatorError("YAML anchors and aliases are not allowed", *where)
        if isinstance(ev, (ScalarEvent, CollectionStartEvent)) and ev.tag is not None:
            raise DerivatorError(f"YAML tags are not allowed (found {ev.tag})", *where)
        if isinstance(ev, CollectionStartEvent):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise DerivatorError(f"YAML nested more than {MAX_YAML_DEPTH} deep", *where)
        elif type(ev).__name__ in ("MappingEndEvent", "SequenceEndEvent"):
            depth -= 1


def key_pos(m: CommentedMap, key: str) -> Pos:
    line, col = m.lc.key(key)
    return Pos(line + 1, col + 1)


def value_pos(container: CommentedMap | CommentedSeq, key: Any) -> Pos:
    """Where the value under `key` (a map key or a list index) starts."""
    try:
        if isinstance(container, CommentedSeq):
            line, col = container.lc.item(key)
        else:
            line, col = container.lc.value(key)
    except (AttributeError, KeyError, IndexError, TypeError):
        return container_pos(container)
    return Pos(line + 1, col + 1)


def container_pos(container: Any) -> Pos:
    """Where a map or list starts (the first line when ruamel did not record it)."""
    lc = getattr(container, "lc", None)
    if lc is not None and lc.line is not None:
        return Pos(lc.line + 1, lc.col + 1)
    return Pos(1, 1)
