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

import sympy

from derivator import arguments
from derivator.answers import matrix_conv, matrix_time
from derivator.answers.display import Displayed
from derivator.answers.gradient import gradient
from derivator.answers.matrix_tokens import (
    AVERAGE,
    CLOSE,
    HADAMARD,
    MINUS,
    OPEN,
    PLUS,
    SUM,
    Elementwise,
    Eq,
    Mat,
    Op,
    Token,
)
from derivator.errors import DerivatorError, unknown
from derivator.graph.network import Network
from derivator.graph.plan import output_rule
from derivator.graph.rules import SOFTMAX
from derivator.numbers import batch_time, checking
from derivator.numbers.batch import batch_values
from derivator.symbolic.derive import derive

DIGITS = 60  # the matrix recursion's precision; a sigmoid saturates float64 long before this
WHOLE = re.compile(r"([WbUK]|gamma|beta)(\d+)\Z")  # U{l}: a recurrent layer's weights from its own previous step


@dataclass(repr=False)
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
    # With --check, each entry's, row by row; None for an entry left out when checking every entry would
    # pass the work cap (gradient.MAX_CHECK_WORK): an evenly spaced subset is checked, and the output says so.
    checks: list[checking.Check | None] = field(default_factory=list)
    maps: list = field(default_factory=list)  # a conv layer's: matrix_conv.Map each (dZ, pooled dA, dA[l-1])
    last: int = 0  # the output layer's index
    net: Network | None = None  # for the file's `notation:` when printed

    @property
    def shape(self) -> list[int]:
        return [len(self.entries), len(self.entries[0])]

    def __repr__(self) -> str:
        rows, cols = self.shape
        verdict = "agrees with" if self.agrees else "DISAGREES with"
        return f"<MatrixForm ∂J/∂{self.name}, {rows} × {cols}, {verdict} the delta recursion>"

    @property
    def failed(self) -> bool:
        return not self.agrees or any(not c.agrees for c in self.checked) or any(not m.agrees for m in self.maps)

    @property
    def checked(self) -> list[checking.Check]:
        """The checks that were made, without the entries left out."""
        return [c for c in self.checks if c is not None]



def whole(net: Network, name: str) -> list[list[str]] | None:
    """The entries of a whole matrix named like W2 or b1, or None if `name` is not one."""
    return net.matrices().get(name) if net.layers and WHOLE.match(name) else None


@arguments.public
def matrix_form(net: Network, name: str, at: dict[str, float] | None = None, check: bool = False,
                tolerance: float = checking.RELATIVE_TOLERANCE) -> MatrixForm:
    """Derive d J / d W[l] (or b[l]) in matrix form, compute it, and compare it entry by entry."""
    net, name = arguments.network(net), arguments.name(name, "the matrix")
    at, tolerance = arguments.point(at), arguments.tolerance(tolerance)
    if not net.layers:
        raise DerivatorError("--matrix needs a 'layers:' file (dense layers, with W1, b1, ... as matrices)")
    entries = whole(net, name)
    if entries is None:
        raise DerivatorError("--matrix: " + unknown("matrix", name, list(net.matrices())) +
                             "; --matrix derives a whole W{l} or b{l}" + (", or U{l} of a recurrent layer"
                                                                          if net.recurrence is not None else ""))
    if net.loss is None:
        raise DerivatorError("--matrix derives a loss; this file has none")
    layer = int(WHOLE.match(name).group(2))
    grids = any(lay.kind != "dense" for lay in net.layers)
    if any(lay.norm for lay in net.layers if lay.kind == "dense"):
        raise DerivatorError("--matrix: a normalised layer's stages are not written as a matrix form here; "
                             f"--wrt {name} without --matrix gives every entry by the delta recursion")
    if grids:
        matrix_conv.check_layers(net, layer, kind=name[0])
    values = checking.point(net, at)
    checking.require(derive(net, entries[0][0], "loss"), values)
    # The other route: the scalar delta recursion over the graph, every entry from one sweep.
    scalar = gradient(net, [e for row in entries for e in row], "loss", values, check, tolerance, name, entries)
    kind, maps = name[0], []
    if grids:  # the convolution form (CONTRACT section 7): the rules over the grids, and their maps
        parts = matrix_conv.equations(net, kind, layer, _output_delta(net), _prime)
        forward, backward, result, why, loss = parts.forward, parts.backward, parts.result, parts.why, loss_line(net)
        computed, found = matrix_conv.conv_values(net, values, kind, layer)
        maps = matrix_conv.maps(net, values, found, layer, scalar.worked)
    elif net.recurrence is not None:  # through time (CONTRACT section 6): every gradient a sum over the steps
        why = _why(net, "W" if kind == "U" else kind, layer)
        forward, backward, result, why, loss = matrix_time.equations(net, kind, layer, _output_delta(net), _prime,
                                                                     why, loss_line(net))
        computed = batch_time.values(net, values, kind, layer)
    else:
        forward, backward, result = _forward(net), _backward(net, layer), _result(net, kind, layer)
        why, loss = _why(net, kind, layer), loss_line(net)
        computed = batch_values(net, values, kind, layer)
    errors = [checking.close(a, s, tolerance) for ra, rs in zip(computed, scalar.values, strict=True)
              for a, s in zip(ra, rs, strict=True)]
    checks = [r.check for r in scalar.rows] if check else []  # None for an entry past the work cap
    # A conv network has thousands of weights: the point shows the layer's own kernel and biases.
    shown = {e for name_ in (f"K{layer}", f"b{layer}") for row in net.matrices().get(name_, []) for e in row} \
        if grids else set(net.params)
    samples = len(net.samples) or 1
    return MatrixForm(name, layer, entries, forward, backward, result, why, loss, computed, scalar.values,
                      all(ok for ok, _ in errors),
                      max(rel for _, rel in errors), samples, {k: v for k, v in values.items() if k in shown},
                      checks, maps, len(net.layers), net)


