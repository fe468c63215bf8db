"""The matrix form over a batch (story 3): dZ[L], dZ[l] = (W[l+1]ᵀ dZ[l+1]) ⊙ g'(Z[l]), dW, db.

Column s of every matrix is sample s. `dZ[l]` is one sample's ∂L/∂Z[l] per column, before the
average, so the 1/m appears once, where the parameters' gradients sum over the samples:

    dW[l] = (1/m) dZ[l] A[l-1]ᵀ        db[l] = (1/m) Σₛ dZ[l]

The equations are symbolic (`Eq` of tokens, printed by each renderer); the values are computed
by this matrix recursion in mpmath and then compared with the element-by-element derivatives of
the scalar engine, two routes to the same numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import mpmath
import sympy

from derivator.answers.display import Displayed
from derivator.answers.gradient import gradient
from derivator.errors import DerivatorError, unknown
from derivator.graph.network import Network, symbol
from derivator.graph.plan import plan
from derivator.graph.rules import LOSS_O, LOSS_Y, X
from derivator.numbers import checking
from derivator.numbers.evaluate import value
from derivator.numbers.penalty import penalty_gradient
from derivator.numbers.sweep import OUT, PRE, unary
from derivator.symbolic.derive import derive

DIGITS = 60  # the matrix recursion's precision; a sigmoid saturates float64 long before this
WHOLE = re.compile(r"([Wb])(\d+)\Z")


@dataclass(frozen=True)
class Mat:
    """A matrix of the batch: W[l], b[l], Z[l], A[l], dZ[l], dA[l], Y or P, maybe transposed."""

    letter: str
    layer: int | None = None
    t: bool = False


@dataclass(frozen=True)
class Op:
    """An operator or bracket, written differently in text and in LaTeX."""

    text: str
    latex: str


@dataclass(frozen=True)
class Elementwise:
    """A formula applied entry by entry, in the matrices' symbols (sigmoid' = A ⊙ (1 - A))."""

    expr: sympy.Expr


Token = Mat | Op | Elementwise
HADAMARD = Op(" ⊙ ", r" \odot ")
PLUS, MINUS = Op(" + ", " + "), Op(" - ", " - ")
OPEN, CLOSE = Op("(", r"\left("), Op(")", r"\right)")
AVERAGE = Op("(1/m) ", r"\frac{1}{m} ")
SUM = Op("Σₛ ", r"\sum_{s=1}^{m} ")


@dataclass
class Eq:
    lhs: list[Token]
    rhs: list[Token]
    note: str = ""


@dataclass
class MatrixForm(Displayed):
    """`--matrix`: the derivation of a whole W[l] or b[l], its values, and their comparison."""

    name: str  # W2 or b1
    layer: int
    entries: list[list[str]]  # the entries' names, laid out like the matrix
    forward: list[Eq]
    backward: list[Eq]
    result: Eq
    why: list[tuple[str, str]]  # the sentences that answer story 3, as text and as LaTeX
    loss: str  # J = (1/m) Σₛ L(...), in words
    values: list[list[float]]  # by the matrix recursion
    elementwise: list[list[float]]  # by the scalar engine, entry by entry
    agrees: bool
    largest_difference: float  # the largest relative difference between the two
    samples: int
    point: dict[str, float]
    checks: list[checking.Check] = field(default_factory=list)  # with --check, each entry's

    @property
    def shape(self) -> list[int]:
        return [len(self.entries), len(self.entries[0])]

    @property
    def failed(self) -> bool:
        return not self.agrees or any(not c.agrees for c in self.checks)



def whole(net: Network, name: str) -> list[list[str]] | None:
    """The entries of a whole matrix named like W2 or b1, or None if `name` is not one."""
    return net.matrices().get(name) if net.layers and WHOLE.match(name) else None


def matrix_form(net: Network, name: str, at: dict[str, float] | None = None, check: bool = False,
                tolerance: float = checking.RELATIVE_TOLERANCE) -> MatrixForm:
    """Derive d J / d W[l] (or b[l]) in matrix form, compute it, and compare it entry by entry."""
    if not net.layers:
        raise DerivatorError("--matrix needs a 'layers:' file (dense layers, with W1, b1, ... as matrices)")
    entries = whole(net, name)
    if entries is None:
        raise DerivatorError("--matrix: " + unknown("matrix", name, list(net.matrices())) +
                             "; --matrix derives a whole W{l} or b{l}")
    if net.loss is None:
        raise DerivatorError("--matrix derives a loss; this file has none")
    layer = int(WHOLE.match(name).group(2))
    values = checking.point(net, at)
    checking.require(derive(net, entries[0][0], "loss"), values)
    # The other route: the scalar delta recursion over the graph, every entry from one sweep.
    scalar = gradient(net, [e for row in entries for e in row], "loss", values, check, tolerance, name, entries)
    computed = _values(net, values, name[0], layer)
    errors = [checking.close(a, s, tolerance) for ra, rs in zip(computed, scalar.values, strict=True)
              for a, s in zip(ra, rs, strict=True)]
    checks = [r.check for r in scalar.rows] if check else []
    samples = len(net.samples) or 1
    return MatrixForm(name, layer, entries, _forward(net), _backward(net, layer), _result(net, name[0], layer),
                      _why(net, name[0], layer), loss_line(net), computed, scalar.values, all(ok for ok, _ in errors),
                      max(rel for _, rel in errors), samples, {k: v for k, v in values.items() if k in net.params},
                      checks)


# -- the equations -------------------------------------------------------------------------------

def _activation_expr(net: Network, layer: int) -> Elementwise:
    act = net.layers[layer - 1].activation
    return Elementwise(act.f(_sym("Z", layer)))


def _sym(letter: str, layer: int | None = None) -> sympy.Symbol:
    """The symbol standing for a whole matrix inside an elementwise formula."""
    return sympy.Symbol(f"{letter}[{layer}]" if layer is not None else letter, real=True)


def _forward(net: Network) -> list[Eq]:
    eqs = []
    for layer in net.layers:
        n = layer.index
        z = [Mat("W", n), Mat("A", n - 1)] + ([PLUS, Mat("b", n)] if layer.bias else [])
        eqs.append(Eq([Mat("Z", n)], z))
        eqs.append(Eq([Mat("A", n)], [_activation_expr(net, n)]))
    return eqs


def _prime(net: Network, layer: int) -> sympy.Expr:
    """g'(Z[l]) written with the layer's outputs A[l] where the rule allows (A ⊙ (1 - A))."""
    return net.layers[layer - 1].activation.prime(_sym("A", layer), _sym("Z", layer))


def _output_delta(net: Network) -> list[Eq]:
    """dZ[L]: A[L] - Y when the loss and activation cancel, P - Y for softmax, else dA[L] ⊙ g'(Z[L])."""
    last = len(net.layers)
    act = net.layers[-1].activation
    loss = net.loss
    a, y = _sym("A", last), _sym("Y")
    fused, grad, note = _output_rule(net, a, y)
    if fused is not None:
        return [Eq([Mat("dZ", last)], [Elementwise(fused)], note)]
    if loss.rule is None:  # softmax cross-entropy over the output layer's values
        eqs = [Eq([Mat("P")], [Op("softmax(", r"\operatorname{softmax}\left("), Mat("A", last), CLOSE],
                  "the softmax of each column")]
        grad = [Mat("P"), MINUS, Mat("Y")]
        if act.name == "identity":
            return [*eqs, Eq([Mat("dZ", last)], grad, "softmax with cross-entropy: the identity output passes it on")]
        return [*eqs, Eq([Mat("dZ", last)], [OPEN, *grad, CLOSE, HADAMARD, *_factor(_prime(net, last))])]
    eqs = [Eq([Mat("dA", last)], [Elementwise(grad)], f"∂L/∂A[{last}] of the {_loss_name(loss.type)}")]
    prime = _prime(net, last)
    if prime == 1:
        return [*eqs, Eq([Mat("dZ", last)], [Mat("dA", last)], "the identity output passes it on")]
    return [*eqs, Eq([Mat("dZ", last)], [Mat("dA", last), HADAMARD, *_factor(prime)])]


