"""Tests of the reference engine itself: hand-derived values, then finite differences.

The engine is the oracle for derivator, so its own expected numbers are derived by hand
(derivations in the comments) and never taken from the engine's output.
"""

import math
import random
from pathlib import Path

import mpmath
import pytest
from hypothesis import given, settings
from ruamel.yaml import YAML

from tests.conftest import PROPERTY_SETTINGS, SPEC_FORMULAS, examples, seeded

try:
    from graphgen import graphs, parameters_of, path_nodes
    from netgen import FORMULAS as NET_FORMULAS
    from refengine import (
        FormulaError,
        _point,
        evaluate,
        evaluate_batch,
        expand_layers,
        expand_point,
        formula_names,
        formula_value,
        parse_formula,
    )
except ImportError:  # tests/ collected as a package
    from tests.graphgen import graphs, parameters_of, path_nodes
    from tests.netgen import FORMULAS as NET_FORMULAS
    from tests.refengine import (
        FormulaError,
        _point,
        evaluate,
        evaluate_batch,
        expand_layers,
        expand_point,
        formula_names,
        formula_value,
        parse_formula,
    )

REL = 1e-12          # hand-derived values: float64 round-off only
FD_STEP = 1e-6       # central differences: error ~ h^2 * f''' plus round-off ~ eps / h
FD_REL, FD_ABS = 1e-6, 1e-8
SEED = 20240601


def close(a: float, b: float, rel: float = REL, abs_: float = 1e-15) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


