"""Reverse mode over the graph: every node's delta in node values, then the derivative asked for.

    delta_v = f'(z_v) * (dL/do_v + sum over children k of w(v,k) * delta_k)
    d target / d w(u,v) = delta_v * o_u        d target / d b_v = delta_v

The output's own activation enters only its own delta; rules come from `rules`, written in node
values, so sigmoid with binary cross-entropy gives exactly `O - y`. One backward pass serves every
parameter. Nothing is simplified: the expression is the recursion, nested as it runs (`nested`).
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, field

import sympy

from . import compile as compiler
from . import graph, rules
from .errors import DerivatorError, unknown
from .nested import ONE, Prod, size, to_sympy, total
from .network import Network, symbol, z_symbol

Expr = sympy.Expr


@dataclass
class Step:
    """One node's delta as the recursion writes it: f'(z_v) times what flows back into o_v."""

    node: str
    prime: Expr  # f'(z_v) in node values (1 for identity)
    children: list[tuple[Expr, str]]  # (w(v,k), k) for each child k that reaches the target
    loss_grad: Expr | None  # dL/do_v when v is an output of the loss (1 when v is the target node)
    fused: Expr | None  # the whole delta, when the loss and activation cancel by rule (O - y)
    fused_note: str | None = None  # why the delta is o - y or p - y (rules.FUSED_NOTES), or None


@dataclass
class Backward:
    """One backward pass: d target / d z and d target / d o for every node (and o for inputs)."""

    of: str
    steps: dict[str, Step] = field(default_factory=dict)  # reverse topological order
    deltas: dict[str, Prod] = field(default_factory=dict)  # d target / d z_v
    grads: dict[str, Prod] = field(default_factory=dict)  # d target / d o_v, for nodes and inputs


@dataclass
class Use:
    """One place a parameter (or input) enters: its contribution to the derivative."""

    where: str  # "edge h1 -> h2" or "bias of h2"
    node: str  # the node whose delta it takes
    factor: Expr  # what multiplies that delta: o_u for a weight, 1 for a bias, w for an input
    term: Prod


@dataclass
class Derivation:
    """The derivative of `of` with respect to `wrt`, in node values, with the deltas it used."""

    net: Network
    of: str
    wrt: str
    kind: str  # input, parameter, node or preactivation
    target: Expr  # in node values
    nested: Prod  # the derivative in node values, nested as the recursion gives it
    steps: dict[str, Step]  # for the nodes on a path from wrt to the target, output first
    deltas_nested: dict[str, Prod]
    uses: list[Use]
    upstream: set[str]  # the inputs and nodes the target depends on
    _memo: dict = field(default_factory=dict, repr=False)

    @property
    def result(self) -> Expr:
        """The derivative in node values as an ordinary SymPy expression."""
        return to_sympy(self.nested, self._memo)

    @property
    def deltas(self) -> dict[str, Expr]:
        return {v: to_sympy(p, self._memo) for v, p in self.deltas_nested.items()}

    @property
    def sinks(self) -> list[str]:
        return self.net.outputs if self.of == "loss" else [self.of]

    def nested_size(self) -> int:
        """How many factors the nested form and the deltas print, without printing them."""
        memo: dict = {}
        return size(self.nested, memo) + sum(size(p, memo) for p in self.deltas_nested.values())

    def expanded(self) -> Expr:
        """The derivative in inputs, parameters and targets only."""
        return compiler.expand(self.result, compiler.forward(self.net))

    def expanded_size(self) -> int:
        """The printed size of `expanded()`, computed without building it."""
        return compiler.tree_size(self.result, compiler.forward_sizes(self.net))


def backward(net: Network, of: str) -> Backward:
    """Deltas of every node that reaches the target, in reverse topological order."""
    relevant = graph.ancestors(net, net.outputs if of == "loss" else [of])
    direct = _loss_grads(net) if of == "loss" else {of: sympy.S.One}
    out = Backward(of)
    for v in reversed(list(net.nodes)):
        if v not in relevant:
            continue
        step = _step(net, v, direct.get(v), out, of == "loss")
        out.steps[v] = step
        upstream = total([out.deltas[k].then(w) for w, k in step.children]
                         + ([ONE.then(step.loss_grad)] if step.loss_grad is not None else []))
        out.grads[v] = upstream
        out.deltas[v] = Prod((step.fused,)) if step.fused is not None else upstream.then(step.prime)
    for x in net.inputs:
        out.grads[x] = total([out.deltas[e.dst].then(e.weight) for e in net.children[x] if e.dst in out.deltas])
    return out


def _step(net: Network, v: str, loss_grad: Expr | None, b: Backward, of_loss: bool) -> Step:
    children = [(e.weight, e.dst) for e in net.children[v] if e.dst in b.deltas and not b.deltas[e.dst].is_zero]
    sink = of_loss and loss_grad is not None and not children
    fused = _fused(net, v) if sink else None
    prime = net.nodes[v].activation.prime(symbol(v), z_symbol(v))
    note = rules.FUSED_NOTES.get((net.loss.type, net.nodes[v].activation.name)) if sink else None
    return Step(v, prime, children, loss_grad, fused, note)


def _fused(net: Network, v: str) -> Expr | None:
    """An output delta whose loss and activation cancel by rule (sigmoid with BCE: o - y)."""
    rule = net.loss.rule
    if rule is None or net.nodes[v].activation.name not in rule.fused:
        return None
    y = net.loss.targets[net.outputs.index(v)]
    return rule.fused[net.nodes[v].activation.name](symbol(v), y)


def _loss_grads(net: Network) -> dict[str, Expr]:
    """dL/do for each output, in node values."""
    loss = net.loss
    outputs = [symbol(o) for o in net.outputs]
    if loss.rule is None:
        return {o: rules.cross_entropy_grad(outputs, loss.targets, i) for i, o in enumerate(net.outputs)}
    return {o: loss.rule.grad(symbol(o), y) for o, y in zip(net.outputs, loss.targets, strict=True)}


def derive(net: Network, wrt: str, of: str | None = None, pass_: Backward | None = None) -> Derivation:
    """The derivative of the target (`of`: 'loss' or a node) with respect to `wrt`."""
    of = compiler.resolve_of(net, of)
    kind = net.kind(wrt)
    if kind is None:
        choices = [*net.names, *net.nodes]
        raise DerivatorError("--wrt: " + unknown("name", wrt, [c for c in choices if c not in net.targets]))
    if kind == "target":
        raise DerivatorError(f"--wrt {wrt}: '{wrt}' is a target; differentiate with respect to a "
                             "parameter, an input, a node or z_NODE")
    b = pass_ if pass_ is not None and pass_.of == of else backward(net, of)
    uses = _uses(net, wrt, kind, b)
    if kind == "node":
        result = b.grads.get(wrt, total([]))
    elif kind == "preactivation":
        result = b.deltas.get(wrt[2:], total([]))
    else:
        result = total([u.term for u in uses])
    sinks = net.outputs if of == "loss" else [of]
    on_path = graph.between(net, _starts(net, wrt, kind), sinks)
    keep = [v for v in b.deltas if v in on_path]
    return Derivation(net, of, wrt, kind, compiler.target(net, of), result, {v: b.steps[v] for v in keep},
                      {v: b.deltas[v] for v in keep}, uses, graph.ancestors(net, sinks))


def _uses(net: Network, wrt: str, kind: str, b: Backward) -> list[Use]:
    """Each edge or bias where a parameter (or input) enters, with delta_v * o_u for it."""
    if kind not in ("parameter", "input"):
        return []
    s = symbol(wrt)
    uses = []
    for e in net.edges:
        if e.dst not in b.deltas:
            continue
        if kind == "input" and e.src == wrt:
            uses.append(Use(f"edge {e.src} -> {e.dst}", e.dst, e.weight, b.deltas[e.dst].then(e.weight)))
        elif kind == "parameter" and e.weight == s:
            o_u = symbol(e.src)
            uses.append(Use(f"edge {e.src} -> {e.dst}", e.dst, o_u, b.deltas[e.dst].then(o_u)))
    for name, node in net.nodes.items():
        if kind == "parameter" and node.bias == s and name in b.deltas:
            uses.append(Use(f"bias of {name}", name, sympy.S.One, b.deltas[name]))
    return uses


def places(net: Network, at: Container[str]) -> dict[str, list[tuple[str, str | None]]]:
    """Where every parameter enters, in one scan: (v, u) for its weight on an edge u -> v, (v, None)
    for v's bias; only at nodes in `at`. A parameter's derivative is the sum of δ_v o_u over these."""
    out: dict[str, list[tuple[str, str | None]]] = {}
    for e in net.edges:
        if e.weight.is_Symbol and e.dst in at:
            out.setdefault(e.weight.name, []).append((e.dst, e.src))
    for v, node in net.nodes.items():
        if node.bias.is_Symbol and v in at:
            out.setdefault(node.bias.name, []).append((v, None))
    return out


def _starts(net: Network, wrt: str, kind: str) -> list[str]:
    """The nodes where a change in `wrt` first arrives."""
    if kind in ("node", "preactivation"):
        return [wrt if kind == "node" else wrt[2:]]
    if kind == "input":
        return [e.dst for e in net.children[wrt]]
    s = symbol(wrt)
    return [e.dst for e in net.edges if e.weight == s] + [n for n, nd in net.nodes.items() if nd.bias == s]

