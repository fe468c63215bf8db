"""LaTeX as learners paste it, read into the tool's own notation: the tokens and the tables.

A candidate or definition with a backslash or `_{` is LaTeX. `tokens` cuts it into commands, letter
runs, numbers and single characters, drops what only sets type (spacing, `\\mathbf`, `\\bigl`),
and refuses anything it does not know, with its column. `latex_reader`'s recursive descent then
writes the tool's notation. Nothing here evaluates or parses with Python.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from derivator.load.formula import FormulaError

MAX_SOURCE = 16_000  # characters of LaTeX: about four times the formula language's cap, as it is wordier

# Commands that only set type: dropped (a formatting command's braces go too when they hold a name).
SPACING = {",", ";", ":", "!", " ", ">", "quad", "qquad", "thinspace", "medspace", "thickspace", "enspace",
           "negthinspace", "displaystyle", "textstyle", "limits", "nolimits"}
FORMATTING = {"mathbf", "mathrm", "text", "textbf", "textrm", "textit", "mathit", "mathsf", "mathtt", "mathnormal",
              "boldsymbol", "bm", "pmb", "operatorname", "mathbb", "mathcal", "textnormal", "mbox"}
SIZING = {f"{size}{side}" for size in ("big", "Big", "bigg", "Bigg") for side in ("", "l", "r", "m")}
# Commands that are a formula function, and what the formula language calls it.
FUNCTIONS = {"exp": "exp", "log": "log", "ln": "log", "tanh": "tanh", "sin": "sin", "cos": "cos",
             "sigma": "sigmoid", "max": "max", "min": "min"}
TIMES = {"cdot", "times", "ast", "cdotp", "bullet"}
COMPARE = {"gt": ">", "lt": "<", "geq": ">=", "ge": ">=", "geqslant": ">=", "leq": "<=", "le": "<=",
           "leqslant": "<="}
FRACTIONS = {"frac", "dfrac", "tfrac", "cfrac"}
# Greek letters are names (a parameter `gamma` is `\gamma`); \sigma is the sigmoid, as on paper.
GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta", "iota",
         "kappa", "lambda", "mu", "nu", "xi", "pi", "rho", "tau", "upsilon", "phi", "varphi", "chi", "psi", "omega",
         "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Phi", "Psi", "Omega"}
STRUCTURE = {"left", "right", "sqrt", "prime", "lvert", "rvert", "lbrack", "rbrack", "{", "}", "div"}
KNOWN = SPACING | FORMATTING | SIZING | set(FUNCTIONS) | TIMES | set(COMPARE) | FRACTIONS | GREEK | STRUCTURE
# Characters of pasted math and what they are here.
UNICODE = {"σ": r"\sigma", "·": "*", "⋅": "*", "×": "*", "−": "-", "∗": "*", "≥": ">=", "≤": "<=", "\u2032": "'",
           "\u00a0": " ", "\u2009": " ", "\u202f": " "}

TOKEN = re.compile(r"\\[A-Za-z]+|\\.|[A-Za-z]+|\d+\.?\d*|\.\d+|>=|<=|\s+|.", re.S)


@dataclass
class Tok:
    kind: str  # cmd (text without the backslash), word, num, or the character itself
    text: str
    col: int  # 0-based, in the LaTeX source


def looks_like_latex(text: str) -> bool:
    """The contract's test: a backslash or `_{`. A brace counts too: the formula language has none."""
    return "\\" in text or "_{" in text or "{" in text


def tokens(text: str) -> list[Tok]:
    """The LaTeX's tokens, typesetting dropped, each with its column; unknown commands are errors."""
    if len(text) > MAX_SOURCE:
        raise FormulaError(f"longer than {MAX_SOURCE} characters", MAX_SOURCE)
    text = _strip_math_delimiters(text)
    out: list[Tok] = []
    for m in TOKEN.finditer(text):
        raw, col = m.group(), m.start()
        raw = UNICODE.get(raw, raw)
        if raw.isspace() or raw == "~":
            continue
        if raw.startswith("\\"):
            name = raw[1:]
            if name not in KNOWN:
                raise FormulaError(_unknown_command(name), col + 1)
            if name in SPACING or name in SIZING:
                continue
            out.append(Tok("cmd", name, col))
        elif raw[0].isalpha() and raw.isascii():
            out.append(Tok("word", raw, col))
        elif raw[0].isdigit() or (raw[0] == "." and len(raw) > 1):
            out.append(Tok("num", raw, col))
        elif raw in "+-*/^_(){}[]|,'<>=:!" or raw in (">=", "<="):
            out.append(Tok(raw, raw, col))
        else:
            shown = raw if raw.isprintable() else repr(raw)[1:-1]
            raise FormulaError(f"unexpected character '{shown}' (U+{ord(raw[0]):04X})", col + 1)
    return _drop_formatting(out)


