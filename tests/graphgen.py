"""Random computational graphs for property tests: a hypothesis strategy building CONTRACT section 4 dicts.

`graphs()` draws formula nodes (random expressions with + - * / ^, max, min and the formula functions)
mixed with neurons (edges, weights, biases, every activation), parameters declared in `parameters:`
(a list, or a map of defaults) or borrowed from weights and biases, an optional loss, and with a loss
optionally a `penalty:`, a `regularization:`, `data:` and a `reduction:`. The dict is plain JSON, so
`json.dumps(spec)` is a valid YAML 1.2 file, and the same dict feeds the reference engine
(tests/refengine.py), which parses every formula itself.

Examples are kept only where float64 is trustworthy to 1e-9: moderate values, every kink (relu, abs,
max, min, leaky relu, l1) at least KINK_MARGIN away, and gradients that move little when the point
is nudged by a relative 1e-9: float64's round-off, about 1e-5 of that move, stays below 1e-9 of the
value (or 1e-12).
"""

from __future__ import annotations

import math
import random

from hypothesis import assume
from hypothesis import strategies as st

try:
    from netgen import FORMULA_ACTIVATIONS, FORMULA_LOSSES
    from refengine import _point, evaluate, evaluate_batch, expand_layers, formula_names
except ImportError:  # tests/ collected as a package
    from tests.netgen import FORMULA_ACTIVATIONS, FORMULA_LOSSES
    from tests.refengine import _point, evaluate, evaluate_batch, expand_layers, formula_names

INPUT_POOL = ["x", "y", "z", "u", "x1", "x2", "I"]
NODE_POOL = ["q", "f", "m", "g", "h1", "h2", "o", "O", "s", "den", "num", "p"]
WEIGHT_POOL = ["w1", "w2", "w3", "w4", "w5", "w6", "b1", "b2", "b3", "beta"]
FORMULA_PARAM_POOL = ["gamma", "alpha", "k", "c1", "theta"]
TARGET_POOL = ["t", "t1", "t2", "target"]
ACTIVATIONS = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "exp", None, *FORMULA_ACTIVATIONS]
UNARY = ["exp", "tanh", "sigmoid", "relu", "softplus", "sin", "cos", "abs"]

WEIGHT = st.floats(-1.5, 1.5, allow_nan=False, allow_infinity=False).map(lambda v: round(v, 6) + 0.0)  # no -0.0
INPUT = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False).map(lambda v: round(v, 6) + 0.0)
COEFFICIENT = st.sampled_from([0.5, 2, 1.5, 0.25, 3, 0.1])
KINK_MARGIN = 1e-3
MAX_ABS = 1e3
NUDGE = 1e-9          # relative nudge of the point for the conditioning test
NUDGE_REL, NUDGE_ABS = 1e-4, 1e-7  # allowed change of a gradient: round-off is ~1e-5 of it, under 1e-9 of the value


# -- expressions: trees of tuples, printed with only the parentheses precedence needs -------------------
def text(tree: tuple, context: int = 0) -> str:
    """The formula's text. Levels: 1 for + -, 2 for * /, 3 for a unary minus, 4 for a power, 5 for an
    atom; `context` is the least level written bare there. A unary minus is bare only at the top or as
    the left operand of + and -, a power's base and exponent are atoms, so `-x**2` and `a - b*c` occur
    but `a*-b` and `--a` do not."""
    kind = tree[0]
    if kind == "num":
        value = float(tree[1])
        s = str(int(value)) if value.is_integer() else repr(value)
        return s if value >= 0 else f"({s})"
    if kind == "name":
        return tree[1]
    if kind == "call":
        return f"{tree[1]}({', '.join(text(a) for a in tree[2])})"
    if kind == "neg":
        out = "-" + text(tree[1], 3)
        return out if context <= 1 else f"({out})"
    op, a, b = tree[1], tree[2], tree[3]
    if op in "+-":
        out, level = f"{text(a, 1)} {op} {text(b, 2)}", 1
    elif op in "*/":
        out, level = f"{text(a, 2)}{op}{text(b, 4)}", 2
    else:
        out, level = f"{text(a, 5)}{op}{text(b, 5)}", 4
    return out if level >= context else f"({out})"


