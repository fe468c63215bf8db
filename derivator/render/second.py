"""`--wrt A --wrt B`: one second derivative in text, LaTeX, Markdown and JSON (CONTRACT section 8).

The derivation a learner can follow: the first derivative in A as its terms δ_k · local, the
second-order rules that enter, then which factors depend on B and how (the forward-mode lines over the
backward pass, each with its value), the product rule on each term, its value and its check.
"""

from __future__ import annotations

from derivator.answers.display import WRITERS
from derivator.answers.second import WHOLE, Second
from derivator.graph import equations
from derivator.graph.network import symbol
from derivator.render.breaking import PREAMBLE, align, aligned
from derivator.render.jsonout import check_json, dumps, worked_json
from derivator.render.latex import side as side_tex
from derivator.render.latex import text_tex
from derivator.render.steps import Eq, forward_rows
from derivator.render.text import num, side, verdict
from derivator.symbolic.printing import Label, code, teacher, tex, tex_name
from derivator.symbolic.second import Mixed, delta, plus, times

TOO_LARGE = "(too large to write out)"


def title(of: str, a: str, b: str) -> str:
    return f"∂²{of}/∂{a}²" if a == b else f"∂²{of}/∂{a}∂{b}"


def title_tex(of: str, a: str, b: str) -> str:
    top = r"\mathcal{L}" if of == "loss" else tex_name(of)
    low = rf"\partial {tex_name(a)}^{{2}}" if a == b else rf"\partial {tex_name(a)}\,\partial {tex_name(b)}"
    return rf"\frac{{\partial^{{2}} {top}}}{{{low}}}"


def first_terms(m: Mixed):
    """A's first derivative as its terms, δ_k · local, in the plan's order."""
    return plus(*[times(delta(link.node), link.local) for link, _ in m.terms])


def rules_used(m: Mixed) -> list[tuple[str, str, object]]:
    """(where, its LaTeX, rule) for each second-order rule the lines use: f'' of a node, L'' of the loss."""
    out = [(f"f''(z_{v}) for {v}", rf"f''\left({tex_name('z_' + v)}\right) \text{{ for }} {tex_name(v)}", ln.rule)
           for ln in m.tangent.lines if ln.rule is not None for v in [ln.quantity[2:]]]
    net = m.net
    fused = all(o in m.tangent.plan.fused for o in net.outputs)  # then δ = o - y: no L'' enters
    if m.of == "loss" and net.loss.rule is not None and net.loss.rule.second is not None and not fused:
        o, y = net.outputs[0], net.loss.targets[0]
        out.append((f"∂²L/∂{o}² ({net.loss.type})",
                    rf"\frac{{\partial^{{2}} \mathcal{{L}}}}{{\partial {tex_name(o)}^{{2}}}}"
                    rf" \text{{ ({text_tex(net.loss.type)})}}",
                    net.loss.rule.second(symbol(o), y)))
    if m.of == "loss" and net.loss.rule is None:  # softmax cross-entropy, on the outputs o (the logits)
        out.append(("∂²L/∂o_i∂o_j (cross-entropy, p = softmax(o))",
                    r"\frac{\partial^{2} \mathcal{L}}{\partial o_i \partial o_j} \text{ (cross-entropy, } p = "
                    r"\operatorname{softmax}(o)\text{)}",
                    Label("p_i(δ_ij - p_j)", r"p_i\left(\delta_{ij} - p_j\right)")))
    return out


def depends(m: Mixed) -> list[tuple[object, str]]:
    """For each term δ_k · local of A's derivative: which of its factors depend on B."""
    t, out = m.tangent, []
    for link, _ in m.terms:
        d_delta, d_local = t.d("δ_" + link.node) != 0, t.d_expr(link.local) != 0
        local = teacher(link.local)
        parts = [f"δ_{link.node} {'depends' if d_delta else 'does not depend'} on {m.b}"]
        if link.local != 1:
            parts.append(f"{local} {'depends' if d_local else 'does not'}"
                         + (f" (∂{local}/∂{m.b} = {teacher(t.d_expr(link.local))})" if d_local else ""))
        out.append((link, ", ".join(parts) + ("" if d_delta or d_local else ": the term contributes 0")))
    return out


