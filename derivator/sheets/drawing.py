"""A variant's network as a TikZ picture for the exercise sheet: nodes by depth, every weight named.

The placement is `--draw`'s (render/picture.layout); the labels are the sheet's own: names in math
mode (`w_{1}`), each node's bias under it, and no values or marked paths, which would give the answer
away. Weight labels sit above their edge, near its start where there is room (the edges leaving one
node have fanned out there), further along where that place is taken by a node or another label.
"""

from __future__ import annotations

from collections import Counter

from derivator.graph.network import Network
from derivator.render.labels import CHAR, LINE, place, visible
from derivator.render.picture import layout
from derivator.symbolic.printing import tex, tex_name

SCALE = 1 / 60  # the layout's units to cm
NODE = 0.5  # cm: half a unit's circle (9 mm across) and a little room
STRETCH = 1.4  # rows this much further apart when a column has more than two nodes
MAX_WIDTH = 12.0  # cm: the picture is scaled down to fit the text width


def tikz(net: Network, of: str) -> str:
    """The tikzpicture environment (the document loads TikZ and its arrows.meta library)."""
    wrt = net.params[0] if net.params else net.inputs[0]
    p = layout(net, wrt, of)
    columns = Counter(x for x, _ in p.positions.values())
    if max(columns.values()) > 2:  # more room between the rows, where the edges of dense layers cross
        p.positions = {n: (x, y * STRETCH) for n, (x, y) in p.positions.items()}
    xs = [x for x, _ in p.positions.values()]
    width = (max(xs) - min(xs)) * SCALE or 1
    scale = min(1.0, MAX_WIDTH / width)
    lines = [rf"\begin{{tikzpicture}}[x={scale:.3f}cm, y=-{scale:.3f}cm, >={{Stealth[length=2mm]}},",
             r"  unit/.style={circle, draw, minimum size=9mm, inner sep=0pt},",
             r"  given/.style={circle, draw, fill=gray!12, minimum size=9mm, inner sep=0pt},",
             r"  target/.style={rectangle, draw, rounded corners, minimum size=8mm},",
             r"  weight/.style={font=\scriptsize, fill=white, inner sep=1pt}]"]
    ids = {n: f"n{i}" for i, n in enumerate(p.positions)}
    for n, (x, y) in p.positions.items():
        style = "target" if n == "loss" else "given" if n in net.inputs else "unit"
        label = r"$\mathcal{L}$" if n == "loss" else f"${tex_name(n)}$"
        lines.append(rf"  \node[{style}] ({ids[n]}) at ({x * SCALE:.2f}, {y * SCALE:.2f}) {{{label}}};")
        bias = net.nodes[n].bias if n in net.nodes else 0
        if bias != 0:
            lines.append(rf"  \node[font=\scriptsize, below=1pt of {ids[n]}] {{$+{tex(bias)}$}};")
    for (src, dst, label, _), pos in zip(p.edges, _places(p, scale), strict=True):
        text = ""
        if label:
            text = rf" node[weight, pos={pos:.2f}, sloped, above] {{${tex_name(label) if _is_name(label) else label}$}}"
        lines.append(rf"  \draw[->] ({ids[src]}) -- ({ids[dst]}){text};")
    lines.append(r"\end{tikzpicture}")
    return "\n".join(lines) + "\n"


def _places(p, scale: float) -> list[float]:
    """Where along its edge each weight label sits (0 at the source, 1 at the target), as render/labels places
    them: boxes rotated with the edge, as `sloped` sets it."""
    unit = SCALE * scale  # cm per layout unit
    return place(p.positions, p.edges, NODE / unit, lambda label: (CHAR * visible(label) / unit, LINE / unit))[0]


def _is_name(label: str) -> bool:
    return label[:1].isalpha()
