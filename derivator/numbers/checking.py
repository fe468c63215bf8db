"""Numbers at a point: the forward pass, the derivative's value, and the numerical check of it.

The check is the test oracle as much as a feature. A central difference in float64 with a step
scaled to the variable comes first; when it does not agree (cancellation, saturation, overflow) an
mpmath derivative at high precision decides. A kink (relu at 0) is named, not counted as a
disagreement.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import mpmath
import sympy

from derivator.errors import DerivatorError, unknown
from derivator.graph import order
from derivator.graph.network import Network, symbol, z_symbol
from derivator.graph.primitives import KINKED, PRIMITIVES
from derivator.graph.rules import X
from derivator.numbers import resolve, sweep
from derivator.numbers.evaluate import UndefinedError, value
from derivator.numbers.ladder import PRECISE_DIGITS, NoAgreementError, stable
from derivator.numbers.penalty import penalty_difference
from derivator.symbolic.derive import Derivation

RELATIVE_TOLERANCE = 1e-6  # CONTRACT: agree within this relative error ...
ABSOLUTE_TOLERANCE = 1e-12  # ... or this absolute one near zero
STEP = float(2.0 ** -52) ** (1 / 3)  # central difference step, times max(1, |theta|)


def point(net: Network, given: Mapping[str, float] | None = None) -> dict[str, float]:
    """The file's `at` and input defaults, overridden one by one by `given` (from --at)."""
    values = dict(net.at)
    matrices, names = net.matrices(), set(net.names)  # once: a whole point may be given (20,000 names)
    for name, v in (given or {}).items():
        if name in matrices:
            raise DerivatorError(f"--at {name}: --at sets one entry at a time, such as {matrices[name][0][0]}; "
                                 f"a whole {name} goes in 'at:'")
        if name not in names:
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
    if d.of == "loss" and d.net.loss.type == "cross_entropy":
        total = sum(value(t, {symbol(k): v for k, v in values.items()}) for t in d.net.loss.targets)
        if abs(total - 1) > 1e-9:
            raise DerivatorError("cross_entropy targets must sum to 1 (one-hot or probabilities); "
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
    inconclusive: bool = False  # no numerical derivative within the work cap: `method` says why (exit 1)


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
        try:  # the penalty's own difference may overflow float64 too (w² at 1e308)
            numeric, method = combine(d.net, [x for x, _ in floats]) + _penalty_difference(d, points[0], False), \
                floats[0][1]
        except UndefinedError:
            numeric = None
    ok, rel = close(exact, numeric, tolerance) if numeric is not None else (False, math.inf)
    if not ok or rel > tolerance:  # agreeing only within the absolute 1e-12 says little of a tiny value
        found = _precise_difference(d, points, exact)
        if found is None:  # no verdict without the numbers: say so, exit 1
            return Check(exact, math.nan, math.inf, bool(kinks), "no numerical derivative resolves it: at the "
                         "digits it needs, none agrees with itself, or the work would pass the cap (resolve.MAX_WORK)",
                         kinks, True)
        numeric, method = found
        ok, rel = close(exact, numeric, tolerance)
    return Check(exact, numeric, rel, ok or bool(kinks), method, kinks)


def _precise_difference(d: Derivation, points: list[dict[str, float]], exact: float) -> tuple[float, str] | None:
    """A numerical derivative at high precision, for when float64 cannot tell: first the central
    differences at the digits the value needs (`resolve`), then mpmath's own at rising precision; each
    rung paid for from resolve.MAX_WORK, and None where the next one cannot be."""
    left = [float(resolve.MAX_WORK)]

    def pay(work: float) -> bool:
        left[0] -= work
        return left[0] >= 0

    thetas = [_theta(d, v) for v in points]
    size = resolve.size(d.net, d.of, points)
    if size is not None:
        found = resolve.resolve(d.net, d.of, d.wrt, points, thetas, exact, size, pay)
        if found is not None:
            return found
    # mpmath.diff at d digits works at 2d + 40, twice a rung, for two rungs at least
    steps = len(d.net.edges) + len(d.net.nodes)
    # mpmath.diff's step is absolute, 2^-(digits + 10): at θ = 1e300 it must also outlast θ's own digits
    least = _least(exact, size) + max(0, int(math.log10(max(1.0, *(abs(t) for t in thetas)))))
    rungs = ([x for x in PRECISE_DIGITS if x >= least] or PRECISE_DIGITS[-2:])[:2]
    if not pay(len(points) * steps * sum(2 * resolve.cost(2 * x + 40) for x in rungs)):
        return None
    try:
        precise = [_mp_difference(d, v, least) for v in points]
    except NoAgreementError:  # noise at every precision tried: no numbers, so no verdict
        return None
    with mpmath.workdps(max(PRECISE_DIGITS[0], least + 20)):  # the penalty's difference needs the digits too
        apart = _penalty_difference(d, points[0], True)
    return combine(d.net, [x for x, _ in precise]) + apart, max((m for _, m in precise), key=len)


def _least(exact: float, size) -> int:
    """The digits below which a difference quotient cannot see a derivative `exact` of a target `size`:
    every precision below agrees on noise (a saturated unit's 1e-128 against a loss of 300)."""
    if not exact or not math.isfinite(exact) or size is None:
        return 0
    with mpmath.workdps(20):
        return 30 + max(0, int(mpmath.log10(max(size, 1)) - mpmath.log10(abs(exact))))


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


def _mp_difference(d: Derivation, values: Mapping[str, float], least: int = 0) -> tuple[float, str]:
    """mpmath's numerical derivative at rising precision, from `least` digits (see _least)."""
    result, digits = stable(lambda: float(mpmath.diff(lambda t: forward(d, values, True, (d.wrt, t)).target, 0)),
                            lambda a, b: close(a, b, 1e-9)[0], "the target has no finite value near the point",
                            least, strict=True)
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
        if n not in on_path:
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
