"""The network as the rest of the pipeline sees it: names, nodes, edges, loss and default point."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import sympy

from derivator.graph.rules import SOFTMAX_LOSS, SUMS_TO_ONE, Activation, PointLoss


def _made_like_sympy() -> Any:
    """`Symbol(name, real=True)` without its per-call work: SymPy sanitises the assumptions, looks them
    up in two caches and sorts some thirty facts for every new name (6 microseconds, a tenth of
    loading a 12,545-parameter file), though they are the same for every name. This makes the symbol
    as `Symbol.__xnew__` does, with the facts computed once, and is used only if the result is equal,
    with the same hash and facts, to SymPy's own; else SymPy's constructor it is."""
    try:
        kb, orig, facts = sympy.Symbol._canonical_assumptions(real=True)
        facts = tuple(sorted(facts.items()))

        def make(name: str) -> sympy.Symbol:
            s = sympy.Expr.__new__(sympy.Symbol)
            s.name, s._assumptions, s._assumptions_orig, s._assumptions0 = name, kb, orig, facts
            return s

        probe, real = make("derivator_probe"), sympy.Symbol("derivator_probe", real=True)
        if probe == real and hash(probe) == hash(real) and probe.is_real and probe.assumptions0 == real.assumptions0:
            return make
    except (AttributeError, TypeError, ValueError):
        pass
    return lambda name: sympy.Symbol(name, real=True)


_make_symbol = _made_like_sympy()


@cache
def symbol(name: str) -> sympy.Symbol:
    """The one SymPy symbol for a name of the network (inputs, parameters, targets, node values):
    `Symbol(name, real=True)`."""
    return _make_symbol(name)


def z_symbol(node: str) -> sympy.Symbol:
    """The symbol for a node's pre-activation, `z_NODE`."""
    return symbol("z_" + node)


@dataclass(frozen=True)
class Pos:
    """A 1-based line and column in the network file."""

    line: int
    col: int


@dataclass
class Node:
    """A neuron (`z = Σ w o + b`, `o = f(z)`), or a formula node (`o` = its formula of other names)."""

    name: str
    activation: Activation | None  # None for a formula node
    bias: sympy.Expr  # a number, a parameter's symbol, or 0 for no bias
    pos: Pos
    formula: sympy.Expr | None = None  # a formula node's local function, in its parents and parameters
    formula_text: str = ""
    reads: tuple[str, ...] = ()  # the names a formula node's formula names: parents first, then parameters
    group: str | None = None  # a softmax unit's group: p_j = exp(z_j) / Σ_k exp(z_k) over its members

    @property
    def is_formula(self) -> bool:
        return self.formula is not None


@dataclass
class Edge:
    src: str
    dst: str
    weight: sympy.Expr  # a number or a parameter's symbol
    pos: Pos
    delay: int = 0  # 1 for an edge from the previous step (CONTRACT section 6); only in the folded network


@dataclass
class Loss:
    type: str
    targets: list[sympy.Expr]  # one per output: a target's symbol or a number
    rule: PointLoss | None  # None for softmax cross-entropy, which is not a sum over outputs
    pos: Pos
    formula: str | None = None


@dataclass
class Layer:
    """A dense layer of a `layers:` file: units a{l}_j with weights W{l}_j_k and biases b{l}_j."""

    index: int  # 1-based
    units: int
    activation: Activation
    bias: bool
    pos: Pos
    recurrent: bool = False  # weights U{l}_j_k from unit k of this layer at the previous step
    kind = "dense"  # a conv or pool layer is a graph.grids.GridLayer
    norm: str = ""  # "layer" or "batch" for layer_norm or batch_norm (its stages h, mu, var, zhat before the units)
    epsilon: Any = None  # a normalised layer's ε

    @property
    def nodes(self) -> list[str]:
        return [f"a{self.index}_{j}" for j in range(1, self.units + 1)]


def matrix_entries(layers: list[Layer], inputs: int) -> dict[str, list[list[str]]]:
    """W{l} (units x previous units) and b{l} (units x 1) of each layer, as the names of their entries."""
    out: dict[str, list[list[str]]] = {}
    previous = inputs
    for layer in layers:
        n = layer.index
        if getattr(layer, "kind", "dense") != "dense":  # a conv layer: its kernel K{n} and one bias per filter
            if layer.kind == "conv":
                out[f"K{n}"] = layer.kernel_names()
                if layer.bias:
                    out[f"b{n}"] = [[f"b{n}_{f}"] for f in range(1, layer.filters + 1)]
            previous = layer.units
            continue
        out[f"W{n}"] = [[f"W{n}_{j}_{k}" for k in range(1, previous + 1)] for j in range(1, layer.units + 1)]
        if layer.bias and not layer.norm:
            out[f"b{n}"] = [[f"b{n}_{j}"] for j in range(1, layer.units + 1)]
        if layer.norm:
            out[f"gamma{n}"] = [[f"gamma{n}_{j}"] for j in range(1, layer.units + 1)]
            out[f"beta{n}"] = [[f"beta{n}_{j}"] for j in range(1, layer.units + 1)]
        if layer.recurrent:
            out[f"U{n}"] = [[f"U{n}_{j}_{k}" for k in range(1, layer.units + 1)] for j in range(1, layer.units + 1)]
        previous = layer.units
    return out


