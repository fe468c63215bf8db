"""Load a network file (CONTRACT section 1) into a checked `Network`, every error with its position."""

from __future__ import annotations

import keyword
import re
from typing import Any

import sympy

from derivator.errors import long_name, unknown
from derivator.graph import order, rules
from derivator.graph.network import Edge, Network, Node, Pos, matrix_entries, symbol
from derivator.load import batchnorm, formula, groups, layers, notation_key, recurrence
from derivator.load.fields import FRACTION, article, fail, fraction, number, show
from derivator.load.grid_inputs import GridInputs
from derivator.load.sections import Sections
from derivator.load.tree import Map, Seq
from derivator.load.yamlfile import Document, container_pos, key_pos, value_pos

NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
MAX_NODES = 5000
MAX_EDGES = 20000
MAX_GRID_EDGES = 50000  # a conv layer's tied kernel entries and windows' reads: 24,336 for 28x28 through 4 3x3s
# Names the printed formulas use as functions, or that the command line gives a meaning.
RESERVED = {*formula.FUNCTIONS, *keyword.kwlist, *keyword.softkwlist, "Abs", "Heaviside",
            "Piecewise", "Max", "Min", "sign", "leaky_relu", "leaky_step", "loss", "all"}
TOP_KEYS = ["description", "inputs", "parameters", "nodes", "edges", "output", "loss", "penalty", "regularization",
            "at", "layers", "data", "steps", "notation"]
OPTION_KEYS = [key for key, _, _ in rules.OPTIONS.values()]  # slope, alpha
NODE_KEYS = ["activation", "bias", *OPTION_KEYS, "formula", "group"]