def _strip_math_delimiters(text: str) -> str:
    """`$...$`, `$$...$$`, `\\(...\\)` and `\\[...\\]` around the whole: blanked, keeping the columns."""
    stripped = text.strip()
    for left, right in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if len(stripped) > len(left) + len(right) and stripped.startswith(left) and stripped.endswith(right):
            start = text.index(left)
            end = text.rindex(right)
            return " " * (start + len(left)) + text[start + len(left):end] + " " * (len(text) - end)
    return text


def _unknown_command(name: str) -> str:
    from derivator.errors import suggest

    hint = suggest(name, sorted(KNOWN - SPACING - SIZING - {"{", "}"})).replace("'", "'\\", 1)
    return f"unknown LaTeX command '\\{name}'{hint or ''}"


def _drop_formatting(toks: list[Tok]) -> list[Tok]:
    """`\\mathbf{w_4}` is `w_4`, `\\mathbf{w}_4` is `w_4` too: the command goes, and its braces when they
    hold only a name. Around anything else the braces stay, as a group."""
    out: list[Tok] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.kind == "cmd" and t.text in FORMATTING:
            if i + 1 < len(toks) and toks[i + 1].kind == "{":
                end = _closing(toks, i + 1)
                inner = toks[i + 2:end]
                if end is not None and all(x.kind in ("word", "num", "_", "{", "}", ",") for x in inner):
                    out.extend(inner)
                    i = end + 1
                    continue
            i += 1
            continue
        out.append(t)
        i += 1
    return out


def _closing(toks: list[Tok], i: int) -> int | None:
    """The index of the `}` that closes the `{` at i, or None."""
    depth = 0
    for j in range(i, len(toks)):
        depth += (toks[j].kind == "{") - (toks[j].kind == "}")
        if depth == 0:
            return j
    return None


# -- names -----------------------------------------------------------------------------------------
MAX_RUN = 40  # letters in one run that is split into names; a longer run is one name


def variants(base: str, sub: tuple[str, str] | None) -> list[str]:
    """The names `base_{sub}` may stand for, the literal one first: z_{h_1} is z_h_1, z_h1, zh_1 or zh1."""
    if sub is None:
        return [base]
    kept, dropped = sub
    return list(dict.fromkeys([f"{base}_{kept}", f"{base}_{dropped}", f"{base}{kept}", f"{base}{dropped}"]))


def split_run(text: str, sub: tuple[str, str] | None, variables: Collection[str], functions: Collection[str],
              splittable: bool) -> list[tuple[str, int]] | None:
    """The names a run of letters is, each with its offset in the run; None when it is no name.

    The subscript belongs to the run's last letter, as in TeX: `Iw_1` is I and w_1. Every piece but
    the last is a name (or e); the last may be a function too. Longest pieces are tried first."""
    euler = {"e"} - set(variables)

    def resolve(piece: str, script, last: bool) -> str | None:
        known = [v for v in variants(piece, script) if v in variables or (last and v in functions)]
        if known:
            return known[0]
        return piece if script is None and piece in euler else None

    whole = resolve(text, sub, True)
    if whole is not None:
        return [(whole, 0)]
    if not splittable or len(text) > MAX_RUN:
        return None
    memo: dict[int, list[tuple[str, int]] | None] = {}

    def rest(i: int) -> list[tuple[str, int]] | None:
        if i not in memo:
            memo[i] = None
            for j in range(len(text), i, -1):
                if j == len(text):
                    name = resolve(text[i:], sub, True)
                    if name is not None:
                        memo[i] = [(name, i)]
                        break
                elif (name := resolve(text[i:j], None, False)) is not None and (tail := rest(j)) is not None:
                    memo[i] = [(name, i), *tail]
                    break
        return memo[i]

    return rest(0) if len(text) > 1 else None
