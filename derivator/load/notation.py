"""The learner's notation on top of the formula language: square brackets, Iverson brackets, primes.

`[a + b]` is a pair of parentheses. A bracket holding one comparison is an Iverson bracket:
`[x > 0]` is 1 where it holds and 0 elsewhere (the Heaviside step, as relu's derivative prints),
`[x ≥ 0]` is 1 at 0 too. `f'(x)` is the derivative of a known or defined function of one argument.
The pass rewrites these into calls of functions whose names start with `_` (no network or helper
name can), and leaves the rest to the formula parser. Every output character keeps the column it
came from (`Mapped`), so an error found later points into what the learner wrote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from derivator.load.formula import MAX_DEPTH, MAX_LENGTH, FormulaError
from derivator.load.notation_key import GREEK_TEX

ABOVE, AT_OR_ABOVE = "_iverson_gt", "_iverson_ge"  # Heaviside(x, 0) and Heaviside(x, 1)
PRIME = "_prime_"  # f'(x) is read as _prime_f(x)
COMPARISONS = {">": (ABOVE, False), "<": (ABOVE, True), ">=": (AT_OR_ABOVE, False), "≥": (AT_OR_ABOVE, False),
               "<=": (AT_OR_ABOVE, True), "≤": (AT_OR_ABOVE, True)}  # True: the sides swap
NOT_IVERSON = {"=", "==", "!=", "≠", "=>", "=<"}
OPEN, CLOSE = {"(": ")", "[": "]"}, {")": "(", "]": "["}

TOKEN = re.compile(r"\s+|σ|[A-Za-z_][A-Za-z0-9_]*|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|\*\*|[<>=!]=|=[<>]|.",
                   re.S)


@dataclass(frozen=True)
class Mapped:
    """Text with, for each character and one past the end, its 0-based column in the source."""

    text: str
    cols: tuple[int, ...]
    primes: dict[str, int] = field(default_factory=dict)  # function written with a prime -> its column

    @classmethod
    def plain(cls, text: str) -> Mapped:
        return cls(text, tuple(range(len(text) + 1)))

    def origin(self, col: int | None) -> int:
        """The 1-based column in the source of the 1-based column `col` in `text`."""
        return self.cols[min(max((col or 1) - 1, 0), len(self.cols) - 1)] + 1

    def through(self, inner: Mapped) -> Mapped:
        """This text, read from `inner.text`, mapped back to `inner`'s own source."""
        primes = {name: inner.cols[min(c, len(inner.cols) - 1)] for name, c in self.primes.items()}
        return Mapped(self.text, tuple(inner.cols[min(c, len(inner.cols) - 1)] for c in self.cols),
                      {**inner.primes, **primes})


class Out:
    """The text being written, and each character's source column."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.cols: list[int] = []

    def add(self, text: str, col: int) -> None:
        self.parts.append(text)
        self.cols.extend([col] * len(text))

    def done(self, end: int, primes: dict[str, int] | None = None) -> Mapped:
        return Mapped("".join(self.parts), (*self.cols, end), primes or {})


def rewrite(text: str, what: str = "candidate") -> Mapped:
    """`text` with brackets, Iverson brackets and primes in the formula language."""
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"{what} is longer than {MAX_LENGTH} characters", MAX_LENGTH)
    tokens = [(m.group(), m.start()) for m in TOKEN.finditer(text)]
    match = _matches(tokens, f"cannot read {what}: ")
    out, primes = Out(), {}
    _emit(tokens, 0, len(tokens), match, out, primes)
    return out.done(len(text), primes)


def _matches(tokens: list[tuple[str, int]], lead: str) -> dict[int, int]:
    """Each bracket's partner, by token index; an unbalanced or crossed bracket is an error here."""
    stack: list[int] = []
    match: dict[int, int] = {}
    for i, (tok, col) in enumerate(tokens):
        if tok in OPEN:
            stack.append(i)
            if len(stack) > MAX_DEPTH:
                raise FormulaError(f"nested more than {MAX_DEPTH} deep", col + 1)
        elif tok in CLOSE:
            if not stack:
                raise FormulaError(f"{lead}unmatched '{tok}'", col + 1)
            opener = tokens[stack[-1]][0]
            if opener != CLOSE[tok]:
                raise FormulaError(f"{lead}'{tok}' does not close the '{opener}' at column {tokens[stack[-1]][1] + 1}",
                                   col + 1)
            match[stack.pop()] = i
    if stack:
        tok, col = tokens[stack[-1]]
        raise FormulaError(f"{lead}'{tok}' was never closed", col + 1)
    return match


