"""What is wrong with a learner's derivative, in sentences a teacher would write.

Beyond the numbers (values, ratio, a sign, a constant factor), the candidate is compared with the
chain rule term by term. The true derivative is a sum over the paths from `--wrt` to the target,
each a product of weights, activation derivatives and the loss's derivative. Both sides are
rewritten with one symbol per such factor ("atoms": `σ'(z_h2)` for h2(1-h2), whatever the learner
called it), expanded into terms, and each candidate term is matched with the path it shares most
atoms with. What the term lacks or has too much of is then named, per path.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction

import sympy

from derivator.graph.plan import plan
from derivator.judge.candidate import Verdict, expansion_size, small
from derivator.judge.factors import Atoms
from derivator.load.formula import MAX_EXPONENT
from derivator.numbers import checking
from derivator.numbers.evaluate import UndefinedError, value
from derivator.symbolic.derive import Derivation
from derivator.symbolic.nested import ONE
from derivator.symbolic.printing import nested_text, teacher

MAX_PATHS = 64
MAX_TERMS = 256


@dataclass
class Path:
    nodes: list[str]  # from where wrt enters to the target's node
    atoms: Counter  # atom symbol -> power
    coeff: sympy.Expr
    order: list  # the factors in chain order, target first


def diagnose(d: Derivation, cand: sympy.Expr, v: Verdict, point: dict[str, float]) -> list[str]:
    if not v.pairs:
        return ["The candidate has no finite value at the point or at any of the points around it."]
    out = []
    if v.value is not None and v.true_value is not None:
        ratio = f"; their ratio is {_nice(v.ratio)}" if v.ratio is not None else ""
        out.append(f"At the point the candidate is {v.value:.12g} and the derivative is {v.true_value:.12g}{ratio}.")
    if v.ratio is not None and abs(v.ratio - 1) <= 1e-9:
        out.append("They are equal at this point only by coincidence: at other points they differ.")
    constant = _constant_ratio(v)
    if constant is not None:
        if constant == -1:
            out.append("The sign is wrong: the candidate is minus the derivative at every point.")
        elif constant == 0:
            out.append("The candidate is 0 where the derivative is not.")
        else:
            out.append(f"The candidate is {_nice(constant)} times the derivative at every point: a constant factor "
                       f"{'is missing' if abs(constant) < 1 else 'is extra'} ({_factor_words(constant)}).")
    # In node values as recognised (I*w1 + 1 as z_h1, s(z_h1) as h1): an expanded candidate gets the same sentences.
    cand = v.in_node_values if v.in_node_values is not None else cand
    out += _paths(d, cand, point, quiet_coeff=constant is not None)
    return out


def _constant_ratio(v: Verdict) -> float | None:
    """c when candidate = c * derivative at every point (c != 1), else None."""
    ratios = [c / t for c, t in v.pairs if t != 0]
    if len(ratios) < 3:
        return None
    c = ratios[0]
    if c != 1 and all(abs(cand - c * true) <= 1e-9 * max(abs(cand), abs(c * true), 1e-300)
                      for cand, true in v.pairs):
        return float(c)
    return None


def _nice(x: float) -> str:
    if not math.isfinite(x):
        return f"{x:.6g}"
    f = Fraction(x).limit_denominator(1000)
    if abs(float(f) - x) <= 1e-9 * max(1, abs(x)):
        return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"
    return f"{x:.6g}"


def _factor_words(c: float) -> str:
    if not math.isfinite(c):
        return f"the factor is {c:.6g}"
    f = Fraction(c).limit_denominator(1000)
    if abs(float(f) - c) > 1e-9 * max(1, abs(c)):
        return f"the factor is {c:.6g}"
    if f.numerator == 1:
        return f"multiply it by {f.denominator}"
    if f.denominator == 1:
        return f"divide it by {f.numerator}"
    return f"multiply it by {f.denominator}/{f.numerator}"


# -- the chain rule, term by term -----------------------------------------------------------------
def _paths(d: Derivation, cand: sympy.Expr, point: dict[str, float], quiet_coeff: bool) -> list[str]:
    if d.kind not in ("parameter", "input", "node", "preactivation"):
        return []
    if not small(cand):
        return []  # too large to rewrite term by term; the numbers above still speak
    atoms = Atoms(d)
    paths = _enumerate(d, atoms)
    if not paths or len(paths) > MAX_PATHS:
        return []
    rewritten = atoms.rewrite(cand)
    if expansion_size(rewritten) > MAX_TERMS:
        return []  # too many terms to match path by path; the numbers above still speak
    found = [_monomial(t) for t in sympy.Add.make_args(sympy.expand(rewritten)) if t != 0]  # 0 has no terms
    match = _assign(found, paths)
    out = []
    for j, p in enumerate(paths):
        i = match.get(j)
        if i is None:
            out.append(f"The path {_path_name(paths, p)} is missing: its term is {_chain(atoms, p.order)}.")
            continue
        coeff, have = found[i]
        sentence = _compare(atoms, p, have, coeff, point, d, quiet_coeff)
        if sentence:
            where = "candidate" if len(paths) == 1 else f"term for the path {_path_name(paths, p)}"
            out.append(f"The {where} {sentence}.")
    for i, (coeff, have) in enumerate(found):
        if i not in match.values():
            factors = sorted(have.elements(), key=lambda f: f not in atoms.names)  # chain-rule factors first
            term = teacher(coeff) + " " + _chain(atoms, factors) if coeff != 1 else _chain(atoms, factors)
            out.append(f"The term {term} is extra: it matches no path from {d.wrt} to the target.")
    return out


def _assign(found: list[tuple], paths: list[Path]) -> dict[int, int]:
    """Pair candidate terms with paths, fewest differing factors first; {path index: term index}.

    A term shares at least half of a path's factors to stand for it; otherwise it is an extra term."""
    options = []
    for i, (_, have) in enumerate(found):
        for j, p in enumerate(paths):
            shared = sum((have & p.atoms).values())
            if 2 * shared >= sum(p.atoms.values()):
                differ = sum((p.atoms - have).values()) + sum((have - p.atoms).values())
                options.append((differ, j, i))
    match, taken = {}, set()
    for _, j, i in sorted(options):
        if j not in match and i not in taken:
            match[j] = i
            taken.add(i)
    return match


