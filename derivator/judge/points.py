"""Where a candidate is judged: points spread over each variable's range, and both sides of every kink.

"Equal as a function" cannot be seen from points near one point: a candidate that forgets a relu's
step [z_h > 0] equals the derivative wherever z_h > 0, and one that adds relu(w1 - 50) wherever
w1 < 50. So the points are drawn at several scales around the given one (0.5 to 100 times each
variable's size) and afresh near 0 (where nothing saturates). Every argument whose sign changes the
derivative or the candidate (a step's, a relu's, an abs's, the difference of a max's arguments) is
looked at across all of them; one of one sign everywhere is probed along each variable, out to 10^6
times its size, for a point on its other side, and the segment between a point on each side is
halved down to two points just either side of the kink. Those points come first. A point where such
an argument is 0 is no evidence either way: the two may use different conventions at a kink.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

import sympy

from derivator.graph import order
from derivator.graph.network import symbol, z_symbol
from derivator.graph.primitives import KINKED, leaky_step, maximum, minimum
from derivator.numbers import checking
from derivator.numbers.evaluate import UndefinedError, value
from derivator.symbolic.derive import Derivation

SPREAD = 60  # points drawn around the given one
# Their spread, in turn: times max(1, |value|) around it, or (None) a value drawn afresh near 0, where
# no unit saturates (at w = 40 a term times 1 - tanh² is below any relative tolerance everywhere near).
SCALES = (0.5, 0.5, 2.0, 10.0, 100.0, None)
FRESH = 1.5  # the spread of values drawn afresh
SEED = 20261122  # fixed: the same verdict every run
MAX_ARGUMENTS = 16  # sign arguments looked after; more are left to the spread
PROBES = (-1, 0, 1, 2, 3, 4, 6, 9, 12)  # probe moves of ±10^k times max(1, |value|)
MAX_PROBES = 2048  # forward passes spent probing and bisecting, over all arguments
BISECTIONS = 40  # halvings of a segment across a kink: the points either side end 1e-12 of it apart
AT_KINK = 1e-9  # an argument this close to 0 is on its kink
SIGNED = (*KINKED, sympy.Heaviside, sympy.sign, leaky_step)


def sign_arguments(*exprs: sympy.Expr) -> list[sympy.Expr]:
    """The expressions whose sign matters to these: steps', relus' and abs's arguments, max's differences."""
    found: list[sympy.Expr] = []
    for expr in exprs:
        for atom in sorted(_atoms(expr, SIGNED), key=sympy.default_sort_key):
            args = atom.args
            if isinstance(atom, (maximum, minimum)):
                found += [args[i] - args[j] for i in range(len(args)) for j in range(i + 1, len(args))]
            else:
                found.append(args[0])
    return list(dict.fromkeys(a for a in found if not a.is_Number))[:MAX_ARGUMENTS]


def _atoms(expr: sympy.Expr, types: tuple) -> set[sympy.Expr]:
    """expr.atoms(*types), visiting each distinct subexpression once: a deep lattice's derivative is a
    small DAG but an exponential tree, which SymPy's own traversal walks whole."""
    seen, found, stack = set(), set(), [expr]
    while stack:
        e = stack.pop()
        if e in seen:
            continue
        seen.add(e)
        if isinstance(e, types):
            found.add(e)
        stack.extend(e.args)
    return found


def complete(d: Derivation, point: Mapping[str, float]) -> dict[str, float]:
    """Every name a value, so that a candidate using any name can be evaluated."""
    rng = random.Random(SEED)
    values = {n: point.get(n, round(rng.uniform(-1, 1), 3)) for n in d.net.names}
    targets = [str(t) for t in d.net.loss.targets if t.is_Symbol] if d.net.loss else []
    if any(t not in point for t in targets):
        values.update(targets_for(d, rng))  # made up one by one, softmax targets would not sum to 1
    return values


def targets_for(d: Derivation, rng: random.Random) -> dict[str, float]:
    """Target values a loss admits: in (0, 1) for cross-entropy, summing to 1 for softmax."""
    names = [str(t) for t in d.net.loss.targets if t.is_Symbol]
    groups = d.net.target_groups()
    if groups:
        return {str(t): y for group in groups for t, y in zip(group, _summing_to_one(group, rng), strict=True)
                if t.is_Symbol}
    if d.net.loss.type == "binary_cross_entropy":
        return {n: rng.uniform(0.05, 0.95) for n in names}
    return {n: rng.gauss(0, 1) for n in names}


def _summing_to_one(group: list[sympy.Expr], rng: random.Random) -> list[float]:
    """Values for one group's targets: the fixed ones as given, the named ones drawn and scaled to fill to 1."""
    raw = [rng.uniform(0.05, 1) for _ in group]
    fixed = sum(float(t) for t in group if not t.is_Symbol)
    named = sum(r for r, t in zip(raw, group, strict=True) if t.is_Symbol)
    return [r * (1 - fixed) / named if t.is_Symbol else float(t) for r, t in zip(raw, group, strict=True)]


def points(d: Derivation, arguments: list[sympy.Expr], base: dict[str, float]) -> list[dict[str, float]]:
    """The judging points after the given one: each sign argument's other side first, then the spread."""
    rng = random.Random(SEED)
    moved = [*d.net.inputs, *d.net.params]
    spread = []
    for i in range(SPREAD):
        scale = SCALES[i % len(SCALES)]
        p = {n: ((v + rng.gauss(0, scale * max(1.0, abs(v))) if scale else rng.gauss(0, FRESH)) if n in moved else v)
             for n, v in base.items()}
        if d.of == "loss":
            p.update(targets_for(d, rng))
        if _finite(d, p):
            spread.append(p)
    return [p for p in _both_sides(d, arguments, [base, *spread], moved, rng) if _finite(d, p)] + spread


