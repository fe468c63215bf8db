"""`layers:`, `data:` and matrix-valued `at:` (CONTRACT section 1, Layers and batches).

A `layers:` file is expanded here into the nodes and edges every later stage reads, with the
contract's names: unit j of layer l is node `a{l}_{j}`, its bias `b{l}_{j}`, and `W{l}_{j}_{k}` the
weight from unit (or input) k of the layer before. Whole matrices in `at:` become those entries.
"""

from __future__ import annotations

from typing import Any

import sympy

from derivator.errors import unknown
from derivator.graph import rules
from derivator.graph.network import Edge, Layer, Node, Pos, symbol
from derivator.load import conv, norm
from derivator.load.fields import fail, number, show
from derivator.load.tree import Map, Seq
from derivator.load.yamlfile import key_pos, value_pos

LAYER_KEYS = ["units", "activation", *(key for key, _, _ in rules.OPTIONS.values()), "bias",  # slope, alpha
              "recurrent", "conv", "pool", "layer_norm", "batch_norm", "epsilon"]
# Every number over data runs the network once per sample, and the exact ones in mpmath at two
# precisions (some 0.12 ms a step here for `--matrix --check`, the most work of any command): samples x
# (edges + nodes) is capped, so that every command finishes within some 10 s of CPU time. Reading a
# sample costs about 1 ms itself (ruamel's pure-Python parser), hence the cap on their number.
MAX_SAMPLES = 5_000
MAX_SAMPLE_WORK = 50_000


def build(reader, inputs: list[str], max_nodes: int, max_edges: int):
    """Nodes, edges, outputs and layers of a `layers:` list; `reader` declares each name once."""
    doc = reader.doc
    raw = doc["layers"]
    if not isinstance(raw, Seq) or not raw:
        fail("'layers' must be a list such as [{units: 3, activation: sigmoid}, {units: 1}]", value_pos(doc, "layers"))
    nodes: dict[str, Node] = {}
    edges: list[Edge] = []
    layers: list[Layer] = []
    previous = inputs
    # A conv or pool layer reads a grid: the file's one grid input (and no other input), or the layer before.
    grid = next(iter(reader.grids.values())) if len(reader.grids) == 1 and len(inputs) == \
        next(iter(reader.grids.values())).size else None
    for i, body in enumerate(raw, 1):
        if conv.is_grid_layer(body):
            layer = conv.layer(reader, i, body, value_pos(raw, i - 1), grid)
            units, reads = layer.size()  # counted before any node is made: a filter count has no other bound
            if len(nodes) + units > max_nodes or len(edges) + reads > max_edges:
                fail(f"layer {i} makes the network larger than {max_nodes:,} nodes or {max_edges:,} weights "
                     f"({len(nodes) + units:,} nodes, up to {len(edges) + reads:,} weights and window entries)",
                     value_pos(raw, i - 1))
            conv.wire(reader, layer, nodes, edges)
            layers.append(layer)
            previous, grid = layer.nodes, layer.out
            continue
        grid = None  # a dense layer flattens what it gets, in row-major order (channel, row, column)
        layer = _layer(reader, i, body, value_pos(raw, i - 1))
        weights = layer.units * (len(previous) + layer.units * layer.recurrent)
        if len(nodes) + layer.units > max_nodes or len(edges) + weights > max_edges:
            fail(f"layer {i} makes the network larger than {max_nodes} nodes or {max_edges} weights",
                 value_pos(body, "units"))
        if norm.wants(body):  # its stages h, mu, var, zhat, then the units (CONTRACT section 7)
            norm.wire(reader, layer, body, previous, nodes, edges)
            layers.append(layer)
            previous = layer.nodes
            continue
        for j, name in enumerate(layer.nodes, 1):
            reader.declare(name, "node", layer.pos)
            for k, src in enumerate(previous, 1):
                w = symbol(reader.declare(f"W{i}_{j}_{k}", "parameter", layer.pos))
                edges.append(Edge(src, name, w, layer.pos))
        if layer.recurrent:  # U{l}_j_k: from unit k of this layer at the previous step (CONTRACT section 6)
            edges += [Edge(src, name, symbol(reader.declare(f"U{i}_{j}_{k}", "parameter", layer.pos)), layer.pos, 1)
                      for j, name in enumerate(layer.nodes, 1) for k, src in enumerate(layer.nodes, 1)]
        for j, name in enumerate(layer.nodes, 1):
            bias = symbol(reader.declare(f"b{i}_{j}", "parameter", layer.pos)) if layer.bias else sympy.S.Zero
            group = f"a{i}" if layer.activation.name == rules.SOFTMAX else None  # the layer is one softmax group
            nodes[name] = Node(name, layer.activation, bias, layer.pos, group=group)
        layers.append(layer)
        previous = layer.nodes
    return nodes, edges, previous, layers


def check_names(kinds: dict, matrices: dict) -> None:
    """W1, b2, ... name whole matrices in a layers file (`at:`, --wrt): no input or target may take them."""
    for name, (kind, pos) in kinds.items():
        if name in matrices:
            what = {"W": "weight matrix", "U": "recurrent weight matrix", "K": "kernel"}.get(name[0], "bias vector")
            fail(f"'{name}' names the {what} of layer {name[1:]} in a 'layers' file; choose another {kind} name", pos)


