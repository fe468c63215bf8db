"""`--matrix`: the matrix form of a layer's gradient over the batch, in text, LaTeX, Markdown and JSON."""

from __future__ import annotations

import sympy
from sympy.printing.precedence import PRECEDENCE

from derivator.answers.matrix_form import Elementwise, Eq, Mat, MatrixForm, Token
from derivator.render.breaking import PREAMBLE, align, aligned
from derivator.render.jsonout import dumps
from derivator.render.latex import sci, text_tex
from derivator.render.text import verdict
from derivator.symbolic.printing import TeacherPrinter, TexPrinter


class Hadamard:
    """Products of matrices entry by entry, A[1] ⊙ (1 - A[1]); a number still multiplies: 2(A - Y)."""

    hadamard: str

    def group(self, body: str) -> str:
        return f"({body})"

    def quotient(self, e) -> str:
        return super()._print_Mul(e)

    def _print_Mul(self, e):
        coeff, rest = e.as_coeff_Mul()
        factors = sympy.Mul.make_args(rest)
        if any(f.is_Pow and f.exp.is_negative for f in factors):
            return self.quotient(e)
        parts = [self.parenthesize(f, PRECEDENCE["Mul"]) for f in factors]
        head = ("-" if coeff < 0 else "") + ("" if abs(coeff) == 1 else self._print(abs(coeff)))
        body = self.hadamard.join(parts)
        return head + (self.group(body) if head.strip("-") and len(parts) > 1 else body)

    def power(self, e) -> str | None:
        """A[1]² as A[1] ⊙ A[1]; None for any other power."""
        if e.exp.is_Integer and 1 < e.exp <= 3 and e.base.is_Symbol:
            return self.hadamard.join([self._print(e.base)] * int(e.exp))
        return None


class ElementwiseText(Hadamard, TeacherPrinter):
    hadamard = " ⊙ "

    def _print_Symbol(self, e):
        return e.name

    def quotient(self, e) -> str:
        return TeacherPrinter._print_Mul(self, e).replace("*", self.hadamard)  # a quotient, entry by entry

    def _print_Pow(self, e):
        return self.power(e) or super()._print_Pow(e)

    def _print_Abs(self, e):
        return f"|{self._print(e.args[0])}|"


class ElementwiseTex(Hadamard, TexPrinter):
    hadamard = r" \odot "

    def _print_Symbol(self, e, style="plain"):
        letter, _, rest = e.name.partition("[")
        rest = rest.replace("⟨", r"\langle ").replace("⟩", r"\rangle")  # through time: Z[1]⟨t⟩
        return f"{letter}^{{[{rest}}}" if rest else letter

    def group(self, body: str) -> str:
        return rf"\left({body}\right)"

    def _print_Pow(self, e, exp=None):
        return self.power(e) or super()._print_Pow(e)


def mat_text(m: Mat) -> str:
    step = f"⟨{m.step}⟩" if m.step else ""  # through time: A[1]⟨t-1⟩
    return (f"{m.letter}[{m.layer}]" if m.layer is not None else m.letter) + step + ("ᵀ" if m.t else "")


def mat_tex(m: Mat) -> str:
    step = rf"\langle {m.step}\rangle" if m.step else ""
    body = f"{m.letter}^{{[{m.layer}]{step}}}" if m.layer is not None else (f"{m.letter}^{{{step}}}" if step
                                                                         else m.letter)
    return f"{{{body}}}^{{T}}" if m.t else body


def tokens_text(ts: list[Token]) -> str:
    out, previous = "", None
    for t in ts:
        piece = mat_text(t) if isinstance(t, Mat) else ElementwiseText().doprint(t.expr) \
            if isinstance(t, Elementwise) else t.text
        if isinstance(t, (Mat, Elementwise)) and isinstance(previous, (Mat, Elementwise)):
            out += " "
        out, previous = out + piece, t
    return out


def tokens_tex(ts: list[Token]) -> str:
    parts = [mat_tex(t) if isinstance(t, Mat) else ElementwiseTex().doprint(t.expr)
             if isinstance(t, Elementwise) else t.latex for t in ts]
    return " ".join(p.strip() for p in parts if p.strip()).replace(" }", "}")


def eq_text(eq: Eq) -> str:
    return f"{tokens_text(eq.lhs)} = {tokens_text(eq.rhs)}"


