"""Formula text to a Python syntax tree, nothing executed: Unicode and `^` normalised, products by
juxtaposition made explicit, every column kept so that an error points into the text as written.

`ast.parse` only parses; the tree is walked by formula.py's whitelist, never compiled or run.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Collection

from derivator.errors import DerivatorError

MAX_LENGTH = 4000  # characters in one formula
MAX_DEPTH = 100  # nesting of parentheses and operators


class FormulaError(DerivatorError):
    """A problem in a formula; `col` is the 1-based column inside the formula's text."""

    def __init__(self, message: str, col: int):
        super().__init__(message, None, col)


# Characters a learner pastes from notes, and what they mean here.
UNICODE = {"σ": "sigmoid", "·": "*", "⋅": "*", "×": "*", "−": "-", "^": "**", "∗": "*"}


def _normalise(text: str) -> tuple[str, list[int]]:
    """Replace Unicode and `^`, keeping for each new character the column it came from."""
    out, cols = [], []
    for i, ch in enumerate(text):
        rep = UNICODE.get(ch, ch)
        out.append(rep)
        cols.extend([i] * len(rep))
    cols.append(len(text))
    return "".join(out), cols


TOKEN = re.compile(r"\s+|[A-Za-z_][A-Za-z0-9_]*|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|\*\*|.", re.S)


def _juxtapose(src: str, cols: list[int], variables: Collection[str]) -> tuple[str, list[int]]:
    """Insert the '*' that handwriting leaves out: O(1-O), 2x, w4 h2, (a)(b).

    Only a known variable before '(' multiplies; any other name there is a call (f(x), or an unknown
    function that the builder then names)."""
    out, new_cols, previous = [], [], None
    for m in TOKEN.finditer(src):
        token = m.group()
        if token.isspace():
            out.append(token)
            new_cols.extend(cols[m.start():m.end()])
            continue
        kind = ("name" if token in variables else "func") if token[0].isalpha() or token[0] == "_" else \
            "num" if token[0].isdigit() or (token[0] == "." and len(token) > 1) else token
        if (previous in ("name", "num", ")") and kind in ("name", "func", "num", "(")) or \
                (previous == "func" and kind in ("name", "func", "num")):
            out.append("*")
            new_cols.append(cols[m.start()])
        out.append(token)
        new_cols.extend(cols[m.start():m.end()])
        previous = kind
    new_cols.append(cols[-1])
    return "".join(out), new_cols


def syntax_tree(text: str, what: str, implicit: bool, variables: Collection[str]) -> tuple[ast.expr, Callable]:
    """Normalise and parse `text`; return the expression's AST and a column finder for its nodes."""
    if not isinstance(text, str):
        raise FormulaError(f"a {what} must be a string", 1)
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"{what} is longer than {MAX_LENGTH} characters", MAX_LENGTH)
    if "\x00" in text:
        raise FormulaError(f"NUL character in {what}", text.index("\x00") + 1)
    src, cols = _normalise(text)
    if implicit:
        src, cols = _juxtapose(src, cols, variables)
    depth = 0
    for i, ch in enumerate(src):
        depth += (ch == "(") - (ch == ")")
        if depth > MAX_DEPTH:
            raise FormulaError(f"{what} is nested more than {MAX_DEPTH} deep", cols[i] + 1)
    if not src.strip():
        raise FormulaError(f"empty {what}", 1)
    lead = len(src) - len(src.lstrip())
    stripped = src.strip()
    starts = [0] + [i + 1 for i, ch in enumerate(stripped) if ch == "\n"]  # a formula may span lines

    def at(line: int | None, offset: int) -> int:
        """The column in `text` of Python's (line, offset) in the stripped source."""
        index = lead + starts[min(max((line or 1) - 1, 0), len(starts) - 1)] + offset
        return cols[min(max(index, 0), len(src))] + 1

    try:
        tree = ast.parse(stripped, mode="eval")
    except SyntaxError as e:
        if not e.offset:  # Python reports offset 0 for an unexpected end: point just past the text
            raise FormulaError(f"cannot read {what}: {e.msg}", cols[min(len(src.rstrip()), len(src))] + 1) from None
        raise FormulaError(f"cannot read {what}: {e.msg}", at(e.lineno, e.offset - 1)) from None
    except (RecursionError, MemoryError, ValueError):
        raise FormulaError(f"{what} is too complex to read", 1) from None
    _underflows(tree, stripped, lambda node: at(node.lineno, node.col_offset))
    return tree.body, lambda node: at(node.lineno, node.col_offset)


def _underflows(tree: ast.AST, source: str, col: Callable) -> None:
    """Refuse a literal such as 1e-400, which Python reads as 0.0: a division by it would otherwise be
    reported as a division by zero that the text does not show."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and type(node.value) is float and node.value == 0.0:
            text = ast.get_source_segment(source, node) or ""
            if any(ch in "123456789" for ch in re.split("[eE]", text)[0]):
                raise FormulaError(f"number {text[:40]} underflows to 0: it is below the smallest float "
                                   "(about 5e-324)", col(node))
