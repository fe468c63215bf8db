"""Grid inputs, conv and pool layers (CONTRACT section 7) expanded for the reference engine, from the
contract alone: a test oracle that shares no code with derivator's loader.

``expand_grids`` turns a ``layers:`` spec with conv and pool layers into the ``nodes`` + ``edges`` form
``refengine.evaluate`` reads: input ``I`` of shape [H, W] has entries ``I_r_c`` ([C, H, W]: ``I_c_r_c``,
[N]: ``I_i``); conv layer l has nodes ``a{l}_f_r_c`` with bias ``b{l}_f`` and an edge from every input
entry its kernel covers, weight ``K{l}_f_c_i_j``; a padded position is zero, so no edge. A max pooling
node is the formula ``max(...)`` of its window (padding left out), an average one ``(... )/n`` with n
the whole window. A dense layer after a grid reads it flattened by channel, row, column.
"""

from __future__ import annotations

import itertools


def _sizes(value, dims: int) -> list[int]:
    return [int(v) for v in value] if isinstance(value, list) else [int(value)] * dims


def _name(prefix: str, idx) -> str:
    return prefix + "".join(f"_{i + 1}" for i in idx)


def _flatten(value) -> list[float]:
    if isinstance(value, list):
        return [x for v in value for x in _flatten(v)]
    return [value]


def _layer_norm(l: int, layer: dict, previous: list[str], nodes: dict, edges: list) -> list[str]:
    """Normalised over the layer's units, as the contract writes it: z, μ, σ² (biased), ẑ, then gamma ẑ + beta."""
    n, eps = int(layer["units"]), float(layer.get("epsilon", 1e-5))
    zs = [f"h{l}_{j}" for j in range(1, n + 1)]
    for j, z in enumerate(zs, 1):
        nodes[z] = {"activation": "identity"}
        edges.extend([src, z, f"W{l}_{j}_{k}"] for k, src in enumerate(previous, start=1))
    nodes[f"mu{l}"] = {"formula": f"({' + '.join(zs)}) / {n}"}
    nodes[f"var{l}"] = {"formula": "(" + " + ".join(f"({z} - mu{l})^2" for z in zs) + f") / {n}"}
    out = []
    for j, z in enumerate(zs, 1):
        nodes[f"zhat{l}_{j}"] = {"formula": f"({z} - mu{l}) / sqrt(var{l} + {eps!r})"}
        nodes[f"a{l}_{j}"] = {"activation": layer.get("activation", "identity"), "bias": f"beta{l}_{j}"}
        edges.append([f"zhat{l}_{j}", f"a{l}_{j}", f"gamma{l}_{j}"])
        out.append(f"a{l}_{j}")
    return out


