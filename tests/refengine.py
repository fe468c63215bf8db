"""Independent reference engine: a test oracle for derivator, not part of it.

A micrograd-style scalar reverse-mode autodiff engine in plain float64. It reads a network
spec (CONTRACT.md section 1, ``nodes`` + ``edges`` form, already parsed into dicts/lists) and
returns the target's value and its derivative with respect to every input, parameter, node
output and node pre-activation (``z_NODE``). It shares no code with derivator and uses no SymPy,
so agreement between the two is evidence, not tautology.

Formula activations and formula losses are not parsed here: the caller supplies them as
``formulas={text: (f, f_prime)}`` with plain float functions (for a loss, ``f(o, y)`` and
``dL/do(o, y)``; the target ``y`` is then treated as a constant).

Layer specs (``inputs`` + ``layers``) are turned into the nodes + edges form by ``expand_layers``,
matrix-valued points into scalar ones by ``expand_point``, and ``evaluate_batch`` averages the
target and its parameter gradients over the samples of ``data:`` (J = (1/m) * sum of the loss).
"""

from __future__ import annotations

import math
from collections.abc import Callable


class Value:
    """A scalar in the computation graph, with its gradient and a closure that propagates it."""

    def __init__(self, data: float, parents: tuple[Value, ...] = ()):
        self.data = float(data)
        self.grad = 0.0
        self._parents = parents
        self._backward: Callable[[], None] = lambda: None

    def __add__(self, other: Value) -> Value:
        out = Value(self.data + other.data, (self, other))

        def _backward() -> None:
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other: Value) -> Value:
        out = Value(self.data * other.data, (self, other))

        def _backward() -> None:
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def apply(self, f: Callable[[float], float], df: Callable[[float], float]) -> Value:
        """A unary function with its derivative, both as float functions."""
        out = Value(f(self.data), (self,))

        def _backward() -> None:
            self.grad += df(self.data) * out.grad
        out._backward = _backward
        return out

    def backward(self) -> None:
        order, seen, stack = [], set(), [(self, False)]
        while stack:  # iterative post-order DFS, so deep nets do not hit the recursion limit
            v, done = stack.pop()
            if done:
                order.append(v)
            elif id(v) not in seen:
                seen.add(id(v))
                stack.append((v, True))
                stack.extend((p, False) for p in v._parents)
        self.grad = 1.0
        for v in reversed(order):
            v._backward()


def const(x: float) -> Value:
    return Value(x)


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _activation(spec: dict, formulas: dict) -> tuple[Callable, Callable]:
    name = spec.get("activation", "identity")
    slope = float(spec.get("slope", 0.01))
    table = {
        "identity": (lambda x: x, lambda x: 1.0),
        "linear": (lambda x: x, lambda x: 1.0),
        "sigmoid": (_sigmoid, lambda x: _sigmoid(x) * (1.0 - _sigmoid(x))),
        "tanh": (math.tanh, lambda x: 1.0 - math.tanh(x) ** 2),
        "relu": (lambda x: x if x > 0 else 0.0, lambda x: 1.0 if x > 0 else 0.0),  # relu'(0) = 0
        "leaky_relu": (lambda x: x if x > 0 else slope * x,
                       lambda x: 1.0 if x > 0 else slope),  # PyTorch: slope at exactly 0
        "softplus": (lambda x: max(x, 0.0) + math.log1p(math.exp(-abs(x))), _sigmoid),
        "exp": (math.exp, math.exp),
    }
    if name in table:
        return table[name]
    if name in formulas:
        return formulas[name]
    raise KeyError(f"unknown activation {name!r}; pass it in formulas=")


