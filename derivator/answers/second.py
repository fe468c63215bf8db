"""Second derivatives (CONTRACT section 8): `--wrt A --wrt B`, and `--hessian`.

`Second` is one mixed partial ∂²T/∂A∂B: the forward-mode lines in direction B over the backward plan,
A's first derivative term by term differentiated, its value, and with `--check` a central difference
of the first derivative. `Hessian` is the whole matrix over several names: one forward-mode pass per
column (a Hessian-vector product), every entry, its largest asymmetry (the matrix is symmetric in
exact arithmetic, so this shows the rounding), its eigenvalues (mpmath's symmetric solver, on the
symmetric part), every entry checked, and the Gauss-Newton part Jᵀ H_L J beside it where the loss
has one (squared error, cross-entropy).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import mpmath

from derivator.answers import matrix_form
from derivator.answers.display import Displayed
from derivator.answers.jacobian import names as comma_names
from derivator.errors import DerivatorError
from derivator.graph.equations import resolve_of
from derivator.graph.network import Network
from derivator.numbers import checking
from derivator.numbers import second as numbers
from derivator.numbers.worked import Worked, worked
from derivator.symbolic.second import Inliner, Mixed, check_names, curvature, mixed, tangent

SHORT = 60  # tree size up to which a Hessian entry's node-value form is printed
FORMS = 30  # names up to which a Hessian's entries get node-value forms (past it, n² forms are too many to read)
MAX_NAMES = 300  # a Hessian's entries grow as n²: past this, name fewer (bounded time and memory)
SMALL = 24  # names up to which the eigenvalues come from mpmath
WHOLE = 4000  # tree size up to which one mixed partial's node-value form is printed


def _needed(net: Network, of: str, names: list[str]) -> list[str]:
    from derivator.symbolic.derive import derive  # the first derivative's needs are the second's
    out: list[str] = []
    for n in names:
        out += checking.needed(derive(net, n, of))
    return list(dict.fromkeys(out))


def _point(net: Network, of: str, names: list[str], at: Mapping[str, float] | None, check: bool):
    values = checking.point(net, at)
    needed = _needed(net, of, names)
    missing = [n for n in needed if n not in values and not (net.samples and _per_sample(net, n))]
    if check and missing:
        raise DerivatorError(f"no value for {', '.join(missing)}: give "
                             f"{'them' if len(missing) > 1 else 'it'} with --at NAME=VALUE or in 'at:'")
    return values, needed, missing


def _per_sample(net: Network, name: str) -> bool:
    return all(name in s for s in net.samples)


@dataclass(repr=False)
class Second(Displayed):
    net: Network
    of: str
    a: str
    b: str
    mixed: Mixed
    point: dict[str, float]
    missing: list[str]
    value: float | None = None
    lines: dict[str, float] = field(default_factory=dict)  # each line's value (the first sample's)
    check: numbers.Check | None = None
    worked: Worked | None = None

    @property
    def failed(self) -> bool:
        return self.check is not None and not self.check.agrees

    def __repr__(self) -> str:
        return f"<Second ∂²{self.of}/∂{self.a}∂{self.b} = {self.value}>"


def second(net: Network, a: str, b: str, of: str | None = None, at: Mapping[str, float] | None = None,
           check: bool = False, tolerance: float = checking.RELATIVE_TOLERANCE) -> Second:
    """∂²target/∂a∂b by the network's structure, with its value and (with `check`) a numerical check."""
    of = resolve_of(net, of)
    check_names(net, [a, b])
    m = mixed(net, of, a, b)
    values, needed, missing = _point(net, of, [a, b], at, check)
    s = Second(net, of, a, b, m, {k: v for k, v in values.items() if k in needed}, missing)
    if missing:
        return s
    got = numbers.values(net, of, [(m.tangent, [m])], values)
    s.value, s.lines = got.entries[0][0], got.lines[0]
    s.worked = worked(net, of, values)
    if check:
        s.check = numbers.check_column(net, of, b, [a], [s.value], values, tolerance)[0]
    return s


@dataclass(repr=False)
class Hessian(Displayed):
    net: Network
    of: str
    names: list[str]
    entries: list[list[Mixed]]  # row A, column B
    point: dict[str, float]
    missing: list[str]
    values: list[list[float]] | None = None  # row A, column B
    eigenvalues: list[float] | None = None
    asymmetry: float | None = None
    checks: list[list[numbers.Check]] | None = None
    gauss_newton: list[list[float]] | None = None
    gauss_newton_name: str = ""
    forms: list[list[object]] = field(default_factory=list)  # each entry in node values, or None when long

    @property
    def failed(self) -> bool:
        return self.checks is not None and any(not c.agrees for row in self.checks for c in row)

    def __repr__(self) -> str:
        return f"<Hessian of {self.of}, {len(self.names)} × {len(self.names)}>"


