"""Numbers at a point: the forward pass, the derivative's value, and the numerical check of it.

The check is the test oracle as much as a feature. A central difference in float64 with a step
scaled to the variable comes first; when it does not agree (cancellation, saturation, overflow) an
mpmath derivative at high precision decides. A kink (relu at 0) is named, not counted as a
disagreement.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import mpmath
import sympy

from derivator.errors import DerivatorError, unknown
from derivator.graph import order
from derivator.graph.network import Network, symbol, z_symbol
from derivator.graph.primitives import KINKED, PRIMITIVES
from derivator.graph.rules import SUMS_TO_ONE, X
from derivator.numbers import sweep
from derivator.numbers.evaluate import UndefinedError, value
from derivator.numbers.penalty import penalty_difference
from derivator.symbolic.derive import Derivation

T = TypeVar("T")
RELATIVE_TOLERANCE = 1e-6  # CONTRACT: agree within this relative error ...
ABSOLUTE_TOLERANCE = 1e-12  # ... or this absolute one near zero
STEP = float(2.0 ** -52) ** (1 / 3)  # central difference step, times max(1, |theta|)
PRECISE_DIGITS = (40, 120, 400, 1200)  # mpmath precisions, tried in turn until a value is finite


def point(net: Network, given: Mapping[str, float] | None = None) -> dict[str, float]:
    """The file's `at` and input defaults, overridden one by one by `given` (from --at)."""
    values = dict(net.at)
    for name, v in (given or {}).items():
        if name in net.matrices():
            raise DerivatorError(f"--at {name}: --at sets one entry at a time, such as {net.matrices()[name][0][0]}; "
                                 f"a whole {name} goes in 'at:'")
        if name not in net.names:
            hint = " (a node's value comes from the network)" if name in net.nodes else ""
            raise DerivatorError("--at: " + unknown("name", name, net.names) + hint)
        if not math.isfinite(v):
            raise DerivatorError(f"--at {name}: the value must be finite")
        if net.samples and (name in net.inputs or name in net.targets):
            raise DerivatorError(f"--at {name}: with 'data', '{name}' takes its value from each sample")
        values[name] = float(v)
    return values


def samples(net: Network, values: Mapping[str, float]) -> list[dict[str, float]]:
    """The point once per sample of `data:` (its inputs and targets added), or the point alone."""
    return [{**values, **s} for s in net.samples] if net.samples else [dict(values)]


def combine(net: Network, xs: list[float]) -> float:
    """The target over samples is J = (1/m) Σ (or Σ, with `reduction: sum`): so are its derivatives."""
    m = len(xs) if net.reduction == "mean" else 1
    try:
        return math.fsum(xs) / m
    except (OverflowError, ValueError):  # terms near float64's limit: mpmath adds them without overflow
        return float(mpmath.fsum(xs) / m)


def needed(d: Derivation) -> list[str]:
    """The names whose values the target depends on (so a value and a check need them)."""
    up = d.upstream
    names = [x for x in d.net.inputs if x in up]
    for n in d.net.nodes:
        if n in up:
            node = d.net.nodes[n]
            if node.is_formula:
                names += sorted(s.name for s in node.formula.free_symbols if s.name in d.net.params)
            names += [str(s) for s in node.bias.free_symbols]
            names += [str(s) for e in d.net.parents[n] for s in e.weight.free_symbols]
    if d.of == "loss":
        names += [str(s) for t in d.net.loss.targets for s in t.free_symbols]
        names += sorted(s.name for s in d.net.penalty.free_symbols)
    if d.kind in ("input", "parameter"):
        names.append(d.wrt)
    return list(dict.fromkeys(names))


def require(d: Derivation, values: Mapping[str, float]) -> None:
    """Every value the target needs is given, and softmax targets sum to 1 (in each sample)."""
    for v in samples(d.net, values):
        _require(d, v)


def _require(d: Derivation, values: Mapping[str, float]) -> None:
    missing = [n for n in needed(d) if n not in values]
    if missing:
        raise DerivatorError(f"no value for {', '.join(missing)}: give "
                             f"{'them' if len(missing) > 1 else 'it'} with --at NAME=VALUE or in 'at:'")
    if d.of == "loss" and d.net.loss.type in SUMS_TO_ONE:
        total = sum(value(t, {symbol(k): v for k, v in values.items()}) for t in d.net.loss.targets)
        if abs(total - 1) > 1e-9:
            raise DerivatorError(f"{d.net.loss.type} targets must sum to 1 (one-hot or probabilities); "
                                 f"they sum to {total:g}")


@dataclass
class Forward:
    """Every node's z and o at the point, and the target's value."""

    env: dict[sympy.Symbol, object]
    target: object


