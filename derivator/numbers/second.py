"""Second derivatives in numbers: the forward-mode lines evaluated over a sweep, and their check.

The value: at each sample one mpmath forward and backward pass (`sweep`) gives every node value and δ;
the lines of each `Tangent` (one per column B) are then evaluated in order, and every entry of that
column reads them: a Hessian-vector product per column. With data the samples are combined as J
combines them, and the penalty's part is added once. The precision rises until two agree.

The check: a central difference of the first derivative, ∂/∂B (∂T/∂A) ≈ (g_A(B+h) - g_A(B-h)) / 2h, with
the gradient from one reverse sweep per side (so one pair of sweeps checks a whole column); where
float64 does not agree, mpmath's numerical derivative of the gradient at rising precision decides.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import mpmath

from derivator.errors import DerivatorError
from derivator.graph.network import Network, symbol
from derivator.numbers import checking, kinks, line, sweep
from derivator.numbers.evaluate import UndefinedError, value
from derivator.numbers.penalty import penalty_gradient
from derivator.symbolic.second import Mixed, Tangent, delta

STEP = checking.STEP  # central difference step (times max(1, |θ|)), as for first derivatives


def _env(net: Network, of: str, sample: Mapping[str, float]) -> dict:
    c = sweep.compiled(net, of)
    state = c.forward(sample, precise=True, target=False)
    c.backward(state, precise=True)
    env = c.env(state.o, state.z, state.values)
    env.update({delta(v): d for v, d in c.deltas.items()})
    return env


def column(t: Tangent, entries: list[Mixed], env: dict, memo: dict | None = None) -> tuple[list, dict]:
    """One column's entries at one sample: the lines in order, then each entry (a Hessian-vector product).
    `memo`: the sample's subexpressions already worked out (the lines add to a copy, not to it)."""
    env = dict(env)
    memo = dict(memo) if memo is not None else {k: mpmath.mpf(v) for k, v in env.items() if not k.is_Symbol}
    for ln in t.lines:
        env[ln.symbol] = value(ln.expr, env, True, None, memo)
    return [value(m.result, env, True, None, memo) for m in entries], env


@dataclass
class Numbers:
    entries: list[list[float]]  # by column, then row
    lines: list[dict[str, float]]  # by column: each line's quantity -> its value (the first sample's)
    gauss_newton: list[list[float]] | None = None  # by column, then row


def values(net: Network, of: str, columns: list[tuple[Tangent, list[Mixed]]], point: Mapping[str, float],
           curvature: tuple[list[str], list[list]] | None = None) -> Numbers:
    """Each column's entries at the point (combined over the samples, the penalty's part added), and with
    `curvature` (the quantities q and ∂²L/∂q²) the Gauss-Newton part Σ Jᵀ H_L J over the samples."""
    points = checking.samples(net, point)
    m = len(points) if net.reduction == "mean" else 1

    def compute() -> Numbers:
        sums = [[mpmath.mpf(0)] * len(es) for _, es in columns]
        gn = [[mpmath.mpf(0)] * len(columns) for _ in columns] if curvature else None
        lines: list[dict[str, float]] = []
        for p in points:
            env = _env(net, of, p)
            memo = {k: mpmath.mpf(v) for k, v in env.items() if not k.is_Symbol}
            jac = []
            for i, (t, es) in enumerate(columns):
                got, after = column(t, es, env, memo)
                sums[i] = [s + x for s, x in zip(sums[i], got, strict=True)]
                if len(lines) < len(columns):  # the first sample's
                    lines.append({ln.quantity: float(after[ln.symbol]) for ln in t.lines})
                if curvature:
                    jac.append([after.get(t.d(q), 0) if t.d(q) != 1 else 1 for q in curvature[0]])
            if curvature:
                h = [[value(e, env, precise=True) for e in row] for row in curvature[1]]
                hj = [[mpmath.fsum(h[u][v] * jb[v] for v in range(len(jb))) for u in range(len(jb))] for jb in jac]
                for b, col in enumerate(hj):
                    for a, ja in enumerate(jac):
                        gn[b][a] += mpmath.fsum(x * y for x, y in zip(ja, col, strict=True))
        pen = {symbol(k): sweep.decimal(v) for k, v in point.items()}
        extra = [[value(e.penalty, pen, precise=True) if e.penalty != 0 else 0 for e in es] for _, es in columns]
        entries = [[float(s / m + x) for s, x in zip(row, xs, strict=True)]
                   for row, xs in zip(sums, extra, strict=True)]
        gn = [[float(x / m + p) for x, p in zip(row, xs, strict=True)] for row, xs in zip(gn, extra, strict=True)] \
            if gn is not None else None  # the penalty's Hessian in both: H - G is the curvature of the outputs
        return Numbers(entries, lines, gn)

    def agree(a: Numbers, b: Numbers) -> bool:
        pairs = [(x, y) for ra, rb in zip(a.entries, b.entries, strict=True) for x, y in zip(ra, rb, strict=True)]
        if a.gauss_newton is not None:
            pairs += [(x, y) for ra, rb in zip(a.gauss_newton, b.gauss_newton, strict=True)
                      for x, y in zip(ra, rb, strict=True)]
        return all(x == y or abs(x - y) <= 1e-13 * max(abs(x), abs(y)) for x, y in pairs)

    try:
        return checking.stable(compute, agree, "the second derivative has no finite value at the point")[0]
    except (UndefinedError, KeyError) as e:
        raise DerivatorError(f"the second derivative has no finite value at the point ({e})") from None


