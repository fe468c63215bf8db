"""What a target needs at a point: the names whose values it reads, the point once per sample, and the
refusal of a point that lacks one (or whose softmax targets do not sum to 1)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

import sympy

from derivator.errors import DerivatorError
from derivator.graph import order
from derivator.graph.network import Network, symbol
from derivator.numbers.evaluate import value

if TYPE_CHECKING:
    from derivator.symbolic.derive import Derivation


def samples(net: Network, values: Mapping[str, float]) -> list[dict[str, float]]:
    """The point once per sample of `data:` (its inputs and targets added), or the point alone."""
    return [{**values, **s} for s in net.samples] if net.samples else [dict(values)]


@dataclass(frozen=True)
class Needs:
    """What `needed` and `require` read of a derivation, for a target alone (every parameter at once)."""

    net: Network
    of: str
    upstream: set[str]
    kind: str | None = None
    wrt: str | None = None
    names: list[str] | None = None  # `needed`, once found


def needs(net: Network, of: str) -> Needs:
    """The target's own needs, without deriving anything: its upstream inputs and nodes, and the names
    whose values it needs (found once: `require` asks again for every sample)."""
    d = Needs(net, of, order.ancestors(net, net.outputs if of == "loss" else [of]))
    object.__setattr__(d, "names", needed(d))
    return d


def needed(d: Derivation | Needs) -> list[str]:
    """The names whose values the target depends on (so a value and a check need them)."""
    if isinstance(d, Needs) and d.names is not None:
        return d.names
    up = d.upstream
    names = [x for x in d.net.inputs if x in up]
    for n in d.net.nodes:
        if n in up:
            node = d.net.nodes[n]
            if node.is_formula:
                names += sorted(s.name for s in node.formula.free_symbols if s.name in d.net.params)
            names += _names(node.bias)
            for e in d.net.parents[n]:
                names += _names(e.weight)
    if d.of == "loss":
        names += [str(s) for t in d.net.loss.targets for s in t.free_symbols]
        names += sorted(s.name for s in d.net.penalty.free_symbols)
    if d.kind in ("input", "parameter"):
        names.append(d.wrt)
    return list(dict.fromkeys(names))


def _names(e: sympy.Expr) -> list[str]:
    """The names in a weight or bias: its own for a parameter (free_symbols builds a set each time;
    str() would build a printer), none for a number."""
    return [e.name] if e.is_Symbol else [] if e.is_Number else [s.name for s in e.free_symbols]


def require(d: Derivation | Needs, values: Mapping[str, float]) -> None:
    """Every value the target needs is given, and softmax targets sum to 1 (in each sample)."""
    for v in samples(d.net, values):
        _require(d, v)


def _require(d: Derivation | Needs, values: Mapping[str, float]) -> None:
    missing = [n for n in needed(d) if n not in values]
    if missing:
        raise DerivatorError(f"no value for {', '.join(missing)}: give "
                             f"{'them' if len(missing) > 1 else 'it'} with --at NAME=VALUE or in 'at:'")
    for group in d.net.target_groups() if d.of == "loss" else []:
        ys = [value(t, {symbol(k): v for k, v in values.items()}) for t in group]
        # p - y is the derivative only where Σ y = 1; decimals such as 0.1 + 0.2 + 0.7 miss 1 in
        # binary by a rounding of each, which changes p - y by less than p·n·2⁻⁵³, below what is printed.
        off = abs(sum(Fraction(y) for y in ys) - 1)
        if off > len(ys) * Fraction(1, 2**53):
            names = ", ".join(str(t) for t in group)
            raise DerivatorError(f"{d.net.loss.type} targets must sum to 1 (one-hot or probabilities), since "
                                 f"δ = p - y needs it; {names} sum to {math.fsum(ys):.15g}")
