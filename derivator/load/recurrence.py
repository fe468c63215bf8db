"""`steps:` and delayed edges (CONTRACT section 6): read them, and unroll the network through time.

A file with `steps: T` is read as usual into its folded network; then every input, node and target
gets one copy per step (`x@t`, `h@t`, `t@t`, see `graph/timesteps.py`), an edge with `delay: 1` runs
from step t-1 to step t, and one into step 1 reads `h@0`, the initial state: an input, 0 unless
`at` gives it. Weights and biases are not copied: every step shares them, so they are tied
parameters, whose derivative the backward plan already sums over their uses. What comes out is an
ordinary acyclic network, which every later stage reads as any other.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import sympy

from derivator.errors import DerivatorError, unknown
from derivator.graph import order
from derivator.graph.network import Edge, Network, Node, symbol
from derivator.graph.timesteps import Recurrence, at, ident, split
from derivator.load.fields import fail, number, show
from derivator.load.tree import Map, Seq
from derivator.load.yamlfile import key_pos, value_pos

MAX_STEPS = 1000
LOSS_STEPS = ["all", "last"]


def steps(doc: Map) -> int | None:
    """`steps:`, the number of steps to unroll over; None when the file has none."""
    if "steps" not in doc:
        return None
    raw, pos = doc["steps"], value_pos(doc, "steps")
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        fail(f"'steps' must be a whole number of at least 1, not {show(raw)}", pos)
    if raw > MAX_STEPS:
        fail(f"'steps' is {raw}; at most {MAX_STEPS} steps are unrolled", pos)
    return raw


def delay(reader, item: Any, src: Any, dst: Any) -> int:
    """An edge's `delay:` (its map form only): 1 reads the previous step; none, this step."""
    if not isinstance(item, Map) or "delay" not in item:
        return 0
    raw, pos = item["delay"], value_pos(item, "delay")
    if isinstance(raw, bool) or not isinstance(raw, int) or raw != 1:
        fail(f"the delay of edge {src} -> {dst} must be 1 (the previous step), not {show(raw)}", pos)
    if reader.steps is None:
        fail(f"edge {src} -> {dst} has a delay: give 'steps:', the number of steps to unroll over", pos)
    return 1


def loss_steps(reader, raw: Map) -> str:
    """The loss's `steps:`: summed over every step (all, the default) or the last step only."""
    pos = value_pos(raw, "steps")
    if reader.steps is None:
        fail("'steps' in the loss applies to a file with 'steps:' (a network unrolled through time)",
             key_pos(raw, "steps"))
    if raw["steps"] not in LOSS_STEPS:
        fail(unknown("loss steps", str(raw["steps"]), LOSS_STEPS), pos)
    return raw["steps"]


def initial(edges: list[Edge]) -> list[str]:
    """The names a delayed edge reads: their value at step 0 is the initial state."""
    return list(dict.fromkeys(e.src for e in edges if e.delay))


def entries(reader, name: Any, raw: Any, pos) -> dict[str, float] | None:
    """The values one key of `at:`, an input's default or a sample gives in a file with `steps:`:
    a list of one number per step for an input or target (`x: [0.5, 1.0]`), or one number for a
    name at a step (`x@2: 0.7`, `h@0: 0.1`). None for any other name (a parameter)."""
    count = reader.steps
    inputs = [n for n, (kind, _) in reader.kinds.items() if kind == "input"]
    targets = [n for n, (kind, _) in reader.kinds.items() if kind == "target"]
    if name in inputs or name in targets:
        last = name in targets and reader.loss_steps == "last"
        if last and not isinstance(raw, Seq):  # the one step the loss reads
            return {at(name, count): number(raw, pos, f"value of '{name}'")}
        if not isinstance(raw, Seq) or len(raw) != count:
            size = f"{len(raw)} item{'s' * (len(raw) != 1)}" if isinstance(raw, Seq) else show(raw)
            fail(f"'{name}' takes one value per step: a list of {count} number{'s' * (count != 1)}, not {size}", pos)
        values = {at(name, t): number(v, value_pos(raw, t - 1), f"step {t} of '{name}'")
                  for t, v in enumerate(raw, 1)}
        return {at(name, count): values[at(name, count)]} if last else values
    if not isinstance(name, str) or split(name)[1] is None:
        return None
    head, s = split(name)
    t = int(s) if s.isdigit() else -1
    if (head in inputs or head in targets) and 1 <= t <= count:
        if head in targets and reader.loss_steps == "last" and t != count:
            fail(f"'{name}': the loss reads the last step only (steps: last), so only {at(head, count)} is a "
                 "target", pos)
        return {name: number(raw, pos, f"value of '{name}'")}
    if head in reader.initial and t == 0:
        return {name: number(raw, pos, f"value of '{name}'")}
    known = [*(at(x, s) for x in [*inputs, *targets] for s in (1, count)), *(at(h, 0) for h in reader.initial)]
    fail(unknown("name in 'at'", name, known) + f" (steps run from 1 to {count}; step 0 is the initial state of "
         "a node a delayed edge reads)", pos)


