"""Second derivatives by the network's structure: forward mode over the backward plan.

The first derivative with respect to A is a sum over the places A enters, `Σ δ_k · local` (`o_u` for a
weight, 1 for a bias). Its derivative with respect to B is, by the product rule,

    ∂²T/∂A∂B = Σ over A's links (∂δ_k/∂B · local + δ_k · ∂local/∂B)

and every factor's derivative with respect to B comes from one more pass over the same plan
(Pearlmutter's R-operator; Bishop's exact Hessian for multilayer networks):

    forward   ∂z_v/∂B = Σ over links into v of local · ∂(what enters)/∂B      ∂o_v/∂B = f'(z_v) ∂z_v/∂B
    backward  ∂δ_v/∂B = ∂(∂T/∂o_v)/∂B · f'(z_v) + ∂T/∂o_v · f''(z_v) ∂z_v/∂B
              ∂(∂T/∂o_v)/∂B = L''·∂o/∂B (at an output) + Σ over links (v → k) (∂δ_k/∂B · local + δ_k ∂local/∂B)

with f'' the second-order rules (`rules`: σ'' = o(1-o)(1-2o)), L'' the loss's. Each line is written in
node values, δ's and the earlier lines' symbols, the way a learner carries it by hand; nothing here
differentiates more than one small local expression.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy
from sympy import S

from derivator.errors import DerivatorError, unknown
from derivator.graph import equations, rules
from derivator.graph.curvature import local_second
from derivator.graph.network import Network, symbol, z_symbol
from derivator.graph.plan import Link, Plan, plan
from derivator.symbolic.derive import backward
from derivator.symbolic.nested import to_sympy
from derivator.symbolic.printing import Label, tex_name

Expr = sympy.Expr


def delta(v: str) -> sympy.Symbol:
    """δ_v, the first-order delta, as a symbol of the derivation (its value comes from the backward pass)."""
    return symbol("δ_" + v)


def tangent_symbol(quantity: str, wrt: str) -> Label:
    """∂z_h1/∂w1 and the like: the name of one line of the forward-mode pass."""
    head = rf"\delta_{{{tex_name(quantity[2:])}}}" if quantity.startswith("δ_") else tex_name(quantity)
    return Label(f"∂{quantity}/∂{wrt}", rf"\frac{{\partial {head}}}{{\partial {tex_name(wrt)}}}")


@dataclass
class Line:
    """One quantity's derivative with respect to B: `symbol = expr`, and why it takes that form."""

    quantity: str  # z_h1, h1 or δ_h1
    symbol: Label
    expr: Expr
    why: str
    rule: Expr | None = None  # the second-order rule this line uses (f''(z) in node values), if any


@dataclass
class Tangent:
    """Every quantity's derivative with respect to one name B, in forward then backward order."""

    net: Network
    of: str
    wrt: str
    plan: Plan
    lines: list[Line] = field(default_factory=list)
    known: dict[str, Expr] = field(default_factory=dict)  # quantity -> its line's symbol, or 1 for B itself

    def d(self, quantity: str) -> Expr:
        return self.known.get(quantity, S.Zero)

    def d_expr(self, e: Expr) -> Expr:
        """The derivative of a small node-value expression with respect to B, by the chain rule over
        its symbols: Σ_s ∂e/∂s · ∂s/∂B."""
        if e.is_Number:
            return S.Zero
        if e.is_Symbol:  # a weight's or a value's local derivative, o_u or w: no diff needed
            return self.d(e.name)
        return plus(*[times(_diff(e, s), self.d(s.name)) for s in sorted(e.free_symbols, key=str)])

    def add(self, quantity: str, expr: Expr, why: str, rule: Expr | None = None) -> None:
        if expr != 0:
            line = Line(quantity, tangent_symbol(quantity, self.wrt), expr, why, rule)
            self.lines.append(line)
            self.known[quantity] = line.symbol


def times(*factors: Expr) -> Expr:
    """A product in the order written (f'(z) before ∂z/∂B, as a learner writes it), 0 if a factor is."""
    flat: list[Expr] = []
    for f in factors:
        if f == 0:
            return S.Zero
        flat += [x for x in (f.args if f.is_Mul else (f,)) if x != 1]
    number = sympy.Mul(*[x for x in flat if x.is_Number])  # in front, as written: 2(1 - x²), not (1 - x²) 2
    flat = ([number] if number != 1 else []) + [x for x in flat if not x.is_Number]
    if number == 0:
        return S.Zero
    return S.One if not flat else flat[0] if len(flat) == 1 else sympy.Mul(*flat, evaluate=False)


def plus(*terms: Expr) -> Expr:
    """A sum in the order written, zeros left out."""
    kept = [x for t in terms if t != 0 for x in (t.args if t.is_Add and t.args != sympy.Add(*t.args).args
                                                  else (t,))]  # flatten the sums built here (written order)
    return S.Zero if not kept else kept[0] if len(kept) == 1 else sympy.Add(*kept, evaluate=False)


_DIFFS: dict[tuple[Expr, sympy.Symbol], Expr] = {}


