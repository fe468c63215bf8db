"""`--format json`: one object, keys as CONTRACT section 3."""

from __future__ import annotations

import json

from ..report import Report
from .printing import code, tex


def as_dict(r: Report) -> dict:
    d = r.derivation
    out: dict = {
        "of": d.of,
        "wrt": d.wrt,
        "derivative": {"text": code(r.expanded) if r.expanded is not None else None,
                       "latex": tex(r.expanded) if r.expanded is not None else None},
        "in_node_values": {"text": code(d.result), "latex": tex(d.result)},
        "deltas": {v: code(delta) for v, delta in d.deltas.items()},
        "at": r.point,
        "value": r.value,
    }
    if r.missing:
        out["missing"] = r.missing
    if r.check is not None:
        c = r.check
        out["check"] = {"numeric": c.numeric, "relative_error": c.relative_error, "agrees": c.agrees,
                        "method": c.method}
        if c.kinks:
            out["check"]["not_differentiable"] = c.kinks
    return out


def render_json(r: Report) -> str:
    return json.dumps(as_dict(r), indent=2)
