"""The convolution form in numbers (CONTRACT section 7): maps of every sample by plain loops, in mpmath.

The second route to a conv layer's gradients, beside the scalar delta recursion over the graph: the
forward pass runs over the grids (a valid cross-correlation with the kernel, pooling windows, dense
layers on the flattened grid), the backward pass by the convolution rules themselves:

    dA[l-1] = dZ[l] ∗ rot180(K[l])  (full convolution: each input entry gathers every kernel entry it met)
    dA[l]   = dA[l+1] routed to each window's first maximum (max pooling), or spread as 1/n (average)
    dZ[l]   = dA[l] ⊙ g'(Z[l])
    ∂J/∂K[l]_{f,c} = (1/m) Σₛ dZ[l]_f ⋆ A[l-1]_c   (valid cross-correlation)     ∂J/∂b[l]_f = (1/m) Σₛ Σ dZ[l]_f
"""

from __future__ import annotations

import mpmath

from derivator.graph.grids import positions
from derivator.graph.network import Network
from derivator.graph.rules import SOFTMAX, X
from derivator.numbers import checking
from derivator.numbers.batch import Rules
from derivator.numbers.evaluate import UndefinedError, short
from derivator.numbers.line import settle
from derivator.numbers.penalty import penalty_gradient
from derivator.numbers.sweep import OUT, PRE, unary

Map = dict  # (channel, position) -> value


class ConvRules(Rules):
    """Rules for every layer with an activation (a pool layer has none)."""

    def __init__(self, net: Network):
        acts = [lay for lay in net.layers if lay.activation is not None]
        self.softmax = [lay.activation is not None and lay.activation.name == SOFTMAX for lay in net.layers]
        unitwise = [lay for lay in acts if lay.activation.name != SOFTMAX]
        self.f = {lay.index: unary(lay.activation.f(X), True) for lay in unitwise}
        self.prime = {lay.index: lay.activation.prime(OUT, PRE) for lay in unitwise}
        from derivator.graph.plan import output_rule
        from derivator.graph.rules import LOSS_O, LOSS_Y
        self.fused, self.grad, _ = output_rule(net, LOSS_O, LOSS_Y)
        self.lost: list[float] = []


def conv_values(net: Network, point: dict[str, float], kind: str, layer: int) -> tuple[list[list[float]], dict]:
    """∂J/∂K[l] (or b[l]) over the samples, laid out like the matrix, and the first sample's maps by name."""

    def compute():
        rules = ConvRules(net)
        total, maps = None, None
        for s, sample in enumerate(checking.samples(net, point)):
            grad, these = one_sample(net, rules, sample, kind, layer)
            total = grad if total is None else [[t + g for t, g in zip(rt, rg, strict=True)]
                                                for rt, rg in zip(total, grad, strict=True)]
            maps = these if s == 0 else maps
        if short(rules.lost):
            raise UndefinedError("too few digits left: a higher precision decides")
        m = (len(net.samples) or 1) if net.reduction == "mean" else 1
        extra = penalty_gradient(net, point, precise=True)
        names = net.matrices()[f"{kind}{layer}"]
        values = [[float(x / m + extra.get(e, 0)) for x, e in zip(row, es, strict=True)]
                  for row, es in zip(total, names, strict=True)]
        return values, {k: {e: float(v) for e, v in mp.items()} for k, mp in maps.items()}

    def agree(a, b) -> bool:
        return all(x == y or abs(x - y) <= 1e-13 * abs(x) for ra, rb in zip(a[0], b[0], strict=True)
                   for x, y in zip(ra, rb, strict=True))

    return settle(compute, agree)[0]


def _flat(lay_or_names, grid_map: Map, grid) -> list:
    return [grid_map[c, p] for c in range(grid.channels) for p in positions(grid.spatial)]


