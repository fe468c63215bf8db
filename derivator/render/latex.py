"""`--format latex`: an `align*` derivation to paste into notes; `--standalone`: a whole document.

Only amsmath is used, so the document compiles with a plain pdflatex (Debian's texlive-latex-base).
"""

from __future__ import annotations

from derivator.answers.report import Report
from derivator.render import through_time, time_tables
from derivator.render.breaking import PREAMBLE, align
from derivator.render.steps import Eq, Partial, Work, reduce_tex, work
from derivator.render.text import constant, constants, num
from derivator.symbolic.printing import nested_tex, tex, tex_name


def of_tex(p: Partial) -> str:
    return r"\mathcal{L}" if p.of == "loss" else tex_name(p.of)


def partial(p: Partial) -> str:
    return rf"\frac{{\partial {of_tex(p)}}}{{\partial {tex_name(p.wrt)}}}"


# Prose from the diagnosis into LaTeX text: specials escaped, the Unicode of the notation as math.
TEXT_TEX = {"\\": r"\textbackslash{}", "_": r"\_", "&": r"\&", "%": r"\%", "#": r"\#", "$": r"\$",
            "{": r"\{", "}": r"\}", "^": r"\^{}", "~": r"\~{}", "→": r"$\to$", "²": r"$^2$", "³": r"$^3$",
            "σ": r"$\sigma$", "δ": r"$\delta$", "∂": r"$\partial$", "·": r"$\cdot$", "−": "-", "⁻": "-",
            "¹": r"$^1$", "⁴": r"$^4$", "Σ": r"$\Sigma$", "ₛ": r"$_s$", "⁽": r"$^($", "ˢ": r"$^s$", "⁾": r"$^)$",
            "ᵀ": r"$^{T}$", "×": r"$\times$", "⊙": r"$\odot$", "θ": r"$\theta$"}


def text_tex(sentence: str) -> str:
    return "".join(TEXT_TEX.get(ch, ch if ord(ch) < 128 else "?") for ch in sentence)


def sci(x: float) -> str:
    """2.1e-13 as 2.1 \times 10^{-13}."""
    mantissa, _, exponent = f"{x:.2g}".partition("e")
    return rf"{mantissa} \times 10^{{{int(exponent)}}}" if exponent else mantissa


def side(x) -> str:
    if isinstance(x, Partial):
        return partial(x)
    return tex(x) if hasattr(x, "free_symbols") else nested_tex(x)


def valued(eq: Eq) -> str:
    """` = 1.5` after an equation that has its value (rounded as the text rounds it)."""
    return f" = {num(eq.value)}" if eq.value is not None and not constant(eq.rhs[-1]) else ""


def rows(eq: Eq, notes: bool = True) -> list[str]:
    """An equation's align rows; `notes` adds the remarks as \\text (Markdown prints them as prose)."""
    out = [rf"{side(eq.lhs)} &= {side(eq.rhs[0])}"]
    out += [rf"&= {side(x)}" for x in eq.rhs[1:]]
    out[-1] += valued(eq)
    if not notes:
        return out
    if eq.fused_note:
        out[-1] += rf" \quad\text{{({text_tex(eq.fused_note)})}}"
    if isinstance(eq.lhs, Partial) and eq.lhs.of.startswith("z_"):
        rest = constants(eq.constants, lambda p: f"${nested_tex(p)}$")
        out[-1] += rf" \quad\text{{(linear in ${tex_name(eq.lhs.wrt)}${rest})}}"
    return out


def derivation_rows(w: Work, notes: bool = True) -> dict[str, list[str]]:
    """The rows of each part of the derivation, for align* here and aligned blocks in Markdown."""
    forward = [rf"{side(row[0].lhs)} &= {side(row[0].rhs[0])}{valued(row[0])}"
               + "".join(rf", \quad {side(eq.lhs)} = {side(eq.rhs[0])}{valued(eq)}" for eq in row[1:])
               for row in w.forward]
    if w.loss is not None:
        forward.append(rf"\mathcal{{L}} &= {tex(w.loss.rhs[0])}{valued(w.loss)}")
        forward += [rf"\mathcal{{L}}^{{({s})}} &= {num(x)}" for s, x in enumerate(w.losses, 1)]
        if w.losses:
            forward.append(rf"J &= {num(w.target)}")
    forward += [rf"{side(eq.lhs)} &= {side(eq.rhs[0])}" for eq in w.locals]
    forward += time_tables.latex_tables(w, "forward")  # through time: the values of every step
    backward = [row for eq in w.deltas for row in rows(eq, notes)] + time_tables.latex_tables(w, "deltas")
    result = [row for eq in w.result for row in rows(eq, notes)] + time_tables.latex_tables(w, "result")
    expanded = []
    if w.expanded is not None:
        expanded.append(rf"{partial(w.partial)} &= {tex(w.expanded)}")
        expanded += [rf"{tex(s)} &= {tex(e)}" for s, e in w.where]
    rules = [r.tex.replace(" = ", " &= ", 1) + (rf" \quad\text{{({text_tex(r.note)})}}" if notes and r.note else "")
             for r in w.rules]
    return {"forward": forward, "rules": rules, "backward": backward, "result": result, "expanded": expanded}


