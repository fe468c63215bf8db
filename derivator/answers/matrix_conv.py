"""`--matrix --wrt K1`: the convolution form (CONTRACT section 7), a view over the one graph's derivatives.

    Z[l] = K[l] ⋆ A[l-1] + b[l]     (valid cross-correlation: each filter slides over the input's channels)
    dA[l-1] = dZ[l] ∗ rot180(K[l])   (full convolution with the flipped kernel)
    dA[l] = the pooling rule         (max: each window's delta goes to its first maximum; average: 1/n each)
    ∂J/∂K[l] = (1/m) Σₛ dZ[l] ⋆ A[l-1]     ∂J/∂b[l] = (1/m) Σₛ Σ dZ[l]

The values come from those rules run over the grids (`numbers/batch_conv.py`); they are compared entry by
entry with the scalar delta recursion over the graph, the kernel's gradient and every map (dZ, the pooled
dA, dA[l-1]) at the first sample, and with --check each kernel entry with a numerical derivative.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from derivator.answers.matrix_tokens import AVERAGE, CLOSE, HADAMARD, OPEN, PLUS, SUM, Elementwise, Eq, Mat, Op
from derivator.errors import DerivatorError
from derivator.graph.network import Network
from derivator.numbers import checking
from derivator.numbers.batch_conv import conv_values

STAR = Op(" ⋆ ", r" \star ")  # valid cross-correlation
CONVOLVE = Op(" ∗ ", r" \ast ")  # full convolution


@dataclass
class Map:
    """One map of the first sample (dZ[l], a pooled dA, dA[l-1]): by the convolution rules, by the graph."""

    name: str  # dZ1, dA2, dA0
    title: str
    channels: list[list[list[str]]]  # each channel's entries, laid out as a matrix
    values: dict[str, float]
    scalar: dict[str, float]  # the same entries from the scalar delta recursion ({} where it has none)
    largest_difference: float = 0.0

    @property
    def agrees(self) -> bool:
        return all(checking.close(v, self.scalar[k], 1e-9)[0] for k, v in self.values.items() if k in self.scalar)


@dataclass
class ConvParts:
    forward: list[Eq]
    backward: list[Eq]
    result: Eq
    why: list[tuple[str, str]]
    maps: list[Map] = field(default_factory=list)


def check_layers(net: Network, layer: int, kind: str) -> None:
    lay = net.layers[layer - 1]
    if lay.kind != "conv":
        raise DerivatorError(f"--matrix in a network with conv layers derives a conv layer's K{{l}} or b{{l}}; "
                             f"layer {layer} is a {lay.kind} layer (--wrt {kind}{layer} without --matrix gives every "
                             "entry)")
    if net.layers[-1].kind != "dense":
        raise DerivatorError("--matrix for a conv layer needs a dense output layer (the grid's units each a loss "
                             "output are not written as a matrix form here); --wrt K1 without --matrix gives every "
                             "entry")


def equations(net: Network, kind: str, layer: int, output: list[Eq], prime) -> ConvParts:
    """Forward and backward passes over the grids, down to layer `layer`, and the result."""
    forward, backward = [], list(output)
    for lay in net.layers:
        n = lay.index
        if lay.kind == "conv":
            z = [Mat("K", n), STAR, Mat("A", n - 1)] + ([PLUS, Mat("b", n)] if lay.bias else [])
            forward.append(Eq([Mat("Z", n)], z, _geometry(lay)))
            forward.append(Eq([Mat("A", n)], [Elementwise(lay.activation.f(_sym("Z", n)))]))
        elif lay.kind == "pool":
            word = "maxpool" if lay.pool == "max" else "avgpool"
            forward.append(Eq([Mat("A", n)], [Op(f"{word}(", rf"\operatorname{{{word}}}\left("), Mat("A", n - 1),
                                              CLOSE], _geometry(lay)))
        else:
            flat = net.layers[n - 2].kind != "dense" if n >= 2 else False
            a = [Op("flatten(", r"\operatorname{flatten}\left("), Mat("A", n - 1), CLOSE] if flat else [Mat("A", n - 1)]
            forward.append(Eq([Mat("Z", n)], [Mat("W", n), *a] + ([PLUS, Mat("b", n)] if lay.bias else []),
                              "row-major: channel, row, column" if flat else ""))
            forward.append(Eq([Mat("A", n)], [Elementwise(lay.activation.f(_sym("Z", n)))]))
    for n in range(len(net.layers) - 1, layer - 1, -1):
        above, lay = net.layers[n], net.layers[n - 1]
        backward.append(Eq([Mat("dA", n)], _through(net, above, n), _why_back(above)))
        if lay.kind == "conv" or lay.kind == "dense":
            g = prime(net, n)
            if g != 1:
                factor = [OPEN, Elementwise(g), CLOSE] if g.is_Add else [Elementwise(g)]
                backward.append(Eq([Mat("dZ", n)], [Mat("dA", n), HADAMARD, *factor], f"g'(Z[{n}]) entry by entry"))
            else:
                backward.append(Eq([Mat("dZ", n)], [Mat("dA", n)], "the identity passes it on"))
    flipped = [Mat("dZ", layer), CONVOLVE, Op("rot180(", r"\operatorname{rot180}\left("), Mat("K", layer), CLOSE]
    backward.append(Eq([Mat("dA", layer - 1)], flipped,
                       "full convolution with the flipped kernel: each input entry gathers every kernel entry "
                       "that read it"))
    average = [AVERAGE] if net.reduction == "mean" else []
    lhs = [Op("∂J/∂", r"\frac{\partial J}{\partial "), Mat(kind, layer), Op("", "}")]
    if kind == "b":
        result = Eq(lhs, [*average, SUM, Op("Σ ", r"\sum "), Mat("dZ", layer)],
                    "each filter's bias is shared by its whole map: the sum of its deltas")
    else:
        result = Eq(lhs, [*average, SUM, Mat("dZ", layer), STAR, Mat("A", layer - 1)],
                    "valid cross-correlation of the layer's input with its delta map")
    return ConvParts(forward, backward, result, _why(net, kind, layer))


def _sym(letter: str, layer: int):
    import sympy
    return sympy.Symbol(f"{letter}[{layer}]", real=True)


def _geometry(lay) -> str:
    k = "x".join(map(str, lay.kernel))
    parts = [f"{lay.filters} filter{'s' * (lay.filters != 1)} of {k}" if lay.kind == "conv" else f"{k} windows"]
    if any(s != 1 for s in lay.stride) or lay.kind == "pool":
        parts.append("stride " + "x".join(map(str, lay.stride)))
    if any(lay.padding):
        parts.append("padding " + "x".join(map(str, lay.padding)))
    return ", ".join(parts)


def _through(net: Network, above, n: int) -> list:
    if above.kind == "dense":
        grid = net.layers[n - 1].kind != "dense"
        body = [Mat("W", n + 1, t=True), Mat("dZ", n + 1)]
        return [Op("unflatten(", r"\operatorname{unflatten}\left("), *body, CLOSE] if grid else body
    if above.kind == "pool":
        word = "the first maximum of its window" if above.pool == "max" else "1/n to each entry of its window"
        return [Mat("dA", n + 1), Op(f" routed to {word}", rf"\text{{ routed to {word}}}")]
    return [Mat("dZ", n + 1), CONVOLVE, Op("rot180(", r"\operatorname{rot180}\left("), Mat("K", n + 1), CLOSE]


def _why_back(above) -> str:
    if above.kind == "pool" and above.pool == "max":
        return "max pooling: the gradient flows only to each window's maximum (the first at a tie, a kink), 0 elsewhere"
    if above.kind == "pool":
        return "average pooling: each entry of a window gets 1/n of its delta"
    if above.kind == "conv":
        return f"full convolution with layer {above.index}'s flipped kernel"
    return f"back through W[{above.index}], onto the grid" if above.index >= 2 else ""


def _why(net: Network, kind: str, layer: int) -> list[tuple[str, str]]:
    """Why the kernel's gradient is a cross-correlation and dA[l-1] a full convolution, as text and LaTeX."""
    lay, n, p = net.layers[layer - 1], layer, layer - 1
    if kind == "b":
        return [(f"b[{n}]_f is added at every position of filter f's map, so ∂Z[{n}]_f,r,c/∂b[{n}]_f = 1 "
                 f"everywhere and its derivative adds up the whole delta map dZ[{n}]_f.",
                 rf"$b^{{[{n}]}}_f$ is added at every position of filter $f$'s map, so "
                 rf"$\partial Z^{{[{n}]}}_{{f,r,c}} / \partial b^{{[{n}]}}_f = 1$ everywhere and its derivative adds "
                 rf"up the whole delta map $dZ^{{[{n}]}}_f$.")]
    unit = all(s == 1 for s in lay.stride) and not any(lay.padding)
    idx = "r+i-1, c+j-1" if unit else "s(r-1)+i-p, s(c-1)+j-p"
    tidx = idx.replace(", ", ",")
    first = (f"K[{n}]_f,c,i,j is one weight shared by every position of filter f's map (tied): Z[{n}]_f,r,c has the "
             f"term K[{n}]_f,c,i,j A[{p}]_c,{idx}, so its derivative sums that input over every position the "
             f"kernel entry touches, weighted by the delta there: Σ_r,c dZ[{n}]_f,r,c A[{p}]_c,{idx}, "
             f"which is the valid cross-correlation dZ[{n}]_f ⋆ A[{p}]_c.",
             rf"$K^{{[{n}]}}_{{f,c,i,j}}$ is one weight shared by every position of filter $f$'s map (tied): "
             rf"$Z^{{[{n}]}}_{{f,r,c}}$ has the term $K^{{[{n}]}}_{{f,c,i,j}} A^{{[{p}]}}_{{c,{tidx}}}$, so its "
             rf"derivative sums that input over every position the kernel entry touches, weighted by the delta "
             rf"there: $\sum_{{r,c}} dZ^{{[{n}]}}_{{f,r,c}} A^{{[{p}]}}_{{c,{tidx}}}$, the valid "
             rf"cross-correlation $dZ^{{[{n}]}}_f \star A^{{[{p}]}}_c$.")
    second = (f"Going down, each entry of A[{p}] met the kernel at every offset that read it, so its delta gathers "
              f"those kernel entries times the deltas: a full convolution of dZ[{n}] with the kernel flipped by 180°.",
              rf"Going down, each entry of $A^{{[{p}]}}$ met the kernel at every offset that read it, so its delta "
              rf"gathers those kernel entries times the deltas: a full convolution of $dZ^{{[{n}]}}$ with the kernel "
              rf"flipped by $180^\circ$.")
    third = "1/m comes from the average over the samples; each dZ is one sample's." if net.reduction == "mean" else \
        "There is no 1/m: with reduction: sum each sample enters with weight 1."
    return [first, second, (third, third.replace("1/m", "$1/m$"))]


