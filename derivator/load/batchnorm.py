"""`batch_norm: true` on a dense layer (CONTRACT section 7): the samples of `data:` copied into one graph.

Batch statistics couple the samples, and every other stage evaluates one sample at a time, so a
network with a batch-normalised layer is copied once per sample, as recurrence copies it once per step
(`load/recurrence.py`): input, node and target v of sample s is `v#s` (`x1#2`, `a1_3#2`, `y#2`), and
weights, biases, gamma and beta are not copied, so they are tied parameters whose derivative the
backward plan sums over their uses. Layer l's unit j becomes the stages a course draws:

    h{l}_j#s = Σ_k W{l}_j_k a{l-1}_k#s                  (a neuron without bias, one per sample)
    mu{l}_j = (1/m) Σ_s h{l}_j#s                          (one formula node, μ_B, reading every sample)
    var{l}_j = (1/m) Σ_s (h{l}_j#s - mu{l}_j)²            (σ²_B, biased)
    zhat{l}_j#s = (h{l}_j#s - mu{l}_j)/sqrt(var{l}_j + ε)   (x̂)
    a{l}_j#s = f(gamma{l}_j zhat{l}_j#s + beta{l}_j)

The copies' outputs are the outputs of one sample-free network whose loss is J itself: the mean of the
copies' losses (each loss rule scaled by 1/m) or, with `reduction: sum`, their sum. `#` is not a character
of the file's names, so no copy can clash with one; code writes `x1#2` as `x1__s2` (`graph/timesteps.ident`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import sympy

from derivator.graph import order, rules
from derivator.graph.network import Edge, Network, Node, symbol
from derivator.load.fields import fail
from derivator.load.yamlfile import value_pos

SEP = "#"
# Each statistic reads every sample's copy, and its local derivatives are one per copy, so the work grows as
# m² per unit besides the m copies: at 64 samples one derivative with --check took 10 s of CPU and
# --hessian 18 s (2 units); at 32, 5 s. Courses' batches are 4 or 8.
MAX_BATCH = 32


def copy(name: str, s: int) -> str:
    return f"{name}{SEP}{s}"


@dataclass
class Batch:
    """What the file says before copying: its one-sample network, and each batch-normalised layer."""

    size: int  # m, the number of samples
    folded: Network
    layers: list[tuple[int, int, sympy.Expr]]  # (layer index, units, ε)


def wire(reader, layer, previous: list[str], nodes: dict[str, Node], edges: list[Edge]) -> None:
    """The folded layer: h{l}_j, then zhat{l}_j standing for x̂ (its formula is written at `couple`)."""
    i, pos = layer.index, layer.pos
    identity = rules.ACTIVATIONS["identity"]
    for j, a in enumerate(layer.nodes, 1):
        h = reader.declare(f"h{i}_{j}", "node", pos)
        edges += [Edge(src, h, symbol(reader.declare(f"W{i}_{j}_{k}", "parameter", pos)), pos)
                  for k, src in enumerate(previous, 1)]
        nodes[h] = Node(h, identity, sympy.S.Zero, pos)
        for stat in (f"mu{i}_{j}", f"var{i}_{j}"):
            reader.declare(stat, "node", pos)
        zhat = reader.declare(f"zhat{i}_{j}", "node", pos)
        nodes[zhat] = Node(zhat, None, sympy.S.Zero, pos, formula=symbol(h), formula_text=h, reads=(h,))
        reader.declare(a, "node", pos)
        gamma = symbol(reader.declare(f"gamma{i}_{j}", "parameter", pos))
        beta = symbol(reader.declare(f"beta{i}_{j}", "parameter", pos))
        edges.append(Edge(zhat, a, gamma, pos))
        nodes[a] = Node(a, layer.activation, beta, pos)


def wanted(net: Network) -> bool:
    return any(getattr(lay, "norm", "") == "batch" for lay in net.layers)


def couple(reader, net: Network, max_nodes: int, max_edges: int) -> Network:
    """The network copied once per sample of `data:`, coupled through each normalised layer's statistics."""
    doc, first = reader.doc, next(lay for lay in net.layers if getattr(lay, "norm", "") == "batch")
    batch = [(lay.index, lay.units, lay.epsilon) for lay in net.layers if getattr(lay, "norm", "") == "batch"]
    m = len(net.samples)
    if m < 2:
        fail(f"layer {first.index}: batch_norm normalises over the samples of 'data:'; " +
             ("give two or more (one sample's variance is 0)" if m else "this file has none"), first.pos)
    if m > MAX_BATCH:
        fail(f"batch_norm couples the {m} samples into one graph; at most {MAX_BATCH} are derived",
             value_pos(doc, "data"))
    if net.loss is not None and net.loss.rule is None:
        fail("cross_entropy takes one softmax over all the outputs; with batch_norm the samples are one graph, so "
             "give the output layer activation: softmax and the loss categorical_cross_entropy", net.loss.pos)
    if m * len(net.nodes) + 2 * sum(n for _, n, _ in batch) > max_nodes or \
            m * len(net.edges) > max_edges:
        fail(f"with batch_norm the {m} samples are copied into one graph: {m * len(net.nodes):,} nodes and "
             f"{m * len(net.edges):,} weights; the caps are {max_nodes:,} and {max_edges:,}", value_pos(doc, "data"))
    names = set(net.inputs) | set(net.nodes) | set(net.targets)
    stats = {f"zhat{i}_{j}": (i, j, eps) for i, n, eps in batch for j in range(1, n + 1)}
    nodes: dict[str, Node] = {}
    for v, node in net.nodes.items():
        if v in stats:
            _statistics(nodes, v, node, stats[v], m)
            continue
        for s in range(1, m + 1):
            nodes[copy(v, s)] = _node(node, s, names)
    edges = [Edge(copy(e.src, s), copy(e.dst, s), e.weight, e.pos) for s in range(1, m + 1) for e in net.edges]
    loss = net.loss
    if loss is not None:
        ys = [symbol(copy(y.name, s)) if y.is_Symbol else y for s in range(1, m + 1) for y in loss.targets]
        rule = loss.rule if net.reduction == "sum" else _scaled(loss.rule, m)
        loss = dataclasses.replace(loss, targets=ys, rule=rule)
    point = {**net.at, **{copy(k, s): v for s, sample in enumerate(net.samples, 1) for k, v in sample.items()}}
    positions = {**net.positions, **{copy(n, s): net.positions.get(n) for n in names for s in range(1, m + 1)}}
    out = Network(inputs=[copy(x, s) for s in range(1, m + 1) for x in net.inputs], nodes=nodes, edges=edges,
                  outputs=[copy(o, s) for s in range(1, m + 1) for o in net.outputs], loss=loss, params=net.params,
                  targets=[copy(y, s) for s in range(1, m + 1) for y in net.targets], at=point,
                  description=net.description, positions=positions, layers=net.layers, penalty=net.penalty,
                  penalty_text=net.penalty_text, reduction=net.reduction, notation=net.notation,
                  batch=Batch(m, net, batch))
    return order.check(out)