def forward(d: Derivation, values: Mapping[str, float], precise: bool = False,
            nudge: tuple[str, object] | None = None, target: bool = True) -> Forward:
    """Run the network forward; `nudge` = (name, amount) shifts one input, parameter, o_v or z_v.

    With `target=False` only the nodes are computed (a loss may be undefined where they are not).
    The network is compiled once (`sweep`), so the many passes of a numerical derivative are loops
    of multiply-adds, not expressions rebuilt."""
    c = sweep.compiled(d.net, d.of)
    state = c.forward(values, precise, nudge, target)
    return Forward(c.env(state.o, state.z, state.values), state.target)


def stable(compute: Callable[[], T], agree: Callable[[T, T], bool], failure: str,
           least: int = 0) -> tuple[T, int]:
    """`compute()` under mpmath at rising precision, trusted once two precisions in a row agree.

    A saturated unit defeats a fixed precision: z = 40 leaves 1e-18 of 1, so o(1 - o) cancels at 40
    digits, and at z = 200 log(1 - o) is undefined there though finite in mathematics. Only a value
    undefined at every precision is an error (`failure`). `least` skips precisions known too low.
    `compute` returns plain numbers (floats, or a structure of them) for `agree` to compare."""
    previous = None
    tried = [d for d in PRECISE_DIGITS if d >= least] or PRECISE_DIGITS[-2:]
    for digits in tried:
        with mpmath.workdps(digits):
            try:
                result = compute()
            except UndefinedError:
                continue
        if previous is not None and agree(result, previous):
            return result, digits
        previous = result
    if previous is None:
        raise DerivatorError(failure)
    return previous, tried[-1]


def derivative_value(d: Derivation, values: Mapping[str, float]) -> float:
    """The derivative's value at the point (with data, its mean over the samples)."""
    require(d, values)
    points = samples(d.net, values)
    apart = penalty_value_of(d, points[0]) if d.net.samples else 0.0  # else `d.result` holds the penalty's term
    return combine(d.net, [_derivative_value(d, v) for v in points]) + apart


def penalty_value_of(d: Derivation, values: Mapping[str, float]) -> float:
    """The value of the penalty's term of the derivative (0 without one)."""
    if d.penalty == 0:
        return 0.0
    return float(value(d.penalty, {symbol(s.name): values[s.name] for s in d.penalty.free_symbols}))


def _derivative_value(d: Derivation, values: Mapping[str, float]) -> float:
    """The derivative's value at one point: its node-value form over an mpmath forward pass."""
    result, _ = stable(lambda: float(value(d.result, forward(d, values, precise=True, target=False).env,
                                           precise=True)),
                       lambda a, b: abs(a - b) <= 1e-13 * abs(a), "the derivative has no finite value at the point")
    return result


@dataclass
class Check:
    value: float
    numeric: float
    relative_error: float
    agrees: bool
    method: str
    kinks: list[str] = field(default_factory=list)


def close(a: float, b: float, tolerance: float = RELATIVE_TOLERANCE) -> tuple[bool, float]:
    """Whether two numbers agree (relative, or absolute near zero), and their relative error.

    Two infinities of one sign agree: both sides are beyond float64 (e^800), which is no disagreement."""
    if math.isinf(a) and a == b:
        return True, 0.0
    diff = abs(a - b)
    scale = max(abs(a), abs(b))
    rel = diff / scale if scale > 0 else 0.0
    return diff <= ABSOLUTE_TOLERANCE or rel <= tolerance, rel


def check(d: Derivation, values: Mapping[str, float], tolerance: float = RELATIVE_TOLERANCE) -> Check:
    """Compare the derivative's value with a numerical derivative of the target at the point."""
    exact = derivative_value(d, values)
    points = samples(d.net, values)
    if math.isinf(exact):  # no float64 difference can resolve it, and no false alarm is better than one
        return Check(exact, exact, 0.0, True, "not compared: the derivative is beyond float64's range")
    kinks = [f"sample {s}: {k}" if len(points) > 1 else k
             for s, v in enumerate(points, 1) for k in find_kinks(d, v)]
    numeric, method = None, ""
    floats = [_float_difference(d, v) for v in points]
    if all(x is not None for x, _ in floats):
        numeric, method = combine(d.net, [x for x, _ in floats]) + _penalty_difference(d, points[0], False), \
            floats[0][1]
    ok, rel = close(exact, numeric, tolerance) if numeric is not None else (False, math.inf)
    if not ok or rel > tolerance:  # agreeing only within the absolute 1e-12 says little of a tiny value
        precise = [_mp_difference(d, v, exact) for v in points]
        with mpmath.workdps(PRECISE_DIGITS[0]):
            apart = _penalty_difference(d, points[0], True)
        numeric, method = combine(d.net, [x for x, _ in precise]) + apart, max((m for _, m in precise), key=len)
        ok, rel = close(exact, numeric, tolerance)
    return Check(exact, numeric, rel, ok or bool(kinks), method, kinks)


