"""`--plot OUT.png`: the target against the `--wrt` variable near the point, with the tangent line.

The graphing-calculator check as a picture: the curve comes from the compiled forward pass (with
data, the mean over the samples), the tangent's slope is the derivative the tool derived, and the
point and the slope are written on the plot. matplotlib draws it off-screen (Agg), into a PNG.
"""

from __future__ import annotations

import math

from derivator.answers.report import Report
from derivator.errors import DerivatorError
from derivator.numbers import checking, sweep
from derivator.numbers.evaluate import UndefinedError
from derivator.numbers.penalty import penalty_value

POINTS = 241  # samples of the curve


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
    xs = [theta - half + 2 * half * i / (POINTS - 1) for i in range(POINTS)]
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
    return theta, at(theta), xs, ys


def write(r: Report, values: dict[str, float], path: str) -> None:
    if not path.lower().endswith(".png"):
        raise DerivatorError(f"--plot {path}: the name must end in .png")
    if r.value is None or not math.isfinite(r.value):
        raise DerivatorError("--plot needs the derivative's value at the point: give every value with --at")
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    d = r.derivation
    theta, y0, xs, ys = curve(r, values)
    lhs = f"∂{'J' if d.net.samples else d.of}/∂{d.wrt}"
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    ax.plot(xs, ys, color="#1f4e79", linewidth=2, label=f"{'J' if d.net.samples else d.of} against {d.wrt}")
    finite = [y for y in ys if math.isfinite(y)]
    span = (max(finite) - min(finite)) if finite else 1.0
    tangent = [y0 + r.value * (x - theta) for x in xs]
    ax.plot(xs, tangent, color="#c0392b", linewidth=1.5, linestyle="--", label=f"tangent, slope {lhs} = {r.value:.6g}")
    ax.plot([theta], [y0], "o", color="#c0392b", markersize=7)
    ax.annotate(f"{d.wrt} = {theta:.6g}\nslope {r.value:.6g}", (theta, y0), textcoords="offset points",
                xytext=(10, -30), fontsize=10)
    if finite:
        ax.set_ylim(min(finite) - 0.15 * span - 1e-12, max(finite) + 0.15 * span + 1e-12)
    ax.set_xlabel(d.wrt)
    ax.set_ylabel("J" if d.net.samples else d.of)
    ax.set_title(f"The target near the point, and the tangent whose slope is {lhs}")
    ax.legend(loc="best", fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    try:
        fig.savefig(path, format="png")
    except OSError as e:
        raise DerivatorError(f"--plot {path}: cannot write: {e.strerror or e}") from None
    finally:
        plt.close(fig)
