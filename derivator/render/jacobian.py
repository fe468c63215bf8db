"""`--jacobian`: the matrix ∂of_i/∂wrt_j in text, LaTeX, Markdown and JSON (CONTRACT section 5).

The forward pass with its values, then each entry as the delta recursion gives it in node values with
its value, the closed form where one applies (diag(p) - p pᵀ for a softmax group), the values laid
out as the matrix, and the check of every entry.
"""

from __future__ import annotations

from derivator.answers.jacobian import Jacobian
from derivator.render.breaking import PREAMBLE, align, aligned
from derivator.render.jsonout import dumps
from derivator.render.latex import partial as partial_tex
from derivator.render.latex import rows as rows_tex
from derivator.render.latex import side as side_tex
from derivator.render.latex import text_tex, valued
from derivator.render.matrixform import values_tex, values_text
from derivator.render.steps import Eq, Partial, forward_rows, writable
from derivator.render.text import equation, num, partial, side, verdict
from derivator.symbolic.printing import code, nested_code, nested_tex, teacher, tex, tex_name

TOO_LARGE = "(too large to write out)"


def _forward(j: Jacobian) -> list[list[Eq]]:
    upstream = set().union(*(e.derivation.upstream for row in j.entries for e in row))
    rows = forward_rows(j.net, upstream)
    for eq in (eq for row in rows for eq in row):
        eq.value = j.forward.get(str(eq.lhs))
    return rows


def _entries(j: Jacobian) -> list[Eq]:
    """One equation per entry, row by row; a nested form too large to print is left out."""
    eqs = []
    for row in j.entries:
        for e in row:
            d = e.derivation
            eqs.append(Eq(Partial(d.of, d.wrt), [d.nested] if writable(d)[0] else [], value=e.value))
    return eqs


def _title(j: Jacobian) -> str:
    return f"∂({', '.join(j.of)})/∂({', '.join(j.wrt)})"


def _title_tex(j: Jacobian) -> str:
    def names(ns: list[str]) -> str:
        return ", ".join(r"\mathcal{L}" if n == "loss" else tex_name(n) for n in ns)
    return rf"\frac{{\partial \left({names(j.of)}\right)}}{{\partial \left({names(j.wrt)}\right)}}"


def check_line(j: Jacobian) -> str | None:
    checks = [e.check for row in j.entries for e in row if e.check is not None]
    if not checks:
        return None
    wrong = [f"∂{e.derivation.of}/∂{e.derivation.wrt}: {verdict(e.check)}" for row in j.entries for e in row
             if e.check is not None and (not e.check.agrees or e.check.kinks)]
    if wrong:
        return "Check: " + "; ".join(wrong)
    worst = max(checks, key=lambda c: c.relative_error)
    return (f"Check: every entry agrees with a numerical derivative (largest relative error "
            f"{worst.relative_error:.2g}, {worst.method}).")


def _closed_text(j: Jacobian) -> list[str]:
    c = j.closed
    cells = [[teacher(e) for e in row] for row in c.entries]
    width = max(len(x) for row in cells for x in row)
    lines = [f"Closed form: {_title(j)} = {c.text}, {c.where}:",
             *["  [ " + "  ".join(x.ljust(width) for x in row) + " ]" for row in cells]]
    if c.agrees is not None:
        lines.append("  (equal to the entries above at the point)" if c.agrees else
                     "  (its values DIFFER from the entries above; please report this)")
    return lines


def render_jacobian_text(j: Jacobian) -> str:
    lines = [f"Jacobian {_title(j)}, {len(j.of)} × {len(j.wrt)}: entry (i, j) is ∂of_i/∂wrt_j.", "",
             f"Forward pass{' (values to 9 significant digits; --format json gives 15)' if j.forward else ''}:"]
    for row in _forward(j):
        lines.append("  " + "    ".join(f"{side(eq.lhs)} = {side(eq.rhs[0])}"
                                        + (f" = {num(eq.value)}" if eq.value is not None else "") for eq in row))
    lines += ["", "Entries, by the delta recursion, in node values:"]
    for eq in _entries(j):
        lines += equation(eq) if eq.rhs else [f"  {partial(eq.lhs)} {TOO_LARGE}"]
    if j.closed is not None:
        lines += ["", *_closed_text(j)]
    lines.append("")
    if j.missing:
        lines.append(f"Values: need {', '.join(j.missing)} (give --at NAME=VALUE)")
        return "\n".join(lines) + "\n"
    at = ", ".join(f"{k} = {v:.15g}" for k, v in j.point.items())
    lines += [f"At {at}:" if at else "Values:", *values_text(j.values)]
    if check_line(j):
        lines.append(check_line(j))
    return "\n".join(lines) + "\n"


