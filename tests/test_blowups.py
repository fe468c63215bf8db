"""Shapes that blow up: deep chains, lattices, wide layers, many samples, every command in bounded work.

Each run is bounded twice: by the CPU time it may use (tests/hang.py, never wall time), and by the work
it is counted to do, every forward pass of the compiled network at its precision
(`resolve.cost(digits)` float64 passes each). The caps are work caps (gradient.MAX_CHECK_WORK,
resolve.MAX_WORK), so the count is what they promise; a parameter past them is left unchecked and
named, and a single check past them says inconclusive, never a verdict without numbers.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path

import mpmath
import pytest

import derivator
from derivator.answers import gradient as gradient_module
from derivator.numbers import resolve, sweep
from derivator.render import python
from derivator.render.table import render_table_json, render_table_text
from tests.hang import assert_clean, bounded, run

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from networks import dense


def chain(n: int, activation: str = "sigmoid", w: float = 0.5) -> str:
    """x -> h1 -> ... -> hn, squared error: the first weights' derivatives are some 0.6 n digits below the loss."""
    nodes = {f"h{i}": {"activation": activation, "bias": f"b{i}"} for i in range(1, n + 1)}
    edges = [["x", "h1", "w1"]] + [[f"h{i}", f"h{i + 1}", f"w{i + 1}"] for i in range(1, n)]
    at = {"x": 1.0, "y": 0.5, **{f"w{i}": w for i in range(1, n + 1)}, **{f"b{i}": 0.1 for i in range(1, n + 1)}}
    return json.dumps({"inputs": ["x"], "nodes": nodes, "edges": edges, "output": f"h{n}",
                       "loss": {"type": "squared_error", "target": "y"}, "at": at})


def samples(m: int) -> str:
    rows = "".join(f"  - {{x1: {i / m:.4f}, x2: {1 - i / m:.4f}, y: {i % 2}}}\n" for i in range(m))
    return ("inputs: [x1, x2]\nlayers:\n  - {units: 4, activation: tanh}\n  - {units: 1, activation: sigmoid}\n"
            "loss: {type: binary_cross_entropy, target: y}\ndata:\n" + rows +
            "at: {W1: [[0.1, -0.2], [0.4, 0.3], [-0.5, 0.2], [0.3, 0.3]], b1: [0, 0.1, -0.1, 0.2], "
            "W2: [[0.3, -0.6, 0.2, 0.1]], b2: [0.05]}\n")


@contextmanager
def counted():
    """Every forward pass of a compiled network, in float64 passes of multiply-adds."""
    work = [0.0]
    original = sweep.Compiled.forward

    def forward(self, values, precise=False, nudge=None, target=True, lost=None):
        steps = len(self.net.edges) + len(self.net.nodes)
        work[0] += steps * (resolve.cost(mpmath.mp.dps) if precise else 1)
        return original(self, values, precise, nudge, target, lost)

    sweep.Compiled.forward = forward
    try:
        yield work
    finally:
        sweep.Compiled.forward = original


# -- --wrt all --check: every kind of work against the cap ---------------------------------------
SHAPES = {
    "chain of 100": chain(100),  # derivatives of 1e-93: each needs a pair at some 120 digits
    "chain of 400 tanh": chain(400, "tanh", 0.9),
    "lattice 2x30": dense(2, [2] * 30 + [1], loss="squared_error"),
    "wide 30x2": dense(30, [30, 1], loss="squared_error"),
    "300 samples": samples(300),
}


@pytest.mark.parametrize("text", SHAPES.values(), ids=SHAPES.keys())
def test_every_parameter_checked_within_the_work_cap(text):
    net = derivator.loads(text)
    with bounded(30.0, "--wrt all --check"), counted() as work:
        g = derivator.gradient(net, check=True)
        out = render_table_text(g)
    steps = len(net.edges) + len(net.nodes)
    sweeps = 8 * steps * max(1, len(net.samples)) * resolve.cost(120)  # the values: float64 and mpmath sweeps
    assert work[0] <= gradient_module.MAX_CHECK_WORK + sweeps, (work[0], gradient_module.MAX_CHECK_WORK)
    checked = [r for r in g.rows if r.check is not None]
    assert checked and all(r.check.agrees for r in checked), [r.name for r in checked if not r.check.agrees]
    assert "DISAGREES" not in out
    for name in g.skipped:  # named, and without a verdict
        assert next(r for r in g.rows if r.name == name).check is None
    if g.skipped:
        assert f"Check: {len(g.skipped)} of them are not checked" in out
        assert json.loads(render_table_json(g))["check"]["unchecked"] == g.skipped


def test_a_chain_of_100_is_checked_whole():
    # The brief's example: 63 s before, when each tiny derivative went through the full check.
    g = derivator.gradient(derivator.loads(chain(100)), check=True)
    assert not g.skipped and all(r.check is not None and r.check.agrees for r in g.rows)
    w1 = next(r for r in g.rows if r.name == "w1")
    assert w1.value < 1e-80 and "mpmath" in w1.check.method  # resolved at the digits it needs


