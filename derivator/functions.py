"""SymPy functions for the activations SymPy does not have.

Each is a `sympy.Function` whose `fdiff` gives its derivative, so SymPy's own chain rule works on
them (the cross-check in the tests relies on it), and whose `_eval_rewrite_as_exp` / printers give the
elementary form that SymPy's parser reads back.
"""

from __future__ import annotations

import sympy
from sympy import S


class sigmoid(sympy.Function):  # noqa: N801 - the name printed and read back is `sigmoid`
    """The logistic function 1 / (1 + exp(-x))."""

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        s = sigmoid(self.args[0])
        return s * (1 - s)

    @classmethod
    def eval(cls, x):
        if x.is_zero:
            return S.Half
        return None

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return 1 / (1 + sympy.exp(-x))

    def _eval_evalf(self, prec):
        return self.rewrite(sympy.exp)._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real


class relu(sympy.Function):  # noqa: N801
    """max(0, x); its derivative at 0 is 0, as PyTorch takes it."""

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return sympy.Heaviside(self.args[0], 0)

    @classmethod
    def eval(cls, x):
        if x.is_Number:
            return x if x > 0 else S.Zero
        return None

    def _eval_rewrite_as_Max(self, x, **kwargs):
        return sympy.Max(0, x)

    def _eval_evalf(self, prec):
        return sympy.Max(0, self.args[0])._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real


class leaky_step(sympy.Function):  # noqa: N801
    """The derivative of leaky_relu: 1 for x > 0, else the slope (at 0 too, as PyTorch takes it)."""

    nargs = 2

    @classmethod
    def eval(cls, x, slope):
        if x.is_Number:
            return S.One if x > 0 else slope
        return None

    def _eval_rewrite_as_Piecewise(self, x, slope, **kwargs):
        return sympy.Piecewise((S.One, x > 0), (slope, True))

    def _eval_evalf(self, prec):
        return self.rewrite(sympy.Piecewise)._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real


class leaky_relu(sympy.Function):  # noqa: N801
    """x for x > 0, else slope * x."""

    nargs = 2

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return leaky_step(*self.args)

    @classmethod
    def eval(cls, x, slope):
        if x.is_Number:
            return x if x > 0 else slope * x
        return None

    def _eval_rewrite_as_Piecewise(self, x, slope, **kwargs):
        return sympy.Piecewise((x, x > 0), (slope * x, True))

    def _eval_evalf(self, prec):
        return self.rewrite(sympy.Piecewise)._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real


class softplus(sympy.Function):  # noqa: N801
    """log(1 + exp(x)); its derivative is the sigmoid."""

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return sigmoid(self.args[0])

    def _eval_rewrite_as_log(self, x, **kwargs):
        return sympy.log(1 + sympy.exp(x))

    def _eval_evalf(self, prec):
        return self.rewrite(sympy.log)._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real


def elementary(expr: sympy.Expr) -> sympy.Expr:
    """The same expression with only functions SymPy itself knows (for cross-checks in tests)."""
    return expr.replace(sigmoid, lambda x: 1 / (1 + sympy.exp(-x))).replace(
        relu, lambda x: sympy.Max(0, x)).replace(
        softplus, lambda x: sympy.log(1 + sympy.exp(x))).replace(
        leaky_relu, lambda x, s: sympy.Piecewise((x, x > 0), (s * x, True))).replace(
        leaky_step, lambda x, s: sympy.Piecewise((S.One, x > 0), (s, True)))
