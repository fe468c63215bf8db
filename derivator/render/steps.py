"""The worked derivation, independent of format: forward equations, deltas, result, expanded form.

Every renderer (text, LaTeX, Markdown) prints the same `Work`; only the notation differs. Right-hand
sides are `nested` structures, so each keeps the order a teacher writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sympy

from derivator.answers.report import Report
from derivator.graph import equations
from derivator.graph.network import symbol, z_symbol
from derivator.render import teaching
from derivator.symbolic.derive import Derivation, softmax_delta
from derivator.symbolic.nested import ONE, ZERO, Prod, Sum, size

# Past this many printed factors in all, nested forms are not written out (the result's first, then
# the deltas'); the recursion form, which is linear in the network, always is.
MAX_NESTED_FACTORS = 20_000
# Past this many characters the expanded form names its common subexpressions (where a1 = ...).
LONG = 160


@dataclass(frozen=True)
class Partial:
    """The left-hand side ∂of/∂wrt."""

    of: str
    wrt: str


@dataclass
class Eq:
    lhs: sympy.Expr | Partial
    rhs: list[Prod | sympy.Expr]  # lhs = rhs[0] = rhs[1] = ...
    fused_note: str | None = None  # an output delta where the loss's and the activation's factors cancel: why
    constants: Prod | None = None  # for ∂z_v/∂w: the terms of z_v that do not depend on w
    value: float | None = None  # its value at the point, when the point is known


@dataclass
class Work:
    partial: Partial
    forward: list[list[Eq]]  # one row per node: [z_v, o_v] for a neuron, [v] for a formula node
    deltas: list[Eq]
    result: list[Eq]
    expanded: sympy.Expr | None  # in inputs and parameters; None when too large
    where: list[tuple[sympy.Symbol, sympy.Expr]] = field(default_factory=list)  # names in `expanded`
    too_large: bool = False  # some nested form was too large to write out
    locals: list[Eq] = field(default_factory=list)  # ∂k/∂v of each formula node k on a path, in node values
    loss: Eq | None = None  # the loss's equation in the outputs' values, with its value
    losses: list[float] = field(default_factory=list)  # with data: each sample's loss
    target: float | None = None  # with data: J over the samples
    rules: list = field(default_factory=list)  # teaching.Rule: the recursion and derivatives applied
    sentences: list[str] = field(default_factory=list)  # story 2's answers, where they apply

    @property
    def graph(self) -> bool:
        """Whether the derivation has formula nodes, whose deltas are ∂target/∂v rather than ∂target/∂z_v."""
        return bool(self.locals) or any(len(row) == 1 for row in self.forward)


def reduce_text(net) -> str:
    """How J gathers the samples' losses: (1/m) Σₛ, or Σₛ with `reduction: sum`."""
    return "(1/m) Σₛ" if net.reduction == "mean" else "Σₛ"


def reduce_tex(net) -> str:
    return r"\frac{1}{m} \sum_{s=1}^{m}" if net.reduction == "mean" else r"\sum_{s=1}^{m}"


def delta_symbol(node: str) -> sympy.Symbol:
    return sympy.Symbol("δ_" + node, real=True)


def writable(d: Derivation) -> tuple[bool, set[str]]:
    """Whether the nested result, and which nested deltas, fit in MAX_NESTED_FACTORS together.

    The result comes first, then the deltas from the output back; a chain of n nodes has deltas of
    1..n factors, n²/2 in all, and a lattice's grow exponentially, so the budget is shared.
    """
    memo: dict = {}
    budget = MAX_NESTED_FACTORS - size(d.nested, memo)
    result_fits = budget >= 0
    fits = set()
    for v, p in d.deltas_nested.items():
        budget -= size(p, memo)
        if budget < 0:
            break
        fits.add(v)
    return result_fits, fits


def work(r: Report) -> Work:
    d = r.derivation
    partial = Partial(d.of, d.wrt)
    result_fits, fits = writable(d)
    numbers = r.worked
    deltas = []
    for v, step in d.steps.items():
        split = teaching.output_split(d, v)
        if split is not None:  # δ_O = ∂L/∂O · σ'(z_O) = 2(O - y) · O(1 - O) (= O - y where they cancel)
            rhs: list = [*split, Prod((step.fused,)) if step.fused is not None else recursion(step)]
        else:
            rhs = [recursion(step)]
            if v in fits and d.deltas_nested[v] != rhs[0]:
                rhs.append(d.deltas_nested[v])
        value = numbers.deltas.get(v) if numbers else None
        deltas.append(Eq(delta_symbol(v), rhs, fused_note=step.fused_note, value=value))
    too_large = not result_fits or len(fits) < len(d.steps)
    result: list = [result_in_deltas(d)]
    local = _local(d)
    if result_fits:
        result.append(d.nested)
    expanded, where = r.expanded, []
    if expanded is not None and len(str(expanded)) > LONG:
        expanded, where = _named(expanded, d)
    forward = _forward(d)
    if numbers:
        for eq in (eq for row in forward for eq in row):
            eq.value = numbers.forward.get(str(eq.lhs))
    loss = Eq(sympy.Symbol("loss"), [d.target], value=numbers.forward.get("loss") if numbers else None) \
        if d.of == "loss" else None
    w = Work(partial, forward, deltas, [*local, Eq(partial, result)], expanded, where, too_large,
             _formula_locals(d), loss, numbers.losses if numbers and len(numbers.losses) > 1 else [],
             numbers.target if numbers else None, teaching.rules(d), teaching.sentences(d))
    return r.blank.apply(w) if getattr(r, "blank", None) else w  # --blank: a worksheet (render/worksheet.py)


