"""`--format markdown`: headings, and the math in `$$` blocks that GitHub and Jupyter render."""

from __future__ import annotations

from derivator.answers.report import Report
from derivator.render import through_time
from derivator.render.breaking import aligned
from derivator.render.latex import average_row, average_text, derivation_rows, partial
from derivator.render.steps import work
from derivator.render.text import notes, verdict
from derivator.symbolic.printing import tex


def render_markdown(r: Report) -> str:
    w = through_time.fold(work(r), r)
    parts = derivation_rows(w, notes=False)  # MathJax does not render $...$ inside \text{}
    out = [f"### The derivative ${partial(w.partial)}$\n", "**Forward pass**\n", aligned(parts["forward"]),
           "**Rules used**\n", *[f"- ${r.tex}$" + (f": {r.note}" if r.note else "") + "\n" for r in w.rules],
           *[f"{sentence}\n" for sentence in w.sentences],
           "**Backward pass** (the deltas $\\delta_v$)\n", aligned(parts["backward"]),
           "**Result**\n", aligned(parts["result"])]
    out += [f"- {note}\n" for note in notes(w)]
    if r.samples:
        weight = "$1/m$" if r.derivation.net.reduction == "mean" else "1"
        out += [f"{average_text(r)}; each sample's derivative enters with weight {weight}:\n",
                aligned([average_row(r)])]
    if parts["expanded"]:
        out += ["**In inputs and parameters**\n", aligned(parts["expanded"])]
    if r.value is not None:
        at = ", ".join(f"`{k} = {v:.15g}`" for k, v in r.point.items())
        over = f", averaged over the {r.samples} samples" if r.samples else ""
        out.append(f"**Value** at {at}{over}: `{r.value:.15g}`\n")
        if r.check is not None:
            out.append(f"**Check**: {verdict(r.check)}\n")
    else:
        out.append(f"**Value**: needs {', '.join(r.missing)} (give `--at NAME=VALUE`)\n")
    if r.candidate is not None:
        v = r.candidate
        value = f" = `{v.value:.12g}`" if v.value is not None else ""
        said = "agrees" if v.agrees else "**inconclusive**" if v.inconclusive else "**does not agree**"
        out += [f"**Candidate** ${tex(v.in_node_values)}${value}: {said} "
                f"({v.method}).\n", *[f"- {sentence}\n" for sentence in v.diagnosis]]
    return "\n".join(out)
