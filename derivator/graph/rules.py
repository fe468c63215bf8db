"""The derivative rules: one table of activations, one of losses, each entry one line.

Every rule carries its derivative written with node values (`o` is the node's output, `z` its
pre-activation), the form a teacher writes: sigmoid' = o(1-o), tanh' = 1-o^2. The derivation engine
only ever multiplies these together; nothing here is simplified after the fact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import sympy
from sympy import Heaviside, S, exp, log, tanh

from derivator.graph.primitives import elu, elu_step, leaky_relu, leaky_step, relu, sigmoid, softplus

Expr = sympy.Expr
X = sympy.Symbol("x", real=True)  # the variable of a formula activation
LOSS_O, LOSS_Y = sympy.Symbol("o", real=True), sympy.Symbol("y", real=True)  # of a formula loss



@dataclass(frozen=True)
class Activation:
    """An activation `o = f(z)` and its derivative written as `prime(o, z)`."""

    name: str
    f: Callable[[Expr], Expr]
    prime: Callable[[Expr, Expr], Expr]
    formula: str | None = None  # the text of a formula activation, for display
    # Parts of `prime` (and of losses) in o that cancel when the unit saturates, each with the same
    # number written in z without cancellation: 1 - o is sigmoid(-z). Only numbers use them.
    complements: Callable[[Expr, Expr], dict[Expr, Expr]] = lambda o, z: {}
    # f''(z) written as `second(o, z)`, the second-order rule (CONTRACT section 8): σ'' = o(1-o)(1-2o).
    # relu, leaky relu: 0, and their kink at z = 0 is named by the checks, as for f'.
    second: Callable[[Expr, Expr], Expr] = lambda o, z: _group_only()



ACTIVATIONS: dict[str, Activation] = {
    "identity": Activation("identity", lambda z: z, lambda o, z: S.One, second=lambda o, z: S.Zero),
    "sigmoid": Activation("sigmoid", sigmoid, lambda o, z: o * (1 - o),
                          complements=lambda o, z: {1 - o: sigmoid(-z), log(o): -softplus(-z)},
                          second=lambda o, z: o * (1 - o) * (1 - 2 * o)),
    "tanh": Activation("tanh", tanh, lambda o, z: 1 - o**2, complements=lambda o, z: {
        1 - o**2: sympy.sech(z)**2, 1 - o: 2 * sigmoid(-2 * z), 1 + o: 2 * sigmoid(2 * z)},
        second=lambda o, z: -2 * o * (1 - o**2)),
    "relu": Activation("relu", relu, lambda o, z: Heaviside(z, 0), second=lambda o, z: S.Zero),
    # softplus' = σ(z) = 1 - e^(-o), so softplus'' = σ(z)(1 - σ(z)) = (1 - e^(-o)) e^(-o).
    "softplus": Activation("softplus", softplus, lambda o, z: 1 - exp(-o),
                           complements=lambda o, z: {1 - exp(-o): sigmoid(z)},
                           second=lambda o, z: (1 - exp(-o)) * exp(-o)),
    "exp": Activation("exp", exp, lambda o, z: o, second=lambda o, z: o),
}
ACTIVATIONS["swish"] = Activation("swish", lambda z: z * sigmoid(z),
                                  lambda o, z: sigmoid(z) * (1 + z * (1 - sigmoid(z))),
                                  second=lambda o, z: sigmoid(z) * (1 - sigmoid(z)) * (2 + z * (1 - 2 * sigmoid(z))))
# A softmax unit's output is a function of its whole group's pre-activations, p_j = exp(z_j) / Σ_k exp(z_k),
# so it has no f(z) of its own: its rule is the group's (`softmax_local`, `softmax_delta` below).
ACTIVATIONS["softmax"] = Activation("softmax", lambda z: _group_only(), lambda o, z: _group_only())
SOFTMAX = "softmax"
ALIASES = {"linear": "identity"}
DEFAULT_LEAKY_SLOPE = sympy.Rational(1, 100)

# Activations with a constant of their own: {activation: leaky_relu, slope: 0.2}, {activation: elu, alpha: 0.5}.
# Each gives its option's name, its default, and the activation made with that constant.
OPTIONS: dict[str, tuple[str, Expr, Callable[[Expr], Activation]]] = {
    # The derivative at 0 is the slope (leaky relu) or alpha (elu), as PyTorch takes it.
    "leaky_relu": ("slope", DEFAULT_LEAKY_SLOPE,
                   lambda s: Activation("leaky_relu", lambda z: leaky_relu(z, s), lambda o, z: leaky_step(z, s),
                                        second=lambda o, z: S.Zero)),
    # elu'' is alpha e^z below 0 and 0 above: elu_step minus the step [z > 0].
    "elu": ("alpha", S.One, lambda a: Activation("elu", lambda z: elu(z, a), lambda o, z: elu_step(z, a),
                                                 second=lambda o, z: elu_step(z, a) - Heaviside(z, 0))),
}


def _group_only():
    raise TypeError("a softmax unit's value and derivative belong to its group (rules.softmax_*)")


def softmax_of(zs: list[Expr], j: int) -> Expr:
    """p_j = exp(z_j) / Σ_k exp(z_k) over a group's pre-activations."""
    return exp(zs[j]) / sympy.Add(*[exp(z) for z in zs])


def softmax_local(pj: Expr, pk: Expr, same: bool) -> Expr:
    """∂p_j/∂z_k = p_j(δ_jk - p_k), in node values."""
    return pj * (1 - pk) if same else -pj * pk


def leaky(slope: Expr = DEFAULT_LEAKY_SLOPE) -> Activation:
    """Leaky relu with its slope."""
    return OPTIONS["leaky_relu"][2](slope)


