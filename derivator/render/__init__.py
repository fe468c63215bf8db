"""Renderers: one module per output format, each a function from a Report to text."""

from .jsonout import render_json
from .text import render_text

RENDERERS = {"text": render_text, "json": render_json}

__all__ = ["RENDERERS", "render_json", "render_text"]
