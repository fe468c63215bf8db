"""Independent reference Hessians: the network written with autograd.numpy, differentiated by HIPS
autograd (`autograd.hessian`), a test oracle that shares no code with derivator.

It reads the same plain dicts as tests/refengine.py (nodes + edges; a layers spec through
refengine.expand_layers), with the formulas parsed by refengine's own parser into syntax trees that
are evaluated here with autograd.numpy. Covered: every built-in activation, formula activations,
formula nodes, softmax groups, every loss, `data:` with either reduction, `penalty:` and
`regularization:`. The relu family uses numpy's `where`, so its second derivative is 0 away from 0.
"""

from __future__ import annotations

try:
    from refengine import _edges, _outputs, _point, expand_layers, expand_point, parse_formula
except ImportError:  # tests/ collected as a package
    from tests.refengine import _edges, _outputs, _point, expand_layers, expand_point, parse_formula

import autograd.numpy as anp
from autograd import hessian

SIG = lambda x: 1 / (1 + anp.exp(-x))  # noqa: E731
SOFTPLUS = lambda x: anp.logaddexp(0.0, x)  # noqa: E731
FUNCS = {"exp": anp.exp, "log": anp.log, "sqrt": anp.sqrt, "abs": anp.abs, "tanh": anp.tanh, "sigmoid": SIG,
         "relu": lambda x: anp.where(x > 0, x, 0.0 * x), "softplus": SOFTPLUS, "sin": anp.sin, "cos": anp.cos}


def formula(tree: tuple, env):
    tag = tree[0]
    if tag == "num":
        return tree[1]
    if tag == "name":
        return env(tree[1])
    if tag == "neg":
        return -formula(tree[1], env)
    if tag == "bin":
        a, b = formula(tree[2], env), formula(tree[3], env)
        return {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a / b,
                "**": lambda: a ** b}[tree[1]]()
    args = [formula(a, env) for a in tree[2]]
    if tree[1] in ("max", "min"):
        out = args[0]
        for x in args[1:]:
            out = anp.where((x > out) if tree[1] == "max" else (x < out), x, out)
        return out
    return FUNCS[tree[1]](args[0])


def activation(body: dict, z):
    name = body.get("activation", "identity")
    if name in ("identity", "linear"):
        return z
    if name == "sigmoid":
        return SIG(z)
    if name == "tanh":
        return anp.tanh(z)
    if name == "relu":
        return anp.where(z > 0, z, 0.0 * z)
    if name == "leaky_relu":
        return anp.where(z > 0, z, body.get("slope", 0.01) * z)
    if name == "softplus":
        return SOFTPLUS(z)
    if name == "exp":
        return anp.exp(z)
    return formula(parse_formula(name), {"x": z}.__getitem__)


def one_sample(spec: dict, v: dict, of: str):
    nodes, edges = spec["nodes"], _edges(spec)
    o = {x: v[x] for x in (spec["inputs"] if isinstance(spec["inputs"], list) else list(spec["inputs"]))}
    z = {}

    def val(x):
        return x if isinstance(x, (int, float)) else v[x]

    def pre(n):
        if n not in z:
            z[n] = sum(val(w) * build(a) for a, b, w in edges if b == n) + val(nodes[n].get("bias", 0.0))
        return z[n]

    def build(n):
        if n in o:
            return o[n]
        body = nodes[n]
        if "formula" in body:
            o[n] = formula(parse_formula(body["formula"]), lambda s: build(s) if s in nodes or s in o else v[s])
            return o[n]
        total = pre(n)
        if body.get("activation") == "softmax":
            group = [m for m, b in nodes.items() if b.get("activation") == "softmax"
                     and b.get("group", "softmax") == body.get("group", "softmax")]
            zs = [pre(m) for m in group]
            lse = anp.log(sum(anp.exp(t) for t in zs))
            for m, t in zip(group, zs, strict=True):
                o[m] = anp.exp(t - lse)
            return o[n]
        o[n] = activation(body, total)
        return o[n]

    for n in nodes:
        build(n)
    if of != "loss":
        return o[of]
    loss, outs = spec["loss"], [o[n] for n in _outputs(spec)]
    kind = loss.get("type", "formula")
    ys = loss["target"] if isinstance(loss["target"], list) else [loss["target"]]
    ys = [val(y) for y in ys]
    if kind == "cross_entropy":
        lse = anp.log(sum(anp.exp(t) for t in outs))
        return -sum(y * (t - lse) for t, y in zip(outs, ys, strict=True))
    if kind == "categorical_cross_entropy":
        return -sum(y * anp.log(t) for t, y in zip(outs, ys, strict=True))
    terms = []
    for t, y in zip(outs, ys, strict=True):
        if kind == "squared_error":
            terms.append((t - y) ** 2)
        elif kind == "half_squared_error":
            terms.append((t - y) ** 2 / 2)
        elif kind == "binary_cross_entropy":
            terms.append(-(y * anp.log(t) + (1 - y) * anp.log(1 - t)))
        else:
            terms.append(formula(parse_formula(loss["formula"]), {"o": t, "y": y}.__getitem__))
    return sum(terms)


def penalty(spec: dict, v: dict):
    total = 0.0
    if spec.get("penalty") is not None:
        total = total + formula(parse_formula(spec["penalty"]), v.__getitem__)
    reg = spec.get("regularization") or {}
    weights = list(dict.fromkeys(w for _, _, w in _edges(spec) if not isinstance(w, (int, float))))
    if "l2" in reg:
        total = total + reg["l2"] / 2 * sum(v[w] ** 2 for w in weights)
    if "l1" in reg:
        total = total + reg["l1"] * sum(anp.abs(v[w]) for w in weights)
    return total


def reference_hessian(spec: dict, names: list[str], of: str = "loss", point: dict | None = None) -> list[list[float]]:
    """autograd's Hessian of the target over `names` at the spec's point (with data: J over the samples)."""
    spec = expand_layers(spec)
    base = _point(spec, expand_point(point or {}))
    data = spec.get("data") or [{}]
    mean = (spec.get("loss") or {}).get("reduction", "mean") == "mean"

    def target(theta):
        v = {**base, **dict(zip(names, theta, strict=True))}
        total = sum(one_sample(spec, {**v, **s}, of) for s in data)
        total = total / len(data) if mean and spec.get("data") else total
        return total + (penalty(spec, v) if of == "loss" or not spec.get("loss") else 0.0)

    h = hessian(target)(anp.array([float(base[n]) for n in names]))
    return [[float(x) for x in row] for row in h]
