"""Random networks for property tests: a hypothesis strategy building CONTRACT section 1 dicts.

`networks()` draws a random DAG (1-3 inputs, 1-6 nodes, skip connections, tied parameters, every
activation, an optional loss of every type) together with a full point in `at:`. The dict is plain
JSON, so `json.dumps(spec)` is a valid YAML 1.2 file for `derivator.loads`, and the same dict feeds
the reference engine (`tests/refengine.py`) with `FORMULAS` for its formula activations and losses.

Names are drawn from per-role pools that are disjoint by construction; some of them (`I`, `E`, `S`,
`N`, `O`, `Q`, `x`, `y`, `o`, `beta`, `gamma`) are SymPy constants or functions, or the variables
of formulas, on purpose: the tool must treat them as plain names of the network.
"""

from __future__ import annotations

import math

from hypothesis import assume
from hypothesis import strategies as st

try:
    from refengine import evaluate
except ImportError:  # tests/ collected as a package
    from tests.refengine import evaluate


def _sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


# Formula activations: text for the file, (f, f') as float functions for the reference engine.
FORMULA_ACTIVATIONS = {
    "x/(1+abs(x))": (lambda x: x / (1 + abs(x)), lambda x: 1 / (1 + abs(x)) ** 2),
    "x**2": (lambda x: x * x, lambda x: 2 * x),
    "sin(x)+x": (lambda x: math.sin(x) + x, lambda x: math.cos(x) + 1),
    "log(1+exp(x))": (lambda x: math.log1p(math.exp(x)), _sig),
    "x*sigmoid(x)": (lambda x: x * _sig(x), lambda x: _sig(x) + x * _sig(x) * (1 - _sig(x))),
    "sqrt(1+x^2)": (lambda x: math.sqrt(1 + x * x), lambda x: x / math.sqrt(1 + x * x)),
    "cos(x)": (math.cos, lambda x: -math.sin(x)),
}
# Formula losses in o and y: (L(o, y), dL/do(o, y)).
FORMULA_LOSSES = {
    "(o-y)**4": (lambda o, y: (o - y) ** 4, lambda o, y: 4 * (o - y) ** 3),
    "log(1+(o-y)^2)": (lambda o, y: math.log1p((o - y) ** 2), lambda o, y: 2 * (o - y) / (1 + (o - y) ** 2)),
    "y*exp(-o)+o": (lambda o, y: y * math.exp(-o) + o, lambda o, y: 1 - y * math.exp(-o)),
}
FORMULAS = {**FORMULA_ACTIVATIONS, **FORMULA_LOSSES}
# Formulas whose argument has a kink (abs at 0).
KINKED_FORMULAS = {"x/(1+abs(x))"}

BUILTIN_ACTIVATIONS = ["identity", "linear", "sigmoid", "tanh", "relu", "leaky_relu", "leaky_relu+slope",
                       "softplus", "exp", None]  # None: no `activation:` key (identity by default)
KINKED = {"relu", "leaky_relu"}

INPUT_POOL = ["x1", "x2", "x3", "I", "E", "x", "u"]
NODE_POOL = ["h1", "h2", "h3", "h4", "h5", "h6", "O", "S", "Q", "a", "hid"]
PARAM_POOL = ["w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8", "w9", "b1", "b2", "b3", "b4", "N", "beta",
              "gamma", "theta"]
TARGET_POOL = ["y", "t", "y1", "y2", "o", "target"]
LOSS_TYPES = [None, "squared_error", "half_squared_error", "binary_cross_entropy", "cross_entropy", "formula"]

WEIGHT = st.floats(-1.5, 1.5, allow_nan=False, allow_infinity=False).map(lambda v: round(v, 6))
INPUT = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False).map(lambda v: round(v, 6))
KINK_MARGIN = 1e-3
MAX_ABS = 1e4  # node values beyond this are not "moderate": the example is discarded


