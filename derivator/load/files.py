"""Reading a network file: bounded, UTF-8, positions for every error; or a dict from a notebook."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from derivator import arguments
from derivator.errors import DerivatorError
from derivator.graph.network import Network, Pos
from derivator.load.fields import fail
from derivator.load.spec import Reader
from derivator.load.tree import Map
from derivator.load.yamlfile import MAX_FILE_BYTES, container_pos, read


def read_bytes(path: str | Path, cap: int, what: str = "file") -> bytes:
    """A file's bytes, or an error when it cannot be read or has more than `cap`."""
    return bounded(path, cap, f"cannot read {what}", f"{what} is larger")


@arguments.public
def load(path: str | Path) -> Network:
    """Read and check a network file."""
    if not isinstance(path, (str, Path)):
        raise DerivatorError(f"load takes a file name, not {type(path).__name__}")
    path = Path(path)
    if path.is_dir():
        raise DerivatorError("is a directory, not a network file")
    data = read_bytes(path, MAX_FILE_BYTES)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line_start = data.rfind(b"\n", 0, e.start) + 1
        col = len(data[line_start:e.start].decode("utf-8", "replace")) + 1
        raise DerivatorError("file is not UTF-8 text", data.count(b"\n", 0, e.start) + 1, col) from None
    return loads(text)


@arguments.public
def loads(text: str | Mapping[str, Any]) -> Network:
    """Check a network given as YAML text, or as a dict (from a notebook), which is read as its JSON."""
    if isinstance(text, Mapping):
        try:
            text = json.dumps(text, indent=1, allow_nan=False)
        except (TypeError, ValueError) as e:
            raise DerivatorError(f"the network dict cannot be read: {e}") from None
        except RecursionError:  # json's encoder recurses once per level
            raise DerivatorError("the network dict is nested too deeply to read") from None
    if not isinstance(text, str):
        raise DerivatorError(f"loads takes YAML text or a dict, not {type(text).__name__}")
    doc = read(text)
    if not isinstance(doc.data, Map):
        fail("a network file is a map with 'inputs', 'nodes', 'edges' and 'output'",
             container_pos(doc.data) if doc.data is not None else Pos(1, 1))
    return Reader(doc).network()


def bounded(path: str | Path, cap: int, unreadable: str, larger: str) -> bytes:
    """A file's bytes, at most `cap`; an error `UNREADABLE: why` or `LARGER than CAP bytes` otherwise."""
    try:
        with open(path, "rb") as f:  # no more than the cap and one byte: /dev/zero is a "file" too
            data = f.read(cap + 1)
    except OSError as e:
        raise DerivatorError(f"{unreadable}: {e.strerror or e}") from None
    if len(data) > cap:
        raise DerivatorError(f"{larger} than {cap} bytes")
    return data


MAX_CANDIDATE_BYTES = 64_000  # far above any hand derivation; the formula's own caps apply after


def candidate_text(candidate: str | None, path: str | None) -> str | None:
    """`--candidate EXPR`, or the text of `--candidate-file PATH` (bounded, UTF-8, trailing space dropped)."""
    if path is None:
        return candidate
    if candidate is not None:
        raise DerivatorError("give --candidate or --candidate-file, not both")
    data = bounded(path, MAX_CANDIDATE_BYTES, f"--candidate-file: cannot read '{path}'",
                   f"--candidate-file: '{path}' is larger")
    try:
        return data.decode("utf-8-sig").rstrip()
    except UnicodeDecodeError as e:
        raise DerivatorError(f"--candidate-file: '{path}' is not UTF-8 text (byte {e.start + 1})") from None
