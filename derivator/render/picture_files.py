"""The two writers of `--draw`'s picture (render/picture.layout): SVG, written as text with every label
escaped, and a TikZ `standalone` document whose labels are typeset in math mode.

Both draw the weight labels where render/labels placed them (level, centred on their edge, on a white
ground that hides the line under them), every edge with an arrowhead, each node's value under it and,
when asked, its delta under that.
"""

from __future__ import annotations

import math

from derivator.render import labels
from derivator.symbolic.printing import tex_name

HIGHLIGHT, MUTED = "#c0392b", "#b8b8b8"
MARGIN, RADIUS = 70, 26
WEIGHT, VALUE = 12, 11  # font sizes of a weight label and of a node's value (and delta)
SCALE = 1 / 60  # SVG units to cm


def escape(text: str) -> str:  # xml.sax.saxutils.escape, whose import pulls in urllib: 45 ms
    return text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")


def number(v: float) -> str:
    return f"{v:.4g}"


def below(p, n: str) -> list[tuple[str, str, float]]:
    """The lines under a node: (class, text, baseline below the centre) for its value and its delta."""
    out = [("value", number(p.values[n]), RADIUS + 16)] if n in p.values else []
    if n in p.deltas:
        out.append(("delta", f"δ {number(p.deltas[n])}", RADIUS + 16 + (VALUE + 3) * len(out)))
    return out


