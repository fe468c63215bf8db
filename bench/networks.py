"""Generated multilayer networks for benchmarks and size tests, as network-file text."""

from __future__ import annotations

import json
import random


def dense(inputs: int, widths: list[int], activation: str | list[str] = "sigmoid", seed: int = 0,
          loss: str | None = None) -> str:
    """A fully connected network: `inputs` inputs, then layers of the given widths (the last is the output).

    `activation` is one name, or a list that the layers take in turn (sigmoid, tanh, sigmoid, ...)."""
    cycle = [activation] if isinstance(activation, str) else activation
    rng = random.Random(seed)
    names = [f"x{i}" for i in range(1, inputs + 1)]
    nodes, edges, at = {}, [], {x: round(rng.uniform(-1, 1), 3) for x in names}
    previous = names
    for layer, width in enumerate(widths, start=1):
        current = [f"n{layer}_{j}" for j in range(1, width + 1)]
        for j, node in enumerate(current, start=1):
            bias = f"b{layer}_{j}"
            nodes[node] = {"activation": cycle[(layer - 1) % len(cycle)], "bias": bias}
            at[bias] = round(rng.uniform(-0.5, 0.5), 3)
            for k, src in enumerate(previous, start=1):
                weight = f"W{layer}_{j}_{k}"
                edges.append([src, node, weight])
                at[weight] = round(rng.uniform(-1, 1), 3)
        previous = current
    spec = {"inputs": names, "nodes": nodes, "edges": edges, "output": previous if len(previous) > 1 else previous[0],
            "at": at}
    if loss:
        spec["loss"] = {"type": loss, "target": [f"y{i}" for i in range(1, len(previous) + 1)]}
        spec["at"].update({f"y{i}": 0.5 for i in range(1, len(previous) + 1)})
    return json.dumps(spec)