def _output_rule(net: Network, o: sympy.Symbol, y: sympy.Symbol) -> tuple[sympy.Expr | None, sympy.Expr | None, str]:
    """The output layer's delta as the backward plan decides it for one output unit, written in `o` and `y`:
    the fused form where the loss and activation cancel, else the loss's derivative (None for softmax)."""
    p = plan(net, "loss")
    unit, target = net.outputs[0], net.loss.targets[0]
    swap = {symbol(unit): o, target: y}
    if unit in p.fused:
        return p.fused[unit].xreplace(swap), None, p.notes[unit].replace("σ'", "g'")
    if net.loss.rule is None:  # softmax cross-entropy: a vector rule, in the matrix recursion itself
        return None, None, ""
    with sympy.evaluate(False):  # unevaluated as the rule builds it, so 2(A - Y) keeps its written form
        return None, p.direct[unit].xreplace(swap), ""


def _factor(expr: sympy.Expr) -> list[Token]:
    """An elementwise factor of a ⊙ product, bracketed when it is a sum: ⊙ (1 - A[1] ⊙ A[1])."""
    return [OPEN, Elementwise(expr), CLOSE] if expr.is_Add else [Elementwise(expr)]


def _backward(net: Network, down_to: int) -> list[Eq]:
    eqs = _output_delta(net)
    for n in range(len(net.layers) - 1, down_to - 1, -1):
        rhs: list[Token] = [OPEN, Mat("W", n + 1, t=True), Mat("dZ", n + 1), CLOSE]
        prime = _prime(net, n)
        if prime != 1:
            rhs += [HADAMARD, *_factor(prime)]
        eqs.append(Eq([Mat("dZ", n)], rhs, f"back through W[{n + 1}], then g'(Z[{n}]) entry by entry"))
    return eqs