@dataclass
class Network:
    """A checked network: acyclic, every node between an input and an output, names unique."""

    inputs: list[str]
    nodes: dict[str, Node]  # in topological order
    edges: list[Edge]
    outputs: list[str]
    loss: Loss | None = None
    params: list[str] = field(default_factory=list)  # in order of first use
    targets: list[str] = field(default_factory=list)
    at: dict[str, float] = field(default_factory=dict)
    description: str = ""
    positions: dict[str, Pos] = field(default_factory=dict)  # where each name is first defined
    layers: list[Layer] = field(default_factory=list)  # for a `layers:` file, in order
    samples: list[dict[str, float]] = field(default_factory=list)  # `data:`: input and target values
    penalty: sympy.Expr = sympy.S.Zero  # `penalty:` and `regularization:`, in parameters; added once to J
    penalty_text: str = ""  # as the file writes it, for display
    reduction: str = "mean"  # over the samples of `data:`: J = (1/m) Σ loss, or Σ loss with "sum"
    notation: dict[str, str] = field(default_factory=dict)  # `notation:`: how names print (render/notation.py)
    recurrence: Any = None  # a timesteps.Recurrence when the file has `steps:` (this network is then unrolled)
    batch: Any = None  # a load.batchnorm.Batch with batch_norm: every sample copied into this one network

    def __post_init__(self) -> None:
        self._kinds: dict[str, str] | None = None
        self.parents: dict[str, list[Edge]] = {n: [] for n in self.nodes}
        self.children: dict[str, list[Edge]] = {n: [] for n in [*self.inputs, *self.nodes]}
        for e in self.edges:
            self.parents[e.dst].append(e)
            self.children[e.src].append(e)
        # Who reads whom, for every kind of node: a neuron its edges' sources, a formula node the
        # inputs and nodes its formula names.
        # A softmax group's members, in node order: each member's output reads every member's z.
        self.groups: dict[str, list[str]] = {}
        for n, node in self.nodes.items():
            if node.group is not None:
                self.groups.setdefault(node.group, []).append(n)
        self.sources: dict[str, list[str]] = {n: [e.src for e in self.parents[n]] for n in self.nodes}
        self.users: dict[str, list[str]] = {n: [e.dst for e in self.children[n]] for n in self.children}
        for n, node in self.nodes.items():
            if node.is_formula:
                self.sources[n] = [s for s in node.reads if s in self.users]
                for s in self.sources[n]:
                    self.users[s].append(n)

    def siblings(self, node: str) -> list[str]:
        """The other members of a softmax unit's group (none for any other node)."""
        group = self.nodes[node].group if node in self.nodes else None
        return [m for m in self.groups[group] if m != node] if group is not None else []

    def target_groups(self) -> list[list[sympy.Expr]]:
        """The targets that must each sum to 1 for δ = p - y: all of softmax cross-entropy's, and the
        categorical one's per softmax group (so one group per step through time)."""
        if self.loss is None or self.loss.type not in SUMS_TO_ONE:
            return []
        if self.loss.type == SOFTMAX_LOSS:
            return [list(self.loss.targets)]
        by: dict[str | None, list[sympy.Expr]] = {}
        for o, t in zip(self.outputs, self.loss.targets, strict=True):
            by.setdefault(self.nodes[o].group if o in self.nodes else None, []).append(t)
        return list(by.values())

    def combine(self, xs: list):
        """The target over the samples from each sample's value: their mean, or with `reduction: sum` their sum."""
        return math.fsum(xs) / (len(xs) if self.reduction == "mean" else 1)

    def matrices(self) -> dict[str, list[list[str]]]:
        """For a `layers:` file, each whole matrix by name (W1, b1, ...) with its entries' names."""
        folded = self.recurrence or self.batch
        inputs = folded.folded.inputs if folded is not None else self.inputs  # x1, not x1@t or x1#s
        return matrix_entries(self.layers, len(inputs))

    @property
    def names(self) -> list[str]:
        """Every name a value can be given for: inputs, parameters and targets."""
        return [*self.inputs, *self.params, *self.targets]

    def kind(self, name: str) -> str | None:
        """'input', 'parameter', 'target', 'node', 'preactivation' or None."""
        if self._kinds is None:  # a table, not list searches: callers ask once per name, 20,000 names
            self._kinds = {}
            for kind, names in (("input", self.inputs), ("parameter", self.params), ("target", self.targets),
                                ("node", self.nodes)):
                for n in names:
                    self._kinds.setdefault(n, kind)
        found = self._kinds.get(name)
        if found is None and name.startswith("z_") and name[2:] in self.nodes and not self.nodes[name[2:]].is_formula:
            return "preactivation"
        return found
