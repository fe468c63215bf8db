"""`--format json`: one object, keys as CONTRACT section 3."""

from __future__ import annotations

import json
import math

from derivator.answers.report import Report
from derivator.render import through_time, time_tables
from derivator.render.steps import work, writable
from derivator.symbolic.printing import code, nested_code, nested_tex, tex


def as_dict(r: Report) -> dict:
    d = r.derivation
    result_fits, fits = writable(d)  # past the documented size, null: the other forms remain
    whole = r.averaged()  # with data, J's derivative in parameters: each sample put in, averaged
    out: dict = {
        "of": d.of,
        "wrt": d.wrt,
        "derivative": {"text": code(whole) if whole is not None else None,
                       "latex": tex(whole) if whole is not None else None},
        "in_node_values": {"text": nested_code(d.nested) if result_fits else None,
                           "latex": nested_tex(d.nested) if result_fits else None},
        "deltas": {v: nested_code(p) if v in fits else None for v, p in d.deltas_nested.items()},
        "at": r.point,
        "value": r.value,
    }
    out.update(worked_json(r.worked, set(d.deltas_nested)))
    if d.net.recurrence is not None:
        out.update(time_tables.as_json(r, through_time.fold(work(r), r)))
    if r.samples:
        out["samples"] = r.samples  # in_node_values and deltas are one sample's; value is the mean
    if r.missing:
        out["missing"] = r.missing
    if r.check is not None:
        out["check"] = check_json(r.check)
    if r.candidate is not None:
        v = r.candidate
        out["candidate"] = {"agrees": v.agrees, "value": finite(v.value), "ratio": finite(v.ratio),
                            "diagnosis": v.diagnosis, "text": code(v.expr), "method": v.method}
        if v.inconclusive:  # agrees is false: too few points could be compared to tell
            out["candidate"]["inconclusive"] = True
    return out


def check_json(c) -> dict:
    """One derivative's numerical check (a first or a second derivative's), as the contract's `check`."""
    out = {"numeric": c.numeric, "relative_error": c.relative_error, "agrees": c.agrees, "method": c.method}
    if c.kinks:
        out["not_differentiable"] = c.kinks
    if c.inconclusive:  # no numerical derivative within the work cap: neither agrees nor disagrees
        out["inconclusive"] = True
    return out


def worked_json(w, deltas: set[str] | None = None) -> dict:
    """CONTRACT section 9: `forward` (every value, z_NODE and the loss) and `delta_values`, to 15
    significant digits; with data, the first sample's, beside each sample's loss and the target J."""
    if w is None:
        return {}
    out = {"forward": {k: _digits(v) for k, v in w.forward.items()},
           "delta_values": {k: _digits(v) for k, v in w.deltas.items() if deltas is None or k in deltas}}
    if len(w.losses) > 1:
        out["losses"] = [_digits(x) for x in w.losses]  # beside `forward`: a node may be named "losses"
    if w.target is not None and (len(w.losses) > 1 or w.target != w.losses[0]):
        out["target"] = _digits(w.target)
    return out


def _digits(x: float) -> float:
    return float(f"{x + 0.0:.15g}") if math.isfinite(x) else x


def finite(x: float | None) -> float | None:
    """JSON has no Infinity or NaN: a value too large for a float is null."""
    return x if x is not None and math.isfinite(x) else None


def clean(x):
    """Every float that JSON cannot hold (beyond float64, or undefined) as null, throughout."""
    if isinstance(x, float):
        return finite(x)
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items()}
    if isinstance(x, list):
        return [clean(v) for v in x]
    return x


def dumps(d: dict) -> str:
    return json.dumps(clean(d), indent=2, allow_nan=False) + "\n"


def render_json(r: Report) -> str:
    return dumps(as_dict(r))
