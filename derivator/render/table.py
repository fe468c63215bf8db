"""Several derivatives at once (`--wrt W2`, a whole matrix entry by entry): one row per entry."""

from __future__ import annotations

import json

from ..printing import nested_code, nested_tex, nested_text, tex_name
from ..report import Table
from .latex import of_tex
from .matrixform import values_tex, values_text
from .steps import Partial, writable
from .text import verdict


def _lhs(t: Table, name: str) -> str:
    return f"∂{'J' if t.reports[0].samples else t.reports[0].derivation.of}/∂{name}"


def _form(r) -> str | None:
    fits, _ = writable(r.derivation)
    return nested_text(r.derivation.nested) if fits else None


def render_table_text(t: Table) -> str:
    first = t.reports[0]
    m = first.samples
    head = f"∂{'J' if m else first.derivation.of}/∂{t.name}, entry by entry (each by the delta recursion"
    lines = [head + (f"; J = (1/m) Σₛ {first.derivation.of}⁽ˢ⁾ over m = {m} samples, node values per sample):"
                     if m else "):")]
    rows = [(_lhs(t, r.derivation.wrt), _form(r) or "(too large to write out)", r) for r in t.reports]
    width = max(len(a) for a, _, _ in rows)
    form_width = min(60, max(len(b) for _, b, _ in rows))
    for lhs, form, r in rows:
        value = f"= {r.value:.12g}" if r.value is not None else f"(needs {', '.join(r.missing)})"
        lines.append(f"  {lhs.ljust(width)} = {form.ljust(form_width)}  {value}")
    if all(r.value is not None for r in t.reports):
        lines += ["", f"As a matrix, laid out like {t.name}:", *values_text(t.values)]
    checked = [r.check for r in t.reports if r.check is not None]
    if checked:
        bad = [c for c in checked if not c.agrees]
        worst = max(checked, key=lambda c: c.relative_error)
        lines.append("Check: " + (verdict(bad[0]) if bad else
                                  f"every entry agrees with a numerical derivative (largest relative error "
                                  f"{worst.relative_error:.2g})"))
    return "\n".join(lines) + "\n"


def as_dict(t: Table) -> dict:
    first = t.reports[0]
    out: dict = {"of": first.derivation.of, "wrt": t.name, "at": {k: v for r in t.reports for k, v in r.point.items()}}
    if first.samples:
        out["samples"] = first.samples
    out["gradient"] = {r.derivation.wrt: r.value for r in t.reports}
    known = all(r.value is not None for r in t.reports)
    of = "J" if first.samples else of_tex(Partial(first.derivation.of, t.name))
    out["matrix"] = {"name": t.name, "shape": [len(t.layout), len(t.layout[0])], "values": t.values,
                     "latex": rf"\frac{{\partial {of}}}{{\partial {tex_name(t.name)}}} = {values_tex(t.values)}"
                     if known else None}
    out["entries"] = {r.derivation.wrt: {"in_node_values": nested_code(r.derivation.nested) if _form(r) else None,
                                         "value": r.value} for r in t.reports}
    checked = [r.check for r in t.reports if r.check is not None]
    if checked:
        out["check"] = {"agrees": all(c.agrees for c in checked),
                        "relative_error": max(c.relative_error for c in checked)}
    return out


def render_table_json(t: Table) -> str:
    return json.dumps(as_dict(t), indent=2) + "\n"


def _rows_tex(t: Table) -> list[str]:
    first = t.reports[0]
    of = "J" if first.samples else of_tex(Partial(first.derivation.of, t.name))
    rows: list[str] = []
    for r in t.reports:
        form = nested_tex(r.derivation.nested) if _form(r) else r"\dots"
        value = rf" \approx {r.value:.12g}" if r.value is not None else ""
        rows.append(rf"\frac{{\partial {of}}}{{\partial {tex_name(r.derivation.wrt)}}} &= {form}{value}")
    return rows


def render_table_latex(t: Table, standalone: bool = False) -> str:
    rows = _rows_tex(t)
    if all(r.value is not None for r in t.reports):
        rows.append(rf"\intertext{{As a matrix:}}{tex_name(t.name)} \text{{ entries}} &\to {values_tex(t.values)}")
    body = "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}\n"
    if not standalone:
        return body
    return "\n".join(["\\documentclass{article}", "\\usepackage{amsmath}", "\\allowdisplaybreaks",
                      "\\begin{document}", body, "\\end{document}"]) + "\n"


def render_table_markdown(t: Table) -> str:
    out = [f"### The derivatives with respect to every entry of {t.name}\n",
           "$$\n\\begin{aligned}\n" + " \\\\\n".join(_rows_tex(t)) + "\n\\end{aligned}\n$$\n"]
    if all(r.value is not None for r in t.reports):
        out.append(f"As a matrix: $${values_tex(t.values)}$$\n")
    return "\n".join(out)
