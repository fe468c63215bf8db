"""Independent reference engine: a test oracle for derivator, not part of it.

A micrograd-style scalar reverse-mode autodiff engine in plain float64. It reads a network
spec (CONTRACT.md sections 1 and 4, ``nodes`` + ``edges`` form, already parsed into dicts/lists) and
returns the target's value and its derivative with respect to every input, parameter, node
output and neuron pre-activation (``z_NODE``). It shares no code with derivator and uses no SymPy,
so agreement between the two is evidence, not tautology.

Formulas (formula activations in ``x``, formula losses in ``o`` and ``y``, formula nodes, ``penalty:``)
are read by the small recursive-descent parser below (``parse_formula``), which builds a syntax tree
of tuples and never evaluates the text. Callers may still pass ``formulas={text: (f, f_prime)}`` with
plain float functions for an activation or a loss (for a loss, ``f(o, y)`` and ``dL/do(o, y)``); a
text found there is taken from it instead of being parsed.

Section 4: a node ``{formula: "..."}`` is a local function of the inputs and nodes it names; its
other names are parameters (declared in ``parameters:``, a list or a map of defaults, or weights and
biases used elsewhere). It has no ``z_NODE``; its entry in the gradients is d target / d NODE.
``max``/``min`` send the derivative to the first argument attaining the extremum; relu'(0) =
abs'(0) = 0. ``penalty:`` (a formula in parameters) and ``regularization: {l2: λ, l1: μ}`` (adding
(λ/2) Σ w² + μ Σ |w| over the distinct parameters used as edge weights) are added once to the
target, after the reduction over samples: they apply when the target is the loss, or, in a file
without a loss, an output node.

Section 5: nodes with ``activation: softmax`` and the same ``group:`` (one default group) share one
softmax, p_j = exp(z_j) / Σ_k exp(z_k) over their pre-activations, computed with the largest z shifted
out; a softmax layer is one group. ``categorical_cross_entropy`` is -Σ y_i log o_i, with log p_j taken
as z_j - log Σ exp(z_k) for a softmax unit, so that logits of ±1000 stay finite.

Layer specs (``inputs`` + ``layers``) are turned into the nodes + edges form by ``expand_layers``,
matrix-valued points into scalar ones by ``expand_point``, and ``evaluate_batch`` reduces the
target and its parameter gradients over the samples of ``data:`` (``loss.reduction``: ``mean``, the
default, J = (1/m) Σ loss; ``sum``, J = Σ loss).

``kinks=[]`` passed to ``evaluate`` or ``evaluate_batch`` collects ``(where, margin)`` for every
relu, leaky relu, abs, max and min met: the distance of its argument from the kink (for max/min, of
the winner from the nearest other argument), so that property tests can keep away from them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from functools import lru_cache


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

    def __neg__(self) -> Value:
        return self * const(-1.0)

    def __sub__(self, other: Value) -> Value:
        return self + -other

    def __truediv__(self, other: Value) -> Value:
        out = Value(self.data / other.data, (self, other))  # ZeroDivisionError at b = 0

        def _backward() -> None:
            self.grad += out.grad / other.data
            other.grad -= out.grad * self.data / (other.data * other.data)
        out._backward = _backward
        return out

    def __pow__(self, other: Value) -> Value:
        a, b = self.data, other.data
        result = a ** b
        if isinstance(result, complex):
            raise ValueError(f"{a!r} ** {b!r} is not real")
        out = Value(result, (self, other))

        def _backward() -> None:
            self.grad += out.grad * (b * a ** (b - 1) if b != 0 else 0.0)
            if a > 0:  # d(a^b)/db = a^b log a; for a <= 0 only a constant exponent makes sense
                other.grad += out.grad * result * math.log(a)
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


def extremum(args: list[Value], pick: Callable) -> Value:
    """max or min of two or more values; the derivative goes to the first argument attaining it."""
    best = pick(a.data for a in args)
    winner = next(a for a in args if a.data == best)
    out = Value(best, tuple(args))

    def _backward() -> None:
        winner.grad += out.grad
    out._backward = _backward
    return out


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _softplus(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _sign(x: float) -> float:
    return 1.0 if x > 0 else -1.0 if x < 0 else 0.0  # abs'(0) = 0


# --- the formula language (CONTRACT sections 1 and 4) ------------------------------------------

FUNCTIONS: dict[str, tuple[Callable[[float], float], Callable[[float], float]]] = {
    "exp": (math.exp, math.exp),
    "log": (math.log, lambda x: 1.0 / x),
    "sqrt": (math.sqrt, lambda x: 0.5 / math.sqrt(x)),
    "abs": (abs, _sign),
    "tanh": (math.tanh, lambda x: 1.0 - math.tanh(x) ** 2),
    "sigmoid": (_sigmoid, lambda x: _sigmoid(x) * (1.0 - _sigmoid(x))),
    "relu": (lambda x: x if x > 0 else 0.0, lambda x: 1.0 if x > 0 else 0.0),  # relu'(0) = 0
    "softplus": (_softplus, _sigmoid),
    "sin": (math.sin, math.cos),
    "cos": (math.cos, lambda x: -math.sin(x)),
}
EXTREMA = {"max": max, "min": min}
KINKED_FUNCTIONS = {"abs", "relu"}
_TOKEN = re.compile(r"(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z][A-Za-z0-9_]*)"
                    r"|(?P<op>\*\*|[-+*/^(),])")


class FormulaError(ValueError):
    """A formula that is not in the language; ``col`` is the 1-based column in its text."""

    def __init__(self, message: str, col: int):
        super().__init__(f"column {col}: {message}")
        self.col = col


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out, i = [], 0
    while True:
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        if i == len(text):
            out.append(("end", "", i + 1))
            return out
        m = _TOKEN.match(text, i)
        if m is None:
            raise FormulaError(f"unexpected character {text[i]!r}", i + 1)
        out.append((m.lastgroup, m.group(), i + 1))
        i = m.end()


class _Parser:
    """Recursive descent, with Python's precedence:

        expr  := term (("+" | "-") term)*
        term  := unary (("*" | "/") unary)*
        unary := ("+" | "-") unary | power             so -x**2 is -(x**2)
        power := atom (("**" | "^") unary)?            right-associative: 2^3^2 = 2^9
        atom  := NUMBER | NAME | FUNCTION "(" expr ("," expr)* ")" | "(" expr ")"

    Trees are tuples: ("num", v), ("name", name, col), ("neg", a), ("bin", op, a, b),
    ("call", function, (args...), col)."""

    def __init__(self, text: str):
        self.tokens = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.i]

    def take(self) -> tuple[str, str, int]:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def expect(self, op: str) -> None:
        kind, text, col = self.take()
        if text != op or kind != "op":
            raise FormulaError(f"expected {op!r}, found {text or 'the end'!r}", col)

    def whole(self) -> tuple:
        tree = self.expr()
        kind, text, col = self.peek()
        if kind != "end":
            raise FormulaError(f"unexpected {text!r}", col)
        return tree

    def expr(self) -> tuple:
        tree = self.term()
        while self.peek()[0] == "op" and self.peek()[1] in "+-":
            op = self.take()[1]
            tree = ("bin", op, tree, self.term())
        return tree

    def term(self) -> tuple:
        tree = self.unary()
        while self.peek()[0] == "op" and self.peek()[1] in ("*", "/"):
            op = self.take()[1]
            tree = ("bin", op, tree, self.unary())
        return tree

    def unary(self) -> tuple:
        if self.peek()[0] == "op" and self.peek()[1] in "+-":
            op = self.take()[1]
            operand = self.unary()
            return ("neg", operand) if op == "-" else operand
        return self.power()

    def power(self) -> tuple:
        base = self.atom()
        if self.peek()[0] == "op" and self.peek()[1] in ("**", "^"):
            self.take()
            return ("bin", "**", base, self.unary())
        return base

    def atom(self) -> tuple:
        kind, text, col = self.take()
        if kind == "num":
            return ("num", float(text))
        if kind == "name":
            called = self.peek()[1] == "(" and self.peek()[0] == "op"
            if text in FUNCTIONS or text in EXTREMA:
                if not called:
                    raise FormulaError(f"function {text!r} needs its arguments in parentheses", col)
                self.take()
                args = [self.expr()]
                while self.peek()[1] == "," and self.peek()[0] == "op":
                    self.take()
                    args.append(self.expr())
                self.expect(")")
                if text in FUNCTIONS and len(args) != 1:
                    raise FormulaError(f"{text} takes one argument, not {len(args)}", col)
                if text in EXTREMA and len(args) < 2:
                    raise FormulaError(f"{text} takes two or more arguments", col)
                return ("call", text, tuple(args), col)
            if called:
                raise FormulaError(f"unknown function {text!r}", col)
            return ("name", text, col)
        if kind == "op" and text == "(":
            tree = self.expr()
            self.expect(")")
            return tree
        raise FormulaError(f"unexpected {text or 'end of formula'!r}", col)


@lru_cache(maxsize=4096)
def parse_formula(text: str) -> tuple:
    """The syntax tree of a formula (tuples, see ``_Parser``); FormulaError if it is not one."""
    if not isinstance(text, str):
        raise FormulaError(f"a formula is a string, not {type(text).__name__}", 1)
    return _Parser(text).whole()


def formula_names(text_or_tree: str | tuple) -> list[str]:
    """The names a formula uses (not its functions), in order of first appearance."""
    tree = parse_formula(text_or_tree) if isinstance(text_or_tree, str) else text_or_tree
    out: list[str] = []
    stack = [tree]
    while stack:
        t = stack.pop()
        if t[0] == "name":
            if t[1] not in out:
                out.append(t[1])
        elif t[0] == "neg":
            stack.append(t[1])
        elif t[0] == "bin":
            stack += [t[3], t[2]]
        elif t[0] == "call":
            stack += reversed(t[2])
    return out


def build_formula(tree: tuple, env: Callable[[str], Value], kinks: list | None = None,
                  where: str = "formula") -> Value:
    """The formula's Value, with ``env(name)`` giving each name's Value."""
    tag = tree[0]
    if tag == "num":
        return const(tree[1])
    if tag == "name":
        return env(tree[1])
    if tag == "neg":
        return -build_formula(tree[1], env, kinks, where)
    if tag == "bin":
        a = build_formula(tree[2], env, kinks, where)
        b = build_formula(tree[3], env, kinks, where)
        return {"+": Value.__add__, "-": Value.__sub__, "*": Value.__mul__, "/": Value.__truediv__,
                "**": Value.__pow__}[tree[1]](a, b)
    name, args = tree[1], [build_formula(a, env, kinks, where) for a in tree[2]]
    if name in EXTREMA:
        out = extremum(args, EXTREMA[name])
        if kinks is not None:
            others = [a.data for a in args]
            others.remove(out.data)
            kinks.append((f"{name} in {where}", min(abs(out.data - v) for v in others)))
        return out
    if kinks is not None and name in KINKED_FUNCTIONS:
        kinks.append((f"{name} in {where}", abs(args[0].data)))
    return args[0].apply(*FUNCTIONS[name])


def formula_value(text: str, values: dict[str, float]) -> tuple[float, dict[str, float]]:
    """A formula at a point: (value, {name: d value / d name}) for every name it uses."""
    leaves = {name: Value(values[name]) for name in formula_names(text)}
    out = build_formula(parse_formula(text), leaves.__getitem__)
    out.backward()
    return out.data, {name: v.grad for name, v in leaves.items()}


# --- networks (CONTRACT sections 1 and 4) -------------------------------------------------------

def _activation(spec: dict, formulas: dict) -> tuple[Callable, Callable] | tuple:
    """(f, f') for a built-in activation or one given in ``formulas``, else the parsed formula's tree
    (a 1-tuple) in ``x``."""
    name = spec.get("activation", "identity")
    slope = float(spec.get("slope", 0.01))
    table = {
        "identity": (lambda x: x, lambda x: 1.0),
        "linear": (lambda x: x, lambda x: 1.0),
        "sigmoid": FUNCTIONS["sigmoid"],
        "tanh": FUNCTIONS["tanh"],
        "relu": FUNCTIONS["relu"],
        "leaky_relu": (lambda x: x if x > 0 else slope * x,
                       lambda x: 1.0 if x > 0 else slope),  # PyTorch: slope at exactly 0
        "softplus": FUNCTIONS["softplus"],
        "exp": FUNCTIONS["exp"],
    }
    if name in table:
        return table[name]
    if name in formulas:
        return formulas[name]
    tree = parse_formula(name)
    unknown = [n for n in formula_names(tree) if n != "x"]
    if unknown:
        raise KeyError(f"unknown name {unknown[0]!r} in the activation {name!r} (a formula in x)")
    return (tree,)


def _number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _edges(spec: dict) -> list[tuple]:
    """(from, to, weight) for each edge; ``edges:`` may be absent when no neuron needs one."""
    return [(e["from"], e["to"], e["weight"]) if isinstance(e, dict) else tuple(e)
            for e in spec.get("edges") or []]


def _outputs(spec: dict) -> list[str]:
    return spec["output"] if isinstance(spec["output"], list) else [spec["output"]]


def _has_loss(spec: dict) -> bool:
    return spec.get("loss") is not None


def _resolve_of(spec: dict, of: str | None) -> str:
    if of is not None:
        return of
    if _has_loss(spec):
        return "loss"
    if len(_outputs(spec)) == 1:
        return _outputs(spec)[0]
    raise ValueError("several outputs and no loss: give of=")


def _penalized(spec: dict, of: str) -> bool:
    """Penalties go on the objective: the loss, or an output node in a file without a loss."""
    return of == "loss" if _has_loss(spec) else of in _outputs(spec)


def _declared_parameters(spec: dict) -> list[str]:
    return list(spec.get("parameters") or [])  # a list, or a map {name: default}: its keys


def edge_weight_parameters(spec: dict) -> list[str]:
    """Every distinct parameter (a name, not a number) used as an edge weight, in order of use."""
    out: list[str] = []
    for _, _, w in _edges(spec):
        if not _number(w) and w not in out:
            out.append(w)
    return out


def parameter_names(spec: dict) -> set[str]:
    """The names a formula node or a penalty may use besides inputs and nodes."""
    biases = {b["bias"] for b in spec["nodes"].values() if not _number(b.get("bias", 0))}
    return set(_declared_parameters(spec)) | set(edge_weight_parameters(spec)) | biases


def _point(spec: dict, point: dict) -> dict[str, float]:
    """Defaults from ``inputs`` and ``parameters`` maps, then ``at``, then ``point``."""
    values: dict[str, float] = {}
    for section in ("inputs", "parameters"):
        given = spec.get(section)
        if isinstance(given, dict):
            values.update({k: v for k, v in given.items() if _number(v)})
    values.update({k: v for k, v in (spec.get("at") or {}).items() if _number(v)})
    values.update(point)
    return values


class _Leaves(dict):
    """name -> leaf Value, created on first use from the point's values."""

    def __init__(self, values: dict[str, float]):
        super().__init__()
        self.values = values

    def __call__(self, name: str) -> Value:
        if name not in self:
            if name not in self.values:
                raise KeyError(f"no value for {name!r}")
            self[name] = Value(self.values[name])
        return self[name]


def _penalty(spec: dict, leaf: _Leaves, kinks: list | None) -> Value | None:
    """``penalty:`` plus ``regularization:``, or None when the file has neither."""
    terms: list[Value] = []
    allowed = parameter_names(spec)
    if spec.get("penalty") is not None:
        def env(name: str) -> Value:
            if name not in allowed:
                raise KeyError(f"unknown name {name!r} in the penalty (a formula in parameters)")
            return leaf(name)
        terms.append(build_formula(parse_formula(spec["penalty"]), env, kinks, "penalty"))
    regularization = spec.get("regularization") or {}
    unknown = set(regularization) - {"l1", "l2"}
    if unknown:
        raise KeyError(f"unknown regularization {sorted(unknown)}")
    weights = [leaf(w) for w in edge_weight_parameters(spec)]
    if "l2" in regularization:
        total = const(0.0)
        for w in weights:
            total = total + w * w
        terms.append(const(float(regularization["l2"]) / 2) * total)
    if "l1" in regularization:
        total = const(0.0)
        for w in weights:
            if kinks is not None:
                kinks.append(("l1", abs(w.data)))
            total = total + w.apply(*FUNCTIONS["abs"])
        terms.append(const(float(regularization["l1"])) * total)
    if not terms:
        return None
    out = terms[0]
    for t in terms[1:]:
        out = out + t
    return out


def _log_of(p: Value, log_p: Value) -> Value:
    """log p with the value of log_p (finite where p underflows to 0): the derivative flows to p as 1/p,
    or, where p is 0, along log_p's own graph through the z's (the same for every z and parameter)."""
    via = p if p.data > 0 else log_p
    out = Value(log_p.data, (via,))

    def _backward() -> None:
        via.grad += out.grad / p.data if p.data > 0 else out.grad
    out._backward = _backward
    return out


def _loss(spec: dict, outs: list[Value], ys: list[Value], formulas: dict, logs: list | None = None) -> Value:
    loss = spec["loss"]
    kind = loss if isinstance(loss, str) else loss.get("type", "formula")
    if kind == "categorical_cross_entropy":  # -Σ y_i log o_i, with log p from the softmax where it is one
        out = const(0.0)
        for o, y, lp in zip(outs, ys, logs or [None] * len(outs), strict=True):
            out = out - y * (_log_of(o, lp) if lp is not None else o.apply(math.log, lambda x: 1.0 / x))
        return out
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
            text = loss if isinstance(loss, str) else loss["formula"]
            if text in formulas:
                f, df = formulas[text]
                term = o.apply(lambda x, f=f, y=y.data: f(x, y),  # bind now: closures run later
                               lambda x, df=df, y=y.data: df(x, y))
            else:
                env = {"o": o, "y": y}

                def lookup(name: str, env: dict = env, text: str = text) -> Value:
                    if name not in env:
                        raise KeyError(f"unknown name {name!r} in the loss {text!r} (a formula in o and y)")
                    return env[name]
                term = build_formula(parse_formula(text), lookup, where="loss")
        elif kind == "binary_cross_entropy":
            one_minus_o = const(1.0) + o * const(-1.0)
            one_minus_y = const(1.0) + y * const(-1.0)
            log = (math.log, lambda x: 1.0 / x)
            term = (y * o.apply(*log) + one_minus_y * one_minus_o.apply(*log)) * const(-1.0)
        elif kind in ("squared_error", "half_squared_error"):
            d = o + y * const(-1.0)
            term = d * d * const(0.5 if kind == "half_squared_error" else 1.0)
        else:
            raise KeyError(f"unknown loss {kind!r}")
        out = out + term
    return out


def evaluate(spec: dict, point: dict[str, float], of: str | None = None,
             formulas: dict | None = None, *, with_penalty: bool = True,
             kinks: list | None = None) -> tuple[float, dict[str, float]]:
    """Return (target value, {name: d target / d name}) for every input, every parameter name
    (weights, biases and formula parameters), every node name (derivative w.r.t. the node's output)
    and 'z_'+neuron (w.r.t. its pre-activation; formula nodes have none). The penalty and the
    regularization are included (when the target is the objective) unless ``with_penalty=False``."""
    formulas = formulas or {}
    leaf = _Leaves(_point(spec, point))
    input_names = list(spec["inputs"])
    for name in input_names:
        leaf(name)
    nodes = spec["nodes"]
    trees: dict[str, tuple] = {}
    for v, body in nodes.items():
        if "formula" in body:
            extra = sorted(set(body) - {"formula"})
            if extra:
                raise ValueError(f"formula node {v!r} takes no {extra[0]!r}")
            trees[v] = parse_formula(body["formula"])
    incoming: dict[str, list] = {v: [] for v in nodes}
    for src, dst, w in _edges(spec):
        if dst in trees:
            raise ValueError(f"an edge into the formula node {dst!r}")
        incoming[dst].append((src, w))  # KeyError for an edge into an input or unknown node
    allowed = parameter_names(spec)
    z: dict[str, Value] = {}
    o: dict[str, Value] = {name: leaf[name] for name in input_names}
    logs: dict[str, Value] = {}  # log p of each softmax unit, computed without taking log of p

    def operand(x: object) -> Value:
        return const(x) if _number(x) else leaf(x)

    def weighted_sum(v: str, path: tuple) -> Value:
        total = const(0.0)
        for src, w in incoming[v]:
            total = total + operand(w) * build(src, (*path, v))
        if nodes[v].get("bias") is not None:
            total = total + operand(nodes[v]["bias"])
        z[v] = total
        return total

    def softmax_group(v: str, path: tuple) -> Value:
        """Every member of v's group (same ``group:``, default one group): p_j = exp(z_j - m) / Σ exp(z_k - m)
        with m the largest z, a constant shift; log p_j = z_j - m - log Σ exp(z_k - m) is kept for the loss."""
        name = nodes[v].get("group", "softmax")
        members = [n for n, b in nodes.items()
                   if b.get("activation") == "softmax" and b.get("group", "softmax") == name]
        zs = [weighted_sum(m, (*path, v)) for m in members]
        top = max(t.data for t in zs)
        shifted = [t + const(-top) for t in zs]
        exps = [t.apply(math.exp, math.exp) for t in shifted]
        total = const(0.0)
        for e in exps:
            total = total + e
        log_total = total.apply(math.log, lambda x: 1.0 / x)
        for m, t, e in zip(members, shifted, exps, strict=True):
            o[m] = e / total
            logs[m] = t - log_total
        return o[v]

    def build(v: str, path: tuple = ()) -> Value:
        if v in o:
            return o[v]
        if v in path:
            raise ValueError("cycle: " + " -> ".join((*path, v)))
        if v in trees:
            def env(name: str) -> Value:
                if name in o or name in nodes:
                    return build(name, (*path, v))
                if name in allowed:
                    return leaf(name)
                raise KeyError(f"unknown name {name!r} in the formula of node {v!r}")
            # A node of its own even when the formula is a bare name (q = x): its gradient is not x's.
            o[v] = build_formula(trees[v], env, kinks, v).apply(lambda t: t, lambda t: 1.0)
            return o[v]
        if nodes[v].get("activation") == "softmax":
            return softmax_group(v, path)
        total = weighted_sum(v, path)
        activation = _activation(nodes[v], formulas)
        if len(activation) == 1:
            o[v] = build_formula(activation[0], {"x": total}.__getitem__, kinks, v).apply(lambda t: t, lambda t: 1.0)
        else:
            if kinks is not None and nodes[v].get("activation") in ("relu", "leaky_relu"):
                kinks.append((f"{nodes[v]['activation']} of {v}", abs(total.data)))
            o[v] = total.apply(*activation)
        return o[v]

    for v in nodes:
        build(v)
    outputs = _outputs(spec)
    of = _resolve_of(spec, of)
    if of == "loss":
        loss = spec["loss"]
        target = loss.get("target") if isinstance(loss, dict) else None
        target = spec.get("target") if target is None else target
        target = target if isinstance(target, list) else [target]
        if len(target) != len(outputs):
            raise ValueError(f"{len(outputs)} outputs but {len(target)} targets")
        ys = [const(t) if _number(t) else const(leaf.values[t]) for t in target]  # targets: constants
        result = _loss(spec, [o[n] for n in outputs], ys, formulas, [logs.get(n) for n in outputs])
    elif of.startswith("z_") and of[2:] in z:
        result = z[of[2:]]
    elif of.startswith("z_") and of[2:] in trees:
        raise KeyError(f"{of!r}: the formula node {of[2:]!r} has no pre-activation")
    else:
        result = o[of]
    if with_penalty and _penalized(spec, of):
        penalty = _penalty(spec, leaf, kinks)
        result = result if penalty is None else result + penalty
    result.backward()
    grads = {name: v.grad for name, v in leaf.items()}
    grads.update({name: o[name].grad for name in nodes})
    grads.update({"z_" + name: z[name].grad for name in z})
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
    from refconv import expand_grids, has_grids
    if has_grids(spec):  # CONTRACT section 7: conv and pool layers, expanded by the test's own code
        return expand_grids(spec)
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
            if body["activation"] == "softmax":
                body["group"] = f"layer {l}"  # a softmax layer is one group
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


def _reduction(spec: dict) -> str:
    loss = spec.get("loss")
    reduction = loss.get("reduction", "mean") if isinstance(loss, dict) else "mean"
    if reduction not in ("mean", "sum"):
        raise ValueError(f"unknown reduction {reduction!r}")
    return reduction


def evaluate_batch(spec: dict, point: dict, of: str | None = None, formulas: dict | None = None, *,
                   kinks: list | None = None) -> tuple[float, dict[str, float]]:
    """Like :func:`evaluate`, for a spec with ``data:`` (``layers`` or ``nodes`` form): the target is
    J = (1/m) * sum over the m samples of the per-sample target (``reduction: sum``: the sum alone),
    where each sample's map gives that sample's input and target values (over ``at`` and ``point``),
    plus the penalty and the regularization once. Returns (J, {name: dJ/dname}) for every name that
    is not given by the samples, that is parameters and any input or target fixed across the batch;
    node and ``z_`` derivatives are per sample and left out. ``point`` may hold matrix values
    (expanded like ``at``). Without ``data`` this is :func:`evaluate` itself. A spec with ``steps:``
    (CONTRACT section 6) is unrolled first, by ``refunroll``, names ``h@t`` in and out."""
    if "steps" in spec:
        from refunroll import evaluate_through_time
        return evaluate_through_time(spec, point, of, formulas, kinks, evaluate_batch)
    from refbatch import evaluate_batch_norm, wanted
    if wanted(spec):  # CONTRACT section 7: the samples coupled, as one network (refbatch.py)
        return evaluate_batch_norm(spec, expand_point(point), of, formulas, kinks, evaluate)
    spec = expand_layers(spec)
    point = expand_point(point)
    data = spec.get("data")
    if not data:
        return evaluate(spec, point, of=of, formulas=formulas, kinks=kinks)
    of = _resolve_of(spec, of)
    total, grads = 0.0, {}
    varying = set().union(*(sample.keys() for sample in data))
    for sample in data:
        value, g = evaluate(spec, {**point, **sample}, of=of, formulas=formulas, with_penalty=False,
                            kinks=kinks)
        total += value
        for name, d in g.items():
            if name in spec["nodes"] or name.startswith("z_") or name in varying:
                continue
            grads[name] = grads.get(name, 0.0) + d
    scale = 1.0 / len(data) if _reduction(spec) == "mean" else 1.0
    total, grads = total * scale, {name: d * scale for name, d in grads.items()}
    if _penalized(spec, of):
        leaf = _Leaves(_point(spec, point))
        penalty = _penalty(spec, leaf, kinks)
        if penalty is not None:
            penalty.backward()
            total += penalty.data
            for name, v in leaf.items():
                grads[name] = grads.get(name, 0.0) + v.grad
    return total, grads
