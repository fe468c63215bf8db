"""`--format desmos`: lines to paste into a graphing calculator, one expression each.

The point's values, the forward pass, the derivative `D` in node values, the candidate `C` (with
--candidate, its helpers applied), and, where the target is small enough to write in the variable
alone, `F(t)` with `F'(value)` beside it: the learner's own check, redone with the calculator's
numerical derivative. Desmos names are one letter with an
optional subscript (w1 -> w_{1}); x, y, e and r mean something there, so they get a subscript too.
"""

from __future__ import annotations

import sympy

from derivator.answers.report import MAX_EXPANDED_SIZE, Report
from derivator.graph import equations
from derivator.graph.network import symbol
from derivator.render.steps import work
from derivator.symbolic.printing import TexPrinter, nested

RESERVED = {"x", "y", "e", "r", "t"}


def desmos_names(names: list[str]) -> dict[str, str]:
    """A distinct Desmos variable for each network name."""
    out, used = {}, set()
    for name in names:
        head, rest = name[0], name[1:].replace("_", "").replace("@", "")  # h@2 (a step) is h_{2}
        candidate = f"{head}_{{{rest}}}" if rest else (f"{head}_{{0}}" if head in RESERVED else head)
        n = 1
        while candidate in used:
            candidate = f"{head}_{{{rest}{n}}}"
            n += 1
        used.add(candidate)
        out[name] = candidate
    return out


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
    names = desmos_names([*net.names, *net.nodes, *(f"z_{n}" for n in net.nodes), "D", "F", "C"])
    sig = "s" if "s" not in names.values() else "s_{igma}"
    p = DesmosPrinter(names, sig)
    lines = [rf"{sig}\left(t\right)=\frac{{1}}{{1+e^{{-t}}}}"]
    lines += [f"{names[k]}={number(v)}" for k, v in r.point.items()]
    for eq in [eq for row in work(r).forward for eq in row]:
        lines.append(f"{p.doprint(eq.lhs)}={factors(p, eq.rhs[0])}")
    lines.append(f"{names['D']}={factors(p, d.nested)}")
    v = r.candidate
    if v is not None:  # the learner's own answer beside D and F'(w_1): all three numbers in the calculator
        lines.append(f"{names['C']}={p.doprint(v.in_node_values if v.in_node_values is not None else v.expr)}")
    if d.kind in ("parameter", "input") and d.expanded_size() <= MAX_EXPANDED_SIZE and d.wrt in r.point:
        t = sympy.Symbol("t", real=True)
        whole = equations.expand(d.target, equations.forward(net)).xreplace({symbol(d.wrt): t})
        lines.append(rf"{names['F']}\left(t\right)={p.doprint(whole)}")
        lines.append(rf"{names['F']}'\left({names[d.wrt]}\right)")
    return "\n".join(lines) + "\n"


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