def give(reader, values: dict, given: dict, key: str, pos) -> None:
    """Entries of `at:` from one key (x: [...] gives x@1, x@2, ...): each entry once."""
    twice = [e for e in given if e in values]
    if twice:
        fail(f"'{key}' gives {twice[0]} again, after '{reader.at_keys.get(twice[0], twice[0])}'; "
             "give each entry once", pos)
    reader.at_keys.update(dict.fromkeys(given, key))
    values.update(given)


def unroll(reader, net: Network) -> Network:
    """The folded network `net` (delayed edges among its edges) unrolled over the file's steps."""
    count, delayed = reader.steps, [e for e in net.edges if e.delay]
    folded = dataclasses.replace(net, edges=[e for e in net.edges if not e.delay])
    sorted_nodes = order.topological(folded)  # a cycle without a delay: its path, in the file's names
    folded.nodes = {n: folded.nodes[n] for n in sorted_nodes}
    folded.__post_init__()
    last = reader.loss_steps == "last"
    if net.loss is not None and net.loss.rule is None and not last and count > 1:
        fail("cross_entropy takes one softmax over all the outputs; over several steps, give the loss "
             "'steps: last', or another loss", net.loss.pos)
    first = initial(delayed)
    inputs = [at(h, 0) for h in first] + [at(x, t) for t in range(1, count + 1) for x in net.inputs]
    names = set(net.inputs) | set(net.nodes)
    nodes = {at(v, t): _node(node, t, names) for t in range(1, count + 1) for v, node in folded.nodes.items()}
    edges = [Edge(at(e.src, t), at(e.dst, t), e.weight, e.pos) for t in range(1, count + 1) for e in folded.edges]
    edges += [Edge(at(e.src, t - 1), at(e.dst, t), e.weight, e.pos) for t in range(1, count + 1) for e in delayed]
    read = range(count, count + 1) if last and net.loss is not None else range(1, count + 1)
    outputs = [at(o, t) for t in read for o in net.outputs]
    loss, targets = None, []
    if net.loss is not None:
        ys = [_at(y, t) for t in read for y in net.loss.targets]
        loss = dataclasses.replace(net.loss, targets=ys)
        targets = [y.name for y in ys if y.is_Symbol and y.name not in targets]
    point = {**{at(h, 0): 0.0 for h in first}, **net.at}
    positions = {**net.positions, **{at(n, t): net.positions.get(n) for n in names | set(net.targets)
                                     for t in range(count + 1)}}
    out = Network(inputs=inputs, nodes=nodes, edges=edges, outputs=outputs, loss=loss, params=net.params,
                  targets=targets, at=point, description=net.description, positions=positions, layers=net.layers,
                  samples=net.samples, penalty=net.penalty, penalty_text=net.penalty_text, reduction=net.reduction,
                  notation=net.notation, recurrence=Recurrence(count, folded, delayed, reader.loss_steps, first))
    _clashes(reader, out)
    return order.check(_pruned(out, folded))


def _at(y: sympy.Expr, t: int) -> sympy.Expr:
    return symbol(at(y.name, t)) if y.is_Symbol else y


def _node(node: Node, t: int, names: set[str]) -> Node:
    """Node v at step t: the same activation and bias, a formula reading its parents at step t."""
    if not node.is_formula:
        group = at(node.group, t) if node.group is not None else None  # a softmax group is one per step
        return Node(at(node.name, t), node.activation, node.bias, node.pos, group=group)
    swap = {symbol(n): symbol(at(n, t)) for n in node.reads if n in names}
    return Node(at(node.name, t), None, node.bias, node.pos, node.formula.xreplace(swap), node.formula_text,
                tuple(at(n, t) if n in names else n for n in node.reads))


def _pruned(net: Network, folded: Network) -> Network:
    """Without the copies that reach no output (y@1 when the loss reads the last step only); a node none of
    whose copies reaches an output is the file's mistake, named as such."""
    useful = order.ancestors(net, net.outputs)
    for v, node in folded.nodes.items():
        if not any(at(v, t) in useful for t in range(1, net.recurrence.steps + 1)):
            raise DerivatorError(f"node '{v}' does not reach any output", node.pos.line, node.pos.col)
    if all(n in useful for n in net.nodes):
        return net
    nodes = {n: node for n, node in net.nodes.items() if n in useful}
    edges = [e for e in net.edges if e.dst in nodes]
    return dataclasses.replace(net, nodes=nodes, edges=edges)


def _clashes(reader, net: Network) -> None:
    """h@2 is written h__2 in code (JSON's SymPy text, --format python): no name of the file may be one."""
    written = {ident(n): n for n in [*net.inputs, *net.nodes, *net.targets] if "@" in n}
    written.update({"z_" + k: "z_" + n for k, n in list(written.items()) if n in net.nodes})
    for name, (kind, pos) in reader.kinds.items():
        if name in written:
            fail(f"'{name}' is how code writes {written[name]} (the network unrolled through time); choose another "
                 f"{kind} name", pos)
