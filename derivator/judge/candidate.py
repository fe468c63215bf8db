"""A learner's own answer: read it safely, decide whether it is the derivative, and say how it differs.

The candidate may use every name of the network (a node's name is its output, `z_NODE` its
pre-activation), helpers from `--define 'd(x)=s(x)*(1-s(x))'`, the formula functions, `σ`, `·`,
`×`, `−`, `^`, and products written by juxtaposition. It agrees when it equals the derivative as a
function: first a cheap exact test (node values as free symbols, expanded), then high-precision values
at the point and at random points around it, since a learner may write sigmoid(z) where we write O.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import mpmath
import sympy

from derivator.errors import DerivatorError
from derivator.graph import equations
from derivator.graph.network import Network, symbol, z_symbol
from derivator.judge import reading
from derivator.load import formula
from derivator.numbers import checking
from derivator.numbers.evaluate import UndefinedError, value
from derivator.symbolic.derive import Derivation

RANDOM_POINTS = 20  # besides the point itself, as the issue asks
SEED = 20261122  # fixed: the same verdict every run
AGREE = 1e-9  # relative, at PRECISE digits: far above rounding, far below any real difference
DIGITS = 40
MAX_EXACT_SIZE = 400  # expression-tree nodes; past this the exact test is skipped
MAX_CANDIDATE_SIZE = 20_000  # expression-tree nodes written out: printing and rewriting stay quick
MAX_EXPANDED_TERMS = 2000  # nor is anything expanded that would have more terms than this


@dataclass
class Verdict:
    agrees: bool
    value: float | None  # the candidate at the point
    true_value: float | None
    ratio: float | None  # candidate / derivative at the point
    pairs: list[tuple[float, float]] = field(default_factory=list)  # (candidate, derivative) at each point
    method: str = ""
    expr: sympy.Expr | None = None  # the candidate, parsed, helpers applied
    source: str = ""  # as the learner wrote it
    in_node_values: sympy.Expr | None = None  # sigmoid(z_h) and 1/(1+exp(-z_h)) written as h
    diagnosis: list[str] = field(default_factory=list)


def names_for(net: Network) -> dict[str, sympy.Expr]:
    """Every name a candidate may use: inputs, parameters, targets, nodes and z_NODE."""
    names = {n: symbol(n) for n in [*net.names, *net.nodes]}
    names.update({f"z_{n}": z_symbol(n) for n, node in net.nodes.items() if not node.is_formula})
    return names


def helpers(net: Network, definitions: list[str]) -> dict[str, formula.Helper]:
    """Parse `--define 'f(x)=EXPR'` in order; each may use the ones before it (LaTeX too)."""
    return reading.helpers(names_for(net), definitions)


def parse(net: Network, text: str, definitions: list[str] | None = None) -> sympy.Expr:
    """The candidate as a SymPy expression in the network's symbols (in the tool's syntax or LaTeX)."""
    defined = helpers(net, definitions or [])
    expr = reading.candidate(text, names_for(net), defined)
    if equations.tree_size(expr) > MAX_CANDIDATE_SIZE:
        raise DerivatorError(f"--candidate: too large once its helpers are applied (more than "
                             f"{MAX_CANDIDATE_SIZE} parts written out)")
    return expr


def node_values(d: Derivation, expr: sympy.Expr) -> sympy.Expr:
    """The candidate with each node's own function of z_v written as v, for display and matching."""
    for v, node in d.net.nodes.items():
        if node.is_formula:
            continue
        z, o = z_symbol(v), symbol(v)
        table = {node.activation.f(z): o}
        if node.activation.name == "sigmoid":
            table[sympy.Pow(1 + sympy.exp(-z), -1)] = o
        expr = expr.xreplace(table)
    return expr


def judge(d: Derivation, expr: sympy.Expr, point: dict[str, float], source: str = "") -> Verdict:
    """Compare the candidate with the derivative, exactly where cheap, else by values."""
    values = [_complete(d, point), *_random_points(d, point)]
    pairs = []
    for p in values:
        pair = _values(d, expr, p)
        if pair is not None:
            pairs.append(pair)
        if len(pairs) > RANDOM_POINTS:
            break
    at_point = pairs[0] if pairs and all(n in point for n in checking.needed(d)) else None
    exact = _exactly_equal(d.result, expr)
    if exact:
        agrees, method = True, "equal as expressions in node values"
    else:
        agrees = bool(pairs) and all(_close(c, t) for c, t in pairs)
        method = f"values compared at {len(pairs)} points, {DIGITS} digits"
    cand, true = (float(at_point[0]), float(at_point[1])) if at_point else (None, None)
    ratio = float(at_point[0] / at_point[1]) if at_point and at_point[1] != 0 else None
    return Verdict(agrees, cand, true, ratio, pairs, method, expr, source, node_values(d, expr))


