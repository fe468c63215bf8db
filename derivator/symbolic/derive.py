"""Reverse mode over the graph: every node's delta in node values, then the derivative asked for.

    delta_v = f'(z_v) * (dL/do_v + sum over children k of w(v,k) * delta_k)
    d target / d w(u,v) = delta_v * o_u        d target / d b_v = delta_v

The output's own activation enters only its own delta; rules come from `rules`, written in node
values, so sigmoid with binary cross-entropy gives exactly `O - y`. One backward pass serves every
parameter. Nothing is simplified: the expression is the recursion, nested as it runs (`nested`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy

from derivator import arguments
from derivator.errors import DerivatorError, unknown
from derivator.graph import equations, order
from derivator.graph.network import Network, symbol
from derivator.graph.plan import Plan, plan
from derivator.symbolic.nested import ONE, ZERO, Prod, Sum, minus, size, to_sympy, total

Expr = sympy.Expr


@dataclass
class Step:
    """One node's delta as the recursion writes it: f'(z_v) times what flows back into o_v."""

    node: str
    prime: Expr  # f'(z_v) in node values (1 for identity and for a formula node)
    children: list[tuple[Expr, str]]  # (local derivative, k) for each node k reading v: w(v,k) into a neuron
    loss_grad: Expr | None  # dL/do_v when v is an output of the loss (1 when v is the target node)
    fused: Expr | None  # the whole delta, when the loss and activation cancel by rule (O - y)
    formula: bool = False  # a formula node: its delta is d target / d v, its value's own derivative
    fused_note: str | None = None  # why the delta is o - y or p - y (rules.FUSED_NOTES), or None
    into_formulas: frozenset = frozenset()  # children that are formula nodes: written δ_k ∂k/∂v, upstream first
    group: tuple = ()  # a softmax unit: the steps of its group's units, in order (itself among them)


@dataclass
class Backward:
    """One backward pass: d target / d z and d target / d o for every node (and o for inputs)."""

    of: str
    plan: Plan
    steps: dict[str, Step] = field(default_factory=dict)  # reverse topological order
    deltas: dict[str, Prod] = field(default_factory=dict)  # d target / d z_v
    grads: dict[str, Prod] = field(default_factory=dict)  # d target / d o_v, for nodes and inputs


@dataclass
class Use:
    """One place a parameter (or input) enters: its contribution to the derivative."""

    where: str  # "edge h1 -> h2", "bias of h2", "formula of f", or "penalty"
    node: str | None  # the node whose delta it takes (None for the penalty)
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
    penalty: Expr = sympy.S.Zero  # the penalty's derivative; with data it is added after the reduction
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
        return equations.expand(self.result, equations.forward(self.net))

    def expanded_size(self) -> int:
        """The printed size of `expanded()`, computed without building it."""
        return equations.tree_size(self.result, equations.forward_sizes(self.net))


def backward(net: Network, of: str, p: Plan | None = None) -> Backward:
    """Deltas of every node that reaches the target, in reverse topological order, as the plan says."""
    p = p if p is not None else plan(net, of)
    out = Backward(of, plan=p)
    for v in reversed(p.order):
        fused = p.fused.get(v)
        children = [(link.local, link.node) for link in p.children(v) if not out.deltas[link.node].is_zero]
        step = Step(v, p.prime.get(v, sympy.S.One), children, p.direct.get(v), fused,
                    net.nodes[v].is_formula, p.notes.get(v),
                    frozenset(k for _, k in children if net.nodes[k].is_formula))
        out.steps[v] = step
        upstream = total([out.deltas[k].then(w) for w, k in step.children]
                         + ([ONE.then(step.loss_grad)] if step.loss_grad is not None else []))
        out.grads[v] = upstream
        group = p.groups.get(v)
        if group is None:
            out.deltas[v] = Prod((step.fused,)) if step.fused is not None else upstream.then(step.prime)
        elif v == group.members[0]:  # the group's last unit backwards: every g_j = ∂T/∂p_j is known now
            for k in reversed(group.members):
                out.steps[k].group = tuple(out.steps[j] for j in group.members)
                out.deltas[k] = Prod((p.fused[k],)) if k in p.fused else softmax_delta(group.members, out.grads, k)
    for x in net.inputs:
        out.grads[x] = total([out.deltas[link.node].then(link.local) for link in p.children(x)])
    return out


def softmax_delta(members: tuple[str, ...], g: dict[str, Prod], k: str) -> Prod:
    """δ_k = Σ_j g_j ∂p_j/∂z_k with the plan's locals p_k(1 - p_k) and -p_j p_k, p_k taken out:
    p_k (g_k (1 - p_k) - Σ_{j≠k} g_j p_j), which is p_k (g_k - Σ_j g_j p_j). Written with 1 - p_k, so
    that numbers can take it as Σ_{j≠k} p_j when p_k is near 1."""
    terms = [] if g[k].is_zero else [g[k].then(1 - symbol(k))]
    terms += [minus(g[j].then(symbol(j))) for j in members if j != k and not g[j].is_zero]
    body = total(terms)
    if body.is_zero:
        return ZERO
    if body.factors and not isinstance(body.factors[0], Sum) and body.factors[0] == -1:
        return minus(Prod((symbol(k), *body.factors[1:])))
    return ONE.then(symbol(k), *body.factors)


def derive(net: Network, wrt: str, of: str | None = None, pass_: Backward | None = None) -> Derivation:
    """The derivative of the target (`of`: 'loss' or a node) with respect to `wrt`."""
    net, wrt = arguments.network(net), arguments.name(wrt, "wrt")
    of = equations.resolve_of(net, arguments.name(of, "of", optional=True))
    kind = kind_of(net, wrt)
    b = pass_ if pass_ is not None and pass_.of == of else backward(net, of)
    uses = _uses(net, wrt, kind, b)
    penalty = b.plan.penalty.get(wrt, sympy.S.Zero) if kind == "parameter" else sympy.S.Zero
    if kind == "node":
        result = b.grads.get(wrt, total([]))
    elif kind == "preactivation":
        result = b.deltas.get(wrt[2:], total([]))
    else:
        # Without data the penalty's term is part of the derivative; with data it is added once,
        # after the reduction over samples, and `result` is one sample's derivative of the loss.
        outside = bool(net.samples)
        extra = [Use("penalty", None, penalty, ONE.then(penalty))] if penalty != 0 and not outside else []
        uses += extra
        result = total([u.term for u in uses])
    sinks = b.plan.sinks
    on_path = order.between(net, _starts(net, wrt, kind, b.plan), sinks)
    keep = [v for v in b.deltas if v in on_path]
    return Derivation(net, of, wrt, kind, equations.target(net, of), result, {v: b.steps[v] for v in keep},
                      {v: b.deltas[v] for v in keep}, uses, order.ancestors(net, sinks), penalty)


def kind_of(net: Network, wrt: str) -> str:
    """What `wrt` names (input, parameter, node or preactivation); an error for anything else."""
    kind = net.kind(wrt)
    if kind is None and wrt.startswith("z_") and wrt[2:] in net.nodes:
        raise DerivatorError(f"--wrt {wrt}: '{wrt[2:]}' is a formula node, which has no pre-activation; "
                             f"its own value is --wrt {wrt[2:]}")
    if kind is None:
        choices = [*net.names, *net.nodes]
        raise DerivatorError("--wrt: " + unknown("name", wrt, [c for c in choices if c not in net.targets]))
    if kind == "target":
        raise DerivatorError(f"--wrt {wrt}: '{wrt}' is a target; differentiate with respect to a "
                             "parameter, an input, a node or z_NODE")
    return kind


def _uses(net: Network, wrt: str, kind: str, b: Backward) -> list[Use]:
    """Each place a parameter (or input) enters a gate, with delta_k * local for it."""
    if kind not in ("parameter", "input"):
        return []
    return [Use(link.where, link.node, link.local, b.deltas[link.node].then(link.local))
            for link in b.plan.links.get(wrt, []) if link.node in b.deltas]


def _starts(net: Network, wrt: str, kind: str, p: Plan) -> list[str]:
    """The nodes where a change in `wrt` first arrives."""
    if kind in ("node", "preactivation"):
        return [wrt if kind == "node" else wrt[2:]]
    return [link.node for link in p.links.get(wrt, [])]
