"""Many derivatives of one target (`--wrt all`, or a whole matrix's entries): the recursion, then a table.

Every row is `δ_v o_u` summed over the parameter's uses, from the one backward pass printed above
it, and, when short, the same in node values.
"""

from __future__ import annotations

from derivator.answers.gradient import Gradient, Row
from derivator.render import through_time_all
from derivator.render.breaking import PREAMBLE, align, aligned
from derivator.render.jsonout import dumps, worked_json
from derivator.render.latex import of_tex
from derivator.render.matrixform import values_tex, values_text
from derivator.render.steps import Partial, delta_symbol, recursion, reduce_text
from derivator.render.text import verdict
from derivator.symbolic.nested import ONE, Prod, Sum
from derivator.symbolic.printing import nested_code, nested_tex, nested_text, tex, tex_name


def in_deltas(r: Row) -> Prod:
    """Σ over uses of δ_v o_u (δ_v for a bias), and the penalty's term."""
    terms = [ONE.then(delta_symbol(v), local) if v is not None else ONE.then(local) for v, local in r.uses]
    if not terms:
        return Prod((0,))
    return terms[0] if len(terms) == 1 else Prod((Sum(tuple(terms)),))


def _of(g: Gradient) -> str:
    return "J" if g.samples else g.of


def render_table_text(g: Gradient) -> str:
    lines = [f"Backward pass, once for every derivative below (δ_v = ∂{g.of}/∂z_v"
             + (", per sample" if g.samples else "") + "):"]
    lines += through_time_all.text_lines(g) or [f"  δ_{v} = {nested_text(recursion(step))}"
                                                for v, step in g.steps.items()]
    head = f"∂{_of(g)}/∂p"
    if g.samples:
        over = reduce_text(g.net)
        penalty = f" + {g.net.penalty_text}" if g.net.penalty != 0 else ""
        lines += ["", f"Over the data, m = {g.samples} samples: J = {over} {g.of}⁽ˢ⁾{penalty}, so each derivative "
                  f"below is {over} of its form in sample s's values{', the penalty term once' if penalty else ''}."]
    lines += ["", f"{head} = Σ over the uses of p of δ_v o_u (δ_v for a bias):"]
    rows = []
    for r in g.rows:
        form = through_time_all.row_text(g, r) or nested_text(in_deltas(r))  # through time: Σ_t δ_h@t h@t-1
        if g.printable(r) and nested_text(r.nested) != form and g.net.recurrence is None:
            form += " = " + nested_text(r.nested)
        value = f"{r.value:.15g}" if r.value is not None else ""
        rows.append((r.name, form, value))
    name_w = max(len(a) for a, _, _ in rows)
    form_w = min(64, max(len(b) for _, b, _ in rows))
    lines += [f"  {a.ljust(name_w)}  {b.ljust(form_w)}  {c}".rstrip() for a, b, c in rows]
    lines.append("")
    if g.missing:
        lines.append(f"Values: need {', '.join(g.missing)} (give --at NAME=VALUE)")
        return "\n".join(lines) + "\n"
    at = ", ".join(f"{k} = {v:.15g}" for k, v in g.point.items())
    over = f", averaged over the {g.samples} samples of 'data'" if g.samples else ""
    lines.append(f"Values at {at}{over}." if at else "Values at the point.")
    if g.layout is not None:
        lines += [f"As a matrix, laid out like {g.name}:", *values_text(g.values)]
    lines += check_lines(g)
    return "\n".join(lines) + "\n"


def check_lines(g: Gradient) -> list[str]:
    """Each disagreement and each kink by name; then one line for all the rest."""
    rows = [r for r in g.rows if r.check is not None]
    if not rows:
        return []
    lines = [f"Check {r.name}: {verdict(r.check)}" for r in rows if not r.check.agrees or r.check.kinks]
    chosen = len(rows) + len(g.skipped)
    if chosen < len(g.rows):
        lines.append(f"Check: {chosen} of the {len(g.rows)} derivatives, evenly spaced, are checked; all of "
                     "them would take too long (gradient.MAX_CHECK_WORK)")
    if g.skipped:
        names = ", ".join(g.skipped[:8]) + (f" and {len(g.skipped) - 8} more" if len(g.skipped) > 8 else "")
        lines.append(f"Check: {len(g.skipped)} of them are not checked ({names}): their numerical derivatives "
                     "need more digits than the work cap leaves (gradient.MAX_CHECK_WORK)")
    plain = [r.check for r in rows if r.check.agrees and not r.check.kinks]
    if plain:
        worst = max(plain, key=lambda c: c.relative_error)
        rest = "all" if len(plain) == len(rows) else "the other"
        lines.append(f"Check: {rest} {len(plain)} agree with a numerical derivative (largest relative error "
                     f"{worst.relative_error:.2g})")
    return lines


