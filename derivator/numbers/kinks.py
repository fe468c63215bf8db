"""Kinks: where a non-smooth primitive sits on its kink, and whether the target really has one there.

A kinked primitive (relu, abs, leaky relu, elu, max and min; graph/primitives.py records which) may sit
at its kink anywhere the target reads: a neuron's activation, a formula node, a formula loss, the
penalty. That makes it a *site*, not yet a kink: relu(x)**2, abs(x)**3 and x/(1 + abs(x)) are smooth
at 0. The target decides. Its one-sided slopes (J(θ ± h) - J(θ)) / ±h at two steps h tell them apart:
at a kink the two sides differ by the same jump at both steps, while at a smooth point the
difference shrinks with h. Only a kink is named ("not differentiable here"); at a smooth site the
ordinary check runs, and the derivative's value is the target's own slope there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import mpmath
import sympy

from derivator.graph import order
from derivator.graph.equations import target
from derivator.graph.network import Network, symbol, z_symbol
from derivator.graph.primitives import KINKED, PRIMITIVES
from derivator.graph.rules import X
from derivator.numbers import sweep
from derivator.numbers.evaluate import UndefinedError, value
from derivator.numbers.line import along, settle
from derivator.symbolic.derive import Derivation

STEPS = (1e-9, 1e-12)  # one-sided steps, times max(1, |θ|): the kink tolerance's scale, and finer
DIGITS = (60, 200, 600)  # the slopes' precisions: a classification stands once two in a row agree
SAME_JUMP = 0.5  # a jump at the finer step at least this part of the coarser one is a kink


@dataclass
class Kinks:
    sites: list[str]  # the kinked primitives on their kink, named as sentences
    kinked: bool = False  # whether the target is not differentiable in θ there
    slope: float | None = None  # the target's derivative where the sites are smooth


def analyse(d: Derivation, points: list[Mapping[str, float]], theta: float) -> Kinks:
    """The sites at the point (each sample's, with data) and what the target does there."""
    found = [f"sample {s}: {k}" if len(points) > 1 else k for s, p in enumerate(points, 1) for k in sites(d, p)]
    if not found:
        return Kinks([])
    f = along(d, points)
    if _kinked(f, theta):
        return Kinks(found, True)
    try:
        slope, _ = settle(lambda: float(mpmath.diff(f, 0)), lambda a, b: abs(a - b) <= 1e-12 * abs(a), zero=True)
    except UndefinedError:
        return Kinks(found, True)
    return Kinks(found, False, slope)


def _kinked(f, theta: float) -> bool:
    """Whether the one-sided slopes of f at 0 differ by a jump that does not shrink with the step.

    A jump below the rounding of the slopes (10^-digits |f| / h) is no jump: at a smooth point whose
    curvature is 0 (σ(0.7 x) at 0) both steps give nothing but rounding."""
    previous = None
    for digits in DIGITS:
        with mpmath.workdps(digits):
            try:
                at = f(mpmath.mpf(0))
                jumps, noise = [], []
                for step in STEPS:
                    h = mpmath.mpf(step) * max(1, abs(theta))
                    up, down = f(h), f(-h)
                    jumps.append(abs((up - at) / h - (at - down) / h))
                    noise.append(mpmath.mpf(10) ** (5 - digits) * max(abs(at), abs(up), abs(down)) / h)
            except UndefinedError:
                return True  # undefined on one side: no derivative there either
        verdict = bool(jumps[1] > noise[1] and jumps[1] >= SAME_JUMP * jumps[0])
        if verdict == previous:
            return verdict
        previous = verdict
    return bool(previous)


def sites(d: Derivation, values: Mapping[str, float]) -> list[str]:
    """Kinked primitives on their kink at one sample: in the activations and formula nodes on the
    derivative's paths, in the loss and in the penalty (where it names θ)."""
    starts = order.descendants(d.net, [d.wrt[2:] if d.kind == "preactivation" else d.wrt])
    if d.kind == "parameter":
        starts |= {u.node for u in d.uses if u.node is not None}
    on_path = d.upstream & (starts | set(d.deltas_nested))
    penalised = d.kind == "parameter" and any(s.name == d.wrt for s in d.net.penalty.free_symbols)
    return _scan(d.net, d.of, values, on_path, penalised)


def anywhere(net: Network, of: str, points: list[Mapping[str, float]]) -> bool:
    """Whether any kinked primitive the target reads sits on its kink, at any sample: where none
    does, no derivative of this target needs a kink analysed."""
    if not _kinked_primitives(net, of):
        return False
    up = order.ancestors(net, net.outputs if of == "loss" else [of])
    return any(_scan(net, of, p, up, True) for p in points)


def _kinked_primitives(net: Network, of: str) -> bool:
    exprs = [n.formula if n.is_formula else n.activation.f(X) for n in net.nodes.values() if n.group is None]
    if of == "loss":
        exprs += [target(net, "loss"), net.penalty]
    return any(sympy.sympify(e).has(*KINKED) for e in exprs)


def _scan(net: Network, of: str, values: Mapping[str, float], nodes: set[str], penalised: bool) -> list[str]:
    with mpmath.workdps(DIGITS[0]):
        c = sweep.compiled(net, of)
        state = c.forward(values, True, target=False)
        env = c.env(state.o, state.z, state.values)
    found = []
    for n, node in net.nodes.items():
        if n not in nodes or node.group is not None:  # a softmax is smooth everywhere
            continue
        if node.is_formula:
            found += _named(kink(node.formula, env), f"in the formula of node {n}")
            continue
        z = env[z_symbol(n)]
        if kink(node.activation.f(X), {X: z}):
            what = node.activation.name if node.activation.name != "formula" else "activation"
            found.append(f"not differentiable here: the {what} of node {n} has z = {float(z):g}")
    if of == "loss":
        found += _named(kink(target(net, "loss"), env), "in the loss")
        penalty = net.penalty
        if penalised and penalty != 0:
            found += _named(kink(penalty, {symbol(s.name): values[s.name] for s in penalty.free_symbols}),
                            "in the penalty")
    return found


def _named(name: str | None, where: str) -> list[str]:
    if name is None:
        return []
    what = "has a tie" if name in ("max", "min") else "has its argument at 0"
    return [f"not differentiable here: the {name} {where} {what}"]


def kink(expr: sympy.Expr, env: Mapping) -> str | None:
    """The name of a kinked function in `expr` that sits on its kink with these values, or None."""
    for atom in expr.atoms(*KINKED):
        try:
            args = [float(value(a, env, precise=True)) for a in atom.args]
        except (UndefinedError, KeyError):
            continue
        if PRIMITIVES[type(atom)].kink(args):
            return PRIMITIVES[type(atom)].name
    return None
