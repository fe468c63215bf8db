"""Weight labels placed apart: one placement for `--draw` (SVG and TikZ) and the exercise sheet's drawing.

Each label is tried at a few places along its edge, in order of preference, and takes the first
whose box overlaps no node and no label placed before it, else the place that overlaps least. A
label's box is estimated from its characters: math-mode names with their scripts smaller (`visible`),
SVG text from its font size (`text_box`), which is also how the tests measure the SVG's labels.
"""

from __future__ import annotations

import math
from collections.abc import Callable

PLACES = [0.27, 0.4, 0.55, 0.7, 0.2, 0.8]  # along an edge, in order of preference
FINE = [0.3, 0.4, 0.25, 0.5, 0.35, 0.45, 0.2, 0.55, 0.6, 0.65, 0.7, 0.15, 0.75, 0.8, 0.85]  # more, for level labels
EM, ASCENT, DESCENT = 0.62, 0.8, 0.25  # sans-serif text: average advance and extent, in font sizes
CHAR, LINE = 0.14, 0.4  # cm: a character of TikZ's \scriptsize math, and a label's height with its scripts

Box = tuple[float, float, float, float]  # left, top, right, bottom; y down


def visible(label: str) -> float:
    """About how many characters wide a name sets in math mode: scripts (after '_') at two thirds."""
    head, *scripts = label.split("_")
    return len(head) + 0.7 * sum(len(x) for x in scripts) + 0.5


def text_box(x: float, y: float, text: str, size: float) -> Box:
    """The box of SVG text anchored at its middle, with its baseline at y."""
    half = EM * size * len(text) / 2
    return x - half, y - ASCENT * size, x + half, y + DESCENT * size


def baseline(centre_y: float, size: float) -> float:
    """The baseline that puts `text_box` centred on centre_y."""
    return centre_y + (ASCENT - DESCENT) * size / 2


def label_box(a: tuple[float, float], b: tuple[float, float], t: float, w: float, h: float,
              sloped: bool = True) -> Box:
    """The upright box around a w x h label set above the edge a -> b at t along it: rotated with the edge
    (as TikZ's `sloped` sets it), or level (SVG text)."""
    (x1, y1), (x2, y2) = a, b
    length = math.hypot(x2 - x1, y2 - y1) or 1
    ux, uy = (x2 - x1) / length, (y2 - y1) / length
    if sloped:
        half_w, half_h = (w * abs(ux) + h * abs(uy)) / 2, (w * abs(uy) + h * abs(ux)) / 2
        cx, cy = x1 + t * (x2 - x1) + uy * h / 2, y1 + t * (y2 - y1) - ux * h / 2  # "above": left of the direction
    else:  # level text straddling the edge: the line runs under the label's white halo
        half_w, half_h = w / 2, h / 2
        cx, cy = x1 + t * (x2 - x1), y1 + t * (y2 - y1)
    return cx - half_w, cy - half_h, cx + half_w, cy + half_h


def overlap(a: Box, b: Box) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def place(positions: dict[str, tuple[float, float]], edges: list, node: float,
          size: Callable[[str], tuple[float, float]], sloped: bool = True,
          places: list[float] = PLACES, obstacles: list[Box] = ()) -> tuple[list[float], list[Box | None], float]:
    """For each edge (from, to, label, ...) the place along it (0 at the source), its label's box (None
    unlabelled), and the total overlap left (0: every label clear of every node, obstacle and other label)."""
    boxes = [(x - node, y - node, x + node, y + node) for x, y in positions.values()] + list(obstacles)
    out, chosen, left = [], [], 0.0
    for src, dst, label, *_ in edges:
        if not label:
            out.append(0.5)
            chosen.append(None)
            continue
        w, h = size(label)
        options = [label_box(positions[src], positions[dst], t, w, h, sloped) for t in places]
        cost = [sum(overlap(o, b) for b in boxes) for o in options]
        i = min(range(len(places)), key=lambda k: (cost[k], k))
        left += cost[i]
        boxes.append(options[i])
        out.append(places[i])
        chosen.append(options[i])
    return out, chosen, left
