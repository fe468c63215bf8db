"""Every parameter at once (`--wrt all`, or a whole matrix's entries): one backward pass, shared deltas.

Symbolically each derivative is a sum over the places its parameter is used, `δ_v o_u` for a weight
and `δ_v` for a bias, with the deltas of the one recursion. Numerically one reverse sweep (`sweep`)
gives them all, at rising precision until two agree. Nothing is derived or evaluated per parameter,
except by `--check`, whose numerical derivative needs two forward passes for each.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import mpmath
import sympy

from derivator import arguments
from derivator.answers import gradcheck
from derivator.answers.display import Displayed
from derivator.errors import DerivatorError
from derivator.graph import order
from derivator.graph.equations import resolve_of
from derivator.graph.network import Network
from derivator.graph.plan import plan
from derivator.numbers import checking, kinks, lean, resolve, sweep
from derivator.numbers.evaluate import UndefinedError
from derivator.numbers.penalty import penalty_gradient, penalty_value
from derivator.numbers.worked import Worked, from_lean, worked
from derivator.symbolic.derive import Backward, backward, derive, kind_of
from derivator.symbolic.nested import ONE, Prod, size, total

Expr = sympy.Expr

MAX_ROW_FACTORS = 40  # a row prints its node-value form when it has at most this many factors
# `--check` costs two forward passes per parameter and sample, and more where float64 cannot resolve
# a derivative (gradcheck counts it all): past this many multiply-adds in all, an evenly spaced subset
# of the parameters is checked, and a parameter whose check would pass the cap is left unchecked; the
# output says how many, and which.
MAX_CHECK_WORK = 4_000_000


class Deltas:
    """The symbolic backward pass, made when first asked for: numbers need none of it, and a table of
    10,000 rows is printed from it only when it is printed."""

    def __init__(self, net: Network, of: str):
        self.net, self.of, self._made = net, of, None

    def __call__(self) -> Backward:
        if self._made is None:
            self._made = backward(self.net, self.of)
        return self._made


@dataclass
class Row:
    name: str
    uses: list[tuple[str | None, Expr]]  # (node v, local) for each use: δ_v local; (None, ∂penalty/∂p)
    pass_: Deltas | None = field(default=None, repr=False)
    value: float | None = None
    check: checking.Check | None = None
    _nested: Prod | None = field(default=None, repr=False)

    @property
    def parts(self) -> list[tuple[Prod, Expr]]:
        """(δ_v, local) for each use (1 for the penalty's)."""
        deltas = self.pass_().deltas
        return [(deltas[v] if v is not None else ONE, local) for v, local in self.uses]

    @property
    def nested(self) -> Prod:
        """In node values; built when first asked for (10,000 rows of a deep chain would hold 10^8 factors)."""
        if self._nested is None:
            self._nested = total([delta.then(local) for delta, local in self.parts])
        return self._nested


@dataclass(repr=False)
class Gradient(Displayed):
    """The derivative of one target with respect to many parameters."""

    net: Network
    of: str
    name: str  # "all", or a whole matrix such as W2
    rows: list[Row]
    pass_: Deltas
    point: dict[str, float]
    missing: list[str]
    target: float | None = None
    layout: list[list[str]] | None = None  # a matrix's entries, laid out like it
    samples: int = 0
    step: object = None  # --step RATE: a descent.Descent (which imports this module)
    worked: Worked | None = None  # every forward value and delta at the point
    skipped: list[str] = field(default_factory=list)  # chosen for the check, but past MAX_CHECK_WORK
    _sizes: dict = field(default_factory=dict, repr=False)  # nested.size's memo, shared by the rows

    def __repr__(self) -> str:
        """A short summary: the target and the first few derivatives."""
        shown = ", ".join(f"{r.name} = {r.value:.6g}" if r.value is not None else r.name for r in self.rows[:4])
        more = f", ... ({len(self.rows)} in all)" if len(self.rows) > 4 else ""
        return f"<Gradient of {'J' if self.samples else self.of} by {self.name}: {shown}{more}>"

    @property
    def backward(self) -> Backward:
        return self.pass_()

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
        if any(len(delta.factors) > MAX_ROW_FACTORS for delta, _ in row.parts):  # no need to build or count:
            return False  # each factor prints one at least, and the whole prints each term's at least
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
    for n in names[:1]:
        kind_of(net, n)  # an unknown name or a target is refused as --wrt refuses it
    values = checking.point(net, at)
    points = checking.samples(net, values)
    needs = checking.needs(net, of)
    missing = [n for n in dict.fromkeys([*checking.needed(needs), *names]) if n not in points[0]]
    params = set(net.params)
    shown = {k: v for k, v in points[0].items() if k in params or not net.samples}
    pass_ = Deltas(net, of)
    g = Gradient(net, of, name, _rows(net, names, pass_), pass_, shown, missing, layout=layout,
                 samples=len(net.samples))
    if check or not missing:
        checking.require(needs, values)
    if missing:
        return g
    try:  # the lean sweep (float64, then 40 and 60 digits) gives every number, where two rungs agree
        solved = lean.solve(net, of, points)
        g.target, grads, g.worked = solved.target, solved.grads, from_lean(net, of, solved)
    except lean.Unsupported:
        g.target, grads = _precise(net, of, points)
        g.worked = worked(net, of, values)
    for r in g.rows:
        r.value = float(grads.get(r.name, 0.0))
    if check:
        _check_rows(g, g.backward, values, points, tolerance, progress)
    return g


def _check_rows(g: Gradient, b: Backward, values, points, tolerance, progress) -> None:
    """Each chosen row's numerical check (gradcheck), in an order that spreads them, under one budget."""
    chosen = checked_rows(g.rows, 2 * len(points) * (len(g.net.edges) + len(g.net.nodes)))
    budget = gradcheck.Budget(MAX_CHECK_WORK)
    size = resolve.size(g.net, g.of, points)  # the target's size in mpmath: it may pass float64
    checker = gradcheck.Checker(g.net, g.of, values, points, size, tolerance, budget,
                                lambda name: checking.check(derive(g.net, name, g.of, b), values, tolerance),
                                kinks.anywhere(g.net, g.of, points))  # then every row gets the full check
    for i, r in enumerate(gradcheck.spread(chosen)):
        r.check = checker.check(r.name, r.value)
        if r.check is not None:
            r.value = r.check.value  # at a smooth kink site, the target's slope, not the rule's convention
        if progress:
            progress(i + 1, len(chosen))
    g.skipped = budget.skipped


def checked_rows(rows: list[Row], per_row: int) -> list[Row]:
    """All rows, or as many evenly spaced ones as MAX_CHECK_WORK allows (the first and last included)."""
    most = max(2, MAX_CHECK_WORK // max(per_row, 1))
    if len(rows) <= most:
        return rows
    step = (len(rows) - 1) / (most - 1)
    return [rows[round(i * step)] for i in range(most)]


def _rows(net: Network, names: list[str], pass_: Deltas) -> list[Row]:
    """Each parameter's uses, as the backward plan gives them, and its penalty's term."""
    p = plan(net, pass_.of)
    rows = []
    for n in names:  # the plan links a parameter only into the nodes the target depends on
        uses = [(link.node, link.local) for link in p.links.get(n, ())]
        if n in p.penalty and p.penalty[n] != 0:
            uses.append((None, p.penalty[n]))
        rows.append(Row(n, uses, pass_))
    return rows


def _precise(net: Network, of: str, points: list[dict[str, float]]) -> tuple[float, dict[str, float]]:
    """The target and every derivative, averaged over the samples: in float64 and then in mpmath at
    rising precision, until two in a row agree (float64 and 40 digits, mostly: one mpmath sweep)."""

    def compute(precise: bool = True) -> tuple[float, dict[str, float]]:
        total = mpmath.fsum if precise else math.fsum
        results = [sweep.gradient(net, of, p, precise=precise) for p in points]
        names = {n for _, g in results for n in g}
        m = len(results) if net.reduction == "mean" else 1
        grads = {n: total(g.get(n, 0) for _, g in results) / m for n in names}
        target = total(t for t, _ in results) / m
        if of == "loss":
            target += penalty_value(net, points[0], precise)
            for n, g in penalty_gradient(net, points[0], precise).items():
                grads[n] = grads.get(n, 0) + g
        return float(target), {n: float(g) for n, g in grads.items()}

    def agree(a, b) -> bool:  # to 13 digits; below float64's normal range, float64 itself has fewer
        return all(abs(a[1][n] - b[1][n]) <= 1e-13 * abs(a[1][n]) or abs(a[1][n]) + abs(b[1][n]) < 1e-300
                   for n in a[1])

    try:
        floats = compute(False)
    except (UndefinedError, OverflowError, ValueError, ZeroDivisionError):
        floats = None  # overflow or cancellation: mpmath alone decides
    result, _ = checking.stable(compute, agree, "the target has no finite value at the point", first=floats)
    return result
