"""The primitive functions, one record each: SymPy function, numbers, printed forms, kink.

Everything that evaluates or prints a function looks it up here: the tree-walk evaluator (float64
and mpmath), the text, LaTeX and SymPy-syntax printers, Desmos, and the generated Python module. A
primitive SymPy lacks is a `sympy.Function` subclass here whose `fdiff` gives its derivative, so
SymPy's own chain rule runs over it (the tests' cross-check relies on it). A class without a record
fails at import, not as a wrong answer at run time.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import mpmath
import sympy
from sympy import S

from derivator.graph import reach

Form = Callable[[list[str]], str]  # the printed arguments in, the printed call out


# -- the SymPy functions SymPy lacks, each with its derivative (fdiff) ---------------------------------
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

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return S.Zero  # flat on each side of its kink at 0

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

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return self - sympy.Heaviside(self.args[0], 0)  # alpha exp(x) below 0, 0 above

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
    # Between distinct plain symbols (a max pooling window) no step can evaluate, and asking SymPy's
    # assumptions whether it does costs a millisecond a step: 28x28 pooling has thousands.
    if all(b.is_Symbol for b in args) and len(set(args)) == len(args):  # built as evaluate=False would, unchecked
        return sympy.Mul(*[sympy.Basic.__new__(sympy.Heaviside, sign * (a - b), sympy.S.Zero if j < i
                                               else sympy.S.One) for j, b in enumerate(args) if j != i])
    return sympy.Mul(*[sympy.Heaviside(sign * (a - b), 0 if j < i else 1) for j, b in enumerate(args) if j != i])


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


# -- numbers ---------------------------------------------------------------------------------------
def _float_sigmoid(x: float) -> float:  # no overflow on either side: exp of a non-positive number only
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def _step(one, zero):  # Heaviside(x, h0): 1 above 0, h0 at 0, 0 below
    return lambda x, h0=zero: one if x > 0 else (h0 * one if x == 0 else zero)


def _tie(xs: list[float]) -> bool:
    """Whether the two largest of the arguments are equal (to the kink tolerance)."""
    top = sorted(xs, reverse=True)
    return len(top) > 1 and abs(top[0] - top[1]) <= KINK_TOLERANCE * max(1.0, abs(top[0]))


KINK_TOLERANCE = 1e-9  # a kinked function's argument this close to its kink counts as at the kink


@dataclass(frozen=True)
class Primitive:
    """One function: its SymPy class, its float64 and mpmath values, and its printed forms.

    `forms` maps a printer's key (text, tex, code, desmos, python) to how that printer writes a call
    from its printed arguments; a printer without an entry uses SymPy's own form. `kink` says, from
    the arguments' values, whether the function sits on a kink there (relu at 0, max at a tie)."""

    fn: type
    name: str  # in formulas and messages
    float_: Callable
    mp: Callable
    forms: dict[str, Form] = field(default_factory=dict)
    kink: Callable[[list[float]], bool] | None = None
    formula: bool = True  # usable by name in a formula
    python: str = ""  # the helper the generated module needs, if any


def _call(name: str, *first: str) -> Form:
    return lambda a: f"{name}({', '.join([*first, *a])})"


def _tex(op: str) -> Form:
    return lambda a: rf"{op}\left({', '.join(a)}\right)"


GEQ = r"\geq "


def _above(a: list[str], strict: str, inclusive: str) -> str:
    """Heaviside(x, 1) is 1 at 0 too: [x ≥ 0]; Heaviside(x) and Heaviside(x, 0) are [x > 0]."""
    return inclusive if a[1:] == ["1"] else strict


def _at_zero(xs: list[float]) -> bool:
    return abs(xs[0]) <= KINK_TOLERANCE


def _cases(a: list[str], below: str) -> str:
    return rf"\begin{{cases}} 1 & {a[0]} > 0 \\ {below} & \text{{otherwise}} \end{{cases}}"


def _desmos_cases(a: list[str], above, below) -> str:
    return rf"\left\{{{a[0]}>0:{above},{below}\right\}}"


