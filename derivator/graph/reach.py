"""mpmath's elementary functions with bounded work: the primitives' high-precision values.

mpmath's numbers have unbounded exponents, so e^800 and even exp(e^800) are ordinary numbers there.
The cost is in the argument: exp, sin and cos reduce theirs by ln 2 or π, which takes as many extra
bits as the argument has digits before the point, and above about 180 digits of precision mpmath's
exp raises e to the whole argument by repeated squaring instead. exp(e^800) is cheap at 40 digits
and takes minutes at 400; exp(e^22026) never finishes, and tanh of it overflows inside mpmath.

So these functions reduce large arguments themselves (n = ⌊x / ln 2⌋, then 2^n e^(x - n ln 2)),
return the saturated functions' limits where the difference is below the working precision (tanh
of 10^400 is 1 to every digit), and refuse an argument of 2^MAX_MAG or more (about 10^4932) with
OutOfReachError: no precision helps there, and the caller says so instead of climbing.
"""

from __future__ import annotations

import mpmath

MAX_MAG = 16384  # exp, sin and cos take arguments below 2^MAX_MAG (about 10^4932)
SMALL_MAG = 20  # below 2^20 mpmath's own functions are cheap at every precision used


class OutOfReachError(OverflowError):
    """A function's argument is too large to evaluate in bounded work (an overflow everywhere else)."""


def _mag(x) -> int:
    return mpmath.mag(x) if x else -(1 << 30)


def _guard(x, what: str) -> int:
    mag = _mag(x)
    if mag > MAX_MAG:
        raise OutOfReachError(f"{what} of {size(x)}, and arguments past 2^{MAX_MAG} (about 10^4932) are not evaluated")
    return mag


def size(x) -> str:
    """A number briefly: '-1.2e+900', '10^9565' past that, '10^(1.2e+347)' once its exponent is long too."""
    if _mag(x) < 3000:
        return mpmath.nstr(x, 3)
    with mpmath.workprec(60):
        digits = mpmath.log10(abs(x))
        power = str(int(digits)) if digits < 10**15 else f"({mpmath.nstr(digits, 3)})"
        return f"{'-' * (x < 0)}10^{power}"


def exp(x):
    """e^x, in work bounded by MAX_MAG whatever the precision."""
    mag = _guard(x, "exp")
    if mag < SMALL_MAG:
        return mpmath.exp(x)
    with mpmath.workprec(mpmath.mp.prec + mag + 30):  # n ln 2 exact to the working precision
        n = int(mpmath.floor(x / mpmath.ln2))
        r = x - n * mpmath.ln2
    return mpmath.ldexp(mpmath.exp(r), n)


def _saturated(x) -> bool:
    """e^-|x| is below the working precision: a saturated function equals its limit to every digit."""
    return abs(x) > mpmath.mp.prec


def tanh(x):
    return mpmath.sign(x) * mpmath.mpf(1) if _saturated(x) else mpmath.tanh(x)


def sech(x):
    return 2 * exp(-abs(x)) if _saturated(x) else mpmath.sech(x)


def sigmoid(x):
    return mpmath.mpf(1) if x > 0 and _saturated(x) else 1 / (1 + exp(-x))


def softplus(x):
    return x if x > 0 and _saturated(x) else mpmath.log1p(exp(x))


def expm1(x):
    return mpmath.expm1(x) if x > -1 else exp(x) - 1  # no cancellation below -1


def sin(x):
    _guard(x, "sin")
    return mpmath.sin(x)


def cos(x):
    _guard(x, "cos")
    return mpmath.cos(x)


def power(base, e):
    """base^e for base > 0 and a non-integer e, as exp(e log base): its exp reduced as above."""
    return exp(e * mpmath.log(base))