def one_sample(net: Network, rules: ConvRules, sample: dict[str, float], kind: str, layer: int):
    """One sample's gradient of K[l] or b[l], and its maps: dZ (conv), dA (pool) and dA[l-1], by entry name."""
    env = {k: mpmath.mpf(v) for k, v in sample.items()}
    first = net.layers[0].source
    a: list = [{(c, p): env[first.name(c, *p)] for c in range(first.channels) for p in positions(first.spatial)}]
    zs: list = [None]
    argmax: dict[int, dict] = {}
    for lay in net.layers:
        n = lay.index
        if lay.kind == "conv":
            z = {}
            for f in range(lay.filters):
                bias = env[f"b{n}_{f + 1}"] if lay.bias else 0
                for p in positions(lay.out.spatial):
                    z[f, p] = mpmath.fsum([env[lay.kernel_name(f, c, o)] * a[-1][c, s]
                                           for c in range(lay.source.channels) for o, s in lay.reads(p)]) + bias
            zs.append(z)
            a.append({k: rules.f[n](v) for k, v in z.items()})
        elif lay.kind == "pool":
            out, arg = {}, {}
            for f in range(lay.filters):
                for p in positions(lay.out.spatial):
                    window = [s for _, s in lay.reads(p)]
                    vals = [a[-1][f, s] for s in window]
                    if lay.pool == "max":
                        best = max(range(len(vals)), key=lambda i: (vals[i], -i))  # the first maximum
                        out[f, p], arg[f, p] = vals[best], window[best]
                    else:
                        out[f, p] = mpmath.fsum(vals) / _size(lay.kernel)
            zs.append(None)
            a.append(out)
            argmax[n] = arg
        else:
            before = a[-1] if not isinstance(a[-1], dict) else _flat(None, a[-1], net.layers[n - 2].out)
            w = net.matrices()[f"W{n}"]
            z = [mpmath.fsum([env[e] * x for e, x in zip(row, before, strict=True)])
                 + (env[f"b{n}_{j + 1}"] if lay.bias else 0) for j, row in enumerate(w)]
            zs.append(z)
            a.append(rules.activate(n, z))
    last = len(net.layers)
    ys = [env[str(t)] if t.is_Symbol else mpmath.mpf(float(t)) for t in net.loss.targets]
    d = rules.output_delta(last, a[-1], zs[-1], ys)  # dZ[L], as the dense matrix form has it
    maps: dict[str, dict] = {}
    for n in range(last - 1, layer - 2, -1):
        d = _back(net, n, d, env, argmax)  # dA[n] from the layer above
        if n == layer - 1:  # the layer's input: dA[l-1], by the full convolution
            maps[f"dA{n}"] = _named(net.layers[layer - 1].source, d)
            break
        lay = net.layers[n - 1]
        if lay.kind == "pool":
            maps[f"dA{n}"] = _named(lay.out, d)  # a pool unit's delta is ∂J/∂A
        elif lay.kind == "conv":
            d = {k: v * rules.g_prime(n, a[n][k], zs[n][k]) for k, v in d.items()}
            maps[f"dZ{n}"] = _named(lay.out, d)
        else:
            d = rules.back(n, a[n], zs[n], d)
        if n == layer:
            dz = d
    lay = net.layers[layer - 1]
    if kind == "b":
        return [[mpmath.fsum([dz[f, p] for p in positions(lay.out.spatial)])] for f in range(lay.filters)], maps
    grad = {}
    for f in range(lay.filters):
        for p in positions(lay.out.spatial):
            for c in range(lay.source.channels):
                for o, s in lay.reads(p):
                    key = lay.kernel_name(f, c, o)
                    grad[key] = grad.get(key, 0) + dz[f, p] * a[layer - 1][c, s]
    return [[grad.get(e, mpmath.mpf(0)) for e in row] for row in net.matrices()[f"K{layer}"]], maps


def _size(kernel: tuple[int, ...]) -> int:
    out = 1
    for k in kernel:
        out *= k
    return out


def _named(grid, d: Map) -> dict:
    return {grid.name(c, *p): v for (c, p), v in d.items()}


def _back(net: Network, n: int, d, env: dict, argmax: dict):
    """dA[n] from layer n+1's delta `d`: through W[n+1]ᵀ (reshaped onto a grid), the pooling rule, or the
    full convolution with the flipped kernel (each input entry gathers the kernel entries that read it)."""
    above = net.layers[n]
    below = net.layers[n - 1].out if n >= 1 and net.layers[n - 1].kind != "dense" else \
        (net.layers[0].source if n == 0 else None)
    if above.kind == "dense":
        w = net.matrices()[f"W{n + 1}"]
        back = [mpmath.fsum([env[w[j][k]] * d[j] for j in range(len(d))]) for k in range(len(w[0]))]
        if below is None:
            return back
        keys = [(c, p) for c in range(below.channels) for p in positions(below.spatial)]
        return dict(zip(keys, back, strict=True))
    out = {(c, p): mpmath.mpf(0) for c in range(above.source.channels) for p in positions(above.source.spatial)}
    for (f, p), v in d.items():
        if above.kind == "pool":
            if above.pool == "max":
                out[f, argmax[above.index][f, p]] += v
            else:
                for _, s in above.reads(p):
                    out[f, s] += v / _size(above.kernel)
            continue
        for c in range(above.source.channels):
            for o, s in above.reads(p):
                out[c, s] += env[above.kernel_name(f, c, o)] * v
    return out