@st.composite
def expressions(draw, names: list[str], params: list[str], depth: int) -> tuple:
    """A random expression in `names` (inputs and earlier nodes) and `params`."""
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        pick = draw(st.integers(0, 9))
        if pick < 6 or (pick >= 8 and not params):
            return ("name", draw(st.sampled_from(names)))
        if pick < 8:
            return ("num", draw(COEFFICIENT))
        return ("name", draw(st.sampled_from(params)))
    sub = expressions(names, params, depth - 1)
    kind = draw(st.sampled_from(["+", "-", "*", "*", "/", "pow", "call", "call", "max", "min", "neg", "safe"]))
    if kind in ("+", "-", "*"):
        return ("bin", kind, draw(sub), draw(sub))
    if kind == "/":
        denominator = draw(st.sampled_from(["square", "sin", "tanh", "raw"]))
        e = draw(sub)
        if denominator == "square":
            d = ("bin", "+", ("num", 1), ("bin", draw(st.sampled_from(["^", "**"])), e, ("num", 2)))
        elif denominator == "sin":
            d = ("bin", "+", ("num", 2), ("call", "sin", (e,)))
        elif denominator == "tanh":
            d = ("bin", "+", ("num", 1.5), ("call", "tanh", (e,)))
        else:
            d = ("name", draw(st.sampled_from(names)))  # near 0 is filtered by the size of the values
        return ("bin", "/", draw(sub), d)
    if kind == "pow":
        return ("bin", draw(st.sampled_from(["^", "**"])), draw(sub), ("num", draw(st.sampled_from([2, 3]))))
    if kind == "call":
        return ("call", draw(st.sampled_from(UNARY)), (draw(sub),))
    if kind in ("max", "min"):
        return ("call", kind, tuple(draw(sub) for _ in range(draw(st.sampled_from([2, 2, 3])))))
    if kind == "neg":
        return ("neg", draw(sub))
    e = draw(sub)  # log, sqrt and a power on a positive argument
    square = ("bin", "^", e, ("num", 2))
    return draw(st.sampled_from([("call", "log", (("bin", "+", ("num", 1), square),)),
                                 ("call", "sqrt", (("bin", "+", ("num", 1), square),)),
                                 ("call", "log", (("bin", "+", ("num", 2), ("call", "cos", (e,))),))]))


def _uses(tree: tuple, names: set[str]) -> bool:
    return any(n in names for n in formula_names(text(tree)))