def pair(net: Network, names: list[str], of: str | None = None, at: Mapping[str, float] | None = None,
         check: bool = False, tolerance: float = checking.RELATIVE_TOLERANCE) -> Second:
    """`second` with the two names as a list (the command line's two --wrt)."""
    return second(net, names[0], names[1], of, at, check, tolerance)


def hessian_names(net: Network, wrt: str | tuple | None) -> list[str]:
    """--wrt all, or a comma list of names and whole matrices (W2,b2: their entries, row by row)."""
    if isinstance(wrt, tuple):
        raise DerivatorError("--hessian takes one --wrt: all, a whole matrix such as W1, or NAME,NAME,...")
    if wrt is None:
        raise DerivatorError("--hessian needs --wrt all, a whole matrix such as W1, or NAME,NAME,...")
    if wrt == "all":
        if not net.params:
            raise DerivatorError("--wrt all: the network has no parameters (weights and biases given by name)")
        return list(net.params)
    out: list[str] = []
    for item in wrt.split(","):
        whole = matrix_form.whole(net, item.strip())
        out += [n for row in whole for n in row] if whole else comma_names(net, item, "--wrt")
    twice = next((n for i, n in enumerate(out) if n in out[:i]), None)
    if twice is not None:
        raise DerivatorError(f"--wrt: '{twice}' is named twice")
    return out


def hessian(net: Network, names: list[str], of: str | None = None, at: Mapping[str, float] | None = None,
            check: bool = False, tolerance: float = checking.RELATIVE_TOLERANCE) -> Hessian:
    """Every ∂²target/∂a∂b over `names`: one forward-mode pass per column."""
    of = resolve_of(net, of)
    check_names(net, names)
    if len(names) > MAX_NAMES:
        raise DerivatorError(f"--hessian over {len(names)} names is a {len(names)} × {len(names)} matrix; at most "
                             f"{MAX_NAMES} names here (name some with --wrt NAME,NAME,... or a whole matrix)")
    tangents = [tangent(net, of, b) for b in names]
    entries = [[mixed(net, of, a, b, t) for t, b in zip(tangents, names, strict=True)] for a in names]
    values, needed, missing = _point(net, of, names, at, check)
    h = Hessian(net, of, names, entries, {k: v for k, v in values.items() if k in needed}, missing)
    by = Inliner(net, of, SHORT)  # each line and δ written out once, for every entry
    h.forms = [[e.inlined(SHORT, by) if len(names) <= FORMS else None for e in row] for row in entries]
    bend = curvature(net, of)
    if bend is not None:
        h.gauss_newton_name = bend[2]
    if missing:
        return h
    columns = [(t, [entries[i][j] for i in range(len(names))]) for j, t in enumerate(tangents)]
    got = numbers.values(net, of, columns, values, bend[:2] if bend else None)
    n = len(names)
    h.values = [[got.entries[j][i] for j in range(n)] for i in range(n)]
    h.gauss_newton = [[got.gauss_newton[j][i] for j in range(n)] for i in range(n)] if bend else None
    h.asymmetry = max((abs(h.values[i][j] - h.values[j][i]) for i in range(n) for j in range(i)), default=0.0)
    h.eigenvalues = eigenvalues(h.values)
    if check:
        cols = [numbers.check_column(net, of, b, names, [h.values[i][j] for i in range(n)], values, tolerance)
                for j, b in enumerate(names)]
        h.checks = [[cols[j][i] for j in range(n)] for i in range(n)]
    return h


def eigenvalues(m: list[list[float]]) -> list[float]:
    """The eigenvalues of the symmetric part (H + Hᵀ)/2, ascending: mpmath's symmetric solver at 30 digits
    for a small matrix, LAPACK's (numpy.linalg.eigvalsh, backward stable) past SMALL names, where mpmath's
    pure-Python solver takes a minute for 85 × 85."""
    n = len(m)
    if n > SMALL:
        import numpy  # a dependency already (of matplotlib); loaded only for a large Hessian
        sym = numpy.array(m, dtype=float)
        return [float(x) for x in numpy.linalg.eigvalsh((sym + sym.T) / 2)]
    with mpmath.workdps(30):
        sym = mpmath.matrix([[(mpmath.mpf(m[i][j]) + m[j][i]) / 2 for j in range(n)] for i in range(n)])
        e, _ = mpmath.eigsy(sym)
        return sorted(float(x) for x in e)
