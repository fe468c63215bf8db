"""The derivation through time (CONTRACT section 6), as a view over the unrolled one.

The unrolled network has a copy of every node per step (`h@1`, `h@2`, ...), and its derivation
a delta per copy. Written out, that is T copies of the same line. This view groups the copies by
the file's name and writes each equation once, in general at step t (`δ_h@t = (1 - h@t²)(Why
δ_y@t + Whh δ_h@t+1)`, the union of the terms any step has, the missing ones named as 0), with the
values at every step in a table; a shared parameter's derivative is the sum over the steps,
`∂loss/∂Whh = Σ_t δ_h@t h@t-1`, each step's term in a table. Every writer (text, LaTeX, Markdown,
JSON) prints the folded `Work` as it prints any other.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from types import SimpleNamespace

import sympy

from derivator.graph.network import symbol
from derivator.graph.timesteps import at, base, relative, split, step
from derivator.numbers.evaluate import UndefinedError, value
from derivator.render import teaching
from derivator.render.steps import Eq, Partial, Work, delta_symbol, recursion
from derivator.render.time_tables import Table, over_steps
from derivator.symbolic.derive import Step
from derivator.symbolic.nested import Prod, Sum


@dataclass
class TimeWork(Work):
    intro: str = ""
    tables: dict[str, list[Table]] = field(default_factory=dict)  # "forward", "deltas", "result"


def fold(w: Work, r) -> Work:
    """The work written through time when the network is unrolled; any other work as it is."""
    d = r.derivation
    rec = d.net.recurrence
    if rec is None:
        return w
    numbers = r.worked
    known = {**r.point, **(numbers.forward if numbers else {})}
    forward, table = _forward(w, d, rec, known if numbers else None)
    deltas, dtable = _deltas(w, d, rec, numbers)
    result, rtable = _result(w, d, rec, numbers, known)
    loss = w.loss
    folded = rec.folded
    if loss is not None and rec.loss_steps == "all" and folded.loss.rule is not None and rec.steps > 1:
        body = sympy.Add(*[folded.loss.rule.value(symbol(at(o, "t")), _generic_target(y))
                           for o, y in zip(folded.outputs, folded.loss.targets, strict=True)])
        loss = Eq(loss.lhs, [over_steps(body, 1, rec.steps, rec.steps)], value=loss.value)
    shared = ", ".join(d.net.params) or "no parameters"
    first = ", ".join(f"{h} = {known.get(h, 0):g}" for h in (at(x, 0) for x in rec.initial))
    intro = (f"Unrolled over {rec.steps} step{'s' * (rec.steps != 1)}: node h at step t is h@t"
             + (f"; {first} is the initial state" if first else "")
             + f"; {shared} {'are' if len(d.net.params) != 1 else 'is'} shared by every step.")
    tables = {"forward": [table] if table else [], "deltas": [dtable] if dtable else [],
              "result": [rtable] if rtable else []}
    base_fields = {f.name: getattr(w, f.name) for f in fields(Work)}
    return TimeWork(**{**base_fields, "forward": forward, "deltas": deltas, "result": result, "loss": loss,
                       "locals": _locals(w.locals),
                       "rules": [*w.rules, *_rules(d)]}, intro=intro, tables=tables)


def _generic_target(y: sympy.Expr) -> sympy.Expr:
    return symbol(at(y.name, "t")) if y.is_Symbol else y


def relabel(x, t: int):
    """An equation's part at step t written in general: h@3 seen from t = 2 is h@t+1."""
    if isinstance(x, Prod):
        return Prod(tuple(relabel(f, t) for f in x.factors), x.is_zero)
    if isinstance(x, Sum):
        return Sum(tuple(relabel(p, t) for p in x.terms))
    if isinstance(x, Partial):
        return Partial(relative(x.of, t), relative(x.wrt, t))
    if isinstance(x, sympy.Basic):
        swap = {s: sympy.Symbol(relative(s.name, t), real=True) for s in x.free_symbols
                if isinstance(s, sympy.Symbol) and step(s.name) is not None}
        return x.xreplace(swap) if swap else x
    return x


def concrete(name: str, t: int) -> str:
    """The inverse of `relabel` for a name: h@t+1 at t = 3 is h@4."""
    head, s = split(name)
    if s is None or not s.startswith("t"):
        return name
    return at(head, t + (int(s[1:]) if len(s) > 1 else 0))


def _groups(names) -> dict[str, list[tuple[int, str]]]:
    """Each unrolled name by the file's name: [(step, name), ...] in the order given."""
    out: dict[str, list[tuple[int, str]]] = {}
    for n in names:
        out.setdefault(base(n), []).append((step(n), n))
    return out