def _extreme(name: str) -> dict[str, Form]:
    """max and min: SymPy's Max and Min in code, \\max and \\min in LaTeX and Desmos."""
    return {"code": _call(name.capitalize()), "text": _call(name), "tex": _tex(rf"\{name}"),
            "desmos": _tex(rf"\{name}"), "python": _call(name)}


_mpf = mpmath.mpf

PRIMITIVES: dict[type, Primitive] = {p.fn: p for p in [
    Primitive(sympy.exp, "exp", math.exp, reach.exp),
    Primitive(sympy.log, "log", math.log, mpmath.log,
              {"desmos": lambda a: rf"\ln\left({a[0]}\right)"}),
    Primitive(sympy.tanh, "tanh", math.tanh, reach.tanh),
    Primitive(sympy.sin, "sin", math.sin, reach.sin),
    Primitive(sympy.cos, "cos", math.cos, reach.cos),
    Primitive(sympy.Abs, "abs", abs, abs, kink=_at_zero),
    Primitive(sympy.sech, "sech", lambda x: 2 * math.exp(-abs(x)) / (1 + math.exp(-2 * abs(x))), reach.sech,
              {"python": _call("_sech", "M")}, formula=False,
              python="def _sech(M, x):\n    e = M.exp(-abs(x))\n    return 2 * e / (1 + e * e)\n"),
    Primitive(sympy.sign, "sign", lambda x: float((x > 0) - (x < 0)), mpmath.sign, formula=False),
    Primitive(sympy.Heaviside, "step", _step(1.0, 0.0), _step(_mpf(1), _mpf(0)), {
        "text": lambda a: f"[{a[0]} {_above(a, '>', '≥')} 0]",
        "tex": lambda a: rf"\left[{a[0]} {_above(a, '>', GEQ)} 0\right]",
        "desmos": lambda a: rf"\left\{{{a[0]}{_above(a, '>', GEQ)}0:1,0\right\}}",
        "python": _call("_step")}, formula=False,
        python="def _step(x, h0=0.0):\n    return 1.0 if x > 0 else (h0 if x == 0 else 0.0)\n"),
    Primitive(sigmoid, "sigmoid", _float_sigmoid, reach.sigmoid, {
        "text": _call("σ"), "tex": _tex(r"\sigma"), "code": lambda a: f"(1/(1 + exp(-({a[0]}))))",
        "desmos": _call("s"), "python": _call("_sigmoid", "M")},
        python="def _sigmoid(M, x):\n    if x >= 0:\n        return 1 / (1 + M.exp(-x))\n"
               "    e = M.exp(x)\n    return e / (1 + e)\n"),
    Primitive(softplus, "softplus", lambda x: max(x, 0.0) + math.log1p(math.exp(-abs(x))),
              reach.softplus, {
        "tex": _tex(r"\operatorname{softplus}"), "code": lambda a: f"log(1 + exp({a[0]}))",
        "desmos": lambda a: rf"\ln\left(1+e^{{{a[0]}}}\right)", "python": _call("_softplus", "M")},
        python="def _softplus(M, x):\n    return max(x, 0) + M.log1p(M.exp(-abs(x)))\n"),
    Primitive(relu, "relu", lambda x: x if x > 0 else 0.0, lambda x: x if x > 0 else _mpf(0), {
        "tex": _tex(r"\operatorname{relu}"), "code": lambda a: f"Max(0, {a[0]})",
        "desmos": lambda a: rf"\max\left(0,{a[0]}\right)", "python": _call("_relu")}, kink=_at_zero,
        python="def _relu(x):\n    return x if x > 0 else 0.0\n"),
    Primitive(leaky_relu, "leaky_relu", lambda x, s: x if x > 0 else s * x, lambda x, s: x if x > 0 else s * x, {
        "tex": lambda a: rf"\operatorname{{lrelu}}_{{{a[1]}}}\left({a[0]}\right)",
        "code": lambda a: f"Piecewise(({a[0]}, {a[0]} > 0), ({a[1]}*({a[0]}), True))",
        "desmos": lambda a: _desmos_cases(a, a[0], rf"{a[1]}\cdot \left({a[0]}\right)"),
        "python": _call("_leaky_relu")}, kink=_at_zero, formula=False,
        python="def _leaky_relu(x, s):\n    return x if x > 0 else s * x\n"),
    Primitive(leaky_step, "leaky_step", lambda x, s: 1.0 if x > 0 else s, lambda x, s: _mpf(1) if x > 0 else s, {
        "text": lambda a: f"(1 if {a[0]} > 0 else {a[1]})", "tex": lambda a: _cases(a, a[1]),
        "code": lambda a: f"Piecewise((1, {a[0]} > 0), ({a[1]}, True))",
        "desmos": lambda a: _desmos_cases(a, 1, a[1]), "python": _call("_leaky_step")}, formula=False,
        python="def _leaky_step(x, s):\n    return 1.0 if x > 0 else s\n"),
    Primitive(elu, "elu", lambda x, a: x if x > 0 else a * math.expm1(x),
              lambda x, a: x if x > 0 else a * reach.expm1(x), {
        "tex": lambda a: rf"\operatorname{{elu}}_{{{a[1]}}}\left({a[0]}\right)",
        "code": lambda a: f"Piecewise(({a[0]}, {a[0]} > 0), ({a[1]}*(exp({a[0]}) - 1), True))",
        "desmos": lambda a: _desmos_cases(a, a[0], rf"{a[1]}\cdot \left(e^{{{a[0]}}}-1\right)"),
        "python": _call("_elu", "M")}, kink=lambda xs: abs(xs[0]) <= KINK_TOLERANCE and xs[1] != 1,
        formula=False, python="def _elu(M, x, a):\n    return x if x > 0 else a * M.expm1(x)\n"),
    Primitive(elu_step, "elu_step", lambda x, a: 1.0 if x > 0 else a * math.exp(x),
              lambda x, a: _mpf(1) if x > 0 else a * reach.exp(x), {
        "text": lambda a: f"(1 if {a[0]} > 0 else {a[1]} exp({a[0]}))",
        "tex": lambda a: _cases(a, rf"{a[1]} e^{{{a[0]}}}"),
        "code": lambda a: f"Piecewise((1, {a[0]} > 0), ({a[1]}*exp({a[0]}), True))",
        "desmos": lambda a: _desmos_cases(a, 1, rf"{a[1]}e^{{{a[0]}}}"), "python": _call("_elu_step", "M")},
        formula=False, python="def _elu_step(M, x, a):\n    return 1.0 if x > 0 else a * M.exp(x)\n"),
    Primitive(maximum, "max", lambda *xs: max(xs), lambda *xs: max(xs), _extreme("max"), kink=_tie),
    Primitive(minimum, "min", lambda *xs: min(xs), lambda *xs: min(xs), _extreme("min"),
              kink=lambda xs: _tie([-x for x in xs])),
]}
FLOAT = {fn: p.float_ for fn, p in PRIMITIVES.items()}
MP = {fn: p.mp for fn, p in PRIMITIVES.items()}
KINKED = tuple(fn for fn, p in PRIMITIVES.items() if p.kink is not None)
# By name, for formulas: `sqrt` is a power in SymPy, not a function class, so it is added here.
FUNCTIONS: dict[str, Callable[..., sympy.Expr]] = {
    **{p.name: p.fn for p in PRIMITIVES.values() if p.formula}, "sqrt": sympy.sqrt}
VARIADIC = {"max", "min"}  # take two or more arguments


def check_table() -> None:
    """Every primitive class defined here has a record, and every record its numbers."""
    defined = [v for v in globals().values() if isinstance(v, type) and issubclass(v, sympy.Function)
               and v.__module__ == __name__ and not v.__name__.startswith("_")]
    missing = [c.__name__ for c in defined if c not in PRIMITIVES]
    if missing:
        raise ImportError(f"primitives without a record: {missing}")


check_table()