def _loss_name(kind: str) -> str:
    return {"binary_cross_entropy": "binary cross-entropy", "cross_entropy": "softmax cross-entropy"}.get(
        kind, kind.replace("_", " "))


def loss_line(net: Network) -> str:
    last = len(net.layers)
    what = "the loss formula" if net.loss.type == "formula" else f"the {_loss_name(net.loss.type)}"
    penalty = f" + P, P = {net.penalty_text}" if net.penalty != 0 else ""
    return f"J = {'(1/m) ' if net.reduction == 'mean' else ''}Σₛ L(A[{last}]⁽ˢ⁾, Y⁽ˢ⁾){penalty}, L {what}"


def _result(net: Network, kind: str, layer: int) -> Eq:
    average = [AVERAGE] if net.reduction == "mean" else []
    name = f"{kind}{layer}"
    penalty = [Op(f" + ∂P/∂{kind}[{layer}]", rf" + \frac{{\partial P}}{{\partial {kind}^{{[{layer}]}}}}")] \
        if any(s.name in {e for row in net.matrices()[name] for e in row} for s in net.penalty.free_symbols) else []
    if kind == "W":
        return Eq([Op("∂J/∂", r"\frac{\partial J}{\partial "), Mat("W", layer), Op("", "}")],
                  [*average, Mat("dZ", layer), Mat("A", layer - 1, t=True), *penalty])
    return Eq([Op("∂J/∂", r"\frac{\partial J}{\partial "), Mat("b", layer), Op("", "}")],
              [*average, SUM, Mat("dZ", layer), *penalty], "the sum runs over the columns, one per sample")