def _forward(w: Work, d, rec, known: dict | None) -> tuple[list[list[Eq]], Table | None]:
    """Each node's equations once, at step t, and every step's values in one table."""
    rows, columns = [], [at(x, "t") for x in rec.folded.inputs if any(at(x, t) in d.upstream
                                                                    for t in range(1, rec.steps + 1))]
    by_base = _groups(str(row[-1].lhs) for row in w.forward)
    row_of = {str(row[-1].lhs): row for row in w.forward}
    for copies in by_base.values():
        t, name = copies[0]
        one = len(copies) == 1
        rows.append([Eq(eq.lhs if one else relabel(eq.lhs, t), [eq.rhs[0] if one else relabel(eq.rhs[0], t)])
                     for eq in row_of[name]])
        columns += [at(base(str(eq.lhs)), "t") for eq in row_of[name]]
    if d.of == "loss":
        columns += [at(y.name, "t") for y in rec.folded.loss.targets if y.is_Symbol]
    if known is None:
        return rows, None
    first = [0] if any(at(x, 0) in known for x in rec.initial) else []
    values = [(str(t), [known.get(concrete(c, t)) for c in columns]) for t in [*first, *range(1, rec.steps + 1)]]
    return rows, Table("Values at each step", columns, values)


def _locals(eqs: list[Eq]) -> list[Eq]:
    """A formula node's local derivatives once, at step t (∂h@t/∂u@t = hp@t - n@t)."""
    out, seen = [], {}
    for eq in eqs:
        key = (base(eq.lhs.of), base(eq.lhs.wrt))
        seen.setdefault(key, []).append(eq)
    for copies in seen.values():
        eq = copies[0]
        t = step(eq.lhs.of)
        out.append(eq if len(copies) == 1 or t is None else Eq(relabel(eq.lhs, t), [relabel(eq.rhs[0], t)]))
    return out


def _deltas(w: Work, d, rec, numbers) -> tuple[list[Eq], Table | None]:
    """Each node's delta once, in general: the union of the terms of its steps; the values per step."""
    eqs, columns = [], []
    by_lhs = {str(eq.lhs)[2:]: eq for eq in w.deltas}
    for b, copies in _groups(d.steps).items():
        columns.append("δ_" + at(b, "t"))
        if len(copies) == 1:
            eqs.append(by_lhs[copies[0][1]])
            continue
        eqs.append(_general_delta(d, rec, copies))
    if numbers is None:
        return eqs, None
    values = [(str(t), [numbers.deltas.get(concrete(c[2:], t)) for c in columns]) for t in range(rec.steps, 0, -1)]
    return eqs, Table("Deltas at each step, from the last step back", columns, values)


def _general_delta(d, rec, copies: list[tuple[int, str]]) -> Eq:
    """δ_v@t from the steps of v: every term some step has; a term a step lacks is 0 there (named)."""
    steps = [(t, d.steps[v]) for t, v in copies]
    t0, rep = max(steps, key=lambda s: (len(s[1].children), -s[0]))
    terms: dict[tuple[str, str], tuple[sympy.Expr, str]] = {}
    present: dict[tuple[str, str], set[int]] = {}
    for t, s in [(t0, rep), *steps]:
        for local, k in s.children:
            key = (str(relabel(local, t)), relative(k, t))
            terms.setdefault(key, (relabel(local, t), relative(k, t)))
            present.setdefault(key, set()).add(t)
    loss_grad = next((relabel(s.loss_grad, t) for t, s in steps if s.loss_grad is not None), None)
    general = Step(relative(rep.node, t0), relabel(rep.prime, t0), list(terms.values()), loss_grad,
                   relabel(rep.fused, t0) if rep.fused is not None else None, rep.formula, rep.fused_note,
                   frozenset(relative(k, t0) for k in rep.into_formulas))
    shim = SimpleNamespace(steps={general.node: general}, net=SimpleNamespace(nodes={general.node:
                                                                                       d.net.nodes[rep.node]}), of=d.of)
    split_form = teaching.output_split(shim, general.node)
    if split_form is not None:
        rhs: list = [*split_form, Prod((general.fused,)) if general.fused is not None else recursion(general)]
    else:
        rhs = [recursion(general)]
    after, off = [], []  # the terms a step lacks: past the last step, or not on a path to the target
    for key, (_, k) in terms.items():
        gone = [concrete(k, t) for t, _ in steps if t not in present[key]]
        after += [g for g in gone if step(g) > rec.steps]
        off += [g for g in gone if step(g) <= rec.steps]
    zeros = [" = ".join(f"δ_{g}" for g in names) + f" = 0{why}" for names, why in
             ((after, f": there is no step {rec.steps + 1}"), (off, ", not on a path to the target")) if names]
    if loss_grad is not None and any(s.loss_grad is None for _, s in steps):
        zeros.append("the loss reads only some steps")
    note = "; ".join(n for n in [rep.fused_note, *zeros] if n) or None
    return Eq(delta_symbol(general.node), rhs, fused_note=note)