Check = checking.Check  # a second derivative's check is a first derivative's, field for field


def gradient_at(net: Network, of: str, names: list[str], point: Mapping[str, float], nudge: tuple[str, object],
                precise: bool) -> list:
    """∂J/∂name for each name, with one input or parameter nudged, over the samples, penalty included."""
    c = sweep.compiled(net, of)
    total: list = [0] * len(names)
    points = checking.samples(net, point)
    for p in points:
        state = c.forward(p, precise, nudge=nudge, target=False)
        g = c.backward(state, precise)
        total = [t + g.get(n, 0) for t, n in zip(total, names, strict=True)]
    m = len(points) if net.reduction == "mean" else 1
    pen = {}
    if of == "loss" and nudge[0] in point:
        shifted = {**point, nudge[0]: (sweep.decimal(point[nudge[0]]) if precise else point[nudge[0]]) + nudge[1]}
        pen = penalty_gradient(net, shifted, precise)
    return [t / m + pen.get(n, 0) for t, n in zip(total, names, strict=True)]


def check_column(net: Network, of: str, b: str, rows: list[str], exact: list[float], point: Mapping[str, float],
                 tolerance: float) -> list[Check]:
    """Every entry of column B against a central difference of the gradient in B."""
    theta = point.get(b, 0.0)  # an input of `data:` has a value per sample: the step is scaled to 1
    h = STEP * max(1.0, abs(theta))
    try:
        up = gradient_at(net, of, rows, point, (b, h), False)
        down = gradient_at(net, of, rows, point, (b, -h), False)
        numeric = [(u - d) / (2 * h) if u != d else None for u, d in zip(up, down, strict=True)]
    except (UndefinedError, OverflowError, ValueError, ZeroDivisionError):
        numeric = [None] * len(rows)
    named = _kinks(net, of, [*rows, b], point)
    out = []
    for a, x, n in zip(rows, exact, numeric, strict=True):
        named[a] = list(dict.fromkeys(named.get(a, []) + named.get(b, [])))
        method = "central difference of the first derivative (float64)"
        ok, rel = checking.close(x, n, tolerance) if n is not None else (False, math.inf)
        if not ok:
            n, method = _mp_difference(net, of, a, b, point)
            ok, rel = checking.close(x, n, tolerance)
        out.append(Check(x, n, rel, ok or bool(named.get(a)), method, named.get(a, [])))
    return out


def _mp_difference(net: Network, of: str, a: str, b: str, point: Mapping[str, float]) -> tuple[float, str]:
    def compute() -> float:
        return float(mpmath.diff(lambda t: gradient_at(net, of, [a], point, (b, t), True)[0], 0))
    try:
        result, digits = line.settle(compute, lambda x, y: checking.close(x, y, 1e-9)[0], zero=True)
    except UndefinedError:
        return math.nan, "numerical derivative of the first derivative (mpmath): no finite value"
    return result, f"numerical derivative of the first derivative (mpmath, {digits} digits)"


def _kinks(net: Network, of: str, rows: list[str], point: Mapping[str, float]) -> dict[str, list[str]]:
    """The kinks on each row's paths, at any sample: there the second derivative is the rules' convention."""
    points = checking.samples(net, point)
    if not kinks.anywhere(net, of, points):
        return {}
    from derivator.symbolic.derive import derive  # only where a kink sits: the first derivative's paths
    out: dict[str, list[str]] = {}
    for a in rows:
        d = derive(net, a, of)
        found = [s for p in points for s in kinks.sites(d, p)]
        if found:
            out[a] = list(dict.fromkeys(found))
    return out