def _finite(d: Derivation, p: Mapping[str, float]) -> bool:
    """Whether the network's values at p are within float64's range: farther out, exp(exp(z)) takes
    mpmath hours, and there is nothing a judgement there adds to one nearer."""
    try:
        checking.forward(d, p, target=False)
    except (UndefinedError, KeyError):
        return False
    return True


def _signs(d: Derivation, arguments: list[sympy.Expr], p: Mapping[str, float]) -> list[int] | None:
    """Each argument's sign at a point, or None where the network is undefined: from the values alone
    where no argument reads a node, else through a float64 forward pass."""
    nodes = {symbol(n) for n in d.net.nodes} | {z_symbol(n) for n in d.net.nodes}
    env: Mapping = {symbol(k): v for k, v in p.items()}
    if any(a.free_symbols & nodes for a in arguments):
        try:
            env = checking.forward(d, p, target=False).env
        except (UndefinedError, KeyError):
            return None
    out = []
    for a in arguments:
        try:
            x = value(a, env)
        except (UndefinedError, KeyError):
            out.append(0)
            continue
        out.append((x > AT_KINK) - (x < -AT_KINK))
    return out


def _both_sides(d: Derivation, arguments: list[sympy.Expr], pool: list[dict[str, float]], moved: list[str],
                rng: random.Random) -> list[dict[str, float]]:
    """For each argument, a point on each side of its kink (the given point, one of the spread, or a
    probed one), and a point just either side of the kink between them: a candidate whose own kink
    sits a little off the derivative's differs only between the two."""
    if not arguments:
        return []
    signs = [_signs(d, arguments, p) for p in pool]
    chosen: list[dict[str, float]] = []
    budget = MAX_PROBES
    for j, a in enumerate(arguments):
        sides = {}
        for side in (1, -1):
            have = [p for p, s in zip(pool, signs, strict=True) if s is not None and s[j] == side]
            if have:
                sides[side] = have[0]
                if have[0] is not pool[0] and not any(p is q for p in have for q in chosen):
                    chosen.append(have[0])
                continue
            found, budget = _probe(d, a, side, pool[0], _feeding(d, a, moved), budget, rng)
            if found is not None:
                sides[side] = found
                chosen.append(found)
        if len(sides) == 2 and budget > 0:
            close, budget = _bisect(d, a, sides[1], sides[-1], budget)
            chosen += close
    return chosen


def _bisect(d: Derivation, argument: sympy.Expr, plus: dict[str, float], minus: dict[str, float],
            budget: int) -> tuple[list[dict[str, float]], int]:
    """Points on the segment from `plus` to `minus` just either side of where the argument crosses 0,
    as close as BISECTIONS halvings bring them (and off the kink itself)."""
    def at(t: float) -> dict[str, float]:
        return {n: (v + t * (minus[n] - v) if isinstance(v, float) else v) for n, v in plus.items()}

    lo, hi = 0.0, 1.0  # the argument is positive at lo, negative at hi
    for _ in range(BISECTIONS):
        if budget <= 0:
            break
        budget -= 1
        mid = (lo + hi) / 2
        s = _signs(d, [argument], at(mid))
        if s is None or s[0] == 0:
            break
        lo, hi = (mid, hi) if s[0] > 0 else (lo, mid)
    return [at(lo), at(hi)], budget


def _feeding(d: Derivation, expr: sympy.Expr, moved: list[str]) -> list[str]:
    """The inputs and parameters an expression in node values depends on (all of them if none)."""
    names: set[str] = set()
    nodes = d.net.nodes
    for s in expr.free_symbols:
        n = s.name[2:] if s.name.startswith("z_") and s.name[2:] in nodes else s.name
        if n not in nodes:
            names.add(n)
            continue
        for v in order.ancestors(d.net, [n]):
            if v not in nodes:
                names.add(v)
                continue
            node = nodes[v]
            free = [node.bias, *(e.weight for e in d.net.parents[v])] + ([node.formula] if node.is_formula else [])
            names |= {x.name for f in free for x in f.free_symbols}
    return [n for n in moved if n in names] or list(moved)


def _probe(d: Derivation, argument: sympy.Expr, side: int, base: dict[str, float], names: list[str], budget: int,
           rng: random.Random) -> tuple[dict[str, float] | None, int]:
    """A point where the argument has the given sign, moving one variable by ±10^k at a time."""
    names = list(names)
    rng.shuffle(names)
    for k in PROBES:
        for n in names:
            for sign in (1, -1):
                if budget <= 0:
                    return None, 0
                budget -= 1
                p = {**base, n: base[n] + sign * 10.0**k * max(1.0, abs(base[n]))}
                s = _signs(d, [argument], p)
                if s is not None and s[0] == side:
                    return p, budget
    return None, budget


def at_kink(arguments: list[sympy.Expr], env: Mapping) -> bool:
    """Whether some sign argument is on its kink with these values (mpmath)."""
    for a in arguments:
        try:
            if abs(value(a, env, precise=True)) <= AT_KINK:
                return True
        except (UndefinedError, KeyError):
            continue
    return False