def _activation(draw) -> dict:
    """A node body's activation entries."""
    pick = draw(st.sampled_from([*BUILTIN_ACTIVATIONS, *FORMULA_ACTIVATIONS]))
    if pick is None:
        return {}
    if pick == "leaky_relu+slope":
        return {"activation": "leaky_relu", "slope": draw(st.sampled_from([0.2, 0.05, 0.5, 1.5]))}
    return {"activation": pick}


@st.composite
def networks(draw, max_nodes: int = 6, loss: bool | None = None) -> tuple[dict, str]:
    """(spec, of): a random network dict with a full point in `at`, and the target refengine needs.

    `loss=False` draws networks without a loss (the target is then any node), `True` with one."""
    n_in = draw(st.integers(1, 3))
    n_nodes = draw(st.integers(1, max_nodes))
    inputs = draw(st.lists(st.sampled_from(INPUT_POOL), min_size=n_in, max_size=n_in, unique=True))
    order = draw(st.lists(st.sampled_from(NODE_POOL), min_size=n_nodes, max_size=n_nodes, unique=True))
    spare_params = draw(st.permutations(PARAM_POOL))
    params: list[str] = []

    def operand(kind: str):
        """A weight or bias: a number, a fresh parameter, or a tied (already used) one."""
        choices = ["number", "fresh", "fresh"] + (["tied"] if params else [])
        how = draw(st.sampled_from(choices))
        if how == "fresh" and len(params) < len(spare_params):
            params.append(spare_params[len(params)])
            return params[-1]
        if how == "tied" or (how == "fresh" and params):
            return draw(st.sampled_from(params))
        return draw(st.sampled_from([1, -1, 2])) if draw(st.booleans()) and kind == "bias" else draw(WEIGHT)

    # Edges: each node picks a nonempty set of parents among the inputs and earlier nodes (skips).
    edges: list[list] = []
    children: dict[str, list[str]] = {v: [] for v in order}
    for j, v in enumerate(order):
        candidates = [*inputs, *order[:j]]
        parents = draw(st.lists(st.sampled_from(candidates), min_size=1, max_size=min(3, len(candidates)),
                                unique=True))
        for u in parents:
            edges.append([u, v, operand("weight")])
            if u in children:
                children[u].append(v)

    # Outputs: the last node, sometimes one more (a sink, or rarely a node with children); every
    # other sink gets an edge onward so that each node reaches an output.
    outputs = [order[-1]]
    if len(order) > 1 and draw(st.booleans()):
        sinks = [v for v in order[:-1] if not children[v]]
        pool = sinks if sinks and draw(st.integers(0, 3)) else order[:-1]
        outputs.append(draw(st.sampled_from(pool)))
    for j, v in enumerate(order):
        if not children[v] and v not in outputs:
            w = draw(st.sampled_from(order[j + 1:]))
            edges.append([v, w, operand("weight")])
            children[v].append(w)

    bodies: dict[str, dict] = {}
    for v in order:
        body = _activation(draw)
        if draw(st.integers(0, 3)):
            body["bias"] = operand("bias")
        bodies[v] = body

    # The loss (or none); binary cross-entropy makes its outputs sigmoid so o lies in (0, 1).
    loss_types = {None: LOSS_TYPES, False: [None], True: LOSS_TYPES[1:]}[loss]
    loss_type = draw(st.sampled_from(loss_types))
    targets = draw(st.lists(st.sampled_from(TARGET_POOL), min_size=len(outputs), max_size=len(outputs),
                            unique=True))
    at: dict[str, float] = {}
    spec_loss = None
    if loss_type is not None:
        if loss_type == "binary_cross_entropy":
            for o in outputs:
                bodies[o] = {k: val for k, val in bodies[o].items() if k != "slope"} | {"activation": "sigmoid"}
        if loss_type == "cross_entropy":
            hot = draw(st.integers(0, len(outputs) - 1))
            values = [1.0 if i == hot else 0.0 for i in range(len(outputs))]
        elif loss_type == "binary_cross_entropy":
            values = [draw(st.sampled_from([0.0, 1.0, 0.25, 0.8])) for _ in outputs]
        else:
            values = [draw(INPUT) for _ in outputs]
        # Targets are names with their values in `at`, or (not for cross_entropy) plain numbers.
        as_numbers = loss_type != "cross_entropy" and draw(st.integers(0, 4)) == 0
        tnames = values if as_numbers else targets
        if not as_numbers:
            at.update(zip(targets, values, strict=True))
        spec_loss = {"type": loss_type, "target": tnames if len(outputs) > 1 else tnames[0]}
        if loss_type == "formula":
            spec_loss["formula"] = draw(st.sampled_from(list(FORMULA_LOSSES)))

    # The point: inputs in [-2, 2], parameters in [-1.5, 1.5]; inputs sometimes as `inputs:` defaults.
    input_values = {x: draw(INPUT) for x in inputs}
    at.update({p: draw(WEIGHT) for p in params})
    shuffled = draw(st.permutations(order))  # the file's node order is not the topological one
    spec: dict = {
        "description": "random network from tests/netgen.py",
        "inputs": input_values if draw(st.booleans()) else list(inputs),
        "nodes": {v: bodies[v] for v in shuffled},
        "edges": [e if draw(st.booleans()) else {"from": e[0], "to": e[1], "weight": e[2]} for e in edges],
        "output": outputs if len(outputs) > 1 or draw(st.booleans()) else outputs[0],
    }
    if isinstance(spec["inputs"], list):
        at.update(input_values)
    if spec_loss is not None:
        spec["loss"] = spec_loss
    spec["at"] = at
    of = "loss" if spec_loss is not None else draw(st.sampled_from(outputs if len(outputs) > 1 else order))
    assume_moderate(spec, of)
    return spec, of