def _node(node: Node, s: int, names: set[str]) -> Node:
    group = copy(node.group, s) if node.group is not None else None  # one softmax per sample
    if not node.is_formula:
        return Node(copy(node.name, s), node.activation, node.bias, node.pos, group=group)
    swap = {symbol(n): symbol(copy(n, s)) for n in node.reads if n in names}
    return Node(copy(node.name, s), None, node.bias, node.pos, node.formula.xreplace(swap), node.formula_text,
                tuple(copy(n, s) if n in names else n for n in node.reads), group=group)


def _statistics(nodes: dict[str, Node], zhat: str, node: Node, where: tuple, m: int) -> None:
    """μ_B and σ²_B of unit j over the m copies of h{l}_j, then x̂ of each copy."""
    i, j, eps = where
    pos, hs = node.pos, [copy(f"h{i}_{j}", s) for s in range(1, m + 1)]
    mu, var, xs = f"mu{i}_{j}", f"var{i}_{j}", [symbol(h) for h in hs]
    nodes[mu] = Node(mu, None, sympy.S.Zero, pos, formula=sympy.Add(*xs) / m,
                     formula_text=f"({' + '.join(hs)})/{m}", reads=tuple(hs))
    nodes[var] = Node(var, None, sympy.S.Zero, pos, formula=sympy.Add(*[(x - symbol(mu)) ** 2 for x in xs]) / m,
                      formula_text=f"(({')^2 + ('.join(f'{h} - {mu}' for h in hs)})^2)/{m}", reads=(*hs, mu))
    for s, h in enumerate(hs, 1):
        name = copy(zhat, s)
        xhat = (symbol(h) - symbol(mu)) / sympy.sqrt(symbol(var) + eps)
        nodes[name] = Node(name, None, sympy.S.Zero, pos, formula=xhat,
                           formula_text=f"({h} - {mu})/sqrt({var} + {eps})", reads=(h, mu, var))


def _scaled(rule: rules.PointLoss, m: int) -> rules.PointLoss:
    """Each copy's loss over m: J = (1/m) Σ_s loss#s is then the one graph's loss. A softmax group's fused
    delta is not kept: the stable sweep reads the target back from it as p - (p - y), which (p - y)/m is not,
    so its delta goes through the group's Jacobian, -y/(m p) times p_j(δ_jk - p_k)."""
    second = None if rule.second is None else (lambda o, y: rule.second(o, y) / m)
    fused = {k: (lambda o, y, f=f: f(o, y) / m) for k, f in rule.fused.items() if k != rules.SOFTMAX}
    return dataclasses.replace(rule, value=lambda o, y: rule.value(o, y) / m, grad=lambda o, y: rule.grad(o, y) / m,
                               fused=fused, second=second)
