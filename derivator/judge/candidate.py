"""A learner's own answer: read it safely, decide whether it is the derivative, and say how it differs.

The candidate may use every name of the network (a node's name is its output, `z_NODE` its
pre-activation), helpers from `--define 'd(x)=s(x)*(1-s(x))'`, the formula functions, `σ`, `·`,
`×`, `−`, `^`, and products written by juxtaposition. It agrees when it equals the derivative as a
function: first a cheap exact test (node values as free symbols, expanded), then high-precision values
at the point and at points spread around it and across every kink (judge/points.py), since a learner
may write sigmoid(z) where we write O. Values agree relatively, never within an absolute floor; a
value that cancelled away at every precision tried is no evidence, and too little evidence is an
inconclusive verdict, not an agreement.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mpmath
import sympy

from derivator.errors import DerivatorError
from derivator.graph import equations
from derivator.graph.network import Network, symbol, z_symbol
from derivator.graph.timesteps import ident
from derivator.judge import course, kinkfree, points, reading
from derivator.judge.recognise import recognise
from derivator.load import formula
from derivator.numbers import checking, saturation
from derivator.numbers.evaluate import GOOD_DIGITS, PRECISIONS, UndefinedError, value
from derivator.symbolic.derive import Derivation

RANDOM_POINTS = 20  # besides the point itself, as the issue asks
MIN_POINTS = 10  # points compared (both defined, digits left, off every kink) for an agreement
AGREE = 1e-9  # relative, at PRECISE digits: far above rounding, far below any real difference
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
    inconclusive: bool = False  # too few points to tell (agrees is then False too)

    @property
    def word(self) -> str:
        """The verdict in the sentence 'the candidate ...'."""
        return "cannot be judged: inconclusive" if self.inconclusive else \
            "agrees" if self.agrees else "does NOT agree"


def names_for(net: Network) -> dict[str, sympy.Expr]:
    """Every name a candidate may use: inputs, parameters, targets, nodes and z_NODE."""
    names = {ident(n): symbol(n) for n in [*net.names, *net.nodes]}
    names.update({f"z_{ident(n)}": z_symbol(n) for n, node in net.nodes.items() if not node.is_formula})
    return {**names, **course.names(net, names)}  # and the course's letters of `notation:` (s_h for z_h)


def helpers(net: Network, definitions: list[str]) -> dict[str, formula.Helper]:
    """Parse `--define 'f(x)=EXPR'` in order; each may use the ones before it (LaTeX too); with the
    course's letter for the file's activation (θ for tanh), where `notation:` gives one."""
    names = names_for(net)
    return reading.helpers(names, definitions, course.functions(net, names))


def parse(net: Network, text: str, definitions: list[str] | None = None) -> sympy.Expr:
    """The candidate as a SymPy expression in the network's symbols (in the tool's syntax or LaTeX)."""
    defined = helpers(net, definitions or [])
    expr = reading.candidate(text, names_for(net), defined, steps=net.recurrence is not None)
    if equations.tree_size(expr) > MAX_CANDIDATE_SIZE:
        raise DerivatorError(f"--candidate: too large once its helpers are applied (more than "
                             f"{MAX_CANDIDATE_SIZE} parts written out)")
    return expr


def node_values(d: Derivation, expr: sympy.Expr) -> sympy.Expr:
    """The candidate with each node's own function of z_v written as v, for display and matching."""
    for members in d.net.groups.values():  # exp(z_j)/Σ_k exp(z_k), wherever the product puts its factors
        total, stand_in = sympy.Add(*[sympy.exp(z_symbol(m)) for m in members]), sympy.Dummy("S")
        expr = expr.xreplace({total: stand_in}).xreplace({sympy.exp(z_symbol(m)): symbol(m) * stand_in
                                                          for m in members}).xreplace({stand_in: total})
    for v, node in d.net.nodes.items():
        if node.is_formula or node.group is not None:
            continue
        z, o = z_symbol(v), symbol(v)
        table = {node.activation.f(z): o}
        if node.activation.name == "sigmoid":
            table[sympy.Pow(1 + sympy.exp(-z), -1)] = o
        expr = expr.xreplace(table)
    return expr