# -- graphs ---------------------------------------------------------------------------------------
@st.composite
def graphs(draw, max_nodes: int = 5, loss: bool | None = None, data: bool | None = None) -> tuple[dict, str]:
    """(spec, of): a random section 4 graph with a full point, and the target refengine needs.
    `loss=False` draws graphs without a loss (the target is then a node), `True` with one; `data`
    likewise forces samples in or out (samples need a loss)."""
    n_in = draw(st.integers(1, 3))
    inputs = draw(st.lists(st.sampled_from(INPUT_POOL), min_size=n_in, max_size=n_in, unique=True))
    n_nodes = draw(st.integers(1, max_nodes))
    order = draw(st.lists(st.sampled_from(NODE_POOL), min_size=n_nodes, max_size=n_nodes, unique=True))
    spare_weights = draw(st.permutations(WEIGHT_POOL))
    spare_formula = draw(st.permutations(FORMULA_PARAM_POOL))
    weights: list[str] = []     # weight and bias names used so far
    declared: list[str] = []    # formula parameters declared in `parameters:`

    def operand(kind: str):
        how = draw(st.sampled_from(["number", "fresh", "fresh", *(["tied"] if weights else [])]))
        if how == "fresh" and len(weights) < len(spare_weights):
            weights.append(spare_weights[len(weights)])
            return weights[-1]
        if how in ("tied", "fresh") and weights:
            return draw(st.sampled_from(weights))
        return draw(st.sampled_from([1, -1, 0.5])) if kind == "bias" else draw(WEIGHT)

    formulas: dict[str, tuple] = {}
    bodies: dict[str, dict] = {}
    edges: list[list] = []
    for j, v in enumerate(order):
        candidates = [*inputs, *order[:j]]
        if draw(st.integers(0, 4)) < 3:  # a formula node
            fresh = [p for p in spare_formula if p not in declared][:1]
            params = [*declared, *weights, *fresh] if draw(st.booleans()) else []
            tree = draw(expressions(candidates, params, draw(st.integers(1, 3))))
            if not _uses(tree, set(candidates)):
                tree = ("bin", draw(st.sampled_from(["+", "*"])), ("name", draw(st.sampled_from(candidates))), tree)
            declared += [p for p in fresh if _uses(tree, {p})]
            formulas[v] = tree
        else:  # a neuron
            parents = draw(st.lists(st.sampled_from(candidates), min_size=1, max_size=min(3, len(candidates)),
                                    unique=True))
            edges += [[u, v, operand("weight")] for u in parents]
            act = draw(st.sampled_from(ACTIVATIONS))
            body = {} if act is None else {"activation": act}
            if act == "leaky_relu" and draw(st.booleans()):
                body["slope"] = draw(st.sampled_from([0.2, 0.05]))
            if draw(st.booleans()):
                body["bias"] = operand("bias")
            bodies[v] = body

    def children(v: str) -> list[str]:
        out = [e[1] for e in edges if e[0] == v]
        return out + [w for w, t in formulas.items() if _uses(t, {v})]

    outputs = [order[-1]]
    if len(order) > 1 and draw(st.booleans()):
        sinks = [v for v in order[:-1] if not children(v)]
        outputs.append(draw(st.sampled_from(sinks or order[:-1])))
    for j, v in enumerate(order):  # every node reaches an output
        if not children(v) and v not in outputs:
            w = draw(st.sampled_from(order[j + 1:]))
            if w in formulas:
                formulas[w] = ("bin", "+", formulas[w], ("bin", "*", ("num", draw(COEFFICIENT)), ("name", v)))
            else:
                edges.append([v, w, operand("weight")])

    loss_type = draw(st.sampled_from({None: [None, "squared_error", "half_squared_error", "formula",
                                             "binary_cross_entropy", "cross_entropy"],
                                      False: [None],
                                      True: ["squared_error", "half_squared_error", "formula",
                                             "binary_cross_entropy", "cross_entropy"]}[loss]))
    if loss_type == "binary_cross_entropy":
        if any(o in formulas for o in outputs):
            loss_type = "squared_error"
        else:
            for o in outputs:
                bodies[o] = {k: val for k, val in bodies[o].items() if k != "slope"} | {"activation": "sigmoid"}
    with_data = loss_type is not None and (draw(st.booleans()) if data is None else data)
    targets = draw(st.lists(st.sampled_from(TARGET_POOL), min_size=len(outputs), max_size=len(outputs),
                            unique=True))

    def target_values() -> list[float]:
        if loss_type == "cross_entropy":
            hot = draw(st.integers(0, len(outputs) - 1))
            return [1.0 if i == hot else 0.0 for i in range(len(outputs))]
        if loss_type == "binary_cross_entropy":
            return [draw(st.sampled_from([0.0, 1.0, 0.25, 0.8])) for _ in outputs]
        return [draw(INPUT) for _ in outputs]

    nodes = {v: ({"formula": text(formulas[v])} if v in formulas else bodies[v]) for v in draw(st.permutations(order))}
    spec: dict = {"description": "random computational graph from tests/graphgen.py"}
    at: dict[str, float] = {}
    if with_data:
        spec["inputs"] = list(inputs)
        samples = []
        for _ in range(draw(st.integers(1, 3))):
            sample = {x: draw(INPUT) for x in inputs}
            sample.update(zip(targets, target_values(), strict=True))
            samples.append(sample)
    else:
        values = {x: draw(INPUT) for x in inputs}
        if draw(st.booleans()):
            spec["inputs"] = values
        else:
            spec["inputs"] = list(inputs)
            at.update(values)
    if declared:
        defaults = {p: draw(WEIGHT) for p in declared}
        if draw(st.booleans()):
            spec["parameters"] = defaults
        else:
            spec["parameters"] = list(declared)
            at.update(defaults)
    spec["nodes"] = nodes
    if edges or draw(st.integers(0, 3)) == 0:
        spec["edges"] = [e if draw(st.booleans()) else {"from": e[0], "to": e[1], "weight": e[2]} for e in edges]
    spec["output"] = outputs if len(outputs) > 1 or draw(st.booleans()) else outputs[0]
    if loss_type is not None:
        spec_loss = {"type": loss_type, "target": targets if len(outputs) > 1 else targets[0]}
        if loss_type == "formula":
            spec_loss["formula"] = draw(st.sampled_from(list(FORMULA_LOSSES)))
        if with_data or draw(st.integers(0, 3)) == 0:
            reduction = draw(st.sampled_from([None, "mean", "sum"]))
            if reduction is not None:
                spec_loss["reduction"] = reduction
        spec["loss"] = spec_loss
        if not with_data:
            at.update(zip(targets, target_values(), strict=True))
        every = [*weights, *declared]
        if every and draw(st.booleans()):
            spec["penalty"] = text(draw(penalties(every)))
        if any(isinstance(e[2], str) for e in edges) and draw(st.booleans()):
            spec["regularization"] = draw(st.sampled_from([{"l2": 0.01}, {"l1": 0.02}, {"l2": 0.1, "l1": 0.005}]))
    if with_data:
        spec["data"] = samples
    at.update({p: draw(WEIGHT) for p in weights})
    spec["at"] = at
    of = "loss" if loss_type is not None else draw(st.sampled_from(outputs if len(outputs) > 1 else order))
    assume_trustworthy(spec, of)
    return spec, of


