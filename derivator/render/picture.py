"""`--draw`: the network in layers by depth, with the paths from `--wrt` to the target marked.

One layout (`layout`) serves two writers: SVG, written as text (every label escaped), and TikZ for
LaTeX notes. Inputs stand on the left, each node one column right of its deepest parent, and the
loss, when it is the target, on the right. The edges where `--wrt` enters and every edge on a path
from there to the target are drawn strong; the rest are muted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from derivator.graph import order
from derivator.graph.network import Network
from derivator.graph.plan import plan
from derivator.graph.timesteps import at, base, step
from derivator.render import grid_picture, notation
from derivator.render.output import Outputs, write_now

HIGHLIGHT, MUTED = "#c0392b", "#b8b8b8"
COLUMN, ROW, MARGIN, RADIUS = 170, 90, 70, 26


@dataclass
class Picture:
    positions: dict[str, tuple[float, float]]  # node -> (x, y), y down, in SVG units
    edges: list[tuple[str, str, str, bool]]  # (from, to, label, on a path)
    marked: set[str]  # nodes on a path (and where wrt enters)
    values: dict[str, float]  # node values at the point, where known
    title: str
    width: float
    height: float
    delayed: list[tuple[str, str, str, bool]] = field(default_factory=list)  # edges from the previous step


@dataclass
class Drawing:
    """What `--draw` asked for: the file, and for a network through time whether to draw it unrolled."""

    path: str
    unrolled: bool = False


def layout(net: Network, wrt: str, of: str, values: dict[str, float] | None = None,
           keep: set[str] | frozenset = frozenset(), unrolled: bool = False) -> Picture:
    """Columns by depth, rows centred; the marked paths from `wrt` to the target (`keep`: nodes shown too).
    Through time, the folded network (each node once, delayed edges dashed), or with `unrolled` every
    step's copy (h@1, h@2, ...) as a network of its own."""
    if net.recurrence is not None and not unrolled:
        return _folded(net, wrt, of)
    depth = _step_columns(net) if net.recurrence is not None else _depths(net)
    arrows = _arrows(net)
    sinks = net.outputs if of == "loss" else [of]
    shown = [*net.inputs, *[n for n in net.nodes if n in order.ancestors(net, sinks) or n in keep]]
    columns: dict[int, list[str]] = {}
    for n in shown:
        columns.setdefault(depth[n], []).append(n)
    if of == "loss":
        columns[max(columns) + 1] = ["loss"]
    tallest = max(len(c) for c in columns.values())
    height = 2 * MARGIN + (tallest - 1) * ROW + 40
    positions = {}
    for col, names in columns.items():
        top = MARGIN + 40 + (tallest - len(names)) * ROW / 2
        for i, n in enumerate(names):
            positions[n] = (MARGIN + col * COLUMN, top + i * ROW)
    if any(lay.kind != "dense" for lay in net.layers):  # grids drawn as grids (CONTRACT section 7)
        positions = grid_picture.positions(net, set(shown), of, MARGIN, MARGIN + 40)
        arrows = [(a, b, "") for a, b, _ in arrows]  # hundreds of weights: the title names what the edges carry
        columns = {int((max(x for x, _ in positions.values()) - MARGIN) / COLUMN): []}
    else:
        _clear(positions, [(a, b) for a, b, _ in arrows if a in positions and b in positions]
               + ([(o, "loss") for o in net.outputs] if of == "loss" else []))
    height = max(height, max(y for _, y in positions.values()) + MARGIN)
    starts, entry = _entry(net, wrt, of)
    on_path = order.between(net, starts, sinks)
    edges = []
    for a, b, label in arrows:
        if a in positions and b in positions:
            strong = b in on_path and (a in on_path or (a, b) in entry)
            edges.append((a, b, label, strong))
    if of == "loss":
        edges += [(o, "loss", "", o in on_path) for o in net.outputs]
    marked = on_path | ({"loss"} if of == "loss" and on_path else set()) | {s for s, _ in entry}
    title = f"∂{of}/∂{wrt}: the paths from {wrt} to the {'loss' if of == 'loss' else 'target ' + of}" + \
        grid_picture.caption(net)
    width = max(2 * MARGIN + max(columns) * COLUMN, max(x for x, _ in positions.values()) + MARGIN)
    return Picture(positions, edges, marked, values or {}, title, width, height)


