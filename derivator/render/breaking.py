"""Long LaTeX rows broken across lines, so a derivation fits the page of notes it is pasted into.

A row of an `align*` (or `aligned`) is `lhs &= rhs`. When it is wider than the text, the right-hand
side is cut at spaces and signs outside every brace: a product between its factors, a sum between
its terms, the innermost cut last. A `\\left( ... \\right)` pair that a cut runs through becomes
`\\bigl( ... \\bigr)`, which needs no partner on its own line. The continuation lines start at the
alignment point with a `\\quad`.
"""

from __future__ import annotations

import bisect
import itertools
import re

# A standalone document: amsmath only, long displays may break across pages, and paragraphs (the
# values, the diagnosis) stretch their spaces rather than run into the margin.
PREAMBLE = ["\\documentclass{article}", "\\usepackage{amsmath}", "\\allowdisplaybreaks", "\\sloppy"]
WIDTH = 48  # about what fits beside a short left-hand side at article's default text width, in characters
COMMAND = re.compile(r"\\[A-Za-z]+|\\.")
PAIRS = {r"\left": r"\bigl", r"\right": r"\bigr"}
WORDS = {r"\tanh", r"\exp", r"\log", r"\ln", r"\max", r"\min", r"\sin", r"\cos", r"\sech", r"\approx"}
QUIET = {r"\left", r"\right", r"\bigl", r"\bigr", r"\quad", r"\,", r"\mathrm", r"\operatorname", r"\text",
         r"\mathcal", r"\begin", r"\end"}


def width(tex: str) -> float:
    """About how many characters wide `tex` sets: commands count once, scripts at two thirds."""
    total, script, depth_script = 0.0, 0, []
    i = 0
    while i < len(tex):
        m = COMMAND.match(tex, i)
        if m:
            word = m.group(0)
            size = 0 if word in QUIET else len(word) - 1 if word in WORDS else 1
            total += size * (0.67 if any(depth_script) else 1)
            i = m.end()
            continue
        ch = tex[i]
        if ch in "^_":
            script = 1
        elif ch == "{":
            depth_script.append(script)
            script = 0
        elif ch == "}":
            if depth_script:
                depth_script.pop()
        elif ch != " ":
            total += 0.67 if (depth_script and any(depth_script)) or script else 1
            script = 0
        i += 1
    return total


def _cuts(rhs: str) -> list[tuple[int, int]]:
    """Where the right-hand side may be cut: (position, how many \\left pairs are open there)."""
    cuts, braces, lefts, i = [], 0, 0, 0
    while i < len(rhs):
        m = COMMAND.match(rhs, i)
        if m:
            word = m.group(0)
            if word in (r"\left", r"\begin"):
                lefts += word == r"\left"
                braces += word == r"\begin"
            elif word in (r"\right", r"\end"):
                lefts -= word == r"\right"
                braces -= word == r"\end"
            i = m.end()
            continue
        ch = rhs[i]
        braces += ch == "{"
        braces -= ch == "}"
        if ch == " " and braces == 0 and i > 0 and rhs[i - 1] not in "+-=" and not rhs.endswith(
                (r"\approx", r"\cdot"), 0, i):  # a sign or relation stays with what follows it
            cuts.append((i, lefts))
        i += 1
    return cuts


def _lines(rhs: str, cuts: list[tuple[int, int]], room: float) -> list[tuple[int, int]]:
    """Lines of about `room` between the cuts, each line ending at the shallowest cut that fits (the
    latest of those): a product breaks between its factors before it breaks inside one. Each
    segment's width is measured once (cuts sit outside every brace, so widths add up)."""
    bounds = [0, *(pos for pos, _ in cuts), len(rhs)]
    depth = [0, *(d for _, d in cuts), 0]
    sizes = [width(rhs[a:b]) for a, b in itertools.pairwise(bounds)]
    prefix = list(itertools.accumulate(sizes, initial=0.0))  # prefix[k]: width up to bounds[k]
    lines, first, k = [], 0, 1  # the line runs from bounds[first]; bounds[k] is the next cut tried
    while prefix[-1] - prefix[first] > room:
        best = None
        while k < len(bounds) - 1 and prefix[k] - prefix[first] <= room:
            if best is None or depth[k] <= depth[best]:
                best = k
            k += 1
        best = best if best is not None else max(k, first + 1)  # one segment wider than the room
        if best >= len(bounds) - 1:
            break
        lines.append((bounds[first] + (first > 0), bounds[best]))
        first, k = best, best + 1
    lines.append((bounds[first] + (first > 0), len(rhs)))
    return lines


