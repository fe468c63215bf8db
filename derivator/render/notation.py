"""The file's `notation:` applied to what is printed: a course's letters for the tool's.

`{pre_activation: s, output: x, activation: θ, loss: e, layer_index: "(l)"}` (CONTRACT section 10)
prints z_h as s_h, a sigmoid's or tanh's σ and tanh as θ, the loss as e, and a layer's index as
a^{(l)}_j. In a graph file, the node named as `output:` is the course's unit itself: its z prints
bare, s, and its delta δ, so story 5 reads δ = ∂e/∂s = 2(x - y)(1 - x²). The generic o of the
rules (o_u, 1 - o²) prints as the output letter.

The renderers print the tool's names everywhere (rules, rows, labels); the notation is applied to
their finished text, token by token, by the patterns below: a letter is replaced only where it
stands alone (`z_h`, `(z)`, not the z of a word), and a generic letter is left alone when the
network has a name of that spelling. The command line keeps the file's names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from derivator.graph.network import Network
from derivator.load.notation_key import GREEK_TEX
from derivator.symbolic.printing import SUPERSCRIPT

TEX_GREEK = {v: k for k, v in GREEK_TEX.items()}


def alone(letter: str) -> str:
    """A pattern for `letter` standing alone: not part of a word or a LaTeX command."""
    return rf"(?<![A-Za-z\\]){re.escape(letter)}(?![A-Za-z])"


def as_text(value: str) -> str:
    return TEX_GREEK.get(value, value)


def as_tex(value: str) -> str:
    value = TEX_GREEK.get(value, value)
    if value in GREEK_TEX:
        return "\\" + GREEK_TEX[value]
    return value if len(value) == 1 else rf"\mathrm{{{value}}}"


class Notation:
    """The rewriting of one network's printed text, in text and in LaTeX."""

    def __init__(self, net: Network):
        self.n = dict(net.notation)
        taken = {*net.inputs, *net.nodes, *net.params, *net.targets}
        self.unit = self.n.get("output") if self.n.get("output") in net.nodes and not net.layers else None
        self.generic_o = "output" in self.n and "o" not in taken
        self.generic_z = "pre_activation" in self.n and "z" not in taken
        self.acts = {node.activation.name for node in net.nodes.values() if node.activation is not None}

    def __bool__(self) -> bool:
        return bool(self.n)

    def text(self, s: str) -> str:
        n, before = self.n, s
        if self.generic_o:
            s = re.sub(alone("o") + r"(?![A-Za-z0-9_])|" + alone("o") + "(?=_)", as_text(n["output"]), s)
        if self.unit is not None:
            p = as_text(n.get("pre_activation", "z"))
            s = re.sub(alone(f"z_{self.unit}") + r"(?![\w⁽])", p, s)
            s = re.sub(rf"δ_{re.escape(self.unit)}(?!\w)", "δ", s)
        if "pre_activation" in n:
            p = as_text(n["pre_activation"])
            s = re.sub(alone("z") + "(?=_)", p, s)
            if self.generic_z:
                s = re.sub(alone("z") + r"(?![_\w])", p, s)
        if "activation" in n:
            a = as_text(n["activation"])
            for name, shown in (("sigmoid", "σ"), ("tanh", "tanh")):
                if name in self.acts:
                    s = re.sub(alone(shown) if shown != "σ" else "σ", a, s)
            s = re.sub(rf"{re.escape(a)}\(([^()]*)\)²", rf"{a}²(\1)", s)  # θ(s)² is written θ²(s)
        index = n.get("layer_index")
        if index in ("(l)", "l"):  # Z[1] of the matrix form as Z⁽¹⁾ or Z¹
            sup = "⁽{}⁾" if index == "(l)" else "{}"
            s = re.sub(r"(?<![A-Za-z])([A-Za-z]{1,2})\[(\d+|l)\]", lambda m: m.group(1) + sup.format(
                m.group(2).translate(SUPERSCRIPT).replace("l", "ˡ")), s)
        if "loss" in n:
            e = as_text(n["loss"])
            s = re.sub(r"∂loss(?!\w)", f"∂{e}", s)
            s = re.sub(r"(?m)^(\s*)loss(?= =)", rf"\g<1>{e}", s)
            s = re.sub(r"(?<![\w])loss(?=⁽)", e, s)  # each sample's, loss⁽²⁾
        return realign(repad(before, s))

    def name(self, s: str) -> str:
        """One name as a label (a plot's axis): the loss as its letter, z_h as s_h."""
        if s == "loss" and "loss" in self.n:
            return as_text(self.n["loss"])
        return self.text(s)

    def tex(self, s: str) -> str:
        n = self.n
        if self.generic_o:
            s = re.sub(alone("o") + r"(?![A-Za-z0-9_])|" + alone("o") + "(?=_)", lambda _: as_tex(n["output"]), s)
        if self.unit is not None:
            p = as_tex(n.get("pre_activation", "z"))
            u = re.escape(self.unit)
            s = re.sub(rf"{alone('z')}_(?:\{{{u}\}}|{u}(?![A-Za-z0-9{{]))", lambda _: p, s)
            s = re.sub(rf"\\delta_(?:\{{{u}\}}|{u}(?![A-Za-z0-9{{]))", lambda _: r"\delta", s)
        if "pre_activation" in n:
            p = as_tex(n["pre_activation"])
            s = re.sub(alone("z") + r"(?=_|\^)", lambda _: p, s)
            if self.generic_z:
                s = re.sub(alone("z") + r"(?![_^\w])", lambda _: p, s)
        if "activation" in n:
            a = as_tex(n["activation"])
            if "tanh" in self.acts:
                s = re.sub(r"\\operatorname\{tanh\}|\\tanh(?![A-Za-z])", lambda _: a, s)
            if "sigmoid" in self.acts:
                s = re.sub(r"\\sigma(?![A-Za-z])", lambda _: a, s)
        if "loss" in n:
            s = s.replace(r"\mathcal{L}", as_tex(n["loss"]))
        index = n.get("layer_index")
        if index == "(l)":
            s = re.sub(r"\^\{\[(\d+|l)\]", r"^{(\1)", s)
        elif index == "l":
            s = re.sub(r"\^\{\[(\d+|l)\]", r"^{\1", s)
        return s

    def markdown(self, s: str) -> str:
        return self.text(self.tex(s))

    def json(self, s: str) -> str:
        """JSON output: its `latex` strings (the code strings read back into SymPy, so they keep the names)."""
        return json.dumps(_walk(json.loads(s), self.tex), indent=2, allow_nan=False) + "\n"


