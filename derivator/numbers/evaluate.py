"""Numbers from SymPy expressions without `lambdify` (which `exec`s generated code): a tree walk.

Two backends: float64 (`math`, fast, for finite differences) and mpmath at a chosen precision
(for values that must be right when float64 overflows or cancels). Shared subexpressions are
evaluated once, so the cost is linear in the expression's distinct parts.

In mpmath the walk can also estimate how many digits the value lost (`lost`): a sum whose terms
cancel loses the digits by which its result is smaller than its largest term (1 - σ(1000) loses all
of them at any precision below 435 digits, and its 0 means nothing), and a function multiplies its
argument's error by its condition number. A caller that needs a value to mean something raises the
precision until enough digits are left, or says it does not know.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import mpmath
import sympy

from derivator.graph import primitives as prim
from derivator.graph import reach
from derivator.graph.primitives import FLOAT, MP

PRECISIONS = (40, 120, 400, 1200)  # mpmath digits, tried in turn by every caller that rises
GOOD_DIGITS = 20  # a value with fewer digits left than this waits for a higher precision
LOST_ALL = math.inf  # the digits lost by a result that is nothing but rounding (1 - 1 for 1 - σ(1000))
# Functions of a sign: exact where the sign is known, unknown where it is not.
_STEPS = (sympy.Heaviside, sympy.sign, prim.leaky_step)
# Functions whose value follows an argument (or picks one): the argument's error, no worse.
_PIECES = (sympy.Abs, prim.relu, prim.leaky_relu, prim.elu, prim.maximum, prim.minimum)


class Env(dict):
    """Symbols' (and some subexpressions') values, with the subexpressions kept apart once: `value` reads
    them for every expression it evaluates, and an env of a convolution has tens of thousands of symbols."""

    def __init__(self, values):
        super().__init__(values)
        self.parts = {k: v for k, v in self.items() if not k.is_Symbol}


class UndefinedError(ArithmeticError):
    """The expression has no finite value here (log of 0, overflow in float64, 0/0, ...)."""


class UnreachableError(UndefinedError):
    """A value too large for mpmath in bounded work (exp of 10^5000): no precision would give it."""


def undefined(err: ArithmeticError | ValueError) -> UndefinedError:
    """The error to raise for an arithmetic failure: UnreachableError when mpmath's reach was passed."""
    return UnreachableError(str(err)) if isinstance(err, reach.OutOfReachError) else UndefinedError(str(err))


def value(expr: sympy.Expr, env: Mapping[sympy.Symbol, float], precise: bool = False,
          lost: list | None = None, memo: dict | None = None) -> float:
    """The value of `expr` with symbols from `env`: float64, or mpmath at its current precision.

    With `lost` (a list) and `precise`, the estimated number of digits the result lost to
    cancellation and conditioning is appended to it (`LOST_ALL` when nothing is left)."""
    table = MP if precise else FLOAT
    num = mpmath.mpf if precise else float
    # `env` may also give whole subexpressions (a saturated unit's 1 - o, computed from z): they win.
    if memo is None:  # a caller evaluating many expressions over one env passes one memo to them all
        parts = getattr(env, "parts", None)  # an Env knows its subexpressions: a large env is not scanned per call
        memo = {k: num(v) for k, v in (env.items() if parts is None else parts.items()) if not k.is_Symbol}
    track = precise and lost is not None
    err: dict[sympy.Expr, float] = dict.fromkeys(memo, 0.0) if track else {}

    def ev(e: sympy.Expr):
        if e in memo:
            return memo[e]
        if e.is_Symbol:
            if e not in env:
                raise KeyError(e.name)
            r = num(env[e])
        elif e.is_Rational:
            r = num(e.p) / num(e.q) if e.q != 1 else num(e.p)
        elif e.is_Float:
            r = num(str(e)) if precise else float(e)
        elif e.is_Add:
            r = math.fsum(ev(a) for a in e.args) if not precise else mpmath.fsum(ev(a) for a in e.args)
        elif e.is_Mul:
            r = num(1)
            for a in e.args:
                r = r * ev(a)
        elif e.is_Pow:
            r = _power(ev(e.base), e.exp, ev, precise)
        elif e.func in table:
            args = [ev(a) for a in e.args]
            r = table[e.func](*args)  # in mpmath, in bounded work (graph/reach: exp of 10^5000 is refused)
            if isinstance(r, (complex, mpmath.mpc)):  # mpmath's log of a negative number is complex
                raise ValueError("complex value")
        else:
            raise UndefinedError(f"cannot evaluate {e.func.__name__}")
        memo[e] = r
        if track:
            err[e] = _lost(e, r, memo, err)
        return r

    try:
        result = ev(expr)
    except (ZeroDivisionError, OverflowError, ValueError) as err:
        raise undefined(err) from None
    if isinstance(result, complex) or (precise and isinstance(result, mpmath.mpc)):
        raise UndefinedError("complex value")
    if not (mpmath.isfinite(result) if precise else math.isfinite(result)):
        raise UndefinedError("not finite")
    if track:
        lost.append(err.get(expr, 0.0))
    return result


