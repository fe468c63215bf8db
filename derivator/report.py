"""One answer to one question: the derivation, the point, its value and its check, ready to render."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sympy

from . import check as checking
from .candidate import Verdict, judge, parse
from .derive import Derivation, derive
from .diagnose import diagnose
from .network import Network

# `derivative.text` (the derivative in inputs and parameters alone) is left out past this many
# expression-tree nodes: on deep networks it grows exponentially while the node-value form does not.
MAX_EXPANDED_SIZE = 5000


@dataclass
class Report:
    derivation: Derivation
    point: dict[str, float]  # the values the target needs (empty when some are missing)
    value: float | None
    check: checking.Check | None
    expanded: sympy.Expr | None  # None when larger than MAX_EXPANDED_SIZE
    missing: list[str]
    candidate: Verdict | None = None

    @property
    def failed(self) -> bool:
        """Whether a check or a candidate disagrees (exit status 1)."""
        return (self.check is not None and not self.check.agrees) or \
            (self.candidate is not None and not self.candidate.agrees)


def report(net: Network, wrt: str, of: str | None = None, at: Mapping[str, float] | None = None,
           check: bool = False, tolerance: float = checking.RELATIVE_TOLERANCE,
           candidate: str | None = None, definitions: Sequence[str] = ()) -> Report:
    """Derive d(of)/d(wrt); evaluate it where the point is known; check it, and a candidate, when asked."""
    d = derive(net, wrt, of)
    values = checking.point(net, at)
    names = checking.needed(d)
    missing = [n for n in names if n not in values]
    if check:
        checking.require(d, values)
    result = checking.check(d, values, tolerance) if check else None
    value = result.value if result else (None if missing else checking.derivative_value(d, values))
    expanded = d.expanded() if d.expanded_size() <= MAX_EXPANDED_SIZE else None
    used = {n: values[n] for n in names if n in values}
    verdict = None
    if candidate is not None:
        verdict = judge(d, parse(net, candidate, list(definitions)), values, source=candidate)
        if not verdict.agrees:
            verdict.diagnosis = diagnose(d, verdict.expr, verdict, values)
    return Report(d, used, value, result, expanded, missing, verdict)