# -- the equations -------------------------------------------------------------------------------

def _activation(net: Network, layer: int) -> list[Token]:
    act = net.layers[layer - 1].activation
    if act.name == SOFTMAX:  # one group per column: A = exp(Z) / Σ_rows exp(Z)
        return [Op("softmax(", r"\operatorname{softmax}\left("), Mat("Z", layer), CLOSE]
    return [Elementwise(act.f(_sym("Z", layer)))]


def _softmax_back(layer: int) -> list[Token]:
    """dZ = A ⊙ (dA - 1 1ᵀ(A ⊙ dA)): each column's (diag(p) - p pᵀ) dA, the column sums spread over rows."""
    a, da = Mat("A", layer), Mat("dA", layer)
    return [a, HADAMARD, OPEN, da, MINUS, Op("1 1ᵀ", r"\mathbf{1}\mathbf{1}^{T}"), OPEN, a, HADAMARD, da, CLOSE, CLOSE]


SOFTMAX_NOTE = "a softmax layer: each column's Jacobian diag(p) - p pᵀ times dA"


def _sym(letter: str, layer: int | None = None) -> sympy.Symbol:
    """The symbol standing for a whole matrix inside an elementwise formula."""
    return sympy.Symbol(f"{letter}[{layer}]" if layer is not None else letter, real=True)


def _forward(net: Network) -> list[Eq]:
    eqs = []
    for layer in net.layers:
        n = layer.index
        z = [Mat("W", n), Mat("A", n - 1)] + ([PLUS, Mat("b", n)] if layer.bias else [])
        eqs.append(Eq([Mat("Z", n)], z))
        eqs.append(Eq([Mat("A", n)], _activation(net, n)))
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
    fused, grad, note = output_rule(net, a, y)
    if fused is not None:
        return [Eq([Mat("dZ", last)], [Elementwise(fused)], note)]
    if loss.rule is None:  # softmax cross-entropy over the output layer's values
        eqs = [Eq([Mat("P")], [Op("softmax(", r"\operatorname{softmax}\left("), Mat("A", last), CLOSE],
                  "the softmax of each column")]
        grad = [Mat("P"), MINUS, Mat("Y")]
        if act.name == SOFTMAX:
            return [*eqs, Eq([Mat("dA", last)], grad), Eq([Mat("dZ", last)], _softmax_back(last), SOFTMAX_NOTE)]
        if act.name == "identity":
            return [*eqs, Eq([Mat("dZ", last)], grad, "softmax with cross-entropy: the identity output passes it on")]
        return [*eqs, Eq([Mat("dZ", last)], [OPEN, *grad, CLOSE, HADAMARD, *_factor(_prime(net, last))])]
    eqs = [Eq([Mat("dA", last)], [Elementwise(grad)], f"∂L/∂A[{last}] of the {_loss_name(loss.type)}")]
    if act.name == SOFTMAX:
        return [*eqs, Eq([Mat("dZ", last)], _softmax_back(last), SOFTMAX_NOTE)]
    prime = _prime(net, last)
    if prime == 1:
        return [*eqs, Eq([Mat("dZ", last)], [Mat("dA", last)], "the identity output passes it on")]
    return [*eqs, Eq([Mat("dZ", last)], [Mat("dA", last), HADAMARD, *_factor(prime)])]


def _factor(expr: sympy.Expr) -> list[Token]:
    """An elementwise factor of a ⊙ product, bracketed when it is a sum: ⊙ (1 - A[1] ⊙ A[1])."""
    return [OPEN, Elementwise(expr), CLOSE] if expr.is_Add else [Elementwise(expr)]


def _backward(net: Network, down_to: int) -> list[Eq]:
    eqs = _output_delta(net)
    for n in range(len(net.layers) - 1, down_to - 1, -1):
        rhs: list[Token] = [OPEN, Mat("W", n + 1, t=True), Mat("dZ", n + 1), CLOSE]
        if net.layers[n - 1].activation.name == SOFTMAX:
            eqs += [Eq([Mat("dA", n)], rhs[1:-1], f"back through W[{n + 1}]"),
                    Eq([Mat("dZ", n)], _softmax_back(n), SOFTMAX_NOTE)]
            continue
        prime = _prime(net, n)
        if prime != 1:
            rhs += [HADAMARD, *_factor(prime)]
        eqs.append(Eq([Mat("dZ", n)], rhs, f"back through W[{n + 1}], then g'(Z[{n}]) entry by entry"))
    return eqs


def _loss_name(kind: str) -> str:
    return {"binary_cross_entropy": "binary cross-entropy", "cross_entropy": "softmax cross-entropy",
            "categorical_cross_entropy": "categorical cross-entropy"}.get(
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
    units, inputs = net.layers[n - 1].units, len(net.matrices()[f"W{n}"][0])
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
