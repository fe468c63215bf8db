"""--candidate: a learner's own answer, the verdict, and the diagnosis of what is wrong."""

import json

import pytest
from click.testing import CliRunner

import derivator
from derivator.cli import derive
from tests.conftest import SPECS, needs_pdflatex

STORY4 = str(SPECS / "story4_desmos_check.yaml")
STORY5 = str(SPECS / "story5_tanh_squared_error.yaml")
LEARNER = ["--define", "s(x)=1/(1+exp(-x))", "--define", "d(x)=s(x)*(1-s(x))"]
HAND = "d(z_O) * ( d(z_h2) * d(z_h1) * I + d(z_h3) * d(z_h1) * I )"


def run(*args):
    return CliRunner().invoke(derive, list(args))


def verdict(spec, wrt, cand, *defines):
    net = derivator.load(SPECS / spec)
    return derivator.report(net, wrt, candidate=cand, definitions=defines).candidate


# -- story 4: the hand answer, diagnosed as the best answer to the question did ---------------------
def test_story4_hand_answer_is_wrong_by_the_weights_of_each_path():
    r = run(STORY4, "--wrt", "w1", *LEARNER, "--candidate", HAND, "--format", "json")
    assert r.exit_code == 1
    c = json.loads(r.stdout)["candidate"]
    assert c["agrees"] is False
    assert c["value"] == pytest.approx(0.00571675240882, rel=1e-11)
    assert c["ratio"] == pytest.approx(4.0, rel=1e-12)
    assert c["diagnosis"] == [
        "At the point the candidate is 0.00571675240882 and the derivative is 0.0014291881022; their ratio is 4.",
        "The term for the path through h2 (I → h1 → h2 → O) lacks the weights w4*w2 (= 0.25 at the point).",
        "The term for the path through h3 (I → h1 → h3 → O) lacks the weights w5*w3 (= 0.25 at the point).",
    ]


@pytest.mark.parametrize("notation, defines", [
    ("d(z_O) * ( w4*d(z_h2)*w2 * d(z_h1) * I + w5*d(z_h3)*w3 * d(z_h1) * I )", LEARNER),  # the learner's
    ("O(1-O)(w4 h2(1-h2) w2 + w5 h3(1-h3) w3) h1(1-h1) I", []),  # node values, by hand
    ("O·(1 − O)·(w4·h2·(1 − h2)·w2 + w5·h3·(1 − h3)·w3)·h1·(1 − h1)·I", []),  # Unicode dots and minus
    ("σ(z_O)(1-σ(z_O)) (w4 σ(z_h2)(1-σ(z_h2)) w2 + w5 σ(z_h3)(1-σ(z_h3)) w3) σ(z_h1)(1-σ(z_h1)) I", []),
])
def test_story4_corrected_answer_agrees_in_every_notation(notation, defines):
    r = run(STORY4, "--wrt", "w1", *defines, "--candidate", notation)
    assert r.exit_code == 0, r.output
    assert "Verdict: the candidate agrees" in r.stdout


# -- story 5: the delta right and wrong -------------------------------------------------------------
def test_story5_learners_delta_is_right():
    assert verdict("story5_tanh_squared_error.yaml", "z_x", "2(x - y)(1 - x^2)").agrees


def test_story5_sigmoid_derivative_for_tanh_is_named():
    v = verdict("story5_tanh_squared_error.yaml", "z_x", "2(x - y) x(1 - x)")
    assert not v.agrees
    assert v.diagnosis[-1] == ("The candidate uses x(1 - x) (a sigmoid's derivative, but x's activation is tanh) "
                               "where it needs 1 - x² (the derivative of x's tanh).")


def test_story5_missing_factor_two_is_a_constant_factor():
    v = verdict("story5_tanh_squared_error.yaml", "z_x", "(x - y)(1 - x^2)")
    assert v.ratio == pytest.approx(0.5)
    assert "The candidate is 1/2 times the derivative at every point: a constant factor is missing " \
           "(multiply it by 2)." in v.diagnosis


def test_a_zero_candidate_misses_every_path_and_has_no_extra_term():
    v = verdict("story4_desmos_check.yaml", "w1", "0")
    assert "The candidate is 0 where the derivative is not." in v.diagnosis
    assert sum("is missing" in s for s in v.diagnosis) == 2
    assert not any("extra" in s for s in v.diagnosis), v.diagnosis