def _penalty_difference(d: Derivation, values: Mapping[str, float], precise: bool) -> float:
    """The penalty's part of the numerical derivative: its own central difference (exact for l2)."""
    if d.of != "loss" or d.kind != "parameter":
        return 0.0
    return penalty_difference(d.net, d.wrt, values, precise, STEP if not precise else 1e-15)


def _theta(d: Derivation, values: Mapping[str, float]) -> float:
    if d.kind in ("input", "parameter"):
        return values[d.wrt]
    if d.wrt.removeprefix("z_") not in d.upstream and d.wrt not in d.upstream:
        return 0.0  # a node the target does not depend on: nudging it changes nothing
    with mpmath.workdps(PRECISE_DIGITS[0]):
        return float(forward(d, values, precise=True, target=False).env[symbol(d.wrt)])


def central_difference(net: Network, of: str, name: str, values: Mapping[str, float], theta: float,
                       precise: bool = False, step: float = STEP) -> float:
    """(target(θ + h) - target(θ - h)) / 2h through the compiled network, with h = step·max(1, |θ|);
    in mpmath at the current precision when `precise`."""
    c = sweep.compiled(net, of)
    h = (mpmath.mpf(step) if precise else step) * max(1.0, abs(theta))
    up = c.forward(values, precise, nudge=(name, h)).target
    down = c.forward(values, precise, nudge=(name, -h)).target
    return float((up - down) / (2 * h))


def _float_difference(d: Derivation, values: Mapping[str, float]) -> tuple[float | None, str]:
    """Central difference in float64 with a step scaled to the variable; None if float64 fails."""
    try:
        return central_difference(d.net, d.of, d.wrt, values, _theta(d, values)), "central difference (float64)"
    except UndefinedError:
        return None, "central difference (float64)"


def _mp_difference(d: Derivation, values: Mapping[str, float], exact: float = 0.0) -> tuple[float, str]:
    """mpmath's numerical derivative at high precision, for when float64 is inconclusive.

    A difference quotient sees a change of size |derivative| against a target of size |target|: it
    needs about log10(|target| / |derivative|) digits beyond the usual, or every precision below that
    agrees on noise (a saturated unit's 1e-128 against a loss of 300)."""
    least = 0
    if exact and math.isfinite(exact):
        with mpmath.workdps(PRECISE_DIGITS[0]):
            try:
                size = abs(forward(d, values, True).target)
                least = 30 + max(0, int(mpmath.log10(max(size, 1) / abs(mpmath.mpf(exact)))))
            except (UndefinedError, OverflowError, ValueError, ZeroDivisionError):
                least = 0
    result, digits = stable(lambda: float(mpmath.diff(lambda t: forward(d, values, True, (d.wrt, t)).target, 0)),
                            lambda a, b: close(a, b, 1e-9)[0], "the target has no finite value near the point",
                            least)
    return result, f"numerical derivative (mpmath, {digits} digits)"


def find_kinks(d: Derivation, values: Mapping[str, float]) -> list[str]:
    """Nodes on the derivative's paths whose function sits on a kink at the point (relu at 0, max at a tie)."""
    starts = order.descendants(d.net, [d.wrt[2:] if d.kind == "preactivation" else d.wrt])
    if d.kind == "parameter":
        starts |= set(_entered(d))
    on_path = d.upstream & (starts | set(d.deltas_nested))
    with mpmath.workdps(PRECISE_DIGITS[0]):
        fw = forward(d, values, precise=True, target=False)
    found = []
    for n, node in d.net.nodes.items():
        if n not in on_path or node.group is not None:  # a softmax is smooth everywhere
            continue
        if node.is_formula:
            kink = _kink(node.formula, fw.env)
            if kink:
                where = "has a tie" if kink in ("max", "min") else "has its argument at 0"
                found.append(f"not differentiable here: the {kink} in the formula of node {n} {where}")
            continue
        z = float(fw.env[z_symbol(n)])
        if _kink(node.activation.f(X), {X: z}):
            what = node.activation.name if node.activation.name != "formula" else "activation"
            found.append(f"not differentiable here: the {what} of node {n} has z = {z:g}")
    return found


def _entered(d: Derivation) -> list[str]:
    return [u.node for u in d.uses if u.node is not None]


def _kink(expr: sympy.Expr, env: Mapping) -> str | None:
    """The name of a kinked function in `expr` that sits on its kink with these values, or None."""
    for atom in expr.atoms(*KINKED):
        try:
            args = [float(value(a, env)) for a in atom.args]
        except (UndefinedError, KeyError):
            continue
        if PRIMITIVES[type(atom)].kink(args):
            return PRIMITIVES[type(atom)].name
    return None
