"""The target along one variable, J(θ + t), and numbers that are trusted only once they settle.

Every numerical derivative differentiates this one function: the target over the samples (their
mean, or their sum with `reduction: sum`) plus the penalty, with `--wrt` moved by t. The check's
central differences, its mpmath derivative and the one-sided derivatives that tell a kink from a
smooth point all read it, so none of them adds the penalty or the samples its own way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import mpmath

from derivator.errors import DerivatorError
from derivator.numbers import sweep
from derivator.numbers.evaluate import PRECISIONS, UndefinedError, UnreachableError, short
from derivator.numbers.ladder import NoAgreementError
from derivator.numbers.penalty import penalty_value
from derivator.symbolic.derive import Derivation

DIGITS = PRECISIONS
NOISE_DROP = 1e-20  # a value this many times smaller at the next precision was rounding, not a value


def combine(net, xs: list) -> float:
    """The target over samples is J = (1/m) Σ (or Σ, with `reduction: sum`): so are its derivatives."""
    m = len(xs) if net.reduction == "mean" else 1
    try:
        return math.fsum(xs) / m
    except (OverflowError, ValueError):  # terms near float64's limit: mpmath adds them without overflow
        return float(mpmath.fsum(xs) / m)


def along(d: Derivation, points: list[Mapping[str, float]], precise: bool = True, digits: bool = False) -> Callable:
    """t -> J(θ + t), θ being `--wrt` (an input, a parameter, a node's value o_v or z_v).

    With `digits`, a value that cancelled down to too few digits (evaluate.short) is UndefinedError, so
    that a precision ladder (`settle`) passes over it: for a numerical derivative, where t is never 0.

    The penalty is added once, after the reduction over the samples, and only when it names θ."""
    c = sweep.compiled(d.net, d.of)
    m = len(points) if d.net.reduction == "mean" else 1
    penalised = d.of == "loss" and d.kind == "parameter" and any(s.name == d.wrt for s in d.net.penalty.free_symbols)
    total = mpmath.fsum if precise else math.fsum

    def f(t):
        lost: list[float] | None = [] if precise and digits else None
        j = total(c.forward(p, precise, nudge=(d.wrt, t), lost=lost).target for p in points) / m
        if lost and short(lost):  # log Σ e^o - o at o = 710 is 710 - 710: rounding, and its quotient 0
            raise UndefinedError("too few digits left in the target: a higher precision decides")
        if penalised:
            j = j + penalty_value(d.net, {**points[0], d.wrt: points[0][d.wrt] + t}, precise)
        return j

    return f


def settle(compute: Callable[[], float], agree: Callable[[float, float], bool], least: int = 0,
           zero: bool = False, strict: bool = False) -> tuple[float, int]:
    """`compute()` (a float) at rising precision until two precisions in a row agree.

    With `zero`, a value that drops by NOISE_DROP twice running is rounding around a true 0, and 0 it
    is (a numerical derivative of a function flat in θ gives 1e-41, 1e-121, 1e-401: never two
    agreeing numbers). A precision where `compute` raises UndefinedError is skipped (it also raises
    it where its value lost too many digits); at the last one whatever came last stands, or with
    `strict` (a check, whose numbers must be right or absent) NoAgreementError unless it came from the
    top precision. Numbers out of reach
    (graph/reach: exp of 10^5000) stop the climb at once: no precision brings them nearer."""
    tried = [p for p in DIGITS if p >= least] or DIGITS[-2:]
    seen: list[tuple[float, int]] = []
    for digits in tried:
        with mpmath.workdps(digits):
            try:
                x = compute()
            except UnreachableError as err:
                raise DerivatorError(f"the numbers at the point are out of reach: they need {err}") from None
            except UndefinedError:
                continue
        if seen and agree(x, seen[-1][0]):
            return x, digits
        if zero and len(seen) >= 2 and _drops(seen[-2][0], seen[-1][0]) and _drops(seen[-1][0], x):
            return 0.0, digits
        seen.append((x, digits))
    if not seen:
        raise UndefinedError("no finite value at any precision")
    # At the top precision a difference quotient resolves all but derivatives 2,400 digits below their
    # target: its value stands (a true 1e-650 is 0 in float64, as the derivative's own value is). Below
    # it, or as an inf, it is no number for a check.
    if strict and (seen[-1][1] != DIGITS[-1] or math.isinf(seen[-1][0])):
        raise NoAgreementError(f"no two of {', '.join(str(p) for p in tried)} digits agree")
    return seen[-1]


def _drops(before: float, after: float) -> bool:
    return abs(after) <= NOISE_DROP * abs(before)