def test_a_lower_cap_leaves_the_rest_unchecked_and_says_so(monkeypatch):
    monkeypatch.setattr(gradient_module, "MAX_CHECK_WORK", 100_000)
    net = derivator.loads(chain(100))
    with counted() as work:
        g = derivator.gradient(net, check=True)
    assert g.skipped and all(r.check is None for r in g.rows if r.name in g.skipped)
    assert all(r.check.agrees for r in g.rows if r.check is not None)
    assert work[0] <= 100_000 + 8 * 200 * resolve.cost(120)
    assert "w100" not in g.skipped  # the float64 checks at the output come first in the spread order


# -- one derivative's check ----------------------------------------------------------------------------
@pytest.mark.parametrize("text, wrt", [(chain(400, "tanh", 0.9), "w1"), (chain(300), "w10"), (chain(1000), "w990")],
                         ids=["tanh-400-w1", "sigmoid-300-w10", "sigmoid-1000-w990"])
def test_one_check_resolves_a_tiny_derivative_within_its_cap(text, wrt):
    net = derivator.loads(text)
    with bounded(30.0, "--check"), counted() as work:
        r = derivator.report(net, wrt, check=True)
    assert r.check.agrees and not r.check.inconclusive, r.check
    steps = len(net.edges) + len(net.nodes)
    ladder = 16 * steps * sum(resolve.cost(d) for d in (40, 120, 400))  # the value's own precision ladder
    assert work[0] <= resolve.MAX_WORK + ladder, work[0]


def test_one_check_past_its_cap_is_inconclusive(monkeypatch, tmp_path):
    monkeypatch.setattr(resolve, "MAX_WORK", 1000)
    path = tmp_path / "chain.json"
    path.write_text(chain(100))
    r = run([str(path), "--wrt", "w1", "--check"])
    assert r.exit_code == 1  # no verdict: exit 1, with its own sentence
    assert "Check: inconclusive: no numerical derivative resolves it" in r.stdout
    assert "DISAGREES" not in r.stdout
    out = json.loads(run([str(path), "--wrt", "w1", "--check", "--format", "json"]).stdout)
    assert out["check"]["inconclusive"] is True and out["check"]["agrees"] is False


# -- printing and the generated module ------------------------------------------------------------------
def test_the_module_of_20000_parameters_is_linear_work():
    inputs = ", ".join(f"x{i}" for i in range(1, 101))  # as layers: the same network as nodes is over 1 MB
    net = derivator.loads(f"inputs: [{inputs}]\nlayers:\n  - {{units: 100, activation: sigmoid}}\n"
                          "  - {units: 99, activation: tanh}\n  - {units: 1, activation: sigmoid}\n"
                          "loss: {type: binary_cross_entropy, target: y}\n")
    assert len(net.params) > 20_000
    with bounded(40.0, "--format python of 20,000 parameters"):
        source = python.module(net, list(net.params))
    assert source.count("\n    d_") == len(net.nodes)  # each delta once
    compile(source, "<module>", "exec")


@pytest.mark.parametrize("args", [["--wrt", "all"], ["--wrt", "W1_1_1", "--format", "desmos"],
                                  ["--wrt", "W1_1_1", "--candidate", "x1"], ["--wrt", "all", "--format", "python"],
                                  ["--wrt", "W1_1_1", "--format", "latex", "--standalone"]], ids=" ".join)
def test_a_deep_lattice_through_every_command(tmp_path, args):
    path = tmp_path / "lattice.json"
    path.write_text(dense(2, [2] * 40 + [1]))  # 2^40 paths
    r = run([str(path), *args], seconds=30.0)
    assert_clean(r, "python" if "python" in args else "text")
    assert r.exit_code in (0, 1) and len(r.stdout) < 2_000_000


def test_matrix_check_past_the_cap_names_its_subset_and_nulls_the_rest(monkeypatch):
    from derivator.render.matrixform import as_dict, render_matrix_text

    monkeypatch.setattr(gradient_module, "MAX_CHECK_WORK", 20_000)
    inputs = ", ".join(f"x{i}" for i in range(1, 13))
    text = (f"inputs: [{inputs}]\nlayers:\n  - {{units: 12, activation: tanh}}\n  - {{units: 1, activation: sigmoid}}\n"
            "loss: {type: binary_cross_entropy, target: y}\ndata:\n"
            + "".join("  - {" + ", ".join(f"x{i}: {((i * k) % 7) / 7:.3f}" for i in range(1, 13)) + f", y: {k % 2}}}\n"
                      for k in range(3)))
    net = derivator.loads(text)
    f = derivator.matrix_form(net, "W1", at={n: 0.1 for n in net.params}, check=True)
    checked = [c for c in f.checks if c is not None]
    assert 2 <= len(checked) < 144 and all(c.agrees for c in checked)
    assert f"{len(checked)} of the 144 entries, evenly spaced, are checked" in render_matrix_text(f)
    numeric = as_dict(f)["check"]["numeric"]
    assert sum(x is not None for row in numeric for x in row) == len(checked)
    for row, checks in zip(numeric, [f.checks[i:i + 12] for i in range(0, 144, 12)], strict=True):
        assert [x is None for x in row] == [c is None for c in checks]  # each under its own name