def _forward(s: Second) -> list[list[Eq]]:
    rows = forward_rows(s.net, _upstream(s))
    values = s.worked.forward if s.worked else {}
    for eq in (eq for row in rows for eq in row):
        eq.value = values.get(str(eq.lhs))
    return rows


def _upstream(s: Second) -> set[str]:
    from derivator.graph.order import ancestors
    return ancestors(s.net, s.net.outputs if s.of == "loss" else [s.of])


def render_second_text(s: Second) -> str:
    m, a, b = s.mixed, s.a, s.b
    t = title(s.of, a, b)
    lines = [f"{t}: the derivative of ∂{s.of}/∂{a} with respect to {b}, by the network's structure", "",
             "Forward pass:"]
    for row in _forward(s):
        lines.append("  " + "    ".join(f"{side(eq.lhs)} = {side(eq.rhs[0])}"
                                        + (f" = {num(eq.value)}" if eq.value is not None else "") for eq in row))
    lines += ["", f"First derivative (one term δ_k · local per place {a} enters):",
              f"  ∂{s.of}/∂{a} = {teacher(first_terms(m))}"]
    if s.worked:
        used = sorted({link.node for link, _ in m.terms} | {ln.quantity[2:] for ln in m.tangent.lines
                                                             if ln.quantity.startswith("δ_")})
        lines.append("  with " + ", ".join(f"δ_{v} = {num(s.worked.deltas[v])}" for v in used if v in s.worked.deltas))
    rules = rules_used(m)
    if rules:
        lines += ["", "Second-order rules (in node values):"]
        lines += [f"  {where}: {teacher(rule)}" for where, _, rule in rules]
    lines += ["", f"What depends on {b}, and how (forward mode over the backward pass):"]
    for ln in m.tangent.lines:
        value = f" = {num(s.lines[ln.quantity])}" if ln.quantity in s.lines else ""
        lines.append(f"  {ln.symbol.name} = {teacher(ln.expr)}{value}    ({ln.why})")
    if not m.tangent.lines:
        lines.append(f"  nothing the target reads depends on {b}")
    lines += ["", f"Product rule on each term, ∂(δ_k · local)/∂{b} = ∂δ_k/∂{b} · local + δ_k · ∂local/∂{b}:",
              *[f"  {teacher(times(delta(link.node), link.local))}: {why}" for link, why in depends(m)],
              f"  {t} = {teacher(m.result) if m.terms else '0'}"]
    if m.penalty != 0:
        lines.append(f"     + {teacher(m.penalty)}    (the penalty's second derivative)")
    whole = m.inlined(WHOLE)
    lines.append(f"  In node values: {teacher(whole)}" if whole is not None else f"  In node values {TOO_LARGE}")
    lines.append("")
    if s.missing:
        lines.append(f"Values: need {', '.join(s.missing)} (give --at NAME=VALUE)")
        return "\n".join(lines) + "\n"
    at = ", ".join(f"{k} = {v:.15g}" for k, v in s.point.items())
    lines += [f"At {at}:" if at else "Value:", f"  {t} = {s.value:.15g}"]
    if s.net.samples:
        lines.append(f"  (the {s.net.reduction} over the {len(s.net.samples)} samples of 'data'; the lines above are "
                     "one sample's)")
    if s.check:
        lines.append(f"Check: {verdict(s.check)}")
    return "\n".join(lines) + "\n"