@st.composite
def penalties(draw, params: list[str]) -> tuple:
    """A penalty in parameters: weight decay on some of them, a smooth prior, or a random expression."""
    chosen = draw(st.lists(st.sampled_from(params), min_size=1, max_size=3, unique=True))
    squares = [("bin", "^", ("name", p), ("num", 2)) for p in chosen]
    total = squares[0]
    for s in squares[1:]:
        total = ("bin", "+", total, s)
    c = ("num", draw(st.sampled_from([0.05, 0.01, 0.5])))
    return draw(st.sampled_from([
        ("bin", "*", c, total),
        ("bin", "*", c, ("call", "log", (("bin", "+", ("num", 1), total),))),
        ("bin", "*", c, ("bin", "^", ("bin", "-", ("name", chosen[0]), ("num", 0.5)), ("num", 2))),
        ("bin", "*", c, draw(expressions(chosen, [], 2))),
    ]))


# -- what the target depends on, from the dict alone ------------------------------------------------
def parents_of(spec: dict) -> dict[str, list[str]]:
    """Each node's parents: the inputs and nodes its formula names, or the sources of its edges."""
    spec = expand_layers(spec)
    names = set(spec["inputs"]) | set(spec["nodes"])
    out: dict[str, list[str]] = {v: [] for v in spec["nodes"]}
    for v, body in spec["nodes"].items():
        if "formula" in body:
            out[v] = [n for n in formula_names(body["formula"]) if n in names]
    for e in spec.get("edges") or []:
        src, dst = (e[0], e[1]) if isinstance(e, list) else (e["from"], e["to"])
        out[dst].append(src)
    return out


