"""`--draw`: the network in layers by depth, with the paths from `--wrt` to the target marked.

One layout (`layout`) serves two writers: SVG, written as text (every label escaped), and TikZ for
LaTeX notes. Inputs stand on the left, each node one column right of its deepest parent, and the
loss, when it is the target, on the right. The edges where `--wrt` enters and every edge on a path
from there to the target are drawn strong; the rest are muted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from derivator.graph import order
from derivator.graph.network import Network
from derivator.graph.plan import plan
from derivator.graph.timesteps import at, base, step
from derivator.render import grid_picture, labels, notation
from derivator.render.output import Outputs, write_now
from derivator.render.picture_files import MARGIN, RADIUS, SCALE, WEIGHT, below, svg, tikz

COLUMN, ROW = 240, 100  # room between columns for level weight labels
MARKED_ONLY = "; weights labelled on the marked paths only (too many edges to label them all apart)"


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
    deltas: dict[str, float] = field(default_factory=dict)  # each node's delta at the point, when asked
    places: list[float] = field(default_factory=list)  # along each edge, where its label sits
    boxes: list = field(default_factory=list)  # each edge's label box (None unlabelled), as render/labels places it


@dataclass
class Drawing:
    """What `--draw` asked for: the file, and for a network through time whether to draw it unrolled."""

    path: str
    unrolled: bool = False
    deltas: bool = False


def drawing(path: str | None, unrolled: bool, deltas: bool) -> Drawing | None:
    """`--draw`'s flags, checked: --unrolled and --draw-deltas say how to draw, so they need --draw."""
    from derivator.errors import DerivatorError
    for flag, on, what in (("--unrolled", unrolled, "draws the network unrolled through time"),
                           ("--draw-deltas", deltas, "writes each node's delta in the picture")):
        if on and path is None:
            raise DerivatorError(f"{flag} goes with --draw: it {what}")
    return Drawing(path, unrolled, deltas) if path is not None else None


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


def place_labels(p: Picture) -> None:
    """Every weight label apart from every node, value and other label (the marked paths' labels placed
    first, so they get the places nearest their source); when they cannot all be, only the marked
    paths' edges keep their labels, and the title says so."""
    def size(label: str) -> tuple[float, float]:  # the larger of the SVG text and the TikZ math
        box = labels.text_box(0, 0, label, WEIGHT)
        return (max(box[2] - box[0] + 4, labels.CHAR * labels.visible(label) / SCALE),
                max(box[3] - box[1] + 2, labels.LINE / SCALE))
    texts = [labels.text_box(x, y + dy, text, 11) for n, (x, y) in p.positions.items() for _, text, dy in below(p, n)]
    order = sorted(range(len(p.edges)), key=lambda i: not p.edges[i][3])
    for attempt in range(2):
        edges = [p.edges[i] for i in order]
        places, boxes, left = labels.place(p.positions, edges, RADIUS + 2, size, False, labels.FINE,
                                             texts)
        if left == 0 or attempt == 1 or not any(strong for *_, strong in p.edges):
            break
        p.edges = [(a, b, label if strong else "", strong) for a, b, label, strong in p.edges]
        p.title += MARKED_ONLY
    p.places, p.boxes = [0.5] * len(order), [None] * len(order)
    for k, i in enumerate(order):
        p.places[i], p.boxes[i] = places[k], boxes[k]


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


def delta_values(net: Network, of: str, values: dict[str, float]) -> dict[str, float]:
    """Each node's delta (∂target/∂z, or ∂target/∂node for a formula node) at the point; none without one."""
    from derivator.numbers import sweep
    if net.samples:
        return {}
    c = sweep.compiled(net, of)
    try:
        c.backward(c.forward(values, target=of == "loss"))
    except (KeyError, ArithmeticError, ValueError, TypeError):
        return {}
    return {n: float(d) for n, d in c.deltas.items() if n in net.nodes}


def write(net: Network, wrt: str, of: str, values: dict[str, float], path: str, files: Outputs | None = None,
          unrolled: bool = False, deltas: bool = False) -> None:
    """The picture to `path`: SVG for .svg, a TikZ document for .tex; into `files` (renamed into place when
    the run succeeds), or at once, through a temporary file either way."""
    from derivator.errors import DerivatorError
    kind = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    if kind not in ("svg", "tex"):
        raise DerivatorError(f"--draw {path}: the name must end in .svg or .tex")
    if unrolled and net.recurrence is None:
        raise DerivatorError("--unrolled draws a network through time; this file has no 'steps:'")
    picture = layout(net, wrt, of, node_values(net, of, values), unrolled=unrolled)
    picture.deltas = delta_values(net, of, values) if deltas else {}
    place_labels(picture)
    data = notation.picture(net, kind, svg(picture) if kind == "svg" else tikz(picture)).encode("utf-8")
    if files is None:
        write_now(path, "--draw", lambda f: f.write(data))
    else:
        files.write(path, "--draw", lambda f: f.write(data))
