"""The one error type a user ever sees: a message with the place in the file it concerns."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

MAX_NAME = 64  # characters in a name: of the file, --at, --define; LaTeX and the tables stay usable


def long_name(name: str) -> str | None:
    """The complaint about a name longer than MAX_NAME, or None; the name shown cut short."""
    if len(name) <= MAX_NAME:
        return None
    return f"name '{name[:24]}...' is {len(name):,} characters long; names have at most {MAX_NAME}"


def shown(word: str, limit: int = MAX_NAME) -> str:
    """A user's word inside a message, cut short: an error stays one readable line."""
    return word if len(word) <= limit else word[:limit] + f"... ({len(word):,} characters)"


class DerivatorError(Exception):
    """Bad input: a file, a formula, a flag. `line` and `col` are 1-based; None where no position applies."""

    def __init__(self, message: str, line: int | None = None, col: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.col = col

    def format(self, filename: str) -> str:
        """The one line the command prints: `FILE:LINE:COL: error: MESSAGE`."""
        filename, message = printable(filename), printable(self.message)
        if self.line is None:
            return f"{filename}: error: {message}"
        return f"{filename}:{self.line}:{self.col or 1}: error: {message}"


def printable(text: str) -> str:
    """Escape line breaks and control characters, so a message stays one harmless line."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def suggest(word: str, choices: Iterable[str]) -> str:
    """`; did you mean 'x'?` for the closest choice, or nothing when none is close."""
    choices = list(choices)
    if len(word) > MAX_NAME:  # no name is close to it, and difflib's time grows with its length
        return ""
    same_but_case = [c for c in choices if c.lower() == word.lower()]
    close = same_but_case or difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def unknown(kind: str, word: str, choices: Iterable[str]) -> str:
    """`unknown activation 'sigmod'; did you mean 'sigmoid'? known: ...`"""
    choices = sorted(choices)
    listed = ", ".join(choices[:12]) + (", ..." if len(choices) > 12 else "")
    return f"unknown {kind} '{shown(word)}'{suggest(word, choices) or ';'} known: {listed}"
