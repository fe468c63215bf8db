"""Renderers: one module per output format, each a function from a Report to text.

Two more kinds of answer: many derivatives at once (`--wrt all` or a whole matrix, a `Gradient`)
and the matrix form (`MatrixForm`); `render` picks the function for the answer and the format.
"""

from ..every import Gradient
from ..matrix import MatrixForm
from .desmos import render_desmos
from .jsonout import render_json
from .latex import render_latex
from .markdown import render_markdown
from .matrixform import render_matrix_json, render_matrix_latex, render_matrix_markdown, render_matrix_text
from .table import render_table_json, render_table_latex, render_table_markdown, render_table_text
from .text import render_text

RENDERERS = {"text": render_text, "json": render_json, "latex": render_latex, "markdown": render_markdown,
             "desmos": render_desmos}
MATRIX_RENDERERS = {"text": render_matrix_text, "json": render_matrix_json, "latex": render_matrix_latex,
                    "markdown": render_matrix_markdown}
TABLE_RENDERERS = {"text": render_table_text, "json": render_table_json, "latex": render_table_latex,
                   "markdown": render_table_markdown}
WITH_STANDALONE = {render_latex, render_matrix_latex, render_table_latex}


def render(answer, fmt: str, standalone: bool = False) -> str:
    """The answer (a Report, Table or MatrixForm) in `fmt`; KeyError if that format does not apply."""
    table = MATRIX_RENDERERS if isinstance(answer, MatrixForm) else TABLE_RENDERERS if isinstance(answer, Gradient) \
        else RENDERERS
    function = table[fmt]
    return function(answer, standalone=True) if standalone and function in WITH_STANDALONE else function(answer)


__all__ = ["RENDERERS", "render", "render_desmos", "render_json", "render_latex", "render_markdown", "render_text"]