def _result(w: Work, d, rec, numbers, known: dict) -> tuple[list[Eq], Table | None]:
    """A shared parameter's derivative as a sum over the steps, each step's term in a table."""
    if d.kind != "parameter":
        return w.result, None
    local = [eq for eq in w.result[:-1] if isinstance(eq.lhs, Partial)]
    eqs = []
    for copies in _groups(eq.lhs.of for eq in local).values():
        t, name = copies[0]
        eq = next(e for e in local if e.lhs.of == name)
        if len(copies) == 1:
            eqs.append(eq)
        else:
            eqs.append(Eq(relabel(eq.lhs, t), [relabel(x, t) for x in eq.rhs],
                          constants=relabel(eq.constants, t) if eq.constants is not None else None))
    whole, groups = summed(d.uses, rec.steps)
    eqs.append(Eq(Partial(d.of, d.wrt), [whole, w.result[-1].rhs[0]]))
    return eqs, _terms_table(groups, numbers, known) if numbers is not None else None


def summed(uses, steps: int) -> tuple[sympy.Expr, dict]:
    """A parameter's uses (each with .node and .factor; node None for the penalty's term) as sums over the
    steps: Σ_t δ_h@t h@t-1 for the uses that differ only in their step; and those groups, by node and factor."""
    groups: dict[tuple[str, str], list] = {}
    extra = []
    for u in uses:
        if u.node is None:
            extra.append(u.factor)
            continue
        t = step(u.node)
        key = (base(u.node), str(relabel(u.factor, t)))
        groups.setdefault(key, []).append((t, u))
    parts, by_range = list(extra), {}
    for (b, _), group in groups.items():
        t, u = group[0]
        if len(group) == 1:
            parts.insert(0, _term(delta_symbol(u.node), u.factor))
            continue
        term = _term(delta_symbol(at(b, "t")), relabel(u.factor, t))
        by_range.setdefault((min(s for s, _ in group), max(s for s, _ in group)), []).append(term)
    sums = [over_steps(sympy.Add(*terms, evaluate=False) if len(terms) > 1 else terms[0], lo, hi, steps)
            for (lo, hi), terms in by_range.items()]
    pieces = [*sums, *parts] or [sympy.S.Zero]
    return (sympy.Add(*pieces, evaluate=False) if len(pieces) > 1 else pieces[0]), groups


def _term(delta: sympy.Symbol, factor: sympy.Expr) -> sympy.Expr:
    """δ_v times what multiplies it, in that order (δ_h@t h@t-1, as the recursion gives it)."""
    return delta if factor == 1 else sympy.Mul(delta, factor, evaluate=False)


def _terms_table(groups: dict, numbers, known: dict) -> Table | None:
    """Each step's term of every sum over the steps: the delta, what multiplies it, their product; then Σ."""
    env = {symbol(k): v for k, v in known.items()}
    columns, cells = [], {}  # cells[(column, t)] = value
    sums = []
    for (b, _), uses in groups.items():
        if len(uses) == 1:
            continue
        t0, u0 = uses[0]
        delta = "δ_" + at(b, "t")
        factor = relabel(u0.factor, t0)
        named = factor.is_Symbol
        product = f"{delta} {factor}" if named else f"term of {delta}"
        columns += [delta, *([str(factor)] if named and factor != 1 else []), product]
        for t, u in uses:
            dv = numbers.deltas.get(u.node)
            fv = _value(u.factor, env)
            cells[delta, t] = dv
            if named and factor != 1:
                cells[str(factor), t] = fv
            cells[product, t] = dv * fv if dv is not None and fv is not None else None
        sums.append(product)
    if not columns:
        return None
    ts = sorted({t for (_, t) in cells})
    rows = [(str(t), [cells.get((c, t)) for c in columns]) for t in ts]
    total = [sum(cells.get((c, t)) or 0.0 for t in ts) if c in sums else None for c in columns]
    return Table("Each step's term", columns, [*rows, ("Σ", total)])


def _value(expr: sympy.Expr, env: dict) -> float | None:
    try:
        return float(value(expr, env))
    except (KeyError, UndefinedError, ArithmeticError, ValueError):
        return None


def _rules(d) -> list[teaching.Rule]:
    """Through time: a delayed edge passes a delta back one step, and a shared weight sums over the steps."""
    if not d.net.recurrence.delayed:
        return []
    return [teaching.Rule("δ_v@t = f'(z_v@t)(Σ_k w_vk δ_k@t + Σ_k u_vk δ_k@t+1)",
                          r"\delta_v^{\langle t\rangle} = f'(z_v^{\langle t\rangle})\left(\sum_k w_{vk}\, "
                          r"\delta_k^{\langle t\rangle} + \sum_k u_{vk}\, \delta_k^{\langle t+1\rangle}\right)",
                          "through time: v@t feeds step t, and step t+1 by its delayed edges u"),
            teaching.Rule("∂/∂w = Σ_t δ_v@t o_u@t,   ∂/∂u = Σ_t δ_v@t o_u@t-1",
                          r"\frac{\partial}{\partial w} = \sum_t \delta_v^{\langle t\rangle} o_u^{\langle t\rangle},"
                          r" \quad \frac{\partial}{\partial u} = \sum_t \delta_v^{\langle t\rangle} "
                          r"o_u^{\langle t-1\rangle}",
                          "every step shares the weights: each step's use adds its term")]
