"""`--jacobian`: the matrix of ∂of_i/∂wrt_j for several targets and several names (CONTRACT section 5).

Each entry is one derivative by the delta recursion, in node values, with its value and (with
`--check`) a numerical derivative: the backward pass runs once per row, for that row's target. Where
the rows and columns are a softmax group's outputs and its pre-activations, or a dense layer's outputs
and its inputs, the closed form is given beside the entries, built from the plan's local derivatives
(∂p_i/∂z_j = p_i(δ_ij - p_j), f'(z_i), W[l]) and compared with them at the point.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import mpmath
import sympy

from derivator.answers.display import Displayed
from derivator.errors import DerivatorError, unknown
from derivator.graph.equations import resolve_of
from derivator.graph.network import Network, symbol
from derivator.graph.plan import plan
from derivator.graph.rules import SOFTMAX
from derivator.numbers import checking
from derivator.numbers.evaluate import UndefinedError, value
from derivator.numbers.worked import worked
from derivator.symbolic.derive import Derivation, backward, derive

LAYER = re.compile(r"(z_)?a(\d+)\Z")  # a2: layer 2's outputs a2_j; z_a2: their pre-activations


@dataclass
class Entry:
    derivation: Derivation
    value: float | None = None
    check: checking.Check | None = None


@dataclass
class Closed:
    """The Jacobian as courses write it, with its entries in node values (and their values)."""

    text: str  # diag(p) - p pᵀ
    tex: str
    where: str  # what the letters stand for: p = (p1, p2, p3)
    entries: list[list[sympy.Expr]]
    values: list[list[float]] | None = None
    agrees: bool | None = None  # whether its values equal the entries' at the point


@dataclass(repr=False)
class Jacobian(Displayed):
    net: Network
    of: list[str]
    wrt: list[str]
    entries: list[list[Entry]]
    point: dict[str, float]
    missing: list[str]
    closed: Closed | None = None
    forward: dict[str, float] = field(default_factory=dict)  # every value the rows' targets depend on

    @property
    def values(self) -> list[list[float | None]]:
        return [[e.value for e in row] for row in self.entries]

    @property
    def failed(self) -> bool:
        return any(e.check is not None and not e.check.agrees for row in self.entries for e in row)

    def __repr__(self) -> str:
        return f"<Jacobian ∂({', '.join(self.of)})/∂({', '.join(self.wrt)}), {len(self.of)} × {len(self.wrt)}>"


def names(net: Network, text: str | None, flag: str) -> list[str]:
    """A comma list of names, a layer's outputs (a2) or pre-activations (z_a2) spelled out."""
    if text is None:
        raise DerivatorError(f"--jacobian needs {flag} NAME,NAME,...")
    out: list[str] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            raise DerivatorError(f"{flag} '{text}': an empty name between commas")
        m = LAYER.match(item)
        if net.layers and m and 1 <= int(m.group(2)) <= len(net.layers) and item not in net.nodes:
            out += [(m.group(1) or "") + n for n in net.layers[int(m.group(2)) - 1].nodes]
        else:
            out.append(item)
    twice = next((n for i, n in enumerate(out) if n in out[:i]), None)
    if twice is not None:
        raise DerivatorError(f"{flag}: '{twice}' is named twice")
    return out


def _targets(net: Network, rows: list[str]) -> list[str]:
    """The rows: nodes, or the loss; a pre-activation is a --wrt name."""
    for o in rows:
        if o.startswith("z_") and o[2:] in net.nodes:
            raise DerivatorError(f"--of: '{o}' is a pre-activation; --of takes nodes or loss, and a pre-activation "
                                 "goes in --wrt")
        if o != "loss" and o not in net.nodes:
            raise DerivatorError("--of: " + unknown("node", o, ["loss", *net.nodes] if net.loss else net.nodes))
        resolve_of(net, o)
    return rows


