"""`--format text`: the derivative, its deltas, its value and its check, for a terminal."""

from __future__ import annotations

from ..report import Report
from .printing import unicode


def _label(name: str) -> str:
    return "loss" if name == "loss" else name


def render_text(r: Report) -> str:
    d = r.derivation
    lhs = f"∂{_label(d.of)}/∂{d.wrt}"
    lines = [f"{lhs} = {unicode(d.result)}"]
    if r.expanded is not None and r.expanded != d.result:
        lines.append(f"{' ' * len(lhs)} = {unicode(r.expanded)}")
    elif r.expanded is None:
        lines.append(f"{' ' * len(lhs)}   (too large to write in inputs and parameters alone)")
    if d.deltas:
        lines += ["", "deltas (δ_v = ∂" + _label(d.of) + "/∂z_v):"]
        lines += [f"  δ_{v} = {unicode(delta)}" for v, delta in d.deltas.items()]
    lines.append("")
    if r.value is not None:
        at = ", ".join(f"{k} = {v:g}" for k, v in r.point.items())
        lines.append(f"at {at}:" if at else "value:")
        lines.append(f"  {lhs} = {r.value:.15g}")
    else:
        lines.append(f"value: needs {', '.join(r.missing)} (give --at NAME=VALUE)")
    if r.check is not None:
        c = r.check
        verdict = "agrees" if c.agrees else "DISAGREES"
        lines.append(f"check: {verdict}: {c.method} gives {c.numeric:.15g} "
                     f"(relative error {c.relative_error:.2g})")
        lines += [f"  {k}" for k in c.kinks]
    return "\n".join(lines) + "\n"
