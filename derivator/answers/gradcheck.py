"""`--wrt all --check`: a numerical derivative for each parameter, every kind of work counted.

Each parameter's check is a ladder, cheapest first, and stops at the first rung that agrees with the
swept value: a central difference in float64, one at 40 digits, then pairs at the digits the value
needs (numbers/resolve: a derivative of 1e-60 against a loss of 1 needs some 85), and last the full
check of one derivative (kinks named, mpmath's own derivative at rising precision). All work is
counted in float64 multiply-adds of the compiled network, an mpmath pass at d digits costing
`resolve.cost(d)` of them, against one cap shared by every parameter. A rung that the cap cannot
pay for is not climbed, and that parameter is left unchecked and named: never a verdict without the
numbers behind it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from derivator.numbers import checking, resolve

FULL_PASSES = 8  # the full check's forward passes at each precision of its ladder, counted generously


@dataclass
class Budget:
    """Multiply-adds left for the checks; `pay` says whether a piece of work may go ahead."""

    left: float
    skipped: list[str] = field(default_factory=list)  # parameters whose next rung the cap could not pay

    def pay(self, work: float) -> bool:
        if work > self.left:
            return False
        self.left -= work
        return True


def spread(items: list) -> list:
    """The items in an order that covers them evenly at every prefix: first, last, middle, quarters..."""
    if len(items) <= 2:
        return list(items)
    order, seen, parts = [0, len(items) - 1], {0, len(items) - 1}, 2
    while len(order) < len(items):
        for k in range(1, parts, 2):
            i = round(k * (len(items) - 1) / parts)
            if i not in seen:
                seen.add(i)
                order.append(i)
        parts *= 2
    return [items[i] for i in order]


@dataclass
class Checker:
    """The checks of one gradient: its network, points, tolerance and budget."""

    net: object
    of: str
    values: dict
    points: list[dict]
    target: object  # |target| in mpmath (it may pass float64), or None
    tolerance: float
    budget: Budget
    full: Callable[[str], checking.Check]  # the full check of one parameter
    kinked: bool = False  # a kinked primitive may sit on its kink: every row gets the full check, which names it

    @property
    def steps(self) -> int:
        """Multiply-adds of one forward pass over every sample."""
        return len(self.points) * (len(self.net.edges) + len(self.net.nodes))

    def agreeing(self, value: float, numeric: float | None, method: str) -> checking.Check | None:
        if numeric is None:
            return None
        ok, rel = checking.close(value, numeric, self.tolerance)
        # A difference of 0 may be a target that did not move in these digits: the full check settles it.
        return checking.Check(value, numeric, rel, True, method) if ok and numeric != 0 else None

    def check(self, name: str, value: float) -> checking.Check | None:
        """The first rung that agrees; the full check where none does; None where the cap stops it.

        A rung that cannot resolve the value is not tried: float64 sees 16 digits of the target, so a
        derivative 10^-6 of it has some 10 left, and 40 digits serve to 10^-18."""
        two, r = 2 * self.steps, resolve.ratio(value, self.target)
        thetas = [p[name] for p in self.points]
        rungs = [(None, two, "central difference (float64)", 6),
                 (40, two * resolve.cost(40), "central difference (mpmath, 40 digits)", 18)]
        for digits, work, method, most in rungs if not self.kinked else []:
            if r is not None and r > most:
                continue
            if not self.budget.pay(work):
                return self._skip(name)
            found = self.agreeing(value, resolve.difference(self.net, self.of, name, self.points, thetas, digits,
                                                            1e-15 if digits else None), method)
            if found:
                return found
        left = self.budget.left
        found = None if self.kinked else resolve.resolve(self.net, self.of, name, self.points, thetas, value,
                                                         self.target, self.budget.pay)
        if found is not None and self.agreeing(value, *found):
            return self.agreeing(value, *found)
        if not self.kinked and self.budget.left == left and found is None and r is not None and resolve.rungs(r):
            return self._skip(name)  # not even the first rung could be paid for
        if not self.budget.pay(FULL_PASSES * self.steps * sum(resolve.cost(d) for d in checking.PRECISE_DIGITS)):
            return self._skip(name)
        full = self.full(name)
        if full.inconclusive:
            return full
        if self.kinked and not full.kinks and full.agrees:  # a smooth kink site: the target's slope
            value = full.value
        ok, rel = checking.close(value, full.numeric, self.tolerance)  # the value printed is the one checked
        return checking.Check(value, full.numeric, rel, ok or bool(full.kinks), full.method, full.kinks)

    def _skip(self, name: str) -> None:
        self.budget.skipped.append(name)
        return None
