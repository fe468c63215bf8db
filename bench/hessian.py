"""The full Hessian of multilayer networks: plain SymPy, derivator and an autograd engine in one run.

    python bench/hessian.py            # the table in the README (5x4: 85 parameters)
    python bench/hessian.py --quick    # small sizes only

For each network (bench/gradients.py's: L layers of width W, alternating sigmoid and tanh, one
sigmoid output, squared error):

- plain SymPy: the loss as one expression, `diff` twice by every pair of parameters (n(n+1)/2
  derivatives of the whole expression), each evaluated at the point, in a child process stopped at
  SYMPY_CAP seconds;
- derivator: `derivator.answers.second.hessian` over every parameter (one forward-mode pass over the
  backward plan per column, every entry evaluated in mpmath at two precisions that must agree, the
  eigenvalues and the Gauss-Newton part), in this process after a warm-up on a tiny network;
- HIPS autograd's `hessian` of the same loss written with autograd.numpy, when autograd is installed;
- the generated module's `hessian(values)` (`--hessian --format python`), plain float64.

The values are compared entry by entry (largest relative difference). Ratios come from one run, so
the machine's speed cancels.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sympy
from gradients import imported, network, time_sympy

import derivator
from derivator.answers.second import hessian
from derivator.render import python_hessian

SYMPY_CAP = 120.0
SIZES = [(2, 2), (3, 3), (5, 4)]


def _loss(spec: dict, np_, sig):
    """The loss as a function of the parameter values, over any numbers (SymPy or autograd's), the
    parameters in derivator's order (of first use), so that the matrices compare entry by entry."""
    params = list(derivator.loads(json.dumps(spec)).params)
    at = spec["at"]

    def loss(theta):
        v = {**at, **dict(zip(params, theta, strict=True))}
        value = {x: at[x] for x in spec["inputs"]}
        for node, body in spec["nodes"].items():
            z = v[body["bias"]] + sum(v[w] * value[a] for a, b, w in spec["edges"] if b == node)
            value[node] = sig(z) if body["activation"] == "sigmoid" else np_.tanh(z)
        outputs = spec["output"] if isinstance(spec["output"], list) else [spec["output"]]
        return sum((value[o] - at[y]) ** 2 for o, y in zip(outputs, spec["loss"]["target"], strict=True))

    return params, loss


def plain_sympy(text: str, out) -> None:
    spec = json.loads(text)
    start = time.perf_counter()
    params, loss = _loss(spec, sympy, lambda z: 1 / (1 + sympy.exp(-z)))
    syms = [sympy.Symbol(p, real=True) for p in params]
    expr = loss(syms)
    point = {s: sympy.Float(spec["at"][p]) for s, p in zip(syms, params, strict=True)}
    n = len(syms)
    h = [[0.0] * n for _ in range(n)]
    for i in range(n):
        first = sympy.diff(expr, syms[i])
        for j in range(i, n):
            h[i][j] = h[j][i] = float(sympy.diff(first, syms[j]).xreplace(point))
    out.put((time.perf_counter() - start, h))


def time_autograd(text: str) -> tuple[float | None, list | None]:
    try:
        import autograd
        import autograd.numpy as anp
    except ImportError:
        return None, None
    spec = json.loads(text)
    start = time.perf_counter()
    params, loss = _loss(spec, anp, lambda z: 1 / (1 + anp.exp(-z)))
    h = autograd.hessian(lambda t: loss([t[i] for i in range(len(params))]))(
        anp.array([float(spec["at"][p]) for p in params]))
    return time.perf_counter() - start, [[float(x) for x in row] for row in h]


def time_derivator(text: str):
    start = time.perf_counter()
    net = derivator.loads(text)
    h = hessian(net, list(net.params))
    return time.perf_counter() - start, h


def time_generated(text: str, net) -> tuple[float, list]:
    module = imported(python_hessian.module(net, list(net.params), "loss", "bench"), "hess")
    start = time.perf_counter()
    got = module.hessian(json.loads(text)["at"])
    return time.perf_counter() - start, got["values"]


def worst(a: list | None, b: list) -> float:
    if a is None:
        return float("nan")
    return max((abs(x - y) / max(abs(x), abs(y)) if x != y else 0.0)
               for ra, rb in zip(a, b, strict=True) for x, y in zip(ra, rb, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the small sizes")
    args = parser.parse_args()
    sizes = SIZES[:2] if args.quick else SIZES
    time_derivator(network(2, 2))  # warm-up: imports and caches
    print(f"{'network':>8} {'params':>6} {'plain SymPy':>12} {'derivator':>10} {'autograd':>9} {'module':>8} "
          f"{'SymPy/ours':>10} {'ours/autograd':>13} {'vs SymPy':>9} {'vs autograd':>11} {'vs module':>9}")
    for layers, width in sizes:
        text = network(layers, width)
        ours, h = time_derivator(text)
        sympy_time, sympy_h = time_sympy(text, plain_sympy, SYMPY_CAP)
        ag_time, ag_h = time_autograd(text)
        mod_time, mod_h = time_generated(text, h.net)
        ratio = f"{sympy_time / ours:9.0f}x" if sympy_time else f"> {SYMPY_CAP / ours:.0f}x"
        ag_ratio = f"{ours / ag_time:12.1f}x" if ag_time else f"{'-':>13}"
        plain = f"{sympy_time:.2f} s" if sympy_time else f"> {SYMPY_CAP:.0f} s"
        print(f"{layers}x{width:<6} {len(h.names):>6} {plain:>12} "
              f"{ours:>8.2f} s {f'{ag_time:.2f} s' if ag_time else '-':>9} {mod_time:>6.2f} s {ratio:>10} {ag_ratio} "
              f"{worst(sympy_h, h.values):>9.1e} {worst(ag_h, h.values):>11.1e} {worst(mod_h, h.values):>9.1e}")


if __name__ == "__main__":
    main()
