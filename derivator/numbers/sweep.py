"""Numbers by reverse mode, compiled once per network: the forward pass, every delta, every gradient.

The symbolic derivation says what a derivative is; this says what it is worth, in work
proportional to the number of edges. Each node is compiled once into its parents' positions, its
weights and a callable activation, so a forward pass is a loop of multiply-adds (no SymPy `subs`,
no expression rebuilt per call), and one backward pass gives every parameter's derivative:

    delta_v = f'(z_v) * (dL/do_v + sum over children k of w(v,k) * delta_k)
    dL/dw(u,v) += delta_v * o_u        dL/db_v += delta_v

Two number types: float64 for the many forward passes of a numerical check, and mpmath (at the
caller's precision) for values that must survive saturation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import mpmath
import sympy

from derivator.graph.network import Network, symbol
from derivator.graph.plan import plan
from derivator.graph.plan import target as p_target
from derivator.graph.rules import X
from derivator.numbers import softmax
from derivator.numbers.evaluate import FLOAT, MP, UndefinedError, short, undefined, value

OUT, PRE = sympy.Symbol("o", real=True), sympy.Symbol("z", real=True)  # in an activation's derivative
CONSTANT, PARAMETER, VALUE, FORMULA = range(4)  # how a link's local derivative is found


def unary(expr: sympy.Expr, precise: bool) -> Callable:
    """f(x) as a plain callable: the library function itself when f is one, else a tree walk."""
    table = MP if precise else FLOAT
    if expr == X:
        return lambda x: x
    if expr.is_Pow and expr.exp.is_Integer and expr.base.func in table and expr.base.args == (X,):
        fn, n = table[expr.base.func], int(expr.exp)  # sech(z)**2, tanh's 1 - o² from z
        return lambda x: fn(x) ** n
    if expr.func in table and expr.args and expr.args[0] == X and all(a.is_Number for a in expr.args[1:]):
        fn, rest = table[expr.func], [(mpmath.mpf(str(a)) if precise else float(a)) for a in expr.args[1:]]
        return (lambda x: fn(x, *rest)) if rest else fn
    return lambda x: value(expr, {X: x}, precise)


@dataclass
class Unit:
    """One node, compiled: a neuron's parents' positions, weights, bias and activation, or a formula."""

    name: str
    index: int
    parents: list[tuple[int, str | None, float]]  # (source's index, weight's parameter or None, constant)
    bias: tuple[str | None, float]
    f: tuple[Callable, Callable] | None  # float64 and mpmath; None for a formula node
    prime: sympy.Expr  # f'(z) in o and z (1 for a formula node)
    complements: list[tuple[sympy.Expr, tuple[Callable, Callable]]]  # (part in OUT, its value from z)
    formula: sympy.Expr | None = None
    group: tuple[int, ...] = ()  # a softmax unit: its group's indices, in order


@dataclass
class State:
    o: list  # every input's and node's value, by index
    z: list  # every node's pre-activation (None for inputs)
    target: object
    values: dict[str, object]  # the inputs', parameters' and targets' values used (nudged), as numbers


class Compiled:
    """The network compiled for numbers, for one target ('loss' or a node), from its backward plan."""

    def __init__(self, net: Network, of: str):
        self.net, self.of = net, of
        self.plan = p = plan(net, of)
        self.names = [*net.inputs, *net.nodes]
        self.index = {n: i for i, n in enumerate(self.names)}
        self.units = [self._unit(n) for n in p.order]
        self.by_index = {u.index: u for u in self.units}
        self._parts: dict[tuple[int, sympy.Expr, int], list] = {}  # complements' parts, by unit, symbol, precision
        self.target = p_target(net, of)
        # The target reads only the outputs' values and the targets: its small environment, per pass.
        self.target_env = [(sym, self.index.get(sym.name)) for sym in self.target.free_symbols]
        self.direct = {self.index[v]: g for v, g in p.direct.items()}
        self.fused = {self.index[v]: f for v, f in p.fused.items()}
        # Each input's, node's and parameter's links, compiled once (see `_link`).
        self.children = {self.index[v]: [self._link(link) for link in p.children(v)] for v in self.names}
        self.params = {name: [self._link(link) for link in links] for name, links in p.links.items()
                       if name not in self.index}
        self.groups = list(dict.fromkeys(u.group for u in self.units if u.group))

    def _link(self, link) -> tuple[int, int, object]:
        """(the reading node's index, how to get the local derivative, what to get it from)."""
        local, k = link.local, self.index[link.node]
        if local.is_Number:
            return k, CONSTANT, float(local)
        if local.is_Symbol:
            return (k, VALUE, self.index[local.name]) if local.name in self.index else (k, PARAMETER, local.name)
        return k, FORMULA, local

    def _unit(self, n: str) -> Unit:
        node = self.net.nodes[n]
        if node.is_formula:
            return Unit(n, self.index[n], [], (None, 0.0), None, sympy.S.One, [], node.formula)
        parents = [(self.index[e.src], *_weight(e.weight)) for e in self.net.parents[n]]
        if n in self.plan.groups:  # its output is its group's, computed after the group's last z
            group = tuple(self.index[m] for m in self.plan.groups[n].members)
            return Unit(n, self.index[n], parents, _weight(node.bias), None, sympy.S.One, [], group=group)
        f = node.activation.f(X)
        complements = [(part, (unary(zform.xreplace({PRE: X}), False), unary(zform.xreplace({PRE: X}), True)))
                       for part, zform in node.activation.complements(OUT, PRE).items()]
        return Unit(n, self.index[n], parents, _weight(node.bias), (unary(f, False), unary(f, True)),
                    self.plan.prime[n].xreplace({symbol(n): OUT, symbol("z_" + n): PRE}), complements)

    def complements(self, u: Unit, z, precise: bool, o: sympy.Expr = OUT) -> dict[sympy.Expr, object]:
        """A unit's cancelling parts (1 - o) with their values from z, keyed by the part written in `o`."""
        which = 1 if precise else 0
        key = (u.index, o, which)
        parts = self._parts.get(key)
        if parts is None:  # xreplace costs more than the pass itself: once per unit and symbol
            parts = self._parts[key] = [(part.xreplace({OUT: o}), fns[which]) for part, fns in u.complements]
        try:
            return {part: fn(z) for part, fn in parts}
        except (OverflowError, ZeroDivisionError, ValueError, UndefinedError):
            return {}  # then the part is computed from o, as written

    def _formula(self, u: Unit, o: list, vals: Mapping[str, object], precise: bool):
        env = {s: (o[self.index[s.name]] if s.name in self.index else vals[s.name]) for s in u.formula.free_symbols}
        return value(u.formula, env, precise)

    def forward(self, values: Mapping[str, float], precise: bool = False,
                nudge: tuple[str, object] | None = None, target: bool = True, lost: list | None = None) -> State:
        """Every value at the point; `nudge` = (name, amount) shifts an input, a parameter, o_v or z_v.
        With `lost` (in mpmath), the digits the target lost to cancellation are appended to it."""
        num = mpmath.mpf if precise else float
        # A value as the file writes it (0.1 is one tenth, not the float nearest it), so that
        # 0.4*0.5 - 0.3 + 0.1 is 0 at the point, as a learner computes it by hand.
        vals = {k: decimal(v) for k, v in values.items()} if precise else dict(values)
        name, amount = nudge if nudge else (None, 0)
        if name in vals:
            vals[name] = vals[name] + amount
        o: list = [None] * len(self.names)
        z: list = [None] * len(self.names)
        for i, x in enumerate(self.net.inputs):
            o[i] = vals.get(x)
        which = 1 if precise else 0
        total = mpmath.fsum if precise else math.fsum  # exactly rounded: a central difference needs it
        try:
            for u in self.units:
                if u.formula is not None:
                    out = self._formula(u, o, vals, precise)
                else:
                    s = total([vals[u.bias[0]] if u.bias[0] else num(u.bias[1]),
                               *[(vals[w] if w else c) * o[src] for src, w, c in u.parents]])
                    if name == "z_" + u.name:
                        s = s + amount
                    z[u.index] = s
                    if u.group:
                        self._group_outputs(u, o, z, precise, (name, amount))
                        continue
                    out = u.f[which](s)
                if isinstance(out, (complex, mpmath.mpc)):  # log or sqrt of a negative z: no real value
                    raise ValueError("complex value")
                o[u.index] = out + amount if name == u.name else out
        except (OverflowError, ZeroDivisionError, ValueError) as err:
            raise undefined(err) from None
        return State(o, z, self._target(o, z, vals, precise, name, lost) if target else None, vals)

    def _target(self, o: list, z: list, vals: Mapping[str, object], precise: bool, nudged: str | None,
                lost: list | None = None):
        env = {sym: (o[i] if i is not None else vals[sym.name]) for sym, i in self.target_env}
        for sym, i in self.target_env:  # log(1 - o) of a saturated output needs 1 - o from z
            if i is not None and i in self.by_index and nudged != sym.name:  # (not when o itself is nudged)
                env.update(self.complements(self.by_index[i], z[i], precise, sym))
        env.update(self.group_parts(o, z, vals, precise, skip=nudged))  # log p of a softmax unit from its z's
        return value(self.target, env, precise, lost)

    def _group_outputs(self, u: Unit, o: list, z: list, precise: bool, nudge: tuple) -> None:
        """A softmax group's outputs, stably, once its last member's z is known (one may be nudged)."""
        if u.index != u.group[-1]:
            return
        ps, _ = softmax.probabilities([z[i] for i in u.group], precise)
        for i, p in zip(u.group, ps, strict=True):
            o[i] = p + nudge[1] if nudge[0] == self.names[i] else p

    def group_parts(self, o: list, z: list, vals: Mapping[str, object], precise: bool,
                    skip: str | None = None) -> dict[sympy.Expr, object]:
        """Each softmax unit's log p, 1 - p and fused p - y from its group's z's, without the overflow
        or cancellation a saturated group brings (`numbers.softmax`); not for a nudged output `skip`."""
        parts: dict[sympy.Expr, object] = {}
        zero = mpmath.mpf(0) if precise else 0.0
        for group in self.groups:
            ps, logs = softmax.probabilities([z[i] for i in group], precise)
            syms = [symbol(self.names[i]) for i in group]
            parts.update({e: v for s, p, lp, r in zip(syms, ps, logs, softmax.others(ps, zero), strict=True)
                          if s.name != skip for e, v in ((sympy.log(s), lp), (1 - s, r))})
            fused = [self.fused.get(i) for i in group]
            if all(f is not None for f in fused) and skip not in [s.name for s in syms]:
                known = {symbol(k): v for k, v in vals.items()}
                ys = [value(s - f, known, precise) for f, s in zip(fused, syms, strict=True)]  # p - (p - y) = y
                parts.update(zip(fused, softmax.minus_targets(ps, ys, precise), strict=True))
        return parts

    def env(self, o: list, z: list, vals: Mapping[str, object]) -> dict[sympy.Symbol, object]:
        """The symbols of the derivation (inputs, parameters, targets, node values, z_) with their values."""
        env = {symbol(k): v for k, v in vals.items()}
        precise = any(isinstance(v, mpmath.mpf) for v in o if v is not None)
        for n, i in self.index.items():
            if o[i] is not None:
                env[symbol(n)] = o[i]
            if z[i] is not None:
                env[symbol("z_" + n)] = z[i]
                env.update(self.complements(self.by_index[i], z[i], precise, symbol(n)))
        env.update(self.group_parts(o, z, vals, precise))
        return env

    def backward(self, state: State, precise: bool = False) -> dict[str, object]:
        """Every parameter's (and input's) derivative of the target, from one reverse sweep after `state`."""
        num = mpmath.mpf if precise else float
        vals = state.values
        env = self.env(state.o, state.z, vals)  # with each unit's 1 - o from z, for fused deltas and losses
        delta: list = [None] * len(self.names)
        lost: list | None = [] if precise else None  # digits the deltas' own rules lost (o - y at σ(500), y = 1)

        into: list = [None] * len(self.names)  # g_j = ∂T/∂p_j of each softmax unit, for its group's deltas
        o = state.o

        def flow(links) -> object:  # Σ δ_k · local over the links
            acc = num(0)
            for k, how, what in links:
                factor = (what if how == CONSTANT else vals[what] if how == PARAMETER else o[what] if how == VALUE
                          else value(what, env, precise))
                acc = acc + factor * delta[k]
            return acc

        for u in reversed(self.units):
            i = u.index
            if i in self.fused:
                delta[i] = value(self.fused[i], env, precise, lost)
                continue
            back = value(self.direct[i], env, precise, lost) if i in self.direct else num(0)
            back = back + flow(self.children[i])
            if u.formula is not None:
                delta[i] = back
            elif u.group:
                into[i] = back
                if i == u.group[0]:  # the group's last unit backwards: every g_j is known
                    ds = softmax.deltas([o[j] for j in u.group], [into[j] for j in u.group], precise)
                    for j, d in zip(u.group, ds, strict=True):
                        delta[j] = d
            else:
                local = {OUT: state.o[i], PRE: state.z[i], **self.complements(u, state.z[i], precise)}
                delta[i] = back * value(u.prime, local, precise, lost)
        if precise and short(lost):
            raise UndefinedError("too few digits left: a higher precision decides")
        grads = {name: flow(links) for name, links in self.params.items()}
        grads.update({x: flow(self.children[self.index[x]]) for x in self.net.inputs if self.children[self.index[x]]})
        self.deltas = {self.names[i]: d for i, d in enumerate(delta) if d is not None}
        return grads


def decimal(v) -> mpmath.mpf:
    """A float as the decimal it prints as, at the current precision (mpf(0.1) would be the float)."""
    return mpmath.mpf(repr(v)) if isinstance(v, float) else mpmath.mpf(v)


def _weight(w: sympy.Expr) -> tuple[str | None, float]:
    return (w.name, 0.0) if w.is_Symbol else (None, float(w))


_CACHE: dict[tuple[int, str], Compiled] = {}


def compiled(net: Network, of: str) -> Compiled:
    """The network compiled once per target (networks are not changed after loading)."""
    key = (id(net), of)
    hit = _CACHE.get(key)
    if hit is None or hit.net is not net:
        if len(_CACHE) > 64:
            _CACHE.clear()
        hit = _CACHE[key] = Compiled(net, of)
    return hit


def gradient(net: Network, of: str, values: Mapping[str, float], precise: bool = False) -> tuple[object, dict]:
    """The target's value and every derivative at one point (one sample)."""
    c = compiled(net, of)
    state = c.forward(values, precise)
    return state.target, c.backward(state, precise)


def fsum(xs: list, precise: bool):
    return mpmath.fsum(xs) if precise else math.fsum(xs)
