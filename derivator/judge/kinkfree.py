"""Whether a point on a kink still decides: the kinked steps there may not matter to the values at all.

Relu before max pooling ties a window at 0 wherever all its z are negative: every max difference sits on
its kink over a whole region, so without this no point of that region would count, and a candidate wrong
only there (one that forgets the relu's step) would be judged on the other points alone. Each step whose
argument is on its kink is replaced by a free value in [0, 1]; when neither the candidate nor the
derivative changes for 0, 1 and two random values of those, they take one value whatever convention a
library chooses at the tie (every such step is multiplied by a factor that is 0 there), and the point is
evidence like any other.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

import mpmath
import sympy

from derivator.judge.points import AT_KINK
from derivator.numbers.evaluate import UndefinedError, value

CONVENTIONS = 4  # all 0, all 1, and two random assignments: a multilinear form constant on them is constant


def matters(exprs: list[sympy.Expr], env: Mapping) -> bool:
    """True when some kinked step on its kink may change one of `exprs` (or it cannot be told)."""
    free: dict[sympy.Expr, sympy.Symbol] = {}
    for e in exprs:
        for atom in e.atoms(sympy.Function):
            try:
                on = abs(value(atom.args[0], env, precise=True)) <= AT_KINK if atom.args else False
            except (UndefinedError, KeyError, TypeError):
                return True
            if not on:
                continue
            if not isinstance(atom, sympy.Heaviside):
                return True  # a sign or leaky step on its kink: leave it a kink
            free.setdefault(atom, sympy.Dummy(f"u{len(free)}"))
    if not free:
        return True
    rng = random.Random(len(free))
    assignments = [[0] * len(free), [1] * len(free)] + [[rng.random() for _ in free] for _ in range(CONVENTIONS - 2)]
    for e in exprs:
        swapped = e.xreplace(free)
        seen = []
        for values in assignments:
            here = dict(env)
            here.update({u: mpmath.mpf(v) for u, v in zip(free.values(), values, strict=True)})
            try:
                seen.append(value(swapped, here, precise=True))
            except (UndefinedError, KeyError):
                return True
        if any(abs(s - seen[0]) > 1e-12 * max(abs(seen[0]), abs(s)) and s != seen[0] for s in seen[1:]):
            return True
    return False
