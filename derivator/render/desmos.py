"""`--format desmos`: lines to paste into a graphing calculator, one expression each.

The point's values, the forward pass, the derivative `D` in node values, the candidate `C` (with
--candidate, its helpers applied), and, where the target is small enough to write in the variable
alone, `F(t)` with `F'(value)` beside it: the learner's own check, redone with the calculator's
numerical derivative. Desmos names are one letter with an
optional subscript (w1 -> w_{1}); x, y, e and r mean something there, so they get a subscript too.
"""

from __future__ import annotations

import collections
import itertools
import re

import sympy

from derivator.answers.report import MAX_EXPANDED_SIZE, Report
from derivator.graph import equations
from derivator.graph.network import symbol
from derivator.render.steps import work
from derivator.symbolic.printing import TexPrinter, nested

# Desmos's own letters: the axes, Euler's e, polar r, the imaginary unit, and t (F's variable here).
RESERVED = {"x", "y", "e", "r", "i", "t"}
IDENTIFIER = re.compile(r"[A-Za-z](_\{[A-Za-z0-9]+\})?")  # one letter, an optional alphanumeric subscript


def _natural(name: str) -> str:
    """A name as Desmos writes it: its first letter, the rest as a subscript (w1 -> w_{1}, z_h1 -> z_{h1})."""
    rest = name[1:].replace("_", "").replace("@", "").replace("#", "s")  # h@2 (a step) is h_{2}, x1#2 x_{1s2}
    return f"{name[0]}_{{{rest}}}" if rest else name[0]


def _fallbacks(name: str):
    """Other spellings, for a name whose own one is taken or reserved: '_' kept as 'u' (w_1 -> w_{u1}),
    then a numbered mark (w_{1n1}); never the bare digits run on (w_1 as w_{11} would read as w11)."""
    sub = name[1:].replace("_", "").replace("@", "").replace("#", "s")
    if "_" in name[1:]:
        yield f"{name[0]}_{{{name[1:].replace('_', 'u').replace('@', '').replace('#', 's')}}}"
    if not sub:
        yield f"{name[0]}_{{0}}"
    for n in itertools.count(1):
        yield f"{name[0]}_{{{sub or '0'}n{n}}}"


def desmos_names(names: list[str], taken: frozenset[str] = frozenset()) -> dict[str, str]:
    """A distinct Desmos identifier for each name, none of them reserved or in `taken`.

    A name keeps its own spelling when no other name shares it and Desmos does not reserve it; of
    several that share one, a name without underscores keeps it, and the others spell their
    underscores as u (w1 is w_{1}, and w_1 beside it w_{u1}). The rest get a numbered mark."""
    used = set(RESERVED) | set(taken)
    own = {n: _natural(n) for n in names}
    shared = collections.Counter(own.values())
    later = {n for n in names if own[n] in used or (shared[own[n]] > 1 and "_" in n[1:])}
    out = {}
    for n in [*(n for n in names if n not in later), *(n for n in names if n in later)]:
        form = own[n] if n not in later else next(f for f in _fallbacks(n) if f not in used)
        used.add(form)
        out[n] = form
    return {n: out[n] for n in names}


def sigmoid_name(names: list[str]) -> str:
    """The sigmoid helper's name: s, unless a name of the network is written s (or s_{igmoid}) itself."""
    own = {_natural(n) for n in names}
    forms = itertools.chain(["s", "s_{igmoid}"], (f"s_{{igmoid{n}}}" for n in itertools.count(1)))
    return next(f for f in forms if f not in own)


def delta_name(form: str) -> str:
    """δ of a node, from the node's Desmos name: h_{1} -> \\delta_{h1} (one-to-one, as the names are)."""
    return rf"\delta_{{{form.replace('_{', '').rstrip('}')}}}"


class DesmosPrinter(TexPrinter):
    """Desmos's LaTeX dialect: its variable names, s() for the sigmoid, piecewise braces for steps."""

    form_key = "desmos"

    def __init__(self, names: dict[str, str], sigmoid: str):
        super().__init__({"fold_short_frac": False, "mul_symbol": "dot"})
        self.names, self.sigmoid = names, sigmoid

    def _print_Symbol(self, e, style="plain"):
        return self.names.get(e.name, e.name)

    def _print_sigmoid(self, e, exp=None):
        inner = rf"{self.sigmoid}\left({self._print(e.args[0])}\right)"
        return inner if exp is None else rf"\left({inner}\right)^{{{exp}}}"


def render_desmos(r: Report) -> str:
    d = r.derivation
    net = d.net
    own = [*net.names, *net.nodes, *(f"z_{n}" for n in net.nodes)]
    sig = sigmoid_name(own)
    names = desmos_names([*own, "D", "F", "C"], taken=frozenset({sig}))
    names |= {f"δ_{n}": delta_name(names[n]) for n in net.nodes}
    p = DesmosPrinter(names, sig)
    w = work(r)
    lines = [rf"{sig}\left(t\right)=\frac{{1}}{{1+e^{{-t}}}}"]
    lines += [f"{names[k]}={number(v)}" for k, v in r.point.items()]
    for eq in [eq for row in w.forward for eq in row]:
        lines.append(f"{p.doprint(eq.lhs)}={factors(p, eq.rhs[0])}")
    result = w.result[-1].rhs  # [in deltas, in node values when it fits MAX_NESTED_FACTORS]
    if len(result) < 2:  # too large to write out: D by the recursion, one delta a line (Desmos resolves them)
        lines += [f"{p.doprint(eq.lhs)}={factors(p, eq.rhs[0])}" for eq in w.deltas]
    lines.append(f"{names['D']}={factors(p, result[-1])}")
    v = r.candidate
    if v is not None:  # the learner's own answer beside D and F'(w_1): all three numbers in the calculator
        lines.append(f"{names['C']}={p.doprint(v.in_node_values if v.in_node_values is not None else v.expr)}")
    if d.kind in ("parameter", "input") and d.wrt in r.point and _small(d):
        t = sympy.Symbol("t", real=True)
        whole = equations.expand(d.target, equations.forward(net)).xreplace({symbol(d.wrt): t})
        lines.append(rf"{names['F']}\left(t\right)={p.doprint(whole)}")
        lines.append(rf"{names['F']}'\left({names[d.wrt]}\right)")
    return "\n".join(lines) + "\n"


def _small(d) -> bool:
    """Whether F(t), the target in the variable alone, is short enough to print (report.MAX_EXPANDED_SIZE)."""
    sizes = equations.forward_sizes(d.net)
    return max(d.expanded_size(), equations.tree_size(d.target, sizes)) <= MAX_EXPANDED_SIZE


def factors(p: DesmosPrinter, rhs) -> str:
    """A nested form with explicit products (Desmos would read O(1-O) as a call of O)."""
    return nested(rhs, p.doprint, r" \cdot ".join, lambda s: rf"\left({s}\right)") \
        if hasattr(rhs, "factors") else p.doprint(rhs)


def number(v: float) -> str:
    """A value as Desmos reads it: no exponent letter (e is Euler's number there)."""
    text = repr(float(v))
    if "e" in text:
        mantissa, exponent = text.split("e")
        return rf"{mantissa}\cdot 10^{{{int(exponent)}}}"
    return text[:-2] if text.endswith(".0") else text
