"""`--plot OUT.png`: the target against the `--wrt` variable near the point, with the tangent line.

The graphing-calculator check as a picture: the curve comes from the compiled forward pass (with
data, the mean over the samples), the tangent's slope is the derivative the tool derived, and the
point and the slope are written on the plot. matplotlib draws it off-screen (Agg), into a PNG.
"""

from __future__ import annotations

import io
import math

from derivator.answers.report import Report
from derivator.errors import DerivatorError
from derivator.numbers import checking, sweep
from derivator.numbers.evaluate import UndefinedError
from derivator.numbers.penalty import penalty_value
from derivator.render import notation
from derivator.render.output import Outputs, write_now

POINTS = 241  # samples of the curve, at most
# Each point of the curve is a float64 forward pass per sample of `data:`, some 16 µs plus 0.23 µs per
# weight and node here: counted as (weights + nodes + PASS_COST) steps per sample, the curve has as many
# points as MAX_PLOT_WORK steps allow (some 2.5 s), and at least MIN_POINTS (31 for 3,846 samples of a
# 2-3-1 network, at the cap of 50,000 steps a pass; all 241 without data).
MAX_PLOT_WORK = 10_000_000
PASS_COST = 70
MIN_POINTS = 9
LARGEST = 1e300  # the largest |value| on an axis: matplotlib's tick steps overflow near float64's limit


def curve(r: Report, values: dict[str, float]) -> tuple[float, float, list[float], list[float]]:
    """θ0, the target there, and the curve over θ0 ± max(1, |θ0|) (NaN where it is undefined)."""
    d = r.derivation
    c = sweep.compiled(d.net, d.of)
    points = checking.samples(d.net, values)
    if d.kind in ("parameter", "input"):
        theta = values[d.wrt]
    else:
        state = c.forward(points[0], target=False)
        theta = float(state.o[c.index[d.wrt]] if d.kind == "node" else state.z[c.index[d.wrt[2:]]])
    half = max(1.0, abs(theta))
    if not (math.isfinite(theta) and abs(theta) + half <= LARGEST):
        raise DerivatorError(f"--plot: {d.wrt} = {theta:.6g} is too large to plot around (the axis would pass "
                             f"±{LARGEST:.0e})")
    n = points_for(d.net)
    xs = [theta + half * (2 * i / (n - 1) - 1) for i in range(n)]  # the middle one is θ0 itself
    penalty = d.of == "loss" and d.kind == "parameter"

    def at(x: float) -> float:  # J: the loss reduced over the samples, plus the penalty once
        shifted = [c.forward(p, nudge=(d.wrt, x - theta)).target for p in points]
        extra = penalty_value(d.net, {**points[0], d.wrt: x}) if penalty else 0.0
        return checking.combine(d.net, shifted) + extra

    ys = []
    for x in xs:
        try:
            ys.append(at(x))
        except (UndefinedError, OverflowError):
            ys.append(math.nan)
    try:
        return theta, at(theta), xs, ys
    except (UndefinedError, OverflowError):
        raise DerivatorError("--plot: the target has no finite float64 value at the point") from None


def points_for(net) -> int:
    """How many points the curve gets: POINTS, or fewer where the data make each one costly (odd, so that
    one falls on θ0)."""
    per_point = max(len(net.samples), 1) * (len(net.edges) + len(net.nodes) + PASS_COST)
    n = max(MIN_POINTS, min(POINTS, MAX_PLOT_WORK // per_point))
    return n if n % 2 else n - 1


def write(r: Report, values: dict[str, float], path: str, files: Outputs | None = None) -> None:
    """The plot to `path`, into `files` (renamed into place when the run succeeds) or at once."""
    if not path.lower().endswith(".png"):
        raise DerivatorError(f"--plot {path}: the name must end in .png")
    if r.value is None:
        raise DerivatorError("--plot needs the derivative's value at the point: give every value with --at")
    if not math.isfinite(r.value):
        raise DerivatorError(f"--plot: the derivative at the point is past float64 ({r.value}): no tangent to draw")
    theta, y0, xs, ys = curve(r, values)
    _drawable(y0, ys)
    png = _draw(r, theta, y0, xs, ys)
    if files is None:
        write_now(path, "--plot", lambda f: f.write(png))
    else:
        files.write(path, "--plot", lambda f: f.write(png))


def _drawable(y0: float, ys: list[float]) -> None:
    """matplotlib's axes need spans it can compute (its tick steps overflow near 1e308): refuse, in one
    line, a range past LARGEST rather than fail inside it."""
    top = max([abs(y) for y in ys if math.isfinite(y)], default=0.0)
    if not (math.isfinite(y0) and abs(y0) <= LARGEST and top <= LARGEST):
        raise DerivatorError(f"--plot: the target reaches {max(top, abs(y0)):.6g} near the point, too large to plot "
                             f"(past ±{LARGEST:.0e})")


def _draw(r: Report, theta: float, y0: float, xs: list[float], ys: list[float]) -> bytes:
    """The PNG's bytes (drawn off-screen; numpy's warnings on huge numbers silenced, stderr stays one line)."""
    import warnings

    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    d = r.derivation
    shown = notation.Notation(d.net).name  # the file's notation: the loss as e, z_x as s
    of, wrt = ("J" if d.net.samples else shown(d.of)), shown(d.wrt)
    lhs = f"∂{of}/∂{wrt}"
    finite = [y for y in ys if math.isfinite(y)]
    tangent = [_finite(y0 + r.value * (x - theta)) for x in xs]
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
        try:
            ax.plot(xs, ys, color="#1f4e79", linewidth=2, label=f"{of} against {wrt}")
            ax.plot(xs, tangent, color="#c0392b", linewidth=1.5, linestyle="--",
                    label=f"tangent, slope {lhs} = {r.value:.6g}")
            ax.plot([theta], [y0], "o", color="#c0392b", markersize=7)
            ax.annotate(f"{wrt} = {theta:.6g}\nslope {r.value:.6g}", (theta, y0), textcoords="offset points",
                        xytext=(10, -30), fontsize=10)
            if finite:
                low, high = min(finite), max(finite)
                span = high - low
                ax.set_ylim(low - 0.15 * span - 1e-12, high + 0.15 * span + 1e-12)
            ax.set_xlabel(wrt)
            ax.set_ylabel(of)
            ax.set_title(f"The target near the point, and the tangent whose slope is {lhs}")
            ax.legend(loc="best", fontsize=9)
            ax.grid(alpha=0.3)
            fig.tight_layout()
            fig.savefig(buffer, format="png")
        except (ValueError, OverflowError, FloatingPointError) as e:  # numbers matplotlib cannot lay out
            raise DerivatorError(f"--plot: matplotlib cannot draw these numbers ({type(e).__name__}: {e})") from None
        finally:
            plt.close(fig)
    return buffer.getvalue()


def _finite(y: float) -> float:
    """A tangent's point, or NaN (not drawn) past what the axes hold."""
    return y if math.isfinite(y) and abs(y) <= LARGEST else math.nan
