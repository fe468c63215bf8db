"""A candidate's subexpressions that are a node's pre-activation or output, written as that node.

A learner who writes `s(s(I*w1 + 1)*w2 + 1)` means h2, and `I*w1 + 1` is z_h1. The path diagnosis
speaks of nodes, so the candidate is rewritten bottom-up: each subexpression, its arguments already
rewritten, is compared with every node's pre-activation (in node values, ± itself) and with its
activation as a function of z_v. Equality is decided exactly: a polynomial identity once expanded
for a pre-activation; for a sigmoid or tanh of z, a rational identity in t = exp(z) (so
`exp(z)/(1 + exp(z))` is σ(z) too). Every replacement is then confirmed numerically, the original
subexpression against the node's value from a forward pass at several points; a replacement that
any point contradicts, or that no point could confirm, is not made. The work is bounded by the
number of distinct subexpressions and nodes.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

import sympy

from derivator.graph import equations
from derivator.graph.network import symbol, z_symbol
from derivator.graph.primitives import FUNCTIONS
from derivator.judge import points
from derivator.numbers import checking
from derivator.numbers.evaluate import UndefinedError, value
from derivator.symbolic.derive import Derivation

CONFIRM = 4  # points at which each replacement must hold (and contradict nowhere)
AGREE = 1e-9  # relative, in floats: the forms are the same function, so far below any real difference
MAX_SUBEXPRESSIONS = 4000  # distinct subexpressions looked at; past this the candidate stays as written
MAX_FORM_SIZE = 80  # a function of one z larger than this is not tried as an activation
MAX_FORM_CHECKS = 200  # such tries per candidate (each a small sympy.cancel)
SIGMOID, TANH = FUNCTIONS["sigmoid"], sympy.tanh


def recognise(d: Derivation, expr: sympy.Expr, point: Mapping[str, float]) -> sympy.Expr:
    """`expr` with every subexpression that equals a node's z_v or output written as z_v or v."""
    nodes = [v for v, n in d.net.nodes.items() if not n.is_formula and n.group is None]
    if not nodes or len(set(sympy.preorder_traversal(expr))) > MAX_SUBEXPRESSIONS:
        return expr
    # By one of their symbols: a subexpression is compared only with those whose symbols it has.
    pres: dict[sympy.Symbol, list] = {}
    for v in nodes:
        pre = sympy.expand(equations.preactivation(d.net, v))
        if pre.free_symbols:
            key = min(pre.free_symbols, key=sympy.default_sort_key)
            pres.setdefault(key, []).append((z_symbol(v), pre, pre.free_symbols))
    outputs = {z_symbol(v): (symbol(v), d.net.nodes[v].activation) for v in nodes}
    envs = _envs(d, point)
    memo: dict[sympy.Expr, sympy.Expr] = {}
    budget = [MAX_FORM_CHECKS]  # rational-function identities tried, over the whole candidate

    def confirmed(original: sympy.Expr, new: sympy.Expr) -> bool:
        return _holds(original, new, envs)

    def walk(e: sympy.Expr) -> sympy.Expr:
        if e in memo:
            return memo[e]
        if not e.args or e.is_Number:
            memo[e] = e
            return e
        r = e.func(*[walk(a) for a in e.args])
        found = _match(r, pres, outputs, budget)
        if found is not None and confirmed(e, found):
            r = found
        memo[e] = r
        return r

    # An identity unit's output is its z: written as the node, as the derivative writes it.
    same = {z_symbol(v): symbol(v) for v in nodes if d.net.nodes[v].activation.name in ("identity", "linear")}
    return walk(expr).xreplace(same)


def _match(r: sympy.Expr, pres, outputs, budget: list[int]) -> sympy.Expr | None:
    """z_v, -z_v or v when `r` is exactly that, else None."""
    free = r.free_symbols
    if r.is_Add or r.is_Mul:
        for key in free & set(pres):
            for z, pre, symbols in pres[key]:
                if symbols <= free and (found := _as_pre(r, z, pre)) is not None:
                    return found
    if len(free) == 1:
        (z,) = free
        if z in outputs and r != z:
            o, act = outputs[z]
            if r == act.f(z):
                return o
            if budget[0] > 0 and r.has(sympy.exp, TANH, SIGMOID):
                budget[0] -= 1
                if _same_function(r, act.f(z), z):
                    return o
    return None