def _diff(e: Expr, s: sympy.Symbol) -> Expr:
    """local_second(e, s), once per local and symbol: every column differentiates the same locals."""
    key = (e, s)
    if key not in _DIFFS:
        if len(_DIFFS) > 100_000:
            _DIFFS.clear()
        _DIFFS[key] = local_second(e, s)
    return _DIFFS[key]


def check_names(net: Network, names: list[str]) -> None:
    """A second derivative is with respect to parameters and inputs (a node's value is not free to move
    while its parents hold still, so ∂²/∂h² would depend on what is held fixed)."""
    for n in names:
        kind = net.kind(n)
        if n == "all" and kind is None:
            raise DerivatorError("--wrt all takes no second --wrt; every second derivative: --hessian --wrt all")
        if kind is None:
            raise DerivatorError("--wrt: " + unknown("name", n, [*net.inputs, *net.params]))
        if kind not in ("parameter", "input"):
            raise DerivatorError(f"--wrt {n}: a second derivative is with respect to parameters and inputs; "
                                 f"'{n}' is a {'pre-activation' if kind == 'preactivation' else kind}")


def tangent(net: Network, of: str, wrt: str, direction: dict[str, Expr] | None = None) -> Tangent:
    """The forward-mode pass in direction `wrt` over the backward plan for `of`; with `direction`
    ({name: its component}), in that direction instead (a Hessian-vector product's pass)."""
    p = plan(net, of)
    t = Tangent(net, of, wrt, p, known=dict(direction) if direction is not None else {wrt: S.One})
    into: dict[str, list[tuple[str, Link]]] = {}
    for name, links in p.links.items():
        for link in links:
            into.setdefault(link.node, []).append((name, link))
    for v in p.order:
        _forward(t, v, into.get(v, []))
    g = {}  # ∂T/∂o_v in δ's, and its derivative, for every node
    for v in reversed(p.order):
        links = p.children(v)
        g[v] = plus(*([p.direct[v]] if v in p.direct else []), *[times(k.local, delta(k.node)) for k in links])
        dg = plus(_loss_second(t, v), *[plus(times(k.local, t.d("δ_" + k.node)),
                                             times(delta(k.node), t.d_expr(k.local))) for k in links])
        group = p.groups.get(v)
        if v in p.fused:
            t.add("δ_" + v, t.d_expr(p.fused[v]), f"δ_{v} = {p.notes.get(v, 'a fused output delta')}")
        elif net.nodes[v].is_formula:
            t.add("δ_" + v, dg, "a formula node's delta is ∂T/∂" + v)
        elif group is not None:
            g["d" + v] = dg
            if v == group.members[0]:
                _softmax(t, group.members, g)
        else:
            second = net.nodes[v].activation.second(symbol(v), z_symbol(v))
            t.add("δ_" + v, plus(times(p.prime[v], dg), times(second, g[v], t.d("z_" + v))),
                  "product rule on δ = (∂T/∂o) f'(z)", second if t.d("z_" + v) != 0 and second != 0 else None)
    return t


def _forward(t: Tangent, v: str, into: list[tuple[str, Link]]) -> None:
    p, net = t.plan, t.net
    gate = plus(*[times(link.local, t.d(name)) for name, link in into])
    if net.nodes[v].is_formula:
        t.add(v, gate,
              "chain rule through the formula: Σ ∂" + v + "/∂s · ∂s/∂" + t.wrt)
        return
    t.add("z_" + v, gate, "linear in each weight and value: Σ (w ∂o/∂B + o ∂w/∂B)")
    group = p.groups.get(v)
    if group is None:
        t.add(v, times(p.prime[v], t.d("z_" + v)), "chain rule: f'(z) ∂z/∂B")
    elif v == group.members[-1]:  # the group's outputs, once every member's z is known
        for j in group.members:
            t.add(j, plus(*[times(group.local[j, k], t.d("z_" + k)) for k in group.members]),
                  "the softmax's Jacobian: Σ_k p_j(δ_jk - p_k) ∂z_k/∂B")


def _loss_second(t: Tangent, v: str) -> Expr:
    """∂(∂L/∂o_v)/∂B at an output: the loss's second-order rule times the outputs' derivatives."""
    net, p = t.net, t.plan
    if t.of != "loss" or v not in p.direct:
        return S.Zero
    if net.loss.rule is None:  # softmax cross-entropy over the outputs: p_i(δ_ij - p_j)
        outs = [symbol(o) for o in net.outputs]
        i = net.outputs.index(v)
        return plus(*[times(rules.cross_entropy_second(outs, i, j), t.d(u)) for j, u in enumerate(net.outputs)])
    y = net.loss.targets[net.outputs.index(v)]
    return times(net.loss.rule.second(symbol(v), y), t.d(v))


def _softmax(t: Tangent, members: tuple[str, ...], g: dict) -> None:
    """δ_k = p_k (g_k - Σ_j g_j p_j): its derivative by the product rule, every g_j and ∂p_j/∂B known."""
    mean = plus(*[times(g[j], symbol(j)) for j in members])
    d_mean = plus(*[plus(times(g["d" + j], symbol(j)), times(g[j], t.d(j))) for j in members])
    for k in members:
        t.add("δ_" + k, plus(times(t.d(k), plus(g[k], -mean)), times(symbol(k), plus(g["d" + k], -d_mean))),
              "product rule on δ_k = p_k (∂T/∂p_k - Σ_j ∂T/∂p_j p_j)")