def expand_grids(spec: dict) -> dict:
    if not isinstance(spec["inputs"], dict) or not any(isinstance(v, dict) for v in spec["inputs"].values()):
        return _plain_inputs(spec)
    (grid_name, body), = spec["inputs"].items()
    shape = list(body["shape"])
    channels, spatial = (shape[0], shape[1:]) if len(shape) == 3 else (1, shape)
    named = len(shape) == 3

    def entry(c, pos, prefix=grid_name, with_channel=named):
        return _name(prefix, ((c,) if with_channel else ()) + tuple(pos))

    source = {(c, pos): entry(c, pos) for c in range(channels) for pos in itertools.product(*map(range, spatial))}
    inputs = list(source.values())
    nodes: dict[str, dict] = {}
    edges: list[list] = []
    kernels: dict[str, list[str]] = {}
    flat = None
    for l, layer in enumerate(spec["layers"], start=1):
        if "conv" in layer or "pool" in layer:
            conv = "conv" in layer
            cfg = layer["conv"] if conv else layer["pool"]
            dims = len(spatial)
            k = _sizes(cfg["kernel"] if conv else cfg["size"], dims)
            stride = _sizes(cfg.get("stride", 1 if conv else k), dims)
            pad = _sizes(cfg.get("padding", 0), dims)
            out = [(n + 2 * p - kk) // s + 1 for n, kk, s, p in zip(spatial, k, stride, pad, strict=True)]
            filters = int(cfg.get("filters", 1)) if conv else channels
            if conv:
                kernels[f"K{l}"] = [_name(f"K{l}", (f, c, *o)) for f in range(filters) for c in range(channels)
                                    for o in itertools.product(*map(range, k))]
            new = {}
            for f in range(filters):
                for pos in itertools.product(*map(range, out)):
                    name = _name(f"a{l}", (f, *pos))
                    new[f, pos] = name
                    reads = []
                    for o in itertools.product(*map(range, k)):
                        src = tuple(p * s - pd + oo for p, s, pd, oo in zip(pos, stride, pad, o, strict=True))
                        if all(0 <= x < n for x, n in zip(src, spatial, strict=True)):
                            reads.append((o, src))
                    if conv:
                        node = {"activation": layer.get("activation", "identity")}
                        if layer.get("bias", True):
                            node["bias"] = f"b{l}_{f + 1}"
                        nodes[name] = node
                        edges += [[source[c, src], name, _name(f"K{l}", (f, c, *o))] for c in range(channels)
                                  for o, src in reads]
                    else:
                        window = [source[f, src] for _, src in reads]
                        size = 1
                        for kk in k:
                            size *= kk
                        kind = cfg.get("type", "max")
                        text = f"max({', '.join(window)})" if kind == "max" and len(window) > 1 else \
                            f"({' + '.join(window)})/{size}" if kind == "average" else window[0]
                        nodes[name] = {"formula": text}
            source, channels, spatial = new, filters, out
            continue
        previous = flat if flat is not None else [source[c, pos] for c in range(channels)
                                                   for pos in itertools.product(*map(range, spatial))]
        if layer.get("layer_norm"):
            flat = _layer_norm(l, layer, previous, nodes, edges)
            continue
        current = []
        for j in range(1, int(layer["units"]) + 1):
            name = f"a{l}_{j}"
            node = {"activation": layer.get("activation", "identity")}
            if layer.get("bias", True):
                node["bias"] = f"b{l}_{j}"
            nodes[name] = node
            edges += [[src, name, f"W{l}_{j}_{k}"] for k, src in enumerate(previous, start=1)]
            current.append(name)
        flat = current
    outputs = flat if flat is not None else list(source.values())
    out = {key: value for key, value in spec.items() if key not in ("layers", "inputs", "at")}
    out.update(inputs=inputs, nodes=nodes, edges=edges, output=outputs if len(outputs) > 1 else outputs[0])
    out["at"] = expand_at(spec.get("at") or {}, grid_name, inputs, kernels)
    if spec.get("data"):
        out["data"] = [expand_at(sample, grid_name, inputs, kernels) for sample in spec["data"]]
    return out


def expand_at(at: dict, grid: str, inputs: list[str], kernels: dict[str, list[str]]) -> dict:
    from refengine import expand_point
    out = {}
    for name, value in at.items():
        if name == grid:
            out.update(zip(inputs, _flatten(value), strict=True))
        elif name in kernels:
            out.update(zip(kernels[name], _flatten(value), strict=True))
        else:
            out.update(expand_point({name: value}))
    return out


def has_grids(spec: dict) -> bool:
    return "layers" in spec and any("conv" in layer or "pool" in layer or layer.get("layer_norm")
                                    for layer in spec["layers"])


def _plain_inputs(spec: dict) -> dict:
    """Dense and normalised layers over plain inputs."""
    from refengine import expand_point
    nodes: dict = {}
    edges: list = []
    previous = list(spec["inputs"])
    for l, layer in enumerate(spec["layers"], start=1):
        if layer.get("layer_norm"):
            previous = _layer_norm(l, layer, previous, nodes, edges)
            continue
        current = []
        for j in range(1, int(layer["units"]) + 1):
            node = {"activation": layer.get("activation", "identity")}
            if layer.get("bias", True):
                node["bias"] = f"b{l}_{j}"
            nodes[f"a{l}_{j}"] = node
            edges += [[src, f"a{l}_{j}", f"W{l}_{j}_{k}"] for k, src in enumerate(previous, start=1)]
            current.append(f"a{l}_{j}")
        previous = current
    out = {key: value for key, value in spec.items() if key not in ("layers", "at")}
    out.update(nodes=nodes, edges=edges, output=previous if len(previous) > 1 else previous[0],
               at=expand_point(spec.get("at")))
    return out