# -- a corpus of typical mistakes, each with the diagnosis it must get ----------------------------
@pytest.mark.parametrize("spec, wrt, cand, expected", [
    # forgotten activation derivative of a hidden node
    ("story5_tanh_squared_error.yaml", "v1", "2(x-y)(1-x^2) v2 u",
     "The candidate lacks 1 - h² (the derivative of h's tanh)."),
    # a missing weight on one path
    ("story4_desmos_check.yaml", "w1", "O(1-O)(w4 h2(1-h2) + w5 h3(1-h3) w3) h1(1-h1) I",
     "The term for the path through h2 (I → h1 → h2 → O) lacks the weight w2 (= 0.5 at the point)."),
    # a forgotten path
    ("story4_desmos_check.yaml", "w1", "O(1-O) w4 h2(1-h2) w2 h1(1-h1) I",
     "The path through h3 (I → h1 → h3 → O) is missing: its term is O(1 - O) w5 h3(1 - h3) w3 h1(1 - h1) I."),
    # a sign error
    ("story4_desmos_check.yaml", "w1", "-O(1-O)(w4 h2(1-h2) w2 + w5 h3(1-h3) w3) h1(1-h1) I",
     "The sign is wrong: the candidate is minus the derivative at every point."),
    # an extra factor 2 (squared error's 2 where the loss is half squared error)
    ("tied_weights.yaml", "b", "2(O - t) O(1-O)(w(1-h^2) + 1)",
     "The candidate is 2 times the derivative at every point: a constant factor is extra (divide it by 2)."),
    # the output's activation derivative forgotten
    ("story4_desmos_check.yaml", "w1", "(w4 h2(1-h2) w2 + w5 h3(1-h3) w3) h1(1-h1) I",
     "The term for the path through h2 (I → h1 → h2 → O) lacks O(1 - O) (the derivative of O's sigmoid)."),
    # a relu's step forgotten: equal here, not elsewhere
    ("two_outputs_bce.yaml", "w11", "((O1 - y1) v11 + (O2 - y2) v21) x1",
     "They are equal at this point only by coincidence: at other points they differ."),
    # a path that does not exist: an extra term
    ("story2_dag_delta.yaml", "w_au", "pred(1-pred)(w_vp v(1-v) w_uv + w_up + w_ap) u(1-u) a",
     "The term pred(1 - pred) u(1 - u) a w_ap is extra: it matches no path from w_au to the target."),
    # a missing path whose remaining term is right: only the missing path is named
    ("tied_weights.yaml", "b", "(O - t) O(1-O)",
     "The path through h (h → O) is missing: its term is (O - t) O(1 - O) w(1 - h²)."),
])
def test_typical_mistakes_are_diagnosed(spec, wrt, cand, expected):
    v = verdict(spec, wrt, cand)
    assert not v.agrees
    assert expected in v.diagnosis, v.diagnosis


# Story 4's network with a loss, its weights named like the diagnosis's internal labels of
# chain-rule factors (D_v, W_v_tanh, L_i): the labels must never be taken for the weights.
LABEL_NAMES = """\
inputs: [I]
nodes:
  h1: {activation: sigmoid, bias: 1}
  h2: {activation: sigmoid, bias: 1}
  h3: {activation: sigmoid, bias: 1}
  O:  {activation: sigmoid, bias: 1}
edges:
  - {from: I, to: h1, weight: w1}
  - [h1, h2, D_h1]
  - [h1, h3, W_h1_tanh]
  - [h2, O, L_0]
  - [h3, O, w5]
output: O
loss: {type: squared_error, target: y}
at: {I: 1, w1: 0.5, D_h1: 0.5, W_h1_tanh: 0.5, L_0: 0.5, w5: 0.5, y: 1}
"""


@pytest.mark.parametrize("cand, expected", [
    ("2(O-y) O(1-O)(h2(1-h2) h1(1-h1) I + h3(1-h3) h1(1-h1) I)",  # the weights forgotten
     ["The term for the path through h2 (I → h1 → h2 → O) lacks the weights L_0*D_h1 (= 0.25 at the point).",
      "The term for the path through h3 (I → h1 → h3 → O) lacks the weights w5*W_h1_tanh (= 0.25 at the point)."]),
    ("O(1-O)(L_0 h2(1-h2) D_h1 + w5 h3(1-h3) W_h1_tanh) h1(1-h1) I",  # the loss's derivative forgotten
     ["The term for the path through h2 (I → h1 → h2 → O) lacks O - y (the loss's derivative at O), "
      "has the coefficient 1 instead of 2."]),
    ("2(O-y) O(1-O)(L_0 (1-h2^2) D_h1 + w5 h3(1-h3) W_h1_tanh) h1(1-h1) I",  # tanh's derivative for h2's
     ["The term for the path through h2 (I → h1 → h2 → O) uses 1 - h2² (a tanh's derivative, but h2's "
      "activation is sigmoid) where it needs h2(1 - h2) (the derivative of h2's sigmoid)."]),
])
def test_diagnosis_labels_never_collide_with_the_networks_names(cand, expected):
    v = derivator.report(derivator.loads(LABEL_NAMES), "w1", candidate=cand).candidate
    assert not v.agrees
    for sentence in expected:
        assert sentence in v.diagnosis, v.diagnosis


