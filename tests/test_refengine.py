"""Tests of the reference engine itself: hand-derived values, then finite differences.

The engine is the oracle for derivator, so its own expected numbers are derived by hand
(derivations in the comments) and never taken from the engine's output.
"""

import math
import random

import mpmath
import pytest

try:
    from refengine import evaluate, evaluate_batch, expand_layers, expand_point
except ImportError:  # tests/ collected as a package
    from tests.refengine import evaluate, evaluate_batch, expand_layers, expand_point

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