def as_dict(g: Gradient) -> dict:
    out: dict = {"of": g.of, "wrt": g.name, "at": g.point}
    if g.samples:
        out["samples"] = g.samples
    if g.missing:
        out["missing"] = g.missing
    out["target"] = g.target
    out["gradient"] = {r.name: r.value for r in g.rows}
    out.update(worked_json(g.worked))
    out["entries"] = {r.name: {"in_deltas": nested_code(in_deltas(r)),
                               "in_node_values": nested_code(r.nested) if g.printable(r) else None}
                      for r in g.rows}
    if g.layout is not None:
        known = not g.missing
        of = "J" if g.samples else of_tex(Partial(g.of, g.name))
        out["matrix"] = {"name": g.name, "shape": [len(g.layout), len(g.layout[0])], "values": g.values,
                         "latex": rf"\frac{{\partial {of}}}{{\partial {name_tex(g, g.name)}}} = {values_tex(g.values)}"
                         if known else None}
    checks = [r.check for r in g.rows if r.check is not None]
    if checks:
        out["check"] = {"agrees": all(c.agrees for c in checks),
                        "relative_error": max(c.relative_error for c in checks if not c.kinks) if any(
                            not c.kinks for c in checks) else None,
                        "numeric": {r.name: r.check.numeric for r in g.rows if r.check is not None}}

        if any(c.inconclusive for c in checks):
            out["check"]["inconclusive"] = [r.name for r in g.rows if r.check is not None and r.check.inconclusive]
        kinks = sorted({k for c in checks for k in c.kinks})
        if kinks:
            out["check"]["not_differentiable"] = kinks
    if g.skipped:  # chosen, but their checks would pass gradient.MAX_CHECK_WORK: no verdict on them
        out.setdefault("check", {"agrees": None, "relative_error": None, "numeric": {}})["unchecked"] = g.skipped
    return out


def render_table_json(g: Gradient) -> str:
    return dumps(as_dict(g))


def _rows_tex(g: Gradient) -> list[str]:
    of = "J" if g.samples else of_tex(Partial(g.of, g.name))
    folded = through_time_all.recursion_lines(g)
    rows = [rf"{tex(lhs)} &= {nested_tex(rhs)}" for lhs, rhs, _ in folded] if folded is not None else \
        [rf"\delta_{{{tex_name(v)}}} &= {nested_tex(recursion(step))}" for v, step in g.steps.items()]
    rows[0] = r"\intertext{Backward pass, once for every derivative below:}" + rows[0]
    first = True
    for r in g.rows:
        value = rf" \approx {r.value:.12g}" if r.value is not None else ""
        form = tex(through_time_all.row_form(g, r)) if g.net.recurrence is not None else nested_tex(in_deltas(r))
        if g.samples:  # J averages the loss: each sample's δ_v o_u, in that sample's values
            form = rf"\frac{{1}}{{m}} \sum_{{s=1}}^{{m}} \left({form}\right)^{{(s)}}"
        row = rf"\frac{{\partial {of}}}{{\partial {name_tex(g, r.name)}}} &= {form}{value}"
        rows.append((r"\intertext{Every parameter:}" if first else "") + row)
        first = False
    return rows


def name_tex(g: Gradient, name: str) -> str:
    """W^{[2]} for a whole matrix of a layers file, as the matrix form writes it; else the entry's name."""
    return f"{name[0]}^{{[{name[1:]}]}}" if g.layout is not None and name == g.name else tex_name(name)


def render_table_latex(g: Gradient, standalone: bool = False) -> str:
    rows = _rows_tex(g)
    if g.layout is not None and not g.missing:
        rows.append(rf"\intertext{{As a matrix, laid out like ${name_tex(g, g.name)}$:}}&{values_tex(g.values)}")
    body = align(rows)
    if not standalone:
        return body
    return "\n".join([*PREAMBLE,
                      "\\begin{document}", body, "\\end{document}"]) + "\n"


def render_table_markdown(g: Gradient) -> str:
    rows = [r.replace(r"\intertext", r"\text") for r in _rows_tex(g)]
    out = [f"### Every derivative: {g.name}\n",
           aligned(rows)]
    if g.layout is not None and not g.missing:
        out.append(f"As a matrix: $${values_tex(g.values)}$$\n")
    return "\n".join(out)
