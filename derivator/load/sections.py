"""The sections of a network file around the graph: the loss, and those of computational graphs
(CONTRACT section 4): `parameters:`, formula nodes, `penalty:` and `regularization:`.

A mixin of the file's reader (`spec.Reader`), which holds the names and their positions."""

from __future__ import annotations

from typing import Any

import sympy

from derivator.errors import unknown
from derivator.graph import rules
from derivator.graph.network import Edge, Loss, symbol
from derivator.load import recurrence
from derivator.load.fields import fail, number
from derivator.load.tree import Map, Seq
from derivator.load.yamlfile import key_pos, value_pos


class Named(dict):
    """The names a formula may use, remembering which it did use, in order."""

    def __init__(self, *args):
        super().__init__(*args)
        self.used: list[str] = []

    def __getitem__(self, key):
        if key not in self.used:
            self.used.append(key)
        return super().__getitem__(key)


LOSS_KEYS = ["type", "target", "formula", "reduction", "steps"]
REDUCTIONS = ["mean", "sum"]


class Sections:
    """Needs the reader's `doc`, `params`, `declare` and `formula`."""

    def parameters(self) -> dict[str, float]:
        """`parameters:`, a list of names or a map of names to default values."""
        raw = self.doc.get("parameters")
        if raw is None:
            return {}
        if isinstance(raw, Map):
            for k in raw:
                self.declare(k, "parameter", key_pos(raw, k))
            return {k: number(raw[k], value_pos(raw, k), f"value of parameter '{k}'")
                    for k in raw if raw[k] is not None}
        if not isinstance(raw, Seq) or not raw:
            fail("'parameters' must be a list of names or a map of names to values", value_pos(self.doc, "parameters"))
        for i, name in enumerate(raw):
            self.declare(name, "parameter", value_pos(raw, i))
        return {}

    def node_formula(self, name: str, text: Any, body: Map, inputs: list[str],
                     nodes: dict) -> tuple[sympy.Expr, tuple[str, ...]]:
        """A formula node's formula and the names it reads: its parents are the inputs and nodes it names
        (even where SymPy folds them away, as in x - x), its other names parameters."""
        if not isinstance(text, str) or not text.strip():
            fail(f"the formula of node '{name}' must be text such as \"x * y\"", value_pos(body, "formula"))
        names = Named({n: symbol(n) for n in [*inputs, *(n for n in nodes if n != name), *self.params]})
        expr = self.formula(text, names, body, "formula")
        reads = tuple(n for n in names.used if n in inputs or n in nodes)
        if not reads:
            fail(f"the formula of node '{name}' names no input or node: it would be a constant",
                 value_pos(body, "formula"))
        return expr, tuple(dict.fromkeys([*reads, *(n for n in names.used if n not in reads)]))

    def penalty(self, edges: list[Edge], loss: Loss | None) -> tuple[sympy.Expr, str]:
        """`penalty:` (a formula in parameters) plus `regularization:` (l2 and l1 over the edge weights)."""
        doc, total, texts = self.doc, sympy.S.Zero, []
        for key in ("penalty", "regularization"):
            if doc.get(key) is not None and loss is None:
                fail(f"'{key}' is added to the loss; the file has no 'loss:'", key_pos(doc, key))
        if doc.get("penalty") is not None:
            text = doc["penalty"]
            if not isinstance(text, str):
                fail("'penalty' must be a formula in parameters, such as \"0.01*(w1^2 + w2^2)\"",
                     value_pos(doc, "penalty"))
            total = self.formula(text, {n: symbol(n) for n in self.params}, doc, "penalty")
            texts.append(text.strip())
        raw = doc.get("regularization")
        if raw is not None:
            if not isinstance(raw, Map) or not raw:
                fail("'regularization' must be a map such as {l2: 0.01}", value_pos(doc, "regularization"))
            weights = list(dict.fromkeys(e.weight for e in edges if e.weight.is_Symbol))
            for key in raw:
                if key not in ("l2", "l1"):
                    fail(unknown("regularization", str(key), ["l2", "l1"]), key_pos(raw, key))
                lam = sympy.Rational(repr(number(raw[key], value_pos(raw, key), key)))
                term = lam / 2 * sympy.Add(*[w**2 for w in weights]) if key == "l2" else \
                    lam * sympy.Add(*[sympy.Abs(w) for w in weights])
                total += term
                texts.append(f"({raw[key]}/2) Σ w²" if key == "l2" else f"{raw[key]} Σ |w|")
        return total, " + ".join(texts)

    def loss(self, outputs: list[str]) -> Loss:
        raw, pos = self.doc["loss"], value_pos(self.doc, "loss")
        if isinstance(raw, str):
            fail(f"loss '{raw}' needs a target: write loss: {{type: {raw}, target: y}}", pos)
        if not isinstance(raw, Map):
            fail("'loss' must be a map such as {type: squared_error, target: y}", pos)
        for key in raw:
            if key not in LOSS_KEYS:
                fail(unknown("loss key", str(key), LOSS_KEYS), key_pos(raw, key))
        if "steps" in raw:
            self.loss_steps = recurrence.loss_steps(self, raw)
        if "reduction" in raw:
            if raw["reduction"] not in REDUCTIONS:
                fail(unknown("reduction", str(raw["reduction"]), REDUCTIONS), value_pos(raw, "reduction"))
            self.reduction = raw["reduction"]
        kind = raw.get("type")
        if kind not in rules.LOSS_TYPES:
            fail(unknown("loss type", str(kind), rules.LOSS_TYPES) if "type" in raw else "loss is missing 'type'",
                 value_pos(raw, "type") if "type" in raw else pos)
        if "target" not in raw:
            fail("loss is missing 'target'", pos)
        targets = self.loss_targets(raw, outputs)
        if kind == "formula":
            if "formula" not in raw:
                fail("a formula loss needs 'formula', e.g. \"(o-y)**4\"", pos)
            body = self.formula(raw["formula"], {"o": rules.LOSS_O, "y": rules.LOSS_Y}, raw, "formula")
            return Loss(kind, targets, rules.formula_loss(body), pos, formula=raw["formula"])
        if "formula" in raw:
            fail("'formula' applies to {type: formula} only", key_pos(raw, "formula"))
        return Loss(kind, targets, rules.LOSSES.get(kind), pos)

    def loss_targets(self, raw: Map, outputs: list[str]) -> list[sympy.Expr]:
        target = raw["target"]
        items = list(target) if isinstance(target, Seq) else [target]
        if len(items) != len(outputs):
            fail(f"loss has {len(items)} target{'s' * (len(items) != 1)} for {len(outputs)} output"
                 f"{'s' * (len(outputs) != 1)}: give one target per output", value_pos(raw, "target"))
        out = []
        for i, t in enumerate(items):
            p = value_pos(target, i) if isinstance(target, Seq) else value_pos(raw, "target")
            if isinstance(t, str):
                out.append(symbol(self.declare(t, "target", p)))
            else:
                out.append(sympy.Rational(repr(number(t, p, "target"))))
        return out
