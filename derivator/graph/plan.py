"""The one backward plan: who feeds whom, with each local derivative in node values.

Every node has a *gate*, the quantity its inputs enter: a neuron's pre-activation z_v
(`z = Σ w o + b`, local derivatives w, o_u and 1), a formula node's own value (local derivatives
by SymPy's `diff` of that one small formula, such as ∂(q z)/∂q = z). Then, for the target T,

    ∂T/∂o_v = ∂T/∂o_v directly (the loss's derivative)  +  Σ over links (v → k) δ_k · local
    δ_v     = ∂T/∂o_v · f'(z_v) for a neuron, ∂T/∂o_v for a formula node (or a fused form: o - y)
    δ_k     = Σ_j ∂T/∂p_j · ∂p_j/∂z_k for a softmax group's unit, ∂p_j/∂z_k = p_j(δ_jk - p_k):
              p_k (g_k - Σ_j g_j p_j) with g_j = ∂T/∂p_j, so every g_j of the group comes first
    ∂T/∂p   = Σ over links (p → k) δ_k · local  (+ the penalty's derivative)

The symbolic derivation, the compiled numeric sweep, the generated module and the matrix form all
read this plan; none of them decides again where a parameter enters or which deltas cancel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

import sympy

from derivator.graph import equations, rules
from derivator.graph.network import Network, symbol, z_symbol
from derivator.graph.order import ancestors
from derivator.graph.primitives import maximum, minimum

Expr = sympy.Expr


class Link(NamedTuple):
    """A quantity (an input, a node's value, a parameter) entering the gate of `node` (a named tuple:
    a network has one per edge and weight, and a frozen dataclass takes twice as long to make)."""

    node: str
    local: Expr  # ∂gate/∂quantity, in node values: w for o_u into z_v, o_u for w, 1 for a bias
    where: str  # "edge h1 -> h2", "bias of h2", "formula of f"
    source: str | None = None  # for an edge's weight: the edge's source u (the local is o_u)


@dataclass(frozen=True)
class Group:
    """A softmax group: its members in forward order, and the local derivative ∂p_j/∂z_k of each pair."""

    name: str
    members: tuple[str, ...]
    local: dict[tuple[str, str], Expr]  # (j, k) -> p_j(δ_jk - p_k), in node values


@dataclass
class Plan:
    net: Network
    of: str
    order: list[str]  # the nodes the target depends on, in forward order
    links: dict[str, list[Link]]  # each input, node and parameter -> where it enters
    direct: Mapping[str, Expr]  # ∂T/∂o_v read off the target itself (the loss's outputs; 1 for the target node)
    fused: Mapping[str, Expr]  # an output's whole delta where the loss's and activation's factors cancel (o - y)
    prime: Mapping[str, Expr]  # f'(z_v) in node values, for the neurons
    penalty: dict[str, Expr] = field(default_factory=dict)  # ∂penalty/∂p, for the parameters it names
    notes: dict[str, str] = field(default_factory=dict)  # outputs whose delta an identity simplifies: which
    groups: dict[str, Group] = field(default_factory=dict)  # each softmax unit the target depends on -> its group

    @property
    def sinks(self) -> list[str]:
        return self.net.outputs if self.of == "loss" else [self.of]

    def children(self, v: str) -> list[Link]:
        """The links from node or input v: where its value is read."""
        return self.links.get(v, [])


class Lazy(Mapping):
    """A mapping whose keys are known and whose values (SymPy expressions) are made when first read:
    the numbers need only to know which outputs have a loss's derivative or a fused delta, and
    building 10,000 units' f'(z) in node values costs more than the sweep that does not read them."""

    def __init__(self, keys, make: Callable[[str], Expr]):
        self._keys, self._make, self._made = dict.fromkeys(keys), make, {}

    def __getitem__(self, key: str) -> Expr:
        if key not in self._made:
            if key not in self._keys:
                raise KeyError(key)
            self._made[key] = self._make(key)
        return self._made[key]

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


_CACHE: dict[tuple[int, str], Plan] = {}


def plan(net: Network, of: str) -> Plan:
    """The backward plan for target `of` ('loss' or a node), made once per network and target
    (networks are not changed after loading)."""
    hit = _CACHE.get((id(net), of))
    if hit is None or hit.net is not net:
        if len(_CACHE) > 64:
            _CACHE.clear()
        hit = _CACHE[id(net), of] = _make(net, of)
    return hit


def _make(net: Network, of: str) -> Plan:
    sinks = net.outputs if of == "loss" else [of]
    up = ancestors(net, sinks)
    order = [v for v in net.nodes if v in up]
    links: dict[str, list[Link]] = {}

    def add(name: str, link: Link) -> None:
        links.setdefault(name, []).append(link)

    for e in net.edges:  # in the file's order, so sums print as the file writes them
        if e.dst in up:
            where = f"edge {e.src} -> {e.dst}"
            add(e.src, Link(e.dst, e.weight, where))
            if e.weight.is_Symbol:
                add(e.weight.name, Link(e.dst, symbol(e.src), where, e.src))
    for v in order:
        node = net.nodes[v]
        if node.is_formula:
            for s in node.reads:
                add(s, Link(v, _local(node.formula, symbol(s)), f"formula of {v}"))
        elif node.bias.is_Symbol:
            add(node.bias.name, Link(v, sympy.S.One, f"bias of {v}"))
    direct = loss_grads(net) if of == "loss" else {of: sympy.S.One}
    groups = {v: _group(net, v) for v in order if net.nodes[v].group is not None}
    prime = Lazy([v for v in order if not net.nodes[v].is_formula and v not in groups],
                 lambda v: net.nodes[v].activation.prime(symbol(v), z_symbol(v)))
    # An output read by nothing else; a softmax unit only when its whole group is so.
    fused = Lazy([v for v in (direct if of == "loss" else []) if _fuses(net, v)
                  and not any(links.get(m) or m not in direct for m in [v, *net.siblings(v)])],
                 lambda v: _fused(net, v))
    penalty, notes = {}, {}
    if of == "loss":
        penalty = {s.name: sympy.diff(net.penalty, s) for s in sorted(net.penalty.free_symbols, key=str)}
        # The identity that simplifies an output's delta: sigmoid + BCE is o - y (fused), and
        # softmax + cross-entropy gives ∂L/∂o = p - y directly, so an identity output passes it on.
        notes = {v: rules.FUSED_NOTES[net.loss.type, net.nodes[v].activation.name] for v in direct
                 if not links.get(v) and not net.nodes[v].is_formula and (v in fused or v not in groups)
                 and (net.loss.type, net.nodes[v].activation.name) in rules.FUSED_NOTES}
    return Plan(net, of, order, links, direct, fused, prime, penalty, notes, groups)


def _local(formula: Expr, s: sympy.Symbol) -> Expr:
    """∂formula/∂s: SymPy's diff, except for a max or min of distinct plain symbols (a pooling window),
    whose derivative by one of them is its primitive's own rule, without diff's dispatch over every argument."""
    args = formula.args
    if isinstance(formula, (maximum, minimum)) and all(a.is_Symbol for a in args) and len(set(args)) == len(args):
        return formula.fdiff(args.index(s) + 1)
    return sympy.diff(formula, s)


def _group(net: Network, v: str) -> Group:
    name = net.nodes[v].group
    members = tuple(net.groups[name])
    local = {(j, k): rules.softmax_local(symbol(j), symbol(k), j == k) for j in members for k in members}
    return Group(name, members, local)


def loss_grads(net: Network) -> Mapping[str, Expr]:
    """∂L/∂o for each output, in node values."""
    loss = net.loss
    if loss.rule is None:
        outputs = [symbol(o) for o in net.outputs]
        return Lazy(net.outputs, lambda o: rules.cross_entropy_grad(outputs, loss.targets, net.outputs.index(o)))
    return Lazy(net.outputs, lambda o: loss.rule.grad(symbol(o), loss.targets[net.outputs.index(o)]))


def _fuses(net: Network, v: str) -> bool:
    """Whether the loss and v's activation cancel by rule (sigmoid with BCE: o - y)."""
    rule, node = net.loss.rule, net.nodes[v]
    return rule is not None and not node.is_formula and node.activation.name in rule.fused


