"""Saturation-safe forms for expressions the tool did not write (a learner's candidate).

The tool's own numbers never compute 1 - o of a saturated sigmoid as a difference: each activation
lists its cancelling parts with the same number written from z (graph/rules.py `complements`, read
by numbers/sweep.py), so 1 - σ(1000) is σ(-1000) = 5e-435, not 1 - 1 = 0. A candidate writes the
same parts in its own way: `1 - σ(z_O)`, `1 - tanh(z)^2`, `1/(1 + exp(-u))`. Here they are rewritten
into the same forms, for numbers only (what the learner wrote is displayed as written). Node values
(`1 - O`) need nothing here: the forward pass gives their complements from z.
"""

from __future__ import annotations

import sympy

from derivator.graph.primitives import sigmoid
from derivator.graph.rules import ACTIVATIONS, SOFTMAX, X
from derivator.numbers.sweep import OUT, PRE

Expr = sympy.Expr


def _patterns() -> dict[type, list[tuple[Expr, Expr]]]:
    """For each activation function f: its cancelling parts in OUT and their forms in PRE."""
    out: dict[type, list[tuple[Expr, Expr]]] = {}
    for act in ACTIVATIONS.values():
        if act.name == SOFTMAX:  # a group's function, not a unit's: see numbers/softmax.py
            continue
        f = act.f(X)
        if f.args == (X,):
            out.setdefault(f.func, []).extend(act.complements(OUT, PRE).items())
    return out


PATTERNS = _patterns()


def safe(expr: Expr) -> Expr:
    """`expr` with 1/(1 + exp(-u)) as σ(u), and each activation's cancelling part of f(u) in u."""
    memo: dict[Expr, Expr] = {}

    def walk(e: Expr) -> Expr:
        if e in memo:
            return memo[e]
        new = e
        if e.args:
            args = [walk(a) for a in e.args]
            if any(a is not b for a, b in zip(args, e.args, strict=True)):
                new = e.func(*args)
            if new.is_Pow and new.exp == -1 and new.base.is_Add:
                new = _logistic(new.base) or new
            new = _fold(new)
        memo[e] = new
        return new

    return walk(expr)


def _logistic(base: Expr) -> Expr | None:
    """1/(1 + exp(v)) is σ(-v)."""
    terms = base.args
    if len(terms) == 2 and sympy.S.One in terms:
        other = terms[0] if terms[1] == 1 else terms[1]
        if other.func == sympy.exp:
            return sigmoid(-other.args[0])
    return None


def _fold(e: Expr) -> Expr:
    """e with a cancelling part of some f(u) replaced by its form in u: e itself (log σ(u)), or, in a
    sum, c·(k + part) among its terms (2 - 2σ(u))."""
    terms = e.args if e.is_Add else (e,)
    found = {a for t in terms for a in _applications(t) if type(a) in PATTERNS}
    for a in found:
        for part, form in PATTERNS[type(a)]:
            key, new = part.xreplace({OUT: a}), form.xreplace({PRE: a.args[0]})
            if e == key:
                return new
            done = _replace(e, key, new) if e.is_Add and key.is_Add else None
            if done is not None:
                return done
    return e


def _applications(term: Expr) -> list[Expr]:
    """f(u) within a term's first levels: f(u), c·f(u), f(u)**k, c·f(u)**k, c·exp(-f(u)), log(f(u))."""
    out, level = [], [term]
    for _ in range(4):
        out += [e for e in level if isinstance(e, sympy.Function) and len(e.args) == 1]
        level = [a for e in level for a in e.args]
    return out


def _replace(add: Expr, key: Expr, form: Expr) -> Expr | None:
    """add with c·key replaced by c·form, when it holds c·key's terms and its constant is c·key's:
    then the part is what cancels (1 + tanh(u) is not rewritten through 1 - tanh(u))."""
    k0, k_terms = key.as_coeff_Add()
    a0, a_terms = add.as_coeff_Add()
    k_terms, a_terms = sympy.Add.make_args(k_terms), list(sympy.Add.make_args(a_terms))
    first_c, first = k_terms[0].as_coeff_Mul()
    for t in a_terms:
        c_t, core = t.as_coeff_Mul()
        if core != first:
            continue
        c = c_t / first_c
        wanted = [c * k for k in k_terms]
        if a0 == c * k0 and all(w in a_terms for w in wanted):
            rest = [x for x in a_terms if x not in wanted]
            return sympy.Add(c * form, *rest)
    return None