def picture(net: Network, kind: str, s: str) -> str:
    """A --draw picture (SVG or TikZ) in the network's notation: its title, and the loss's node as the loss letter."""
    if not net.notation:
        return s
    n = Notation(net)
    loss = n.n.get("loss")
    if kind == "svg":
        def label(m: re.Match) -> str:
            inner = m.group(2)
            return m.group(1) + (as_text(loss) if loss and inner == "loss" else n.text(inner)) + m.group(3)
        return re.sub(r"(<text[^>]*>|<title>)([^<]*)(</text>|</title>)", label, s)
    return re.sub(r"\{loss\};", lambda _: f"{{${as_tex(loss)}$}};", s) if loss else s


GAP = re.compile(r"(?<=[^\s,])  +(?=\S)")  # two spaces or more between a table's cells (not after a comma)


def repad(before: str, after: str) -> str:
    """Each line's cells back at their columns: a gap of two spaces or more that a renamed cell moved is
    widened or narrowed (to two spaces at least), so tables stay aligned. Renaming never adds or removes
    a line or such a gap, so the gaps of a line before and after correspond in order."""
    lines = []
    for old, new in zip(before.split("\n"), after.split("\n"), strict=True):
        gaps_old, gaps_new = list(GAP.finditer(old)), list(GAP.finditer(new))
        if len(gaps_old) != len(gaps_new) or old == new:
            lines.append(new)
            continue
        out, at = [], 0
        for g_old, g_new in zip(gaps_old, gaps_new, strict=True):
            out.append(new[at:g_new.start()])
            width = sum(len(p) for p in out)
            out.append(" " * max(2, g_old.end() - width))
            at = g_new.end()
        out.append(new[at:])
        lines.append("".join(out))
    return "\n".join(lines)


def realign(s: str) -> str:
    """Continuation lines (`      = ...`) with their `=` under the first `=` of the line they continue,
    as the renderer aligned them before the names changed length."""
    lines, anchor = s.split("\n"), None
    for i, line in enumerate(lines):
        stripped = line.lstrip(" ")
        if stripped.startswith("= ") and anchor is not None:
            lines[i] = " " * anchor + stripped
        else:
            at = line.find(" = ")
            anchor = at + 1 if at >= 0 and not line.startswith("  (") else None
    return "\n".join(lines)


def _walk(value, tex: Callable[[str], str], key: str = ""):
    if isinstance(value, dict):
        return {k: _walk(v, tex, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, tex, key) for v in value]
    if isinstance(value, str) and key == "latex":
        return tex(value)
    return value


def network_of(answer) -> Network | None:
    """The network an answer (a Report, a Gradient, a MatrixForm, ...) was derived for."""
    for path in (("derivation", "net"), ("net",), ("d", "net")):
        obj = answer
        for attr in path:
            obj = getattr(obj, attr, None)
        if isinstance(obj, Network):
            return obj
    return None


def apply(answer, fmt: str, text: str) -> str:
    """`text`, the answer printed in `fmt`, in its network's notation (unchanged without one)."""
    net = network_of(answer)
    if net is None or not net.notation:
        return text
    rewrite = getattr(Notation(net), {"text": "text", "latex": "tex", "markdown": "markdown",
                                      "json": "json"}.get(fmt, ""), None)
    return rewrite(text) if rewrite is not None else text