def _emit(tokens, lo: int, hi: int, match: dict[int, int], out: Out, primes: dict[str, int]) -> None:
    i = lo
    while i < hi:
        tok, col = tokens[i]
        if tok == "[":
            comparison = _comparison(tokens, i, match)
            if comparison is None:
                out.add("(", col)
            else:
                _iverson(tokens, i, comparison, match, out, primes)
                i = match[i] + 1
                continue
        elif tok == "]":
            out.add(")", col)
        elif tok in ("'", "\u2032") and i > lo and _is_name(tokens[i - 1][0]):
            _prime(tokens, i, hi, out, primes)
        elif tok == "@":  # h@2, a node at a step (CONTRACT section 6), is the identifier h__2
            out.add("__", col)
        elif tok == "#":  # h#2, a sample's copy under batch_norm (load/batchnorm.py), is the identifier h__s2
            out.add("__s", col)
        else:
            out.add(tok, col)
        i += 1


def _is_name(tok: str) -> bool:
    return tok == "σ" or tok[0].isalpha() or tok[0] == "_"


def _prime(tokens, i: int, hi: int, out: Out, primes: dict[str, int]) -> None:
    """`f'(x)`: the name just written becomes the derivative's internal name. A quote not followed by
    `(` is left as it is, for the formula parser to refuse."""
    name, col = tokens[i - 1]
    j = _after_spaces(tokens, i + 1, hi)
    if j < hi and tokens[j][0] in ("'", "\u2032") and _after_spaces(tokens, j + 1, hi) < hi and \
            tokens[_after_spaces(tokens, j + 1, hi)][0] in ("(", "["):
        raise FormulaError(f"only a first derivative can be written with a prime: {name}'(...)", tokens[j][1] + 1)
    if j >= hi or tokens[j][0] not in ("(", "["):
        out.add(tokens[i][0], tokens[i][1])
        return
    name = "sigmoid" if name == "σ" else GREEK_TEX.get(name, name)  # θ'(s) as theta', an identifier in ASCII
    # The name was already written: take it back and write the derivative's name in its place.
    del out.parts[-1]
    del out.cols[len(out.cols) - len(tokens[i - 1][0]):]
    out.add(PRIME + name, col)
    primes.setdefault(name, col)


def _after_spaces(tokens, j: int, hi: int) -> int:
    while j < hi and tokens[j][0].isspace():
        j += 1
    return j


def _comparison(tokens, i: int, match: dict[int, int]) -> tuple[int, str] | None:
    """The one comparison at the top level of the bracket opened at token i, or None."""
    found = None
    j = i + 1
    while j < match[i]:
        tok, col = tokens[j]
        if tok in OPEN:
            j = match[j]
        elif tok in NOT_IVERSON:
            raise FormulaError(f"'{tok}' cannot be read here; an Iverson bracket compares with > ≥ < ≤", col + 1)
        elif tok in COMPARISONS:
            if found is not None:
                raise FormulaError("an Iverson bracket holds one comparison, such as [x > 0]", col + 1)
            found = (j, tok)
        j += 1
    return found


def _iverson(tokens, i: int, comparison: tuple[int, str], match, out: Out, primes) -> None:
    """`[a > b]` as `(_iverson_gt((a)-(b)))`, `[a < b]` as `(_iverson_gt((b)-(a)))`, and so on."""
    k, op = comparison
    end = match[i]
    fn, swap = COMPARISONS[op]
    left, right = (i + 1, k), (k + 1, end)
    for side, (a, b) in (("left", left), ("right", right)):
        if all(t.isspace() for t, _ in tokens[a:b]):
            raise FormulaError(f"the comparison in this Iverson bracket lacks its {side} side", tokens[k][1] + 1)
    first, second = (right, left) if swap else (left, right)
    out.add("(" + fn + "((", tokens[i][1])  # parenthesised: f[x > 0] is f of the bracket
    _emit(tokens, *first, match, out, primes)
    out.add(")-(", tokens[k][1])
    _emit(tokens, *second, match, out, primes)
    out.add(")))", tokens[end][1])


# Python's own words for a syntax error that are plain enough to show; the rest say "invalid syntax".
_KEPT = ("'(' was never closed", "'[' was never closed", "unmatched ", "invalid character",
         "invalid non-printable character", "']' does not close", "')' does not close")
_REWORDED = {"unterminated string literal": "quotes are not allowed (a derivative is written f'(x))",
             "unterminated triple-quoted string literal": "quotes are not allowed",
             "leading zeros in decimal integer literals": "a number may not start with 0",
             "invalid decimal literal": "invalid number", "invalid hexadecimal literal": "invalid number",
             "invalid octal literal": "invalid number", "invalid binary literal": "invalid number",
             "invalid digit": "invalid number"}


def reword(message: str) -> str:
    """A parser's message with Python's own syntax error in the tool's words (no hints about Python)."""
    head, sep, detail = message.partition("cannot read ")
    if not sep:
        return message
    what, _, python = detail.partition(": ")
    if python.startswith(_KEPT):
        return message
    said = next((ours for theirs, ours in _REWORDED.items() if python.startswith(theirs)), "invalid syntax")
    return f"{head}cannot read {what}: {said}"
