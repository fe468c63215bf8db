"""No false verdict: kinks wherever a kinked primitive sits, candidates judged as functions, relative
agreement only, saturation-safe numbers, exact softmax targets, and too few points inconclusive.

Each class has the example that found it and at least one other of its kind; tests/test_fuzz.py has
the strategies that would have found them.
"""

import json

import pytest

import derivator
import derivator.numbers.sweep
from derivator.numbers import checking
from tests.conftest import SPECS
from tests.hang import run

NET = """\
inputs: [I]
nodes:
  O: {activation: ACT}
edges:
  - [I, O, w]
output: O
LOSS
at: {I: 1, w: 0.5, y: 0.5}
"""


def net(act="identity", loss=None):
    text = NET.replace("ACT", f'"{act}"').replace("LOSS", f'loss: {{type: formula, formula: "{loss}", target: y}}'
                                                 if loss else "")
    return derivator.loads(text if loss else text.replace(", y: 0.5", ""))


def checked(n, wrt="w", **at):
    return derivator.report(n, wrt, at=at or None, check=True)


def write(tmp_path, text, name="net.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


# -- 1. a kink outside the activations; no kink where the composition is smooth ---------------------
@pytest.mark.parametrize("loss, name", [
    ("relu(o - y)", "the relu in the loss has its argument at 0"),  # the example
    ("abs(o - y)", "the abs in the loss has its argument at 0"),
    ("max(o, y)", "the max in the loss has a tie"),
    ("(o - y)**2 + relu(o - y)", "the relu in the loss has its argument at 0"),
])
def test_a_kink_in_a_formula_loss_is_named_not_a_disagreement(loss, name):
    r = checked(net(loss=loss))
    assert r.check.agrees
    assert r.check.kinks == [f"not differentiable here: {name}"]
    g = derivator.gradient(net(loss=loss), check=True)  # --wrt all names it too
    assert not g.failed and g.rows[0].check.kinks == [f"not differentiable here: {name}"]


def test_a_kink_in_the_penalty_and_in_a_formula_node_is_named():
    text = NET.replace("ACT", "identity").replace("LOSS", 'loss: {type: squared_error, target: y}\n'
                                                  'regularization: {l1: 0.1}')
    r = checked(derivator.loads(text), w=0.0)
    assert r.check.kinks == ["not differentiable here: the abs in the penalty has its argument at 0"]
    graph = ("inputs: [x]\nparameters: {c: 1}\nnodes:\n  q: {formula: \"relu(x - c)\"}\noutput: q\n"
             "at: {x: 1, c: 1}\n")
    r = checked(derivator.loads(graph), "c")
    assert r.check.kinks == ["not differentiable here: the relu in the formula of node q has its argument at 0"]


@pytest.mark.parametrize("act, value", [
    ("relu(x)**2", 0.0), ("abs(x)**3", 0.0), ("x/(1+abs(x))", 1.0),
    ("relu(x) - relu(-x)", 1.0),  # x itself: PyTorch's relu'(0) = 0 would give 0, the slope is 1
    ("max(x, x)", 1.0),
])
def test_a_smooth_composition_at_0_is_no_kink_and_its_value_is_the_slope(act, value):
    r = checked(net(act), w=0.0)
    assert r.check.kinks == [] and r.check.agrees, r.check
    assert r.value == value


@pytest.mark.parametrize("loss, value", [("relu(o - y)**2", 0.0), ("abs(o - y)**3", 0.0),
                                         ("(o - y)/(1 + abs(o - y))", 1.0)])
def test_a_smooth_formula_loss_at_its_kink_site_checks_normally(loss, value):
    r = checked(net(loss=loss))
    assert r.check.kinks == [] and r.check.agrees
    assert r.value == value


def test_the_kink_example_through_the_command(tmp_path):
    path = write(tmp_path, NET.replace("ACT", "identity").replace(
        "LOSS", 'loss: {type: formula, formula: "relu(o - y)", target: y}'))
    r = run([path, "--wrt", "w", "--check"])
    assert r.exit_code == 0, r.output
    assert "Check: not differentiable here: the relu in the loss has its argument at 0" in r.stdout
    assert "DISAGREES" not in r.stdout


# -- 2. a candidate is judged as a function: both sides of every kink, the whole range --------------
RELU = """\
inputs: [I]
nodes:
  h: {activation: ACT}
  O: {activation: identity}
edges:
  - [I, h, w1]
  - [h, O, w2]
output: O
loss: {type: half_squared_error, target: y}
at: {I: 3, w1: 5, w2: 0.5, y: 1}
"""


def judged(cand, act="relu", wrt="w1", **at):
    n = derivator.loads(RELU.replace("ACT", act))
    return derivator.report(n, wrt, at=at or None, candidate=cand).candidate


@pytest.mark.parametrize("cand, act", [
    ("(O - y) w2 I", "relu"),  # the step [z_h > 0] forgotten, on its active side
    ("(O - y) w2 I", "leaky_relu"),  # the leaky step forgotten
    ("(O - y) w2 I relu(z_h)/z_h + relu(w1 - 50)", "relu"),  # right, plus a term that wakes at w1 = 50
    ("(O - y) w2 I relu(z_h)/z_h + relu(w1*I - 1e9)", "relu"),  # ... or far out
    ("(O - y) w2 I relu(z_h - 1e-6)/(z_h - 1e-6)", "relu"),  # a step a little off the derivative's
])
def test_a_candidate_wrong_only_elsewhere_does_not_agree(cand, act):
    v = judged(cand, act)
    assert not v.agrees and not v.inconclusive
    assert v.ratio == pytest.approx(1.0)  # equal at the point itself


@pytest.mark.parametrize("cand", ["(O - y) w2 I relu(z_h)/z_h", "(O - y) w2 I (1 + z_h/abs(z_h))/2"])
def test_a_right_candidate_with_the_step_in_other_words_agrees(cand):
    v = judged(cand)
    assert v.agrees, v.diagnosis


def test_a_saturated_tanh_term_is_seen_where_nothing_saturates():
    # At w = 42 the term w x1 (1 - h²) is e^-100 of h at every point near: only points drawn near 0 show it.
    n = derivator.load("specs/tied_weights.yaml")
    v = derivator.report(n, "w", at={"w": 42.0}, candidate="O(1 - O)(O - t)(h + 2 w x1 (1 - h^2))").candidate
    assert not v.agrees


# -- 3. agreement is relative: nothing small agrees with anything small ------------------------------
SATURATED = "inputs: [I]\nnodes: {O: {activation: sigmoid}}\nedges: [[I, O, w]]\noutput: O\nat: {I: 1, w: 75}\n"


@pytest.mark.parametrize("cand", ["0", "-I O (1 - O)", "100 I O (1 - O)", "I O (1 - O) (1 + 1e-6)"])
def test_at_a_saturated_sigmoid_small_wrong_candidates_do_not_agree(cand):
    v = derivator.report(derivator.loads(SATURATED), "w", candidate=cand).candidate
    assert not v.agrees and not v.inconclusive


def test_at_a_saturated_sigmoid_a_wrong_value_fails_the_check(monkeypatch):
    n = derivator.loads(SATURATED)
    assert checked(n).value == pytest.approx(2.6786369618080778e-33, rel=1e-14)
    for planted in (0.0, -2.6786369618080778e-33, 2.6786369618080778e-31):
        monkeypatch.setattr(checking, "_exact", lambda d, points, x=planted: x)
        checking._LAST.clear()
        assert not checked(n).check.agrees
    monkeypatch.undo()
    gradient = derivator.numbers.sweep.gradient
    monkeypatch.setattr(derivator.numbers.sweep, "gradient", lambda *a, **k: (gradient(*a, **k)[0], {"w": 0.0}))
    assert derivator.gradient(n, check=True).failed  # --wrt all: float64 and 40 digits see no move at all
    assert checking.close(2.7e-33, 0.0) == (False, 1.0)
    assert checking.close(0.0, 0.0) == (True, 0.0)


# -- 4. saturation-safe forms for candidates, and the precision that decided ------------------------
@pytest.mark.parametrize("cand", ["I σ(z_O)(1 - σ(z_O))", "I/(1 + exp(-z_O)) (1 - 1/(1 + exp(-z_O)))",
                                  "I σ(z_O) σ(-z_O)"])
def test_a_right_candidate_at_a_deeply_saturated_sigmoid_agrees(cand):
    n = derivator.loads(SATURATED)
    v = derivator.report(n, "w", at={"w": 1000.0, "I": 10.0}, candidate=cand).candidate  # 1 - σ(10⁴) is e^-10⁴
    assert v.agrees, v.diagnosis


@pytest.mark.parametrize("cand", ["w2 (1 - tanh(z_h)^2) I", "w2 (1 - tanh(z_h))(1 + tanh(z_h)) I",
                                  "w2 (1 - h)(1 + h) I"])
def test_a_right_candidate_at_a_saturated_tanh_agrees(cand):
    n = derivator.loads(RELU.replace("ACT", "tanh").replace("loss: {type: half_squared_error, target: y}\n", "")
                        .replace(", y: 1}", "}"))
    v = derivator.report(n, "w1", of="O", at={"w1": 100.0, "I": 10.0}, candidate=cand).candidate  # z_h = 1000
    assert v.agrees, v.diagnosis


def test_the_method_names_the_precision_that_decided():
    v = derivator.report(derivator.loads(SATURATED), "w", candidate="100 I O (1 - O)").candidate
    assert v.method == "values compared at 21 points, 120 digits"  # each difference confirmed at 120


def test_a_fused_delta_at_saturation_keeps_its_digits(tmp_path):
    text = ("inputs: [I]\nnodes: {O: {activation: sigmoid}}\nedges: [[I, O, w]]\noutput: O\n"
            "loss: {type: binary_cross_entropy, target: y}\nat: {I: 1, w: 500, y: 1}\n")
    n = derivator.loads(text)
    r = checked(n)
    assert r.value == pytest.approx(-7.124576406741286e-218, rel=1e-12)  # σ(500) - 1, not 1 - 1
    assert r.check.agrees
    g = derivator.gradient(n, check=True)
    assert g.rows[0].value == pytest.approx(-7.124576406741286e-218, rel=1e-12) and not g.failed
    layers = ("inputs: [x1]\nlayers:\n  - {units: 1, activation: sigmoid}\n"
              "loss: {type: binary_cross_entropy, target: y}\ndata:\n  - {x1: 1, y: 1}\n  - {x1: 2, y: 1}\n"
              "at: {W1: [[500]], b1: [0]}\n")
    f = derivator.matrix_form(derivator.loads(layers), "W1")
    assert f.values[0][0] == pytest.approx(-3.562288203370643e-218, rel=1e-12) and f.agrees


# -- 5. softmax targets that only nearly sum to 1 ---------------------------------------------------
SOFTMAX = """\
inputs: [x1]
nodes: {a: {}, b: {}, c: {}}
edges: [[x1, a, w1], [x1, b, w2], [x1, c, w3]]
output: [a, b, c]
loss: {type: cross_entropy, target: [y1, y2, y3]}
at: {x1: 1, w1: 0.1, w2: 0.2, w3: 0.3, y1: 0.3, y2: 0.3, y3: 0.4000000009}
"""


@pytest.mark.parametrize("at", [{}, {"y1": 0.2, "y2": 0.3, "y3": 0.5000001}, {"y1": 1.0, "y2": 1e-12, "y3": 0.0}])
def test_cross_entropy_targets_that_only_nearly_sum_to_1_are_refused(at):
    with pytest.raises(derivator.DerivatorError, match="cross_entropy targets must sum to 1"):
        checked(derivator.loads(SOFTMAX), "w1", **at)


def test_decimal_probabilities_that_sum_to_1_are_accepted():
    r = checked(derivator.loads(SOFTMAX), "w1", y1=0.1, y2=0.2, y3=0.7)
    assert r.check.agrees
    p = [2.718281828459045 ** w for w in (0.1, 0.2, 0.3)]
    assert r.value == pytest.approx(p[0] / sum(p) - 0.1, rel=1e-12)


def test_refused_targets_in_a_sample_are_one_line(tmp_path):
    text = SOFTMAX.replace("at: {x1: 1, ", "data:\n  - {x1: 1, y1: 0.5, y2: 0.5, y3: 1e-9}\nat: {")
    text = text.replace(", y1: 0.3, y2: 0.3, y3: 0.4000000009}", "}")
    r = run([write(tmp_path, text), "--wrt", "w1"])
    assert r.exit_code == 2
    assert "cross_entropy targets must sum to 1" in r.stderr


# -- 6. a candidate defined at too few points is inconclusive ----------------------------------------
@pytest.mark.parametrize("cand", ["(O - y) h + sqrt(1e-6 - (w2 - 0.5)^2) - 0.001",  # defined in |w2 - 0.5| < 1e-3
                                  "(O - y) h + sqrt((w2 - 0.4999)*(0.5001 - w2)) - 1e-4"])
def test_a_candidate_defined_only_near_the_point_is_inconclusive(tmp_path, cand):
    path = write(tmp_path, RELU.replace("ACT", "relu").replace("I: 3, w1: 5, w2: 0.5", "I: 1, w1: 0.5, w2: 0.5"))
    r = run([path, "--wrt", "w2", "--candidate", cand])
    assert r.exit_code == 1
    assert "Verdict: the candidate cannot be judged: inconclusive" in r.stdout
    assert "could be compared at only" in r.stdout
    c = json.loads(run([path, "--wrt", "w2", "--candidate", cand, "--format", "json"]).stdout)["candidate"]
    assert c["agrees"] is False and c["inconclusive"] is True


def test_a_term_rounded_to_zero_does_not_hide_its_digits():
    """At b2 = 710 softmax cross-entropy's p2 - y2 is -1e-308: 0 at 40 and 120 digits. The derivative is
    the sum of that and two terms of 1e-308, so the 0 must not pass as a value (it gave 1.279e-308, and
    --check rightly disagreed). The reference is mpmath's own derivative of the loss written out here."""
    import mpmath

    def loss(bh):
        h = mpmath.log(1 + mpmath.exp(mpmath.mpf("0.3") - mpmath.mpf("0.4") + bh))
        k = [mpmath.mpf("1.2") * h, mpmath.mpf("-0.4") * h + 710, mpmath.mpf("0.5") * h + mpmath.mpf("0.8")]
        return mpmath.log(sum(mpmath.exp(t) for t in k)) - k[1]

    with mpmath.workdps(1000):
        expected = float(mpmath.diff(loss, mpmath.mpf("0.1")))
    assert abs(expected - 1.92211699450994e-308) < 1e-320
    net = derivator.load(SPECS / "softmax_three_classes.yaml")
    from derivator.symbolic.derive import derive
    c = checking.check(derive(net, "bh"), checking.point(net, {"b2": 710.0}))
    assert c.agrees and abs(c.value - expected) <= 1e-12 * abs(expected), (c.value, expected)
