"""The precision ladder: a value computed in mpmath at rising precision until two in a row agree.

A saturated unit defeats any one precision, so none is trusted alone; the ladder stops at once on
numbers out of reach (graph/reach), where no precision would help.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar

import mpmath

from derivator.errors import DerivatorError
from derivator.numbers.evaluate import PRECISIONS, UndefinedError, UnreachableError

T = TypeVar("T")
PRECISE_DIGITS = PRECISIONS  # mpmath precisions, tried in turn until a value is finite


class NoAgreementError(ArithmeticError):
    """No two precisions in a row agreed (or none reached `least`): the value is noise, not a number."""


def stable(compute: Callable[[], T], agree: Callable[[T, T], bool], failure: str,
           least: int = 0, first: T | None = None, strict: bool = False) -> tuple[T, int]:
    """`compute()` under mpmath at rising precision, trusted once two precisions in a row agree.

    A saturated unit defeats a fixed precision: z = 40 leaves 1e-18 of 1, so o(1 - o) cancels at 40
    digits, and at z = 200 log(1 - o) is undefined there though finite in mathematics. Only a value
    undefined at every precision is an error (`failure`). `least` skips precisions known too low.
    `compute` returns plain numbers (floats, or a structure of them) for `agree` to compare. `first`,
    the same computed in float64 where that is cheap, counts as the precision below the first.
    `strict` (for a check, whose numbers must be right or absent): where no two agree, or `least` is
    past the top, raise NoAgreementError instead of returning the last value."""
    previous = first
    tried = [d for d in PRECISE_DIGITS if d >= least]
    if not tried and strict:
        raise NoAgreementError(f"it needs {least} digits, past the precision ladder's {PRECISE_DIGITS[-1]}")
    tried = tried or list(PRECISE_DIGITS[-2:])
    for digits in tried:
        with mpmath.workdps(digits):
            try:
                result = compute()
            except UnreachableError as err:  # no precision brings it nearer: say so at once
                raise DerivatorError(f"the numbers at the point are out of reach: they need {err}") from None
            except UndefinedError:
                continue
        # Equal results agree, infinities included (beyond float64 at both precisions: inf - inf is nan);
        # but not for a check, where a derivative that is finite can be inf only as noise.
        if strict and isinstance(result, float) and math.isinf(result):
            previous = result
            continue
        if previous is not None and (result == previous or agree(result, previous)):
            return result, digits
        previous = result
    if previous is None or previous is first:  # float64 alone is not trusted
        raise DerivatorError(failure)
    if strict:
        raise NoAgreementError(f"no two of {', '.join(map(str, tried))} digits agree")
    return previous, tried[-1]
