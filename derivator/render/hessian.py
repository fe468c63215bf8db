"""`--hessian`: the matrix of second derivatives in text, LaTeX, Markdown and JSON (CONTRACT section 8).

The entries in node values where they are short, the matrix at the point, its largest asymmetry, its
eigenvalues (and what their signs say: a minimum, a maximum or a saddle), the Gauss-Newton part beside
it where the loss has one, and the check of every entry.
"""

from __future__ import annotations

from derivator.answers.display import WRITERS
from derivator.answers.second import Hessian
from derivator.render.breaking import PREAMBLE, align, aligned
from derivator.render.jsonout import dumps
from derivator.render.latex import text_tex
from derivator.render.matrixform import values_text
from derivator.render.second import title, title_tex
from derivator.render.text import verdict
from derivator.symbolic.printing import code, teacher, tex, tex_name

LARGE = 12  # past this many names, the entries' node-value forms are left to JSON


def shape(h: Hessian) -> str:
    """What the eigenvalues' signs say about the point."""
    e, scale = h.eigenvalues, max((abs(x) for x in h.eigenvalues), default=0.0)
    tiny = 1e-12 * scale
    if all(x > tiny for x in e):
        return "all positive: positive definite, curving up in every direction (a minimum if the gradient is 0)"
    if all(x < -tiny for x in e):
        return "all negative: negative definite (a maximum if the gradient is 0)"
    if any(x > tiny for x in e) and any(x < -tiny for x in e):
        return "of both signs: indefinite (a saddle if the gradient is 0)"
    return "some zero (to rounding): singular, flat in some direction"


def check_line(h: Hessian) -> str | None:
    if h.checks is None:
        return None
    cells = [(h.names[i], h.names[j], c) for i, row in enumerate(h.checks) for j, c in enumerate(row)]
    odd = [f"{title(h.of, a, b)}: {verdict(c)}" for a, b, c in cells if not c.agrees or c.kinks]
    if odd:
        return "Check: " + "; ".join(odd)
    worst = max((c for _, _, c in cells), key=lambda c: c.relative_error)
    return (f"Check: every entry agrees with a central difference of the first derivative (largest relative "
            f"error {worst.relative_error:.2g}, {worst.method}).")


def _forms(h: Hessian) -> list[tuple[str, str, object]]:
    """(row, column, node-value form) for the upper triangle, where short."""
    n = len(h.names)
    return [(h.names[i], h.names[j], h.forms[i][j]) for i in range(n) for j in range(i, n)]


def _eigen_text(e: list[float]) -> list[str]:
    scale = max((abs(x) for x in e), default=0.0)
    return [f"0 (to rounding: {x:.2g})" if 0 < abs(x) <= 1e-12 * scale else f"{x:.9g}" for x in e]


def render_hessian_text(h: Hessian) -> str:
    n = len(h.names)
    lines = [f"Hessian of {h.of} over ({', '.join(h.names)}), {n} × {n}: entry (i, j) is ∂²{h.of}/∂θ_i∂θ_j,",
             "by forward mode over the backward pass: one pass per column (a Hessian-vector product).", ""]
    if n <= LARGE:
        lines.append("Entries in node values (δ_v the first-order deltas; the symmetric ones below the diagonal "
                     "left out):")
        if h.net.samples:
            lines.append(f"  (one sample's loss, in its node values; the matrix below is the {h.net.reduction} "
                         f"over the {len(h.net.samples)} samples{', plus the penalty' if h.net.penalty != 0 else ''})")
        for a, b, form in _forms(h):
            shown = teacher(form) if form is not None else f"(long: see --wrt {a} --wrt {b})"
            lines.append(f"  {title(h.of, a, b)} = {shown}")
        lines.append("")
    if h.missing:
        lines.append(f"Values: need {', '.join(h.missing)} (give --at NAME=VALUE)")
        return "\n".join(lines) + "\n"
    at = ", ".join(f"{k} = {v:.15g}" for k, v in h.point.items())
    lines += [f"At {at}:" if at else "Values:", *values_text(h.values),
              f"Symmetry: largest |H_ij - H_ji| = {h.asymmetry:.3g}",
              "Eigenvalues (of (H + Hᵀ)/2, ascending): " + ", ".join(_eigen_text(h.eigenvalues)),
              f"  {shape(h)}"]
    if h.gauss_newton is not None:
        lines += ["", f"Gauss-Newton part, {h.gauss_newton_name}:", *values_text(h.gauss_newton),
                  "  (the penalty's Hessian included; the full Hessian is this plus Σ ∂L/∂q · ∂²q/∂θ² over the",
                  "  outputs or logits q, the part that vanishes where the fit is perfect)"]
    if check_line(h):
        lines += ["", check_line(h)]
    return "\n".join(lines) + "\n"


WIDE = 12  # past this many names a matrix does not fit a page: LaTeX gives the eigenvalues, JSON the values


def matrix_tex(rows: list[list[float]]) -> str:
    """A matrix of values, with fewer digits as it widens (amsmath allows MaxMatrixCols columns: set here)."""
    digits = 10 if len(rows) <= 4 else 6 if len(rows) <= 8 else 4
    cells = r" \\ ".join(" & ".join(number_tex(v, digits) for v in row) for row in rows)
    wide = rf"\setcounter{{MaxMatrixCols}}{{{len(rows)}}}" if len(rows) > 10 else ""
    return wide + r"\begin{bmatrix}" + cells + r"\end{bmatrix}"


