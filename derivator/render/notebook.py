"""The answers in Jupyter: LaTeX for `_repr_latex_`, Markdown for `_repr_markdown_`.

Registered with `answers.display` so that the answers, which are data, never import a writer.
"""

from __future__ import annotations

from derivator.answers.display import WRITERS
from derivator.answers.gradient import Gradient
from derivator.answers.jacobian import Jacobian
from derivator.answers.matrix_form import MatrixForm
from derivator.answers.report import Report
from derivator.render.jacobian import render_jacobian_markdown, tex_parts_jacobian
from derivator.render.latex import partial
from derivator.render.markdown import render_markdown
from derivator.render.matrixform import render_matrix_markdown, tex_parts
from derivator.render.steps import Partial, result_in_deltas, writable
from derivator.render.table import _rows_tex, render_table_markdown
from derivator.symbolic.printing import nested_tex


def report_latex(r: Report) -> str:
    """The result in node values (in deltas, past steps.MAX_NESTED_FACTORS) and its value."""
    d = r.derivation
    value = rf" \approx {r.value:.12g}" if r.value is not None else ""
    form = nested_tex(d.nested) if writable(d)[0] else nested_tex(result_in_deltas(d))
    return f"$${partial(Partial(d.of, d.wrt))} = {form}{value}$$"


def aligned(rows: list[str]) -> str:
    """Rows for Jupyter's MathJax, which has no \\intertext: its words go on a row of their own, at
    the alignment point, so the equations below stay aligned."""
    out = []
    for row in rows:
        if row.startswith(r"\intertext{"):
            words, rest = _intertext(row)
            out += [rf"&\text{{{words}}}", rest]
        else:
            out.append(row)
    return "$$\\begin{aligned}" + " \\\\ ".join(r for r in out if r) + "\\end{aligned}$$"


def _intertext(row: str) -> tuple[str, str]:
    depth = 0
    for i, ch in enumerate(row):
        depth += (ch == "{") - (ch == "}")
        if ch == "}" and depth == 0:
            return row[len(r"\intertext{"):i], row[i + 1:]
    return row, ""


def gradient_latex(g: Gradient) -> str:
    return aligned(_rows_tex(g))


def matrix_latex(f: MatrixForm) -> str:
    return aligned([r for part in tex_parts(f).values() for r in part])


def jacobian_latex(j: Jacobian) -> str:
    return aligned([r for part in tex_parts_jacobian(j).values() for r in part])


WRITERS.update({
    ("Report", "markdown"): render_markdown, ("Report", "latex"): report_latex,
    ("Gradient", "markdown"): render_table_markdown, ("Gradient", "latex"): gradient_latex,
    ("MatrixForm", "markdown"): render_matrix_markdown, ("MatrixForm", "latex"): matrix_latex,
    ("Jacobian", "markdown"): render_jacobian_markdown, ("Jacobian", "latex"): jacobian_latex,
})