def _m(letter: str, layer: int | None = None, t: bool = False, sub: str = "") -> tuple[str, str]:
    """One matrix inside a sentence, as text and as LaTeX: A[0]ᵀ, {A^{[0]}}^{T}; `sub` an entry's index."""
    text = f"{letter}[{layer}]" if layer is not None else letter
    tex = f"{letter}^{{[{layer}]}}" if layer is not None else letter
    if t:
        text, tex = text + "ᵀ", f"{{{tex}}}^{{T}}"
    if sub:
        text, tex = f"{text}_{sub}", f"{tex}_{{{sub}}}"
    return text, tex


def _z(net: Network, n: int) -> tuple[str, str]:
    """Z[n] = W[n] A[n-1] (+ b[n]) as text and LaTeX, as the layer has it."""
    parts = [_m("Z", n), ("= ", "= "), _m("W", n), _m("A", n - 1)]
    if net.layers[n - 1].bias:
        parts += [("+ ", "+ "), _m("b", n)]
    return " ".join(p[0].strip() for p in parts), " ".join(p[1].strip() for p in parts)


def _by(rows, cols) -> tuple[str, str]:
    return f"{rows} × {cols}", rf"{rows} \times {cols}"


def _sentence(*parts: str | tuple[str, str]) -> tuple[str, str]:
    """Words and math, as plain text and as LaTeX text with inline math."""
    return ("".join(p if isinstance(p, str) else p[0] for p in parts),
            "".join(p if isinstance(p, str) else f"${p[1]}$" for p in parts))


def _why(net: Network, kind: str, layer: int) -> list[tuple[str, str]]:
    """Story 3's question, as text and LaTeX: why A[l-1] appears, and where 1/m comes from."""
    n, prev = layer, layer - 1
    units, inputs = net.layers[n - 1].units, (net.layers[n - 2].units if n > 1 else len(net.inputs))
    x = " (= X, the inputs)" if n == 1 else ""
    if kind == "W":
        first = _sentence(
            _z(net, n), " is linear in ", _m("W", n), ": entry (j, k) of ", _m("W", n), " multiplies entry k of the "
            "layer's input ", _m("A", prev), x, ", so ", (f"∂Z[{n}]_j/∂W[{n}]_jk = A[{prev}]_k",
                                                          rf"\partial Z^{{[{n}]}}_j / \partial W^{{[{n}]}}_{{jk}} = "
                                                          rf"A^{{[{prev}]}}_k"),
            ", the input to the layer. Summed over the samples, that product is ",
            (f"dZ[{n}] A[{prev}]ᵀ", rf"dZ^{{[{n}]}} {{A^{{[{prev}]}}}}^{{T}}"),
            ": the transpose lines the samples up (", _m("dZ", n), " is ", _by(units, "m"), ", ", _m("A", prev, t=True),
            " is ", _by("m", inputs), ", so the product is ", _by(units, inputs), ", the shape of ", _m("W", n), ").")
    else:
        first = _sentence(_z(net, n), " has ", (f"∂Z[{n}]_j/∂b[{n}]_j = 1", rf"\partial Z^{{[{n}]}}_j / "
                                                 rf"\partial b^{{[{n}]}}_j = 1"),
                          " for every sample, so the derivative adds up the columns of ", _m("dZ", n), ".")
    if net.reduction == "sum":
        second = _sentence("There is no 1/m: with reduction: sum, ", ("J = Σₛ L⁽ˢ⁾", r"J = \sum_{s} \mathcal{L}^{(s)}"),
                           ", so each sample's gradient enters with weight 1.")
        return [first, second]
    second = _sentence("1/m comes from the average: ", ("J = (1/m) Σₛ L⁽ˢ⁾", r"J = \frac{1}{m} \sum_{s} "
                                                        r"\mathcal{L}^{(s)}"),
                       ", so each sample's gradient enters with weight 1/m, and dZ (one sample's ",
                       ("∂L/∂Z", r"\partial \mathcal{L} / \partial Z"), " per column) carries none.")
    return [first, second]


