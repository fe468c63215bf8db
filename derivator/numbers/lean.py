"""The common network's numbers without SymPy: the backward plan compiled to lists, in float64 and Decimal.

Most networks a learner writes are neurons with a table activation and a table loss. For them the
forward pass, every delta and every gradient need no expression at all: each activation's kernel
gives o and f'(z) from z (without cancelling: σ'(z) = e^-|z| / (1 + e^-|z|)², not o(1 - o)), and
the plan's links say where every number flows. The sweep runs in float64 and again in Decimal at 40
digits (C arithmetic, some twenty times faster than mpmath); where the two agree to 13 digits the
Decimal numbers are the answer, exactly as `ladder.stable` trusts two precisions that agree.

Anything else (formula nodes, softmax groups, a penalty, a unit saturated past `REACH`, an
activation without a kernel) is `Unsupported`, and the caller runs the general sweep
(`numbers.sweep`), which reads the same plan.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import sympy

from derivator.graph.network import Network
from derivator.graph.plan import plan

D = decimal.Decimal
ZERO, ONE = D(0), D(1)
# Digits of the Decimal rungs after float64. A saturated unit (whose cancellation needs the general
# ladder's jump to 120 digits) is refused first, so 60 is enough for a sum that cancels in float64.
RUNGS = (40, 60)
# Past |z| = 40 a sigmoid's 1 - o is below 4e-18 of o: 40 digits would keep fewer than GOOD_DIGITS of
# o - y, so such a point goes to the general sweep, which tracks the digits lost.
REACH = 40.0
CONTEXTS = {d: decimal.Context(prec=d, Emax=10**6, Emin=-10**6,
                               traps=[decimal.Overflow, decimal.InvalidOperation, decimal.DivisionByZero])
            for d in RUNGS}


class Unsupported(Exception):  # noqa: N818 - not an error: the general sweep takes over
    """This network or point is for the general sweep."""


def _sigmoid(z, exp, one):
    e = exp(-abs(z))
    return (one / (one + e) if z >= 0 else e / (one + e)), e / ((one + e) * (one + e))


def _tanh(z, exp, one):
    e = exp(-2 * abs(z))
    t = (one - e) / (one + e)
    return (t if z >= 0 else -t), 4 * e / ((one + e) * (one + e))


def _softplus(z, exp, log1p, one):
    e = exp(-abs(z))
    return (z if z > 0 else 0 * one) + log1p(e), (one / (one + e) if z >= 0 else e / (one + e))


def _dexp(z):
    return z.exp()


def _dlog1p(x):
    return (ONE + x).ln()


def _floats(fn):
    return lambda z: fn(z, math.exp, 1.0)


def _decimals(fn):
    return lambda z: fn(z, _dexp, ONE)


# Each activation's o and f'(z) from z: (float64, Decimal). f'(0) of relu is Heaviside(0, 0) = 0, as the rule's.
KERNELS: dict[str, tuple[Callable, Callable]] = {
    "identity": (lambda z: (z, 1.0), lambda z: (z, ONE)),
    "sigmoid": (_floats(_sigmoid), _decimals(_sigmoid)),
    "tanh": (_floats(_tanh), _decimals(_tanh)),
    "softplus": (lambda z: _softplus(z, math.exp, math.log1p, 1.0), lambda z: _softplus(z, _dexp, _dlog1p, ONE)),
    "exp": (lambda z: (math.exp(z),) * 2, lambda z: (z.exp(),) * 2),
    "relu": (lambda z: (z, 1.0) if z > 0 else (0.0, 0.0), lambda z: (z, ONE) if z > 0 else (ZERO, ZERO)),
}
SATURATES = {"sigmoid", "tanh", "softplus"}
LOSSES = {"squared_error", "half_squared_error", "binary_cross_entropy"}


@dataclass
class Sweep:
    """One point's numbers, by index (inputs, then nodes): o, z, δ, and the gradient by name."""

    o: list
    z: list
    delta: list
    target: object
    grads: dict[str, object]


