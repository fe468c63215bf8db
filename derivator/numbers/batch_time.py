"""The matrix recursion through time in numbers: each sample's dZ[l]⟨t⟩ from the last step back, in mpmath.

The second route to the gradients of a layers file with `steps:` (`answers/matrix_time.py`): the layers'
matrices over the steps, forward from A[l]⟨0⟩ (the initial state) and back from the last step, where
dZ[l]⟨T+1⟩ = 0. It shares no code with the unrolled scalar sweep it is compared with, only the output
layer's rule (`batch.Rules`, from the backward plan).
"""

from __future__ import annotations

import mpmath

from derivator.graph.network import Network
from derivator.graph.timesteps import at
from derivator.numbers import checking
from derivator.numbers.batch import Rules
from derivator.numbers.penalty import penalty_gradient

DIGITS = 60  # the recursion through time at a fixed precision: a sigmoid saturates float64 long before this


def values(net: Network, point: dict[str, float], kind: str, layer: int) -> list[list[float]]:
    """∂J/∂W[l], ∂J/∂U[l] or ∂J/∂b[l] summed over the steps, over every sample (averaged, or summed)."""
    with mpmath.workdps(DIGITS):
        rules = Rules(net)
        total = None
        for sample in checking.samples(net, point):
            grad = _one_sample(net, rules, {k: mpmath.mpf(v) for k, v in sample.items()}, kind, layer)
            total = grad if total is None else [[a + b for a, b in zip(ra, rb, strict=True)]
                                                for ra, rb in zip(total, grad, strict=True)]
        m = (len(net.samples) or 1) if net.reduction == "mean" else 1
        extra = penalty_gradient(net, point, precise=True)
        names = net.matrices()[f"{kind}{layer}"]
        return [[float(x / m + extra.get(e, 0)) for x, e in zip(row, es, strict=True)]
                for row, es in zip(total, names, strict=True)]


def _forward(net: Network, rules: Rules, env: dict, mats: dict) -> tuple[dict, dict]:
    """A[l]⟨t⟩ and Z[l]⟨t⟩ for every layer and step; A[l]⟨0⟩ the initial state of a recurrent layer."""
    rec = net.recurrence
    a = {(0, lay.index): [env.get(at(n, 0), mpmath.mpf(0)) for n in lay.nodes] for lay in net.layers}
    z = {}
    for t in range(1, rec.steps + 1):
        a[t, 0] = [env[at(x, t)] for x in rec.folded.inputs]
        for lay in net.layers:
            n = lay.index
            inputs = [(mats[f"W{n}"], a[t, n - 1])] + ([(mats[f"U{n}"], a[t - 1, n])] if lay.recurrent else [])
            bias = [row[0] for row in mats[f"b{n}"]] if lay.bias else [0] * lay.units
            z[t, n] = [mpmath.fsum([*(w[j][k] * x[k] for w, x in inputs for k in range(len(x))), bias[j]])
                       for j in range(lay.units)]
            a[t, n] = rules.activate(n, z[t, n])
    return a, z


def _one_sample(net: Network, rules: Rules, env: dict, kind: str, layer: int) -> list[list]:
    rec, last = net.recurrence, len(net.layers)
    mats = {name: [[env[e] for e in row] for row in rows] for name, rows in net.matrices().items()}
    a, z = _forward(net, rules, env, mats)
    targets = rec.folded.loss.targets
    grad = [[mpmath.mpf(0)] * len(row) for row in net.matrices()[f"{kind}{layer}"]]
    after: dict[int, list] = {}  # dZ[l]⟨t+1⟩, for the recurrent layers
    for t in range(rec.steps, 0, -1):
        if rec.loss_steps == "all" or t == rec.steps:
            ys = [env[at(y.name, t)] if y.is_Symbol else mpmath.mpf(float(y)) for y in targets]
            dz = rules.output_delta(last, a[t, last], z[t, last], ys)
        else:
            dz = [mpmath.mpf(0)] * net.layers[-1].units
        now = {last: dz}
        for n in range(last - 1, layer - 1, -1):
            w, units = mats[f"W{n + 1}"], net.layers[n - 1].units
            back = [mpmath.fsum(w[j][k] * now[n + 1][j] for j in range(len(w))) for k in range(units)]
            if net.layers[n - 1].recurrent and n in after:
                u = mats[f"U{n}"]
                back = [b + mpmath.fsum(u[j][k] * after[n][j] for j in range(units)) for k, b in enumerate(back)]
            now[n] = rules.back(n, a[t, n], z[t, n], back)
        source = a[t - 1, layer] if kind == "U" else a[t, layer - 1]
        for j, dzj in enumerate(now[layer]):
            for k in range(len(grad[j])):
                grad[j][k] += dzj * (source[k] if kind != "b" else 1)
        after = now
    return grad