def formula_activation(text: str, body: Expr) -> Activation:
    """An activation given as a formula in x; its derivative in o where SymPy's diff allows, else in z."""
    d = sympy.diff(body, X)

    d2 = without_impulses(sympy.diff(d, X))

    def in_values(e: Expr) -> Callable[[Expr, Expr], Expr]:
        def form(o: Expr, z: Expr) -> Expr:
            in_o = e.xreplace({body: o}) if body != X else e
            return (in_o if not in_o.has(X) else e).xreplace({X: z})
        return form

    return Activation("formula", lambda z: body.xreplace({X: z}), in_values(d), formula=text, second=in_values(d2))


def without_impulses(e: Expr) -> Expr:
    """A second derivative of a kinked function (relu, abs) has DiracDelta at the kink: 0 everywhere else,
    and at the kink itself the checks name it (as for the first derivative)."""
    return e.replace(lambda a: isinstance(a, sympy.DiracDelta), lambda a: S.Zero) if e.has(sympy.DiracDelta) else e


@dataclass(frozen=True)
class PointLoss:
    """A loss summed over outputs, `L(o, y)` each, with `dL/do` in node values.

    `fused` gives the output delta dL/dz directly for some output activations, where the product
    f'(z) * dL/do cancels: sigmoid with binary cross-entropy is exactly o - y.
    """

    value: Callable[[Expr, Expr], Expr]
    grad: Callable[[Expr, Expr], Expr]
    fused: dict[str, Callable[[Expr, Expr], Expr]] = field(default_factory=dict)
    second: Callable[[Expr, Expr], Expr] | None = None  # d²L/do², the loss's second-order rule


LOSSES: dict[str, PointLoss] = {
    # Unevaluated, or SymPy would distribute the 2 and print 2*o - 2*y instead of 2(o - y).
    "squared_error": PointLoss(lambda o, y: (o - y)**2, lambda o, y: sympy.Mul(2, o - y, evaluate=False),
                               second=lambda o, y: S(2)),
    "half_squared_error": PointLoss(lambda o, y: (o - y)**2 / 2, lambda o, y: o - y, second=lambda o, y: S.One),
    "binary_cross_entropy": PointLoss(lambda o, y: -(y * log(o) + (1 - y) * log(1 - o)),
                                      lambda o, y: (o - y) / (o * (1 - o)),
                                      fused={"sigmoid": lambda o, y: o - y},
                                      second=lambda o, y: y / o**2 + (1 - y) / (1 - o)**2),
    # On probabilities, the outputs of one softmax group: with targets summing to 1 the group's
    # Jacobian cancels the 1/p, and each delta is p - y.
    "categorical_cross_entropy": PointLoss(lambda o, y: -y * log(o), lambda o, y: -y / o,
                                           fused={"softmax": lambda o, y: o - y}, second=lambda o, y: y / o**2),
}
SOFTMAX_LOSS = "cross_entropy"  # over all outputs at once; see `cross_entropy` below
# Why an output's delta is short, by (loss, output activation): printed beside that delta.
FUSED_NOTES = {
    ("binary_cross_entropy", "sigmoid"): "binary cross-entropy after a sigmoid: σ' cancels",
    (SOFTMAX_LOSS, "identity"): "cross-entropy after a softmax: the softmax's Jacobian cancels, δ = p - y",
    ("categorical_cross_entropy", SOFTMAX): "categorical cross-entropy after a softmax group: "
                                           "the group's Jacobian cancels the 1/p, δ = p - y",
}
# Losses whose targets must sum to 1 (one-hot or probabilities), for p - y to be the delta.
SUMS_TO_ONE = {SOFTMAX_LOSS, "categorical_cross_entropy"}
LOSS_TYPES = [*LOSSES, SOFTMAX_LOSS, "formula"]


def formula_loss(body: Expr) -> PointLoss:
    """A loss given as a formula in o and y; dL/do by SymPy's diff of that small formula."""
    d = sympy.diff(body, LOSS_O)
    d2 = without_impulses(sympy.diff(d, LOSS_O))
    return PointLoss(lambda o, y: body.xreplace({LOSS_O: o, LOSS_Y: y}),
                     lambda o, y: d.xreplace({LOSS_O: o, LOSS_Y: y}),
                     second=lambda o, y: d2.xreplace({LOSS_O: o, LOSS_Y: y}))


def softmax(outputs: list[Expr], i: int) -> Expr:
    """p_i = exp(o_i) / sum_j exp(o_j), over the outputs' values."""
    return exp(outputs[i]) / sympy.Add(*[exp(o) for o in outputs])


def cross_entropy(outputs: list[Expr], targets: list[Expr]) -> Expr:
    """-sum_i y_i log p_i with p = softmax(o), written as -sum_i y_i (o_i - log sum_j exp(o_j))."""
    lse = log(sympy.Add(*[exp(o) for o in outputs]))
    return -sympy.Add(*[y * (o - lse) for o, y in zip(outputs, targets, strict=True)])


def cross_entropy_grad(outputs: list[Expr], targets: list[Expr], i: int) -> Expr:
    """dL/do_i = p_i - y_i, for targets that sum to 1 (one-hot or a probability vector)."""
    return sympy.Add(softmax(outputs, i), -targets[i], evaluate=False)  # printed p_i - y_i, as written


def cross_entropy_second(outputs: list[Expr], i: int, j: int) -> Expr:
    """∂²L/∂o_i∂o_j = p_i(δ_ij - p_j), the softmax's Jacobian (the targets summing to 1)."""
    p_i, p_j = softmax(outputs, i), softmax(outputs, j)
    return p_i * (1 - p_j) if i == j else -p_i * p_j
