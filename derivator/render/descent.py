"""`--step RATE` in every format: the table of old value, derivative and new value, then the target
before and after the step, added to what the format writes for the answer itself."""

from __future__ import annotations

import json

from derivator.answers.descent import Descent
from derivator.render.jsonout import dumps
from derivator.symbolic.printing import tex_name


def _num(x: float | None) -> str:
    return "—" if x is None else f"{x:.10g}"


def text_step(body: str, s: Descent) -> str:
    of = s.of
    width = max(len(n) for n, *_ in s.rows)
    head = f"One step of gradient descent, rate η = {s.rate:g}: p ← p - η ∂{of}/∂p"
    rows = [f"  {'p':<{width}}  {'old':>16}  {f'∂{of}/∂p':>16}  {'new':>16}"]
    rows += [f"  {n:<{width}}  {_num(old):>16}  {_num(d):>16}  {_num(new):>16}" for n, old, d, new in s.rows]
    return body + "\n" + "\n".join([head, *rows, f"{of}: {_num(s.target_before)} before the step, "
                                    f"{_num(s.target_after)} after"]) + "\n"


def markdown_step(body: str, s: Descent) -> str:
    of = s.of
    rows = [f"| ${tex_name(n)}$ | {_num(old)} | {_num(d)} | {_num(new)} |" for n, old, d, new in s.rows]
    return body + "\n".join([
        "", f"### One step of gradient descent ($\\eta = {s.rate:g}$)", "",
        rf"$p \leftarrow p - \eta\, \partial {of_tex(of)} / \partial p$", "",
        f"| $p$ | old | $\\partial {of_tex(of)}/\\partial p$ | new |", "|---|---|---|---|", *rows, "",
        f"The target is {_num(s.target_before)} before the step and {_num(s.target_after)} after it.", ""])


def latex_step(body: str, s: Descent) -> str:
    of = s.of
    rows = " \\\\\n".join(f"${tex_name(n)}$ & {_num(old)} & {_num(d)} & {_num(new)}" for n, old, d, new in s.rows)
    part = (f"\n\\paragraph{{One step of gradient descent}} With $\\eta = {s.rate:g}$, "
            f"$p \\leftarrow p - \\eta\\, \\partial {of_tex(of)} / \\partial p$:\n\n"
            "\\begin{tabular}{lrrr}\n"
            f"$p$ & old & $\\partial {of_tex(of)} / \\partial p$ & new \\\\ \\hline\n{rows}\n\\end{{tabular}}\n\n"
            f"The target is {_num(s.target_before)} before the step and {_num(s.target_after)} after it.\n")
    end = "\\end{document}"
    return body.replace(end, part + end) if end in body else body + part


def json_step(body: str, s: Descent) -> str:
    out = json.loads(body)
    out["step"] = {"rate": s.rate, "parameters": s.parameters, "target_before": s.target_before,
                   "target_after": s.target_after}
    return dumps(out)


def of_tex(of: str) -> str:
    return r"\mathcal{L}" if of == "loss" else tex_name(of)


WRITERS = {"text": text_step, "markdown": markdown_step, "latex": latex_step, "json": json_step}
