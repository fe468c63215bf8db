"""Printers for expressions: SymPy syntax that reads back, LaTeX, and Unicode for a terminal.

Customised the SymPy way, by `_print_<Class>` methods on printer subclasses.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

import sympy
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.str import StrPrinter

from derivator.graph.primitives import PRIMITIVES
from derivator.graph.timesteps import ident, split
from derivator.symbolic.nested import Prod, Sum

SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda",
         "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega"}


class Forms:
    """A printer mixin: a primitive's call printed the way its record's `forms[form_key]` says.

    Each printer class names its key; the primitives with a form for it get a `_print_<name>`
    method (SymPy's dispatch), the others keep SymPy's own."""

    form_key = ""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for fn, p in PRIMITIVES.items():
            if cls.form_key in p.forms and f"_print_{fn.__name__}" not in cls.__dict__:
                setattr(cls, f"_print_{fn.__name__}", Forms._print_primitive)

    def _print_primitive(self, e, exp=None):
        forms = PRIMITIVES[type(e)].forms  # this printer's form, else the one of the printer it extends
        key = next(k for k in (getattr(c, "form_key", None) for c in type(self).__mro__) if k in forms)
        out = forms[key]([self._print(a) for a in e.args])
        return out if exp is None else rf"\left({out}\right)^{{{exp}}}"


class Label(sympy.Symbol):
    """A piece of notation that prints as written: `∂loss/∂O · σ'(z_O)` in text, its LaTeX in LaTeX."""

    def __new__(cls, text: str, latex: str):
        obj = super().__new__(cls, text)
        obj.latex = latex
        return obj

    def __getnewargs_ex__(self):
        return (self.name, self.latex), {}


LONG_DENOMINATOR = 80  # characters of LaTeX: a longer denominator is written (...)^{-1}, which can be cut
MAX_RATIONAL_DIGITS = 12  # past this many digits in numerator or denominator, a rational prints as a decimal


def readable(expr):
    """Rationals a learner cannot read (0.316227766016838 is 158113883008419/500000000000000) as decimals."""
    if not isinstance(expr, sympy.Basic):
        return expr
    big = [r for r in expr.atoms(sympy.Rational)
           if len(str(abs(r.p))) > MAX_RATIONAL_DIGITS or len(str(r.q)) > MAX_RATIONAL_DIGITS]
    return expr.xreplace({r: sympy.Float(r, 15) for r in big}) if big else expr


class WrittenOrder:
    """Print a sum built unevaluated on purpose (p_i - y_i) in the order it was written, and rationals
    readably."""

    def doprint(self, expr):
        return super().doprint(readable(expr))

    def _print_Add(self, e, order=None):
        if e.args != sympy.Add(*e.args).args:
            order = "none"
        return super()._print_Add(e, order=order)


class CodePrinter(Forms, WrittenOrder, StrPrinter):
    """SymPy syntax using only functions SymPy knows, so `parse_expr` reads it back to the same function."""

    form_key = "code"

    def _print_Symbol(self, e):
        return ident(e.name)  # h@2 is h__2: `@` would be Python's matrix product

    def _print_sigmoid(self, e):
        # Parenthesised: inside a power or a quotient the bare division would bind wrongly.
        return f"(1/(1 + exp({self._print(-e.args[0])})))"


LAYERED = re.compile(r"([WUba])(\d+)_(\d+)(?:_(\d+))?\Z")  # W1_2_1, U1_2_1, b1_2, a1_2: a layer's entries


def name_parts(name: str, samples: bool = True) -> tuple:
    """How a network name is written, read once for every writer (LaTeX here, MathML on the page):
    ("sample", head, i) for a batch_norm copy x1#2 (only with `samples`), ("step", head, t) for h@2,
    ("layered", letter, layer, subscript) for W1_2_1 and z_a1_2, ("z", node) for z_h1, and
    ("plain", letters, subscript) for w1 or beta_2."""
    if samples and "#" in name:
        return ("sample", *name.rsplit("#", 1))
    head, at = split(name)
    if at is not None:
        return "step", head, at
    m = LAYERED.match(name)
    if m and (m.group(1) in "WU") == (m.group(4) is not None):
        letter, layer, j, k = m.groups()
        return "layered", letter, layer, j + (k or "") if max(len(j), len(k or "")) == 1 else j + ("," + k if k else "")
    if name.startswith("z_") and LAYERED.match(name[2:]) and name[2] == "a":  # z_a1_2: a layer's pre-activation
        _, layer, j, _ = LAYERED.match(name[2:]).groups()
        return "layered", "z", layer, j
    if name.startswith("z_") and len(name) > 2:
        return "z", name[2:]
    head, _, tail = name.partition("_")
    m = re.fullmatch(r"([A-Za-z]+?)(\d+)", head)
    letters, digits = (m.group(1), m.group(2)) if m else (head, "")
    return "plain", letters, ",".join(p for p in (digits, *(tail.split("_") if tail else [])) if p)


def tex_name(name: str) -> str:
    """A network name in LaTeX: digits and what follows '_' become subscripts (w1 -> w_{1}, z_h1 -> z_{h_{1}});
    a layer's entries take the layer as a superscript, as courses write them (W1_2_1 -> W^{[1]}_{21});
    a name at a step takes the step as a superscript in angle brackets (h@2 -> h^{⟨2⟩}), and a sample's copy
    under batch_norm the sample in parentheses, as courses write x^{(i)} (x1#2 -> x_{1}^{(2)})."""
    kind, *parts = name_parts(name)
    if kind == "sample":
        return at_step(tex_name(parts[0]), parts[1], "(", ")")
    if kind == "step":
        return at_step(tex_name(parts[0]), parts[1])
    if kind == "layered":
        letter, layer, sub = parts
        return rf"{letter}^{{[{layer}]}}_{{{sub}}}"
    if kind == "z":
        return rf"z_{{{tex_name(parts[0])}}}"
    letters, sub = parts
    base = rf"\{letters}" if letters in GREEK else (letters if len(letters) == 1 else rf"\mathrm{{{letters}}}")
    return f"{base}_{{{sub}}}" if sub else base


SUPER = re.compile(r"(\\?[A-Za-z]+)\^\{([^{}]*)\}")


def at_step(tex: str, step: str, left: str = r"\langle ", right: str = r"\rangle") -> str:
    """A step as a superscript ⟨t⟩, joining a superscript the name has already (a^{[1]}_{2} -> a^{[1]⟨3⟩}_{2})."""
    mark = f"{left}{step}{right}"
    m = SUPER.match(tex)
    if m:
        return f"{m.group(1)}^{{{m.group(2)}{mark}}}{tex[m.end():]}"
    return f"{tex}^{{{mark}}}"


class TexPrinter(Forms, WrittenOrder, LatexPrinter):
    """LaTeX for notes: sigma for the sigmoid, an Iverson bracket for the relu's step."""

    form_key = "tex"

    def _print_Mul(self, e):
        # A fraction whose denominator is long cannot be cut across lines: write it as a power.
        numer, denom = sympy.fraction(e, exact=True)
        if denom != 1 and len(super()._print(denom)) > LONG_DENOMINATOR:
            top = "" if numer == 1 else self.parenthesize(numer, PRECEDENCE["Mul"]) + " "
            return rf"{top}\left({self._print(denom)}\right)^{{-1}}"
        return super()._print_Mul(e)

    def _print_Symbol(self, e, style="plain"):
        if isinstance(e, Label):
            return e.latex
        if e.name.startswith("δ_"):
            head, at = split(e.name[2:])
            return at_step(rf"\delta_{{{tex_name(head)}}}", at) if at is not None else rf"\delta_{{{tex_name(head)}}}"
        return tex_name(e.name)


class UnicodePrinter(Forms, WrittenOrder, StrPrinter):
    """For a terminal: σ for the sigmoid, [z > 0] for the relu's step, products without stars."""

    form_key = "text"


class TeacherPrinter(UnicodePrinter):
    """What a teacher writes on the board: O(1 - O), x², 2(x - y); juxtaposition, no stars."""

    def _print_Mul(self, e):
        if any(a.is_Pow and a.exp.is_negative for a in e.args):  # a quotient: (O - y)/(O(1 - O))
            numer, denom = sympy.fraction(e, exact=True)
            if not (numer.is_Rational or denom.is_Rational):
                return f"{self._grouped(numer)}/{self._grouped(denom)}"
        if any(a.is_Pow and a.exp.is_negative for a in e.args) or any(a.is_Rational and a.q != 1 for a in e.args):
            return super()._print_Mul(e)  # quotients read better with '/'
        coeff, rest = e.as_coeff_Mul()
        sign = "-" if coeff < 0 else ""
        parts = [] if abs(coeff) == 1 else [self._print(abs(coeff))]
        parts += [self.parenthesize(a, PRECEDENCE["Mul"]) for a in sympy.Mul.make_args(rest)]
        return sign + juxtapose(parts)

    def _grouped(self, e) -> str:
        """A numerator or denominator: bracketed when it is a sum or a product."""
        text = self._print(e)
        return f"({text})" if e.is_Add or (e.is_Mul and len(e.args) > 1) else text

    def _print_Pow(self, e):
        if e.exp.is_Integer and e.exp > 0:
            return self.parenthesize(e.base, PRECEDENCE["Pow"]) + str(e.exp).translate(SUPERSCRIPT)
        return super()._print_Pow(e)


def juxtapose(parts: list[str]) -> str:
    """Join factors the way they are written by hand: 2(x - y), O(1 - O)(...), w4 h2."""
    out, previous = "", ""
    for p in parts:
        tight = not out or p.startswith("(") or (previous.isdigit() and p[0].isalpha())
        out += p if tight else " " + p
        previous = p
    return out


def needs_parens(f: sympy.Expr) -> bool:
    """Whether a factor must be bracketed inside a product: sums, and negative or fractional numbers."""
    if isinstance(f, Sum):
        return True
    return precedence(f) < PRECEDENCE["Mul"] or f.could_extract_minus_sign() or (f.is_Rational and f.q != 1)


def nested(p: Prod | Sum | sympy.Expr, factor: Callable[[sympy.Expr], str], join: Callable[[list[str]], str],
           parens: Callable[[str], str]) -> str:
    """Print a nested form in its own order: products joined by `join`, sums with + and -."""
    if isinstance(p, Sum):
        out = ""
        for t in p.terms:
            text = nested(t, factor, join, parens)
            out += (" - " + text[1:] if text.startswith("-") else " + " + text) if out else text
        return out
    if isinstance(p, Prod):
        if not p.factors:
            return "1"
        if len(p.factors) > 1 and not isinstance(p.factors[0], Sum) and p.factors[0] == -1:  # a subtracted term
            rest = nested(Prod(p.factors[1:]), factor, join, parens)
            return "-" + (parens(rest) if rest.startswith("-") else rest)
        many = len(p.factors) > 1
        parts = [parens(nested(f, factor, join, parens)) if many and needs_parens(f)
                 else nested(f, factor, join, parens) for f in p.factors]
        return join(parts)
    return factor(p)


def nested_code(p: Prod) -> str:
    """SymPy syntax in the teacher's order: O*(1 - O)*(w4*h2*(1 - h2)*w2 + ...)*h1*(1 - h1)*I."""
    return nested(p, code, "*".join, lambda s: f"({s})")


def nested_text(p: Prod) -> str:
    """The teacher's notation: O(1 - O)(w4 h2(1 - h2) w2 + w5 h3(1 - h3) w3) h1(1 - h1) I."""
    return nested(p, _teacher_factor, juxtapose, lambda s: f"({s})")


@functools.lru_cache(maxsize=50_000)
def _teacher_factor(expr: sympy.Expr) -> str:
    """One factor, printed once: a table of 6,760 weights of one dense layer repeats each output's delta
    676 times, and a sum costs SymPy's printer a millisecond to order."""
    return TeacherPrinter().doprint(expr)


def nested_tex(p: Prod) -> str:
    return nested(p, tex, " ".join, lambda s: rf"\left({s}\right)")


def teacher(expr: sympy.Expr) -> str:
    return TeacherPrinter().doprint(expr)


def code(expr: sympy.Expr) -> str:
    return CodePrinter().doprint(expr)


def tex(expr: sympy.Expr) -> str:
    return TexPrinter().doprint(expr)


def unicode(expr: sympy.Expr) -> str:
    return UnicodePrinter().doprint(expr)

