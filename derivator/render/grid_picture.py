"""`--draw` for a network with grids (CONTRACT section 7): each grid drawn as a grid, not a column.

An input grid and every conv or pool layer's map is a block of rows and columns, a layer's channels
(or filters) stacked one under another; layers stand left to right, and a dense layer is a column as
usual. Every unit keeps its node and edges, so the marked paths are those of any other picture.
"""

from __future__ import annotations

PITCH = 84  # between the centres of neighbouring entries of a grid
GAP = 40  # between two channels of a grid, and between a layer's block and the next


def grids(net) -> list:
    """The grids of the network from the input on, and the dense layers after them, in order."""
    return [net.layers[0].source, *[lay.out if lay.kind != "dense" else lay for lay in net.layers]]


def positions(net, shown: set[str], of: str, margin: float, top: float) -> dict[str, tuple[float, float]]:
    out: dict[str, tuple[float, float]] = {}
    x = margin
    for g in grids(net):
        if hasattr(g, "spatial"):  # a grid: channels stacked, each its rows and columns
            rows = g.spatial[0] if len(g.spatial) == 2 else 1
            cols = g.spatial[-1]
            y = top
            for c in range(g.channels):
                for r, row in enumerate(g.channel(c)):
                    for q, name in enumerate(row):
                        out[name] = (x + q * PITCH, y + r * PITCH)
                y += rows * PITCH + GAP
            x += cols * PITCH + GAP + PITCH
        else:  # a dense layer: one column, centred on the tallest block so far
            nodes = [n for n in g.nodes if n in shown]
            height = max((p[1] for p in out.values()), default=top) - top
            start = top + max(0.0, height - (len(nodes) - 1) * PITCH * 1.3) / 2
            for i, n in enumerate(nodes):
                out[n] = (x, start + i * PITCH * 1.3)
            x += PITCH * 2.5
    if of == "loss":
        ys = [p[1] for p in out.values()]
        out["loss"] = (x, (min(ys) + max(ys)) / 2)
    return out


def caption(net) -> str:
    """What the unlabelled edges carry: an edge into a conv unit is its kernel's weight at that offset."""
    if all(lay.kind == "dense" for lay in net.layers):
        return ""  # no grid: the edges carry their own labels
    convs = [f"K{lay.index}_f_c_i_j" for lay in net.layers if lay.kind == "conv"]
    dense = [f"W{lay.index}_j_k" for lay in net.layers if lay.kind == "dense"]
    return f" (grids as grids; edges carry {', '.join(convs + dense)}; pooling edges are the windows)"