# -- the numbers ---------------------------------------------------------------------------------

def _values(net: Network, point: dict[str, float], kind: str, layer: int) -> list[list[float]]:
    """The matrix recursion over every sample, in mpmath, averaged."""
    with mpmath.workdps(DIGITS):
        rules = _Rules(net)
        total = None
        for sample in checking.samples(net, point):
            grad = _one_sample(net, rules, sample, kind, layer)
            total = grad if total is None else [[t + g for t, g in zip(rt, rg, strict=True)]
                                                for rt, rg in zip(total, grad, strict=True)]
        m = (len(net.samples) or 1) if net.reduction == "mean" else 1
        extra = penalty_gradient(net, point, precise=True)
        names = net.matrices()[f"{kind}{layer}"]
        return [[float(x / m + extra.get(e, 0)) for x, e in zip(row, es, strict=True)]
                for row, es in zip(total, names, strict=True)]


class _Rules:
    """Each layer's activation and derivative, and the output layer's delta, built once for every sample."""

    def __init__(self, net: Network):
        self.f = [unary(lay.activation.f(X), True) for lay in net.layers]
        self.prime = [lay.activation.prime(OUT, PRE) for lay in net.layers]
        self.fused, self.grad, _ = _output_rule(net, LOSS_O, LOSS_Y)  # grad None, fused None: softmax

    def g_prime(self, layer: int, o, z):
        return value(self.prime[layer - 1], {OUT: o, PRE: z}, precise=True)

    def output_delta(self, last: int, a: list, z: list, y: list) -> list:
        if self.fused is not None:
            return [value(self.fused, {LOSS_O: ai, LOSS_Y: yi}, precise=True) for ai, yi in zip(a, y, strict=True)]
        if self.grad is None:
            top = max(a)
            e = [mpmath.exp(ai - top) for ai in a]
            da = [ei / mpmath.fsum(e) - yi for ei, yi in zip(e, y, strict=True)]
        else:
            da = [value(self.grad, {LOSS_O: ai, LOSS_Y: yi}, precise=True) for ai, yi in zip(a, y, strict=True)]
        return [d * self.g_prime(last, ai, zi) for d, ai, zi in zip(da, a, z, strict=True)]


def _one_sample(net: Network, rules: _Rules, sample: dict[str, float], kind: str, layer: int) -> list[list]:
    env = {k: mpmath.mpf(v) for k, v in sample.items()}
    weights = net.matrices()
    a = [[env[x] for x in net.inputs]]  # A[0], A[1], ... as vectors for this sample
    zs = [None]
    for lay in net.layers:
        n = lay.index
        w = [[env[e] for e in row] for row in weights[f"W{n}"]]
        bias = [env[row[0]] for row in weights[f"b{n}"]] if lay.bias else [0] * lay.units
        z = [mpmath.fsum(wjk * ak for wjk, ak in zip(wj, a[-1], strict=True)) + bj
             for wj, bj in zip(w, bias, strict=True)]
        zs.append(z)
        a.append([rules.f[n - 1](zj) for zj in z])
    dz = rules.output_delta(len(net.layers), a[-1], zs[-1],
                            [env[str(t)] if t.is_Symbol else mpmath.mpf(float(t)) for t in net.loss.targets])
    for n in range(len(net.layers) - 1, layer - 1, -1):
        w = [[env[e] for e in row] for row in weights[f"W{n + 1}"]]
        back = [mpmath.fsum(w[j][k] * dz[j] for j in range(len(dz))) for k in range(len(a[n]))]
        dz = [bk * rules.g_prime(n, ak, zk) for bk, ak, zk in zip(back, a[n], zs[n], strict=True)]
    if kind == "W":
        return [[dzj * ak for ak in a[layer - 1]] for dzj in dz]
    return [[dzj] for dzj in dz]
