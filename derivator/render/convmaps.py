"""The convolution form's maps (dZ[l], a pooled dA, dA[l-1]) as small matrices, in text, LaTeX and JSON."""

from __future__ import annotations

MAX_SHOWN = 12  # rows and columns of a channel printed whole; JSON has every entry of any size


def _shown(channel: list[list[str]]) -> bool:
    return len(channel) <= MAX_SHOWN and len(channel[0]) <= MAX_SHOWN


def _verdict(m) -> str:
    if not m.scalar:
        return "(the graph's delta recursion has no entry of its own to compare here)"
    if m.agrees:
        return (f"agrees entry by entry with the delta recursion over the graph (largest relative difference "
                f"{m.largest_difference:.2g})")
    return f"DISAGREES with the delta recursion over the graph (largest relative difference {m.largest_difference:.2g})"


def text_lines(f) -> list[str]:
    if not f.maps:
        return []
    lines = ["", "Maps of the first sample (each channel a matrix, row by row), by the rules above:"]
    for m in f.maps:
        lines.append(f"  {m.title}: {_verdict(m)}")
        for c, channel in enumerate(m.channels, 1):
            head = f"    channel {c}:" if len(m.channels) > 1 else "   "
            if not _shown(channel):
                lines.append(f"{head} {len(channel)} × {len(channel[0])} (larger than {MAX_SHOWN} × {MAX_SHOWN}: "
                             "--format json gives every entry)")
                continue
            cells = [[f"{m.values[e]:.6g}" for e in row] for row in channel]
            width = max(len(x) for row in cells for x in row)
            if len(m.channels) > 1:
                lines.append(head)
            lines += ["      [ " + "  ".join(x.rjust(width) for x in row) + " ]" for row in cells]
    return lines


def tex_rows(f) -> list[str]:
    rows = []
    for m in f.maps:
        title = m.title.split(" = ")[0].replace("[", "^{[").replace("]", "]}")
        shown = [ch for ch in m.channels if _shown(ch)]
        if len(shown) != len(m.channels):
            continue
        mats = ", ".join(r"\begin{bmatrix}" + r" \\ ".join(" & ".join(f"{m.values[e]:.6g}" for e in row)
                                                          for row in ch) + r"\end{bmatrix}" for ch in shown)
        rows.append(f"{title} &= {mats}")
    return rows


def as_json(f) -> dict:
    return {m.name: {"title": m.title, "channels": [[[m.values[e] for e in row] for row in ch] for ch in m.channels],
                     "entries": [[list(row) for row in ch] for ch in m.channels], "agrees": m.agrees,
                     "largest_relative_difference": m.largest_difference} for m in f.maps}
