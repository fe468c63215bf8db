"""The SymPy functions for the primitives SymPy does not have, each with its derivative.

Each is a `sympy.Function` whose `fdiff` gives its derivative, so SymPy's own chain rule runs over
them (the cross-check in the tests relies on it); `primitives` gives each its numbers and printed forms.
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
        return S.Half if x.is_zero else None

    def _eval_evalf(self, prec):
        return (1 / (1 + sympy.exp(-self.args[0])))._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real


class softplus(sympy.Function):  # noqa: N801
    """log(1 + exp(x)); its derivative is the sigmoid."""

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return sigmoid(self.args[0])

    def _eval_evalf(self, prec):
        return sympy.log(1 + sympy.exp(self.args[0]))._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real


class relu(sympy.Function):  # noqa: N801
    """max(0, x); its derivative at 0 is 0, as PyTorch takes it."""

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return sympy.Heaviside(self.args[0], 0)

    @classmethod
    def eval(cls, x):
        return (x if x > 0 else S.Zero) if x.is_Number else None

    def _eval_evalf(self, prec):
        return sympy.Max(0, self.args[0])._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real


class _Piecewise2(sympy.Function):
    """f(x, a): one value for x > 0 and another otherwise, a being a constant (a slope, an alpha)."""

    nargs = 2

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_evalf(self, prec):
        x, a = self.args
        return sympy.Piecewise(*self.branches(x, a))._eval_evalf(prec)

    @classmethod
    def eval(cls, x, a):
        if x.is_Number and a.is_Number:
            return sympy.Piecewise(*cls.branches(x, a)).doit()
        return None


class leaky_step(_Piecewise2):  # noqa: N801
    """The derivative of leaky_relu: 1 for x > 0, else the slope (at 0 too, as PyTorch takes it)."""

    @staticmethod
    def branches(x, s):
        return (S.One, x > 0), (s, True)


class leaky_relu(_Piecewise2):  # noqa: N801
    """x for x > 0, else slope * x."""

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return leaky_step(*self.args)

    @staticmethod
    def branches(x, s):
        return (x, x > 0), (s * x, True)


class elu_step(_Piecewise2):  # noqa: N801
    """The derivative of elu: 1 for x > 0, else alpha exp(x) (alpha at 0, as PyTorch takes it)."""

    @staticmethod
    def branches(x, a):
        return (S.One, x > 0), (a * sympy.exp(x), True)


class elu(_Piecewise2):  # noqa: N801
    """x for x > 0, else alpha (exp(x) - 1)."""

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return elu_step(*self.args)

    @staticmethod
    def branches(x, a):
        return (x, x > 0), (a * (sympy.exp(x) - 1), True)


def first_attains(args: tuple, i: int, sign: int) -> sympy.Expr:
    """d max(args)/d args[i] (sign 1) or d min (sign -1): 1 where args[i] is the first extreme, else 0.

    At a tie the first argument that attains it takes the derivative, as max pooling does: args[i]
    must beat the earlier ones strictly (H(0) = 0) and the later ones at least (H(0) = 1)."""
    a = args[i]
    steps = [sympy.Heaviside(sign * (a - b), 0 if j < i else 1) for j, b in enumerate(args) if j != i]
    return sympy.Mul(*steps)


class maximum(sympy.Function):  # noqa: N801
    """max(a, b, ...); printed as Max for SymPy, whose own derivative differs only at a tie."""

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return first_attains(self.args, argindex - 1, 1)

    @classmethod
    def eval(cls, *args):
        return sympy.Max(*args) if all(a.is_Number for a in args) else None

    def _eval_is_real(self):
        return all(a.is_real for a in self.args)


class minimum(sympy.Function):  # noqa: N801
    """min(a, b, ...)."""

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return first_attains(self.args, argindex - 1, -1)

    @classmethod
    def eval(cls, *args):
        return sympy.Min(*args) if all(a.is_Number for a in args) else None

    def _eval_is_real(self):
        return all(a.is_real for a in self.args)


def elementary(expr: sympy.Expr) -> sympy.Expr:
    """The same expression with only functions SymPy itself knows (for cross-checks in tests)."""
    out = expr.replace(sigmoid, lambda x: 1 / (1 + sympy.exp(-x))).replace(
        relu, lambda x: sympy.Max(0, x)).replace(softplus, lambda x: sympy.log(1 + sympy.exp(x)))
    for cls in (leaky_relu, leaky_step, elu, elu_step):
        out = out.replace(cls, lambda x, a, cls=cls: sympy.Piecewise(*cls.branches(x, a)))
    return out.replace(maximum, sympy.Max).replace(minimum, sympy.Min)