def tex_rows(s: Second) -> dict[str, list[str]]:
    m = s.mixed
    t = title_tex(s.of, s.a, s.b)
    top = r"\mathcal{L}" if s.of == "loss" else tex_name(s.of)
    first = [rf"\frac{{\partial {top}}}{{\partial {tex_name(s.a)}}} &= {tex(first_terms(m))}"]
    rules = [rf"{where} &= {tex(rule)}" for _, where, rule in rules_used(m)]
    lines = [rf"{ln.symbol.latex} &= {tex(ln.expr)}"
             + (rf" = {num(s.lines[ln.quantity])}" if ln.quantity in s.lines else "") for ln in m.tangent.lines]
    result = [rf"{t} &= {tex(m.result) if m.terms else '0'}" + (rf" + {tex(m.penalty)}" if m.penalty != 0 else "")]
    whole = m.inlined(WHOLE)
    if whole is not None:
        result.append(rf"&= {tex(whole)}")
    if s.value is not None:
        result.append(rf"&\approx {num(s.value)}")
    forward = [rf"{side_tex(eq.lhs)} &= {side_tex(eq.rhs[0])}" for row in _forward(s) for eq in row]
    return {"forward": forward, "first": first, "rules": rules, "lines": lines, "result": result}


def _check_sentence(s: Second) -> str | None:
    return f"Check: {verdict(s.check)}" if s.check else None


def render_second_latex(s: Second, standalone: bool = False) -> str:
    p = tex_rows(s)
    rows = [r"\intertext{First derivative:}" + p["first"][0]]
    if p["rules"]:
        rows += [r"\intertext{Second-order rules:}" + p["rules"][0], *p["rules"][1:]]
    if p["lines"]:
        rows += [rf"\intertext{{What depends on ${tex_name(s.b)}$:}}" + p["lines"][0], *p["lines"][1:]]
    rows += [r"\intertext{Product rule on each term:}" + p["result"][0], *p["result"][1:]]
    body = align(rows)
    if not standalone:
        return body
    doc = [*PREAMBLE, "\\begin{document}", f"\\section*{{The second derivative ${title_tex(s.of, s.a, s.b)}$}}",
           align(p["forward"]) if p["forward"] else "", body]
    if _check_sentence(s):
        doc.append(text_tex(_check_sentence(s)))
    return "\n".join([*doc, "\\end{document}"]) + "\n"


def render_second_markdown(s: Second) -> str:
    p = tex_rows(s)
    out = [f"### The second derivative ${title_tex(s.of, s.a, s.b)}$\n", "**First derivative**\n", aligned(p["first"])]
    if p["rules"]:
        out += ["**Second-order rules**, in node values\n", aligned(p["rules"])]
    if p["lines"]:
        out += [f"**What depends on ${tex_name(s.b)}$**, forward mode over the backward pass\n", aligned(p["lines"])]
    out += ["**Product rule on each term**\n", aligned(p["result"])]
    if _check_sentence(s):
        out.append(f"**Check**: {_check_sentence(s).removeprefix('Check: ')}\n")
    return "\n".join(out)


def as_dict(s: Second) -> dict:
    m = s.mixed
    whole = m.inlined(WHOLE)
    expanded = None
    if whole is not None and not s.net.samples:
        e = equations.expand(whole, equations.forward(s.net))
        expanded = e if equations.tree_size(e) <= WHOLE else None
    out: dict = {
        "of": s.of, "wrt": [s.a, s.b],
        "derivative": {"text": code(expanded) if expanded is not None else None,
                       "latex": tex(expanded) if expanded is not None else None},
        "in_node_values": {"text": code(whole) if whole is not None else None,
                           "latex": tex(whole) if whole is not None else None},
        "first_derivative": code(first_terms(m)),
        "second_order": {"lines": {ln.symbol.name: code(ln.expr) for ln in m.tangent.lines},
                         "result": code(m.result) if m.terms else "0",
                         "line_values": s.lines},
        "at": s.point, "value": s.value,
    }
    if s.worked:
        out.update(worked_json(s.worked, {link.node for link, _ in m.terms}))
    if s.net.samples:
        out["samples"] = len(s.net.samples)
    if s.missing:
        out["missing"] = s.missing
    if s.check is not None:
        out["check"] = check_json(s.check)
    return out


def render_second_json(s: Second) -> str:
    return dumps(as_dict(s))


def second_latex(s: Second) -> str:
    """For Jupyter's `_repr_latex_`: every row of the derivation in one aligned block."""
    from derivator.render.notebook import aligned as mathjax
    return mathjax([r for part in tex_rows(s).values() for r in part])


WRITERS.update({("Second", "markdown"): render_second_markdown, ("Second", "latex"): second_latex})
