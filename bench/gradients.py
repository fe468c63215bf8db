"""Every gradient of multilayer networks: plain SymPy against derivator, side by side in one run.

    python bench/gradients.py            # the table in the README
    python bench/gradients.py --quick    # small sizes only
    python bench/gradients.py --cap 10   # stop the plain routes at 10 s

For each network (L layers of width W, alternating sigmoid and tanh, one output, squared error):

- plain SymPy: build the loss as one expression with SymPy's own functions, `diff` it by every
  parameter and evaluate each derivative at the point (`xreplace` with Floats, which evaluates as
  it rebuilds; `evalf(subs=...)` is slower still), in a child process stopped at 60 s;
- plain SymEngine (when `pip install symengine` was done; "missing" otherwise): the same with
  SymEngine's `diff` and `subs`, the C++ engine a user reaches for when SymPy is slow, also stopped
  at 60 s;
- derivator: load the file (column "load"; the benchmark's files are JSON, which `jsontext` reads)
  and compute every gradient ("derive":
  `derivator.gradient`: the backward plan, and its lean sweep in float64 and at 40 digits), in this
  process, after a warm-up on a tiny network, with SymPy's caches and derivator's symbols cleared
  before each run, as in a new process;
- "YAML load": the same network written as a learner writes it, block YAML with flow lists and maps
  (`yaml.safe_dump`), loaded by the YAML path (libyaml's events); not in derivator's total, and
  "vs SymEng YAML" is SymEngine's time against this load and the same derive;
- "forms": then the symbolic side, the backward pass in node values and every row's derivative in
  it, which `gradient` builds only when read (a table prints them), not in derivator's total;
- each route's best of ten runs (plain SymPy and SymEngine: where a run takes under a second),
  since the machine is shared and its noise only ever adds time;
- the generated module's (`--format python`) arithmetic in the backward pass against the forward
  pass, and its values against derivator's;
- PyTorch's autograd on the same numbers, when torch is installed (optional).

Ratios are measured in the same run, so the machine's speed cancels.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sympy
from networks import dense
from sympy.core.cache import clear_cache

import derivator
from derivator.graph.network import symbol
from derivator.render import python

CAP = 60.0
SIZES = [(2, 2), (3, 3), (5, 4), (8, 16), (4, 64)]


def network(layers: int, width: int) -> str:
    """L layers: L-1 hidden of `width`, alternating sigmoid and tanh, then one sigmoid output; `width` inputs."""
    return dense(width, [width] * (layers - 1) + [1], activation=["sigmoid", "tanh"], seed=layers * 100 + width,
                 loss="squared_error")


# -- plain SymPy and plain SymEngine ---------------------------------------------------------------
def plain(engine: str, text: str, out: mp.Queue) -> None:
    """The loss as one expression, diff by each parameter, each evaluated at the point.

    SymPy: `xreplace` with Floats (it evaluates as it rebuilds; `evalf(subs=...)` is slower still).
    SymEngine: its own diff and `subs`, the route a user takes when SymPy is slow."""
    se = importlib.import_module(engine)
    spec = json.loads(text)
    start = time.perf_counter()
    sym = {}

    def s(name):
        return sym.setdefault(name, sympy.Symbol(name, real=True) if engine == "sympy" else se.Symbol(name))

    value = {x: s(x) for x in spec["inputs"]}
    funcs = {"sigmoid": lambda z: 1 / (1 + se.exp(-z)), "tanh": se.tanh}
    for node, body in spec["nodes"].items():
        z = s(body["bias"]) + se.Add(*[s(w) * value[a] for a, b, w in spec["edges"] if b == node])
        value[node] = funcs[body["activation"]](z)
    outputs = spec["output"] if isinstance(spec["output"], list) else [spec["output"]]
    loss = se.Add(*[(value[o] - s(y)) ** 2 for o, y in zip(outputs, spec["loss"]["target"], strict=True)])
    params = [w for _, _, w in spec["edges"]] + [b["bias"] for b in spec["nodes"].values()]
    grads = {}
    if engine == "sympy":
        point = {s(k): sympy.Float(v) for k, v in spec["at"].items()}
        for p in params:
            grads[p] = float(sympy.diff(loss, s(p)).xreplace(point))  # Floats put in evaluate as they go
    else:
        point = {s(k): v for k, v in spec["at"].items()}
        for p in params:
            grads[p] = float(loss.diff(s(p)).subs(point))
    out.put((time.perf_counter() - start, grads))


def available(engine: str) -> bool:
    return importlib.util.find_spec(engine) is not None


def time_plain(engine: str, text: str, cap: float) -> tuple[float | None, dict]:
    """The plain route of `engine` in a child process, stopped at `cap` seconds: (None, {}) when stopped."""
    return time_sympy(text, functools.partial(plain, engine), cap)


def time_sympy(text: str, target, cap: float) -> tuple[float | None, dict]:
    """`target(text, queue)` in a child process, stopped after `cap` seconds (then None, {})."""
    q: mp.Queue = mp.Queue()
    proc = mp.Process(target=target, args=(text, q))
    proc.start()
    proc.join(cap)
    if proc.is_alive():
        proc.terminate()
        proc.join()
        return None, {}
    return q.get()


# -- derivator -----------------------------------------------------------------------------------
def time_derivator(text: str, runs: int = 10) -> tuple[float, float, object]:
    """Loading and every gradient, best of `runs`, each as if the network were new: the SymPy symbols
    of its names made again (as in a new process), nothing remembered from the run before."""
    best = None
    for _ in range(runs):
        symbol.cache_clear()
        clear_cache()
        start = time.perf_counter()
        net = derivator.loads(text)
        loaded = time.perf_counter()
        g = derivator.gradient(net)
        times = (loaded - start, time.perf_counter() - loaded)
        if best is None or sum(times) < sum(best[:2]):
            best = (*times, g)
    return best


def block_yaml(text: str) -> str:
    """The JSON network as block YAML, its nodes and edges one flow map or list to a line."""
    import yaml
    return yaml.safe_dump(json.loads(text), sort_keys=False, default_flow_style=None, width=200)


def time_load(text: str, runs: int = 10) -> float:
    """Loading alone, best of `runs`, each with the symbols made again."""
    best = float("inf")
    for _ in range(runs):
        symbol.cache_clear()
        clear_cache()
        start = time.perf_counter()
        derivator.loads(text)
        best = min(best, time.perf_counter() - start)
    return best


def time_forms(g) -> float:
    """The symbolic side, which `gradient` makes only when it is read: the backward pass in node values
    and every row's derivative `Σ δ_v o_u` in it (what a table prints), in seconds."""
    start = time.perf_counter()
    for r in g.rows:
        r.nested  # noqa: B018 - built on first read
    return time.perf_counter() - start


