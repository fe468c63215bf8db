"""The network in SymPy: each node's equations in node values, and the whole target in the inputs.

Two levels, as a teacher writes them. In node values, `z_h2 = w2*h1 + 1` and `h2 = sigmoid(z_h2)`
name only the node's parents. `expand` substitutes those equations to write anything in inputs,
parameters and targets alone; shared subexpressions stay shared objects, so building is linear in the
network even when printing would not be (see `tree_size`).
"""

from __future__ import annotations

import sympy

from derivator.errors import DerivatorError, unknown
from derivator.graph import rules
from derivator.graph.network import Network, symbol, z_symbol

Expr = sympy.Expr


def preactivation(net: Network, node: str) -> Expr:
    """z_v = sum over incoming edges of w * o_u, plus the bias; in node values."""
    return sympy.Add(*[e.weight * symbol(e.src) for e in net.parents[node]], net.nodes[node].bias)


def activation(net: Network, node: str, z: dict[str, Expr] | None = None) -> Expr:
    """o_v = f(z_v), with z_v as its symbol (or as `z` gives it); a softmax unit's is
    exp(z_v) / Σ_k exp(z_k) over its group."""
    z = z or {}
    group = net.groups.get(net.nodes[node].group)
    if group is not None:
        return rules.softmax_of([z.get(m, z_symbol(m)) for m in group], group.index(node))
    return net.nodes[node].activation.f(z.get(node, z_symbol(node)))


def target(net: Network, of: str) -> Expr:
    """The target in node values: the loss over the outputs, or a node's value."""
    if of != "loss":
        return symbol(of)
    loss = net.loss
    outputs = [symbol(o) for o in net.outputs]
    if loss.rule is None:
        return rules.cross_entropy(outputs, loss.targets)
    return sympy.Add(*[loss.rule.value(o, y) for o, y in zip(outputs, loss.targets, strict=True)])


def resolve_of(net: Network, of: str | None) -> str:
    """Which target `--of` means: 'loss' or a node; the default as CONTRACT section 2 says."""
    if of is None:
        if net.loss is not None:
            return "loss"
        if len(net.outputs) > 1:
            raise DerivatorError(f"the network has {len(net.outputs)} outputs and no loss: "
                                 f"choose one with --of ({', '.join(net.outputs)})")
        return net.outputs[0]
    if of == "loss":
        if net.loss is None:
            raise DerivatorError("--of loss: the file has no 'loss:'")
        return of
    if of not in net.nodes:
        raise DerivatorError("--of: " + unknown("node", of, ["loss", *net.nodes] if net.loss else net.nodes))
    return of


def equations(net: Network) -> dict[sympy.Symbol, Expr]:
    """Every node's z and o as one substitution table, in node values (forward order)."""
    table: dict[sympy.Symbol, Expr] = {}
    for node in net.nodes:
        if net.nodes[node].is_formula:
            table[symbol(node)] = net.nodes[node].formula
            continue
        table[z_symbol(node)] = preactivation(net, node)
        table[symbol(node)] = activation(net, node)
    return table


def forward(net: Network) -> dict[sympy.Symbol, Expr]:
    """Every node's z and o in inputs and parameters only; shared subexpressions are shared objects."""
    table: dict[sympy.Symbol, Expr] = {}
    for node in net.nodes:
        if net.nodes[node].is_formula:
            table[symbol(node)] = net.nodes[node].formula.xreplace(table)
            continue
        table[z_symbol(node)] = preactivation(net, node).xreplace(table)
        for v in _ready(net, node):  # a softmax group's outputs once its last z is known
            table[symbol(v)] = activation(net, v, {m: table[z_symbol(m)] for m in [v, *net.siblings(v)]})
    return table


def _ready(net: Network, node: str) -> list[str]:
    """The nodes whose output is known once `node`'s z is: itself, or its whole group after its last member."""
    group = net.groups.get(net.nodes[node].group)
    if group is None:
        return [node]
    return group if node == group[-1] else []


def expand(expr: Expr, table: dict[sympy.Symbol, Expr]) -> Expr:
    """`expr` (in node values) written in inputs, parameters and targets only."""
    return expr.xreplace(table)


def tree_size(expr: Expr, leaves: dict[sympy.Symbol, int] | None = None, memo: dict[Expr, int] | None = None) -> int:
    """How many nodes the expression has when printed as a tree, sharing nothing.

    `leaves` gives the printed size of symbols that stand for larger expressions, so the size of
    `expand(expr)` is known before building or printing it. Memoised: linear in the distinct parts;
    a `memo` kept by the caller (without `leaves`) makes the next call cost only the new parts.
    """
    leaves = leaves or {}
    memo = {} if memo is None else memo

    def size(e: Expr) -> int:
        if e in memo:
            return memo[e]
        n = leaves.get(e, 1) if not e.args else 1 + sum(size(a) for a in e.args)
        memo[e] = n
        return n

    return size(expr)


def forward_sizes(net: Network) -> dict[sympy.Symbol, int]:
    """The printed size of each node's z and o in inputs and parameters, without building them."""
    sizes: dict[sympy.Symbol, int] = {}
    for node in net.nodes:
        if net.nodes[node].is_formula:
            sizes[symbol(node)] = tree_size(net.nodes[node].formula, sizes)
            continue
        sizes[z_symbol(node)] = tree_size(preactivation(net, node), sizes)
        for v in _ready(net, node):
            sizes[symbol(v)] = tree_size(activation(net, v), sizes)
    return sizes