def number_tex(x: float, digits: int) -> str:
    """1.5e-17 as 1.5 \times 10^{-17}."""
    mantissa, _, exponent = f"{x:.{digits}g}".partition("e")
    return rf"{mantissa} \times 10^{{{int(exponent)}}}" if exponent else mantissa


def _eigen_rows(e: list[float], per_row: int = 4) -> list[str]:
    """The eigenvalues, a few to a row; those below the largest by 10¹² are rounding of 0 and print as 0."""
    scale = max((abs(x) for x in e), default=0.0)
    cells = ["0" if abs(x) <= 1e-12 * scale else number_tex(x, 6) for x in e]
    rows = [",\\ ".join(cells[i:i + per_row]) for i in range(0, len(cells), per_row)]
    return [r"\lambda(H) &\approx " + rows[0] + ("," if len(rows) > 1 else ""),
            *[rf"&\phantom{{\approx}} {r}" + ("," if i < len(rows) - 2 else "") for i, r in enumerate(rows[1:])]]


def tex_parts(h: Hessian) -> dict[str, list[str]]:
    entries = [rf"{title_tex(h.of, a, b)} &= {tex(form)}" for a, b, form in _forms(h) if form is not None] \
        if len(h.names) <= LARGE else []
    names = ", ".join(tex_name(x) for x in h.names)
    values = [] if h.missing else _eigen_rows(h.eigenvalues)
    if not h.missing and len(h.names) <= WIDE:
        values.insert(0, rf"H &\approx {matrix_tex(h.values)}")
    gn = [rf"G = J^{{T}} H_{{L}} J &\approx {matrix_tex(h.gauss_newton)}"] \
        if h.gauss_newton is not None and len(h.names) <= WIDE else []
    return {"entries": entries, "values": values, "gn": gn, "names": [names]}


def render_hessian_latex(h: Hessian, standalone: bool = False) -> str:
    p = tex_parts(h)
    rows = []
    if p["entries"]:
        rows += [r"\intertext{Entries in node values:}" + p["entries"][0], *p["entries"][1:]]
    if p["values"]:
        rows += [rf"\intertext{{At the point, over ${p['names'][0]}$:}}" + p["values"][0], *p["values"][1:]]
    if p["gn"]:
        rows += [rf"\intertext{{Gauss-Newton part, {text_tex(h.gauss_newton_name)}:}}" + p["gn"][0]]
    body = align(rows) if rows else ""
    if not standalone:
        return body
    doc = [*PREAMBLE, "\\begin{document}", f"\\section*{{The Hessian of ${_of_tex(h)}$}}", body]
    if h.asymmetry is not None:
        doc.append(f"Largest asymmetry: {h.asymmetry:.3g}. Eigenvalues {text_tex(shape(h))}.")
    if check_line(h):
        doc.append(text_tex(check_line(h)))
    return "\n".join([*doc, "\\end{document}"]) + "\n"


def _of_tex(h: Hessian) -> str:
    return r"\mathcal{L}" if h.of == "loss" else tex_name(h.of)


def render_hessian_markdown(h: Hessian) -> str:
    p = tex_parts(h)
    out = [f"### The Hessian of ${_of_tex(h)}$ over ${p['names'][0]}$\n"]
    if p["entries"]:
        out += ["**Entries** in node values\n", aligned(p["entries"])]
    if p["values"]:
        out += ["**At the point**\n", aligned(p["values"]),
                f"Largest asymmetry {h.asymmetry:.3g}; eigenvalues {shape(h)}.\n"]
    if p["gn"]:
        out += [f"**Gauss-Newton part**, {h.gauss_newton_name}\n", aligned(p["gn"])]
    if check_line(h):
        out.append(f"**Check**: {check_line(h).removeprefix('Check: ')}\n")
    return "\n".join(out)


def as_dict(h: Hessian) -> dict:
    hess: dict = {"names": h.names, "values": h.values, "eigenvalues": h.eigenvalues, "asymmetry": h.asymmetry,
                  "in_node_values": [[code(f) if f is not None else None for f in row] for row in h.forms]}
    if h.gauss_newton is not None:
        hess["gauss_newton"] = {"values": h.gauss_newton, "name": h.gauss_newton_name}
    out: dict = {"of": h.of, "wrt": h.names, "at": h.point, "hessian": hess}
    if h.missing:
        out["missing"] = h.missing
    if h.checks is not None:
        cells = [c for row in h.checks for c in row]
        out["check"] = {"agrees": not h.failed, "numeric": [[c.numeric for c in row] for row in h.checks],
                        "relative_error": max((c.relative_error for c in cells if not c.kinks), default=None)}
        kinks = sorted({k for c in cells for k in c.kinks})
        if kinks:
            out["check"]["not_differentiable"] = kinks
    return out


def render_hessian_json(h: Hessian) -> str:
    return dumps(as_dict(h))


def hessian_latex(h: Hessian) -> str:
    """For Jupyter's `_repr_latex_`."""
    from derivator.render.notebook import aligned as mathjax
    return mathjax([r for key in ("entries", "values", "gn") for r in tex_parts(h)[key]])


WRITERS.update({("Hessian", "markdown"): render_hessian_markdown, ("Hessian", "latex"): hessian_latex})