def best_plain(engine: str, text: str, cap: float, runs: int = 10) -> tuple[float | None, dict]:
    """The plain route's best of `runs` child processes (one run when it takes over a second)."""
    t, grads = time_plain(engine, text, cap)
    for _ in range(runs - 1 if t is not None and t < 1.0 else 0):
        t = min(t, time_plain(engine, text, cap)[0])
    return t, grads


def imported(source: str, name: str):
    """A generated module (`--format python`), written to a temporary file and imported from it."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.py"
        path.write_text(source)
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module


def generated(text: str, net, g) -> tuple[int, int, float]:
    """The module's operation counts, and its largest relative difference from derivator's values."""
    module = imported(python.module(net, list(net.params), None, "bench"), "grad")
    got = module.gradient(json.loads(text)["at"])
    worst = max(_rel(got[r.name], r.value) for r in g.rows)
    return module.FORWARD_OPS, module.GRADIENT_OPS, worst


def torch_difference(text: str, g) -> float | None:
    """PyTorch autograd on the same network and numbers (float64); None without torch."""
    try:
        import torch
    except ImportError:
        return None
    spec = json.loads(text)
    at = spec["at"]
    params = {n: torch.tensor(v, dtype=torch.float64, requires_grad=True) for n, v in at.items()
              if n not in spec["inputs"] and not n.startswith("y")}
    value = {x: torch.tensor(at[x], dtype=torch.float64) for x in spec["inputs"]}
    funcs = {"sigmoid": torch.sigmoid, "tanh": torch.tanh}
    for node, body in spec["nodes"].items():
        z = params[body["bias"]] + sum(params[w] * value[a] for a, b, w in spec["edges"] if b == node)
        value[node] = funcs[body["activation"]](z)
    outputs = spec["output"] if isinstance(spec["output"], list) else [spec["output"]]
    loss = sum((value[o] - at[y]) ** 2 for o, y in zip(outputs, spec["loss"]["target"], strict=True))
    loss.backward()
    return max(_rel(params[r.name].grad.item(), r.value) for r in g.rows)


def _seconds(t: float | None, cap: float = CAP) -> str:
    """Seconds to four places, or under 10 ms in milliseconds to three (0.0003 s says too little)."""
    if t is None:
        return f"> {cap:.0f} s"
    return f"{t:.4f} s" if t >= 0.01 else f"{t * 1e3:.3f} ms"


def _ratio(t: float | None, ours: float, cap: float) -> str:
    return f"{t / ours:.1f}x" if t is not None else f">{cap / ours:.0f}x"


def _gap(grads: dict, g) -> str:
    return f"{max(_rel(grads[r.name], r.value) for r in g.rows):.1e}" if grads else "-"


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-300) if abs(a - b) > 1e-15 else 0.0


def end_to_end(runs: int = 15) -> tuple[float, float]:
    """`derive specs/story4_desmos_check.yaml --wrt w1` as a new process, and `python -c "import sympy"`,
    taken in turn `runs` times: their medians, in seconds. (Measured with the package's bytecode
    compiled, as `pip install` leaves it: python -m compileall derivator.)"""
    import statistics
    import subprocess
    root = Path(__file__).resolve().parent.parent
    spec = root / "specs" / "story4_desmos_check.yaml"
    commands = [[sys.executable, "-m", "derivator", str(spec), "--wrt", "w1"], [sys.executable, "-c", "import sympy"]]
    times: list[list[float]] = [[], []]
    for _ in range(runs):
        for i, command in enumerate(commands):
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, cwd=root)
            times[i].append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the sizes SymPy finishes quickly")
    parser.add_argument("--cap", type=float, default=CAP, help="seconds before a plain route is stopped")
    args = parser.parse_args()
    sizes = SIZES[:2] if args.quick else SIZES
    symengine = available("symengine")
    time_derivator(network(2, 2))  # warm-up: imports and caches, as a second call in a notebook
    print(f"{'network':>8} {'params':>6} {'plain SymPy':>12} {'SymEngine':>10} {'derivator':>10} {'load':>8} "
          f"{'derive':>8} {'vs SymPy':>9} {'vs SymEng':>9} {'YAML load':>9} {'vs SymEng YAML':>14} {'forms':>8} "
          f"{'ops fwd':>8} {'ops grad':>8} {'grad/fwd':>8} "
          f"{'Δ SymPy':>8} {'Δ SymEng':>8} {'Δ code':>8} {'Δ torch':>8}")
    for layers, width in sizes:
        text = network(layers, width)
        load, grad_time, g = time_derivator(text)  # first: after a minute-long child, this process runs cold
        yaml_load = time_load(block_yaml(text))
        forms = time_forms(g)
        sympy_time, sympy_grads = best_plain("sympy", text, args.cap)
        se_time, se_grads = best_plain("symengine", text, args.cap) if symengine else (None, {})
        forward, backward, code_diff = generated(text, derivator.loads(text), g)
        torch_diff = torch_difference(text, g)
        ours = load + grad_time
        seconds = functools.partial(_seconds, cap=args.cap)
        ratio = functools.partial(_ratio, ours=ours, cap=args.cap)
        gap = functools.partial(_gap, g=g)
        print(f"{layers}x{width:<6} {len(g.rows):>6} {seconds(sympy_time):>12} "
              f"{seconds(se_time) if symengine else 'missing':>10} {seconds(ours):>10} {seconds(load):>8} "
              f"{seconds(grad_time):>8} {ratio(sympy_time):>9} {ratio(se_time) if symengine else '-':>9} "
              f"{seconds(yaml_load):>9} {_ratio(se_time, yaml_load + grad_time, args.cap) if symengine else '-':>14} "
              f"{seconds(forms):>8} "
              f"{forward:>8} {backward:>8} {backward / forward:>8.2f} {gap(sympy_grads):>8} {gap(se_grads):>8} "
              f"{code_diff:>8.1e} {'-' if torch_diff is None else f'{torch_diff:.1e}':>8}")
    derive, sympy_import = end_to_end()
    print(f"\nend to end, a new process: derive specs/story4_desmos_check.yaml --wrt w1: {derive:.3f} s; "
          f"python -c 'import sympy': {sympy_import:.3f} s; the difference: {derive - sympy_import:.3f} s")


if __name__ == "__main__":
    main()
