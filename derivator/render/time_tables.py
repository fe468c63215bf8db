"""The pieces the derivation through time prints besides equations: sums over steps and tables of
values, one row per step, in text and LaTeX, and the hooks the writers call (`render/through_time.py`
builds the folded work they print)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import sympy
from sympy.printing.precedence import PRECEDENCE

from derivator.graph.timesteps import at
from derivator.render.steps import Partial
from derivator.symbolic.nested import Prod
from derivator.symbolic.printing import nested_text, teacher, tex

DIGITS = 9  # as the text's other values (render/text.py)
TEX_COLUMNS = 4  # value columns in one LaTeX array: more would run past the page
TEXT_COLUMNS = 7  # and in one block of the text, for a terminal of about 120 characters


class OverSteps(sympy.Function):
    """Σ_t body: a sum over the steps lo..hi, as a teacher writes it; `full` is 1 when they are all the steps."""

    nargs = 4

    def _sympystr(self, printer) -> str:
        body, lo, hi, full = self.args
        over = "Σ_t" if full == 1 else f"Σ_(t={lo}..{hi})"
        return f"{over} {_in_order(printer, body)}"

    def _latex(self, printer) -> str:
        body, lo, hi, _ = self.args
        return rf"\sum_{{t={lo}}}^{{{hi}}} {_in_order(printer, body)}"


def _in_order(printer, body: sympy.Expr) -> str:
    """The body as built, δ before what multiplies it (a printer would sort the factors), bracketed when a sum."""
    def product(e: sympy.Expr) -> str:
        if not (e.is_Mul and any(a.is_Symbol and a.name.startswith("δ_") for a in e.args)):
            return printer.parenthesize(e, PRECEDENCE["Mul"], strict=True)
        return " ".join(printer.parenthesize(a, PRECEDENCE["Mul"], strict=True) for a in e.args)
    if body.is_Add:
        inner = " + ".join(product(t) for t in body.args)
        return rf"\left({inner}\right)" if printer.printmethod == "_latex" else f"({inner})"
    return product(body)


def over_steps(body: sympy.Expr, lo: int, hi: int, steps: int) -> sympy.Expr:
    return OverSteps(body, sympy.Integer(lo), sympy.Integer(hi), sympy.Integer(int(lo == 1 and hi == steps)))


@dataclass
class Table:
    """Values at every step: a column per quantity (named in general, `h@t`), a row per step."""

    title: str
    columns: list[str]
    rows: list[tuple[str, list[float | None]]]  # (the step, or "Σ"; each column's value or None)


TEX_DIGITS = 6  # fewer in LaTeX's arrays, so that they fit the page (the value itself has all its digits)


def num(x: float | None, digits: int = DIGITS) -> str:
    if x is None:
        return ""
    return f"{x + 0.0:.{digits}g}" if math.isfinite(x) else str(x)


def text(table: Table) -> list[str]:
    """The table as aligned columns for a terminal, TEXT_COLUMNS value columns at a time."""
    out = [f"  {table.title} ({DIGITS} significant digits):"] if table.title else []
    for start in range(0, len(table.columns), TEXT_COLUMNS):
        head = ["t", *table.columns[start:start + TEXT_COLUMNS]]
        cells = [[label, *(num(v) for v in values[start:start + TEXT_COLUMNS])] for label, values in table.rows]
        widths = [max(len(row[i]) for row in [head, *cells]) for i in range(len(head))]
        if start:
            out.append("")
        for row in [head, *cells]:
            out.append("    " + "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return out


def column_tex(name: str) -> str:
    """A column's heading in LaTeX: δ_h@t, a product δ_h@t h@t-1, or a name."""
    return " ".join(tex(sympy.Symbol(p, real=True)) for p in name.split(" "))


def latex(table: Table) -> list[str]:
    """The table as align* rows: an \\intertext with the title, then arrays of at most TEX_COLUMNS columns."""
    rows = []
    for start in range(0, len(table.columns), TEX_COLUMNS):
        cols = table.columns[start:start + TEX_COLUMNS]
        head = " & ".join(["t", *(column_tex(c) for c in cols)])
        body = [" & ".join([_label_tex(label), *(num(v, TEX_DIGITS) for v in values[start:start + TEX_COLUMNS])])
                for label, values in table.rows]
        array = (rf"&\begin{{array}}{{r|{'r' * len(cols)}}} {head} \\ \hline "
                 + r" \\ ".join(body) + r" \end{array}")
        title = f"{_escape(table.title)} ({TEX_DIGITS} significant digits)"
        rows.append((rf"\intertext{{{title}:}}" if start == 0 and table.title else "") + array)
    return rows


def _label_tex(label: str) -> str:
    return r"\Sigma" if label == "Σ" else label


def _escape(title: str) -> str:
    return title.replace("_", r"\_").replace("@", r"@")


# -- what the writers call -----------------------------------------------------------------------

def text_tables(w, part: str) -> list[str]:
    """The tables of a part ("forward", "deltas", "result") of a work written through time; none otherwise."""
    return [line for t in getattr(w, "tables", {}).get(part, []) for line in text(t)]


def latex_tables(w, part: str) -> list[str]:
    return [row for t in getattr(w, "tables", {}).get(part, []) for row in latex(t)]


def intro(w) -> list[str]:
    return [w.intro, ""] if getattr(w, "intro", "") else []


def as_json(r, w) -> dict:
    """JSON `through_time`: the equations in general (the teacher's notation) and every table."""
    if not hasattr(w, "tables"):
        return {}
    rec = r.derivation.net.recurrence

    def side(x) -> str:
        return nested_text(x) if isinstance(x, Prod) else f"∂{x.of}/∂{x.wrt}" if isinstance(x, Partial) else teacher(x)

    tables = {part: {"columns": t.columns, "steps": [label for label, _ in t.rows], "values": [v for _, v in t.rows]}
              for part, ts in w.tables.items() for t in ts}
    return {"through_time": {
        "steps": rec.steps, "loss_steps": rec.loss_steps, "initial": [at(x, 0) for x in rec.initial],
        "forward": [f"{side(eq.lhs)} = {side(eq.rhs[0])}" for row in w.forward for eq in row],
        "deltas": [" = ".join([side(eq.lhs), *(side(x) for x in eq.rhs)]) for eq in w.deltas],
        "result": [" = ".join([side(eq.lhs), *(side(x) for x in eq.rhs)]) for eq in w.result],
        "tables": tables}}
