"""The lean sweep (derivator/numbers/lean.py) against the general one (numbers/sweep.py), by hand, and
against the reference engine.

Wherever the lean sweep answers, every number (the target, every gradient, every forward value and
delta of the worked example) must be the general sweep's to the last bit of float64: both are the
float of a value correct to far more digits. Where it cannot be sure (a saturated unit, rungs that
disagree), it must refuse, and the general sweep answers.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import mpmath
import pytest
from hypothesis import given, settings

import derivator
from derivator.answers import gradient as grad_module
from derivator.numbers import checking, lean, worked
from tests.conftest import SPECS
from tests.netgen import networks
from tests.refengine import evaluate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from networks import dense  # the benchmark's own networks


def general(net, of):
    values = checking.point(net, None)
    target, grads = grad_module._precise(net, of, checking.samples(net, values))
    return target, grads, worked.general(net, of, values)


def same_as_general(net, of) -> bool:
    """True when the lean sweep answered (and then equals the general sweep); False when it refused."""
    try:
        s = lean.solve(net, of, checking.samples(net, checking.point(net, None)))
    except lean.Unsupported:
        return False
    target, grads, w = general(net, of)
    assert s.target == target
    assert s.grads == {n: g for n, g in grads.items() if n in s.grads} and set(grads) <= set(s.grads)
    assert worked.from_lean(net, of, s) == w  # every forward value, delta, loss and the target
    return True


@pytest.mark.parametrize(("layers", "width"), [(2, 2), (3, 3), (5, 4), (3, 16)])
def test_the_benchmark_networks_are_solved_lean_and_alike(layers, width):
    text = dense(width, [width] * (layers - 1) + [1], activation=["sigmoid", "tanh"], seed=layers * 100 + width,
                 loss="squared_error")
    assert same_as_general(derivator.loads(text), "loss")


def test_every_spec_is_solved_alike_and_most_lean():
    answered = refused = 0
    for path in sorted(SPECS.glob("*.yaml")):
        net = derivator.load(path)
        of = "loss" if net.loss is not None else net.outputs[0]
        try:
            ok = same_as_general(net, of)
        except (derivator.DerivatorError, KeyError, TypeError):  # a value not given: neither sweep runs
            continue
        answered, refused = answered + ok, refused + (not ok)
    assert answered >= 15, (answered, refused)  # the plain networks; formulas, softmax and penalties refuse


def test_story4_by_hand():
    """dO/dw1 = 0.0014291881022 (the spec's description: σ at z = 1.5, 1.4087..., by hand)."""
    net = derivator.load(SPECS / "story4_desmos_check.yaml")
    s = lean.solve(net, "O", checking.samples(net, checking.point(net, None)))
    h1 = 1 / (1 + math.exp(-1.5))
    h = 1 / (1 + math.exp(-(0.5 * h1 + 1)))
    o = 1 / (1 + math.exp(-(0.5 * h + 0.5 * h + 1)))
    by_hand = o * (1 - o) * (0.5 * h * (1 - h) * 0.5 * 2) * h1 * (1 - h1) * 1.0
    assert s.grads["w1"] == pytest.approx(by_hand, rel=1e-13) and round(s.grads["w1"], 13) == 0.0014291881022
    assert s.forward["z_h1"] == 1.5 and s.deltas["O"] == pytest.approx(o * (1 - o), rel=1e-15)


def test_a_saturated_unit_goes_to_the_general_sweep():
    spec = {"inputs": ["x"], "nodes": {"h": {"activation": "sigmoid", "bias": "b"}}, "edges": [["x", "h", "w"]],
            "output": "h", "loss": {"type": "squared_error", "target": ["y"]},
            "at": {"x": 1, "w": 60, "b": 0, "y": 1}}
    net = derivator.loads(json.dumps(spec))
    with pytest.raises(lean.Unsupported):
        lean.solve(net, "loss", checking.samples(net, checking.point(net, None)))
    g = derivator.gradient(net)  # 2 (σ - 1) σ (1 - σ) x, with 1 - σ(60) = e^-60 / (1 + e^-60)
    with mpmath.workdps(50):
        s = 1 / (1 + mpmath.exp(-60))
        assert g.values[0][0] == pytest.approx(float(2 * (s - 1) * s * (1 - s)), rel=1e-13)


def test_rungs_that_disagree_are_refused(monkeypatch):
    """A float64 rung made wrong by 1e-12 cannot agree with 40 digits; 40 and 60 digits then decide."""
    net = derivator.loads(dense(2, [2, 1], activation=["sigmoid", "tanh"], seed=1, loss="squared_error"))
    real = lean.Lean._sweep

    def off(self, vals, num, which, fsum):
        s = real(self, vals, num, which, fsum)
        if num is float:
            s.grads = {n: g * (1 + 1e-12) for n, g in s.grads.items()}
        return s

    monkeypatch.setattr(lean.Lean, "_sweep", off)
    assert same_as_general(net, "loss")  # answered by the 40- and 60-digit rungs, which agree
    monkeypatch.setattr(lean, "RUNGS", (40,))
    with pytest.raises(lean.Unsupported):
        lean.solve(net, "loss", checking.samples(net, checking.point(net, None)))


@pytest.mark.parametrize("name", sorted(lean.KERNELS))
def test_each_kernel_gives_f_and_its_derivative(name):
    """Each activation's kernel against mpmath's f and its numerical derivative, in both number types."""
    f = {"identity": lambda z: z, "sigmoid": lambda z: 1 / (1 + mpmath.exp(-z)), "tanh": mpmath.tanh,
         "softplus": lambda z: mpmath.log(1 + mpmath.exp(z)), "exp": mpmath.exp,
         "relu": lambda z: max(z, 0)}[name]
    floats, decimals = lean.KERNELS[name]
    for z in [-30.0, -3.25, -0.5, 0.001, 0.75, 2.0, 35.0]:
        with mpmath.workdps(60):  # at z as written (0.001 exactly), as the Decimal rungs read it
            want, slope = f(mpmath.mpf(repr(z))), mpmath.diff(f, mpmath.mpf(repr(z)))
        o, d = floats(z)
        assert o == pytest.approx(float(want), rel=1e-14, abs=1e-300) and d == pytest.approx(float(slope), rel=1e-13)
        with lean.decimal.localcontext(lean.CONTEXTS[40]):
            o, d = decimals(lean.D(repr(z)))
        with mpmath.workdps(60):  # 38 digits of o, and of f' (mpmath's diff is good to some 45)
            assert abs(mpmath.mpf(str(o)) - want) <= mpmath.mpf(10) ** -38 * max(1, abs(want)), (z, o)
            assert abs(mpmath.mpf(str(d)) - slope) <= mpmath.mpf(10) ** -38 * max(1, abs(slope)), (z, d)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(networks())
def test_random_networks_lean_equals_general_and_the_reference(drawn):
    spec, of = drawn
    net = derivator.loads(json.dumps(spec))
    if not same_as_general(net, of):
        return
    s = lean.solve(net, of, checking.samples(net, checking.point(net, None)))
    _, ref = evaluate(spec, {}, of)
    for name, want in ref.items():
        if name in s.grads:
            assert s.grads[name] == pytest.approx(want, rel=1e-9, abs=1e-12), name


def test_the_symbols_are_sympys_own():
    """`symbol` makes Symbol(name, real=True) without SymPy's per-call work: equal, same hash and facts,
    the same in every operation; and the fast maker is the one in use (the fallback is SymPy's)."""
    import pickle

    import sympy

    from derivator.graph import network

    assert network._make_symbol.__name__ == "make"
    for name in ["x", "W1_2_3", "z_h1", "I", "beta"]:
        ours, theirs = network._make_symbol(name), sympy.Symbol(name, real=True)
        assert ours == theirs and hash(ours) == hash(theirs) and sympy.srepr(ours) == sympy.srepr(theirs)
        assert ours.assumptions0 == theirs.assumptions0 and ours.is_real and ours.is_positive is None
        assert sympy.sqrt(ours**2) == sympy.Abs(theirs) and sympy.diff(ours**3, theirs) == 3 * theirs**2
        assert pickle.loads(pickle.dumps(ours)) == theirs
