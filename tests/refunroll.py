"""Independent unrolling through time (CONTRACT section 6) for the reference engine: a test oracle.

A spec with ``steps: T`` and edges with ``delay: 1`` is rewritten here, from the raw YAML data and
without any of derivator's code, into the plain ``nodes`` + ``edges`` form that ``refengine``
evaluates: node ``h`` at step t becomes ``h__t`` (the engine's formula parser reads identifiers
only), an edge with a delay runs from ``h__{t-1}`` to step t, ``h__0`` is an input (0 unless given),
weights and biases keep their names (shared by every step). ``loss.steps: last`` keeps only the
last step's outputs. Per-step lists in ``at`` and ``data`` become one value per step, and the
results are handed back under derivator's names (``h@t``, ``z_h@t``).
"""

from __future__ import annotations

import re

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def step_name(name: str, t: int) -> str:
    return f"{name}__{t}"


def _edges(spec: dict) -> list[tuple[str, str, object, int]]:
    out = []
    for e in spec.get("edges") or []:
        if isinstance(e, dict):
            out.append((e["from"], e["to"], e["weight"], int(e.get("delay", 0))))
        else:
            out.append((e[0], e[1], e[2], 0))
    return out


def _recurrent_layers(spec: dict) -> dict:
    """A layers spec as nodes and edges, with U{l}_j_k from unit k at the previous step for `recurrent: true`."""
    from refengine import expand_layers

    params = {k: v for k, v in (spec.get("at") or {}).items() if k[0] in "WbU" and k[1:].isdigit()}
    plain = expand_layers({**spec, "at": params})
    edges = [list(e) for e in plain["edges"]]
    for l, layer in enumerate(spec["layers"], start=1):
        if layer.get("recurrent"):
            units = int(layer["units"])
            edges += [{"from": f"a{l}_{k}", "to": f"a{l}_{j}", "weight": f"U{l}_{j}_{k}", "delay": 1}
                      for j in range(1, units + 1) for k in range(1, units + 1)]
    at = {k: v for k, v in (spec.get("at") or {}).items() if k not in params}
    return {**plain, "edges": edges, "at": {**plain.get("at", {}), **at}}


def unroll(spec: dict) -> tuple[dict, dict[str, str]]:
    """The unrolled spec, and the map from its names back to derivator's (x__2 -> x@2)."""
    if "layers" in spec:
        spec = _recurrent_layers(spec)
    steps = int(spec["steps"])
    inputs = list(spec["inputs"])
    nodes = spec["nodes"]
    loss = dict(spec["loss"]) if spec.get("loss") else None
    last = bool(loss) and loss.pop("steps", "all") == "last"
    edges = _edges(spec)
    initial = list(dict.fromkeys(src for src, _, _, delay in edges if delay))
    per_step = set(inputs) | set(nodes)
    back: dict[str, str] = {}

    def named(name: str, t: int) -> str:
        back[step_name(name, t)] = f"{name}@{t}"
        return step_name(name, t)

    out_nodes = {}
    for t in range(1, steps + 1):
        for v, body in nodes.items():
            body = dict(body)
            if "formula" in body:
                body["formula"] = NAME.sub(lambda m, t=t: named(m.group(), t) if m.group() in per_step
                                           else m.group(), body["formula"])
            out_nodes[named(v, t)] = body
    out_edges = []
    for t in range(1, steps + 1):
        for src, dst, w, delay in edges:
            out_edges.append([named(src, t - delay), named(dst, t), w])
    outputs = spec["output"] if isinstance(spec["output"], list) else [spec["output"]]
    read = [steps] if last else list(range(1, steps + 1))
    out = {k: v for k, v in spec.items() if k not in ("steps", "inputs", "nodes", "edges", "output", "loss", "at",
                                                      "data", "layers")}
    out["inputs"] = [named(h, 0) for h in initial] + [named(x, t) for t in range(1, steps + 1) for x in inputs]
    out["nodes"], out["edges"] = out_nodes, out_edges
    out["output"] = [named(o, t) for t in read for o in outputs]
    targets = set()
    if loss is not None:
        ys = loss["target"] if isinstance(loss["target"], list) else [loss["target"]]
        targets = {y for y in ys if isinstance(y, str)}
        loss["target"] = [named(y, t) if isinstance(y, str) else y for t in read for y in ys]
        out["loss"] = loss
    out["at"] = {named(h, 0): 0.0 for h in initial}
    out["at"].update(values(spec.get("at") or {}, set(inputs), targets, steps, last, named))
    if spec.get("data"):
        out["data"] = [values(sample, set(inputs), targets, steps, last, named) for sample in spec["data"]]
    return out, back


def values(given: dict, inputs: set, targets: set, steps: int, last: bool, named) -> dict:
    """One value per step for an input or target given as a list; x@2 as x__2; anything else as it is."""
    out = {}
    for name, value in given.items():
        if "@" in name:
            head, t = name.split("@")
            out[named(head, int(t))] = value
        elif name in inputs or name in targets:
            if not isinstance(value, list):
                out[named(name, steps)] = value
                continue
            assert len(value) == steps, (name, value)
            for t, v in enumerate(value, start=1):
                if not (last and name in targets and t != steps):
                    out[named(name, t)] = v
        else:
            out[name] = value
    return out


def evaluate_through_time(spec: dict, point: dict, of: str | None, formulas, kinks, evaluate_batch):
    """refengine's evaluate_batch on the unrolled spec, with derivator's names in and out."""
    plain, back = unroll(spec)
    point = {(k.replace("@", "__")): v for k, v in point.items()}
    of = of.replace("@", "__") if of else of
    target, grads = evaluate_batch(plain, point, of=of, formulas=formulas, kinks=kinks)
    names = {**back, **{"z_" + k: "z_" + v for k, v in back.items()}}
    return target, {names.get(k, k): v for k, v in grads.items()}
