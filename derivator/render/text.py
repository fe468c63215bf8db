"""`--format text`: the worked derivation for a terminal, in the teacher's notation (∂, δ, σ)."""

from __future__ import annotations

import math

from derivator.answers.report import Report
from derivator.render import through_time, time_tables
from derivator.render.steps import Eq, Partial, Work, reduce_text, work
from derivator.symbolic.nested import Prod, Sum
from derivator.symbolic.printing import nested_text, teacher


def partial(p: Partial) -> str:
    return f"∂{p.of}/∂{p.wrt}"


def side(x) -> str:
    return partial(x) if isinstance(x, Partial) else nested_text(x) if not hasattr(x, "free_symbols") else teacher(x)


DIGITS = 9  # significant digits of the values in the text; JSON has 15


def num(x: float) -> str:
    """A value in the text: 9 significant digits, and 0 never signed."""
    return f"{x + 0.0:.{DIGITS}g}"


def constant(x) -> bool:
    """Whether a right-hand side is a number already (δ_O = 1 needs no `= 1` after it)."""
    if isinstance(x, Prod):
        return all(not isinstance(f, Sum) and f.is_Number for f in x.factors)
    return bool(getattr(x, "is_Number", False))


def equation(eq: Eq, indent: str = "  ") -> list[str]:
    lhs = side(eq.lhs)
    lines = [f"{indent}{lhs} = {side(eq.rhs[0])}"]
    lines += [f"{indent}{' ' * len(lhs)} = {side(x)}" for x in eq.rhs[1:]]
    if eq.value is not None and not constant(eq.rhs[-1]):
        lines[-1] += f" = {num(eq.value)}"
    if note(eq):
        lines[0 if note(eq) == "chain rule" else -1] += f"    ({note(eq)})"
    return lines


def note(eq: Eq) -> str:
    """The remark beside an equation: why a step holds."""
    if eq.fused_note:
        return eq.fused_note
    if isinstance(eq.lhs, Partial) and eq.lhs.of.startswith("z_"):
        return f"linear in {eq.lhs.wrt}{constants(eq.constants, nested_text)}"
    if isinstance(eq.lhs, Partial) and "δ" in side(eq.rhs[0]):
        return "chain rule"
    return ""


def notes(w: Work) -> list[str]:
    """The remarks of the deltas and the result, as sentences with their equations (for Markdown)."""
    return [f"{side(eq.lhs)} = {side(eq.rhs[-1] if eq.fused_note else eq.rhs[0])}: {note(eq)}"
            for eq in [*w.deltas, *w.result] if note(eq)]


def constants(rest, printer) -> str:
    """'; the other terms, w16 y1 + w36 y3, are constants' for a ∂z/∂w line."""
    if rest is None:
        return ""
    many = isinstance(rest.factors[0], Sum) if rest.factors else False
    return f"; the other term{'s' * many}, {printer(rest)}, {'are constants' if many else 'is a constant'}"


def forward(w: Work) -> list[str]:
    """z and o side by side, one node a line (a formula node has its value alone), each with its value."""
    cells = [[f"{side(eq.lhs)} = {side(eq.rhs[0])}" + (f" = {num(eq.value)}" if eq.value is not None else "")
              for eq in row] for row in w.forward]
    # Aligned on the z column, but not on a line past 120 characters (a dense layer over a 26x26 map would
    # pad every other line to its 14,000).
    width = max((len(c[0]) for c in cells if len(c) > 1 and len(c[0]) <= ALIGN_UP_TO), default=0)
    return [f"  {c[0].ljust(width)}    {c[1]}" if len(c) > 1 else f"  {c[0]}" for c in cells]


ALIGN_UP_TO = 120


def header(w: Work) -> str:
    """What δ means: ∂target/∂z_v for a neuron, ∂target/∂v for a formula node (which has no z)."""
    of = w.partial.of
    if not w.graph:
        return f"Backward pass (δ_v = ∂{of}/∂z_v):"
    if all(len(row) == 1 for row in w.forward):
        return f"Backward pass (δ_v = ∂{of}/∂v, upstream times local):"
    return f"Backward pass (δ_v = ∂{of}/∂z_v for a neuron, ∂{of}/∂v for a formula node):"


def render_text(r: Report) -> str:
    w = through_time.fold(work(r), r)  # a network unrolled through time: each equation once, at step t
    lhs = partial(w.partial)
    valued = any(eq.value is not None for row in w.forward for eq in row)
    rounded = f" (values to {DIGITS} significant digits; --format json gives 15)" if valued else ""
    lines = [*time_tables.intro(w), f"Forward pass{rounded}:", *forward(w), *loss_lines(w),
             *time_tables.text_tables(w, "forward"), "", "Rules:", *rule_lines(w), ""]
    if w.locals:
        lines += ["Local derivatives (in node values):", *[line for eq in w.locals for line in equation(eq)], ""]
    lines.append(header(w))
    for eq in w.deltas:
        lines += equation(eq)
    lines += [*time_tables.text_tables(w, "deltas"), "", "Result:"]
    for eq in w.result:
        lines += equation(eq)
    lines += [*time_tables.text_tables(w, "result"), *batch_lines(r.derivation.net)]
    if w.too_large:
        lines.append("  (a nested form is too large to write out; the recursion above gives it)")
    if r.samples:
        lines += ["", *average(r, lhs)]
    lines += ["", "In inputs and parameters" + (", for one sample:" if r.samples else ":")]
    if w.expanded is None:
        lines.append("  (too large to write out; see the node-value form above)")
    else:
        lines.append(f"  {lhs} = {teacher(w.expanded)}")
        if w.where:  # shorthands for the parts that repeat, in a letter no network name uses
            lines.append("  where " + "\n        ".join(f"{teacher(s)} = {teacher(e)}" for s, e in w.where))
            lines.append(f"  ({', '.join(teacher(s) for s, _ in w.where[:3])}{', ...' if len(w.where) > 3 else ''} "
                         "name the parts that repeat)")
    lines.append("")
    lines += numbers(r, f"∂J/∂{w.partial.wrt}" if r.samples else lhs)
    if r.candidate is not None:
        lines += ["", *candidate(r, lhs, w)]
    return "\n".join(lines) + "\n"