def test_sigmoid_with_cross_entropy_o_minus_y_agrees():
    assert verdict("two_outputs_bce.yaml", "d2", "O2 - y2").agrees


# -- hostile and broken candidates: exit 2, the column of the problem, nothing executed -------------
@pytest.mark.parametrize("args, message", [
    (["--candidate", "__import__('os').system('true')"], "--candidate: only named functions can be called"),
    (["--candidate", "O.__class__"], "--candidate: attribute access is not allowed in a candidate (column 1)"),
    (["--candidate", "O(1-O) + q"], "--candidate: unknown name 'q'; known:"),
    (["--candidate", "O(1-O" ], "--candidate: cannot read candidate: '(' was never closed (column 2)"),
    (["--candidate", "x**99999"], "--candidate: unknown name 'x'"),
    (["--candidate", "O**99999"], "--candidate: exponent larger than 256 (column 1)"),
    (["--candidate", "d(O)"], "--candidate: unknown function 'd'"),
    (["--define", "d(x)=x", "--define", "d(x)=2x", "--candidate", "d(O)"], "--define d: 'd' is already"),
    (["--define", "O(x)=x", "--candidate", "O"], "--define O: 'O' is already a name of the network"),
    (["--define", "d x = x", "--candidate", "O"], "--define expects 'f(x)=EXPR', got 'd x = x'"),
    (["--define", "d(x)=x"], "--define names helpers for --candidate; give --candidate EXPR too"),
])
def test_bad_candidates_are_one_line_errors(args, message):
    r = run(STORY4, "--wrt", "w1", *args)
    assert r.exit_code == 2
    assert r.stderr.startswith(f"{STORY4}: error: ")
    assert message in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1


def test_output_formats_carry_the_verdict():
    args = [STORY4, "--wrt", "w1", *LEARNER, "--candidate", HAND]
    assert "Candidate (does not agree):" in run(*args, "--format", "latex").stdout
    assert "**does not agree**" in run(*args, "--format", "markdown").stdout
    text = run(*args).stdout
    assert "Candidate   ∂O/∂w1 = " + HAND + "    = 0.00571675240882" in text
    assert "Derivative  ∂O/∂w1 = O(1 - O)(w4 h2(1 - h2) w2 + w5 h3(1 - h3) w3) h1(1 - h1) I" in text


@pytest.mark.parametrize("cand", [
    "(O + h1 + h2 + h3)**200",  # expanding this would never finish
    "(O+1)(h1+1)(h2+1)(h3+1)" * 1 + "*(w1+1)(w2+1)(w3+1)(w4+1)(w5+1)(I+1)" * 20,
    "exp(exp(exp(exp(O))))",
])
def test_huge_candidates_are_judged_by_values_in_bounded_time(cand):
    v = verdict("story4_desmos_check.yaml", "w1", cand)
    assert not v.agrees
    assert v.method.startswith("values compared at")


@needs_pdflatex
def test_standalone_document_with_a_candidate_compiles(tmp_path):
    import subprocess

    r = run(STORY4, "--wrt", "w1", *LEARNER, "--candidate", HAND, "--format", "latex", "--standalone")
    assert r.exit_code == 1
    assert "\\item The term for the path through h2 (I $\\to$ h1 $\\to$ h2 $\\to$ O) lacks" in r.stdout
    (tmp_path / "c.tex").write_text(r.stdout)
    done = subprocess.run(["pdflatex", "-halt-on-error", "-interaction=nonstopmode", "c.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]


def test_json_stays_strict_when_the_candidate_overflows_a_float():
    # e^800 passes float64 but not the cap on folded constants (e^±921, about 1e±400)
    r = run(STORY4, "--wrt", "w1", "--candidate", "exp(800)", "--format", "json")
    assert "Infinity" not in r.stdout
    assert json.loads(r.stdout)["candidate"]["value"] is None