def tex_parts_jacobian(j: Jacobian) -> dict[str, list[str]]:
    forward = [rf"{side_tex(row[0].lhs)} &= {side_tex(row[0].rhs[0])}{valued(row[0])}"
               + "".join(rf", \quad {side_tex(eq.lhs)} = {side_tex(eq.rhs[0])}{valued(eq)}"
                         for eq in row[1:]) for row in _forward(j)]
    entries = [row for eq in _entries(j) for row in (rows_tex(eq, notes=False) if eq.rhs else
                                                      [rf"{partial_tex(eq.lhs)} &\quad\text{{{TOO_LARGE}}}"])]
    closed = []
    if j.closed is not None:
        matrix = r"\begin{bmatrix}" + r" \\ ".join(" & ".join(tex(e) for e in row) for row in j.closed.entries) \
            + r"\end{bmatrix}"
        closed = [rf"{_title_tex(j)} &= {j.closed.tex} = {matrix}"]
    values = [] if j.missing else [rf"{_title_tex(j)} &\approx {values_tex(j.values)}"]
    return {"forward": forward, "entries": entries, "closed": closed, "values": values}


def render_jacobian_latex(j: Jacobian, standalone: bool = False) -> str:
    parts = tex_parts_jacobian(j)
    rows = [r"\intertext{Forward pass:}" + parts["forward"][0], *parts["forward"][1:],
            r"\intertext{Entries, by the delta recursion:}" + parts["entries"][0], *parts["entries"][1:]]
    if parts["closed"]:
        rows.append(rf"\intertext{{Closed form, {text_tex(j.closed.where)}:}}" + parts["closed"][0])
    if parts["values"]:
        rows.append(r"\intertext{At the point:}" + parts["values"][0])
    body = align(rows)
    if not standalone:
        return body
    doc = [*PREAMBLE, "\\begin{document}", f"\\section*{{The Jacobian ${_title_tex(j)}$}}", body]
    if check_line(j):
        doc.append(text_tex(check_line(j)))
    return "\n".join([*doc, "\\end{document}"]) + "\n"


def render_jacobian_markdown(j: Jacobian) -> str:
    parts = tex_parts_jacobian(j)
    out = [f"### The Jacobian ${_title_tex(j)}$\n", "**Forward pass**\n", aligned(parts["forward"]),
           "**Entries**, by the delta recursion, in node values\n", aligned(parts["entries"])]
    if parts["closed"]:
        out += [f"**Closed form**, {j.closed.where}\n", aligned(parts["closed"])]
    if parts["values"]:
        out += ["**At the point**\n", aligned(parts["values"])]
    if check_line(j):
        out.append(f"**Check**: {check_line(j).removeprefix('Check: ')}\n")
    return "\n".join(out)


def as_dict(j: Jacobian) -> dict:
    def form(e, printer):
        return printer(e.derivation.nested) if writable(e.derivation)[0] else None

    out = {"of": j.of, "wrt": j.wrt, "at": j.point,
           "jacobian": {"of": j.of, "wrt": j.wrt, "values": j.values,
                        "in_node_values": [[form(e, nested_code) for e in row] for row in j.entries],
                        "latex": [[form(e, nested_tex) for e in row] for row in j.entries]},
           "forward": {k: float(f"{v + 0.0:.15g}") for k, v in j.forward.items()}}  # 15 digits, as section 9
    if j.closed is not None:
        out["jacobian"]["closed_form"] = {"text": j.closed.text, "latex": j.closed.tex, "where": j.closed.where,
                                          "entries": [[code(e) for e in row] for row in j.closed.entries],
                                          "values": j.closed.values, "agrees": j.closed.agrees}
    if j.missing:
        out["missing"] = j.missing
    checks = [[e.check for e in row] for row in j.entries]
    if all(c is not None for row in checks for c in row):
        out["check"] = {"agrees": not j.failed, "numeric": [[c.numeric for c in row] for row in checks],
                        "relative_error": max((c.relative_error for row in checks for c in row if not c.kinks),
                                              default=None)}
        kinks = sorted({k for row in checks for c in row for k in c.kinks})
        if kinks:
            out["check"]["not_differentiable"] = kinks
    return out


def render_jacobian_json(j: Jacobian) -> str:
    return dumps(as_dict(j))
