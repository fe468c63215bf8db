"""The worked example's numbers: every forward value, the target, and every delta at the point.

A learner redoes each line by hand (`z_h1 = w1 I + 1 = 1.5`, `h1 = σ(z_h1) = 0.8175...`), so each
quantity of the derivation gets its value: from one forward and one reverse sweep of the compiled
network, in mpmath at rising precision until two precisions agree (saturated units keep their
digits). With data, the values are the first sample's, as the derivation is written in one sample's
node values; the loss is given for every sample, and the target J over them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from derivator.graph.network import Network
from derivator.numbers import checking, lean, sweep
from derivator.numbers.evaluate import UndefinedError
from derivator.numbers.penalty import penalty_value


@dataclass
class Worked:
    forward: dict[str, float]  # every input and node value and z_NODE, and "loss" (the sample's target)
    deltas: dict[str, float]  # δ_v: ∂target/∂z_v for a neuron, ∂target/∂v for a formula node
    losses: list[float] = field(default_factory=list)  # with data: each sample's loss
    target: float | None = None  # the target: with data J over the samples, plus the penalty once


def worked(net: Network, of: str, values: Mapping[str, float]) -> Worked | None:
    """The numbers of every step at the point; None where some value is not given."""
    try:
        return from_lean(net, of, lean.solve(net, of, checking.samples(net, values)))
    except (lean.Unsupported, KeyError, TypeError):  # or a value not given: the general sweep says which
        return general(net, of, values)


def general(net: Network, of: str, values: Mapping[str, float]) -> Worked | None:
    """The worked numbers by the general sweep (`numbers.sweep`), at rising precision."""
    points = checking.samples(net, values)
    c = sweep.compiled(net, of)

    def compute(precise: bool = True) -> Worked:
        states = [c.forward(p, precise=precise) for p in points]
        c.backward(states[0], precise=precise)
        first = states[0]
        forward = {n: float(first.o[i]) for n, i in c.index.items() if first.o[i] is not None}
        forward |= {f"z_{n}": float(first.z[i]) for n, i in c.index.items() if first.z[i] is not None}
        losses = [float(s.target) for s in states]
        extra = float(penalty_value(net, points[0], precise=precise)) if of == "loss" else 0.0
        forward[of if of != "loss" else "loss"] = losses[0]
        return Worked(forward, {n: float(d) for n, d in c.deltas.items()}, losses,
                      checking.combine(net, losses) + extra)

    def agree(a: Worked, b: Worked) -> bool:
        return all(abs(a.forward[k] - b.forward[k]) <= 1e-13 * abs(a.forward[k]) for k in a.forward) and \
            all(abs(a.deltas[k] - b.deltas[k]) <= 1e-13 * abs(a.deltas[k]) for k in a.deltas)

    try:  # float64 first, as for the gradient's values: where 40 digits agree with it, one mpmath sweep is enough
        first = compute(precise=False)
    except (ArithmeticError, ValueError, KeyError, UndefinedError):
        first = None
    try:
        result, _ = checking.stable(compute, agree, "the target has no finite value at the point", first=first)
    except (KeyError, UndefinedError, OverflowError):
        return None
    return result


def from_lean(net: Network, of: str, s: lean.Solved) -> Worked:
    """The worked numbers of the lean sweep (which has no penalty)."""
    return Worked({**s.forward, of: s.losses[0]}, s.deltas, s.losses, checking.combine(net, s.losses))
