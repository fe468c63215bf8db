"""Numbers at a point: the forward pass, the derivative's value, and the numerical check of it.

The check is the test oracle as much as a feature. A central difference in float64 with a step
scaled to the variable comes first; when it does not agree (cancellation, saturation, overflow) an
mpmath derivative at high precision decides. Agreement is relative, never within an absolute floor.
A kink (relu at 0, wherever a kinked primitive sits: numbers/kinks.py) is named, not counted as a
disagreement.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import mpmath
import sympy

from derivator.errors import DerivatorError, unknown
from derivator.graph.network import Network, symbol
from derivator.graph.timesteps import step
from derivator.numbers import kinks, line, remember, resolve, sweep
from derivator.numbers.evaluate import PRECISIONS, UndefinedError, short, value
from derivator.numbers.ladder import NoAgreementError, stable  # noqa: F401 - checking.stable, for its callers
from derivator.numbers.needs import Needs, needed, needs, require, samples  # noqa: F401 - read here by callers
from derivator.symbolic.derive import Derivation

combine = line.combine  # the samples combined as J combines them; callers outside read it here
RELATIVE_TOLERANCE = 1e-6  # CONTRACT: agree within this relative error (and no absolute floor: see `close`)
STEP = float(2.0 ** -52) ** (1 / 3)  # central difference step, times max(1, |theta|)
PRECISE_DIGITS = PRECISIONS  # mpmath precisions, tried in turn until a value is finite


def point(net: Network, given: Mapping[str, float] | None = None) -> dict[str, float]:
    """The file's `at` and input defaults, overridden one by one by `given` (from --at)."""
    values = dict(net.at)
    matrices, names = net.matrices(), set(net.names)  # once: a point may give 10,000 entries
    for name, v in (given or {}).items():
        if name in matrices:
            raise DerivatorError(f"--at {name}: --at sets one entry at a time, such as {matrices[name][0][0]}; "
                                 f"a whole {name} goes in 'at:'")
        if name not in names:
            hint = " (a node's value comes from the network)" if name in net.nodes else ""
            raise DerivatorError("--at: " + unknown("name", name, net.names) + hint)
        if not math.isfinite(v):
            raise DerivatorError(f"--at {name}: the value must be finite")
        if net.samples and (name in net.inputs or name in net.targets) and step(name) != 0:  # h@0: the initial state
            raise DerivatorError(f"--at {name}: with 'data', '{name}' takes its value from each sample")
        values[name] = float(v)
    return values


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

    def run() -> tuple[dict, object]:
        state = c.forward(values, precise, nudge, target)
        return c.env(state.o, state.z, state.values), state.target

    env, result = remember.remembered(c, values, precise, nudge, target, run)
    return Forward(env, result)


def derivative_value(d: Derivation, values: Mapping[str, float]) -> float:
    """The derivative's value at the point (with data, its mean over the samples)."""
    return _valued(d, values)[0]


def _valued(d: Derivation, values: Mapping[str, float]) -> tuple[float, kinks.Kinks]:
    """The value, and the kinks at the point. Where a kinked primitive sits on its kink but the
    target is smooth in θ (relu(x)**2 at 0), the value is the target's own slope: the rule's
    convention there (relu'(0) = 0) need not be the derivative (relu(x) - relu(-x) has slope 1)."""
    key = (id(d), tuple(sorted(values.items())))
    if _LAST.get("key") == key and _LAST["d"] is d:  # check() reads the value and the kinks: one analysis
        return _LAST["result"]
    require(d, values)
    points = samples(d.net, values)
    apart = penalty_value_of(d, points[0]) if d.net.samples else 0.0  # else `d.result` holds the penalty's term
    exact = _exact(d, points) + apart
    k = kinks.analyse(d, points, _theta(d, values))
    if k.sites and not k.kinked and k.slope is not None and not close(exact, k.slope)[0]:
        exact = k.slope
    _LAST.update(key=key, d=d, result=(exact, k))
    return exact, k


_LAST: dict = {}


def penalty_value_of(d: Derivation, values: Mapping[str, float]) -> float:
    """The value of the penalty's term of the derivative (0 without one)."""
    if d.penalty == 0:
        return 0.0
    return float(value(d.penalty, {symbol(s.name): values[s.name] for s in d.penalty.free_symbols}))


def _exact(d: Derivation, points: list[dict[str, float]]) -> float:
    """The node-value form over an mpmath forward pass per sample, combined, at rising precision.

    A precision is passed over while the value has too few digits left (`evaluate.short`): at
    40 digits σ(500) is 1, so a fused o - y with y = 1 is 0 there, though -7e-218 in fact."""
    m = len(points) if d.net.reduction == "mean" else 1

    def compute() -> float:
        terms, lost = [], []
        for p in points:
            terms.append(value(d.result, forward(d, p, precise=True, target=False).env, True, lost))
        total = mpmath.fsum(terms)  # the samples' sum may cancel too
        if short([x + (float(mpmath.log10(abs(t) / abs(total))) if total != 0 else math.inf) if t != 0 else x
                  for t, x in zip(terms, lost, strict=True)]):
            raise UndefinedError("too few digits left")
        return float(total / m)

    try:
        return line.settle(compute, lambda a, b: abs(a - b) <= 1e-13 * abs(a))[0]
    except UndefinedError:
        raise DerivatorError("the derivative has no finite value at the point") from None


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
    """Whether two numbers agree, relatively, and their relative error.

    There is no absolute floor: at a saturated sigmoid the derivative is 2.7e-33, and 0, its negative
    and 100 times it are all within 1e-12 of it. Equal numbers agree (0 and 0; two infinities of one
    sign: both beyond float64, e^800, which is no disagreement)."""
    if a == b:
        return True, 0.0
    if math.isinf(a) or math.isinf(b) or math.isnan(a) or math.isnan(b):
        return False, math.inf
    rel = abs(a - b) / max(abs(a), abs(b))
    return rel <= tolerance, rel


