"""Every parameter at once (`--wrt all`, or a whole matrix's entries): one backward pass, shared deltas.

Symbolically each derivative is a sum over the places its parameter is used, `δ_v o_u` for a weight
and `δ_v` for a bias, with the deltas of the one recursion. Numerically one reverse sweep (`sweep`)
gives them all, at rising precision until two agree. Nothing is derived or evaluated per parameter,
except by `--check`, whose numerical derivative needs two forward passes for each.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import mpmath
import sympy

from derivator import arguments
from derivator.answers.display import Displayed
from derivator.errors import DerivatorError
from derivator.graph import order
from derivator.graph.equations import resolve_of
from derivator.graph.network import Network
from derivator.numbers import checking, kinks, sweep
from derivator.numbers.evaluate import UndefinedError
from derivator.numbers.penalty import penalty_difference, penalty_gradient, penalty_value
from derivator.numbers.worked import Worked, worked
from derivator.symbolic.derive import Backward, backward, derive
from derivator.symbolic.nested import ONE, Prod, size, total

Expr = sympy.Expr

MAX_ROW_FACTORS = 40  # a row prints its node-value form when it has at most this many factors
# `--check` costs two forward passes per parameter and sample: past this many multiply-adds in all,
# an evenly spaced subset of the parameters is checked, and the output says how many.
MAX_CHECK_WORK = 10_000_000


@dataclass
class Row:
    name: str
    uses: list[tuple[str | None, Expr]]  # (node v, local) for each use: δ_v local; (None, ∂penalty/∂p)
    nested: Prod  # in node values
    value: float | None = None
    check: checking.Check | None = None


@dataclass(repr=False)
class Gradient(Displayed):
    """The derivative of one target with respect to many parameters."""

    net: Network
    of: str
    name: str  # "all", or a whole matrix such as W2
    rows: list[Row]
    backward: Backward
    point: dict[str, float]
    missing: list[str]
    target: float | None = None
    layout: list[list[str]] | None = None  # a matrix's entries, laid out like it
    samples: int = 0
    step: object = None  # --step RATE: a descent.Descent (which imports this module)
    worked: Worked | None = None  # every forward value and delta at the point
    _sizes: dict = field(default_factory=dict, repr=False)  # nested.size's memo, shared by the rows

    def __repr__(self) -> str:
        """A short summary: the target and the first few derivatives."""
        shown = ", ".join(f"{r.name} = {r.value:.6g}" if r.value is not None else r.name for r in self.rows[:4])
        more = f", ... ({len(self.rows)} in all)" if len(self.rows) > 4 else ""
        return f"<Gradient of {'J' if self.samples else self.of} by {self.name}: {shown}{more}>"

    @property
    def failed(self) -> bool:
        return any(r.check is not None and not r.check.agrees for r in self.rows)

    @property
    def values(self) -> list[list[float | None]]:
        by_name = {r.name: r.value for r in self.rows}
        return [[by_name[n] for n in row] for row in (self.layout or [[r.name for r in self.rows]])]

    @property
    def steps(self) -> dict:
        """The deltas the rows use: every one for `all`, those downstream of the rows' nodes otherwise."""
        if self.layout is None:
            return self.backward.steps
        below = order.descendants(self.net, [v for r in self.rows for v, _ in r.uses if v is not None])
        return {v: step for v, step in self.backward.steps.items() if v in below}

    def printable(self, row: Row) -> bool:
        """Whether a row's node-value form is short enough for a table."""
        return size(row.nested, self._sizes) <= MAX_ROW_FACTORS