class Reader(Sections, GridInputs):
    """Walks the parsed document, building the network and naming each problem's position."""

    def __init__(self, document: Document):
        self.document = document
        self.doc: Map = document.data
        self.kinds: dict[str, tuple[str, Pos]] = {}  # name -> (what it is, where first seen)
        self.params: list[str] = []
        self.layers: list = []
        self.at_keys: dict[str, str] = {}  # entry name -> the key of `at:` that gave it (W1 for W1_2_1)
        self.formulas: dict[str, tuple[Any, Map]] = {}  # formula nodes, parsed once names are known
        self.reduction = "mean"
        self.steps: int | None = None  # `steps:`: the network is unrolled through time (CONTRACT section 6)
        self.loss_steps = "all"
        self.initial: list[str] = []  # the names delayed edges read, whose step 0 is the initial state
        self.grids: dict[str, Any] = {}  # grid inputs by name (CONTRACT section 7): a graph.grids.Grid each

    def network(self) -> Network:
        doc = self.doc
        for key in doc:
            if key not in TOP_KEYS:
                fail(unknown("key", str(key), TOP_KEYS), key_pos(doc, key))
        if "layers" in doc:
            for key in ("nodes", "edges", "output"):
                if key in doc:
                    fail(f"'{key}' and 'layers' do not go together: a 'layers' file names its nodes, edges "
                         "and output itself", key_pos(doc, key))
        required = ("inputs", "layers") if "layers" in doc else ("inputs", "nodes", "output")
        for key in required:
            if key not in doc:
                fail(f"missing '{key}:'", Pos(1, 1))
        self.steps = recurrence.steps(doc)
        description = doc.get("description") or ""
        if not isinstance(description, str):
            fail("'description' must be text", value_pos(doc, "description"))
        inputs, defaults = self.inputs()
        if "layers" in doc:
            nodes, edges, outputs, self.layers = layers.build(self, inputs, MAX_NODES,
                                                                MAX_GRID_EDGES if self.grids else MAX_EDGES)
        else:
            nodes = self.nodes()
            edges = self.edges(inputs, nodes) if doc.get("edges") is not None or not self.formulas else []
            outputs = self.outputs(nodes)
        self.initial = recurrence.initial(edges)
        param_defaults = self.parameters()
        for name, (text, container) in self.formulas.items():  # every parameter is known now
            nodes[name].formula, nodes[name].reads = self.node_formula(name, text, container, inputs, nodes)
        loss = self.loss(outputs) if doc.get("loss") is not None else None
        groups.check(nodes, outputs, loss)
        penalty, penalty_text = self.penalty(edges, loss)
        layers.check_names(self.kinds, matrix_entries(self.layers, len(inputs)))
        for name, (kind, pos) in self.kinds.items():
            if name.startswith("z_") and name[2:] in nodes:
                fail(f"'{name}' names the pre-activation of node '{name[2:]}'; choose another {kind} name", pos)
        targets = [n for n, (k, _) in self.kinds.items() if k == "target"]
        data = []
        if "data" in doc:
            data = layers.samples(self, [*self.ungridded(inputs), *targets], loss.type if loss else None)
            if self.steps is None:  # through time, once the targets are unrolled (recurrence.unroll)
                layers.check_targets(loss, data, doc["data"])
            copies = self.steps or 1
            layers.check_work(data, len(edges) * copies, len(nodes) * copies, value_pos(doc, "data"))
            if defaults:
                fail("with 'data', each sample gives the inputs' values; list the inputs without values",
                     value_pos(doc, "inputs"))
        given = self.point(inputs, targets)
        for name in given:
            if data and (name.split("@")[0] in inputs or name.split("@")[0] in targets):
                fail(f"'{name}' takes its value from each sample in 'data'; remove it from 'at'",
                     key_pos(doc["at"], self.at_keys.get(name, name)))
        at = {**defaults, **param_defaults, **given}
        net = Network(inputs=inputs, nodes=nodes, edges=edges, outputs=outputs, loss=loss,
                      params=self.params, targets=targets, at=at, description=description,
                      positions={n: p for n, (_, p) in self.kinds.items()}, layers=self.layers, samples=data,
                      penalty=penalty, penalty_text=penalty_text, reduction=self.reduction,
                      notation=notation_key.notation(doc))
        if batchnorm.wanted(net):  # the samples, coupled through batch statistics, copied into one graph
            return batchnorm.couple(self, order.check(net), MAX_NODES, MAX_GRID_EDGES if self.grids else MAX_EDGES)
        return recurrence.unroll(self, net) if self.steps is not None else order.check(net)

    # -- names -------------------------------------------------------------------------------
    def declare(self, name: Any, kind: str, pos: Pos) -> str:
        """Register `name` as an input, node, parameter or target; one name, one meaning."""
        if isinstance(name, str) and long_name(name):
            fail(f"{kind} {long_name(name)}", pos)
        if not isinstance(name, str) or not NAME.match(name):
            fail(f"{kind} name {show(name)} must match [A-Za-z][A-Za-z0-9_]*", pos)
        if name in RESERVED:
            fail(f"'{name}' is reserved (a function or keyword); choose another {kind} name", pos)
        seen = self.kinds.get(name)
        if seen and seen[0] != kind:
            fail(f"'{name}' is used as {article(kind)} and as {article(seen[0])} (line {seen[1].line})", pos)
        if seen and kind in ("input", "node"):
            fail(f"{kind} '{name}' is defined twice (first on line {seen[1].line})", pos)
        if not seen:
            self.kinds[name] = (kind, pos)
            if kind == "parameter":
                self.params.append(name)
        return name

    def number_or_param(self, value: Any, pos: Pos, what: str) -> sympy.Expr:
        """A weight or bias: a number is a constant, a name is a parameter."""
        if isinstance(value, str) and FRACTION.match(value):  # "1/3": exact, as the learner wrote it
            number(value, pos, what)  # the same errors as any number
            return fraction(value)
        if isinstance(value, str):
            return symbol(self.declare(value, "parameter", pos))
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            fail(f"{what} must be a number or a parameter name, not {show(value)}", pos)
        return sympy.Rational(repr(number(value, pos, what)))

    # -- sections ----------------------------------------------------------------------------
    def inputs(self) -> tuple[list[str], dict[str, float]]:
        raw, pos = self.doc["inputs"], value_pos(self.doc, "inputs")
        if isinstance(raw, str):
            raw = [raw]
            raw_seq = None
        else:
            raw_seq = raw
        if isinstance(raw, Map):
            names = []
            for k in raw:
                if isinstance(raw[k], Map):  # a grid input: {I: {shape: [4, 4]}} (CONTRACT section 7)
                    names += self.grid(k, raw[k], key_pos(raw, k))
                else:
                    names.append(self.declare(k, "input", key_pos(raw, k)))
            defaults = {}
            for k in raw:
                if raw[k] is not None and not isinstance(raw[k], Map):
                    defaults.update(self.entry(k, raw[k], value_pos(raw, k), f"value of input '{k}'"))
            return names, defaults
        if not isinstance(raw, list) or not raw:
            fail("'inputs' must be a list of names or a map of names to values", pos)
        return [self.declare(n, "input", value_pos(raw_seq, i) if raw_seq is not None else pos)
                for i, n in enumerate(raw)], {}

    def nodes(self) -> dict[str, Node]:
        raw = self.doc["nodes"]
        if not isinstance(raw, Map) or not raw:
            fail("'nodes' must be a map from node names to {activation, bias}", value_pos(self.doc, "nodes"))
        if len(raw) > MAX_NODES:
            fail(f"more than {MAX_NODES} nodes", value_pos(self.doc, "nodes"))
        nodes = {}
        for name in raw:
            pos = key_pos(raw, name)
            self.declare(name, "node", pos)
            nodes[name] = self.node(name, raw[name], value_pos(raw, name), pos)
        return nodes

    def node(self, name: str, body: Any, pos: Pos, name_pos: Pos) -> Node:
        if body is None:
            body = Map()
        if not isinstance(body, Map):
            fail(f"node '{name}' must be a map such as {{activation: sigmoid, bias: b1}}", pos)
        for key in body:
            if key not in NODE_KEYS:
                fail(unknown(f"key for node '{name}'", str(key), NODE_KEYS), key_pos(body, key))
        if "formula" in body:
            for key in body:
                if key != "formula":
                    fail(f"node '{name}' is a formula node: its formula is its whole local function, so it takes "
                         f"no '{key}'", key_pos(body, key))
            self.formulas[name] = (body["formula"], body)
            return Node(name, None, sympy.S.Zero, name_pos, formula_text=str(body["formula"]))
        activation = self.activation(f"node '{name}'", body)
        bias = sympy.S.Zero
        if body.get("bias") is not None:
            bias = self.number_or_param(body["bias"], value_pos(body, "bias"), f"bias of node '{name}'")
        return Node(name, activation, bias, name_pos, group=groups.group(f"node '{name}'", body, activation))

    def activation(self, who: str, body: Map) -> rules.Activation:
        act = body.get("activation", "identity")
        pos = value_pos(body, "activation") if "activation" in body else container_pos(body)
        if not isinstance(act, str):
            fail(f"activation of {who} must be a name such as sigmoid, or a formula in x", pos)
        text, act = act, rules.ALIASES.get(act.strip(), act.strip())
        for owner, (key, default, make) in rules.OPTIONS.items():
            if key in body and act != owner:
                fail(f"'{key}' applies to {owner} only", key_pos(body, key))
            if act == owner:
                given = key in body
                return make(sympy.Rational(repr(number(body[key], value_pos(body, key), key))) if given else default)
        if act in rules.ACTIVATIONS:
            return rules.ACTIVATIONS[act]
        known = [*rules.ACTIVATIONS, *rules.ALIASES, *rules.OPTIONS]
        if NAME.match(act) and act != "x":
            fail(unknown("activation", act, known) + "; or a formula in x", pos)
        return rules.formula_activation(act, self.formula(text, {"x": rules.X}, body, "activation"))

    def formula(self, text: str, names: dict, container, key) -> sympy.Expr:
        try:
            return formula.parse(text, names, what="formula")
        except formula.FormulaError as e:
            fail(e.message, self.document.locate(value_pos(container, key), (e.col or 1) - 1))

    def edges(self, inputs: list[str], nodes: dict[str, Node]) -> list[Edge]:
        if "edges" not in self.doc:
            fail("missing 'edges:'", Pos(1, 1))
        raw = self.doc["edges"]
        if isinstance(raw, Seq) and not raw and self.formulas:
            return []  # formula nodes name their parents themselves
        if not isinstance(raw, Seq) or not raw:
            fail("'edges' must be a list of {from, to, weight} or [from, to, weight]", value_pos(self.doc, "edges"))
        if len(raw) > MAX_EDGES:
            fail(f"more than {MAX_EDGES} edges", value_pos(self.doc, "edges"))
        seen: dict[tuple[str, str, int], Pos] = {}
        edges = []
        for i, item in enumerate(raw):
            at = value_pos(raw, i)
            src, dst, weight, keys = self.edge(item, at)
            for end, name, key in (("from", src, keys[0]), ("to", dst, keys[1])):
                if not isinstance(name, str) or (name not in nodes and name not in inputs):
                    fail(unknown("node", str(name), [*inputs, *nodes]) if isinstance(name, str)
                         else f"'{end}' must be a node name, not {show(name)}", value_pos(item, key))
            if dst in inputs:
                fail(f"edge into input '{dst}': inputs have no incoming edges", value_pos(item, keys[1]))
            if dst in self.formulas:
                fail(f"edge into formula node '{dst}': a formula node reads its parents from its formula and takes "
                     "no incoming edge", at)
            delay = recurrence.delay(self, item, src, dst)
            if (src, dst, delay) in seen:
                fail(f"duplicate edge {src} -> {dst} (first on line {seen[src, dst, delay].line})", at)
            seen[src, dst, delay] = at
            w = self.number_or_param(weight, value_pos(item, keys[2]), f"weight of edge {src} -> {dst}")
            edges.append(Edge(src, dst, w, at, delay))
        return edges

    def edge(self, item: Any, pos: Pos) -> tuple[Any, Any, Any, Any]:
        """(from, to, weight, and the keys of the three in `item`)."""
        if isinstance(item, Seq):
            if len(item) != 3:
                fail(f"an edge list is [from, to, weight]; this one has {len(item)} items", pos)
            return (*item, (0, 1, 2))
        if isinstance(item, Map):
            for key in item:
                if key not in ("from", "to", "weight", "delay"):
                    fail(unknown("edge key", str(key), ["from", "to", "weight", "delay"]), key_pos(item, key))
            for key in ("from", "to", "weight"):
                if key not in item:
                    fail(f"edge is missing '{key}'", pos)
            return item["from"], item["to"], item["weight"], ("from", "to", "weight")
        fail("an edge is {from: A, to: B, weight: W} or [A, B, W]", pos)

    def outputs(self, nodes: dict[str, Node]) -> list[str]:
        raw, pos = self.doc["output"], value_pos(self.doc, "output")
        items = list(raw) if isinstance(raw, Seq) else [raw]
        if not items or raw is None:
            fail("'output' must name a node, or list several", pos)
        out = []
        for i, name in enumerate(items):
            p = value_pos(raw, i) if isinstance(raw, Seq) else pos
            if not isinstance(name, str) or name not in nodes:
                fail(unknown("output node", str(name), nodes), p)
            if name in out:
                fail(f"output '{name}' is listed twice", p)
            out.append(name)
        return out

    def point(self, inputs: list[str], targets: list[str]) -> dict[str, float]:
        raw = self.doc.get("at")
        if raw is None:
            return {}
        if not isinstance(raw, Map):
            fail("'at' must be a map of names to numbers", value_pos(self.doc, "at"))
        allowed = [*inputs, *self.params, *targets]
        known = set(allowed)  # a list's `in` made this quadratic: 4.7 s of reading 12,545 parameters
        matrices = matrix_entries(self.layers, len(inputs))
        values = {}
        for name in raw:
            per_step = None if self.steps is None else \
                recurrence.entries(self, name, raw[name], value_pos(raw, name))
            if per_step is not None:
                recurrence.give(self, values, per_step, name, key_pos(raw, name))
                continue
            if name in matrices or name in self.grids:
                entries = self.whole(name, raw[name], matrices, value_pos(raw, name))
                twice = [e for e in entries if e in values]
                if twice:
                    fail(f"'{name}' gives {twice[0]} again, after '{self.at_keys.get(twice[0], twice[0])}'; "
                         "give each entry once", key_pos(raw, name))
                self.at_keys.update(dict.fromkeys(entries, name))
                values.update(entries)
                continue
            if name in values:
                fail(f"'{name}' is already given by '{self.at_keys[name]}'; give each entry once", key_pos(raw, name))
            if name not in known:
                hint = " (a node's value comes from the network)" if self.kinds.get(name, ("",))[0] == "node" else ""
                fail(unknown("name in 'at'", str(name), [*allowed, *matrices]) + hint, key_pos(raw, name))
            values[name] = number(raw[name], value_pos(raw, name), f"value of '{name}'")
        return values

    def entry(self, name: str, raw: Any, pos: Pos, what: str) -> dict:
        """The values one key gives an input or target: one number, or with `steps:` one per step."""
        if name in self.grids:
            return self.whole(name, raw, {}, pos)
        per_step = None if self.steps is None else recurrence.entries(self, name, raw, pos)
        return per_step if per_step is not None else {name: number(raw, pos, what)}