def check(d: Derivation, values: Mapping[str, float], tolerance: float = RELATIVE_TOLERANCE) -> Check:
    """Compare the derivative's value with a numerical derivative of the target at the point."""
    exact, k = derivative_value(d, values), _valued(d, values)[1]
    points = samples(d.net, values)
    if math.isinf(exact):  # no float64 difference can resolve it, and no false alarm is better than one
        return Check(exact, exact, 0.0, True, "not compared: the derivative is beyond float64's range")
    numeric, method = _float_difference(d, points, _theta(d, values))
    ok, rel = close(exact, numeric, tolerance) if numeric is not None else (False, math.inf)
    named = k.sites if k.kinked else []
    if not ok:
        found = _precise_difference(d, points, exact)
        if found is None:  # no verdict without the numbers: say so, exit 1
            return Check(exact, math.nan, math.inf, bool(named), "no numerical derivative resolves it: at the "
                         "digits it needs, none agrees with itself, or the work would pass the cap (resolve.MAX_WORK)",
                         named, True)
        numeric, method = found
        ok, rel = close(exact, numeric, tolerance)
    return Check(exact, numeric, rel, ok or bool(named), method, named)


def _precise_difference(d: Derivation, points: list[dict[str, float]], exact: float) -> tuple[float, str] | None:
    """A numerical derivative at high precision, for when float64 cannot tell: first central differences
    at the digits the value needs (`resolve`), then mpmath's own derivative of J at rising precision;
    each paid for from resolve.MAX_WORK, and None where the next cannot be or no two precisions agree."""
    left = [float(resolve.MAX_WORK)]

    def pay(work: float) -> bool:
        left[0] -= work
        return left[0] >= 0

    thetas = [_theta(d, v) for v in points]
    size = resolve.size(d.net, d.of, points)
    if size is not None and exact:
        found = resolve.resolve(d.net, d.of, d.wrt, points, thetas, exact, size, pay)
        if found is not None:
            return found
    steps = len(d.net.edges) + len(d.net.nodes)
    least = _least(d, points, exact) + max(0, int(math.log10(max(1.0, *(abs(t) for t in thetas)))))
    rungs = ([x for x in PRECISE_DIGITS if x >= least] or PRECISE_DIGITS[-2:])[:2]
    # mpmath.diff at d digits works at about 2d + 40, twice a rung, for two rungs at least
    if not pay(len(points) * steps * sum(2 * resolve.cost(2 * x + 40) for x in rungs)):
        return None
    try:
        return _mp_difference(d, points, least)
    except NoAgreementError:  # noise at every precision tried: no numbers, so no verdict
        return None


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


def _float_difference(d: Derivation, points: list[dict[str, float]], theta: float) -> tuple[float | None, str]:
    """Central difference of J in float64 with a step scaled to the variable; None if float64 fails."""
    f = line.along(d, points, precise=False)
    h = STEP * max(1.0, abs(theta))
    try:
        up, down = f(h), f(-h)
    except (UndefinedError, OverflowError, ValueError, ZeroDivisionError):
        return None, "central difference (float64)"
    # Equal sides say nothing: at a saturated unit float64 cannot see the target move at all, and a
    # 0 there would agree with any value 0 (mpmath then decides, and settles a true 0 as such).
    return ((up - down) / (2 * h) if up != down else None), "central difference (float64)"


def _least(d: Derivation, points: list[dict[str, float]], exact: float) -> int:
    """The digits below which a difference quotient cannot see a derivative `exact`: it sees a change of
    size |derivative| against a target of size |target|, so it needs about log10(|target| / |derivative|)
    digits beyond the usual, or every precision below agrees on noise (a saturated unit's 1e-128 against
    a loss of 300)."""
    if not exact or not math.isfinite(exact):
        return 0
    with mpmath.workdps(PRECISE_DIGITS[0]):
        try:
            size = abs(line.along(d, points)(mpmath.mpf(0)))
            return 30 + max(0, int(mpmath.log10(max(size, abs(exact)) / abs(mpmath.mpf(exact)))))
        except (UndefinedError, OverflowError, ValueError, ZeroDivisionError):
            return 0


def _mp_difference(d: Derivation, points: list[dict[str, float]], least: int = 0) -> tuple[float, str]:
    """mpmath's numerical derivative of J at rising precision, from `least` digits (`_least`). Where the
    derivative is 0 the quotient is rounding that shrinks with the precision, and settles as 0; where
    no two precisions agree, NoAgreementError."""
    f = line.along(d, points, digits=True)
    try:
        result, digits = line.settle(lambda: float(mpmath.diff(f, 0)), lambda a, b: close(a, b, 1e-9)[0],
                                     least, zero=True, strict=True)
    except UndefinedError:
        raise DerivatorError("the target has no finite value near the point") from None
    return result, f"numerical derivative (mpmath, {digits} digits)"
