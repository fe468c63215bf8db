"""Writers: one module per output format, and the one registry of which format writes which answer.

Four kinds of answer: one derivative (`Report`), many at once (`--wrt all` or a whole matrix, a
`Gradient`), the matrix form (`MatrixForm`) and the Jacobian of several targets (`Jacobian`).
`FORMATS` says, for each format, which kinds it writes and how; the command line asks it and holds no such rule itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from derivator.errors import DerivatorError, unknown
from derivator.render import (
    descent,
    notation,
    notebook,  # noqa: F401 - registers the answers' Jupyter forms
    worksheet,
)
from derivator.render.desmos import render_desmos
from derivator.render.hessian import (
    render_hessian_json,
    render_hessian_latex,
    render_hessian_markdown,
    render_hessian_text,
)
from derivator.render.html import render_html
from derivator.render.jacobian import (
    render_jacobian_json,
    render_jacobian_latex,
    render_jacobian_markdown,
    render_jacobian_text,
)
from derivator.render.jsonout import render_json
from derivator.render.latex import render_latex
from derivator.render.markdown import render_markdown
from derivator.render.matrixform import (
    render_matrix_json,
    render_matrix_latex,
    render_matrix_markdown,
    render_matrix_text,
)
from derivator.render.second import (
    render_second_json,
    render_second_latex,
    render_second_markdown,
    render_second_text,
)
from derivator.render.table import render_table_json, render_table_latex, render_table_markdown, render_table_text
from derivator.render.text import render_text

KINDS = {"Report": "one derivative", "Gradient": "--wrt all", "MatrixForm": "--matrix", "Jacobian": "--jacobian",
         "Second": "a second derivative (--wrt twice)", "Hessian": "--hessian"}


@dataclass(frozen=True)
class Format:
    """An output format: its writer for each kind of answer, and what else goes with it."""

    name: str
    writers: dict[str, Callable] = field(default_factory=dict)  # by the answer's class name
    standalone: bool = False  # --standalone makes a complete document
    one_point: bool = False  # works at one point, so not over the samples of `data:`
    code: bool = False  # writes a program computing the answers (for `kinds`), not an answer
    kinds: tuple[str, ...] = ()


FORMATS: dict[str, Format] = {f.name: f for f in [
    Format("text", {"Report": render_text, "Gradient": render_table_text, "MatrixForm": render_matrix_text,
                    "Jacobian": render_jacobian_text, "Second": render_second_text, "Hessian": render_hessian_text}),
    Format("latex", {"Report": render_latex, "Gradient": render_table_latex, "MatrixForm": render_matrix_latex,
                     "Jacobian": render_jacobian_latex, "Second": render_second_latex,
                     "Hessian": render_hessian_latex}, standalone=True),
    Format("markdown", {"Report": render_markdown, "Gradient": render_table_markdown,
                        "MatrixForm": render_matrix_markdown, "Jacobian": render_jacobian_markdown,
                        "Second": render_second_markdown, "Hessian": render_hessian_markdown}),
    Format("json", {"Report": render_json, "Gradient": render_table_json, "MatrixForm": render_matrix_json,
                    "Jacobian": render_jacobian_json, "Second": render_second_json, "Hessian": render_hessian_json}),
    Format("desmos", {"Report": render_desmos}, one_point=True),
    Format("html", {"Report": render_html, "Gradient": render_html}),
    Format("python", code=True, kinds=("Report", "Gradient", "Hessian")),
]}


def choose(fmt: str, standalone: bool = False) -> Format:
    """The format by name, refusing an unknown one and a --standalone it does not take."""
    if standalone and not (fmt in FORMATS and FORMATS[fmt].standalone):
        raise DerivatorError("--standalone goes with " + " or ".join(f"--format {f}" for f, x in FORMATS.items()
                                                                      if x.standalone))
    if fmt not in FORMATS:
        raise DerivatorError(unknown("format", fmt, FORMATS))
    return FORMATS[fmt]


def require(fmt: str, kind: str, samples: int = 0, flag: str = "") -> None:
    """Refuse a format that does not write this kind of answer (`flag` names the mode in the message)."""
    f = FORMATS[fmt]
    if kind not in f.writers and kind not in f.kinds:
        able = [n for n, g in FORMATS.items() if kind in g.writers or kind in g.kinds]
        raise DerivatorError(f"{flag or KINDS[kind]} prints {', '.join(able[:-1])} or {able[-1]}, not {fmt}")
    if f.one_point and samples:
        raise DerivatorError(f"--format {fmt} works at one point; this file's 'data' has {samples} "
                             "samples (leave out 'data', or use another format)")


def render(answer, fmt: str, standalone: bool = False) -> str:
    """The answer (a Report, Gradient or MatrixForm) in `fmt`, as `require` allows."""
    f = FORMATS[fmt]
    write = f.writers[type(answer).__name__]
    body = write(answer, standalone=True) if standalone and f.standalone else write(answer)
    body = worksheet.finish(notation.apply(answer, fmt, body), answer, fmt)  # `notation:`, and --blank's value
    step = getattr(answer, "step", None)
    if step is not None and fmt not in descent.WRITERS:
        raise DerivatorError(f"--step prints {', '.join(list(descent.WRITERS)[:-1])} or {list(descent.WRITERS)[-1]}, "
                             f"not {fmt}")
    return body if step is None else descent.WRITERS[fmt](body, step)


__all__ = ["FORMATS", "Format", "choose", "render", "render_desmos", "render_json", "render_latex",
           "render_markdown", "render_text", "require"]