def entry_nodes(spec: dict, wrt: str) -> set[str]:
    """The nodes where `wrt` enters: the node itself (a node or z_NODE), its children (an input), or
    the nodes whose formula, incoming edge weight or bias is the parameter `wrt`."""
    spec = expand_layers(spec)
    if wrt.startswith("z_") and wrt[2:] in spec["nodes"]:
        return {wrt[2:]}
    if wrt in spec["nodes"]:
        return {wrt}
    parents = parents_of(spec)
    if wrt in spec["inputs"]:
        return {v for v, ps in parents.items() if wrt in ps}
    out = {v for v, body in spec["nodes"].items()
           if ("formula" in body and wrt in formula_names(body["formula"])) or body.get("bias") == wrt}
    for e in spec.get("edges") or []:
        dst, w = (e[1], e[2]) if isinstance(e, list) else (e["to"], e["weight"])
        if w == wrt:
            out.add(dst)
    return out


def path_nodes(spec: dict, wrt: str, of: str) -> set[str]:
    """The nodes on a path from `wrt` to the target (CONTRACT section 3, `deltas`)."""
    spec = expand_layers(spec)
    parents = parents_of(spec)
    children: dict[str, set[str]] = {}
    for v, ps in parents.items():
        for p in ps:
            children.setdefault(p, set()).add(v)
    down, stack = set(), list(entry_nodes(spec, wrt))
    while stack:
        v = stack.pop()
        if v not in down:
            down.add(v)
            stack.extend(children.get(v, ()))
    outputs = spec["output"] if isinstance(spec["output"], list) else [spec["output"]]
    top = outputs if of == "loss" else [of[2:] if of.startswith("z_") and of[2:] in spec["nodes"] else of]
    up, stack = set(), list(top)
    while stack:
        v = stack.pop()
        if v not in up:
            up.add(v)
            stack.extend(parents.get(v, ()))
    return down & up & set(spec["nodes"])


def parameters_of(spec: dict) -> set[str]:
    """Every parameter: weights and biases given by name, and the declared formula parameters."""
    spec = expand_layers(spec)
    out = set(spec.get("parameters") or [])
    out |= {b["bias"] for b in spec["nodes"].values() if isinstance(b.get("bias"), str)}
    for e in spec.get("edges") or []:
        w = e[2] if isinstance(e, list) else e["weight"]
        if isinstance(w, str):
            out.add(w)
    return out


# -- trustworthy examples ---------------------------------------------------------------------------
def assume_trustworthy(spec: dict, of: str) -> None:
    """Discard examples with huge values, a kink near its argument, BCE outputs at 0 or 1, or a
    gradient that float64 cannot give to 1e-9 (it moves under a relative nudge of 1e-9)."""
    samples = spec.get("data") or [{}]
    kinks: list = []
    try:
        target, grads = evaluate_batch(spec, {}, of=of, kinks=kinks)
        values = [evaluate(spec, sample, of=v, with_penalty=False)[0] for sample in samples for v in spec["nodes"]]
        for sample in samples:
            for v, body in spec["nodes"].items():
                if "formula" not in body:
                    values.append(evaluate(spec, sample, of="z_" + v)[0])
    except (OverflowError, ValueError, ZeroDivisionError):
        assume(False)
        return
    numbers = [target, *grads.values(), *values]
    assume(all(math.isfinite(x) and abs(x) < MAX_ABS for x in numbers))
    assume(all(margin > KINK_MARGIN for _, margin in kinks))
    loss = spec.get("loss")
    if loss and loss["type"] == "binary_cross_entropy":
        outputs = spec["output"] if isinstance(spec["output"], list) else [spec["output"]]
        outs = [evaluate(spec, sample, of=o)[0] for sample in samples for o in outputs]
        assume(all(1e-6 < o < 1 - 1e-6 for o in outs))
    varying = set().union(*samples)
    base = {k: v for k, v in _point(spec, {}).items() if k not in varying}
    rng = random.Random(len(spec["nodes"]) * 1000 + len(base))
    for _ in range(2):
        nudged = {k: v * (1 + NUDGE * rng.uniform(-1, 1)) + NUDGE * rng.uniform(-1, 1) for k, v in base.items()}
        try:
            _, moved = evaluate_batch(spec, nudged, of=of)
        except (OverflowError, ValueError, ZeroDivisionError):
            assume(False)
            return
        for name, g in grads.items():
            assume(abs(moved[name] - g) <= NUDGE_REL * abs(g) + NUDGE_ABS)

