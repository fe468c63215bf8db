"""The penalty (`penalty:` and `regularization:`) in numbers: added once to the target, after the reduction.

Its derivative comes from the backward plan (`Plan.penalty`); here are its value, that derivative's
value, and the penalty's own central difference for the numerical check.
"""

from __future__ import annotations

from collections.abc import Mapping

import mpmath
import sympy

from derivator.graph.network import Network, symbol
from derivator.numbers import sweep
from derivator.numbers.evaluate import value


def _env(net: Network, values: Mapping[str, float]) -> dict[sympy.Symbol, float]:
    return {symbol(s.name): values[s.name] for s in net.penalty.free_symbols}


def penalty_value(net: Network, values: Mapping[str, float], precise: bool = False):
    """The penalty at the point (0 without one)."""
    if net.penalty == 0:
        return mpmath.mpf(0) if precise else 0.0
    return value(net.penalty, _env(net, values), precise)


def penalty_gradient(net: Network, values: Mapping[str, float], precise: bool = False) -> dict[str, object]:
    """∂penalty/∂p at the point, for each parameter the penalty names."""
    if net.penalty == 0:
        return {}
    env = _env(net, values)
    return {name: value(d, env, precise) for name, d in sweep.compiled(net, "loss").plan.penalty.items()}


def penalty_difference(net: Network, name: str, values: Mapping[str, float], precise: bool, step: float) -> float:
    """The penalty's central difference in `name`, with the step the target's difference uses."""
    if not any(s.name == name for s in net.penalty.free_symbols):
        return 0.0
    theta = values[name]
    h = (mpmath.mpf(step) if precise else step) * max(1.0, abs(theta))
    up = penalty_value(net, {**values, name: theta + h}, precise)
    down = penalty_value(net, {**values, name: theta - h}, precise)
    return float((up - down) / (2 * h))
