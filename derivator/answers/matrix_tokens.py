"""The tokens the matrix form's equations are written in: matrices (W[l], A[l]⟨t⟩, dZ[l]ᵀ), operators
and brackets, and formulas applied entry by entry; each renderer prints them in its notation."""

from __future__ import annotations

from dataclasses import dataclass

import sympy


@dataclass(frozen=True)
class Mat:
    """A matrix of the batch: W[l], b[l], Z[l], A[l], dZ[l], dA[l], Y or P, maybe transposed."""

    letter: str
    layer: int | None = None
    t: bool = False
    step: str = ""  # through time (CONTRACT section 6): "t", "t-1", "t+1"; printed A[1]⟨t⟩


@dataclass(frozen=True)
class Op:
    """An operator or bracket, written differently in text and in LaTeX."""

    text: str
    latex: str


@dataclass(frozen=True)
class Elementwise:
    """A formula applied entry by entry, in the matrices' symbols (sigmoid' = A ⊙ (1 - A))."""

    expr: sympy.Expr


Token = Mat | Op | Elementwise
HADAMARD = Op(" ⊙ ", r" \odot ")
PLUS, MINUS = Op(" + ", " + "), Op(" - ", " - ")
OPEN, CLOSE = Op("(", r"\left("), Op(")", r"\right)")
AVERAGE = Op("(1/m) ", r"\frac{1}{m} ")
SUM = Op("Σₛ ", r"\sum_{s=1}^{m} ")


@dataclass
class Eq:
    lhs: list[Token]
    rhs: list[Token]
    note: str = ""
