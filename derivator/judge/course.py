"""A candidate in the course's letters of the file's `notation:` (CONTRACT section 10), besides the file's names.

With `{pre_activation: s, output: x, activation: θ}`, story 5's learner writes `2(x - y) θ'(s)`:
`s_h` is z_h, `s` alone the output unit's z, and `θ` (or `theta`, `\\theta` in LaTeX) the file's
sigmoid or tanh. An alias is added only where it is unambiguous: never over a name of the network
or a function, and the activation letter only when the file has one of sigmoid and tanh.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy

from derivator.graph.network import Network, z_symbol
from derivator.graph.primitives import FUNCTIONS
from derivator.graph.timesteps import ident
from derivator.load.notation_key import GREEK_TEX

SHAPED = {"sigmoid", "tanh"}  # the activations `activation:` names


def names(net: Network, taken: dict[str, sympy.Expr]) -> dict[str, sympy.Expr]:
    """`s_h` for z_h, and `s` for the output unit's z, where the file's notation has a pre-activation letter."""
    letter = _spelled(net.notation.get("pre_activation", "z"))
    if letter == "z" or letter in FUNCTIONS:
        return {}
    out = {f"{letter}_{ident(v)}": z_symbol(v) for v, node in net.nodes.items() if not node.is_formula}
    unit = net.notation.get("output")
    if unit in net.nodes and not net.layers and not net.nodes[unit].is_formula:
        out[letter] = z_symbol(unit)
    return {k: v for k, v in out.items() if k not in taken}


def functions(net: Network, taken: dict[str, sympy.Expr]) -> dict[str, Callable[..., sympy.Expr]]:
    """`θ` and `theta` for the file's sigmoid or tanh, where the notation names it and the file has one only."""
    letter = net.notation.get("activation")
    acts = {node.activation.name for node in net.nodes.values() if node.activation is not None} & SHAPED
    if letter is None or len(acts) != 1:
        return {}
    fn = FUNCTIONS[acts.pop()]
    spellings = {letter, _spelled(letter)}
    return {s: fn for s in spellings if s not in taken and s not in FUNCTIONS}


def _spelled(letter: str) -> str:
    """θ as `theta`, the name LaTeX's \\theta is read as; a Latin letter as itself."""
    return GREEK_TEX.get(letter, letter)
