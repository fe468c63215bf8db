"""Difference quotients at the digits a value needs, and what they cost.

A central difference sees a change of size |derivative|·h against a target of size |target|, so a
derivative r digits below its target (10^-r of it: a deep chain's first weight, a saturated unit)
needs some r digits more than usual, whatever the precision ladder offers. Two rungs, cheapest first:

- steps 10^-6 and 10^-7 (times max(1, |θ|)) at r + 25 digits: rounding leaves 10^-14 of the
  derivative; truncation, c h², differs by 100 between the two steps, so their agreeing to 1e-9 bounds
  it below 1e-11 (it holds where the target's third derivative is not far larger than its first);
- steps ε^(1/3) at 1.5 (12 + r) and 20 more digits: rounding and truncation each ε^(2/3) 10^r, below
  1e-12 whenever the third derivative is no larger than the target itself.

Each rung is two central differences, trusted only where they agree with each other. Work is counted
in float64 passes of the compiled network: an mpmath pass at d digits costs `cost(d)` of them
(measured: 17 at 40 digits, 23 at 120, 78 at 400, 520 at 1,200), and the caller pays before each rung.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import mpmath

from derivator.graph.network import Network
from derivator.numbers import sweep
from derivator.numbers.evaluate import UndefinedError
from derivator.numbers.penalty import penalty_difference, penalty_value

# A check of one derivative may do this many float64 multiply-adds of the network (samples x weights
# and nodes, per pass) in its high-precision rungs; past that it is inconclusive, not slow.
MAX_WORK = 4_000_000
TOP_DIGITS = 1200  # as the precision ladder's top (checking.PRECISE_DIGITS)
AGREE = 1e-9  # two central differences with different steps agree to this
FLOAT_STEP = float(2.0 ** -52) ** (1 / 3)  # float64's step, times max(1, |θ|), as checking.STEP


def cost(digits: int) -> float:
    """One mpmath pass at `digits`, in float64 passes."""
    return 16 + digits * digits / 2500


def ratio(value: float, target) -> float | None:
    """log10(|target| / |value|): how many digits of the target a difference quotient must see through.
    `target` may be an mpmath number beyond float64 (a penalty on a weight of 1e308)."""
    if not value or not math.isfinite(value) or target is None or not mpmath.isfinite(target):
        return None
    with mpmath.workdps(20):
        digits = float(mpmath.log10(max(abs(mpmath.mpf(target)), mpmath.mpf("1e-300"))))
    return max(0.0, digits - math.log10(abs(value)))


def size(net: Network, of: str, points: Sequence[Mapping[str, float]]):
    """|target| at 40 digits, as an mpmath number (it may pass float64), with the penalty's value, whose
    difference sees it whole; None where it has no value."""
    c = sweep.compiled(net, of)
    with mpmath.workdps(40):
        try:
            total = abs(mpmath.fsum(c.forward(p, True).target for p in points)) / len(points)
            return total + (abs(penalty_value(net, points[0], True)) if of == "loss" else 0)
        except (UndefinedError, OverflowError, ValueError, ZeroDivisionError):
            return None


def rungs(r: float) -> list[tuple[int, tuple[float | None, float | None]]]:
    """(digits, (two steps)) for a value r digits below its target; a step None is ε^(1/3) there."""
    third = max(40, math.ceil(1.5 * (12 + r)))
    out = [(max(40, math.ceil(r) + 25), (1e-6, 1e-7))]
    return out + ([(third, (None, None))] if third + 20 <= TOP_DIGITS else [])


def central(net: Network, of: str, name: str, values: Mapping[str, float], theta: float, precise: bool,
            step) -> float:
    """(target(θ + h) - target(θ - h)) / 2h through the compiled network, h = step·max(1, |θ|)."""
    c = sweep.compiled(net, of)
    h = (mpmath.mpf(step) if precise else step) * max(1.0, abs(theta))
    return float((c.forward(values, precise, nudge=(name, h)).target
                  - c.forward(values, precise, nudge=(name, -h)).target) / (2 * h))


def difference(net: Network, of: str, name: str, points: Sequence[Mapping[str, float]],
               thetas: Sequence[float], digits: int | None, step=None) -> float | None:
    """The central difference of the target (over the samples, with the penalty's) in `name`: float64
    (digits None, the usual step) or mpmath at `digits` with step `step` (ε^(1/3) when None)."""
    precise = digits is not None
    try:
        with mpmath.workdps(digits or 15):
            h = FLOAT_STEP if not precise else mpmath.mpf(step) if step else mpmath.mpf(10) ** (-mpmath.mpf(digits) / 3)
            diffs = [central(net, of, name, p, t, precise, h) for p, t in zip(points, thetas, strict=True)]
            apart = penalty_difference(net, name, points[0], precise, h) if of == "loss" and name in net.params else 0
            return float(net.combine(diffs) + apart)
    except (UndefinedError, OverflowError):
        return None


def resolve(net: Network, of: str, name: str, points: Sequence[Mapping[str, float]], thetas: Sequence[float],
            value: float, target, pay: Callable[[float], bool]) -> tuple[float, str] | None:
    """A central difference that resolves `value`, from the rungs above, or None: none agrees with
    itself, or `pay` refuses the next rung's work (float64 multiply-adds)."""
    r = ratio(value, target)
    if r is None:
        return None
    steps = len(points) * (len(net.edges) + len(net.nodes))
    for digits, (h1, h2) in rungs(r):
        second = digits if h1 else digits + 20
        if not pay(2 * steps * (cost(digits) + cost(second))):
            return None
        a = difference(net, of, name, points, thetas, digits, h1)
        b = difference(net, of, name, points, thetas, second, h2)
        # two zeros are a target that did not move in these digits, not a derivative of 0
        if a is not None and b is not None and (a or b) and abs(a - b) <= AGREE * max(abs(a), abs(b)):
            return b, f"central difference (mpmath, {second} digits)"
    return None