class Lean:
    """The plan of `of` compiled to lists. One list, `val`, holds every number a sweep reads: the
    inputs' and nodes' values by index (inputs, then nodes), then the parameters' and targets' (in
    `given`), then the constants, the first of them last (a constant's index counts from the end, so
    that names and constants are numbered as they are met). A unit is (its index, its kernel, the
    index of its bias, [(source, weight)]), and a link into node k is (k, the index of its local
    derivative), so the sweep never asks what a link is."""

    def __init__(self, net: Network, of: str):
        p = plan(net, of)
        if net.penalty != 0 or p.groups:
            raise Unsupported("a penalty or a softmax group")
        if of == "loss" and (net.loss.rule is None or net.loss.type not in LOSSES):
            raise Unsupported("a loss without a kernel")
        self.net, self.of = net, of
        self.names = [*net.inputs, *net.nodes]
        self.index = index = {n: i for i, n in enumerate(self.names)}
        self.given: dict[str, int] = {}  # parameter or target -> its index in `val`
        self.constants: dict[float, int] = {}  # a constant's value -> its place, counted from the end of `val`
        self.units = []
        for v in p.order:
            node = net.nodes[v]
            if node.is_formula or node.activation.name not in KERNELS:
                raise Unsupported(f"node {v}")
            parents = [(index[e.src], self._operand(e.weight)) for e in net.parents[v]]
            self.units.append((index[v], KERNELS[node.activation.name], self._operand(node.bias), parents))
        self.saturates = [index[v] for v in p.order if net.nodes[v].activation.name in SATURATES]
        on_path = {i for i, _, _, _ in self.units}
        self.children = {index[v]: self._links(p.children(v), on_path) for v in self.names}
        self.params = {name: self._links(links, on_path) for name, links in p.links.items() if name not in index}
        # The target's outputs: (index, index in `val` of its target, fused: the delta is o - y).
        self.outputs = []
        if of == "loss":
            for o, y in zip(net.outputs, net.loss.targets, strict=True):
                self.outputs.append((index[o], self._operand(y), o in p.fused))
            if net.loss.type == "binary_cross_entropy" and not all(f for *_, f in self.outputs):
                raise Unsupported("binary cross-entropy without a sigmoid output")
        self.loss = net.loss.type if of == "loss" else None
        self.fused = {i for i, _, fused in self.outputs if fused}

    def _operand(self, w: sympy.Expr) -> int:
        """The index in `val` of a weight, bias or target: a name's, or a constant's."""
        if w.is_Symbol:
            if w.name in self.index:
                return self.index[w.name]
            return self.given.setdefault(w.name, len(self.names) + len(self.given))
        if not w.is_Number:
            raise Unsupported("a constant that is an expression")
        try:
            c = w.p / w.q if w.is_Rational else float(w)  # int / int rounds correctly, without mpmath
        except OverflowError:
            raise Unsupported("a constant past float64") from None
        return -1 - self.constants.setdefault(c, len(self.constants))  # counted from the end of `val`

    def _links(self, links, on_path: set[int]) -> list[tuple[int, int]]:
        out = []
        for link in links:
            k, local = self.index[link.node], link.local
            if k not in on_path:
                raise Unsupported("a link into a node off the target's path")
            if not (local.is_Number or local.is_Symbol):
                raise Unsupported("a formula's local derivative")
            out.append((k, self._operand(local)))
        return out

    def sweep(self, values: Mapping[str, float], digits: int | None) -> Sweep:
        """Forward and backward at one point, in float64 (digits None) or in Decimal at `digits`."""
        try:
            if digits is None:
                return self._sweep(values, float, 0, math.fsum)
            with decimal.localcontext(CONTEXTS[digits]):
                vals = {k: (D(repr(v)) if isinstance(v, float) else D(v)) for k, v in values.items()}
                return self._sweep(vals, D, 1, _dsum)
        except (ArithmeticError, ValueError) as err:  # overflow, 0/0: the general sweep says what happened
            raise Unsupported(str(err)) from None

    def _sweep(self, vals, num, which: int, fsum) -> Sweep:
        n = len(self.names)
        val: list = [None] * n + [vals[name] for name in self.given] + [num(c) for c in reversed(self.constants)]
        for i, x in enumerate(self.net.inputs):
            val[i] = vals.get(x)
        z: list = [None] * n
        fp: list = [None] * n
        for i, kernel, b, parents in self.units:
            s = fsum([val[b], *[val[w] * val[src] for src, w in parents]])
            z[i] = s
            val[i], fp[i] = kernel[which](s)
        if any(abs(z[i]) > REACH for i in self.saturates):
            raise Unsupported("a saturated unit")
        direct: dict[int, object] = {}
        target = self._direct(val, z, num, which, fsum, direct)
        delta: list = [None] * n

        def flow(links):
            """Σ δ_k · local over the links; in float64 exactly rounded (fsum), so that it agrees with
            40 digits wherever the sum does not cancel too far."""
            return fsum([val[j] * delta[k] for k, j in links])

        for i, _, _, _ in reversed(self.units):
            if i in self.fused:
                delta[i] = direct[i]
                continue
            back = flow(self.children[i])
            delta[i] = (direct[i] + back if i in direct else back) * fp[i]
        grads = {name: flow(links) for name, links in self.params.items()}
        for x in self.net.inputs:
            if self.children[self.index[x]]:
                grads[x] = flow(self.children[self.index[x]])
        return Sweep(val[:n], z, delta, target, grads)

    def _direct(self, val, z, num, which, fsum, direct):
        """The target's value, and ∂T/∂o of each output into `direct` (its whole δ where fused: o - y)."""
        if self.loss is None:
            i = self.index[self.of]
            direct[i] = num(1)
            return val[i]
        terms = []
        softplus = KERNELS["softplus"][which]
        for i, y, _ in self.outputs:
            y = val[y]
            r = val[i] - y
            if self.loss == "binary_cross_entropy":  # y softplus(-z) + (1 - y) softplus(z): log o from z
                terms.append(y * softplus(-z[i])[0] + (1 - y) * softplus(z[i])[0])
                direct[i] = r
            elif self.loss == "squared_error":
                terms.append(r * r)
                direct[i] = 2 * r
            else:
                terms.append(r * r / 2)
                direct[i] = r
        return fsum(terms)


