"""`--blank`: the derivation as a worksheet, with the chosen parts left for the learner to fill in.

`--blank` takes a comma list of: `numbers` (every value at the point: the forward pass's, the loss's,
each delta's and the derivative's; the equations stay), `deltas` (every delta's right-hand side and
value: the backward pass to work), `result` (the derivative's right-hand sides and value), `steps`
(deltas and result), or node names (that node's delta only). The derivation's `Work` is blanked before
any writer prints it, so text, LaTeX and Markdown get the same blanks; what would give a blanked part
away (the form in inputs and parameters, the value after the derivation) goes too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy

from derivator.errors import DerivatorError, unknown

WORDS = ("numbers", "deltas", "result", "steps")
FORMATS = ("text", "latex", "markdown")


GAP = "________"  # a blank in text
RULE = r"\underline{\phantom{0.000000000}}"  # in LaTeX and Markdown's math: as wide as a value, to the line breaker too


class Blank(sympy.Symbol):
    """A blank to fill in, wherever an expression or a value goes: `Blank("tex")` a rule, `Blank("text")` a gap."""

    def __new__(cls, kind: str) -> Blank:
        return super().__new__(cls, f"blank_{kind}")

    def __format__(self, spec: str) -> str:  # as a value: the writers format numbers with f"{x:.9g}"
        return RULE if self.name == "blank_tex" else GAP

    _latex = _sympystr = lambda self, printer: format(self)

    def __add__(self, other):  # x + 0.0, the writers' way of unsigning a zero
        return self


@dataclass
class Blanks:
    numbers: bool = False
    result: bool = False
    deltas: set[str] = field(default_factory=set)  # node names; every delta when `every`
    every: bool = False
    blank: Blank = field(default_factory=lambda: Blank("text"))

    def delta(self, node: str) -> bool:
        return self.every or node in self.deltas

    def apply(self, w):
        """The Work with the chosen parts blank (in place; returned for the caller's convenience)."""
        if self.numbers:
            for eq in [*(eq for row in w.forward for eq in row), *w.deltas, *w.result, *([w.loss] if w.loss else [])]:
                if eq.value is not None:
                    eq.value = self.blank
            w.losses, w.target = [], None  # with data: each sample's loss and J, which are numbers only
        for eq in w.deltas:
            if self.delta(str(eq.lhs).removeprefix("δ_")):
                eq.rhs, eq.value, eq.fused_note = [self.blank], None, None
        if self.result:
            final = w.result[-1]
            final.rhs, final.value = [self.blank], None
        if self.result or self.deltas or self.every:
            w.expanded, w.where = (self.blank if w.expanded is not None else None), []  # in inputs and parameters too
        return w


def attach(answer, text: str | None, fmt: str, given: dict[str, bool]) -> None:
    """`--blank`'s list, checked against the words, the network's nodes and the flags given with it, on the
    answer (one derivative) for its writers."""
    if text is None:
        return
    if type(answer).__name__ != "Report":
        raise DerivatorError("--blank makes a worksheet of one derivative: name one parameter, input or node")
    answer.blank = parse(text, fmt, answer.derivation.net, given)


def refuse_format(text: str | None, fmt: str) -> None:
    if text is not None and fmt not in FORMATS:
        raise DerivatorError(f"--blank prints a worksheet in text, latex or markdown, not --format {fmt}")


def parse(text: str, fmt: str, net, given: dict[str, bool]) -> Blanks:
    for flag, on in given.items():
        if on:
            raise DerivatorError(f"--blank prints a worksheet; {flag} would fill it in")
    b = Blanks(blank=Blank("text" if fmt == "text" else "tex"))
    for word in (w.strip() for w in text.split(",")):
        if word == "numbers":
            b.numbers = True
        elif word in ("result", "steps"):
            b.result = True
            b.every = b.every or word == "steps"
        elif word == "deltas":
            b.every = True
        elif word in net.nodes:
            b.deltas.add(word)
        else:
            raise DerivatorError(unknown("--blank part", word, [*WORDS, *net.nodes]))
    return b


def finish(text: str, r, fmt: str) -> str:
    """What the writers print besides the Work: the value after the derivation, blank with the numbers."""
    b = getattr(r, "blank", None)
    if b is None:
        return text
    if r.value is not None and (b.numbers or b.result):
        text = text.replace(f"{r.value:.15g}", "\0")  # the value after the derivation
    if fmt != "text":
        text = text.replace(GAP, RULE)
    return text.replace("\0", RULE if fmt == "latex" else GAP)  # Markdown prints the value as code
