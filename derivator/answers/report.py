"""One answer to one question: the derivation, the point, its value and its check, ready to render."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sympy

from derivator import arguments
from derivator.answers.display import Displayed
from derivator.errors import DerivatorError
from derivator.graph.network import Network, symbol
from derivator.numbers import checking
from derivator.numbers.worked import Worked, worked
from derivator.symbolic.derive import Backward, Derivation, derive

if TYPE_CHECKING:  # the judge and gradient descent are imported when a candidate or --step asks for them
    from derivator.answers.descent import Descent
    from derivator.judge.candidate import Verdict

# `derivative.text` (the derivative in inputs and parameters alone) is left out past this many
# expression-tree nodes: on deep networks it grows exponentially while the node-value form does not.
MAX_EXPANDED_SIZE = 5000


@dataclass(repr=False)
class Report(Displayed):
    derivation: Derivation
    point: dict[str, float]  # the values the target needs (empty when some are missing)
    value: float | None
    check: checking.Check | None
    expanded: sympy.Expr | None  # None when larger than MAX_EXPANDED_SIZE
    missing: list[str]
    candidate: Verdict | None = None
    samples: int = 0  # m, with `data:`: the target is J = (1/m) * sum of the loss, and `value` its derivative
    step: Descent | None = None  # --step RATE: one step of gradient descent on every parameter
    worked: Worked | None = None  # every forward value and delta at the point, when it is known
    given: dict[str, float] = field(default_factory=dict)  # the point as asked for (--at), for more reports of it

    def averaged(self) -> sympy.Expr | None:
        """With data, the derivative of J in parameters alone: each sample's values put in, averaged."""
        net = self.derivation.net
        if self.expanded is None or not net.samples:
            return self.expanded
        if self.samples * self.derivation.expanded_size() > MAX_EXPANDED_SIZE:
            return None
        terms = [self.expanded.xreplace({symbol(k): sympy.Rational(repr(v)) for k, v in s.items()})
                 for s in net.samples]
        return sympy.Add(*terms) / len(terms)

    def __repr__(self) -> str:
        """A short summary: the derivative, its value, the verdicts (the whole is `render_text(report)`)."""
        d = self.derivation
        value = f" = {self.value:.15g}" if self.value is not None else f" (needs {', '.join(self.missing)})"
        check = "" if self.check is None else f", check {'agrees' if self.check.agrees else 'DISAGREES'}"
        cand = "" if self.candidate is None else f", candidate {'agrees' if self.candidate.agrees else 'does not'}"
        return f"<Report ∂{'J' if self.samples else d.of}/∂{d.wrt}{value}{check}{cand}>"

    @property
    def failed(self) -> bool:
        """Whether a check or a candidate disagrees (exit status 1)."""
        return (self.check is not None and not self.check.agrees) or \
            (self.candidate is not None and not self.candidate.agrees)


def derivation(net: Network, wrt: str, of: str | None = None, pass_: Backward | None = None) -> Derivation:
    """The derivation of one answer; with data, of a parameter only (J averages over the samples)."""
    d = derive(net, wrt, of, pass_)
    if net.samples and d.kind != "parameter":
        raise DerivatorError(f"--wrt {wrt}: with 'data', every input and node takes a value per sample; "
                             "differentiate the average with respect to a parameter")
    return d


def judged(d: Derivation, candidate: str, definitions: list[str], point: dict[str, float],
           expr: sympy.Expr | None = None) -> Verdict:
    """The verdict on a candidate (`expr`, when already parsed) at the point, with its diagnosis when wrong:
    one place for `--candidate` and for every row of `--grade`."""
    from derivator.judge.candidate import judge, parse
    from derivator.judge.diagnose import diagnose

    expr = parse(d.net, candidate, definitions) if expr is None else expr
    verdict = judge(d, expr, point, source=" ".join(candidate.split()))  # one line: a --candidate-file may span several
    if not verdict.agrees and not verdict.inconclusive:  # an inconclusive verdict says why itself
        verdict.diagnosis = diagnose(d, verdict.expr, verdict, point)
    return verdict


@arguments.public
def report(net: Network, wrt: str, of: str | None = None, at: Mapping[str, float] | None = None,
           check: bool = False, tolerance: float = checking.RELATIVE_TOLERANCE,
           candidate: str | None = None, definitions: Sequence[str] = (), pass_: Backward | None = None) -> Report:
    """Derive d(of)/d(wrt); evaluate it where the point is known; check it, and a candidate, when asked."""
    at, tolerance = arguments.point(at), arguments.tolerance(tolerance)
    if candidate is not None:
        arguments.text(candidate, "candidate")
    definitions = arguments.texts(definitions, "definitions")
    d = derivation(net, wrt, of, pass_)
    values = checking.point(net, at)
    first = checking.samples(net, values)[0]  # with data, the candidate is judged as one sample's derivative
    names = checking.needed(d)
    missing = [n for n in names if n not in first]
    if check:
        checking.require(d, values)
    result = checking.check(d, values, tolerance) if check else None
    value = result.value if result else (None if missing else checking.derivative_value(d, values))
    expanded = d.expanded() if d.expanded_size() <= MAX_EXPANDED_SIZE else None
    used = {n: values[n] for n in names if n in values}
    verdict = judged(d, candidate, list(definitions), first) if candidate is not None else None
    numbers = worked(net, d.of, values) if not missing else None
    return Report(d, used, value, result, expanded, missing, verdict, len(net.samples), worked=numbers,
                  given=dict(at or {}))