def _dsum(xs: list) -> D:
    return sum(xs[1:], xs[0]) if xs else D(0)


@dataclass
class Solved:
    """The target and every derivative over the samples, and the first sample's worked numbers, as floats."""

    target: float
    grads: dict[str, float]
    losses: list[float]
    forward: dict[str, float]  # every input's and node's value and z_NODE
    deltas: dict[str, float]


def solve(net: Network, of: str, points: list[dict[str, float]]) -> Solved:
    """Every number of the answer from sweeps at rising precision (float64, 40 digits, 60), trusted
    once two in a row agree to 13 digits (as `ladder.stable` trusts them); else `Unsupported`."""
    lean = compiled(net, of)
    previous = _numbers(lean, [lean.sweep(p, None) for p in points], None)
    for digits in RUNGS:
        sweeps = [lean.sweep(p, digits) for p in points]
        numbers = _numbers(lean, sweeps, digits)
        if all(abs(x - y) <= 1e-13 * abs(x) or abs(x) + abs(y) < 1e-300
               for x, y in zip(numbers, previous, strict=True)):
            return _solved(lean, sweeps, numbers)
        previous = numbers
    raise Unsupported("no two precisions agree: the precision ladder decides")


def _numbers(lean: Lean, sweeps: list[Sweep], digits: int | None) -> list[float]:
    """One rung's every number as floats, in one order: the target and each derivative (the samples'
    mean or sum, summed at the rung's precision), then the first sample's o, z and δ."""
    first = sweeps[0]
    if len(sweeps) == 1:
        out = [float(first.target), *map(float, first.grads.values())]
    else:
        m = len(sweeps) if lean.net.reduction == "mean" else 1
        with decimal.localcontext(CONTEXTS[digits or RUNGS[0]]):
            out = [float(sum((s.target for s in sweeps[1:]), first.target) / m)]
            out += [float(sum((s.grads[n] for s in sweeps[1:]), first.grads[n]) / m) for n in first.grads]
    return out + [float(v) for part in (first.o, first.z, first.delta) for v in part if v is not None]


def _solved(lean: Lean, sweeps: list[Sweep], numbers: list[float]) -> Solved:
    """The agreed numbers by name."""
    names, first = lean.names, sweeps[0]
    values = iter(numbers)
    target = next(values)
    grads = {n: next(values) for n in first.grads}
    forward = {names[i]: next(values) for i, v in enumerate(first.o) if v is not None}
    forward |= {f"z_{names[i]}": next(values) for i, v in enumerate(first.z) if v is not None}
    deltas = {names[i]: next(values) for i, d in enumerate(first.delta) if d is not None}
    return Solved(target, grads, [float(s.target) for s in sweeps], forward, deltas)


_CACHE: dict[tuple[int, str], tuple[Network, Lean | Unsupported]] = {}


def compiled(net: Network, of: str) -> Lean:
    """The network's lean sweep for `of`, made once (or its refusal, remembered)."""
    hit = _CACHE.get((id(net), of))
    if hit is None or hit[0] is not net:
        if len(_CACHE) > 64:
            _CACHE.clear()
        try:
            made: Lean | Unsupported = Lean(net, of)
        except Unsupported as why:
            made = why
        hit = _CACHE[id(net), of] = (net, made)
    if isinstance(hit[1], Unsupported):
        raise hit[1]
    return hit[1]