def average_row(r: Report) -> str:
    """With data: J is the mean (or sum) of the loss over the m samples, and so is its derivative."""
    p, d = work(r).partial, r.derivation
    extra = f" + {tex(d.penalty)}" if d.penalty != 0 else ""
    return (rf"\frac{{\partial J}}{{\partial {tex_name(p.wrt)}}} "
            rf"&= {reduce_tex(d.net)} \left({partial(p)}\right)^{{(s)}}{extra}")


def average_text(r: Report) -> str:
    p, net = work(r).partial, r.derivation.net
    penalty = f" + {tex(net.penalty)}" if net.penalty != 0 else ""
    return rf"Over the data, $m = {r.samples}$ samples, $J = {reduce_tex(net)} {of_tex(p)}^{{(s)}}{penalty}$"


def average(r: Report) -> str:
    return rf"\intertext{{{average_text(r)}:}}" + average_row(r)


def shorthands(w: Work) -> str:
    """What the names of the expanded form's shorthands are, when it has some."""
    if not w.where:
        return ""
    names = ", ".join(f"${tex(s)}$" for s, _ in w.where[:3])
    return f"Here {names}{', ...' if len(w.where) > 3 else ''} name the parts that repeat."


def point_text(r: Report) -> str:
    return ", ".join(f"${tex_name(k)} = {v:.15g}$" for k, v in r.point.items())


def render_latex(r: Report, standalone: bool = False) -> str:
    w = through_time.fold(work(r), r)
    parts = derivation_rows(w)
    body = align([r"\intertext{Forward pass:}" + parts["forward"][0], *parts["forward"][1:],
                  r"\intertext{Rules used:}" + parts["rules"][0], *parts["rules"][1:],
                  r"\intertext{Backward pass, $\delta_v = \partial " + of_tex(w.partial) + r" / \partial z_v$:}"
                  + parts["backward"][0], *parts["backward"][1:],
                  r"\intertext{Result:}" + parts["result"][0], *parts["result"][1:]])
    if r.samples:
        body = body.replace("\n\\end{align*}", " \\\\\n" + average(r) + "\n\\end{align*}")
    if r.value is not None:
        body = body.replace("\n\\end{align*}", f" \\\\\n&\\approx {r.value:.15g}\n\\end{{align*}}")
    if r.candidate is not None:
        v = r.candidate
        verdict = "agrees" if v.agrees else "inconclusive" if v.inconclusive else "does not agree"
        row = rf"\intertext{{Candidate ({verdict}):}}{partial(w.partial)} &\overset{{?}}{{=}} {tex(v.in_node_values)}"
        if v.value is not None:
            row += " \\\\\n" + rf"&\approx {v.value:.12g}"
        body = body.replace("\n\\end{align*}", f" \\\\\n{row}\n\\end{{align*}}")
    if not standalone:
        head = f"% at {', '.join(f'{k} = {v:.15g}' for k, v in r.point.items())}\n" if r.point else ""
        notes = "".join(f"% {sentence}\n" for sentence in (r.candidate.diagnosis if r.candidate else []))
        return head + body + notes
    doc = [*PREAMBLE,
           "\\begin{document}", f"\\section*{{The derivative ${partial(w.partial)}$}}",
           body]
    if r.value is not None:
        doc.append(f"\\subsection*{{Value}}\nAt {point_text(r)}: ${partial(w.partial)} = {r.value:.15g}$.")
        c = r.check
        if c is not None and c.kinks:
            doc.append(f"{'; '.join(c.kinks).capitalize()}: the value uses PyTorch's convention, and "
                       f"a numerical derivative there is not comparable.")
        elif c is not None and c.inconclusive:
            doc.append(f"The check is inconclusive: {text_tex(c.method)}.")
        elif c is not None:
            doc.append(f"A numerical derivative ({c.method}) gives ${c.numeric:.15g}$, which "
                       f"{'agrees' if c.agrees else 'does not agree'} (relative error ${sci(c.relative_error)}$).")
    if parts["expanded"]:  # after the value, so that the value follows the derivation it belongs to
        doc += ["\\subsection*{In inputs and parameters}", shorthands(w), align(parts["expanded"])]
    if r.candidate is not None and r.candidate.diagnosis:
        doc.append("\\subsection*{What differs}\n\\begin{itemize}")
        doc += [f"\\item {text_tex(sentence)}" for sentence in r.candidate.diagnosis]
        doc.append("\\end{itemize}")
    doc.append("\\end{document}")
    return "\n".join(doc) + "\n"