def _chain(atoms: Atoms, factors: list) -> str:
    """A product of atoms written with their forms, in the given order: O(1 - O) w4 h2(1 - h2) ..."""
    return nested_text(ONE.then(*[atoms.form(f) for f in factors]))


def _compare(atoms: Atoms, p: Path, have: Counter, coeff, point, d: Derivation, quiet_coeff: bool) -> str:
    missing, extra = p.atoms - have, have - p.atoms
    parts = []
    for a in [a for a in extra if a in atoms.wrong]:
        right = [m for m in missing if m == atoms.prime.get(atoms.wrong[a])]
        parts.append(f"uses {atoms.describe(a)} where it needs {atoms.describe(right[0])}" if right
                     else f"has {atoms.describe(a)}")
        for m in right:
            missing.pop(m)
        extra.pop(a)
    if missing:
        ordered = [f for f in p.order if f in missing] + [f for f in missing if f not in p.order]
        weights = [f for f in ordered if f not in atoms.names and str(f) in d.net.params]
        others = [f for f in ordered if f not in weights]
        lacks = []
        if weights:
            product = sympy.Mul(*weights)
            at = _at_point(product, point, d)
            lacks.append(f"the weight{'s' * (len(weights) > 1)} {'*'.join(str(w) for w in weights)}"
                         + (f" (= {at} at the point)" if at else ""))
        lacks += [atoms.describe(a) for a in others]
        parts.append("lacks " + " and ".join(lacks))
    if extra:
        parts.append(f"has an extra {' and '.join(atoms.describe(a) for a in extra.elements())}")
    if coeff != p.coeff and not quiet_coeff:
        parts.append(f"has the coefficient {teacher(coeff)} instead of {teacher(p.coeff)}")
    return ", ".join(parts)


