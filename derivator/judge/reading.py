"""Reading a candidate and its helpers, in the tool's syntax or in LaTeX, into SymPy.

The text passes through up to three readers, each keeping every character's column: LaTeX (a
backslash or `_{`) into the tool's notation (`load.latex_reader`), the notation's brackets, Iverson
brackets and primes into the formula language (`load.notation`), and then the safe formula parser.
An error anywhere points at the column of what the learner wrote. A prime is the derivative of a
known function or of a helper of one argument, taken by SymPy from that one small formula.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import sympy

from derivator.errors import DerivatorError, long_name, shown, suggest
from derivator.graph.primitives import VARIADIC
from derivator.load import formula, latex_reader
from derivator.load.latex import looks_like_latex
from derivator.load.notation import ABOVE, AT_OR_ABOVE, PRIME, Mapped, reword, rewrite

DEFINITION = re.compile(r"\s*([A-Za-z][A-Za-z0-9_]*)\s*\(([^()]*)\)\s*=(.*)\Z", re.S)
NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
# Besides the formula functions: the step (relu's derivative, as [x > 0]) and the Iverson brackets.
STEPS: dict[str, Callable[[sympy.Expr], sympy.Expr]] = {
    "step": lambda x: sympy.Heaviside(x, 0), ABOVE: lambda x: sympy.Heaviside(x, 0),
    AT_OR_ABOVE: lambda x: sympy.Heaviside(x, 1)}
FUNCTIONS = {**formula.FUNCTIONS, **STEPS}
Table = dict[str, "formula.Helper | Callable[..., sympy.Expr]"]


def helpers(names: Mapping[str, sympy.Expr], definitions: list[str], aliases: Table | None = None) -> Table:
    """`--define 'f(x)=EXPR'` in order, each may use the ones before it; with the functions their
    primes and brackets need, under names that start with `_`, which no name of the user's can, and
    `aliases` (the course's θ for tanh)."""
    table: Table = {**STEPS, **(aliases or {})}
    for text in definitions:
        source = _definition_source(text, names, table)
        m = DEFINITION.match(source.text)
        if not m:
            raise DerivatorError(f"--define expects 'f(x)=EXPR', got '{shown(text)}'")
        name, params = m.group(1), [p.strip() for p in m.group(2).split(",")]
        for n in (name, *params):
            if long_name(n):
                raise DerivatorError(f"--define: {long_name(n)}")
        if name in names or name in FUNCTIONS or name in table:
            raise DerivatorError(f"--define {name}: '{name}' is already a name of the network, a function "
                                 "or a helper defined before")
        if not all(NAME.fullmatch(p) for p in params) or len(set(params)) != len(params):
            raise DerivatorError(f"--define {name}: the parameters must be distinct names, got '{shown(m.group(2))}'")
        start = m.start(3)
        body = Mapped(source.text[start:], source.cols[start:])
        try:
            plain = _rewritten(body, "definition")
            table.update(primes(plain.primes, names, table))
            table[name] = _define(params, plain, names, table)
        except formula.FormulaError as e:
            raise DerivatorError(f"--define {name}: {_message(e, table)} (column {e.col})") from None
    return table


def _define(params: list[str], plain: Mapped, names: Mapping[str, sympy.Expr], table: Table) -> formula.Helper:
    try:
        return formula.define(params, plain.text, names, table)
    except formula.FormulaError as e:
        raise formula.FormulaError(e.message, plain.origin(e.col)) from None


def candidate(text: str, names: Mapping[str, sympy.Expr], table: Table, steps: bool = False) -> sympy.Expr:
    """The candidate in SymPy; errors as `--candidate: MESSAGE (column N)` in the text as written.
    With `steps` (a recurrence), h__2 in a message is h@2 again, as the learner wrote it."""
    try:
        source = _source(text, names, table)
        table = {**table, **primes(source.primes, names, table)}
        try:
            return formula.parse(source.text, names, table, what="candidate", implicit=True)
        except formula.FormulaError as e:
            raise formula.FormulaError(e.message, source.origin(e.col)) from None
    except formula.FormulaError as e:
        message = _message(e, table)
        message = re.sub(r"__(\d+)\b", r"@\1", message) if steps else message
        raise DerivatorError(f"--candidate: {message} ({where(text, e.col)})") from None


def where(text: str, col: int | None) -> str:
    """`column N`, or `line L, column C` in a candidate of several lines (as from --candidate-file)."""
    col = col or 1
    before = text[:col - 1] if isinstance(text, str) else ""
    if "\n" not in before:
        return f"column {col}"
    return f"line {before.count(chr(10)) + 1}, column {col - 1 - before.rindex(chr(10))}"


def _source(text: str, names: Mapping[str, sympy.Expr], table: Table) -> Mapped:
    """The text in the formula language, each character mapped to its column in `text`."""
    if not isinstance(text, str):
        return Mapped.plain("")
    text = left_side(text)
    if not looks_like_latex(text):
        return _rewritten(subscripts(text, names, table))
    return _rewritten(latex_reader.translate(text, names, _function_names(table)))


# The left side of a pasted equation: ∂O/∂w1, dO/dw1, \frac{\partial O}{\partial w_1}, \frac{dO}{dw_1}, δ_x.
DERIVATIVE = re.compile(r"[^=]*(\\partial|∂|\\delta|δ)[^=]*|\s*\\[dt]?frac\s*\{\s*(\\mathrm\{d\}|d)[^{}]*\}\s*"
                        r"\{\s*(\\mathrm\{d\}|d)[^{}]*\}\s*|\s*d\w+\s*/\s*d\w+\s*")
LONE_EQUALS = re.compile(r"(?<![<>!=\\])=(?!=)")


def left_side(text: str) -> str:
    r"""The candidate with a derivative's left side and its `=` (`\frac{\partial O}{\partial w_1} = ...`, as a
    learner pastes the whole line) blanked out, so that every column stays where it was; a trailing full
    stop of LaTeX prose too. Anything else left of an `=` is the reader's error to report."""
    lead = re.match(r"\s*\$?", text).end()
    equals = list(LONE_EQUALS.finditer(text))
    if len(equals) == 1 and DERIVATIVE.fullmatch(text[lead:equals[0].start()]):
        text = text[:lead] + " " * (equals[0].end() - lead) + text[equals[0].end():]
    if looks_like_latex(text):
        m = re.search(r"(?<![\d.])[.,](?=(\s|\\[,;!])*\$?\s*\Z)", text)
        if m:
            text = text[:m.start()] + " " + text[m.end():]
    return text


def subscripts(text: str, names: Mapping[str, sympy.Expr], table: Table) -> Mapped:
    """`p_1 - y_1` in the tool's syntax: a name the network lacks, written with an underscore, is the
    network's name without it (p1, y1) when that is one, as in LaTeX; every other word as written."""
    parts, cols = [], []
    for m in NAME.finditer(text):
        word = m.group()
        if "_" not in word or word in names or word in table or word in FUNCTIONS:
            continue
        tries = [word.replace("_", ""), *(word[:i] + word[i + 1:] for i, ch in enumerate(word) if ch == "_")]
        known = next((t for t in tries if t in names), None)
        if known is not None:
            parts.append((m.start(), m.end(), known))
    if not parts:
        return Mapped.plain(text)
    out, at = [], 0
    for start, end, known in parts:
        out.append(text[at:start])
        cols.extend(range(at, start))
        out.append(known)
        cols.extend([start] * len(known))
        at = end
    out.append(text[at:])
    cols.extend(range(at, len(text) + 1))
    return Mapped("".join(out), tuple(cols))


def _rewritten(source: Mapped, what: str = "candidate") -> Mapped:
    """`notation.rewrite` of `source.text`, its errors and columns mapped back to `source`'s origin."""
    try:
        return rewrite(source.text, what).through(source)
    except formula.FormulaError as e:
        raise formula.FormulaError(e.message, source.origin(e.col)) from None


def _definition_source(text: str, names: Mapping[str, sympy.Expr], table: Table) -> Mapped:
    if not looks_like_latex(text):
        return Mapped.plain(text)
    try:
        return latex_reader.definition(text, names, _function_names(table))
    except formula.FormulaError as e:
        m = NAME.match(text.strip())
        raise DerivatorError(f"--define{' ' + m.group() if m else ''}: {e.message} (column {e.col})") from None


def _function_names(table: Table) -> set[str]:
    return {*formula.FUNCTIONS, *table}


def primes(used: Mapping[str, int], names: Mapping[str, sympy.Expr], table: Table) -> Table:
    """`f'`, for each f written with a prime: the derivative of a known function, or of a helper's
    body, by SymPy. The argument is put in afterwards, so f'(g(x)) is f' at g(x), not a chain rule."""
    out: Table = {}
    for fn, col in used.items():
        if fn in names:
            raise formula.FormulaError(f"'{fn}' is a name of the network; a prime is the derivative of a "
                                       "function, as σ'(z_O)", col + 1)
        if fn not in FUNCTIONS and fn not in table:
            raise formula.FormulaError(f"unknown function '{fn}'", col + 1)
        helper = table.get(fn)
        if fn in VARIADIC or (isinstance(helper, formula.Helper) and len(helper.params) != 1):
            raise formula.FormulaError(f"{fn}' is read for a function of one argument only", col + 1)
        t = sympy.Dummy("t", real=True)
        derivative = sympy.diff(formula.parse(f"{fn}(_t)", {**names, "_t": t}, table), t)
        if derivative.has(sympy.DiracDelta):
            raise formula.FormulaError(f"{fn}' is 0 except at its jump, where it has no value", col + 1)
        out[PRIME + fn] = lambda x, d=derivative, t=t: d.xreplace({t: x})
    return out


def _message(e: formula.FormulaError, table: Table) -> str:
    """The error's message, in the tool's words; an unknown function with the way to define it."""
    m = re.match(r"unknown function '([^']*)'", e.message)
    if not m:
        return reword(e.message)
    name = m.group(1)
    known = sorted(f for f in {*FUNCTIONS, *table} if not f.startswith("_"))
    shown = ", ".join(known[:14]) + (", ..." if len(known) > 14 else "")
    return (f"unknown function '{name}'; define it with --define '{name}(x)=...'{suggest(name, known)} "
            f"(known: {shown})")
