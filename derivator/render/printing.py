"""Printers for expressions: SymPy syntax that reads back, LaTeX, and Unicode for a terminal.

Customised the SymPy way, by `_print_<Class>` methods on printer subclasses.
"""

from __future__ import annotations

import sympy
from sympy.printing.latex import LatexPrinter
from sympy.printing.str import StrPrinter


class CodePrinter(StrPrinter):
    """SymPy syntax using only functions SymPy knows, so `parse_expr` reads it back to the same function."""

    def _print_sigmoid(self, e):
        # Parenthesised: inside a power or a quotient the bare division would bind wrongly.
        return f"(1/(1 + exp({self._print(-e.args[0])})))"

    def _print_relu(self, e):
        return self._print(sympy.Max(0, e.args[0], evaluate=False))

    def _print_softplus(self, e):
        return self._print(sympy.log(1 + sympy.exp(e.args[0])))

    def _print_leaky_relu(self, e):
        x, s = e.args
        return f"Piecewise(({self._print(x)}, {self._print(x)} > 0), ({self._print(s * x)}, True))"

    def _print_leaky_step(self, e):
        x, s = e.args
        return f"Piecewise((1, {self._print(x)} > 0), ({self._print(s)}, True))"


class TexPrinter(LatexPrinter):
    """LaTeX for notes: sigma for the sigmoid, an Iverson bracket for the relu's step."""

    def _print_sigmoid(self, e, exp=None):
        return self._fn(r"\sigma", e, exp)

    def _print_relu(self, e, exp=None):
        return self._fn(r"\operatorname{relu}", e, exp)

    def _print_softplus(self, e, exp=None):
        return self._fn(r"\operatorname{softplus}", e, exp)

    def _print_leaky_relu(self, e, exp=None):
        x, s = e.args
        inner = rf"\operatorname{{lrelu}}_{{{self._print(s)}}}\left({self._print(x)}\right)"
        return inner if exp is None else rf"{inner}^{{{exp}}}"

    def _print_leaky_step(self, e, exp=None):
        x, s = e.args
        return rf"\begin{{cases}} 1 & {self._print(x)} > 0 \\ {self._print(s)} & \text{{otherwise}} \end{{cases}}"

    def _print_Heaviside(self, e, exp=None):
        inner = rf"\left[{self._print(e.args[0])} > 0\right]"
        return inner if exp is None else rf"{inner}^{{{exp}}}"

    def _fn(self, name, e, exp):
        head = name if exp is None else f"{name}^{{{exp}}}"
        return rf"{head}\left({self._print(e.args[0])}\right)"


class UnicodePrinter(StrPrinter):
    """For a terminal: σ for the sigmoid, [z > 0] for the relu's step, products without stars."""

    def _print_sigmoid(self, e):
        return f"σ({self._print(e.args[0])})"

    def _print_relu(self, e):
        return f"relu({self._print(e.args[0])})"

    def _print_softplus(self, e):
        return f"softplus({self._print(e.args[0])})"

    def _print_leaky_relu(self, e):
        return f"leaky_relu({self._print(e.args[0])}, {self._print(e.args[1])})"

    def _print_leaky_step(self, e):
        return f"(1 if {self._print(e.args[0])} > 0 else {self._print(e.args[1])})"

    def _print_Heaviside(self, e):
        return f"[{self._print(e.args[0])} > 0]"


def code(expr: sympy.Expr) -> str:
    return CodePrinter().doprint(expr)


def tex(expr: sympy.Expr) -> str:
    return TexPrinter().doprint(expr)


def unicode(expr: sympy.Expr) -> str:
    return UnicodePrinter().doprint(expr)