def _depths(net: Network) -> dict[str, int]:
    depth = {x: 0 for x in net.inputs}
    for n in net.nodes:  # topological order: every parent is placed first
        depth[n] = 1 + max((depth[s] for s in net.sources[n]), default=0)
    return depth


def _step_columns(net: Network) -> dict[str, int]:
    """Unrolled, each step a block of columns, left to right, laid out as the folded network is; the
    initial states (h@0) in a column before the first step."""
    folded = _depths(net.recurrence.folded)
    block = max(folded.values()) + 1
    return {n: 0 if step(n) == 0 else 1 + (step(n) - 1) * block + folded[base(n)] for n in [*net.inputs, *net.nodes]}


def _folded(net: Network, wrt: str, of: str) -> Picture:
    """A network unrolled through time drawn as the file writes it, folded: each node once, the delayed edges
    dashed and curved ("delay 1"), marked where some step's copy is on a path from `wrt` to the target."""
    rec = net.recurrence
    sinks = net.outputs if of == "loss" else [of]
    p = layout(rec.folded, base(wrt), base(of), {}, {base(n) for n in order.ancestors(net, sinks)})
    starts, entry = _entry(net, wrt, of)
    on_path = order.between(net, starts, sinks)
    steps = range(1, rec.steps + 1)

    def strong(a: str, b: str, delay: int) -> bool:
        return any(at(b, t) in on_path and (at(a, t - delay) in on_path or (at(a, t - delay), at(b, t)) in entry)
                   for t in steps)

    p.edges = [(a, b, label, any(at(a, t) in on_path for t in steps) if b == "loss" else strong(a, b, 0))
               for a, b, label, _ in p.edges]
    p.delayed = [(e.src, e.dst, f"{e.weight} (delay 1)", strong(e.src, e.dst, 1)) for e in rec.delayed]
    p.marked = {base(n) for n in on_path | set(starts) | {s for s, _ in entry}}
    p.marked |= {"loss"} if of == "loss" and on_path else set()
    p.title = (f"∂{of}/∂{wrt}: the paths from {wrt} to the {'loss' if of == 'loss' else 'target ' + of} "
               f"({rec.steps} steps; dashed: delay 1)")
    return p


def _clear(positions: dict[str, tuple[float, float]], edges: list[tuple[str, str]]) -> None:
    """Move a node down by half a row while an edge that skips a column runs through it (a skip connection
    drawn over the node it skips); a few rounds are enough for the networks people draw."""
    for _ in range(4):
        moved = False
        for a, b in edges:
            (x1, y1), (x2, y2) = positions[a], positions[b]
            for n, (x, y) in positions.items():
                if n in (a, b) or not x1 < x < x2:
                    continue
                t = (x - x1) / (x2 - x1)
                if abs(y1 + t * (y2 - y1) - y) < RADIUS * 1.2:
                    positions[n] = (x, y + ROW / 2)
                    moved = True
        if not moved:
            return


def _arrows(net: Network) -> list[tuple[str, str, str]]:
    """What reads what: each edge with its weight, and each formula node's parents (unlabelled)."""
    arrows = [(e.src, e.dst, str(e.weight)) for e in net.edges]
    return arrows + [(s, n, "") for n, node in net.nodes.items() if node.is_formula for s in net.sources[n]]