def _layer(reader, i: int, body: Any, pos: Pos) -> Layer:
    if not isinstance(body, Map):
        fail(f"layer {i} must be a map such as {{units: 3, activation: sigmoid}}", pos)
    for key in body:
        if key not in LAYER_KEYS:
            fail(unknown(f"key for layer {i}", str(key), LAYER_KEYS), key_pos(body, key))
    if "units" not in body:
        fail(f"layer {i} is missing 'units', its number of nodes", pos)
    units = body["units"]
    if isinstance(units, bool) or not isinstance(units, int) or units < 1:
        fail(f"'units' of layer {i} must be a whole number of at least 1, not {show(units)}", value_pos(body, "units"))
    bias = body.get("bias", True)
    if not isinstance(bias, bool):
        fail(f"'bias' of layer {i} is true (the default: biases b{i}_j) or false, not {show(bias)}",
             value_pos(body, "bias"))
    recurrent = body.get("recurrent", False)
    if not isinstance(recurrent, bool):
        fail(f"'recurrent' of layer {i} is true (weights U{i}_j_k from the layer's own units at the previous step) "
             f"or false, not {show(recurrent)}", value_pos(body, "recurrent"))
    if recurrent and reader.steps is None:
        fail(f"layer {i} is recurrent: give 'steps:', the number of steps to unroll over", key_pos(body, "recurrent"))
    activation = reader.activation(f"layer {i}", body)
    if activation.name == rules.SOFTMAX and units == 1:
        fail(f"layer {i} is a softmax of one unit, which is the constant 1; give it two or more units "
             "(one probability is a sigmoid)", value_pos(body, "units"))
    return Layer(i, units, activation, bias, pos, recurrent)


def matrix(raw: Any, entries: list[list[str]], name: str, pos: Pos) -> dict[str, float]:
    """A whole `W{l}` (a list of rows) or `b{l}` (a list) in `at:`, as values of its entries."""
    rows, cols = len(entries), len(entries[0])
    what = "one per unit of the layer"
    before = "of the layer itself, at the previous step" if name.startswith("U") else "of the layer before, or input"
    if name.startswith(("b", "gamma")):  # a vector: b{l}, and a normalised layer's gamma{l} and beta{l}
        if not isinstance(raw, Seq) or len(raw) != rows:
            fail(f"'{name}' must be a list of {rows} number{'s' * (rows != 1)} ({what}), not {_size(raw)}", pos)
        return {entries[j][0]: number(v, value_pos(raw, j), f"entry {j + 1} of '{name}'") for j, v in enumerate(raw)}
    if not isinstance(raw, Seq) or len(raw) != rows:
        fail(f"'{name}' must be a list of {rows} row{'s' * (rows != 1)} ({what}), not {_size(raw)}", pos)
    out = {}
    for j, row in enumerate(raw):
        if not isinstance(row, Seq) or len(row) != cols:
            fail(f"row {j + 1} of '{name}' must be a list of {cols} number{'s' * (cols != 1)} (one per unit "
                 f"{before}), not {_size(row)}", value_pos(raw, j))
        for k, v in enumerate(row):
            out[entries[j][k]] = number(v, value_pos(row, k), f"entry ({j + 1}, {k + 1}) of '{name}'")
    return out


def _size(raw: Any) -> str:
    if isinstance(raw, Seq):
        return f"{len(raw)} item{'s' * (len(raw) != 1)}"
    return show(raw)


def samples(reader, names: list[str], loss_type: str | None) -> list[dict[str, float]]:
    """`data:`: one map per sample, giving every input and target a value."""
    doc = reader.doc
    raw = doc["data"]
    if raw is None or (isinstance(raw, Seq) and not raw):
        fail("'data' has no samples; list them, such as - {x1: 0.5, x2: -1.0, y: 1}, or leave 'data' out",
             value_pos(doc, "data"))
    if not isinstance(raw, Seq):
        fail("'data' must be a list of samples such as {x1: 0.5, x2: -1.0, y: 1}", value_pos(doc, "data"))
    if len(raw) > MAX_SAMPLES:
        fail(f"more than {MAX_SAMPLES} samples", value_pos(doc, "data"))
    out = []
    for s, item in enumerate(raw, 1):
        pos = value_pos(raw, s - 1)
        if not isinstance(item, Map):
            fail(f"sample {s} must be a map of the inputs' and targets' values", pos)
        for key in item:
            if key not in names:
                fail(unknown(f"name in sample {s}", str(key), names) + " (a sample gives inputs and targets)",
                     key_pos(item, key))
        missing = [n for n in names if n not in item]
        if missing:
            fail(f"sample {s} gives no value for {', '.join(missing)}", pos)
        sample: dict[str, float] = {}
        for k in names:  # with `steps:`, an input's or target's value is a list, one per step
            sample.update(reader.entry(k, item[k], value_pos(item, k), f"'{k}' in sample {s}"))
        out.append(sample)
    return out


def check_work(samples: list, edges: int, nodes: int, pos: Pos) -> None:
    work = len(samples) * (edges + nodes)
    if work > MAX_SAMPLE_WORK:
        fail(f"{len(samples)} samples over {edges} weights and {nodes} nodes is {work:,} steps per pass; the cap is "
             f"{MAX_SAMPLE_WORK:,} (fewer samples, or a smaller network)", pos)


def check_targets(loss, values: list[dict[str, float]], raw: Seq) -> None:
    """Softmax cross-entropy needs targets that sum to 1 in every sample (and so does the categorical one)."""
    if loss is None or loss.type not in rules.SUMS_TO_ONE:
        return
    for s, sample in enumerate(values, 1):
        total = sum(sample[str(t)] if t.is_Symbol else float(t) for t in loss.targets)
        if abs(total - 1) > 1e-9:
            fail(f"{loss.type} targets must sum to 1 (one-hot or probabilities); in sample {s} they sum "
                 f"to {total:g}", value_pos(raw, s - 1))
