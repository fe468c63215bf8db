"""Grid inputs, `conv` and `pool` layers (CONTRACT section 7), expanded into the one graph.

A conv layer becomes one neuron per filter and output position, `a{l}_f_r_c`, whose edges come from
the entries its kernel covers, each weighted by the kernel entry `K{l}_f_c_i_j` at that offset: one
parameter tied over every position, so the backward plan sums its uses as for any tied weight, and
every mode reads the convolution as an ordinary network. Padding adds no node: a padded position is
0 and contributes no edge. A max-pooling unit is a formula node `max(...)` of its window (the first
maximum takes the derivative at a tie, as max pooling does), an average-pooling unit the formula
`(a + b + ...)/n` (padding counted in n, as PyTorch's default does).
"""

from __future__ import annotations

from typing import Any

import sympy

from derivator.errors import unknown
from derivator.graph.grids import Grid, GridLayer, out_size, positions
from derivator.graph.network import Edge, Node, Pos, symbol
from derivator.graph.primitives import maximum
from derivator.load.fields import fail, number, show
from derivator.load.tree import Map, Seq
from derivator.load.yamlfile import key_pos, value_pos

CONV_KEYS = ["filters", "kernel", "stride", "padding"]
POOL_KEYS = ["type", "size", "stride", "padding"]
POOL_TYPES = ["max", "average"]
MAX_GRID = 100_000  # entries of one grid, well past the node cap, so a shape's product stays cheap to check


def grid_input(name: str, body: Map, pos: Pos) -> Grid:
    """`{shape: [H, W]}`, `[C, H, W]` or `[N]`: a grid input's entries."""
    for key in body:
        if key != "shape":
            fail(unknown(f"key for grid input '{name}'", str(key), ["shape"]), key_pos(body, key))
    raw = body.get("shape")
    where = value_pos(body, "shape") if "shape" in body else pos
    if not isinstance(raw, Seq) or not 1 <= len(raw) <= 3 or \
            any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in raw):
        given = f"[{', '.join(show(n) for n in raw)}]" if isinstance(raw, Seq) else show(raw)
        fail(f"the shape of grid input '{name}' is [N], [H, W] or [C, H, W], whole numbers of at least 1, "
             f"not {given}", where)
    shape = [int(n) for n in raw]
    total = 1
    for n in shape:
        total *= n
    if total > MAX_GRID:
        fail(f"grid input '{name}' has {total:,} entries; at most {MAX_GRID:,}", where)
    if len(shape) == 3:
        return Grid(name, shape[0], tuple(shape[1:]))
    return Grid(name, 1, tuple(shape), named_channels=False)


def is_grid_layer(body: Any) -> bool:
    return isinstance(body, Map) and ("conv" in body or "pool" in body)


def _sizes(body: Map, key: str, dims: int, default: Any, least: int, what: str) -> tuple[int, ...]:
    """A size per spatial axis: one whole number for every axis, or a list of one per axis."""
    raw = body.get(key, default)
    items = list(raw) if isinstance(raw, Seq) else [raw] * dims
    if len(items) != dims or any(isinstance(n, bool) or not isinstance(n, int) or n < least for n in items):
        fail(f"'{key}' of {what} must be a whole number of at least {least}, or a list of {dims} "
             f"(one per axis of the grid), not {show(raw)}", value_pos(body, key) if key in body else Pos(1, 1))
    return tuple(int(n) for n in items)


def layer(reader, i: int, body: Map, pos: Pos, source: Grid | None) -> GridLayer:
    """A conv or pool layer reading `source` (None: the layer before is no grid)."""
    kind = "conv" if "conv" in body else "pool"
    allowed = ["conv", "activation", "slope", "alpha", "bias"] if kind == "conv" else ["pool"]
    for key in body:
        if key not in allowed:
            other = " (a conv layer's unit count comes from its filters and shape)" if key == "units" else ""
            fail(unknown(f"key for {kind} layer {i}", str(key), allowed) + other, key_pos(body, key))
    if source is None:
        fail(f"layer {i} is a {kind} layer: it reads a grid, a grid input (inputs: {{I: {{shape: [4, 4]}}}}) "
             "or a conv or pool layer before it", pos)
    spec, where = body[kind], value_pos(body, kind)
    if not isinstance(spec, Map):
        example = "{filters: 1, kernel: [2, 2]}" if kind == "conv" else "{type: max, size: 2}"
        fail(f"'{kind}' of layer {i} must be a map such as {example}", where)
    keys = CONV_KEYS if kind == "conv" else POOL_KEYS
    for key in spec:
        if key not in keys:
            fail(unknown(f"key for the {kind} of layer {i}", str(key), keys), key_pos(spec, key))
    dims, what = len(source.spatial), f"layer {i}"
    if kind == "conv":
        if "kernel" not in spec:
            fail(f"the conv of layer {i} is missing 'kernel', its size such as [2, 2]", where)
        _dims(spec, "kernel", dims, i)
        kernel = _sizes(spec, "kernel", dims, None, 1, what)
        filters = _sizes(spec, "filters", 1, 1, 1, what)[0]
    else:
        if "size" not in spec:
            fail(f"the pool of layer {i} is missing 'size', its window such as 2", where)
        _dims(spec, "size", dims, i)
        kernel = _sizes(spec, "size", dims, None, 1, what)
        filters = source.channels
        if spec.get("type", "max") not in POOL_TYPES:
            fail(unknown("pooling type", str(spec.get("type")), POOL_TYPES), value_pos(spec, "type"))
    stride = _sizes(spec, "stride", dims, 1, 1, what)
    if kind == "pool" and "stride" not in spec:
        stride = kernel  # windows side by side, as courses and PyTorch take them
    padding = _sizes(spec, "padding", dims, 0, 0, what)
    for axis, (n, k, p) in enumerate(zip(source.spatial, kernel, padding, strict=True)):
        if p >= k:
            fail(f"the padding of layer {i} ({p}) must be smaller than its window ({k}): a window of padding "
                 "alone reads nothing", value_pos(spec, "padding"))
        if n + 2 * p < k:
            fail(f"the window of layer {i} ({k}) is larger than its input along axis {axis + 1} ({n}"
                 f"{f' + 2·{p} padding' if p else ''})", value_pos(spec, "kernel" if kind == "conv" else "size"))
    out = tuple(out_size(n, k, s, p) for n, k, s, p in zip(source.spatial, kernel, stride, padding, strict=True))
    grid = Grid(f"a{i}", filters, out)
    if kind == "pool":
        return GridLayer(i, kind, source, grid, kernel, stride, padding, pos, pool=spec.get("type", "max"))
    bias = body.get("bias", True)
    if not isinstance(bias, bool):
        fail(f"'bias' of layer {i} is true (the default: biases b{i}_f, one per filter) or false, not {show(bias)}",
             value_pos(body, "bias"))
    activation = reader.activation(f"layer {i}", body)
    if activation.name == "softmax":
        fail(f"layer {i} is a conv layer; a softmax goes on a dense layer", value_pos(body, "activation"))
    return GridLayer(i, kind, source, grid, kernel, stride, padding, pos, activation, bias)


