"""Forward passes remembered while grading a class (`remembering`), and nowhere else.

Grading judges hundreds of candidates against one derivative at the same points (judge/points.py
draws them with a fixed seed), so within `remembering()` each forward pass is run once per network,
point, precision, nudge and target. Outside it nothing is kept, and memory stays bounded inside it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

import mpmath

_REMEMBERED: ContextVar[dict | None] = ContextVar("remembered forward passes", default=None)
MAX_REMEMBERED = 20_000  # passes kept at once; past this the memo starts afresh


@contextmanager
def remembering() -> Iterator[None]:
    """Within: forward passes remembered (see the module's docstring)."""
    token = _REMEMBERED.set({})
    try:
        yield
    finally:
        _REMEMBERED.reset(token)


def remembered(compiled: object, values: Mapping[str, object], precise: bool, nudge: tuple | None, target: bool,
               run: Callable[[], tuple[dict, object]]) -> tuple[dict, object]:
    """`run()`'s (env, target value), or the one remembered for the same pass; the env is a copy each
    time, since a caller may add to it."""
    memo = _REMEMBERED.get()
    if memo is None:
        return run()
    shift = None if nudge is None else (nudge[0], type(nudge[1]), nudge[1])
    key = (compiled, mpmath.mp.prec if precise else 0, shift, target,  # 0.5 and mpf(0.5): equal, not the same
           frozenset((k, type(v), v) for k, v in values.items()))
    if key not in memo:
        if len(memo) >= MAX_REMEMBERED:
            memo.clear()
        memo[key] = run()
    env, result = memo[key]
    return dict(env), result