def _formula_locals(d: Derivation) -> list[Eq]:
    """∂k/∂v for every formula node k on a path and each node v it reads there: the local derivatives."""
    eqs = []
    for v, step in reversed(d.steps.items()):
        for local, k in step.children:
            if d.net.nodes[k].is_formula:
                eqs.append(Eq(Partial(k, v), [local]))
    return eqs


def _local(d: Derivation) -> list[Eq]:
    """∂z_v/∂w for each use of a parameter or input: z_v is linear in it; its other terms are constants."""
    eqs = []
    for u in d.uses:
        if u.node is None:
            continue
        if d.net.nodes[u.node].is_formula:
            eqs.append(Eq(Partial(u.node, d.wrt), [u.factor]))
            continue
        terms = _terms(d.net, u.node)
        mine = [t for t in terms if d.wrt in {str(s) for f in t.factors for s in f.free_symbols}]
        others = [t for t in terms if t not in mine]
        if len(mine) == 1:
            rest = Prod((Sum(tuple(others)),)) if len(others) > 1 else (others[0] if others else None)
            eqs.append(Eq(Partial("z_" + u.node, d.wrt), [ONE.then(u.factor)], constants=rest))
    return eqs


def _terms(net, v: str) -> list[Prod]:
    """The terms of z_v: w o_u for each incoming edge, and the bias."""
    node = net.nodes[v]
    terms = [ONE.then(e.weight, symbol(e.src)) for e in net.parents[v]]
    return terms + ([Prod((node.bias,))] if node.bias != 0 else [])


def _forward(d: Derivation) -> list[list[Eq]]:
    return forward_rows(d.net, d.upstream)


def forward_rows(net, upstream: set[str]) -> list[list[Eq]]:
    """z_v and o_v for every neuron in `upstream` (what a target depends on), v for a formula node, in
    forward order."""
    rows = []
    for v, node in net.nodes.items():
        if v not in upstream:
            continue
        if node.is_formula:
            rows.append([Eq(symbol(v), [node.formula])])
            continue
        terms = _terms(net, v)
        rows.append([Eq(z_symbol(v), [Prod((Sum(tuple(terms)),)) if len(terms) > 1 else terms[0]]),
                     Eq(symbol(v), [equations.activation(net, v)])])
    return rows


def recursion(step) -> Prod:
    """δ_v = f'(z_v) (Σ_k w(v,k) δ_k + ∂L/∂o_v), with the children's deltas as symbols; a softmax
    unit's from the same sums of its whole group (derive.softmax_delta)."""
    if step.fused is not None:
        return Prod((step.fused,))
    if step.group:
        grads = {s.node: _upstream(s) for s in step.group}
        return softmax_delta(tuple(grads), grads, step.node)
    inner = _upstream(step)
    if step.loss_grad is not None and not step.children:
        return inner.then(step.prime)  # the output: ∂L/∂o first, then f', the order of the chain
    return ONE.then(step.prime, *inner.factors)


def _upstream(step) -> Prod:
    """∂T/∂o_v as the recursion writes it: Σ_k w(v,k) δ_k (δ_k ∂k/∂v into a formula node) + ∂L/∂o_v."""
    terms = [ONE.then(delta_symbol(k), w) if k in step.into_formulas else ONE.then(w, delta_symbol(k))
             for w, k in step.children]
    if step.loss_grad is not None:
        terms.append(Prod((step.loss_grad,)) if step.loss_grad != 1 else ONE)
    if not terms:
        return ZERO  # a softmax unit nothing reads: only its z counts, through its group
    return terms[0] if len(terms) == 1 else Prod((Sum(tuple(terms)),))


def result_in_deltas(d: Derivation) -> Prod:
    """The derivative in deltas: Σ over uses of δ_v times what multiplies it."""
    if d.kind == "preactivation":
        return Prod((delta_symbol(d.wrt[2:]),)) if d.wrt[2:] in d.steps else Prod((sympy.S.Zero,))
    if d.kind == "node":
        step = d.steps.get(d.wrt)
        if step is None:
            return Prod((sympy.S.Zero,))
        terms = [ONE.then(delta_symbol(k), w) for w, k in step.children]
        if step.loss_grad is not None:
            terms.append(ONE.then(step.loss_grad))
        return terms[0] if len(terms) == 1 else Prod((Sum(tuple(terms)),))
    terms = [ONE.then(delta_symbol(u.node), u.factor) if u.node is not None else ONE.then(u.factor) for u in d.uses]
    if not terms:
        return Prod((sympy.S.Zero,))
    return terms[0] if len(terms) == 1 else Prod((Sum(tuple(terms)),))


def _named(expr: sympy.Expr, d: Derivation) -> tuple[sympy.Expr, list[tuple[sympy.Symbol, sympy.Expr]]]:
    """Common subexpressions named a1, a2, ... (a letter no network name starts with digits: a1_1 rules out a)."""
    taken = {*d.net.names, *d.net.nodes}
    letter = next(c for c in "acegkmpqrs" if not any(re.match(c + r"\d", n) for n in taken))
    names = sympy.numbered_symbols(letter, start=1, real=True)
    pairs, (reduced,) = sympy.cse(expr, symbols=names, optimizations=None)
    return reduced, pairs