def eq_tex(eq: Eq) -> str:
    return f"{tokens_tex(eq.lhs)} &= {tokens_tex(eq.rhs)}"


def loss_tex(f: MatrixForm) -> str:
    last = len(f.forward) // 2
    return rf"J &= \frac{{1}}{{m}} \sum_{{s=1}}^{{m}} \mathcal{{L}}\left(A^{{[{last}](s)}}, Y^{{(s)}}\right)"


def values_text(rows: list[list[float]]) -> list[str]:
    cells = [[f"{v:.12g}" for v in row] for row in rows]
    width = max(len(c) for row in cells for c in row)
    return ["  [ " + "  ".join(c.rjust(width) for c in row) + " ]" for row in cells]


def values_tex(rows: list[list[float]]) -> str:
    return r"\begin{bmatrix}" + r" \\ ".join(" & ".join(f"{v:.10g}" for v in row) for row in rows) + r"\end{bmatrix}"


def comparison(f: MatrixForm) -> str:
    square = f.name.startswith(("W", "U"))  # W and U have two indices, b one
    entry = f.entries[0][0].rsplit("_", 2 if square else 1)[0]
    names = f"{entry}_j_k" if square else f"{entry}_j"
    if f.agrees:
        return (f"Element by element: agrees. Each entry equals the scalar derivative ∂J/∂{names} of the "
                f"delta recursion (largest relative difference {f.largest_difference:.2g}).")
    return (f"Element by element: DISAGREES with the scalar derivatives ∂J/∂{names} (largest relative "
            f"difference {f.largest_difference:.2g}); please report this.")


def checks_text(f: MatrixForm) -> str | None:
    checks = f.checked
    if not checks:
        return None
    worst = max(checks, key=lambda c: c.relative_error)
    kinks = sorted({k for c in checks for k in c.kinks})
    subset = _subset(f)
    if kinks:
        where = [name for row, cs in zip(f.entries, _rows(f.checks, f.shape[1]), strict=True)
                 for name, c in zip(row, cs, strict=True) if c is not None and c.kinks]
        return (f"Check: {'; '.join(kinks)} (PyTorch's convention: {', '.join(where)} not compared; the other "
                f"{'checked ' if subset else ''}entries agree){subset}" if all(c.agrees for c in checks)
                else "Check: " + verdict(worst) + subset)
    if all(c.agrees for c in checks):
        every = f"each of the {len(checks)} checked entries" if subset else "every entry"
        return (f"Check: {every} agrees with a numerical derivative of J (largest relative error "
                f"{worst.relative_error:.2g}, {worst.method}).{subset}")
    return "Check: " + verdict(worst) + subset


def _subset(f: MatrixForm) -> str:
    """The sentence saying that only some entries were checked, or nothing when all were."""
    if len(f.checked) == len(f.checks):
        return ""
    return (f" {len(f.checked)} of the {len(f.checks)} entries, evenly spaced, are checked; all of them would "
            "take too long (gradient.MAX_CHECK_WORK).")


def render_matrix_text(f: MatrixForm) -> str:
    lines = [f"Matrix form over the batch: column s of each matrix is sample s, m = {f.samples}; A[0] = X, "
             "the inputs.", "", "Forward pass:"]
    for z, a in zip(f.forward[::2], f.forward[1::2], strict=True):
        lines.append(f"  {eq_text(z).ljust(28)}  {eq_text(a)}")
    lines += [f"  {f.loss}", "", "Backward pass (dZ[l] = ∂L/∂Z[l], one column per sample, before the "
              "average):"]
    lines += [f"  {eq_text(eq)}" + (f"    ({eq.note})" if eq.note else "") for eq in f.backward]
    lines += ["", "Result:", f"  {eq_text(f.result)}" + (f"    ({f.result.note})" if f.result.note else ""),
              "", "Why:", *[f"  - {text}" for text, _ in f.why], ""]
    at = ", ".join(f"{k} = {v:.15g}" for k, v in f.point.items())
    lines += [f"At {at}, over the {f.samples} sample{'s' * (f.samples != 1)}:",
              f"  {tokens_text(f.result.lhs)} =", *values_text(f.values), comparison(f)]
    if checks_text(f):
        lines.append(checks_text(f))
    return "\n".join(lines) + "\n"


def note_tex(eq: Eq) -> str:
    return rf" \quad\text{{({text_tex(eq.note)})}}" if eq.note else ""