def _number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _loss(spec: dict, outs: list[Value], ys: list[Value], formulas: dict) -> Value:
    loss = spec["loss"]
    kind = loss if isinstance(loss, str) else loss.get("type", "formula")
    if kind == "cross_entropy":  # -sum y_i log softmax(o)_i = sum(y) * lse(o) - sum y_i o_i
        m = max(o.data for o in outs)  # a constant shift, for a stable log-sum-exp
        total = const(0.0)
        for o in outs:
            total = total + (o + const(-m)).apply(math.exp, math.exp)
        lse = total.apply(math.log, lambda s: 1.0 / s) + const(m)
        out = const(0.0)
        for o, y in zip(outs, ys, strict=True):
            out = out + y * (lse + o * const(-1.0))
        return out
    out = const(0.0)
    for o, y in zip(outs, ys, strict=True):
        if kind == "formula" or kind in formulas:
            f, df = formulas[loss if isinstance(loss, str) else loss["formula"]]
            term = o.apply(lambda x, f=f, y=y.data: f(x, y),  # bind now: closures run later
                           lambda x, df=df, y=y.data: df(x, y))
        elif kind == "binary_cross_entropy":
            one_minus_o = const(1.0) + o * const(-1.0)
            one_minus_y = const(1.0) + y * const(-1.0)
            log = (math.log, lambda x: 1.0 / x)
            term = (y * o.apply(*log) + one_minus_y * one_minus_o.apply(*log)) * const(-1.0)
        elif kind in ("squared_error", "half_squared_error"):
            d = o + y * const(-1.0)
            term = d * d * const(0.5 if kind == "half_squared_error" else 1.0)
        else:
            raise KeyError(f"unknown loss {kind!r}; pass a formula loss in formulas=")
        out = out + term
    return out


def evaluate(spec: dict, point: dict[str, float], of: str | None = None,
             formulas: dict | None = None) -> tuple[float, dict[str, float]]:
    """Return (target value, {name: d target / d name}) for every input, every parameter name
    (weights and biases that are names), every node name (derivative w.r.t. the node's output)
    and 'z_'+node (w.r.t. its pre-activation)."""
    formulas = formulas or {}
    inputs = spec["inputs"]
    values = {k: v for k, v in inputs.items() if _number(v)} if isinstance(inputs, dict) else {}
    values.update({k: v for k, v in (spec.get("at") or {}).items() if _number(v)})
    values.update(point)
    leaves: dict[str, Value] = {}

    def leaf(name: str) -> Value:
        if name not in leaves:
            if name not in values:
                raise KeyError(f"no value for {name!r}")
            leaves[name] = Value(values[name])
        return leaves[name]

    def operand(x: object) -> Value:
        return const(x) if _number(x) else leaf(x)

    input_names = list(inputs)
    for name in input_names:
        leaf(name)
    nodes = spec["nodes"]
    incoming: dict[str, list] = {v: [] for v in nodes}
    for e in spec["edges"]:
        src, dst, w = (e["from"], e["to"], e["weight"]) if isinstance(e, dict) else e
        incoming[dst].append((src, w))  # KeyError for an edge into an input or unknown node
    z: dict[str, Value] = {}
    o: dict[str, Value] = {name: leaves[name] for name in input_names}

    def build(v: str, path: tuple = ()) -> Value:
        if v in o:
            return o[v]
        if v in path:
            raise ValueError("cycle: " + " -> ".join((*path, v)))
        total = const(0.0)
        for src, w in incoming[v]:
            total = total + operand(w) * build(src, (*path, v))
        if nodes[v].get("bias") is not None:
            total = total + operand(nodes[v]["bias"])
        z[v] = total
        o[v] = total.apply(*_activation(nodes[v], formulas))
        return o[v]

    for v in nodes:
        build(v)
    outputs = spec["output"] if isinstance(spec["output"], list) else [spec["output"]]
    if of is None:
        if "loss" in spec and spec["loss"] is not None:
            of = "loss"
        elif len(outputs) == 1:
            of = outputs[0]
        else:
            raise ValueError("several outputs and no loss: give of=")
    if of == "loss":
        loss = spec["loss"]
        target = loss.get("target") if isinstance(loss, dict) else None
        target = spec.get("target") if target is None else target
        target = target if isinstance(target, list) else [target]
        if len(target) != len(outputs):
            raise ValueError(f"{len(outputs)} outputs but {len(target)} targets")
        ys = [const(t) if _number(t) else const(values[t]) for t in target]  # targets: constants
        result = _loss(spec, [o[n] for n in outputs], ys, formulas)
    else:
        result = z[of[2:]] if of.startswith("z_") and of[2:] in nodes else o[of]
    result.backward()
    grads = {name: v.grad for name, v in leaves.items()}
    grads.update({name: o[name].grad for name in nodes})
    grads.update({"z_" + name: z[name].grad for name in nodes})
    return result.data, grads