@dataclass
class Mixed:
    """∂²T/∂A∂B: A's first derivative, term by term, differentiated with respect to B."""

    net: Network
    of: str
    a: str
    b: str
    tangent: Tangent
    terms: list[tuple[Link, Expr]]  # each of A's links, with ∂(δ_k · local)/∂B
    penalty: Expr  # ∂²penalty/∂A∂B (added once, after the reduction over samples)

    @property
    def result(self) -> Expr:
        """One sample's second derivative (the penalty's part apart), in δ's, node values and lines."""
        return plus(*[e for _, e in self.terms])

    def inlined(self, limit: int = 4000, by: Inliner | None = None) -> Expr | None:
        """The same in node values only (every line and δ written out), or None past `limit` in size."""
        by = by if by is not None else Inliner(self.net, self.of, limit)
        return by(self.tangent, plus(self.result, self.penalty if not self.net.samples else S.Zero))


def mixed(net: Network, of: str, a: str, b: str, t: Tangent | None = None) -> Mixed:
    t = t if t is not None and t.wrt == b else tangent(net, of, b)
    terms = []
    for link in t.plan.links.get(a, []):
        if link.node in t.plan.order:
            terms.append((link, plus(times(t.d("δ_" + link.node), link.local),
                                     times(delta(link.node), t.d_expr(link.local)))))
    pen = local_second(local_second(net.penalty, symbol(a)), symbol(b)) if of == "loss" and net.penalty != 0 else S.Zero
    return Mixed(net, of, a, b, t, terms, pen)


class Inliner:
    """Writes an expression of the lines in node values only: every line's symbol and δ replaced by what
    it stands for, each worked out once (shared by every entry of a Hessian), None past `limit` in size."""

    def __init__(self, net: Network, of: str, limit: int):
        self.deltas = backward(net, of).deltas
        self.limit, self.memo, self.nested = limit, {}, {}
        self.lines: dict[sympy.Symbol, Line] = {}

    def __call__(self, t: Tangent, e: Expr) -> Expr | None:
        self.lines.update({ln.symbol: ln for ln in t.lines})
        return self._expand(e)

    def _expand(self, e: Expr) -> Expr | None:
        table = {}
        for s in e.free_symbols:
            if s in self.lines or (s.name.startswith("δ_") and s.name[2:] in self.deltas):
                r = self._one(s)
                if r is None:
                    return None
                table[s] = r
        out = e.xreplace(table) if table else e
        return out if equations.tree_size(out) <= self.limit else None

    def _one(self, s: sympy.Symbol) -> Expr | None:
        if s not in self.memo:
            self.memo[s] = self._expand(self.lines[s].expr) if s in self.lines else \
                to_sympy(self.deltas[s.name[2:]], self.nested)
        r = self.memo[s]
        return r if r is not None and equations.tree_size(r) <= self.limit else None


def curvature(net: Network, of: str) -> tuple[list[str], list[list[Expr]], str] | None:
    """The Gauss-Newton part's middle: the quantities q the loss reads (outputs, or logits where the loss
    and activation are fused) and ∂²L/∂q∂q in node values, with its name; None for other losses."""
    p = plan(net, of)
    if of != "loss" or any(p.children(o) for o in net.outputs):
        return None
    outs, kind = net.outputs, net.loss.type
    n = range(len(outs))
    if kind in ("squared_error", "half_squared_error"):
        ys = net.loss.targets
        h = [[net.loss.rule.second(symbol(outs[i]), ys[i]) if i == j else S.Zero for j in n] for i in n]
        return outs, h, f"Jᵀ H_L J with J = ∂(outputs)/∂θ and H_L = {h[0][0]}·I ({kind})"
    if kind == rules.SOFTMAX_LOSS:
        syms = [symbol(o) for o in outs]
        return outs, [[rules.cross_entropy_second(syms, i, j) for j in n] for i in n], \
            "Jᵀ H_L J with J = ∂(logits)/∂θ and H_L = diag(p) - p pᵀ (cross-entropy)"
    if kind == "binary_cross_entropy" and all(o in p.fused for o in outs):
        h = [[p.prime[outs[i]] if i == j else S.Zero for j in n] for i in n]
        return ["z_" + o for o in outs], h, "Jᵀ H_L J with J = ∂z/∂θ at the outputs and H_L = diag(o(1-o)) " \
            "(binary cross-entropy after a sigmoid)"
    if kind == "categorical_cross_entropy" and all(o in p.fused for o in outs):
        local = {**{pair: e for g in p.groups.values() for pair, e in g.local.items()}}
        h = [[local.get((outs[i], outs[j]), S.Zero) for j in n] for i in n]
        return ["z_" + o for o in outs], h, "Jᵀ H_L J with J = ∂z/∂θ at the outputs and H_L = diag(p) - p pᵀ " \
            "(categorical cross-entropy after a softmax)"
    return None