def batch_lines(net) -> list[str]:
    """A batch-normalised layer's closed form of ∂J/∂z, which the staged pass above computes stage by stage."""
    if net.batch is None:
        return []
    m, out = net.batch.size, []
    for i, _, eps in net.batch.layers:
        out += ["", f"Batch normalisation of layer {i} over the m = {m} samples (loss is J, the "
                f"{'mean' if net.reduction == 'mean' else 'sum'} of the samples' losses); the staged pass through "
                f"zhat{i}_j#s, var{i}_j and mu{i}_j is, in closed form, for unit j of sample s:",
                f"  δ_h{i}_j#s = (gamma{i}_j / (m σ_j)) (m δ_a{i}_j#s - Σₛ δ_a{i}_j#s - zhat{i}_j#s Σₛ δ_a{i}_j#s "
                f"zhat{i}_j#s),  σ_j = sqrt(var{i}_j + {eps})",
                f"  (δ_a{i}_j#s = ∂J/∂ŷ for ŷ = gamma{i}_j zhat{i}_j#s + beta{i}_j; ∂J/∂gamma{i}_j = Σₛ δ_a{i}_j#s "
                f"zhat{i}_j#s, ∂J/∂beta{i}_j = Σₛ δ_a{i}_j#s)"]
    return out


def loss_lines(w: Work) -> list[str]:
    """The loss's equation and its value; with data, each sample's, and J over them."""
    if w.loss is None:
        return []
    line = f"  loss = {side(w.loss.rhs[0])}"
    if w.losses:
        each = ", ".join(f"loss⁽{s}⁾ = {num(x)}" for s, x in enumerate(w.losses, 1))
        return [line, f"  {each}", f"  J = {num(w.target)}"]
    return [line + (f" = {num(w.loss.value)}" if w.loss.value is not None else "")]


def rule_lines(w: Work) -> list[str]:
    """The rules the derivation applies, once, with when each applies; then story 2's answers."""
    width = max(len(r.text) for r in w.rules)
    lines = [f"  {r.text.ljust(width)}    ({r.note})" if r.note else f"  {r.text}" for r in w.rules]
    return lines + [f"  {sentence}" for sentence in w.sentences]


def candidate(r: Report, lhs: str, w: Work) -> list[str]:
    """The learner's answer beside the derivative, the verdict, and what is wrong.

    The derivative is its nested form where that fits the budget (steps.MAX_NESTED_FACTORS), else
    its form in deltas, whose recursion the derivation above prints."""
    v = r.candidate
    width = len("Derivative")
    rows = [("Candidate", v.source, v.value), ("", teacher(v.in_node_values), None),
            ("Derivative", side(w.result[-1].rhs[-1]), v.true_value)]
    lines = [f"{name:<{width}}  {lhs if name else ' ' * len(lhs)} = {text}"
             + (f"    = {val:.12g}" if val is not None else "") for name, text, val in rows]
    if r.samples:
        lines.append("(With data, a candidate is one sample's derivative, without the 1/m; values at sample 1.)")
    lines.append(f"Verdict: the candidate {v.word} ({v.method}).")
    lines += [f"  - {sentence}" for sentence in v.diagnosis]
    return lines


def average(r: Report, lhs: str) -> list[str]:
    """With data: the target is the mean of the loss over the samples, and so is its derivative."""
    d = r.derivation
    over, net = reduce_text(d.net), d.net
    penalty = f" + {net.penalty_text}" if net.penalty != 0 else ""
    extra = f" + {teacher(d.penalty)}" if d.penalty != 0 else ""
    why = "1/m from the average" if net.reduction == "mean" else "a sum, with reduction: sum"
    return [f"Over the data, m = {r.samples} sample{'s' * (r.samples != 1)}: J = {over} {d.of}⁽ˢ⁾{penalty}, so",
            f"  ∂J/∂{d.wrt} = {over} ({lhs})⁽ˢ⁾{extra}    (the result above in sample s's inputs, targets "
            f"and node values; {why}{'; the penalty once' if extra else ''})"]


def numbers(r: Report, lhs: str) -> list[str]:
    if r.value is None:
        return [f"Value: needs {', '.join(r.missing)} (give --at NAME=VALUE)"]
    at = ", ".join(f"{k} = {v:.15g}" for k, v in r.point.items())
    over = f", averaged over the {r.samples} samples of 'data'" if r.samples else ""
    beyond = " (beyond float64's range; the derivative is finite but too large to print as a float)" \
        if math.isinf(r.value) else ""
    lines = [f"At {at}{over}:" if at else "Value:", f"  {lhs} = {r.value:.15g}{beyond}"]
    if r.check is not None:
        lines.append("Check: " + verdict(r.check))
    return lines


def verdict(c) -> str:
    """The check in one line; at a kink there is nothing to compare, and it says so."""
    if getattr(c, "inconclusive", False):
        return f"inconclusive: {c.method}" + (f"; {'; '.join(c.kinks)}" if c.kinks else "")
    numeric = f"{c.method} gives {c.numeric:.15g}"
    if c.kinks:
        return f"{'; '.join(c.kinks)} (the value is PyTorch's convention; {numeric}, which is not comparable)"
    return f"{'agrees' if c.agrees else 'DISAGREES'}: {numeric} (relative error {c.relative_error:.2g})"