def tex_parts(f: MatrixForm) -> dict[str, list[str]]:
    """The rows of each part, for align* (with \\intertext) here and separate blocks in Markdown."""
    return {"forward": [eq_tex(eq) for eq in f.forward] + [loss_tex(f)],
            "backward": [eq_tex(eq) + note_tex(eq) for eq in f.backward],
            "result": [eq_tex(f.result) + note_tex(f.result), rf"&= {values_tex(f.values)}"]}


FORWARD_TEX = r"Forward pass, column $s$ of each matrix is sample $s$, $A^{[0]} = X$"
BACKWARD_TEX = r"Backward pass, $dZ^{[l]} = \partial \mathcal{L} / \partial Z^{[l]}$ for each sample's column"


def tex_rows(f: MatrixForm) -> list[str]:
    parts = tex_parts(f)
    rows = [rf"\intertext{{{FORWARD_TEX}:}}" + parts["forward"][0], *parts["forward"][1:],
            rf"\intertext{{{BACKWARD_TEX}:}}" + parts["backward"][0], *parts["backward"][1:],
            r"\intertext{Result:}" + parts["result"][0], *parts["result"][1:]]
    rows.append(r"\intertext{Why:}" + " ".join(rf"\intertext{{{tex}}}" for _, tex in f.why))
    return rows


def render_matrix_latex(f: MatrixForm, standalone: bool = False) -> str:
    body = align(tex_rows(f))
    if not standalone:
        return body
    doc = [*PREAMBLE, "\\begin{document}",
           f"\\section*{{The matrix form of $\\partial J / \\partial {mat_tex(Mat(f.name[0], f.layer))}$}}",
           f"Over $m = {f.samples}$ samples.", body, f"{text_tex(comparison(f))}", "\\end{document}"]
    return "\n".join(doc) + "\n"


def render_matrix_markdown(f: MatrixForm) -> str:
    parts = tex_parts(f)
    out = [f"### The matrix form of $\\partial J / \\partial {mat_tex(Mat(f.name[0], f.layer))}$\n",
           f"**{FORWARD_TEX}**, over $m = {f.samples}$ samples:\n", _block(parts["forward"]),
           f"**{BACKWARD_TEX}**:\n", _block(parts["backward"]), "**Result**:\n", _block(parts["result"]),
           "**Why**:\n", *[f"- {tex}\n" for _, tex in f.why], comparison(f) + "\n"]
    if checks_text(f):
        out.append(checks_text(f) + "\n")
    return "\n".join(out)


def _block(rows: list[str]) -> str:
    return aligned(rows)


def as_dict(f: MatrixForm) -> dict:
    out = {
        "of": "loss",
        "wrt": f.name,
        "at": f.point,
        "samples": f.samples,
        "matrix": {"name": f.name, "shape": f.shape, "values": f.values, "latex": tokens_tex(f.result.lhs) + " = "
                   + tokens_tex(f.result.rhs), "text": eq_text(f.result), "elementwise": f.elementwise,
                   "agrees": f.agrees, "largest_relative_difference": f.largest_difference},
        "steps": {"forward": [{"text": eq_text(e), "latex": eq_tex(e).replace("&", "")} for e in f.forward],
                  "backward": [{"text": eq_text(e), "latex": eq_tex(e).replace("&", "")} for e in f.backward],
                  "why": [text for text, _ in f.why]},
    }
    if f.checked:
        # `numeric` is null for an entry left out of a checked subset; `checked` counts those that were not.
        out["check"] = {"agrees": all(c.agrees for c in f.checked),
                        "numeric": [[c.numeric if c is not None else None for c in row]
                                    for row in _rows(f.checks, f.shape[1])],
                        "relative_error": max((c.relative_error for c in f.checked if not c.kinks), default=None),
                        "checked": len(f.checked), "entries": len(f.checks)}
        kinks = sorted({k for c in f.checked for k in c.kinks})
        if kinks:
            out["check"]["not_differentiable"] = kinks
    return out


def _rows(items: list, width: int) -> list[list]:
    return [items[i:i + width] for i in range(0, len(items), width)]


def render_matrix_json(f: MatrixForm) -> str:
    return dumps(as_dict(f))


__all__ = ["render_matrix_json", "render_matrix_latex", "render_matrix_markdown", "render_matrix_text", "sci"]
