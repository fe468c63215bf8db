"""The five user stories' questions, answered with the numbers and forms a learner writes."""

import math

import mpmath
import pytest
import sympy
from sympy import Symbol

import derivator
from derivator.graph.network import symbol
from derivator.numbers.checking import derivative_value, point
from derivator.symbolic.printing import nested_code
from tests.conftest import SPECS


def S(names):
    return [symbol(n) for n in names.split()]


def same(a, b):
    """Equal as polynomials in the node values (expand is fine here: tests, tiny expressions)."""
    return sympy.expand(a - b) == 0


def load(name):
    return derivator.load(SPECS / name)


# -- Story 1: a single linear node --------------------------------------------------------------
def test_story1_linear_node_gives_y2():
    d = derivator.derive(load("story1_linear_node.yaml"), "w26")
    assert d.result == Symbol("y2", real=True)
    assert d.expanded() == Symbol("y2", real=True)


def test_story1_sigmoid_node_gives_y2_times_sigma_prime():
    x6, y2 = S("x6 y2")
    d = derivator.derive(load("story1_sigmoid_node.yaml"), "w26")
    assert same(d.result, y2 * x6 * (1 - x6))


def test_story1_value_by_hand():
    net = load("story1_sigmoid_node.yaml")
    z = 0.3 * 0.2 + 0.9 * -0.7 + -0.4 * 1.5
    s = 1 / (1 + math.exp(-z))
    value = derivative_value(derivator.derive(net, "w26"), point(net))
    assert math.isclose(value, -0.7 * s * (1 - s), rel_tol=1e-13)


# -- Story 2: the delta recursion on a DAG ------------------------------------------------------
def test_story2_delta_recursion():
    pred, u, v, w_up, w_uv, w_vp, a = S("pred u v w_up w_uv w_vp a")
    d = derivator.derive(load("story2_dag_delta.yaml"), "w_au")
    delta_pred = pred * (1 - pred)
    delta_v = v * (1 - v) * w_vp * delta_pred
    delta_u = u * (1 - u) * (w_up * delta_pred + w_uv * delta_v)
    assert same(d.deltas["pred"], delta_pred)
    assert same(d.deltas["v"], delta_v)
    assert same(d.deltas["u"], delta_u)
    assert same(d.result, delta_u * a)


def test_story2_output_activation_enters_only_its_own_delta():
    # With --of pred the output's sigmoid gives delta_pred = pred(1-pred); every other delta is
    # w * (that) times the nodes' own derivatives: no second pred(1-pred) factor anywhere.
    d = derivator.derive(load("story2_dag_delta.yaml"), "w_uv")
    pred = symbol("pred")
    assert sympy.degree(sympy.expand(d.result), pred) == 2  # pred*(1-pred) once: degree 2 in pred


# -- Story 4: the Desmos check --------------------------------------------------------------------
def test_story4_value_matches_the_graphing_calculator():
    net = load("story4_desmos_check.yaml")
    r = derivator.report(net, "w1", check=True)
    assert math.isclose(r.value, 0.0014291881022, rel_tol=1e-11)
    assert r.check.agrees
    assert math.isclose(r.check.numeric, 0.0014291881022, rel_tol=1e-6)


def test_story4_has_the_weight_products_on_each_path():
    O, h1, h2, h3, w2, w3, w4, w5, i = S("O h1 h2 h3 w2 w3 w4 w5 I")
    d = derivator.derive(load("story4_desmos_check.yaml"), "w1")
    teacher = O * (1 - O) * (w4 * h2 * (1 - h2) * w2 + w5 * h3 * (1 - h3) * w3) * h1 * (1 - h1) * i
    assert same(d.result, teacher)


def test_story4_hand_answer_is_off_by_the_factor_w4_w2():
    # The learner's answer lacks w4*w2 and w5*w3: at weights 0.5 it is 4 times the true value.
    with mpmath.workdps(30):
        s = lambda x: 1 / (1 + mpmath.exp(-x))  # noqa: E731
        dp = lambda x: s(x) * (1 - s(x))  # noqa: E731
        h1 = s(0.5 + 1)
        h2 = h3 = s(0.5 * h1 + 1)
        zO = 0.5 * h2 + 0.5 * h3 + 1
        hand = dp(zO) * (dp(0.5 * h1 + 1) * dp(1.5) * 1 + dp(0.5 * h1 + 1) * dp(1.5) * 1)
    assert math.isclose(float(hand), 0.00571675240882, rel_tol=1e-11)
    net = load("story4_desmos_check.yaml")
    assert math.isclose(float(hand) / derivator.report(net, "w1").value, 4.0, rel_tol=1e-12)


# -- Story 5: tanh with squared error -------------------------------------------------------------
def test_story5_output_delta_is_the_learners_form():
    x, y = S("x y")
    d = derivator.derive(load("story5_tanh_squared_error.yaml"), "z_x")
    assert same(d.result, 2 * (x - y) * (1 - x**2))
    assert not d.result.has(sympy.tanh)  # written with the node's output, not a nested tanh


def test_story5_delta_carried_back():
    x, y, h, v2 = S("x y h v2")
    d = derivator.derive(load("story5_tanh_squared_error.yaml"), "c")
    assert same(d.deltas["h"], v2 * (1 - h**2) * 2 * (x - y) * (1 - x**2))
    assert same(d.result, d.deltas["h"])  # c is h's bias: d loss/d c = delta_h


