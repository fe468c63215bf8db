"""The pieces the derivation through time prints besides equations: sums over steps and tables of
values, one row per step, in text, LaTeX and Markdown (`render/through_time.py` builds them)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import sympy
from sympy.printing.precedence import PRECEDENCE

from derivator.symbolic.printing import tex

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
