"""Renderers: one module per output format, each a function from a Report to text."""

from .desmos import render_desmos
from .jsonout import render_json
from .latex import render_latex
from .markdown import render_markdown
from .text import render_text

RENDERERS = {"text": render_text, "json": render_json, "latex": render_latex, "markdown": render_markdown,
             "desmos": render_desmos}

__all__ = ["RENDERERS", "render_desmos", "render_json", "render_latex", "render_markdown", "render_text"]
