"""`--format html`: the explorer page. One self-contained file: the drawing, every derivation, a fixed script.

The page fetches nothing: the math is MathML (typeset by the browser), the script and style are
inline and pinned by their hashes in a Content-Security-Policy that allows nothing else. Nothing
from the file reaches a script: names and numbers are escaped into the markup, and what the script
needs (which edges light up for which name) sits in a `<script type="application/json">` block,
escaped so that no `</script>` can end it early, read by the one fixed script shipped with the package.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from importlib import resources
from xml.sax.saxutils import escape, quoteattr

from derivator.answers.gradient import Gradient
from derivator.answers.report import Report, report
from derivator.errors import DerivatorError
from derivator.render import mathml as m
from derivator.render import picture
from derivator.render.html_parts import derivation, forward, matrices
from derivator.symbolic.derive import backward

# Past this many parameters and nodes, the page holds only the derivations on the marked paths of
# --wrt (and says so); past PAGE_BUDGET characters of derivations it stops adding them, and says so.
MAX_ALL = 60
MAX_SHOWN = 40
PAGE_BUDGET = 2_500_000


def _asset(name: str) -> str:
    return resources.files("derivator.render").joinpath(name).read_text(encoding="utf-8")


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def data_block(data: dict) -> str:
    """JSON in a non-executed script element: `<`, `>` and `&` as escapes, so the text cannot close it."""
    text = json.dumps(data, allow_nan=False, ensure_ascii=True)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" id="explorer-data">{text}</script>'


def paths(net, name: str, of: str) -> dict:
    """The edges (as 'from→to') and nodes on the paths from `name` to the target, as the drawing marks them."""
    p = picture.layout(net, name, of)
    return {"edges": [f"{a}\u2192{b}" for a, b, _, strong in [*p.edges, *p.delayed] if strong],
            "nodes": sorted(p.marked), "title": p.title}


def edge_names(net) -> dict[str, str]:
    """Which parameter a click on an edge shows: the edge's weight, when it is a parameter by name."""
    out = {}
    for e in net.edges:
        w = str(e.weight)
        if w in net.params:
            out[f"{e.src}\u2192{e.dst}"] = w
    for e in (net.recurrence.delayed if net.recurrence is not None else []):
        if str(e.weight) in net.params:
            out[f"{e.src}\u2192{e.dst}"] = str(e.weight)
    return out


def _choose(net, focus: str, of: str) -> tuple[list[str], str]:
    """The names whose derivation the page holds, and a sentence when that is not all of them."""
    everything = [*net.params, *[n for n in net.nodes if not net.samples]]
    if net.recurrence is not None:  # the nodes of each step are h@1, h@2, ...: the parameters carry the story
        everything = list(net.params)
    if len(everything) <= MAX_ALL:
        return everything, ""
    marked = paths(net, focus, of)
    on_path = set(marked["nodes"]) | {w for k, w in edge_names(net).items() if k in marked["edges"]}
    reached = {k.split("\u2192")[1] for k in marked["edges"]}  # the nodes a change reaches: their biases too
    on_path |= {str(net.nodes[n].bias) for n in reached if n in net.nodes}
    chosen = [focus, *[n for n in everything if n in on_path and n != focus]][:MAX_SHOWN]
    return chosen, (f"This network has {len(everything)} parameters and nodes: the page holds the derivations of "
                    f"{len(chosen)} of them, on the marked paths of {focus} "
                    "(run derive with another --wrt for others).")


def render_html(answer) -> str:
    if isinstance(answer, Gradient):
        net, of, at = answer.net, answer.of, dict(answer.point)
        focus = answer.rows[0].name if answer.rows else (net.params[0] if net.params else next(iter(net.nodes)))
        first = None
    else:
        d = answer.derivation
        net, of, at, focus, first = d.net, d.of, dict(answer.given), d.wrt, answer
    names, notice = _choose(net, focus, of)
    if focus not in names:
        names = [focus, *names]
    shared = backward(net, of)
    sections, data_paths, budget, cut = [], {}, PAGE_BUDGET, 0
    for n in names:
        if budget <= 0:
            cut += 1
            continue
        try:
            r = first if (first is not None and n == focus) else report(net, n, of, at, pass_=shared)
        except DerivatorError as e:
            sections.append(_unavailable(n, e.message))
            continue
        html = derivation(r)
        budget -= len(html)
        sections.append(html)
        data_paths[n] = paths(net, n, of)
    if cut:
        notice += f" The page's size is bounded: {cut} derivation{'s' * (cut != 1)} left out."
    values = picture.node_values(net, of, _point(net, at))
    drawn = picture.layout(net, focus, of, values)
    picture.place_labels(drawn)  # the weights' labels apart, as --draw places them
    drawing = picture.svg(drawn)
    data = {"focus": focus, "paths": data_paths, "edges": edge_names(net)}
    return page(net, of, focus, drawing, sections, data, notice.strip(), first)


def _point(net, at):
    from derivator.numbers import checking
    try:
        return checking.point(net, at)
    except DerivatorError:
        return {}


def _unavailable(n: str, why: str) -> str:
    return (f'<section class="derivation" data-wrt={quoteattr(n)} hidden><h2>{escape(n)}</h2>'
            f"<p>No derivation: {escape(why)}</p></section>")


def page(net, of, focus, drawing, sections, data, notice, first: Report | None) -> str:
    script, style = _asset("explorer.js"), _asset("explorer.css")
    csp = (f"default-src 'none'; script-src {_hash(script)}; style-src {_hash(style)}; img-src 'none'; "
           "base-uri 'none'; form-action 'none'")
    target = "the loss" if of == "loss" else of
    index = "".join(f'<button type="button" data-show={quoteattr(n)}>{escape(n)}</button>' for n in data["paths"])
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content={quoteattr(csp)}>',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{escape('derivator: ∂' + of + ' — explorer')}</title>", f"<style>{style}</style></head><body>",
        f"<header><h1>Derivatives of {escape(target)}</h1><p>Click a weight (an edge) or a node: its paths "
        f"to {escape(target)} light up and its derivation is shown. Or choose a name:</p>"
        f'<nav id="index">{index}</nav></header>',
        f'<p class="notice" id="notice">{escape(notice)}</p>' if notice else "",
        f'<p id="current">{escape(data["paths"].get(focus, {}).get("title", ""))}</p>',
        f'<div id="network">{drawing}</div>',
        '<p id="none" hidden></p>',
        '<main id="derivations">', *sections, "</main>",
        forward(first, net, of), matrices(net, of),
        data_block(data), f"<script>{script}</script>", "</body></html>"]
    return "\n".join(p for p in parts if p) + "\n"


def finite(x) -> str:
    return repr(float(x)) if x is not None and math.isfinite(x) else ""


__all__ = ["m", "render_html"]
