"""The explorer page's pieces: one derivation (the worked example, in MathML), the forward pass, the matrix form.

The same `Work` that the text and LaTeX writers print (render/steps.py), folded through time where the
network has steps; the remarks are text.py's. Every name and number is escaped on its way in.
"""

from __future__ import annotations

import math
from xml.sax.saxutils import escape, quoteattr

from derivator.answers.report import Report
from derivator.errors import DerivatorError
from derivator.render import mathml as m
from derivator.render import through_time, time_tables
from derivator.render.steps import Eq, Partial, work
from derivator.render.text import constant, note, side, verdict
from derivator.symbolic.printing import teacher

LONG_EXPANDED = 3000  # characters of the expanded form's text: past this it is left to the node-value form


def _side(x) -> str:
    if isinstance(x, Partial):
        return m.partial(x.of, x.wrt)
    try:
        return m.expr(x)
    except Exception:  # a form SymPy's MathML printer does not know (a sum over steps): its text, escaped
        return f"<mtext>{escape(side(x))}</mtext>"


def equation(eq: Eq) -> str:
    parts = [_side(eq.lhs), *[f"<mo>=</mo>{_side(x)}" for x in eq.rhs]]
    if eq.value is not None and not constant(eq.rhs[-1]) and math.isfinite(eq.value):
        parts.append(f"<mo>=</mo>{m.number(eq.value)}")
    why = note(eq)
    remark = f'<span class="why">({escape(why)})</span>' if why else ""
    return f'<div class="eq">{m.math("<mrow>" + "".join(parts) + "</mrow>")}{remark}</div>'


def _pre(lines: list[str]) -> str:
    return f"<pre>{escape(chr(10).join(lines))}</pre>" if lines else ""


def derivation(r: Report) -> str:
    """One name's section: deltas, local derivatives, result, value, check, and the candidate if given."""
    d = r.derivation
    w = through_time.fold(work(r), r)
    target = "J" if r.samples else d.of
    value = "" if r.value is None or not math.isfinite(r.value) else repr(float(r.value))
    head = m.math(f"<mrow>{m.partial(target, d.wrt)}<mo>=</mo>"
                  + (m.number(r.value, 15) if value else "<mtext>?</mtext>") + "</mrow>", block=False)
    out = [f'<section class="derivation" data-wrt={quoteattr(d.wrt)} data-value={quoteattr(value)} hidden>',
           f"<h2>{head}</h2>", f'<p class="value">∂{escape(target)}/∂{escape(d.wrt)} = '
           f'<span class="number">{escape(f"{r.value:.15g}") if r.value is not None else "unknown"}</span></p>']
    intro = time_tables.intro(w)
    if intro:
        out.append(f"<p>{escape(' '.join(intro))}</p>")
    out.append("<h3>Rules</h3><ul>" + "".join(
        f"<li>{escape(rule.text)}{(' — ' + escape(rule.note)) if rule.note else ''}</li>" for rule in w.rules)
        + "".join(f"<li>{escape(s)}</li>" for s in w.sentences) + "</ul>")
    if w.locals:
        out += ["<h3>Local derivatives</h3>", *[equation(eq) for eq in w.locals]]
    out += [f"<h3>Backward pass (δ: ∂{escape(d.of)}/∂z of each node on a path)</h3>",
            *[equation(eq) for eq in w.deltas], _pre(time_tables.text_tables(w, "deltas")),
            "<h3>Result</h3>", *[equation(eq) for eq in w.result], _pre(time_tables.text_tables(w, "result"))]
    if w.too_large:
        out.append("<p>(a nested form is too large to write out; the recursion above gives it)</p>")
    if w.expanded is not None and not w.where and len(str(w.expanded)) <= LONG_EXPANDED:
        out += ["<h3>In inputs and parameters" + (", for one sample" if r.samples else "") + "</h3>",
                equation(Eq(w.partial, [w.expanded]))]
    if r.samples:
        out.append(f"<p>Over the data, m = {r.samples} samples: the value is the mean of each sample's.</p>")
    if r.check is not None:
        out.append(f'<p class="check">Check: {escape(verdict(r.check))}</p>')
    if r.candidate is not None:
        out.append(_candidate(r))
    out.append("</section>")
    return "\n".join(x for x in out if x)


def _candidate(r: Report) -> str:
    v = r.candidate
    word = "agrees" if v.agrees else ("inconclusive" if v.inconclusive else "disagrees")
    rows = [f"<p>Candidate: <code>{escape(v.source)}</code>"
            + (f" = {escape(f'{v.value:.12g}')}" if v.value is not None else "") + "</p>"]
    if v.in_node_values is not None:
        try:
            rows.append(f'<div class="eq">{m.math(m.expr(v.in_node_values))}</div>')
        except Exception:  # as in _side
            rows.append(f"<pre>{escape(teacher(v.in_node_values))}</pre>")
    if v.true_value is not None:
        rows.append(f"<p>Derivative = {escape(f'{v.true_value:.12g}')}</p>")
    rows.append(f'<p class="verdict {word}">Verdict: the candidate {escape(v.word)} ({escape(v.method)}).</p>')
    rows += [f"<ul>{''.join(f'<li>{escape(s)}</li>' for s in v.diagnosis)}</ul>"] if v.diagnosis else []
    return f'<div class="candidate" data-agrees="{str(v.agrees).lower()}">{"".join(rows)}</div>'


def forward(first: Report | None, net, of: str) -> str:
    """The forward pass once for the page (every derivation shares it), with each value."""
    if first is None:
        return ""
    w = through_time.fold(work(first), first)
    rows = [equation(eq) for row in w.forward for eq in row]
    if w.loss is not None:
        rows.append(equation(w.loss))
    one = " (sample 1 of the data; each sample has its own)" if first.samples else ""
    return (f'<section id="forward"><h2>Forward pass{one}</h2>' + "\n".join(rows)
            + _pre(time_tables.text_tables(w, "forward")) + "</section>")


def matrices(net, of: str) -> str:
    """A layers file: each weight matrix and bias in matrix form (the text writer's form), below the drawing."""
    if not net.layers or of != "loss":
        return ""
    from derivator.answers import matrix_form
    from derivator.render.matrixform import render_matrix_text
    out = []
    for name in net.matrices():
        try:
            out.append(f"<h3>{escape(name)}</h3><pre>{escape(render_matrix_text(matrix_form.matrix_form(net, name)))}"
                       "</pre>")
        except DerivatorError as e:
            out.append(f"<h3>{escape(name)}</h3><p>{escape(e.message)}</p>")
    return f'<section id="matrices"><h2>Matrix form</h2>{"".join(out)}</section>' if out else ""