def _fused(net: Network, v: str) -> Expr:
    """The output delta where the loss and activation cancel by rule."""
    rule = net.loss.rule
    return rule.fused[net.nodes[v].activation.name](symbol(v), net.loss.targets[net.outputs.index(v)])


def target(net: Network, of: str) -> Expr:
    """One sample's target in node values (the penalty is added once, after the reduction)."""
    return equations.target(net, of)


def output_rule(net: Network, o: sympy.Symbol, y: sympy.Symbol) -> tuple[sympy.Expr | None, sympy.Expr | None, str]:
    """The output layer's delta as the backward plan decides it for one output unit, written in `o` and `y`:
    the fused form where the loss and activation cancel, else the loss's derivative (None for softmax)."""
    p = plan(net, "loss")
    unit, target = net.outputs[0], net.loss.targets[0]
    swap = {symbol(unit): o, target: y}
    if unit in p.fused:
        return p.fused[unit].xreplace(swap), None, p.notes[unit].replace("σ'", "g'")
    if net.loss.rule is None:  # softmax cross-entropy: a vector rule, in the matrix recursion itself
        return None, None, ""
    with sympy.evaluate(False):  # unevaluated as the rule builds it, so 2(A - Y) keeps its written form
        return None, p.direct[unit].xreplace(swap), ""
