"""`notation:` in a network file (CONTRACT section 10): the letters a course prints its names with.

Only printing changes: the command line and the file keep the file's names. Each value is a short
name, a letter or a Greek letter (`θ`, or `theta`), checked here so that every format can print it.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from derivator.errors import unknown
from derivator.load.fields import fail
from derivator.load.tree import Map
from derivator.load.yamlfile import key_pos, value_pos

KEYS = ["pre_activation", "output", "activation", "loss", "layer_index"]
LAYER_INDEX = ["(l)", "[l]", "l"]  # a^{(l)}_j, a^{[l]}_j, a^l_j
# Greek letters and their LaTeX commands, θ -> theta, Θ -> Theta (by Unicode's names: no look-alikes in the source);
# the capitals LaTeX has a command for.
CAPITALS = {"Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega"}
GREEK_TEX = {ch: name for ch, name in (
    (chr(c), unicodedata.name(chr(c), "").split()[-1].lower() if c >= 0x3B1 else
     unicodedata.name(chr(c), "").split()[-1].capitalize()) for c in [*range(0x391, 0x3AA), *range(0x3B1, 0x3CA)]
    if c not in (0x3A2, 0x3C2)) if name.islower() or name in CAPITALS}
# A Latin letter, then letters or digits, or a Greek letter LaTeX can print: text, LaTeX (as \theta), Markdown.
LETTERS = re.compile("[A-Za-z][A-Za-z0-9]{0,11}\\Z")


def notation(doc: Map) -> dict[str, str]:
    """The file's `notation:` as {key: value}, every key of KEYS optional; {} when there is none."""
    raw: Any = doc.get("notation")
    if raw is None:
        return {}
    if not isinstance(raw, Map):
        fail("'notation' must be a mapping, as {pre_activation: s, output: x, activation: θ, loss: e}",
             value_pos(doc, "notation"))
    out = {}
    for key, value in raw.items():
        if key not in KEYS:
            fail(unknown("notation key", str(key), KEYS), key_pos(raw, key))
        if key == "layer_index":
            if value not in LAYER_INDEX:
                fail(f"notation: layer_index is one of {', '.join(repr(v) for v in LAYER_INDEX)}, as in "
                     "a^{(l)}_j", value_pos(raw, key))
        elif not isinstance(value, str) or not (LETTERS.match(value) or value in GREEK_TEX):
            fail(f"notation: {key} must be a letter or a short name, as s, x, θ or theta", value_pos(raw, key))
        out[str(key)] = value
    return out