# --- layers and batches (CONTRACT section 1, "Layers and batches") ----------------------------

def _input_names(spec: dict) -> list[str]:
    return list(spec["inputs"])  # a list, or a map {name: default}: its keys, in order


def expand_point(at: dict | None) -> dict:
    """Matrix-valued entries become scalar ones: ``W1: [[..], [..]]`` (row j = unit j, column k =
    unit or input k) gives ``W1_j_k``, ``b1: [..]`` gives ``b1_j``, all counted from 1. Scalar
    entries pass through unchanged."""
    out: dict = {}
    for name, value in (at or {}).items():
        if isinstance(value, list):
            for j, row in enumerate(value, start=1):
                if isinstance(row, list):
                    for k, v in enumerate(row, start=1):
                        out[f"{name}_{j}_{k}"] = v
                else:
                    out[f"{name}_{j}"] = row
        else:
            out[name] = value
    return out


def expand_layers(spec: dict) -> dict:
    """A ``layers:`` spec in the ``nodes`` + ``edges`` form that :func:`evaluate` reads.

    Layer ``l`` (from 1) has nodes ``a{l}_{j}``, biases ``b{l}_{j}`` (none with ``bias: false``) and
    weights ``W{l}_{j}_{k}`` from unit ``k`` of layer ``l-1`` (or input ``k``, in the order of
    ``inputs``) to unit ``j``. The output is the last layer's node, or the list of its nodes when it
    has several units. ``at`` is expanded with :func:`expand_point`; other keys (``loss``,
    ``target``, ``data``, ``description``) are kept. A spec without ``layers`` is returned as is."""
    if "layers" not in spec:
        return spec
    previous = _input_names(spec)
    nodes: dict[str, dict] = {}
    edges: list[list] = []
    for l, layer in enumerate(spec["layers"], start=1):
        units = int(layer["units"])
        if units < 1:
            raise ValueError(f"layer {l} has {units} units")
        current = []
        for j in range(1, units + 1):
            name = f"a{l}_{j}"
            body = {"activation": layer.get("activation", "identity")}
            if "slope" in layer:
                body["slope"] = layer["slope"]
            if layer.get("bias", True):
                body["bias"] = f"b{l}_{j}"
            nodes[name] = body
            edges += [[src, name, f"W{l}_{j}_{k}"] for k, src in enumerate(previous, start=1)]
            current.append(name)
        previous = current
    out = {key: value for key, value in spec.items() if key != "layers"}
    out.update(nodes=nodes, edges=edges, output=previous if len(previous) > 1 else previous[0])
    if "at" in spec:
        out["at"] = expand_point(spec["at"])
    return out


def evaluate_batch(spec: dict, point: dict, of: str | None = None,
                   formulas: dict | None = None) -> tuple[float, dict[str, float]]:
    """Like :func:`evaluate`, for a spec with ``data:`` (``layers`` or ``nodes`` form): the target is
    J = (1/m) * sum over the m samples of the per-sample target, where each sample's map gives that
    sample's input and target values (over ``at`` and ``point``). Returns (J, {name: dJ/dname}) for
    every name that is not given by the samples, that is parameters and any input or target fixed
    across the batch; node and ``z_`` derivatives are per sample and left out. ``point`` may hold
    matrix values (expanded like ``at``). Without ``data`` this is :func:`evaluate` itself."""
    spec = expand_layers(spec)
    point = expand_point(point)
    data = spec.get("data")
    if not data:
        return evaluate(spec, point, of=of, formulas=formulas)
    total, grads = 0.0, {}
    varying = set().union(*(sample.keys() for sample in data))
    for sample in data:
        value, g = evaluate(spec, {**point, **sample}, of=of, formulas=formulas)
        total += value
        for name, d in g.items():
            if name in spec["nodes"] or name.startswith("z_") or name in varying:
                continue
            grads[name] = grads.get(name, 0.0) + d
    m = len(data)
    return total / m, {name: d / m for name, d in grads.items()}