def _at_point(expr: sympy.Expr, point: dict[str, float], d: Derivation) -> str:
    """The value of a missing factor at the point ('= 0.25'), or '' where it has none."""
    if not all(n in point for n in checking.needed(d)):
        return ""
    try:
        env = checking.forward(d, point, target=False).env
        return f"{value(expr, env):.6g}" if expr.free_symbols <= set(env) else ""
    except UndefinedError:
        return ""


def _monomial(term: sympy.Expr) -> tuple[sympy.Expr, Counter]:
    coeff, rest = term.as_coeff_Mul()
    powers = Counter()
    for f in sympy.Mul.make_args(rest):
        base, exp = f.as_base_exp()
        if exp.is_Integer and 0 < exp <= MAX_EXPONENT:  # not exp(10**8), E**(10**8) to as_base_exp
            powers[base] += int(exp)
        else:
            powers[f] += 1
    return coeff, powers


def _product(c: Counter) -> sympy.Expr:
    return sympy.Mul(*[b**e for b, e in c.items()])


def _path_name(paths: list[Path], p: Path) -> str:
    """'through h2 (I → h1 → h2 → O)': named by the nodes that set it apart from the other paths."""
    shared = set.intersection(*[set(q.nodes) for q in paths]) if len(paths) > 1 else set(p.nodes)
    own = [n for n in p.nodes if n not in shared]
    return (f"through {', '.join(own)} " if own else "") + f"({' → '.join(p.nodes)})"


def _enumerate(d: Derivation, atoms: Atoms) -> list[Path]:
    """The chain-rule terms of the derivative, one per path, as atoms (expanded, like the candidate)."""
    steps = d.steps
    prime_atom, loss_atom = atoms.prime, atoms.loss
    sinks, one = set(d.sinks), sympy.S.One

    groups = plan(d.net, d.of).groups

    def walk(v: str) -> list[tuple[list[str], list]]:
        """Factors from the target back to v's delta (chain order), one list per path."""
        step = steps[v]
        if step.fused is not None:
            return [([v], [loss_atom[v]])]
        if v in groups:  # z_v reaches the target through every output p_j of its group: ∂p_j/∂z_v
            return [(nodes if j == v else [v, *nodes], [*factors, groups[v].local[j, v]])
                    for j in groups[v].members if j in steps for nodes, factors in onward(j)][:MAX_PATHS + 1]
        return [(nodes, [*factors, prime_atom.get(v, one)]) for nodes, factors in onward(v)]

    def onward(v: str) -> list[tuple[list[str], list]]:
        """Factors from the target back to v's output."""
        step = steps[v]
        here = [([v], [loss_atom.get(v, one)])] if v in sinks and step.loss_grad is not None else []
        for w, k in step.children:
            here += [([v, *nodes], [*factors, w]) for nodes, factors in walk(k)]
            if len(here) > MAX_PATHS:
                break
        return here

    starts = _starts(d)
    paths = []
    for first, factor, start in starts:
        if first not in steps:
            continue
        for nodes, factors in walk(first):
            order = [f for f in [*factors, factor] if f != 1]
            for t in sympy.Add.make_args(sympy.expand(sympy.Mul(*[atoms.weighted(f) for f in order]))):
                coeff, powers = _monomial(t)
                paths.append(Path(([start] if start else []) + nodes, powers, coeff, order))
    return paths


def _starts(d: Derivation) -> list[tuple[str, sympy.Expr, str | None]]:
    """(first node, the factor where wrt enters, the name the path starts from)."""
    if d.kind == "preactivation":
        return [(d.wrt[2:], sympy.S.One, None)]  # the node's delta: its own f' included
    if d.kind == "node":
        return [(e.dst, e.weight, d.wrt) for e in d.net.children[d.wrt]]
    return [(u.node, u.factor, u.where.split()[1] if u.where.startswith("edge") else None) for u in d.uses]