def _entry(net: Network, wrt: str, of: str) -> tuple[list[str], set[tuple[str, str]]]:
    """Where a change in `wrt` first arrives (nodes), and the arrows that carry it there, as the plan says."""
    kind = net.kind(wrt)
    if kind in ("node", "preactivation"):
        return [wrt.removeprefix("z_") if kind == "preactivation" else wrt], set()
    links = plan(net, of).links.get(wrt, [])
    arrows = {(link.source, link.node) for link in links if link.source is not None}
    if kind == "input":
        arrows |= {(wrt, link.node) for link in links}
    return [link.node for link in links] + ([wrt] if kind == "input" else []), arrows


def node_values(net: Network, of: str, values: dict[str, float]) -> dict[str, float]:
    """Each node's value at the point, for the labels; none when the point is incomplete or has data."""
    from derivator.numbers import sweep
    if net.samples:
        return {}
    c = sweep.compiled(net, of)
    try:
        state = c.forward(values, target=of == "loss")
    except (KeyError, ArithmeticError, ValueError):
        return {}
    out = {n: state.o[c.index[n]] for n in net.nodes if state.o[c.index[n]] is not None}
    out.update({x: values[x] for x in net.inputs if x in values})
    if of == "loss" and state.target is not None:
        out["loss"] = state.target
    return out


def write(net: Network, wrt: str, of: str, values: dict[str, float], path: str, files: Outputs | None = None,
          unrolled: bool = False) -> None:
    """The picture to `path`: SVG for .svg, a TikZ document for .tex; into `files` (renamed into place when
    the run succeeds), or at once, through a temporary file either way."""
    from derivator.errors import DerivatorError
    kind = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    if kind not in ("svg", "tex"):
        raise DerivatorError(f"--draw {path}: the name must end in .svg or .tex")
    if unrolled and net.recurrence is None:
        raise DerivatorError("--unrolled draws a network through time; this file has no 'steps:'")
    picture = layout(net, wrt, of, node_values(net, of, values), unrolled=unrolled)
    data = notation.picture(net, kind, svg(picture) if kind == "svg" else tikz(picture)).encode("utf-8")
    if files is None:
        write_now(path, "--draw", lambda f: f.write(data))
    else:
        files.write(path, "--draw", lambda f: f.write(data))


def svg(p: Picture) -> str:
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{p.width:.0f}" height="{p.height:.0f}" '
           f'viewBox="0 0 {p.width:.0f} {p.height:.0f}" font-family="sans-serif">',
           f'<title>{escape(p.title)}</title>',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{MARGIN / 2:.0f}" y="28" font-size="16">{escape(p.title)}</text>']
    for src, dst, label, strong in sorted(p.edges, key=lambda e: e[3]):  # strong edges on top
        (x1, y1), (x2, y2) = p.positions[src], p.positions[dst]
        dx, dy = x2 - x1, y2 - y1
        d = math.hypot(dx, dy) or 1
        a, b = (x1 + dx * RADIUS / d, y1 + dy * RADIUS / d), (x2 - dx * RADIUS / d, y2 - dy * RADIUS / d)
        colour, stroke = (HIGHLIGHT, 3) if strong else (MUTED, 1.2)
        cls = "edge path" if strong else "edge"
        out.append(f'<line class="{cls}" data-from="{escape(src)}" data-to="{escape(dst)}" x1="{a[0]:.1f}" '
                   f'y1="{a[1]:.1f}" x2="{b[0]:.1f}" y2="{b[1]:.1f}" stroke="{colour}" stroke-width="{stroke}"/>')
        if label:
            mx, my = a[0] + (b[0] - a[0]) * 0.45, a[1] + (b[1] - a[1]) * 0.45 - 6
            out.append(f'<text class="weight" x="{mx:.1f}" y="{my:.1f}" font-size="12" text-anchor="middle" '
                       f'fill="{colour if strong else "#777777"}">{escape(label)}</text>')
    out += [_curve(p, *e) for e in p.delayed]
    for n, (x, y) in p.positions.items():
        strong = n in p.marked
        cls = "node path" if strong else "node"
        out.append(f'<circle class="{cls}" data-name="{escape(n)}" cx="{x:.1f}" cy="{y:.1f}" r="{RADIUS}" '
                   f'fill="{"#fdecea" if strong else "#f4f4f4"}" stroke="{HIGHLIGHT if strong else MUTED}" '
                   f'stroke-width="{2.5 if strong else 1.2}"/>')
        out.append(f'<text class="label" x="{x:.1f}" y="{y + 5:.1f}" font-size="14" text-anchor="middle">'
                   f'{escape(n)}</text>')
        if n in p.values:
            out.append(f'<text class="value" x="{x:.1f}" y="{y + RADIUS + 16:.1f}" font-size="11" '
                       f'text-anchor="middle" fill="#555555">{p.values[n]:.4g}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _curve(p: Picture, src: str, dst: str, label: str, strong: bool) -> str:
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
            f'd="{d}" fill="none" stroke="{colour}" stroke-width="{stroke}" stroke-dasharray="6 4"/>\n'
            f'<text class="weight" x="{lx:.1f}" y="{ly:.1f}" font-size="12" text-anchor="middle" '
            f'fill="{colour if strong else "#777777"}">{escape(label)}</text>')


