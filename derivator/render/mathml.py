"""MathML for the explorer page: browsers typeset it natively, so the page fetches no fonts or scripts.

SymPy's presentation printer does the expressions; this module adds the project's notation on top:
network names with their subscripts (w1 -> w₁, z_h1 -> z_{h₁}, W1_2_1 -> W^{[1]}_{21}, h@2 -> h^{⟨2⟩}),
deltas, the primitives' written forms (σ(z), [z > 0]) and the nested forms in the teacher's order.
Every piece of text that reaches the markup passes through `escape`.
"""

from __future__ import annotations

import re
from xml.dom import minidom
from xml.sax.saxutils import escape

import sympy
from sympy.printing.mathml import MathMLPresentationPrinter

from derivator.graph.primitives import PRIMITIVES
from derivator.graph.timesteps import split
from derivator.symbolic.nested import Prod, Sum
from derivator.symbolic.printing import GREEK, Label, name_parts, needs_parens, readable

GREEK_LETTERS = {g: chr(0x3B1 + i) for i, g in enumerate(
    ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu", "nu",
     "xi", "omicron", "pi", "rho", "final", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega"])}
TIMES = "<mo>&#8290;</mo>"  # invisible times: juxtaposed factors


def mi(text: str) -> str:
    return f"<mi>{escape(text)}</mi>"


def name(n: str) -> str:
    """A network name as MathML, the subscripts as the LaTeX writer places them (printing.name_parts)."""
    kind, *parts = name_parts(n, samples=False)
    if kind == "step":
        return _step(name(parts[0]), parts[1])
    if kind == "layered":
        letter, layer, sub = parts
        return f"<msubsup>{mi(letter)}<mn>{escape(sub)}</mn><mrow><mo>[</mo><mn>{layer}</mn><mo>]</mo></mrow></msubsup>"
    if kind == "z":
        return f"<msub>{mi('z')}<mrow>{name(parts[0])}</mrow></msub>"
    letters, sub = parts
    base = mi(GREEK_LETTERS[letters] if letters in GREEK else letters)
    return f"<msub>{base}<mi>{escape(sub)}</mi></msub>" if sub else base


def _step(body: str, at: str) -> str:
    return f"<msup><mrow>{body}</mrow><mrow><mo>⟨</mo><mn>{escape(at)}</mn><mo>⟩</mo></mrow></msup>"


def delta(node: str) -> str:
    head, at = split(node)
    body = f"<msub>{mi('δ')}<mrow>{name(head)}</mrow></msub>"
    return _step(body, at) if at is not None else body


def partial(of: str, wrt: str) -> str:
    return f"<mfrac><mrow><mo>∂</mo>{name(of)}</mrow><mrow><mo>∂</mo>{name(wrt)}</mrow></mfrac>"


def text_tokens(text: str) -> str:
    """Literal notation (σ(, ' > 0]', ∂loss/∂O) as MathML tokens: letters as identifiers, digits as numbers."""
    out = []
    for t in re.findall(r"[^\W\d_]+|\d+(?:\.\d+)?|\S", text):
        out.append(f"<mn>{t}</mn>" if t[0].isdigit() else mi(t) if t[0].isalpha() else f"<mo>{escape(t)}</mo>")
    return "".join(out)


class Printer(MathMLPresentationPrinter):
    """SymPy's presentation MathML with the project's names and primitives."""

    def _fragment(self, xml: str):
        node = minidom.parseString(f"<mrow>{xml}</mrow>").documentElement
        return self.dom.importNode(node, True)

    def _print_Symbol(self, e, style="plain"):
        if isinstance(e, Label):
            return self._fragment(text_tokens(e.name))
        if e.name.startswith("δ_"):
            return self._fragment(delta(e.name[2:]))
        return self._fragment(name(e.name))

    def _print_Function(self, e):
        if type(e).__name__ == "OverSteps":  # render/time_tables.py's Σ over the steps lo..hi
            body, lo, hi, _ = e.args
            return self._fragment(f"<munderover><mo>∑</mo><mrow>{mi('t')}<mo>=</mo><mn>{lo}</mn></mrow>"
                                  f"<mn>{hi}</mn></munderover><mrow><mo>(</mo>{self.doprint(body)}<mo>)</mo></mrow>")
        p = PRIMITIVES.get(type(e))
        form = p.forms.get("text") if p is not None else None
        if form is None:
            return super()._print_Function(e)
        marks = [f"\x00{i}\x00" for i in range(len(e.args))]
        pieces = form(marks).split("\x00")  # literal text and argument indices, alternately
        xml = "".join(self.doprint(e.args[int(s)]) if i % 2 else text_tokens(s) for i, s in enumerate(pieces))
        return self._fragment(xml)


def expr(e) -> str:
    """One SymPy expression as the inside of a <math> element."""
    if isinstance(e, (Prod, Sum)):
        return nested(e)
    return Printer().doprint(readable(sympy.sympify(e))).replace("<mo>-</mo>", "<mo>−</mo>")


def nested(p) -> str:
    """A nested form in its own order (printing.nested's MathML twin): products juxtaposed, sums with + and -."""
    if isinstance(p, Sum):
        out = ""
        for t in p.terms:
            negative, body = _signed(t)
            out += (f"<mo>{'−' if negative else '+'}</mo>" if out else ("<mo>−</mo>" if negative else "")) + body
        return f"<mrow>{out}</mrow>"
    if isinstance(p, Prod):
        if not p.factors:
            return "<mn>1</mn>"
        negative, body = _signed(p)
        return f"<mrow><mo>−</mo>{body}</mrow>" if negative else body
    return expr(p)


def _signed(t) -> tuple[bool, str]:
    """A term as (subtracted, its MathML without the sign)."""
    if isinstance(t, Prod) and len(t.factors) > 1 and not isinstance(t.factors[0], Sum) and t.factors[0] == -1:
        return True, _product(t.factors[1:])
    if isinstance(t, Prod):
        return False, _product(t.factors)
    if not isinstance(t, Sum) and t.could_extract_minus_sign():
        return True, expr(-t)
    return False, nested(t)


def _product(factors) -> str:
    many = len(factors) > 1
    parts = [f"<mrow><mo>(</mo>{nested(f)}<mo>)</mo></mrow>" if many and needs_parens(f) else nested(f)
             for f in factors]
    return f"<mrow>{TIMES.join(parts)}</mrow>" if many else (parts[0] if parts else "<mn>1</mn>")


def number(x: float, digits: int = 9) -> str:
    text = f"{x + 0.0:.{digits}g}"
    m = re.fullmatch(r"(-?[\d.]+)e([+-]\d+)", text)
    if m:
        return f"<mrow><mn>{m.group(1)}</mn><mo>×</mo><msup><mn>10</mn><mn>{int(m.group(2))}</mn></msup></mrow>"
    return f"<mn>{escape(text)}</mn>" if not text.startswith("-") else f"<mrow><mo>−</mo><mn>{text[1:]}</mn></mrow>"


def math(inner: str, block: bool = True) -> str:
    return ('<math display="block">' if block else "<math>") + inner + "</math>"