def jacobian(net: Network, of: str | None, wrt: str | None, at: Mapping[str, float] | None = None,
             check: bool = False, tolerance: float = checking.RELATIVE_TOLERANCE) -> Jacobian:
    """Every ∂of_i/∂wrt_j, by the delta recursion, with values and checks where the point is known."""
    if net.samples:
        raise DerivatorError(f"--jacobian works at one point; this file's 'data' has {len(net.samples)} samples, "
                             "and every node takes a value per sample")
    rows = _targets(net, names(net, of, "--of") if of is not None else list(net.outputs))
    cols = names(net, wrt, "--wrt")
    values = checking.point(net, at)
    entries = []
    for o in rows:
        b = backward(net, o)  # once per row: every entry of the row reads its deltas
        entries.append([Entry(derive(net, w, o, b)) for w in cols])
    needed = [n for row in entries for e in row for n in checking.needed(e.derivation)]
    missing = [n for n in dict.fromkeys(needed) if n not in values]
    if check:
        for row in entries:
            for e in row:
                checking.require(e.derivation, values)
    j = Jacobian(net, rows, cols, entries, {k: v for k, v in values.items() if k in needed}, missing,
                 closed_form(net, rows, cols))
    if missing:
        return j
    for row in entries:
        for e in row:
            e.check = checking.check(e.derivation, values, tolerance) if check else None
            e.value = e.check.value if e.check else checking.derivative_value(e.derivation, values)
    for o in rows:
        numbers = worked(net, o, values)
        j.forward |= {k: v for k, v in numbers.forward.items() if k != "loss" or o == "loss"} if numbers else {}
    if j.closed is not None:
        j.closed.values = _closed_values([row[0].derivation for row in entries], j.closed, values)
        j.closed.agrees = j.closed.values is not None and all(
            checking.close(a, b, 1e-12)[0] for ra, rb in zip(j.closed.values, j.values, strict=True)
            for a, b in zip(ra, rb, strict=True))
    return j


def closed_form(net: Network, rows: list[str], cols: list[str]) -> Closed | None:
    """diag(p) - p pᵀ for a softmax group by its z's; for a layer of a layers file by its inputs,
    diag(f'(z)) W[l] (or (diag(p) - p pᵀ) W[l]), and by its own z's diag(f'(z)). None for anything else."""
    if any(o not in net.nodes for o in rows):
        return None
    group = net.nodes[rows[0]].group
    if group is not None and sorted(rows) == sorted(net.groups[group]) and cols == ["z_" + o for o in rows]:
        local = plan(net, rows[0]).groups[rows[0]].local
        return Closed("diag(p) - p pᵀ", r"\operatorname{diag}(p) - p\,p^{T}", f"p = ({', '.join(rows)})",
                      [[local[i, j] for j in rows] for i in rows])
    layer = next((lay for lay in net.layers if lay.nodes == rows), None)
    if layer is None:
        return None
    n, before = layer.index, (net.inputs if layer.index == 1 else net.layers[layer.index - 2].nodes)
    if cols == before:
        return _through_weights(net, layer, rows, len(before))
    if cols == ["z_" + o for o in rows] and layer.activation.name != SOFTMAX:
        primes = [plan(net, o).prime[o] for o in rows]
        return Closed("diag(f'(z))", r"\operatorname{diag}\left(f'(z)\right)",
                      f"f = {layer.activation.name}, z = Z[{n}]",
                      [[f if i == j else sympy.S.Zero for j in range(len(rows))] for i, f in enumerate(primes)])
    return None


def _through_weights(net: Network, layer, rows: list[str], inputs: int) -> Closed:
    """A layer's outputs by its inputs: its activation's Jacobian times W[l]."""
    n = layer.index
    weights = [[symbol(f"W{n}_{i}_{k}") for k in range(1, inputs + 1)] for i in range(1, layer.units + 1)]
    if layer.activation.name == SOFTMAX:
        local = plan(net, rows[0]).groups[rows[0]].local
        entries = [[sympy.Add(*[local[i, k] * weights[kk][jj] for kk, k in enumerate(rows)]) for jj in range(inputs)]
                   for i in rows]
        return Closed(f"(diag(p) - p pᵀ) W[{n}]", rf"\left(\operatorname{{diag}}(p) - p\,p^{{T}}\right) W^{{[{n}]}}",
                      f"p = A[{n}]", entries)
    primes = [plan(net, o).prime[o] for o in rows]
    return Closed(f"diag(f'(z)) W[{n}]", rf"\operatorname{{diag}}\left(f'(z)\right) W^{{[{n}]}}",
                  f"f = {layer.activation.name}, z = Z[{n}]",
                  [[f * w for w in row] for f, row in zip(primes, weights, strict=True)])


def _closed_values(ds: list[Derivation], closed: Closed, values: Mapping[str, float]) -> list[list[float]] | None:
    """The closed form's entries at the point, over an mpmath forward pass for each row's target."""
    with mpmath.workdps(checking.PRECISE_DIGITS[0]):
        try:
            env = {}
            for d in ds:
                env |= checking.forward(d, values, precise=True, target=False).env
            return [[float(value(e, env, precise=True)) for e in row] for row in closed.entries]
        except (UndefinedError, KeyError):
            return None