def judge(d: Derivation, expr: sympy.Expr, point: dict[str, float], source: str = "") -> Verdict:
    """Compare the candidate with the derivative, exactly where cheap, else by values."""
    numeric = saturation.safe(expr)  # 1 - σ(u) as σ(-u): the forms the tool's own numbers use
    arguments = points.sign_arguments(d.result, numeric)
    base = points.complete(d, point)
    pairs, digits, given, tried = [], set(), None, 0
    around = points.points(d, arguments, base)
    enough = RANDOM_POINTS + 1 + len(around) - points.SPREAD  # every kink's sides, and the spread's first
    for i, p in enumerate([base, *around]):
        pair = _pair(d, numeric, p, arguments)
        tried += 1
        if i == 0:
            given = pair
        if pair is None or pair.kink or not pair.trusted:
            continue  # undefined, at a kink, or cancelled at every precision: no evidence
        pairs.append((pair.c, pair.t))
        digits.add(pair.digits)
        if len(pairs) >= enough:
            break
    at_point = given if given is not None and all(n in point for n in checking.needed(d)) else None
    recognised = node_values(d, recognise(d, expr, point))  # exactly equal, so the exact test may use it
    exact = _exactly_equal(d.result, expr) or (recognised != expr and _exactly_equal(d.result, recognised))
    agrees, inconclusive = exact, False
    if not exact:
        agrees = all(_close(c, t) for c, t in pairs)
        inconclusive = agrees and len(pairs) < MIN_POINTS
        agrees = agrees and not inconclusive
    span = f"{min(digits)} to {max(digits)}" if len(digits) > 1 else f"{min(digits, default=PRECISIONS[0])}"
    method = ("equal as expressions in node values" if exact
              else f"values compared at {len(pairs)} point{'s' * (len(pairs) != 1)}, {span} digits")
    cand, true = (float(at_point.c), float(at_point.t)) if at_point else (None, None)
    ratio = float(at_point.c / at_point.t) if at_point and at_point.t != 0 else None
    v = Verdict(agrees, cand, true, ratio, pairs, method, expr, source, recognised, inconclusive=inconclusive)
    if inconclusive:
        v.diagnosis = [f"The candidate and the derivative could be compared at only {len(pairs)} of {tried} points "
                       "(elsewhere one of them has no value, its digits cancel at every precision, or a kink is "
                       f"too close); at least {MIN_POINTS} are needed to tell whether they are equal as functions."]
    return v


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


@dataclass
class _Pair:
    c: object  # the candidate, in mpmath
    t: object  # the derivative
    digits: int  # the precision that decided
    kink: bool  # a sign argument on its kink: conventions may differ there, so no evidence
    trusted: bool  # both kept enough digits (nothing cancelled away)


def _pair(d: Derivation, expr: sympy.Expr, point: dict[str, float], arguments: list) -> _Pair | None:
    """(candidate, derivative) at a complete point, through one forward pass; None where undefined.

    Kept as mpmath numbers (exp(exp(exp(...))) is finite there but inf as a float). The precision
    rises while a value has too few digits left (1 - O(1 - O) at a saturated unit) or the two differ,
    until they agree or the same difference stands at two precisions."""
    last = None
    for digits in PRECISIONS[:3]:
        with mpmath.workdps(digits):
            try:
                env = checking.forward(d, point, precise=True, target=False).env
                lost: list[float] = []
                here = _Pair(value(expr, env, True, lost), value(d.result, env, True, lost), digits,
                             points.at_kink(arguments, env), False)
            except (UndefinedError, KeyError):
                return last
        here.trusted = max(lost) <= digits - GOOD_DIGITS
        here.kink = here.kink and kinkfree.matters([expr, d.result], env)
        if here.kink:
            return here
        if here.trusted and (_close(here.c, here.t) or (last is not None and last.trusted and _close(here.c, last.c)
                                                         and _close(here.t, last.t))):
            return here
        last = here
    return last


def _close(a, b) -> bool:
    """Equal, or equal to AGREE relative, in mpmath: no float overflow to fool it, and no absolute floor
    (at a saturated unit 0, -1 and 100 times a derivative of 2.7e-33 are all within 1e-30 of it)."""
    return a == b or abs(a - b) <= AGREE * max(abs(a), abs(b))