def _dims(spec: Map, key: str, dims: int, i: int) -> None:
    raw = spec[key]
    if isinstance(raw, Seq) and len(raw) != dims:
        fail(f"'{key}' of layer {i} has {len(raw)} size{'s' * (len(raw) != 1)}, but its input is a "
             f"{dims}-D grid", value_pos(spec, key))


def wire(reader, lay: GridLayer, nodes: dict[str, Node], edges: list[Edge]) -> None:
    """The layer's nodes, and for a conv layer its edges and kernel parameters (declared in K's order)."""
    n, src, out = lay.index, lay.source, lay.out
    if lay.kind == "conv":
        for row in lay.kernel_names():
            for k in row:
                reader.declare(k, "parameter", lay.pos)
    for f in range(out.channels):
        bias = sympy.S.Zero
        if lay.kind == "conv" and lay.bias:
            bias = symbol(reader.declare(f"b{n}_{f + 1}", "parameter", lay.pos))
        for p in positions(out.spatial):
            name = reader.declare(out.name(f, *p), "node", lay.pos)
            reads = lay.reads(p)
            if lay.kind == "conv":
                edges += [Edge(src.name(c, *s), name, symbol(lay.kernel_name(f, c, o)), lay.pos)
                          for c in range(src.channels) for o, s in reads]
                nodes[name] = Node(name, lay.activation, bias, lay.pos)
                continue
            parents = [src.name(f, *s) for _, s in reads]
            nodes[name] = _pool_node(name, lay, parents)


def _pool_node(name: str, lay: GridLayer, parents: list[str]) -> Node:
    xs = [symbol(p) for p in parents]
    if lay.pool == "max" and len(xs) > 1:
        expr, text = maximum(*xs), f"max({', '.join(parents)})"
    else:  # average: the window's size, padding included; a window of one entry passes it on
        size = 1
        for k in lay.kernel:
            size *= k
        expr = sympy.Add(*xs) / (size if lay.pool == "average" else 1)
        text = f"({' + '.join(parents)})/{size}" if lay.pool == "average" and size > 1 else " + ".join(parents)
    return Node(name, None, sympy.S.Zero, lay.pos, formula=expr, formula_text=text, reads=tuple(parents))


def values(raw: Any, shape: tuple[int, ...], names: list[str], name: str, pos: Pos) -> dict[str, float]:
    """A grid's or a kernel's values as nested lists of `shape`, as the values of its entries (`names` in
    row-major order). An axis of size 1 may be left out (a one-channel kernel as [F][kh][kw]): it does not
    change the order of the entries."""
    dims, ones = _depth(raw), [i for i, n in enumerate(shape) if n == 1]
    drop = len(shape) - dims
    if drop < 0 or drop > len(ones):
        short = [n for n in shape if n != 1]
        fail(f"'{name}' must be nested lists of shape {list(shape)}" + (f" (or {short})" if ones else "")
             + f", not {dims} level{'s' * (dims != 1)} deep", pos)
    kept = tuple(n for i, n in enumerate(shape) if i not in ones[:drop])
    flat: list[float] = []
    _flatten(raw, kept, flat, name, pos, [])
    return dict(zip(names, flat, strict=True))


def _depth(raw: Any) -> int:
    depth = 0
    while isinstance(raw, Seq) and raw and depth < 8:
        raw, depth = raw[0], depth + 1
    return depth


def _flatten(raw: Any, shape: tuple[int, ...], out: list[float], name: str, pos: Pos, index: list[int]) -> None:
    where = f"'{name}'" + (f" at {tuple(i + 1 for i in index)}" if index else "")
    if not isinstance(raw, Seq) or len(raw) != shape[0]:
        size = f"{len(raw)} item{'s' * (len(raw) != 1)}" if isinstance(raw, Seq) else show(raw)
        fail(f"{where} must be a list of {shape[0]} {'numbers' if len(shape) == 1 else 'lists'}, not {size}", pos)
    for k, item in enumerate(raw):
        p = value_pos(raw, k)
        if len(shape) == 1:
            out.append(number(item, p, f"entry {tuple(i + 1 for i in [*index, k])} of '{name}'"))
        else:
            _flatten(item, shape[1:], out, name, p, [*index, k])
