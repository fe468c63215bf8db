"""Numbers from SymPy expressions without `lambdify` (which `exec`s generated code): a tree walk.

Two backends: float64 (`math`, fast, for finite differences) and mpmath at a chosen precision
(for values that must be right when float64 overflows or cancels). Shared subexpressions are
evaluated once, so the cost is linear in the expression's distinct parts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import mpmath
import sympy

from derivator.graph import reach
from derivator.graph.primitives import FLOAT, MP


class UndefinedError(ArithmeticError):
    """The expression has no finite value here (log of 0, overflow in float64, 0/0, ...)."""


class UnreachableError(UndefinedError):
    """A value too large for mpmath in bounded work (exp of 10^5000): no precision would give it."""


def undefined(err: ArithmeticError | ValueError) -> UndefinedError:
    """The error to raise for an arithmetic failure: UnreachableError when mpmath's reach was passed."""
    return UnreachableError(str(err)) if isinstance(err, reach.OutOfReachError) else UndefinedError(str(err))


def value(expr: sympy.Expr, env: Mapping[sympy.Symbol, float], precise: bool = False) -> float:
    """The value of `expr` with symbols from `env`: float64, or mpmath at its current precision."""
    table = MP if precise else FLOAT
    num = mpmath.mpf if precise else float
    # `env` may also give whole subexpressions (a saturated unit's 1 - o, computed from z): they win.
    memo: dict[sympy.Expr, object] = {k: num(v) for k, v in env.items() if not k.is_Symbol}

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
            r = table[e.func](*[ev(a) for a in e.args])
            if isinstance(r, (complex, mpmath.mpc)):  # mpmath's log of a negative number is complex
                raise ValueError("complex value")
        else:
            raise UndefinedError(f"cannot evaluate {e.func.__name__}")
        memo[e] = r
        return r

    try:
        result = ev(expr)
    except (ZeroDivisionError, OverflowError, ValueError) as err:
        raise undefined(err) from None
    if isinstance(result, complex) or (precise and isinstance(result, mpmath.mpc)):
        raise UndefinedError("complex value")
    if not (mpmath.isfinite(result) if precise else math.isfinite(result)):
        raise UndefinedError("not finite")
    return result


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
