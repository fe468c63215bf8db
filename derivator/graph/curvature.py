"""Second-order rules for the primitives, one line each, and the local second derivative of a formula.

`SECOND[fn](*args)` is f'' in the primitive's own value where a teacher writes it so (σ'' = σ(1-σ)(1-2σ),
tanh'' = -2 tanh (1 - tanh²)). The derivation itself differentiates a formula node's local derivative
once more with SymPy's `diff` (the local formula is small, and each primitive's `fdiff` carries the chain
rule); this table is what that gives, written as a learner would, and the tests hold the two equal. A
primitive without an entry fails at import, as one without a record does (`primitives.check_table`).
The kinked ones (relu, abs, the steps, max, min) have 0 here: their second derivative is 0 away from
the kink, and at the kink the checks name it.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy
from sympy import S

from derivator.graph.primitives import PRIMITIVES, elu, elu_step, leaky_relu, leaky_step, maximum, minimum, relu
from derivator.graph.primitives import sigmoid as sig
from derivator.graph.primitives import softplus as splus
from derivator.graph.rules import without_impulses

Expr = sympy.Expr
_zero = lambda *a: S.Zero  # noqa: E731 - one entry per kinked primitive, all alike


def _sigmoid2(x: Expr) -> Expr:
    s = sig(x)
    return s * (1 - s) * (1 - 2 * s)


SECOND: dict[type, Callable[..., Expr]] = {
    sympy.exp: lambda x: sympy.exp(x),  # exp'' = exp
    sympy.log: lambda x: -1 / x**2,
    sympy.tanh: lambda x: -2 * sympy.tanh(x) * (1 - sympy.tanh(x)**2),
    sympy.sin: lambda x: -sympy.sin(x),
    sympy.cos: lambda x: -sympy.cos(x),
    sympy.sech: lambda x: sympy.sech(x) * (sympy.tanh(x)**2 - sympy.sech(x)**2),
    sig: _sigmoid2,
    splus: lambda x: sig(x) * (1 - sig(x)),  # softplus' = σ
    elu: lambda x, a: elu_step(x, a) - sympy.Heaviside(x, 0),  # alpha e^x below 0
    elu_step: lambda x, a: elu_step(x, a) - sympy.Heaviside(x, 0),
    sympy.Abs: _zero, sympy.sign: _zero, sympy.Heaviside: _zero, relu: _zero,
    leaky_relu: _zero, leaky_step: _zero, maximum: _zero, minimum: _zero,
}


def local_second(local: Expr, s: sympy.Symbol) -> Expr:
    """∂(local)/∂s for a link's local derivative (a small formula): the second-order local rule."""
    return without_impulses(sympy.diff(local, s))


def _check() -> None:
    missing = [p.name for fn, p in PRIMITIVES.items() if fn not in SECOND]
    if missing:
        raise ImportError(f"primitives without a second-order rule: {missing}")


_check()