def test_story5_value_by_hand():
    h = math.tanh(0.6 * 0.8 + 0.1)
    x = math.tanh(-1.3 * h + 0.2)
    by_hand = 2 * (x - 0.25) * (1 - x**2) * -1.3 * (1 - h**2)
    net = load("story5_tanh_squared_error.yaml")
    assert math.isclose(derivator.report(net, "c").value, by_hand, rel_tol=1e-13)


# -- Output rules that cancel by construction ---------------------------------------------------
def test_sigmoid_with_binary_cross_entropy_is_exactly_o_minus_y():
    d = derivator.derive(load("two_outputs_bce.yaml"), "d1")
    O1, y1 = S("O1 y1")
    assert d.deltas["O1"] == O1 - y1  # structurally, not after simplification
    assert d.result == O1 - y1


def test_softmax_cross_entropy_is_exactly_p_minus_y():
    k1, k2, k3, y2 = S("k1 k2 k3 y2")
    d = derivator.derive(load("softmax_three_classes.yaml"), "b2")
    p2 = sympy.exp(k2) / (sympy.exp(k1) + sympy.exp(k2) + sympy.exp(k3))
    assert same(d.result, p2 - y2)
    assert nested_code(d.nested) == "exp(k2)/(exp(k1) + exp(k2) + exp(k3)) - y2"  # as written, p_i - y_i


def test_tied_weight_sums_both_uses():
    O, h, x1, t, w = S("O h x1 t w")
    d = derivator.derive(load("tied_weights.yaml"), "w")
    delta_O = O * (1 - O) * (O - t)
    delta_h = (1 - h**2) * w * delta_O
    assert [u.where for u in d.uses] == ["edge x1 -> h", "edge h -> O"]
    assert same(d.result, delta_h * x1 + delta_O * h)


# -- A published worked example (Mazur, "A Step by Step Backpropagation Example") ---------------
def test_published_worked_example():
    net = load("mazur_step_by_step.yaml")
    assert math.isclose(derivator.report(net, "w5").value, 0.082167041, rel_tol=1e-8)
    assert math.isclose(derivator.report(net, "w1").value, 0.000438568, rel_tol=1e-6)


# -- Saturated units: 1 - o comes from z (sigmoid(-z)); where float64 underflows, mpmath decides ------
@pytest.mark.parametrize("w, method", [(40, "central difference (float64)"), (200, "central difference (float64)"),
                                       (1000, "central difference (mpmath, 40 digits)"),
                                       (5000, "central difference (mpmath, 40 digits)")])
def test_saturated_sigmoid_with_cross_entropy_checks(w, method):
    # z = w: o = sigmoid(w) is 1.0 in float64, so log(1 - o) computed from o fails; from z it is finite.
    net = derivator.loads(
        "inputs: [x]\nnodes: {O: {activation: sigmoid}}\nedges: [[x, O, w]]\noutput: O\n"
        f"loss: {{type: binary_cross_entropy, target: y}}\nat: {{x: 1, w: {w}, y: 0}}\n")
    r = derivator.report(net, "w", check=True)
    assert r.check.agrees
    assert r.check.method == method
    assert math.isclose(r.value, 1.0, rel_tol=1e-15)


# -- Formula activations: the derivative in o where SymPy's diff allows, else in z ------------------
@pytest.mark.parametrize("formula, prime", [
    ("tanh(x)", "1 - h**2"),
    ("exp(x)", "h"),
    ("sigmoid(x)", "h*(1 - h)"),
    ("x/(1+abs(x))", "-z_h*sign(z_h)/(Abs(z_h) + 1)**2 + 1/(Abs(z_h) + 1)"),  # no way to write it in h
])
def test_formula_activation_derivative_in_node_values(formula, prime):
    net = derivator.loads(f'inputs: [x]\nnodes: {{h: {{activation: "{formula}"}}}}\nedges: [[x, h, w]]\noutput: h\n')
    d = derivator.derive(net, "z_h")
    assert str(d.result) == prime


@pytest.mark.parametrize("w, expected", [(30, 2.807286890651e-12), (300, 1.5444600667236e-128)])
def test_a_saturated_hidden_unit_keeps_its_tiny_derivative(w, expected):
    # dL/dw1 = sigmoid(z_O) w2 h(1 - h) x with h = sigmoid(w): o(1 - o) cancels in o, not from z.
    # At w = 300, 1 - h = 5e-131; a value of 0 or a check agreeing on noise would both be wrong.
    net = derivator.loads(
        "inputs: [x]\nnodes: {h: {activation: sigmoid, bias: b}, O: {activation: sigmoid}}\n"
        "edges: [[x, h, w1], [h, O, w2]]\noutput: O\nloss: {type: binary_cross_entropy, target: y}\n"
        f"at: {{x: 1, w1: {w}, b: 0, w2: {w}, y: 0}}\n")
    r = derivator.report(net, "w1", check=True)
    assert math.isclose(r.value, expected, rel_tol=1e-12)
    assert r.check.agrees and r.check.relative_error < 1e-9
    by_hand = w * math.exp(-w) / (1 + math.exp(-w)) ** 2  # w2 sigmoid'(w), times sigmoid(z_O) = 1
    assert math.isclose(r.value, by_hand, rel_tol=1e-9)
    assert math.isclose(derivator.gradient(net).rows[0].value, expected, rel_tol=1e-12)