def _tex(name: str) -> str:
    """A name as TikZ node text: underscores escaped (names are [A-Za-z0-9_] only, and a sample's copy under
    batch_norm adds #s)."""
    return name.replace("_", r"\_").replace("#", r"\#")


def tikz(p: Picture) -> str:
    """A document with the picture; the tikzpicture alone can be pasted into notes that load TikZ."""
    scale = 1 / 60  # SVG units to cm
    lines = [r"\documentclass{article}", r"\usepackage{tikz}", r"\pagestyle{empty}", r"\begin{document}",
             r"\begin{tikzpicture}[x=1cm, y=-1cm,", r"  every node/.style={font=\small},",
             r"  unit/.style={circle, draw=gray!60, fill=gray!8, minimum size=9mm, inner sep=0pt},",
             r"  marked/.style={circle, draw=red!70!black, very thick, fill=red!8, minimum size=9mm, inner sep=0pt},",
             r"  muted/.style={->, draw=gray!50}, strong/.style={->, draw=red!70!black, very thick}]"]
    ids = {n: f"n{i}" for i, n in enumerate(p.positions)}
    for n, (x, y) in p.positions.items():
        style = "marked" if n in p.marked else "unit"
        lines.append(rf"  \node[{style}] ({ids[n]}) at ({x * scale:.2f}, {y * scale:.2f}) {{{_tex(n)}}};")
        if n in p.values:
            lines.append(rf"  \node[font=\scriptsize, gray] at ({x * scale:.2f}, {(y + RADIUS + 14) * scale:.2f}) "
                         rf"{{{p.values[n]:.4g}}};")
    for src, dst, label, strong in sorted(p.edges, key=lambda e: e[3]):
        text = rf" node[midway, above, sloped, font=\scriptsize] {{{_tex(label)}}}" if label else ""
        lines.append(rf"  \draw[{'strong' if strong else 'muted'}] ({ids[src]}) -- ({ids[dst]}){text};")
    for src, dst, label, strong in p.delayed:  # from the step before: dashed, a loop or a bend
        path = "to[out=120, in=60, looseness=6]" if src == dst else "to[bend left=40]"
        lines.append(rf"  \draw[{'strong' if strong else 'muted'}, dashed] ({ids[src]}) {path} "
                     rf"node[midway, above, font=\scriptsize] {{{_tex(label)}}} ({ids[dst]});")
    lines += [r"\end{tikzpicture}", r"\end{document}"]
    if p.width * scale > 16:  # wider than the page (a grid of a conv network): scaled to its width
        lines[lines.index(r"\begin{tikzpicture}[x=1cm, y=-1cm,")] = \
            r"\resizebox{\textwidth}{!}{\begin{tikzpicture}[x=1cm, y=-1cm,"
        lines[lines.index(r"\end{tikzpicture}")] = r"\end{tikzpicture}}"
        lines.insert(1, r"\usepackage{graphicx}")
    return "\n".join(lines) + "\n"