def _as_pre(r: sympy.Expr, z: sympy.Symbol, pre: sympy.Expr) -> sympy.Expr | None:
    """`k z + rest` when `r` expanded is k times `pre`'s terms (k a number) plus other terms, else None:
    `2 h w2 - 2 y` is 2 z_o - 2 y. Exact: every term of `pre` must cancel, so rest has the others only."""
    if r.is_Mul and not pre.is_Mul:
        return None
    er = sympy.expand(r)
    terms, own = sympy.Add.make_args(er), sympy.Add.make_args(pre)
    if len(own) > len(terms):
        return None
    coeff, monomial = next(t for t in own if not t.is_Number).as_coeff_Mul()  # pre has a free symbol
    k = er.coeff(monomial) / coeff
    if not k.is_Number or k == 0:
        return None
    rest = sympy.expand(er - k * pre)
    if len(sympy.Add.make_args(rest) if rest != 0 else ()) != len(terms) - len(own):
        return None
    return k * z + rest


def _same_function(r: sympy.Expr, f: sympy.Expr, z: sympy.Symbol) -> bool:
    """Whether r and f, both of z, are one rational function of t = exp(z) (sigmoid and tanh only)."""
    if not f.has(SIGMOID, TANH) or equations.tree_size(r) > MAX_FORM_SIZE:
        return False
    t = sympy.Dummy("t", positive=True)
    a, b = _in_t(r, z, t), _in_t(f, z, t)
    if a is None or b is None:
        return False
    return sympy.cancel(sympy.together(a - b)) == 0


def _in_t(e: sympy.Expr, z: sympy.Symbol, t: sympy.Dummy) -> sympy.Expr | None:
    """`e` with sigmoid and tanh written in exp, and exp(k z) as t^k (k an integer); None for other forms."""
    e = e.replace(SIGMOID, lambda u: 1 / (1 + sympy.exp(-u))).rewrite(sympy.exp)
    bad = []

    def power(u: sympy.Expr) -> sympy.Expr:
        k = sympy.expand(u / z)
        if not (k.is_Integer and abs(k) <= 4):
            bad.append(u)
            return sympy.S.One
        return t ** k

    e = e.replace(sympy.exp, power)
    if bad or e.has(z) or not e.is_rational_function(t):
        return None
    return e


def _envs(d: Derivation, point: Mapping[str, float]) -> list[dict]:
    """Forward passes at the point and at points drawn around it (a fixed seed), where defined."""
    rng = random.Random(points.SEED)
    base = points.complete(d, point)
    moved = {*d.net.inputs, *d.net.params}
    envs = []
    for i in range(3 * CONFIRM):
        p = base if i == 0 else {n: (v + rng.gauss(0, 0.5 * max(1.0, abs(v))) if n in moved else v)
                                 for n, v in base.items()}
        try:
            envs.append(checking.forward(d, p, target=False).env)
        except (UndefinedError, ArithmeticError, ValueError):
            continue
        if len(envs) >= 2 * CONFIRM:
            break
    return envs


def _holds(original: sympy.Expr, new: sympy.Expr, envs: list[dict]) -> bool:
    """The original subexpression and its replacement agree at every point where both have a value,
    and there are at least CONFIRM such points."""
    seen = 0
    for env in envs:
        if not (original.free_symbols | new.free_symbols) <= set(env):
            return False
        try:
            a, b = float(value(original, env)), float(value(new, env))
        except (UndefinedError, ArithmeticError, ValueError, TypeError):
            continue
        if abs(a - b) > AGREE * max(abs(a), abs(b), 1e-300) and abs(a - b) > 1e-300:
            return False
        seen += 1
    return seen >= CONFIRM