def expansion_size(e: sympy.Expr) -> int:
    """An upper bound on the number of terms `sympy.expand` would produce, without expanding.

    (a+b)(c+d)... or (a+b+c)**200 would take forever to expand; they are judged by values alone."""
    if e.is_Add:
        return sum(expansion_size(a) for a in e.args)
    if e.is_Mul:
        n = 1
        for a in e.args:
            n *= expansion_size(a)
            if n > 10**9:
                break
        return n
    if e.is_Pow and e.exp.is_Integer and abs(e.exp) > 1:  # expand works on denominators too
        return min(expansion_size(e.base) ** min(abs(int(e.exp)), 64), 10**9)
    if e.args:  # a function: expand works inside its arguments
        return max(1, sum(expansion_size(a) for a in e.args))
    return 1


def small(e: sympy.Expr) -> bool:
    """Whether symbolic work (expanding, rewriting) on `e` is cheap: its tree, shared parts counted
    each time, is small. Helpers nest: a0(a0(...)) doubles a tree that stays small as a DAG."""
    return equations.tree_size(e) <= MAX_EXACT_SIZE


def _exactly_equal(true: sympy.Expr, cand: sympy.Expr) -> bool:
    """Cheap and sufficient: equal once expanded with node values as free symbols."""
    if true == cand:
        return True
    if not small(cand) or not small(true):
        return False
    if expansion_size(true - cand) > MAX_EXPANDED_TERMS:
        return False
    return sympy.expand(true - cand) == 0


def _values(d: Derivation, expr: sympy.Expr, point: dict[str, float]):
    """(candidate, derivative) at a complete point, through one forward pass; None where undefined.

    Kept as mpmath numbers (exp(exp(exp(...))) is finite there but inf as a float). Where the two
    differ, the precision rises: a saturated unit's x(1 - x) cancels at 40 digits, not at 400."""
    pair = None
    for digits in checking.PRECISE_DIGITS[:3]:
        with mpmath.workdps(digits):
            try:
                env = checking.forward(d, point, precise=True, target=False).env
                pair = value(expr, env, precise=True), value(d.result, env, precise=True)
            except (UndefinedError, KeyError):
                return pair
            if _close(*pair):
                return pair
    return pair


def _complete(d: Derivation, point: dict[str, float]) -> dict[str, float]:
    """Every name a value, so that a candidate using any name can be evaluated."""
    rng = random.Random(SEED)
    values = {n: point.get(n, round(rng.uniform(-1, 1), 3)) for n in d.net.names}
    targets = [str(t) for t in d.net.loss.targets if t.is_Symbol] if d.net.loss else []
    if any(t not in point for t in targets):
        values.update(_targets(d, rng))  # made up one by one, softmax targets would not sum to 1
    return values


def _targets(d: Derivation, rng: random.Random) -> dict[str, float]:
    """Target values a loss admits: in (0, 1) for cross-entropy, summing to 1 for softmax."""
    names = [str(t) for t in d.net.loss.targets if t.is_Symbol]
    if d.net.loss.type == "cross_entropy":
        raw = [rng.uniform(0.05, 1) for _ in d.net.loss.targets]
        fixed = sum(float(t) for t in d.net.loss.targets if not t.is_Symbol)
        scale = (1 - fixed) / sum(r for r, t in zip(raw, d.net.loss.targets, strict=True) if t.is_Symbol)
        return {str(t): r * scale for r, t in zip(raw, d.net.loss.targets, strict=True) if t.is_Symbol}
    if d.net.loss.type == "binary_cross_entropy":
        return {n: rng.uniform(0.05, 0.95) for n in names}
    return {n: rng.gauss(0, 1) for n in names}


def _random_points(d: Derivation, point: dict[str, float]) -> list[dict[str, float]]:
    """Points around the given one: inputs and parameters moved, and targets drawn anew (a learner's
    answer must hold for every target, not only for y = 1)."""
    rng = random.Random(SEED)
    base = _complete(d, point)
    moved = [*d.net.inputs, *d.net.params]
    points = []
    for _ in range(3 * RANDOM_POINTS):
        p = {n: (v + rng.gauss(0, 0.5) if n in moved else v) for n, v in base.items()}
        if d.of == "loss":
            p.update(_targets(d, rng))
        points.append(p)
    return points


def _close(a, b) -> bool:
    """Equal to AGREE relative (or 1e-30 absolute), computed in mpmath: no float overflow to fool it."""
    return abs(a - b) <= AGREE * max(abs(a), abs(b)) or abs(a - b) <= mpmath.mpf("1e-30")
