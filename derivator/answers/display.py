"""How an answer shows itself in Jupyter, without the answers importing their writers.

`derivator.render` registers a writer for each kind of answer and each form when it is imported
(the package's `__init__` imports it), so the data modules stay below the renderers.
"""

from __future__ import annotations

from collections.abc import Callable

WRITERS: dict[tuple[str, str], Callable[[object], str]] = {}  # (answer's class name, form) -> writer


def show(answer: object, form: str) -> str:
    """The answer as `form` ("markdown" or "latex") says, by the writer render registered."""
    return WRITERS[type(answer).__name__, form](answer)


class Displayed:
    """Jupyter's display protocol for an answer: `_repr_markdown_` and `_repr_latex_`."""

    def _repr_markdown_(self) -> str:
        return show(self, "markdown")

    def _repr_latex_(self) -> str:
        return show(self, "latex")
