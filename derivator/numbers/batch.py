"""The matrix recursion in numbers: every sample's dZ[l] by the layers' matrices, in mpmath.

The matrix form's second route to the same numbers as the scalar delta recursion: the two are
compared entry by entry. The output layer's rule comes from the backward plan. The precision rises
while the output deltas lose too many digits (a fused A - Y at a saturated sigmoid with Y = 1).
"""

from __future__ import annotations

import mpmath

from derivator.graph.network import Network
from derivator.graph.plan import output_rule
from derivator.graph.rules import LOSS_O, LOSS_Y, SOFTMAX, X
from derivator.numbers import checking, softmax
from derivator.numbers.evaluate import UndefinedError, short, value
from derivator.numbers.line import settle
from derivator.numbers.penalty import penalty_gradient
from derivator.numbers.sweep import OUT, PRE, unary


def batch_values(net: Network, point: dict[str, float], kind: str, layer: int) -> list[list[float]]:
    """The matrix recursion over every sample, in mpmath, averaged, at rising precision."""

    def compute() -> list[list[float]]:
        rules = Rules(net)
        total = None
        for sample in checking.samples(net, point):
            grad = _one_sample(net, rules, sample, kind, layer)
            total = grad if total is None else [[t + g for t, g in zip(rt, rg, strict=True)]
                                                for rt, rg in zip(total, grad, strict=True)]
        if short(rules.lost):
            raise UndefinedError("too few digits left: a higher precision decides")
        m = (len(net.samples) or 1) if net.reduction == "mean" else 1
        extra = penalty_gradient(net, point, precise=True)
        names = net.matrices()[f"{kind}{layer}"]
        return [[float(x / m + extra.get(e, 0)) for x, e in zip(row, es, strict=True)]
                for row, es in zip(total, names, strict=True)]

    def agree(a, b) -> bool:
        return all(x == y or abs(x - y) <= 1e-13 * abs(x) for ra, rb in zip(a, b, strict=True)
                   for x, y in zip(ra, rb, strict=True))

    return settle(compute, agree)[0]


class Rules:
    """Each layer's activation and derivative, and the output layer's delta, built once for every sample."""

    def __init__(self, net: Network):
        self.softmax = [lay.activation.name == SOFTMAX for lay in net.layers]  # a layer that is one group
        unitwise = [lay for lay in net.layers if lay.activation.name != SOFTMAX]
        self.f = {lay.index: unary(lay.activation.f(X), True) for lay in unitwise}
        self.prime = {lay.index: lay.activation.prime(OUT, PRE) for lay in unitwise}
        self.fused, self.grad, _ = output_rule(net, LOSS_O, LOSS_Y)  # grad None, fused None: softmax
        self.lost: list[float] = []  # digits the output deltas lost

    def g_prime(self, layer: int, o, z):
        return value(self.prime[layer], {OUT: o, PRE: z}, True, self.lost)

    def activate(self, layer: int, z: list) -> list:
        return softmax.probabilities(z, True)[0] if self.softmax[layer - 1] else [self.f[layer](zj) for zj in z]

    def back(self, layer: int, a: list, z: list, da: list) -> list:
        """dZ[l] from dA[l]: g'(Z) entry by entry, or a softmax layer's Jacobian, p ⊙ (dA - pᵀ dA)."""
        if self.softmax[layer - 1]:
            return softmax.deltas(a, da, True)
        return [d * self.g_prime(layer, ak, zk) for d, ak, zk in zip(da, a, z, strict=True)]

    def output_delta(self, last: int, a: list, z: list, y: list) -> list:
        if self.fused is not None and self.softmax[last - 1]:  # categorical cross-entropy: p - y, stably
            return softmax.minus_targets(a, y, True)
        if self.fused is not None:
            return [value(self.fused, {LOSS_O: ai, LOSS_Y: yi}, True, self.lost) for ai, yi in zip(a, y, strict=True)]
        if self.grad is None:
            top = max(a)
            e = [mpmath.exp(ai - top) for ai in a]
            da = [ei / mpmath.fsum(e) - yi for ei, yi in zip(e, y, strict=True)]
        else:
            da = [value(self.grad, {LOSS_O: ai, LOSS_Y: yi}, True, self.lost) for ai, yi in zip(a, y, strict=True)]
        return self.back(last, a, z, da)


def _one_sample(net: Network, rules: Rules, sample: dict[str, float], kind: str, layer: int) -> list[list]:
    env = {k: mpmath.mpf(v) for k, v in sample.items()}
    weights = net.matrices()
    a = [[env[x] for x in net.inputs]]  # A[0], A[1], ... as vectors for this sample
    zs = [None]
    for lay in net.layers:
        n = lay.index
        w = [[env[e] for e in row] for row in weights[f"W{n}"]]
        bias = [env[row[0]] for row in weights[f"b{n}"]] if lay.bias else [0] * lay.units
        z = [mpmath.fsum(wjk * ak for wjk, ak in zip(wj, a[-1], strict=True)) + bj
             for wj, bj in zip(w, bias, strict=True)]
        zs.append(z)
        a.append(rules.activate(n, z))
    dz = rules.output_delta(len(net.layers), a[-1], zs[-1],
                            [env[str(t)] if t.is_Symbol else mpmath.mpf(float(t)) for t in net.loss.targets])
    for n in range(len(net.layers) - 1, layer - 1, -1):
        w = [[env[e] for e in row] for row in weights[f"W{n + 1}"]]
        back = [mpmath.fsum(w[j][k] * dz[j] for j in range(len(dz))) for k in range(len(a[n]))]
        dz = rules.back(n, a[n], zs[n], back)
    if kind == "W":
        return [[dzj * ak for ak in a[layer - 1]] for dzj in dz]
    return [[dzj] for dzj in dz]
