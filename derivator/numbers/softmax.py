"""A softmax group in numbers, stably: probabilities and their logs from the pre-activations, and the
group's deltas from the g_j = ∂T/∂p_j, without the cancellations a saturated group invites.

    p_j = exp(z_j - max z) / Σ_k exp(z_k - max z)      log p_j = z_j - max z - log Σ_k exp(z_k - max z)

At logits of ±1000, exp(z) overflows float64 and p = e^-2000 underflows it; shifted by the largest
z, nothing overflows, and log p stays finite even where p is 0. The delta is the symbolic one,
p_k (g_k (1 - p_k) - Σ_{j≠k} g_j p_j), with 1 - p_k and the sum over j ≠ k added up from the other
terms rather than subtracted from 1 or from a total: a p_k near 1 loses no digits.
"""

from __future__ import annotations

import math

import mpmath


def probabilities(zs: list, precise: bool) -> tuple[list, list]:
    """(p_j, log p_j) for each member, from its group's pre-activations."""
    exp, log, fsum = (mpmath.exp, mpmath.log, mpmath.fsum) if precise else (math.exp, math.log, math.fsum)
    top = max(zs)
    es = [exp(z - top) for z in zs]
    total = fsum(es)  # at least 1: the largest term is exp(0)
    shift = top + log(total)
    return [e / total for e in es], [z - shift for z in zs]


def others(xs: list, zero) -> list:
    """For each k, Σ_{j≠k} x_j: prefix plus suffix sums, never a subtraction."""
    before, after = [zero], [zero]
    for x in xs[:-1]:
        before.append(before[-1] + x)
    for x in reversed(xs[1:]):
        after.append(after[-1] + x)
    return [b + a for b, a in zip(before, reversed(after), strict=True)]


def deltas(ps: list, gs: list, precise: bool) -> list:
    """δ_k = p_k (g_k (1 - p_k) - Σ_{j≠k} g_j p_j) for every member."""
    zero = mpmath.mpf(0) if precise else 0.0
    rest = others(ps, zero)  # 1 - p_k
    flow = others([g * p for g, p in zip(gs, ps, strict=True)], zero)
    return [p * (g * c - f) for p, g, c, f in zip(ps, gs, rest, flow, strict=True)]


def minus_targets(ps: list, ys: list, precise: bool) -> list:
    """p_k - y_k for targets that sum to 1 (the fused delta of categorical cross-entropy). Where p_k is
    over 1/2 it is taken as Σ_{j≠k} y_j - Σ_{j≠k} p_j, the same number, whose parts keep the digits that
    p_k - 1 would cancel (p_k = 1 - 1e-130 against a one-hot target)."""
    zero = mpmath.mpf(0) if precise else 0.0
    rest_p, rest_y = others(ps, zero), others(ys, zero)
    return [ry - rp if p > 0.5 else p - y for p, y, rp, ry in zip(ps, ys, rest_p, rest_y, strict=True)]
