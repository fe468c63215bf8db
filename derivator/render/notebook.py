"""The answers in Jupyter: LaTeX for `_repr_latex_`, Markdown for `_repr_markdown_`.

Registered with `answers.display` so that the answers, which are data, never import a writer.
"""

from __future__ import annotations

from derivator.answers.display import WRITERS
from derivator.answers.gradient import Gradient
from derivator.answers.matrix_form import MatrixForm
from derivator.answers.report import Report
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


def gradient_latex(g: Gradient) -> str:
    rows = [r.replace(r"\intertext", r"\text") for r in _rows_tex(g)]
    return "$$\\begin{aligned}" + " \\\\ ".join(rows) + "\\end{aligned}$$"


def matrix_latex(f: MatrixForm) -> str:
    rows = [r for part in tex_parts(f).values() for r in part]
    return "$$\\begin{aligned}" + " \\\\ ".join(rows) + "\\end{aligned}$$"


WRITERS.update({
    ("Report", "markdown"): render_markdown, ("Report", "latex"): report_latex,
    ("Gradient", "markdown"): render_table_markdown, ("Gradient", "latex"): gradient_latex,
    ("MatrixForm", "markdown"): render_matrix_markdown, ("MatrixForm", "latex"): matrix_latex,
})