def node_values(spec: dict, point: dict | None = None) -> dict[str, float]:
    """Every node's output and `z_` pre-activation by the reference engine (float64)."""
    out = {}
    for v in spec["nodes"]:
        out[v] = evaluate(spec, point or {}, of=v, formulas=FORMULAS)[0]
        out["z_" + v] = evaluate(spec, point or {}, of="z_" + v, formulas=FORMULAS)[0]
    return out


def assume_moderate(spec: dict, of: str) -> None:
    """Discard examples with huge values, a kink's argument near 0, or BCE outputs at 0 or 1."""
    try:
        values = node_values(spec)
        target, _ = evaluate(spec, {}, of=of, formulas=FORMULAS)
    except (OverflowError, ValueError, ZeroDivisionError):
        assume(False)
        return
    assume(all(math.isfinite(x) and abs(x) < MAX_ABS for x in values.values()))
    assume(math.isfinite(target) and abs(target) < MAX_ABS)
    for v, body in spec["nodes"].items():
        if body.get("activation") in KINKED or body.get("activation") in KINKED_FORMULAS:
            assume(abs(values["z_" + v]) > KINK_MARGIN)
    loss = spec.get("loss")
    if loss and loss["type"] == "binary_cross_entropy":
        outputs = spec["output"] if isinstance(spec["output"], list) else [spec["output"]]
        assume(all(1e-6 < values[o] < 1 - 1e-6 for o in outputs))


def upstream(spec: dict, of: str) -> set[str]:
    """The inputs and nodes the target depends on (every node, for a loss), from the dict alone."""
    parents: dict[str, set[str]] = {}
    for e in spec["edges"]:
        src, dst = (e[0], e[1]) if isinstance(e, list) else (e["from"], e["to"])
        parents.setdefault(dst, set()).add(src)
    outputs = spec["output"] if isinstance(spec["output"], list) else [spec["output"]]
    seen, stack = set(), list(outputs if of == "loss" else [of])
    while stack:
        v = stack.pop()
        if v not in seen:
            seen.add(v)
            stack.extend(parents.get(v, ()))
    return seen
