"""`--step RATE`: one step of gradient descent on every parameter, and the target before and after.

The worked example ends this way: each weight's new value `w ← w - η ∂J/∂w`, then the error again
with the new weights, so a learner sees the step lower it (or, at too large a rate, not).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from derivator.answers.gradient import gradient
from derivator.errors import DerivatorError
from derivator.graph.network import Network
from derivator.load.fields import positive
from derivator.numbers import checking
from derivator.numbers.worked import worked


@dataclass
class Descent:
    of: str  # the target's name as printed: J over data, else loss or the node
    rate: float
    rows: list[tuple[str, float, float, float]]  # (parameter, old value, derivative, new value)
    target_before: float
    target_after: float | None  # None where the new point has no finite target

    @property
    def parameters(self) -> dict[str, float]:
        return {name: new for name, _, _, new in self.rows}


def parse_rate(text: str) -> float:
    rate = positive(text)
    if rate is None:
        raise DerivatorError(f"--step takes a learning rate, a positive number, not '{text}'")
    return rate


def descend(net: Network, of: str, rate: float, at: Mapping[str, float] | None = None) -> Descent:
    """p ← p - rate ∂target/∂p for every parameter, from one backward pass; the target at both points."""
    if not net.params:
        raise DerivatorError("--step: the network has no parameters (weights and biases given by name)")
    g = gradient(net, None, of, at)
    if g.missing:
        raise DerivatorError(f"--step needs the value of {', '.join(g.missing)}: give it with --at NAME=VALUE")
    values = checking.point(net, at)
    rows = [(r.name, values[r.name], r.value, values[r.name] - rate * r.value) for r in g.rows]
    moved = {**values, **{name: new for name, _, _, new in rows}}
    after = worked(net, g.of, moved)
    return Descent("J" if net.samples else g.of, rate, rows, g.target, after.target if after is not None else None)
