"""Writers: one module per output format, and the one registry of which format writes which answer.

Four kinds of answer: one derivative (`Report`), many at once (`--wrt all` or a whole matrix, a
`Gradient`), the matrix form (`MatrixForm`) and the Jacobian of several targets (`Jacobian`).
`FORMATS` says, for each format, which kinds it writes and how; the command line asks it and holds no such rule itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module

from derivator.errors import DerivatorError, unknown

KINDS = {"Report": "one derivative", "Gradient": "--wrt all", "MatrixForm": "--matrix", "Jacobian": "--jacobian",
         "Second": "a second derivative (--wrt twice)", "Hessian": "--hessian"}


@dataclass(frozen=True)
class Format:
    """An output format: its writer for each kind of answer, and what else goes with it."""

    name: str
    writers: dict[str, str] = field(default_factory=dict)  # by the answer's class name: "module:function"
    standalone: bool = False  # --standalone makes a complete document
    one_point: bool = False  # works at one point, so not over the samples of `data:`
    code: bool = False  # writes a program computing the answers (for `kinds`), not an answer
    kinds: tuple[str, ...] = ()


FORMATS: dict[str, Format] = {f.name: f for f in [
    Format("text", {"Report": "text:render_text", "Gradient": "table:render_table_text",
                    "MatrixForm": "matrixform:render_matrix_text", "Jacobian": "jacobian:render_jacobian_text",
                    "Second": "second:render_second_text", "Hessian": "hessian:render_hessian_text"}),
    Format("latex", {"Report": "latex:render_latex", "Gradient": "table:render_table_latex",
                     "MatrixForm": "matrixform:render_matrix_latex", "Jacobian": "jacobian:render_jacobian_latex",
                     "Second": "second:render_second_latex", "Hessian": "hessian:render_hessian_latex"},
           standalone=True),
    Format("markdown", {"Report": "markdown:render_markdown", "Gradient": "table:render_table_markdown",
                        "MatrixForm": "matrixform:render_matrix_markdown",
                        "Jacobian": "jacobian:render_jacobian_markdown", "Second": "second:render_second_markdown",
                        "Hessian": "hessian:render_hessian_markdown"}),
    Format("json", {"Report": "jsonout:render_json", "Gradient": "table:render_table_json",
                    "MatrixForm": "matrixform:render_matrix_json", "Jacobian": "jacobian:render_jacobian_json",
                    "Second": "second:render_second_json", "Hessian": "hessian:render_hessian_json"}),
    Format("desmos", {"Report": "desmos:render_desmos"}, one_point=True),
    Format("html", {"Report": "html:render_html", "Gradient": "html:render_html"}),
    Format("python", code=True, kinds=("Report", "Gradient", "Hessian")),
]}
# The writers by name, for `from derivator.render import render_text` (imported when first asked for).
WRITERS = {spec.split(":")[1]: spec for f in FORMATS.values() for spec in f.writers.values()}


def writer(spec: str) -> Callable:
    """A writer named "module:function": its module is imported only when a format asks for it, so that
    `derive --wrt w1` loads the text writer alone, not the page's, the pictures' and the matrices'."""
    module, name = spec.split(":")
    return getattr(import_module(f"derivator.render.{module}"), name)


def __getattr__(name: str):
    if name in WRITERS:
        return writer(WRITERS[name])
    raise AttributeError(f"module 'derivator.render' has no attribute {name!r}")



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
    from derivator.render import notation, worksheet

    f = FORMATS[fmt]
    write = writer(f.writers[type(answer).__name__])
    body = write(answer, standalone=True) if standalone and f.standalone else write(answer)
    body = worksheet.finish(notation.apply(answer, fmt, body), answer, fmt)  # `notation:`, and --blank's value
    step = getattr(answer, "step", None)
    if step is None:
        return body
    from derivator.render import descent

    if fmt not in descent.WRITERS:
        raise DerivatorError(f"--step prints {', '.join(list(descent.WRITERS)[:-1])} or {list(descent.WRITERS)[-1]}, "
                             f"not {fmt}")
    return descent.WRITERS[fmt](body, step)


__all__ = ["FORMATS", "Format", "choose", "render", "require", "writer", *WRITERS]
