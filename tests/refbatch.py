"""Batch normalisation (CONTRACT section 7) for the reference engine, from the contract alone: a test
oracle that shares no code with derivator's loader.

A ``layers:`` spec over plain inputs with ``batch_norm: true`` layers is written here as one ``nodes`` +
``edges`` network holding every sample of ``data:``: node ``v`` of sample s is ``v__s{s}`` (the engine's
parser reads identifiers only); weights, gamma and beta keep their names, shared by the samples. Unit j of
a batch-normalised layer l is h (no bias), then μ_B and σ²_B (biased) over the batch, x̂ = (h - μ_B) /
sqrt(σ²_B + ε), and f(gamma x̂ + beta). The engine evaluates the whole batch as one sample; J is that sum
of the samples' losses over m (``reduction: sum``: the sum itself). Every derivative is handed back, under
derivator's names (``x1#2``, ``z_a1_1#2``).
"""

from __future__ import annotations


def wanted(spec: dict) -> bool:
    return "layers" in spec and any(layer.get("batch_norm") for layer in spec["layers"])


def evaluate_batch_norm(spec: dict, point: dict, of, formulas, kinks, evaluate) -> tuple[float, dict[str, float]]:
    from refengine import expand_point
    if spec.get("penalty") or spec.get("regularization") or of not in ("loss", None):
        raise NotImplementedError("the batch-norm oracle derives the loss without a penalty")
    data = spec["data"]
    m = len(data)
    nodes: dict = {}
    edges: list = []
    previous = [[f"{x}__s{s}" for x in spec["inputs"]] for s in range(1, m + 1)]
    for l, layer in enumerate(spec["layers"], start=1):
        units, act = int(layer["units"]), layer.get("activation", "identity")
        current = [[] for _ in range(m)]
        for j in range(1, units + 1):
            hs = []
            for s in range(m):
                name = f"{'h' if layer.get('batch_norm') else 'a'}{l}_{j}__s{s + 1}"
                node = {"activation": "identity" if layer.get("batch_norm") else act}
                if layer.get("bias", True) and not layer.get("batch_norm"):
                    node["bias"] = f"b{l}_{j}"
                if act == "softmax" and not layer.get("batch_norm"):
                    node["group"] = f"layer {l} sample {s + 1}"
                nodes[name] = node
                edges += [[src, name, f"W{l}_{j}_{k}"] for k, src in enumerate(previous[s], start=1)]
                hs.append(name)
            if not layer.get("batch_norm"):
                for s in range(m):
                    current[s].append(hs[s])
                continue
            eps = float(layer.get("epsilon", 1e-5))
            mu, var = f"mu{l}_{j}", f"var{l}_{j}"
            nodes[mu] = {"formula": f"({' + '.join(hs)}) / {m}"}
            nodes[var] = {"formula": "(" + " + ".join(f"({h} - {mu})^2" for h in hs) + f") / {m}"}
            for s, h in enumerate(hs, 1):
                zhat, a = f"zhat{l}_{j}__s{s}", f"a{l}_{j}__s{s}"
                nodes[zhat] = {"formula": f"({h} - {mu}) / sqrt({var} + {eps!r})"}
                nodes[a] = {"activation": act, "bias": f"beta{l}_{j}"}
                edges.append([zhat, a, f"gamma{l}_{j}"])
                current[s - 1].append(a)
        previous = current
    loss = dict(spec["loss"])
    targets = loss["target"] if isinstance(loss["target"], list) else [loss["target"]]
    reduction = loss.pop("reduction", "mean")
    loss["target"] = [f"{t}__s{s}" if isinstance(t, str) else t for s in range(1, m + 1) for t in targets]
    values = {f"{k}__s{s}": v for s, sample in enumerate(data, 1) for k, v in sample.items()}
    flat = {"inputs": [x for xs in [[f"{x}__s{s}" for x in spec["inputs"]] for s in range(1, m + 1)] for x in xs],
            "nodes": nodes, "edges": edges, "output": [o for outs in previous for o in outs], "loss": loss,
            "at": expand_point(spec.get("at") or {})}
    total, grads = evaluate(flat, {**point, **values}, of="loss", formulas=formulas, with_penalty=False, kinks=kinks)
    scale = 1.0 / m if reduction == "mean" else 1.0
    return total * scale, {k.replace("__s", "#"): v * scale for k, v in grads.items()}  # x1__s2 is x1#2
