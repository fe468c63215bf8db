"""sheet.tex (the questions, each network drawn, blanks for the answers) and key.tex (the answer key).

The key's derivation of each variant and asked name is exactly what `derive exercise-N.yaml --wrt NAME
--format latex` prints: every forward value, the rules, every delta with its value, the result and
its value. A table of the values comes first, for marking at a glance.
"""

from __future__ import annotations

from derivator.render.breaking import PREAMBLE
from derivator.render.latex import average_text, render_latex, side
from derivator.render.latex import partial as latex_partial
from derivator.render.steps import Partial, forward_rows
from derivator.sheets.drawing import tikz
from derivator.sheets.variants import Exercise, Variant
from derivator.symbolic.printing import tex, tex_name

DOCUMENT = [*PREAMBLE, r"\usepackage[margin=2.2cm]{geometry}", r"\usepackage{tikz}",
            r"\usetikzlibrary{arrows.meta,positioning}", r"\setlength{\parindent}{0pt}"]
BLANK = r"\rule{7cm}{0.4pt}"  # room for the derivative in node values
VALUE_BLANK = r"\rule{3cm}{0.4pt}"


def partial(ex: Exercise, name: str) -> str:
    if ex.samples:  # the target is J, the loss over the samples
        return rf"\frac{{\partial J}}{{\partial {tex_name(name)}}}"
    return latex_partial(Partial(ex.of, name))


def slashed(ex: Exercise, name: str) -> str:
    """∂L/∂w_1 on one line, for headings and the table."""
    of = "J" if ex.samples else r"\mathcal{L}" if ex.of == "loss" else tex_name(ex.of)
    return rf"\partial {of} / \partial {tex_name(name)}"


def data(v: Variant) -> list[str]:
    """With `data:`, the samples and how J gathers their losses."""
    if not v.net.samples:
        return []
    names = list(v.net.samples[0])
    rows = [" & ".join(f"${tex_name(n)}$" for n in ["s", *names]) + r" \\ \hline"]
    rows += [" & ".join([str(i), *[f"${sample[n]:.15g}$" for n in names]]) + r" \\"
             for i, sample in enumerate(v.net.samples, 1)]
    return [average_text(next(iter(v.reports.values()))) + ":", r"\begin{center}",
            r"\begin{tabular}{r" + "r" * len(names) + "}", *rows, r"\end{tabular}", r"\end{center}"]


def text(s: str) -> str:
    """Plain words from a description or an option, safe in LaTeX."""
    special = {"\\": r"\textbackslash{}", "_": r"\_", "&": r"\&", "%": r"\%", "#": r"\#", "$": r"\$",
               "{": r"\{", "}": r"\}", "^": r"\^{}", "~": r"\~{}"}
    return "".join(special.get(ch, ch if ord(ch) < 128 else "?") for ch in s)


def made(how: str) -> str:
    """The command that made the files, in typewriter type, breakable between its options."""
    pieces = [text(p if i == 0 else "--" + p) for i, p in enumerate(how.split(" --"))]
    return r"{\small Made by " + " ".join(rf"\texttt{{{p}}}" for p in pieces) + "}"


def model(v: Variant) -> list[str]:
    """The network's equations, without numbers: what the drawing shows, in the key's notation."""
    net = v.net
    rows = [rf"{side(row[0].lhs)} &= {side(row[0].rhs[0])}"
            + "".join(rf", \quad {side(eq.lhs)} = {side(eq.rhs[0])}" for eq in row[1:])
            for row in forward_rows(net, set(net.nodes))]
    d = next(iter(v.reports.values())).derivation
    if d.of == "loss":
        rows.append(rf"\mathcal{{L}} &= {tex(d.target)}")
    return [r"\begin{align*}", " \\\\\n".join(rows), r"\end{align*}"]


def given(v: Variant) -> str:
    return ", ".join(f"${tex_name(k)} = {x}$" for k, x in v.values.items())


def sheet(ex: Exercise, variants: list[Variant], how: str) -> str:
    asked = ", ".join(f"${partial(ex, n)}$" for n in ex.ask)
    out = [*DOCUMENT, r"\begin{document}", rf"\section*{{Exercises: {text(ex.title)}}}",
           rf"For each network, find {asked}: first in node values (a node's name stands for its output, "
           r"$z_v$ for its pre-activation $\sum_u w_{uv} o_u + b_v$), then its value at the given point. "
           r"Grey circles are inputs; each node's bias is written under it.",
           "", made(how)]
    for v in variants:
        out += [r"\subsection*{" + f"Exercise {v.number}" + "}", r"\begin{center}", tikz(v.net, ex.of).rstrip(),
                r"\end{center}", *model(v), *data(v), rf"At {given(v)}:", r"\begin{align*}"]
        out.append(" \\\\[3ex]\n".join(rf"{partial(ex, n)} &= {BLANK} & &= {VALUE_BLANK}" for n in ex.ask))
        out += [r"\end{align*}", r"\bigskip"]
    out.append(r"\end{document}")
    return "\n".join(out) + "\n"


def key(ex: Exercise, variants: list[Variant], how: str) -> str:
    out = [*DOCUMENT, r"\begin{document}", rf"\section*{{Answer key: {text(ex.title)}}}",
           made(how), "", r"\begin{center}",
           r"\begin{tabular}{r" + "l" * len(ex.ask) + "}",
           " & ".join(["Exercise", *[f"${slashed(ex, n)}$" for n in ex.ask]]) + r" \\ \hline"]
    out += [" & ".join([str(v.number), *[f"${v.reports[n].value:.15g}$" for n in ex.ask]]) + r" \\"
            for v in variants]
    out += [r"\end{tabular}", r"\end{center}"]
    for v in variants:
        out += [r"\subsection*{" + f"Exercise {v.number}" + "}", rf"At {given(v)}."]
        for n in ex.ask:
            r = v.reports[n]
            out += [rf"\subsubsection*{{${slashed(ex, n)} = {r.value:.15g}$}}", render_latex(r).rstrip()]
    out.append(r"\end{document}")
    return "\n".join(out) + "\n"