def _split(row: str) -> tuple[str, str, str] | None:
    """(an \\intertext prefix, the left-hand side with its &, the right-hand side)."""
    prefix = ""
    if row.startswith(r"\intertext{"):
        depth = 0
        for i, ch in enumerate(row):
            depth += (ch == "{") - (ch == "}")
            if ch == "}" and depth == 0:
                prefix, row = row[:i + 1], row[i + 1:]
                break
    braces = 0
    for i, ch in enumerate(row):
        braces += (ch == "{") - (ch == "}")
        if ch == "&" and braces == 0 and (i == 0 or row[i - 1] != "\\"):
            relation = re.match(r"&\s*(=|\\approx|\\overset\{\?\}\{=\})\s*", row[i:])
            if relation is None:
                return None
            end = i + relation.end()
            return prefix, row[:end], row[end:]
    return None


def fit(row: str, limit: float = WIDTH) -> str:
    """The row as it is when it fits, else cut into lines that each fit where they can."""
    parts = _split(row)
    if parts is None:
        return row
    prefix, lhs, rhs = parts
    room = limit - min(width(lhs), limit / 3)
    rhs = _split_texts(rhs, room)
    if width(rhs) <= room:
        return row
    lines = _lines(rhs, _cuts(rhs), room)
    if len(lines) == 1:
        return row
    text = _unpair(rhs, [end for _, end in lines[:-1]])
    pieces = [text[a:b].strip() for a, b in lines]
    return prefix + lhs + " \\\\\n&\\quad ".join(pieces)


TEXT = re.compile(r"\\text\{")


def _split_texts(rhs: str, room: float) -> str:
    """A remark in \\text{...} too wide for a line, as several \\text{} pieces a line can be cut between
    (cut at spaces outside its inline $math$)."""
    out, i = [], 0
    for m in TEXT.finditer(rhs):
        if m.start() < i:
            continue
        depth, j = 1, m.end()
        while j < len(rhs) and depth:
            depth += (rhs[j] == "{") - (rhs[j] == "}")
            j += 1
        inner = rhs[m.end():j - 1]
        out.append(rhs[i:m.start()])
        out.append(" ".join(rf"\text{{{piece}}}" for piece in _words(inner, room)) if width(inner) > room
                   else rhs[m.start():j])
        i = j
    out.append(rhs[i:])
    return "".join(out)


def _words(text: str, room: float) -> list[str]:
    """Text cut into pieces of about `room` characters, at spaces outside $...$ (a wide $a + b$ is
    first written $a$ $+ b$, so that it may be cut between its terms)."""
    text = re.sub(r"\$([^$]*)\$", lambda m: "$" + m.group(1).replace(" + ", "$ $+ ") + "$"
                  if width(m.group(1)) > room / 2 else m.group(0), text)
    pieces, current, in_math = [], "", False
    for token in re.split(r"( )", text):
        in_math ^= token.count("$") % 2 == 1
        if token == " " and not in_math and width(current) > room * 0.7 and current[-1:] not in "+-=":
            pieces.append(current + " ")
            current = ""
            continue
        current += token
    return [*pieces, current] if current else pieces


def _unpair(rhs: str, cut_at: list[int]) -> str:
    """Every \\left ... \\right pair that a cut runs through as \\bigl ... \\bigr (same length)."""
    out, stack = list(rhs), []
    for m in re.finditer(r"\\left|\\right", rhs):
        if m.group(0) == r"\left":
            stack.append(m.start())
        elif stack:
            opened = stack.pop()
            k = bisect.bisect_right(cut_at, opened)  # the first cut after the opening
            if k < len(cut_at) and cut_at[k] < m.start():
                out[opened:opened + 5] = list(r"\bigl")
                out[m.start():m.start() + 6] = list(r"\bigr ")[:6]
    return "".join(out)


def align(rows: list[str]) -> str:
    """An align* of the rows, each fitted to the page."""
    return "\\begin{align*}\n" + " \\\\\n".join(fit(r) for r in rows) + "\n\\end{align*}\n"


def aligned(rows: list[str]) -> str:
    """A `$$ aligned $$` block of the rows (Markdown, Jupyter), each fitted."""
    return "$$\n\\begin{aligned}\n" + " \\\\\n".join(fit(r) for r in rows) + "\n\\end{aligned}\n$$\n"