def short(lost: list[float]) -> bool:
    """Whether values that lost these digits have too few left at the current precision, and a
    higher precision is still to come (at the highest, what is computed stands)."""
    return bool(lost) and max(lost) > mpmath.mp.dps - GOOD_DIGITS and mpmath.mp.dps < PRECISIONS[-1]


def _lost(e: sympy.Expr, r, memo: dict, err: dict) -> float:
    """Digits lost by `e` (value `r`) beyond its arguments' own losses: a first-order estimate that
    errs on the side of losing more, so a caller raises the precision rather than trust noise."""
    if not e.args or e.is_Number:
        return 0.0
    vals = [memo.get(a, 0) for a in e.args]  # an integer exponent is never evaluated on its own
    errs = [err.get(a, 0.0) for a in e.args]
    if e.is_Add:
        if r == 0:
            return LOST_ALL if any(v != 0 for v in vals) else max(errs)
        # a term that is 0 by rounding (p - 1 at p = 1 - 1e-308) hides a value of unknown size: its loss stands
        hidden = max((x for v, x in zip(vals, errs, strict=True) if v == 0), default=0.0)
        return max(hidden, *(x + _digits(abs(v) / abs(r)) for v, x in zip(vals, errs, strict=True) if v != 0))
    if e.is_Mul:
        zeros = [x for v, x in zip(vals, errs, strict=True) if v == 0]
        return min(zeros) if zeros else max(errs) + _digits(len(errs))
    if e.is_Pow:
        base, exponent = vals
        if e.exp.is_Integer:
            return errs[0] + _digits(abs(int(e.exp)))
        return max(errs[0] + _digits(abs(exponent)),
                   errs[1] + _digits(abs(exponent * mpmath.log(base))) if base > 0 else 0.0)
    x, worst = vals[0], max(errs)
    if isinstance(e, _STEPS):
        return LOST_ALL if errs[0] >= mpmath.mp.dps - 1 else 0.0  # the sign itself is rounding
    if isinstance(e, _PIECES):
        return worst
    if e.func == sympy.log:
        return LOST_ALL if r == 0 else worst + _digits(1 / abs(r))  # log near 1 amplifies x's error
    if e.func in (sympy.sin, sympy.cos):
        return LOST_ALL if r == 0 else worst + _digits(abs(x) / abs(r))
    return worst + _digits(abs(x))  # exp, σ, tanh, softplus, elu's step: about |x| times x's error


def _digits(factor) -> float:
    """log10 of an error's growth factor, 0 when it does not grow."""
    return float(mpmath.log10(factor)) if factor > 1 else 0.0


def _power(base, exponent: sympy.Expr, ev, precise: bool):
    if isinstance(base, (complex, mpmath.mpc)):
        raise ValueError("complex value")
    if exponent.is_Integer:
        n = int(exponent)
        if n < 0 and base == 0:
            raise ZeroDivisionError("division by zero")
        return base ** n
    if exponent == sympy.S.Half:
        if base < 0:
            raise ValueError("square root of a negative number")
        return mpmath.sqrt(base) if precise else math.sqrt(base)
    e = ev(exponent)
    if base < 0:
        raise ValueError("negative number to a fractional power")
    if base == 0 and e < 0:
        raise ZeroDivisionError("division by zero")
    if not precise:
        return math.pow(base, e)
    return reach.power(base, e) if base != 0 else mpmath.mpf(0 if e > 0 else 1)