def svg(p) -> str:
    width = max(p.width, labels.text_box(0, 0, p.title, 16)[2] * 2 + MARGIN)  # room for the whole title
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{p.height:.0f}" '
           f'viewBox="0 0 {width:.0f} {p.height:.0f}" font-family="sans-serif">',
           f'<title>{escape(p.title)}</title>',
           "<defs>" + "".join(f'<marker id="{name}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="{size}" '
                              f'markerHeight="{size}" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
                              f'fill="{colour}"/></marker>'
                              for name, colour, size in (("strong", HIGHLIGHT, 4), ("muted", MUTED, 7))) + "</defs>",
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{MARGIN / 2:.0f}" y="28" font-size="16">{escape(p.title)}</text>']
    texts = []
    for (src, dst, label, strong), box in sorted(zip(p.edges, p.boxes, strict=True), key=lambda e: e[0][3]):
        (x1, y1), (x2, y2) = p.positions[src], p.positions[dst]
        dx, dy = x2 - x1, y2 - y1
        d = math.hypot(dx, dy) or 1
        a, b = (x1 + dx * RADIUS / d, y1 + dy * RADIUS / d), (x2 - dx * RADIUS / d, y2 - dy * RADIUS / d)
        colour, stroke, kind = (HIGHLIGHT, 3, "strong") if strong else (MUTED, 1.2, "muted")
        out.append(f'<line class="edge{" path" if strong else ""}" data-from="{escape(src)}" data-to="{escape(dst)}" '
                   f'x1="{a[0]:.1f}" y1="{a[1]:.1f}" x2="{b[0]:.1f}" y2="{b[1]:.1f}" stroke="{colour}" '
                   f'stroke-width="{stroke}" marker-end="url(#{kind})"/>')
        if label:  # after every line, so that no line crosses a label
            x, y = (box[0] + box[2]) / 2, labels.baseline((box[1] + box[3]) / 2, WEIGHT)
            x0, y0, x1, y1 = labels.text_box(x, y, label, WEIGHT)
            texts.append(f'<rect x="{x0 - 1:.1f}" y="{y0 - 1:.1f}" width="{x1 - x0 + 2:.1f}" '
                         f'height="{y1 - y0 + 2:.1f}" fill="white" fill-opacity="0.9"/>')  # under the label
            texts.append(f'<text class="weight" data-from="{escape(src)}" data-to="{escape(dst)}" x="{x:.1f}" '
                         f'y="{y:.1f}" font-size="{WEIGHT}" text-anchor="middle" '
                         f'fill="{colour if strong else "#777777"}">{escape(label)}</text>')  # its edge's ends
    out += [_curve(p, *e) for e in p.delayed] + texts
    for n, (x, y) in p.positions.items():
        strong = n in p.marked
        out.append(f'<circle class="node{" path" if strong else ""}" data-name="{escape(n)}" cx="{x:.1f}" '
                   f'cy="{y:.1f}" r="{RADIUS}" fill="{"#fdecea" if strong else "#f4f4f4"}" '
                   f'stroke="{HIGHLIGHT if strong else MUTED}" stroke-width="{2.5 if strong else 1.2}"/>')
        out.append(f'<text class="label" x="{x:.1f}" y="{y + 5:.1f}" font-size="14" text-anchor="middle">'
                   f'{escape(n)}</text>')
        for cls, text, dy in below(p, n):
            out.append(f'<text class="{cls}" x="{x:.1f}" y="{y + dy:.1f}" font-size="{VALUE}" text-anchor="middle" '
                       f'fill="{"#555555" if cls == "value" else HIGHLIGHT}">{escape(text)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _curve(p, src: str, dst: str, label: str, strong: bool) -> str:
    """A delayed edge in SVG: a dashed loop above a node that feeds itself, else a dashed arc over the two."""
    (x1, y1), (x2, y2) = p.positions[src], p.positions[dst]
    colour, stroke = (HIGHLIGHT, 3) if strong else (MUTED, 1.2)
    if src == dst:
        top = y1 - RADIUS - 45
        d, (lx, ly) = (f"M {x1 - 12:.1f} {y1 - RADIUS + 2:.1f} C {x1 - 40:.1f} {top:.1f} {x1 + 40:.1f} {top:.1f} "
                       f"{x1 + 12:.1f} {y1 - RADIUS + 2:.1f}"), (x1, top + 4)
    else:
        mx, my = (x1 + x2) / 2, min(y1, y2) - RADIUS - 50
        d = f"M {x1:.1f} {y1 - RADIUS:.1f} Q {mx:.1f} {my:.1f} {x2:.1f} {y2 - RADIUS:.1f}"
        lx, ly = mx, (my + (y1 + y2) / 2 - RADIUS) / 2 - 4  # the curve's top, halfway to its control point
    return (f'<path class="edge delay{" path" if strong else ""}" data-from="{escape(src)}" data-to="{escape(dst)}" '
            f'd="{d}" fill="none" stroke="{colour}" stroke-width="{stroke}" stroke-dasharray="6 4" '
            f'marker-end="url(#{"strong" if strong else "muted"})"/>\n'
            f'<text class="weight" x="{lx:.1f}" y="{ly:.1f}" font-size="12" text-anchor="middle" '
            f'fill="{colour if strong else "#777777"}">{escape(label)}</text>')


def _math(label: str) -> str:
    """A weight label in math mode: a name as the derivation sets it (w_{x1a}), a number as itself."""
    return f"${tex_name(label) if label[:1].isalpha() else label}$"


def tikz(p) -> str:
    """A `standalone` document: cropped to the picture, so it compiles to a figure with no page around it
    (\\includegraphics), and its tikzpicture can be pasted into notes that load TikZ."""
    title = p.title.replace("∂", r"$\partial$").replace("_", r"\_")
    lines = [r"\documentclass[tikz, border=4pt]{standalone}", r"\usetikzlibrary{arrows.meta}", r"\begin{document}",
             r"\begin{tikzpicture}[x=1cm, y=-1cm, >={Stealth[length=2.2mm]},", r"  every node/.style={font=\small},",
             r"  unit/.style={circle, draw=gray!60, fill=gray!8, minimum size=9mm, inner sep=0pt},",
             r"  marked/.style={circle, draw=red!70!black, very thick, fill=red!8, minimum size=9mm, inner sep=0pt},",
             r"  muted/.style={->, draw=gray!50}, strong/.style={->, draw=red!70!black, very thick},",
             r"  weight/.style={font=\scriptsize, fill=white, inner sep=1pt}]"]
    ids = {n: f"n{i}" for i, n in enumerate(p.positions)}
    for n, (x, y) in p.positions.items():
        style = "marked" if n in p.marked else "unit"
        name = "loss" if n == "loss" else f"${tex_name(n)}$"
        lines.append(rf"  \node[{style}] ({ids[n]}) at ({x * SCALE:.2f}, {y * SCALE:.2f}) {{{name}}};")
        for cls, text, dy in below(p, n):
            text = text.replace("δ ", r"$\delta$ ")
            lines.append(rf"  \node[font=\scriptsize, {'gray' if cls == 'value' else 'red!70!black'}] "
                         rf"at ({x * SCALE:.2f}, {(y + dy - 4) * SCALE:.2f}) {{{text}}};")
    for src, dst, _, strong in sorted(p.edges, key=lambda e: e[3]):
        lines.append(rf"  \draw[{'strong' if strong else 'muted'}] ({ids[src]}) -- ({ids[dst]});")
    for (src, dst, label, _), t in zip(p.edges, p.places, strict=True):  # labels over every line
        if label:
            lines.append(rf"  \path ({ids[src]}.center) -- ({ids[dst]}.center) node[weight, pos={t:.2f}] "
                         rf"{{{_math(label)}}};")
    for src, dst, label, strong in p.delayed:  # from the step before: dashed, a loop or a bend
        path = "to[out=120, in=60, looseness=6]" if src == dst else "to[bend left=40]"
        weight, _, rest = label.partition(" ")
        lines.append(rf"  \draw[{'strong' if strong else 'muted'}, dashed] ({ids[src]}) {path} "
                     rf"node[midway, above, font=\scriptsize] {{{_math(weight)} {rest}}} ({ids[dst]});")
    lines += [rf"  \node[anchor=south west, font=\small] at (current bounding box.north west) {{{title}}};",
              r"\end{tikzpicture}", r"\end{document}"]
    return "\n".join(lines) + "\n"