def maps(net: Network, values: dict[str, float], computed: dict, layer: int, worked) -> list[Map]:
    """The first sample's maps, each beside the scalar delta recursion's values of the same entries: the
    deltas of its pass (`worked`, at the first sample), and for the input image Σ_k w δ_k over its edges."""
    deltas = dict(worked.deltas) if worked is not None else {}
    sample = checking.samples(net, values)[0]
    grads: dict[str, float] = {}
    if layer == 1 and deltas:
        inputs = set(net.inputs)
        for e in net.edges:
            if e.src in inputs and e.dst in deltas:
                w = sample[e.weight.name] if e.weight.is_Symbol else float(e.weight)
                grads[e.src] = grads.get(e.src, 0.0) + w * deltas[e.dst]
    out = []
    for name in sorted(computed, key=lambda k: -int(k[2:])):
        n = int(name[2:])
        grid = net.layers[n - 1].out if n >= 1 else net.layers[0].source
        scalar = grads if n == 0 else deltas if name.startswith("dZ") or net.layers[n - 1].kind == "pool" else {}
        title = {"dZ": f"dZ[{n}] = ∂L/∂Z[{n}]", "dA": f"dA[{n}] = ∂L/∂A[{n}]"}[name[:2]]
        if n == 0:
            title += ", the input image's gradient"
        m = Map(name, title, [grid.channel(ch) for ch in range(grid.channels)], computed[name],
                {k: scalar[k] for k in computed[name] if k in scalar})
        m.largest_difference = max((checking.close(v, m.scalar[k], 1e-9)[1] for k, v in m.values.items()
                                    if k in m.scalar), default=0.0)
        out.append(m)
    return out


__all__ = ["ConvParts", "Map", "check_layers", "conv_values", "equations", "maps"]