@arguments.public
def gradient(net: Network, names: list[str] | None = None, of: str | None = None,
             at: Mapping[str, float] | None = None, check: bool = False,
             tolerance: float = checking.RELATIVE_TOLERANCE, name: str = "all",
             layout: list[list[str]] | None = None,
             progress: Callable[[int, int], None] | None = None) -> Gradient:
    """d target / d p for every parameter p (or for `names`), from one backward pass and one sweep."""
    net, names, of = arguments.network(net), arguments.names(names, "names"), arguments.name(of, "of", optional=True)
    at, tolerance = arguments.point(at), arguments.tolerance(tolerance)
    of = resolve_of(net, of)
    names = list(net.params) if names is None else names
    if not names:
        raise DerivatorError(f"--wrt {name}: the network has no parameters (weights and biases given by name)")
    b = backward(net, of)
    values = checking.point(net, at)
    points = checking.samples(net, values)
    first = derive(net, names[0], of, b)  # its needed values are every parameter's, all upstream
    missing = [n for n in dict.fromkeys([*checking.needed(first), *names]) if n not in points[0]]
    shown = {k: v for k, v in points[0].items() if k in net.params or not net.samples}
    g = Gradient(net, of, name, _rows(net, names, b), b, shown, missing, layout=layout,
                 samples=len(net.samples))
    if check or not missing:
        checking.require(first, values)
    if missing:
        return g
    g.target, grads = _precise(net, of, points)
    g.worked = worked(net, of, values)
    for r in g.rows:
        r.value = float(grads.get(r.name, 0.0))
    if check:
        chosen = checked_rows(g.rows, 2 * len(points) * (len(net.edges) + len(net.nodes)))
        kinked = kinks.anywhere(net, of, points)  # then every row gets the full check, which names kinks
        for i, r in enumerate(chosen):
            r.check = _check(net, of, b, r, values, points, tolerance, kinked)
            if progress:
                progress(i + 1, len(chosen))
    return g


def checked_rows(rows: list[Row], per_row: int) -> list[Row]:
    """All rows, or as many evenly spaced ones as MAX_CHECK_WORK allows (the first and last included)."""
    most = max(2, MAX_CHECK_WORK // max(per_row, 1))
    if len(rows) <= most:
        return rows
    step = (len(rows) - 1) / (most - 1)
    return [rows[round(i * step)] for i in range(most)]


def _rows(net: Network, names: list[str], b: Backward) -> list[Row]:
    """Each parameter's uses, as the backward plan gives them, and its penalty's term."""
    rows = []
    for n in names:
        uses = [(link.node, link.local) for link in b.plan.links.get(n, []) if link.node in b.deltas]
        terms = [b.deltas[v].then(local) for v, local in uses]
        if b.plan.penalty.get(n, 0) != 0:
            uses.append((None, b.plan.penalty[n]))
            terms.append(ONE.then(b.plan.penalty[n]))
        rows.append(Row(n, uses, total(terms)))
    return rows


def _precise(net: Network, of: str, points: list[dict[str, float]]) -> tuple[float, dict[str, float]]:
    """The target and every derivative in mpmath, averaged over the samples, at rising precision."""

    def compute() -> tuple[float, dict[str, float]]:
        results = [sweep.gradient(net, of, p, precise=True) for p in points]
        names = {n for _, g in results for n in g}
        m = len(results) if net.reduction == "mean" else 1
        grads = {n: mpmath.fsum(g.get(n, 0) for _, g in results) / m for n in names}
        target = mpmath.fsum(t for t, _ in results) / m
        if of == "loss":
            target += penalty_value(net, points[0], True)
            for n, g in penalty_gradient(net, points[0], True).items():
                grads[n] = grads.get(n, 0) + g
        return float(target), {n: float(g) for n, g in grads.items()}

    def agree(a, b) -> bool:
        return all(abs(a[1][n] - b[1][n]) <= 1e-13 * abs(a[1][n]) for n in a[1])

    result, _ = checking.stable(compute, agree, "the target has no finite value at the point")
    return result


def _check(net: Network, of: str, b: Backward, r: Row, values, points, tolerance, kinked: bool) -> checking.Check:
    """A central difference through the compiled network, in float64 and then at 40 digits; the full
    check (kinks, rising precision) only where neither agrees, or where a kink may be."""
    for precise, step, method in ((False, checking.STEP, "central difference (float64)"),
                                  (True, 1e-15, "central difference (mpmath, 40 digits)"))[:0 if kinked else 2]:
        try:
            with mpmath.workdps(40):
                diffs = [checking.central_difference(net, of, r.name, p, p[r.name], precise, step) for p in points]
        except UndefinedError:
            continue
        numeric = checking.combine(net, diffs) + (penalty_difference(net, r.name, points[0], precise, step)
                                        if of == "loss" else 0.0)
        ok, rel = checking.close(r.value, numeric, tolerance)
        if ok and numeric != 0:  # a difference of 0 may be a target that did not move in these digits
            return checking.Check(r.value, numeric, rel, True, method)
    full = checking.check(derive(net, r.name, of, b), values, tolerance)  # kinks, rising precision
    if kinked and not full.kinks and full.agrees:  # a smooth kink site: the target's slope, not the convention's
        r.value = full.value
    ok, rel = checking.close(r.value, full.numeric, tolerance)  # the value printed is the one checked
    return checking.Check(r.value, full.numeric, rel, ok or bool(full.kinks), full.method, full.kinks)