def s(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


SINGLE = {
    "inputs": ["x"],
    "nodes": {"o": {"activation": "sigmoid", "bias": "b"}},
    "edges": [{"from": "x", "to": "o", "weight": "w"}],
    "output": "o",
    "at": {"x": 2, "w": 0.5, "b": -1},
}


def test_single_sigmoid_node():
    # z = w*x + b = 0.5*2 - 1 = 0, o = s(0) = 1/2, s'(0) = o(1-o) = 1/4.
    # do/dz = 1/4; do/dw = x/4 = 1/2; do/db = 1/4; do/dx = w/4 = 1/8; do/do = 1.
    value, g = evaluate(SINGLE, {})
    assert value == 0.5
    assert g == {"x": 0.125, "w": 0.5, "b": 0.25, "o": 1.0, "z_o": 0.25}


def test_single_sigmoid_squared_error_and_constant_target():
    # L = (o - y)^2 with y = 1: L = 1/4, dL/do = 2(o - y) = -1, so every gradient above times -1.
    spec = dict(SINGLE, loss={"type": "squared_error", "target": "y"})
    value, g = evaluate(spec, {"y": 1})
    assert value == 0.25
    assert (g["o"], g["z_o"], g["w"], g["b"], g["x"]) == (-1.0, -0.25, -0.5, -0.25, -0.125)
    assert "y" not in g  # targets are data, not differentiated
    # half_squared_error with the constant target 1: L = 1/8, dL/do = o - y = -1/2.
    spec = dict(SINGLE, loss={"type": "half_squared_error", "target": 1})
    value, g = evaluate(spec, {})
    assert (value, g["w"]) == (0.125, -0.25)
    # `point` overrides `at`: w = 2 gives z = 3, do/dw = x s(3)(1-s(3)) = 2 s(3) s(-3).
    value, g = evaluate(SINGLE, {"w": 2})
    assert close(value, s(3)) and close(g["w"], 2 * s(3) * s(-3))


def test_tied_weight_sums_every_use():
    # h = w*x + w (the same w as weight and bias), o = w*h, both identity:
    # o = w^2 x + w^2 = 4*3 + 4 = 16 at x = 3, w = 2.
    # do/dw = 2wx + 2w = 12 + 4 = 16; do/dx = w^2 = 4; do/dh = do/dz_h = w = 2.
    spec = {"inputs": {"x": 3}, "nodes": {"h": {"bias": "w"}, "o": {"activation": "linear"}},
            "edges": [["x", "h", "w"], ["h", "o", "w"]], "output": "o"}
    value, g = evaluate(spec, {"w": 2})
    assert value == 16.0
    assert (g["w"], g["x"], g["h"], g["z_h"], g["o"]) == (16.0, 4.0, 2.0, 2.0, 1.0)


CE = {
    "inputs": ["x"],
    "nodes": {"o1": {}, "o2": {}},
    "edges": [["x", "o1", "w1"], ["x", "o2", "w2"]],
    "output": ["o1", "o2"],
    "loss": {"type": "cross_entropy", "target": ["y1", "y2"]},
}


def test_softmax_cross_entropy_two_outputs():
    # x = 1, w1 = 1, w2 = 0: o = (1, 0), p1 = e/(e+1) = s(1), p2 = s(-1).
    # One-hot y = (1, 0): L = -log p1 = log(1 + e^-1).
    # dL/do_i = p_i - y_i: dL/do1 = s(1) - 1 = -s(-1), dL/do2 = s(-1).
    # dL/dw_i = x dL/do_i; dL/dx = w1 dL/do1 + w2 dL/do2 = -s(-1).
    value, g = evaluate(CE, {"x": 1, "w1": 1, "w2": 0, "y1": 1, "y2": 0})
    assert close(value, math.log1p(math.exp(-1)))
    assert close(g["w1"], -s(-1)) and close(g["w2"], s(-1)) and close(g["x"], -s(-1))
    assert close(g["o1"], -s(-1)) and close(g["z_o2"], s(-1))
    # Probability targets y = (1/4, 3/4), equal logits (x = 2, w = 1/2): p = (1/2, 1/2),
    # L = -(1/4 + 3/4) log(1/2) = log 2; dL/do = p - y = (1/4, -1/4); dL/dw = 2 dL/do.
    value, g = evaluate(CE, {"x": 2, "w1": 0.5, "w2": 0.5, "y1": 0.25, "y2": 0.75})
    assert close(value, math.log(2)) and (g["w1"], g["w2"]) == (0.5, -0.5)
    # Stability: logits (1000, 0), y = (0, 1): L = 1000 + log(1 + e^-1000) = 1000,
    # dL/do = p - y = (1, -1) in float64 (no overflow from exp(1000)).
    value, g = evaluate(CE, {"x": 1, "w1": 1000, "w2": 0, "y1": 0, "y2": 1})
    assert (value, g["w1"], g["w2"]) == (1000.0, 1.0, -1.0)


CONTRACT_NET = {
    "inputs": ["I"],
    "nodes": {"h1": {"activation": "sigmoid", "bias": 1},
              "h2": {"activation": "sigmoid", "bias": 1},
              "h3": {"activation": "sigmoid", "bias": 1},
              "O": {"activation": "sigmoid", "bias": "b_O"}},
    "edges": [{"from": "I", "to": "h1", "weight": "w1"}, {"from": "h1", "to": "h2", "weight": "w2"},
              ["h1", "h3", "w3"], ["h2", "O", "w4"], ["h3", "O", "w5"]],
    "output": "O",
    "loss": {"type": "squared_error", "target": "y"},
    "at": {"I": 1, "w1": 0.5, "w2": 0.5, "w3": 0.5, "w4": 0.5, "w5": 0.5, "b_O": 1},
}


def test_contract_network_dO_dw1():
    # Chain rule, s' = s(1-s):
    #   dO/dw1 = O(1-O) * (w4 h2(1-h2) w2 + w5 h3(1-h3) w3) * h1(1-h1) * I.
    # At all weights 1/2, biases 1, I = 1: h1 = s(3/2), h2 = h3 = s(h1/2 + 1), O = s(h2 + 1), so
    #   dO/dw1 = O(1-O) * (1/2) h2(1-h2) * h1(1-h1), evaluated below at 40 digits with mpmath.
    def ms(x):
        return 1 / (1 + mpmath.exp(-x))

    with mpmath.workdps(40):
        h1 = ms(mpmath.mpf(1.5))
        h2 = ms(h1 / 2 + 1)
        o = ms(h2 + 1)
        exact = float(o * (1 - o) * h2 * (1 - h2) * h1 * (1 - h1) / 2)
    value, g = evaluate(CONTRACT_NET, {}, of="O")
    assert close(value, float(o))
    assert close(g["w1"], exact) and close(g["w1"], 0.0014291881022047)
    # Same derivative through a z: dO/dz_h1 = dO/dw1 / I.
    assert close(g["z_h1"], exact)


def test_kinks_follow_pytorch():
    # z = w*x + b = 1*1 - 1 = 0 exactly. relu'(0) = 0; leaky_relu'(0) = slope (0.01 or given).
    spec = {"inputs": ["x"], "nodes": {"o": {"activation": "relu", "bias": "b"}},
            "edges": [["x", "o", "w"]], "output": "o"}
    pt = {"x": 1, "w": 1, "b": -1}
    assert evaluate(spec, pt) == (0.0, {"x": 0.0, "w": 0.0, "b": 0.0, "o": 1.0, "z_o": 0.0})
    spec["nodes"]["o"]["activation"] = "leaky_relu"
    assert evaluate(spec, pt)[1]["w"] == 0.01
    spec["nodes"]["o"]["slope"] = 0.2
    assert evaluate(spec, pt)[1]["b"] == 0.2


def test_formula_activation_and_formula_loss():
    # o = f(w x), f(x) = x/(1+|x|), f'(x) = 1/(1+|x|)^2. At x = w = 1: z = 1, o = 1/2, f' = 1/4.
    # L = (o - y)^4, y = 0: L = 1/16, dL/do = 4 (o-y)^3 = 1/2, dL/dw = 1/2 * 1/4 * x = 1/8.
    formulas = {"x/(1+abs(x))": (lambda x: x / (1 + abs(x)), lambda x: 1 / (1 + abs(x)) ** 2),
                "(o-y)**4": (lambda o, y: (o - y) ** 4, lambda o, y: 4 * (o - y) ** 3)}
    spec = {"inputs": ["x"], "nodes": {"o": {"activation": "x/(1+abs(x))"}},
            "edges": [["x", "o", "w"]], "output": "o",
            "loss": {"type": "formula", "formula": "(o-y)**4", "target": "y"}}
    value, g = evaluate(spec, {"x": 1, "w": 1, "y": 0}, formulas=formulas)
    assert (value, g["o"], g["w"]) == (0.0625, 0.5, 0.125)


def test_two_outputs_bce_sum_and_unused_input():
    # a = s(ba), b = s(bb) at ba = bb = 0 (the input x feeds both with weight 0): a = b = 1/2.
    # L = -log a - log(1 - b) for y = (1, 0) = 2 log 2; for BCE on a sigmoid, dL/dz = o - y:
    # dL/dba = -1/2, dL/dbb = 1/2. The input u feeds nothing, so dL/du = 0.
    spec = {"inputs": ["x", "u"], "nodes": {"a": {"activation": "sigmoid", "bias": "ba"},
                                            "b": {"activation": "sigmoid", "bias": "bb"}},
            "edges": [["x", "a", 0], ["x", "b", 0]], "output": ["a", "b"],
            "loss": "binary_cross_entropy", "target": ["ya", "yb"]}
    value, g = evaluate(spec, {"x": 5, "u": 7, "ba": 0, "bb": 0, "ya": 1, "yb": 0})
    assert close(value, 2 * math.log(2))
    assert (g["ba"], g["bb"], g["u"], g["x"]) == (-0.5, 0.5, 0.0, 0.0)


# --- finite-difference self-check -------------------------------------------------------------

def _random_net(loss: dict, acts: list[str], outputs: int) -> dict:
    """A layered net: 2 inputs, hidden nodes with the given activations, then the outputs.
    Every node has its own bias parameter, so d/dz_v can be checked as d/d(bias of v)."""
    hidden = [f"h{i}" for i in range(len(acts))]
    outs = [f"o{i}" for i in range(outputs)]
    nodes = {h: {"activation": a, "bias": f"b_{h}"} for h, a in zip(hidden, acts, strict=True)}
    out_act = loss.pop("out_act", "identity")
    nodes.update({o: {"activation": out_act, "bias": f"b_{o}"} for o in outs})
    edges = [[src, h, f"w_{src}_{h}"] for h in hidden for src in ("x1", "x2")]
    edges += [[h, o, f"w_{h}_{o}"] for o in outs for h in hidden]
    edges += [["x1", outs[0], "w_h0_o0"]]  # tied with an existing weight
    edges += [["h0", "h1", "w_x1_h0"]] if len(hidden) > 1 else []  # another tie, and depth
    spec = {"inputs": ["x1", "x2"], "nodes": nodes, "edges": edges, "output": outs,
            "loss": dict(loss, target=[f"y{i}" for i in range(outputs)])}
    return spec


NETS = [
    ({"type": "squared_error"}, ["sigmoid", "tanh", "softplus"], 1),
    ({"type": "half_squared_error"}, ["exp", "tanh", "leaky_relu"], 2),
    ({"type": "binary_cross_entropy", "out_act": "sigmoid"}, ["tanh", "relu", "sigmoid"], 2),
    ({"type": "cross_entropy"}, ["sigmoid", "softplus", "x/(1+abs(x))"], 3),
    ({"type": "formula", "formula": "(o-y)**4"}, ["tanh", "linear"], 1),
]
FORMULAS = {"x/(1+abs(x))": (lambda x: x / (1 + abs(x)), lambda x: 1 / (1 + abs(x)) ** 2),
            "(o-y)**4": (lambda o, y: (o - y) ** 4, lambda o, y: 4 * (o - y) ** 3)}


@pytest.mark.parametrize("loss, acts, outputs", NETS)
def test_matches_finite_differences(loss, acts, outputs):
    rng = random.Random(SEED)
    spec = _random_net(dict(loss), acts, outputs)
    names = {e[2] for e in spec["edges"]} | {n["bias"] for n in spec["nodes"].values()}
    point = {n: rng.uniform(-1, 1) for n in [*sorted(names), "x1", "x2"]}
    ys = [rng.uniform(0.1, 0.9) for _ in range(outputs)]
    if loss["type"] == "cross_entropy":
        ys = [y / sum(ys) for y in ys]
    point.update({f"y{i}": y for i, y in enumerate(ys)})
    _, grads = evaluate(spec, point, formulas=FORMULAS)
    for name in [*sorted(names), "x1", "x2"]:
        up, down = dict(point), dict(point)
        up[name] += FD_STEP
        down[name] -= FD_STEP
        numeric = (evaluate(spec, up, formulas=FORMULAS)[0]
                   - evaluate(spec, down, formulas=FORMULAS)[0]) / (2 * FD_STEP)
        assert close(grads[name], numeric, FD_REL, FD_ABS), (name, grads[name], numeric)
    for node in spec["nodes"]:  # the bias enters z additively, so d/dz = d/d(bias)
        assert grads["z_" + node] == grads[f"b_{node}"]


# --- layers and batches -----------------------------------------------------------------------

def test_expand_layers_names_units_weights_and_biases():
    spec = {"inputs": ["p", "q"],
            "layers": [{"units": 2, "activation": "leaky_relu", "slope": 0.2},
                       {"units": 1, "bias": False}],
            "loss": {"type": "squared_error", "target": "y"},
            "at": {"W1": [[1, 2], [3, 4]], "b1": [5, 6], "W2_1_1": 7, "W2_1_2": 8}}
    net = expand_layers(spec)
    assert net["nodes"] == {"a1_1": {"activation": "leaky_relu", "slope": 0.2, "bias": "b1_1"},
                            "a1_2": {"activation": "leaky_relu", "slope": 0.2, "bias": "b1_2"},
                            "a2_1": {"activation": "identity"}}
    assert net["edges"] == [["p", "a1_1", "W1_1_1"], ["q", "a1_1", "W1_1_2"],
                            ["p", "a1_2", "W1_2_1"], ["q", "a1_2", "W1_2_2"],
                            ["a1_1", "a2_1", "W2_1_1"], ["a1_2", "a2_1", "W2_1_2"]]
    assert net["output"] == "a2_1"
    assert net["loss"] == spec["loss"] and net["inputs"] == ["p", "q"] and "layers" not in net
    assert net["at"] == {"W1_1_1": 1, "W1_1_2": 2, "W1_2_1": 3, "W1_2_2": 4, "b1_1": 5, "b1_2": 6,
                         "W2_1_1": 7, "W2_1_2": 8}
    # Several output units: the output is the list of the last layer's nodes; a map of inputs
    # counts in its order; without `layers` the spec is returned unchanged.
    wide = expand_layers({"inputs": {"u": 1.0}, "layers": [{"units": 3, "activation": "tanh"}]})
    assert wide["output"] == ["a1_1", "a1_2", "a1_3"]
    assert [e[2] for e in wide["edges"]] == ["W1_1_1", "W1_2_1", "W1_3_1"]
    assert expand_layers(SINGLE) is SINGLE


def test_expand_point_rows_are_units_columns_are_sources():
    assert expand_point({"W2": [[0.1, -0.2, 0.3]], "b2": [0.5], "W1": [[1], [2]], "x": 4, "y": 0}) == {
        "W2_1_1": 0.1, "W2_1_2": -0.2, "W2_1_3": 0.3, "b2_1": 0.5, "W1_1_1": 1, "W1_2_1": 2, "x": 4, "y": 0}
    assert expand_point(None) == {} and expand_point({}) == {}


def test_layer_wiring_by_hand():
    # Identity layers 2 -> 2 -> 1, no loss: O = sum_j W2_1_j (sum_k W1_j_k x_k + b1_j) + b2_1, so
    # dO/dW1_j_k = W2_1_j x_k (row j, column k) and dO/db1_j = W2_1_j, dO/dW2_1_j = a1_j.
    # x = (2, 3); W1 = [[1, 10], [100, 1000]], b1 = (0.5, -0.5): a1 = (32.5, 3199.5); W2 = [[2, -1]].
    spec = {"inputs": ["x1", "x2"], "layers": [{"units": 2}, {"units": 1, "activation": "linear"}],
            "at": {"x1": 2, "x2": 3, "W1": [[1, 10], [100, 1000]], "b1": [0.5, -0.5], "W2": [[2, -1]],
                   "b2": [0.25]}}
    value, g = evaluate(expand_layers(spec), {})
    assert value == 2 * 32.5 - 3199.5 + 0.25
    assert (g["W1_1_1"], g["W1_1_2"], g["W1_2_1"], g["W1_2_2"]) == (4.0, 6.0, -2.0, -3.0)
    assert (g["b1_1"], g["b1_2"], g["W2_1_1"], g["W2_1_2"], g["b2_1"]) == (2.0, -1.0, 32.5, 3199.5, 1.0)
    assert (g["x1"], g["x2"]) == (2 * 1 - 100, 2 * 10 - 1000)
    # evaluate_batch without data is evaluate, and it takes layer specs and matrix points directly.
    assert evaluate_batch(spec, {"W2": [[1, 1]]}) == evaluate(expand_layers(spec), {"W2_1_1": 1, "W2_1_2": 1})


def test_batch_golden_one_sigmoid_unit_bce_two_samples():
    # One input, one sigmoid unit, BCE, m = 2: z = W x + b with W = 1, b = 0.
    # Sample 1: x = log 3, y = 1: a = s(log 3) = 3/4, L = -log(3/4) = log(4/3), dL/dz = a - y = -1/4.
    # Sample 2: x = -log 3, y = 1: a = s(-log 3) = 1/4, L = -log(1/4) = log 4, dL/dz = -3/4.
    # J = (log(4/3) + log 4) / 2.
    # BCE on a sigmoid: dL/dz = a - y, so dJ/dW = (1/m) sum (a - y) x and dJ/db = (1/m) sum (a - y):
    #   dJ/dW = ((-1/4) log 3 + (-3/4)(-log 3)) / 2 = (log 3 / 2) / 2 = log(3) / 4,
    #   dJ/db = (-1/4 - 3/4) / 2 = -1/2.
    ln3 = math.log(3)
    data = [{"x": ln3, "y": 1}, {"x": -ln3, "y": 1}]
    spec = {"inputs": ["x"], "layers": [{"units": 1, "activation": "sigmoid"}],
            "loss": {"type": "binary_cross_entropy", "target": "y"}, "data": data,
            "at": {"W1": [[1.0]], "b1": [0.0]}}
    value, g = evaluate_batch(spec, {})
    assert close(value, (math.log(4 / 3) + math.log(4)) / 2)
    assert close(g["W1_1_1"], ln3 / 4) and close(g["b1_1"], -0.5)
    # The same by the formula (1/m) sum (a - y) x, with a computed from each sample.
    a = [s(d["x"]) for d in data]
    assert close(g["W1_1_1"], sum((ai - d["y"]) * d["x"] for ai, d in zip(a, data, strict=True)) / len(data))
    assert set(g) == {"W1_1_1", "b1_1"}  # inputs and targets vary per sample: no single derivative
    # A point overrides `at`; a sample overrides both: W = 0 gives a = 1/2 on every sample.
    value, g = evaluate_batch(spec, {"W1": [[0.0]], "x": 99})
    assert close(value, math.log(2)) and close(g["b1_1"], -0.5) and close(g["W1_1_1"], 0.0, abs_=1e-15)


def test_batch_matches_finite_differences():
    # 3 inputs -> 2 tanh (no bias) -> 3 identity logits, softmax cross-entropy, 3 one-hot samples.
    rng = random.Random(SEED)
    spec = {"inputs": ["x1", "x2", "x3"],
            "layers": [{"units": 2, "activation": "tanh", "bias": False}, {"units": 3, "activation": "identity"}],
            "loss": {"type": "cross_entropy", "target": ["y1", "y2", "y3"]},
            "data": [{"x1": rng.uniform(-1, 1), "x2": rng.uniform(-1, 1), "x3": rng.uniform(-1, 1),
                      **{f"y{i}": float(i == hot) for i in (1, 2, 3)}} for hot in (1, 3, 2)]}
    names = [f"W1_{j}_{k}" for j in (1, 2) for k in (1, 2, 3)]
    names += [f"W2_{j}_{k}" for j in (1, 2, 3) for k in (1, 2)] + ["b2_1", "b2_2", "b2_3"]
    point = {n: rng.uniform(-1, 1) for n in names}
    value, g = evaluate_batch(spec, point)
    assert set(g) == set(names)
    per_sample = [evaluate(expand_layers(spec), {**point, **d})[0] for d in spec["data"]]
    assert close(value, sum(per_sample) / 3)
    for name in names:
        up, down = dict(point), dict(point)
        up[name] += FD_STEP
        down[name] -= FD_STEP
        numeric = (evaluate_batch(spec, up)[0] - evaluate_batch(spec, down)[0]) / (2 * FD_STEP)
        assert close(g[name], numeric, FD_REL, FD_ABS), (name, g[name], numeric)


# --- the formula parser (CONTRACT sections 1 and 4) --------------------------------------------

def value_of(text: str, **values: float) -> float:
    return formula_value(text, values)[0]


@pytest.mark.parametrize("text, expected", [
    ("-x**2", -9.0),             # the power binds tighter than the unary minus, as in Python
    ("-x^2", -9.0),
    ("(-x)**2", 9.0),
    ("2^3^2", 512.0),            # right-associative: 2^(3^2)
    ("2**3**2", 512.0),
    ("(2^3)^2", 64.0),
    ("2**-1", 0.5),              # the exponent may carry a sign
    ("2^-x", 0.125),
    ("-2**-2", -0.25),
    ("1 - 2 - 3", -4.0),         # left-associative
    ("8 / 4 / 2", 1.0),
    ("2 * 3 + 4", 10.0),
    ("2 + 3 * 4", 14.0),
    ("2 * -x", -6.0),
    ("+x - -x", 6.0),
    ("--x", 3.0),
    ("x*x/x", 3.0),
    ("1e-3 * 1000", 1.0),        # numbers: exponents, leading and trailing dots
    (".5 + 2. + 1.5E1", 17.5),
    ("exp(0) + log(1) + sqrt(9) + abs(-x) + tanh(0) + sin(0) + cos(0)", 8.0),
    ("sigmoid(0) + relu(-x) + relu(x)", 3.5),
    ("softplus(0)", math.log(2)),
    ("max(1, x, 2) + min(x, -1) * max(-x, -5)", 6.0),
    (" ( x\n + 1 ) ", 4.0),      # whitespace and line breaks are ignored
])
def test_precedence_and_values(text, expected):
    assert math.isclose(value_of(text, x=3), expected, rel_tol=1e-15)


def test_trees_and_names():
    x, two = ("name", "x", 2), ("num", 2.0)
    assert parse_formula("-x**2") == ("neg", ("bin", "**", x, two))
    assert parse_formula("-x^2") == ("neg", ("bin", "**", x, two))
    assert parse_formula("a - b - c")[2] == ("bin", "-", ("name", "a", 1), ("name", "b", 5))
    assert parse_formula("max(q, gamma*z)")[0:2] == ("call", "max")
    assert formula_names("max(q, gamma*z) + q*exp(z1) - sigmoid(gamma)") == ["q", "gamma", "z", "z1"]
    assert formula_names("2 + 3") == []


@pytest.mark.parametrize("text, col, fragment", [
    ("2x", 2, "unexpected 'x'"),                     # no products by juxtaposition
    ("x +", 4, "unexpected 'end of formula'"),
    ("(x + 1", 7, "expected ')'"),
    ("x + 1)", 6, "unexpected ')'"),
    ("sigmod(x)", 1, "unknown function 'sigmod'"),
    ("exp x", 1, "needs its arguments"),
    ("exp(x, y)", 1, "takes one argument"),
    ("max(x)", 1, "two or more"),
    ("min()", 5, "unexpected ')'"),
    ("x $ y", 3, "unexpected character '$'"),
    ("__import__('os')", 1, "unexpected character '_'"),
    ("x; y", 2, "unexpected character ';'"),
    ("x == y", 3, "unexpected character '='"),
    ("x[0]", 2, "unexpected character '['"),
    ("lambda: 0", 7, "unexpected character ':'"),
    ("", 1, "unexpected 'end of formula'"),
    ("x y", 3, "unexpected 'y'"),
])
def test_syntax_errors_name_the_column(text, col, fragment):
    with pytest.raises(FormulaError) as e:
        parse_formula(text)
    assert e.value.col == col and fragment in str(e.value), str(e.value)


def test_formula_derivatives_by_hand():
    # d/dx of x^3 / (1 + y^2) at x = 2, y = 1: 3x^2 / 2 = 6; d/dy: -x^3 2y / (1 + y^2)^2 = -4.
    value, g = formula_value("x^3 / (1 + y^2)", {"x": 2, "y": 1})
    assert (value, g["x"], g["y"]) == (4.0, 6.0, -4.0)
    # a^b: d/da = b a^(b-1) = 8 * 3 = 24 ... at a = 2, b = 3: d/db = a^b log a = 8 log 2.
    value, g = formula_value("a**b", {"a": 2, "b": 3})
    assert value == 8 and g["a"] == 12 and close(g["b"], 8 * math.log(2))
    # A negative base with an integer exponent: (-2)^3 = -8, d/da = 3 * 4 = 12.
    assert formula_value("a^3", {"a": -2}) == (-8.0, {"a": 12.0})
    # Every function's derivative at a point, by hand.
    u = 0.3
    hand = {"exp": math.exp(u), "log": 1 / u, "sqrt": 0.5 / math.sqrt(u), "abs": 1.0, "tanh": 1 - math.tanh(u) ** 2,
            "sigmoid": s(u) * (1 - s(u)), "relu": 1.0, "softplus": s(u), "sin": math.cos(u), "cos": -math.sin(u)}
    for f, d in hand.items():
        assert close(formula_value(f"{f}(u)", {"u": u})[1]["u"], d), f
        assert close(formula_value(f"{f}(-u)", {"u": -u})[1]["u"], -d), f  # the chain rule through -u
    # A name used twice sums both uses: d(x*x + x)/dx = 2x + 1.
    assert formula_value("x*x + x", {"x": 1.5})[1] == {"x": 4.0}


def test_kinks_follow_pytorch_and_max_pooling():
    # relu'(0) = 0 and abs'(0) = 0; max/min send the whole derivative to the FIRST argument attaining it.
    assert formula_value("relu(x)", {"x": 0})[1] == {"x": 0.0}
    assert formula_value("abs(x)", {"x": 0})[1] == {"x": 0.0}
    assert formula_value("abs(x)", {"x": -2})[1] == {"x": -1.0}
    assert formula_value("max(a, b)", {"a": 1, "b": 1})[1] == {"a": 1.0, "b": 0.0}
    assert formula_value("max(b, a)", {"a": 1, "b": 1})[1] == {"a": 0.0, "b": 1.0}
    assert formula_value("min(a, b, c)", {"a": 2, "b": -1, "c": -1})[1] == {"a": 0.0, "b": 1.0, "c": 0.0}
    assert formula_value("max(a, 2*b, c)", {"a": 0, "b": 1, "c": 1})[1] == {"a": 0.0, "b": 2.0, "c": 0.0}
    assert formula_value("max(x, x)", {"x": 3})[1] == {"x": 1.0}  # one winner, even when it is the same name
    assert formula_value("max(x, 0)", {"x": 0})[1] == {"x": 1.0}  # the first: x itself, unlike relu(x)
    assert formula_value("max(0, x)", {"x": 0})[1] == {"x": 0.0}


@pytest.mark.parametrize("text", sorted(set(NET_FORMULAS) | set(SPEC_FORMULAS)))
def test_parsed_formulas_equal_the_float_functions_callers_used_to_supply(text):
    # Backward compatibility: the parser gives what `formulas=` gave, so both ways agree.
    f, df = {**NET_FORMULAS, **SPEC_FORMULAS}[text]
    for a in (-1.3, -0.2, 0.7, 1.9):
        if "o" in formula_names(text):  # a loss L(o, y); y is a constant
            value, g = formula_value(text, {"o": a, "y": 0.4})
            assert close(value, f(a, 0.4)) and close(g["o"], df(a, 0.4)), (text, a)
        else:
            value, g = formula_value(text, {"x": a})
            assert close(value, f(a)) and close(g["x"], df(a)), (text, a)


def test_formula_activation_and_loss_without_callables():
    spec = YAML(typ="safe").load((SPECS_DIR / "formula_activation_loss.yaml").read_text())
    with_callables = evaluate(spec, {}, formulas=SPEC_FORMULAS)
    parsed = evaluate(spec, {})
    assert close(parsed[0], with_callables[0])
    assert all(close(parsed[1][k], v) for k, v in with_callables[1].items())


# --- section 4 semantics ----------------------------------------------------------------------

GRAPH = {
    "inputs": ["x", "y", "z"],
    "parameters": {"gamma": 1.5},
    "nodes": {"q": {"formula": "x + y"}, "f": {"formula": "q * z"}, "m": {"formula": "max(q, gamma*z)"},
              "o": {"activation": "sigmoid", "bias": "b"}},
    "edges": [["m", "o", "w"]],
    "output": ["f", "o"],
    "loss": {"type": "squared_error", "target": ["t1", "t2"], "reduction": "sum"},
    "penalty": "0.05*(w^2 + gamma^2)",
    "regularization": {"l2": 0.01},
    "at": {"x": -2, "y": 5, "z": 1, "w": 0.5, "b": -1, "t1": 0, "t2": 1},
}


def test_the_contract_example_by_hand():
    # q = 3, f = q z = 3, gamma z = 1.5 < q so m = q = 3, z_o = w m + b = 0.5, o = s(0.5).
    # L = (f - 0)^2 + (o - 1)^2 + 0.05 (w^2 + gamma^2) + (0.01/2) w^2   (w is the only edge weight).
    o = s(0.5)
    dz_o = 2 * (o - 1) * o * (1 - o)
    value, g = evaluate(GRAPH, {})
    assert close(value, 9 + (o - 1) ** 2 + 0.05 * (0.25 + 2.25) + 0.005 * 0.25)
    assert close(g["f"], 6.0) and close(g["o"], 2 * (o - 1)) and close(g["z_o"], dz_o)
    assert close(g["m"], 0.5 * dz_o)
    assert close(g["q"], 6.0 * 1 + 0.5 * dz_o)           # q feeds f (times z) and wins the max
    assert close(g["x"], g["q"]) and close(g["y"], g["q"])
    assert close(g["z"], 6.0 * 3)                         # gamma z loses the max: only through f
    assert close(g["gamma"], 0.1 * 1.5)                   # the penalty alone
    assert close(g["w"], 3 * dz_o + 0.1 * 0.5 + 0.01 * 0.5)
    assert close(g["b"], dz_o)                            # biases are not regularized
    assert "z_q" not in g and "z_m" not in g              # formula nodes have no pre-activation
    with pytest.raises(KeyError, match="no pre-activation"):
        evaluate(GRAPH, {}, of="z_m")


def test_parameters_list_map_and_borrowed_weights():
    base = {"inputs": ["x"], "nodes": {"h": {"activation": "tanh", "bias": "c"}, "g": {"formula": "k*h + c*x"}},
            "edges": [["x", "h", "w"]], "output": "g"}
    # k declared in a list (value in at), c borrowed from h's bias; edges from inputs to neurons only.
    spec = dict(base, parameters=["k"], at={"x": 2, "w": 0.5, "c": 0.25, "k": 3})
    value, g = evaluate(spec, {})
    h = math.tanh(1.25)
    assert close(value, 3 * h + 0.5)
    assert close(g["k"], h) and close(g["c"], 3 * (1 - h * h) + 2) and close(g["x"], 3 * (1 - h * h) * 0.5 + 0.25)
    # A map of defaults; `at` and the point override them in turn.
    spec = dict(base, parameters={"k": 3}, at={"x": 2, "w": 0.5, "c": 0.25})
    assert close(evaluate(spec, {})[0], 3 * h + 0.5)
    assert close(evaluate(dict(spec, at={**spec["at"], "k": 1}), {})[0], h + 0.5)
    assert close(evaluate(spec, {"k": 0})[0], 0.5)
    # An undeclared name is an error; so is one that is only an input or target elsewhere.
    with pytest.raises(KeyError, match="unknown name 'kk'"):
        evaluate(dict(base, nodes={**base["nodes"], "g": {"formula": "kk*h"}}, at={"x": 1, "w": 1, "c": 1}), {})


def test_edges_may_be_omitted_and_formula_nodes_take_no_edges():
    spec = {"inputs": ["x"], "nodes": {"q": {"formula": "x^2"}}, "output": "q", "at": {"x": 3}}
    assert evaluate(spec, {}) == (9.0, {"x": 6.0, "q": 1.0})
    with pytest.raises(ValueError, match="edge into the formula node 'q'"):
        evaluate(dict(spec, edges=[["x", "q", "w"]], at={"x": 3, "w": 1}), {})
    with pytest.raises(ValueError, match="takes no 'bias'"):
        evaluate(dict(spec, nodes={"q": {"formula": "x^2", "bias": 1}}), {})
    with pytest.raises(ValueError, match="cycle"):
        evaluate({"inputs": ["x"], "nodes": {"a": {"formula": "x + b"}, "b": {"formula": "a"}}, "output": "b",
                  "at": {"x": 1}}, {})


def test_regularization_counts_each_edge_weight_once_and_no_biases():
    # w is tied (two edges), v is a bias, 0.5 is a constant weight: only w is decayed, once.
    spec = {"inputs": ["x"], "nodes": {"h": {"bias": "v"}, "o": {"bias": "v"}},
            "edges": [["x", "h", "w"], ["h", "o", "w"], ["x", "o", 0.5]], "output": "o",
            "loss": {"type": "half_squared_error", "target": "t"}, "at": {"x": 1, "w": 2, "v": 0.5, "t": 0}}
    plain_value, plain = evaluate(spec, {})
    for reg, extra_value, extra_w in [({"l2": 0.1}, 0.05 * 4, 0.1 * 2), ({"l1": 0.1}, 0.1 * 2, 0.1),
                                      ({"l2": 0.1, "l1": 0.3}, 0.2 + 0.6, 0.2 + 0.3)]:
        value, g = evaluate(dict(spec, regularization=reg), {})
        assert close(value, plain_value + extra_value), reg
        assert close(g["w"], plain["w"] + extra_w) and g["v"] == plain["v"] and g["x"] == plain["x"], reg
    # l1 at w = 0: |w| has derivative 0 there.
    assert evaluate(dict(spec, regularization={"l1": 1.0}), {"w": 0})[1]["w"] == evaluate(spec, {"w": 0})[1]["w"]


def test_penalty_without_a_loss_goes_on_the_output_only():
    spec = {"inputs": ["x"], "nodes": {"h": {"formula": "2*x"}, "o": {"formula": "h + c"}}, "output": "o",
            "parameters": {"c": 1.0}, "penalty": "c^2", "at": {"x": 1}}
    assert evaluate(spec, {}) == (4.0, {"x": 2.0, "c": 3.0, "h": 1.0, "o": 1.0})
    assert evaluate(spec, {}, of="h") == (2.0, {"x": 2.0, "c": 0.0, "h": 1.0, "o": 0.0})  # no penalty on h
    with pytest.raises(KeyError, match="unknown name 'x' in the penalty"):
        evaluate(dict(spec, penalty="x^2"), {})


BATCH = {"inputs": ["x"], "nodes": {"o": {"formula": "a*x + c"}}, "output": "o", "parameters": ["a", "c"],
         "loss": {"type": "squared_error", "target": "y"}, "penalty": "0.5*a^2",
         "data": [{"x": 1, "y": 0}, {"x": 2, "y": 1}, {"x": -1, "y": 0}], "at": {"a": 1, "c": 0.5}}


def test_reduction_mean_or_sum_and_the_penalty_once():
    # Residuals r = a x + c - y: 1.5, 1.5, -0.5; sum r^2 = 4.75; sum 2r x = 3 + 6 + 1 = 10; sum 2r = 5.
    value, g = evaluate_batch(BATCH, {})
    assert close(value, 4.75 / 3 + 0.5) and close(g["a"], 10 / 3 + 1) and close(g["c"], 5 / 3)
    summed = dict(BATCH, loss={**BATCH["loss"], "reduction": "sum"})
    value, g = evaluate_batch(summed, {})
    assert close(value, 4.75 + 0.5) and close(g["a"], 10 + 1) and close(g["c"], 5.0)
    assert set(g) == {"a", "c"}
    explicit_mean = dict(BATCH, loss={**BATCH["loss"], "reduction": "mean"})
    assert evaluate_batch(explicit_mean, {}) == evaluate_batch(BATCH, {})
    # Without data the reduction changes nothing.
    one = {k: v for k, v in summed.items() if k != "data"} | {"at": {"a": 1, "c": 0.5, "x": 2, "y": 1}}
    assert evaluate_batch(one, {}) == evaluate_batch({**one, "loss": BATCH["loss"]}, {})


# --- the example files: published numbers, by the engine alone -------------------------------------

SPECS_DIR = Path(__file__).resolve().parent.parent / "specs"


def spec_file(name: str) -> dict:
    return YAML(typ="safe").load((SPECS_DIR / name).read_text())


def test_cs231n_product_published_numbers():
    # f = (x + y) z at (-2, 5, -4): f = -12, df/dx = df/dy = z = -4, df/dz = x + y = 3.
    value, g = evaluate(spec_file("graph_product.yaml"), {})
    assert value == -12.0
    assert (g["x"], g["y"], g["z"], g["q"], g["f"]) == (-4.0, -4.0, 3.0, -4.0, 1.0)


def test_cs231n_sigmoid_circuit_published_numbers():
    # dot = 2(-1) + (-3)(-2) - 3 = 1, f = s(1) = 0.73, ddot = (1 - f) f = 0.1966.
    value, g = evaluate(spec_file("graph_sigmoid_circuit.yaml"), {})
    ddot = s(1) * (1 - s(1))
    assert close(value, s(1)) and round(value, 2) == 0.73 and round(ddot, 2) == 0.20
    assert [g["x0"], g["x1"]] == [pytest.approx(2 * ddot, rel=1e-15), pytest.approx(-3 * ddot, rel=1e-15)]
    assert [g["w0"], g["w1"], g["w2"]] == [pytest.approx(v * ddot, rel=1e-15) for v in (-1, -2, 1)]
    # The notes' figure, to its two decimals: dx = [0.39, -0.59], dw = [-0.20, -0.39, 0.20].
    assert [round(g[n], 2) for n in ("x0", "x1", "w0", "w1", "w2")] == [0.39, -0.59, -0.20, -0.39, 0.20]
    # Three digits: dx = [0.393, -0.590], dw = [-0.196.., -0.393, 0.196..] (0.19661 truncated or rounded).
    assert abs(g["x0"] - 0.393) < 5e-4 and abs(g["x1"] + 0.590) < 5e-4
    assert abs(g["w0"] + 0.196) < 1e-3 and abs(g["w1"] + 0.393) < 5e-4 and abs(g["w2"] - 0.196) < 1e-3
    assert g["dot"] == pytest.approx(ddot, rel=1e-15) and g["p0"] == g["p1"] == g["dot"]


def cs231n_staged(x: float, y: float) -> dict[str, float]:
    """The notes' own staged forward and backward pass for (x + s(y)) / (s(x) + (x + y)^2)."""
    sigy = 1.0 / (1 + math.exp(-y))
    num = x + sigy
    sigx = 1.0 / (1 + math.exp(-x))
    xpy = x + y
    xpysqr = xpy ** 2
    den = sigx + xpysqr
    invden = 1.0 / den
    f = num * invden
    dnum = invden
    dinvden = num
    dden = (-1.0 / den ** 2) * dinvden
    dsigx = (1) * dden
    dxpysqr = (1) * dden
    dxpy = (2 * xpy) * dxpysqr
    dx = (1) * dxpy
    dy = (1) * dxpy
    dx += ((1 - sigx) * sigx) * dsigx
    dx += (1) * dnum
    dsigy = (1) * dnum
    dy += ((1 - sigy) * sigy) * dsigy
    return {"f": f, "x": dx, "y": dy, "num": dnum, "invden": dinvden, "den": dden, "sigx": dsigx,
            "xpysqr": dxpysqr, "xpy": dxpy, "sigy": dsigy}


def test_cs231n_staged_quotient_matches_the_notes_backward_pass():
    value, g = evaluate(spec_file("graph_quotient.yaml"), {})
    notes = cs231n_staged(3, -4)
    assert close(value, notes.pop("f"))
    for name, d in notes.items():
        assert close(g[name], d), (name, g[name], d)


def test_graph_max_routes_the_gradient_to_the_winner():
    # q = 3 < gamma z = 3.75 = m; z_o = 0.5 * 3.75 - 1 = 0.875; L = (o - 1)^2.
    o = s(0.875)
    dz_o = 2 * (o - 1) * o * (1 - o)
    value, g = evaluate(spec_file("graph_max.yaml"), {})
    assert close(value, (o - 1) ** 2)
    assert g["x"] == g["y"] == g["q"] == 0.0
    assert close(g["m"], 0.5 * dz_o) and close(g["gamma"], 2.5 * 0.5 * dz_o) and close(g["z"], 1.5 * 0.5 * dz_o)
    assert close(g["w"], 3.75 * dz_o) and close(g["b"], dz_o)
    # At a tie (z = 2: gamma z = 3 = q) the derivative goes to the first argument, q.
    _, tie = evaluate(spec_file("graph_max.yaml"), {"z": 2})
    assert tie["gamma"] == tie["z"] == 0.0 and tie["x"] == tie["q"] != 0.0


def test_l2_penalty_file_adds_lambda_w_to_weights_only():
    spec = spec_file("l2_penalty.yaml")
    plain = {k: v for k, v in spec.items() if k != "regularization"}
    value, g = evaluate_batch(spec, {})
    plain_value, p = evaluate_batch(plain, {})
    weights = expand_point(spec["at"])
    w = {k: v for k, v in weights.items() if k.startswith("W")}
    assert close(value, plain_value + 0.005 * sum(v * v for v in w.values()))
    for name in weights:
        assert close(g[name], p[name] + (0.01 * weights[name] if name in w else 0.0)), name
    # Mean reduction: three times the mean is the sum.
    summed = dict(plain, loss={**plain["loss"], "reduction": "sum"})
    assert close(evaluate_batch(summed, {})[0], 3 * plain_value)


def test_l1_sum_reduction_file_by_parts():
    spec = spec_file("l1_sum_reduction.yaml")
    value, g = evaluate_batch(spec, {})
    plain = {k: v for k, v in spec.items() if k not in ("regularization", "penalty")}
    samples = [evaluate(plain, sample) for sample in spec["data"]]
    at = spec["at"]
    weights = [f"w{i}" for i in range(1, 7)]
    assert close(value, sum(v for v, _ in samples) + 0.01 * sum(abs(at[w]) for w in weights)
                 + 0.005 * (at["w5"] ** 2 + at["w6"] ** 2))
    for name in [*weights, "b1", "b2", "b3"]:
        expected = sum(d[name] for _, d in samples)  # summed, no 1/m
        expected += 0.01 * math.copysign(1, at[name]) if name in weights else 0.0
        expected += 0.01 * at[name] if name in ("w5", "w6") else 0.0
        assert close(g[name], expected), name


def test_mazur_published_numbers_still_hold():
    value, g = evaluate(spec_file("mazur_step_by_step.yaml"), {})
    assert round(value, 9) == 0.298371109 and round(g["w5"], 9) == 0.082167041 and round(g["w1"], 9) == 0.000438568


# --- random graphs: the engine against finite differences ----------------------------------------

def central(spec: dict, of: str, name: str, point: dict) -> float:
    up, down = dict(point), dict(point)
    up[name] = up[name] + FD_STEP
    down[name] = down[name] - FD_STEP
    return (evaluate_batch(spec, up, of=of)[0] - evaluate_batch(spec, down, of=of)[0]) / (2 * FD_STEP)


@seeded
@settings(max_examples=examples(60), **PROPERTY_SETTINGS)
@given(graphs())
def test_random_graphs_match_finite_differences(case):
    spec, of = case
    target, grads = evaluate_batch(spec, {}, of=of)
    varying = set().union(*(spec.get("data") or [{}]))
    point = {k: v for k, v in _point(spec, {}).items() if k not in varying}
    names = sorted(parameters_of(spec)) + ([] if spec.get("data") else [*spec["inputs"]])
    assert set(parameters_of(spec)) <= set(grads)
    scale = max(1.0, abs(target))
    for name in names:
        numeric = central(spec, of, name, point)
        assert math.isclose(grads[name], numeric, rel_tol=1e-5, abs_tol=1e-7 * scale), (name, grads[name], numeric)
    if spec.get("data"):
        return
    # d target / d NODE for a formula node: add a parameter eps (= 0) to its formula; d/d eps is the same.
    for v, body in spec["nodes"].items():
        if "formula" not in body or v not in path_nodes(spec, v, of):
            continue
        shifted = dict(spec, nodes={**spec["nodes"], v: {"formula": f"({body['formula']}) + eps_"}},
                       parameters=[*(spec.get("parameters") or [])], at={**spec["at"], "eps_": 0.0})
        if isinstance(spec.get("parameters"), dict):
            shifted["parameters"] = list(spec["parameters"])
            shifted["at"].update(spec["parameters"])
        shifted["parameters"].append("eps_")
        _, g = evaluate(shifted, {}, of=of)
        assert close(g["eps_"], grads[v], 1e-12, 1e-15), (v, g["eps_"], grads[v])
        numeric = central(shifted, of, "eps_", {**point, "eps_": 0.0})
        assert math.isclose(grads[v], numeric, rel_tol=1e-5, abs_tol=1e-7 * scale), (v, grads[v], numeric)
