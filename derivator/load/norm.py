"""`layer_norm: true` on a dense layer (CONTRACT section 7), expanded into the one graph as its stages.

Layer l's units j = 1..n become, in order, the stages a course draws for the normalisation's backward
pass, so that every mode shows the staged pass and its deltas:

    h{l}_j = Σ_k W{l}_j_k a{l-1}_k              (a neuron without bias: β takes the bias's place)
    mu{l} = (1/n) Σ_j h{l}_j                      (a formula node: μ)
    var{l} = (1/n) Σ_j (h{l}_j - mu{l})²          (σ², biased)
    zhat{l}_j = (h{l}_j - mu{l}) / sqrt(var{l} + ε)   (x̂)
    a{l}_j = f(gamma{l}_j zhat{l}_j + beta{l}_j)  (a neuron: gamma its edge's weight, beta its bias)

`batch_norm: true` normalises over the samples instead, which couples them: its layer is wired here for one
sample, and the samples are copied into one graph once they are read (`load/batchnorm.py`).
"""

from __future__ import annotations

import sympy

from derivator.graph.network import Edge, Layer, Node, symbol
from derivator.load import batchnorm
from derivator.load.fields import fail, number, show
from derivator.load.yamlfile import key_pos, value_pos

EPSILON = sympy.Rational(1, 100_000)


def wants(body) -> bool:
    return hasattr(body, "get") and (body.get("layer_norm") is not None or body.get("batch_norm") is not None)


def wire(reader, layer: Layer, body, previous: list[str], nodes: dict[str, Node], edges: list[Edge]) -> None:
    i, n, pos = layer.index, layer.units, layer.pos
    kind = "batch_norm" if body.get("batch_norm") is not None else "layer_norm"
    if "batch_norm" in body and "layer_norm" in body:
        fail(f"layer {i} takes one of layer_norm and batch_norm", key_pos(body, "batch_norm"))
    if body[kind] is not True:
        fail(f"'{kind}' of layer {i} is true or left out, not {show(body[kind])}", value_pos(body, kind))
    if "bias" in body:
        fail(f"layer {i} is normalised: its bias is dropped, and beta{i}_j takes its place", key_pos(body, "bias"))
    if kind == "batch_norm" and reader.steps is not None:
        fail("batch_norm does not go with 'steps:' (the samples and the steps would both be copies)",
             key_pos(body, "batch_norm"))
    if n < 2 and kind == "layer_norm":
        fail(f"layer {i} normalises over its units; it needs two or more (one unit is always 0 after it)",
             value_pos(body, "units"))
    eps = EPSILON
    if "epsilon" in body:
        eps = sympy.Rational(repr(number(body["epsilon"], value_pos(body, "epsilon"), "epsilon")))
        if eps <= 0:
            fail(f"'epsilon' of layer {i} must be positive, not {body['epsilon']}", value_pos(body, "epsilon"))
    layer.norm, layer.epsilon = kind.split("_")[0], eps
    if kind == "batch_norm":  # over the samples: copied into one graph once they are read (load/batchnorm.py)
        return batchnorm.wire(reader, layer, previous, nodes, edges)
    hs = [reader.declare(f"h{i}_{j}", "node", pos) for j in range(1, n + 1)]
    for j, h in enumerate(hs, 1):
        edges += [Edge(src, h, symbol(reader.declare(f"W{i}_{j}_{k}", "parameter", pos)), pos)
                  for k, src in enumerate(previous, 1)]
        nodes[h] = Node(h, _identity(), sympy.S.Zero, pos)
    mu, var = reader.declare(f"mu{i}", "node", pos), reader.declare(f"var{i}", "node", pos)
    xs = [symbol(h) for h in hs]
    nodes[mu] = _formula(mu, sympy.Add(*xs) / n, f"({' + '.join(hs)})/{n}", hs, pos)
    nodes[var] = _formula(var, sympy.Add(*[(x - symbol(mu)) ** 2 for x in xs]) / n,
                          f"(({')^2 + ('.join(f'{h} - {mu}' for h in hs)})^2)/{n}", [*hs, mu], pos)
    for j, h in enumerate(hs, 1):
        zhat = reader.declare(f"zhat{i}_{j}", "node", pos)
        nodes[zhat] = _formula(zhat, (symbol(h) - symbol(mu)) / sympy.sqrt(symbol(var) + eps),
                               f"({h} - {mu})/sqrt({var} + {eps})", [h, mu, var], pos)
    for j, a in enumerate(layer.nodes, 1):
        reader.declare(a, "node", pos)
        gamma = symbol(reader.declare(f"gamma{i}_{j}", "parameter", pos))
        beta = symbol(reader.declare(f"beta{i}_{j}", "parameter", pos))
        edges.append(Edge(f"zhat{i}_{j}", a, gamma, pos))
        nodes[a] = Node(a, layer.activation, beta, pos)


def _identity():
    from derivator.graph.rules import ACTIVATIONS
    return ACTIVATIONS["identity"]


def _formula(name: str, expr, text: str, reads: list[str], pos) -> Node:
    return Node(name, None, sympy.S.Zero, pos, formula=expr, formula_text=text, reads=tuple(reads))
