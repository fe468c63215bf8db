"""Story 3 and the matrix form: golden numbers by hand, the formula's shape, disagreement, and flags.

tests/test_layers.py compares every matrix with the reference engine on random stacks; this file
holds the hand derivations, the golden LaTeX, and what the command line does around `--matrix`.
"""

from __future__ import annotations

import json
import math
import subprocess

import pytest
from click.testing import CliRunner

import derivator
from derivator.answers.matrix_form import matrix_form
from derivator.cli import derive
from tests.conftest import SPECS, needs_pdflatex

STORY3 = SPECS / "story3_matrix_form.yaml"
SOFTMAX = SPECS / "softmax_classifier_layers.yaml"
GOLDEN = SPECS.parent / "tests" / "golden"


def run(*args):
    return CliRunner().invoke(derive, [str(a) for a in args])


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def story3_by_hand():
    """Story 3 written out as a learner would: loops over samples, dZ2 = a2 - y, dZ1 = W2ᵀ dZ2 ⊙ a1(1 - a1)."""
    W1 = [[0.1, -0.2], [0.4, 0.3], [-0.5, 0.2]]
    b1 = [0.0, 0.1, -0.1]
    W2 = [0.3, -0.6, 0.2]
    b2 = 0.05
    data = [((0.5, -1.0), 1), ((-0.3, 0.8), 0), ((1.2, 0.4), 1), ((-0.7, -0.2), 0)]
    dW1 = [[0.0, 0.0] for _ in range(3)]
    dW2 = [0.0] * 3
    for x, y in data:
        a1 = [sigmoid(W1[j][0] * x[0] + W1[j][1] * x[1] + b1[j]) for j in range(3)]
        a2 = sigmoid(sum(W2[j] * a1[j] for j in range(3)) + b2)
        dz2 = a2 - y
        for j in range(3):
            dW2[j] += dz2 * a1[j] / len(data)
            dz1 = W2[j] * dz2 * a1[j] * (1 - a1[j])
            for k in range(2):
                dW1[j][k] += dz1 * x[k] / len(data)
    return dW1, dW2


def test_story3_matrix_values_match_the_hand_derivation():
    dW1, dW2 = story3_by_hand()
    net = derivator.load(STORY3)
    f1 = matrix_form(net, "W1")
    f2 = matrix_form(net, "W2")
    for got, want in zip(f1.values, dW1, strict=True):
        assert got == pytest.approx(want, rel=1e-12)
    assert f2.values == [pytest.approx(dW2, rel=1e-12)]
    assert f1.agrees and f2.agrees and f1.largest_difference < 1e-12


def test_story3_text_answers_the_question():
    r = run(STORY3, "--wrt", "W1", "--matrix")
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert "  dZ[2] = A[2] - Y    (binary cross-entropy after a sigmoid: g' cancels)\n" in out
    assert "  dZ[1] = (W[2]ᵀ dZ[2]) ⊙ A[1] ⊙ (1 - A[1])" in out
    assert "  ∂J/∂W[1] = (1/m) dZ[1] A[0]ᵀ\n" in out
    assert "= A[0]_k, the input to the layer" in out
    assert "1/m comes from the average" in out
    assert "dZ[1] is 3 × m, A[0]ᵀ is m × 2, so the product is 3 × 2, the shape of W[1]" in out
    assert "Element by element: agrees." in out


def test_story3_latex_has_the_course_form():
    # The whole output is golden too (tests/golden/cases.py).
    r = run(STORY3, "--wrt", "W2", "--matrix", "--format", "latex")
    assert r"\frac{\partial J}{\partial W^{[2]}} &= \frac{1}{m} dZ^{[2]} {A^{[1]}}^{T}" in r.stdout


def test_json_matrix_key():
    out = json.loads(run(STORY3, "--wrt", "b1", "--matrix", "--format", "json").stdout)
    m = out["matrix"]
    assert m["name"] == "b1" and m["shape"] == [3, 1] and len(m["values"]) == 3
    assert m["latex"] == r"\frac{\partial J}{\partial b^{[1]}} = \frac{1}{m} \sum_{s=1}^{m} dZ^{[1]}"
    assert out["samples"] == 4 and m["agrees"] is True
    assert m["values"] == m["elementwise"] or all(
        math.isclose(a[0], b[0], rel_tol=1e-12) for a, b in zip(m["values"], m["elementwise"], strict=True))


def test_softmax_output_delta_is_p_minus_y():
    out = run(SOFTMAX, "--wrt", "W2", "--matrix").stdout
    assert "  P = softmax(A[2])" in out
    assert "  dZ[2] = P - Y    (softmax with cross-entropy" in out
    assert "  ∂J/∂W[2] = (1/m) dZ[2] A[1]ᵀ\n" in out


def test_general_output_delta_is_da_times_g_prime(tmp_path):
    path = tmp_path / "tanh.yaml"
    path.write_text("inputs: [x]\nlayers:\n  - {units: 2, activation: tanh}\n  - {units: 1, activation: tanh}\n"
                    "loss: {type: squared_error, target: y}\ndata:\n  - {x: 0.5, y: 1}\n  - {x: -1, y: 0}\n"
                    "at: {W1: [[0.3], [-0.2]], b1: [0.1, 0.0], W2: [[0.5, 0.7]], b2: [0.2]}\n")
    r = run(path, "--wrt", "W1", "--matrix", "--check")
    assert r.exit_code == 0, r.output
    assert "  dA[2] = 2(A[2] - Y)" in r.stdout
    assert "  dZ[2] = dA[2] ⊙ (1 - A[2] ⊙ A[2])" in r.stdout
    assert "Check: every entry agrees with a numerical derivative" in r.stdout


def test_a_disagreeing_matrix_exits_1(monkeypatch):
    # Plant a wrong matrix recursion: the element-by-element comparison must catch it.
    import derivator.answers.matrix_form

    real = derivator.answers.matrix_form.batch_values
    monkeypatch.setattr(derivator.answers.matrix_form, "batch_values",
                        lambda *a: [[v * 1.01 for v in row] for row in real(*a)])
    r = run(STORY3, "--wrt", "W1", "--matrix")
    assert r.exit_code == 1
    assert "Element by element: DISAGREES" in r.stdout


def test_whole_matrix_without_the_flag_is_a_table():
    r = run(STORY3, "--wrt", "W2")
    assert r.exit_code == 0, r.output
    assert "  W2_1_2  δ_a2_1 a1_2 = (a2_1 - y) a1_2  -0.0272898167140596\n" in r.stdout
    assert "As a matrix, laid out like W2:" in r.stdout


@needs_pdflatex
@pytest.mark.parametrize("args", [["--wrt", "W1", "--matrix"], ["--wrt", "b2", "--matrix"], ["--wrt", "W2"],
                                  ["--wrt", "W1_2_1"]])
def test_layer_documents_compile(tmp_path, args):
    for spec in (STORY3, SOFTMAX):
        tex = tmp_path / "doc.tex"
        tex.write_text(run(spec, *args, "--format", "latex", "--standalone").stdout)
        done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex.name], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout[-2000:]


# -- the scalar form over samples --------------------------------------------------------------------
def test_data_with_nodes_is_the_mean_of_each_sample(tmp_path):
    # The value over data must be the plain average of the single-sample values.
    body = ("inputs: [x]\nnodes:\n  h: {activation: tanh, bias: b}\n  O: {activation: sigmoid}\n"
            "edges:\n  - [x, h, w1]\n  - [h, O, w2]\noutput: O\nloss: {type: half_squared_error, target: y}\n")
    with_data = tmp_path / "data.yaml"
    with_data.write_text(body + "data:\n  - {x: 0.5, y: 1}\n  - {x: -2, y: 0}\n  - {x: 3, y: 0.5}\n"
                         "at: {w1: 0.7, w2: -1.3, b: 0.2}\n")
    single = tmp_path / "one.yaml"
    single.write_text(body + "at: {w1: 0.7, w2: -1.3, b: 0.2}\n")
    mean = json.loads(run(with_data, "--wrt", "w1", "--format", "json", "--check").stdout)
    each = [json.loads(run(single, "--wrt", "w1", "--format", "json", "--at", f"x={x}", "--at", f"y={y}").stdout)
            ["value"] for x, y in ((0.5, 1), (-2, 0), (3, 0.5))]
    assert mean["value"] == pytest.approx(sum(each) / 3, rel=1e-13)
    assert mean["check"]["agrees"] and mean["samples"] == 3


def test_data_text_says_where_1_over_m_comes_from():
    out = run(STORY3, "--wrt", "W2_1_1").stdout
    assert "Over the data, m = 4 samples: J = (1/m) Σₛ loss⁽ˢ⁾, so\n" in out
    assert "averaged over the 4 samples of 'data':\n  ∂J/∂W2_1_1 = " in out


@pytest.mark.parametrize("args, message", [
    (["--wrt", "W1_1_1", "--matrix"], "--matrix: unknown matrix 'W1_1_1'; known: W1, W2, b1, b2; --matrix "
                                      "derives a whole W{l} or b{l}"),
    (["--wrt", "W1", "--matrix", "--format", "desmos"], "--matrix prints text, latex, markdown or json, not desmos"),
    (["--wrt", "W1", "--matrix", "--of", "a2_1"], "--matrix derives the loss; leave out --of"),
    (["--wrt", "W1", "--candidate", "a1_1"], "--wrt W1 (a whole matrix): --candidate compares one derivative; "
                                             "name one entry, such as --wrt W1_1_1"),
    (["--wrt", "a1_1"], "--wrt a1_1: with 'data', every input and node takes a value per sample; differentiate "
                        "the average with respect to a parameter"),
    (["--wrt", "W1_1_1", "--at", "x1=2"], "--at x1: with 'data', 'x1' takes its value from each sample"),
    (["--wrt", "W1_1_1", "--format", "desmos"], "--format desmos works at one point; this file's 'data' has 4 "
                                                "samples (leave out 'data', or use another format)"),
    (["--wrt", "W1_1_1", "--at", "W1=2"], "--at W1: --at sets one entry at a time, such as W1_1_1; a whole W1 goes "
                                          "in 'at:'"),
])
def test_bad_matrix_flags_are_one_line(args, message):
    r = run(STORY3, *args)
    assert r.exit_code == 2
    assert r.stderr == f"{STORY3}: error: {message}\n"


def test_matrix_needs_a_layers_file():
    story4 = SPECS / "story4_desmos_check.yaml"
    r = run(story4, "--wrt", "w1", "--matrix")
    assert r.exit_code == 2
    assert r.stderr == f"{story4}: error: --matrix needs a 'layers:' file (dense layers, with W1, b1, ... as " \
                       "matrices)\n"


@pytest.mark.parametrize("edit, line, col, message", [
    ("  - {x1: 0.5, x2: -1.0, y: 1}", 11, 5, "cross_entropy targets must sum to 1"),
    ("at:", 16, 3, "'x1' takes its value from each sample in 'data'; remove it from 'at'"),
    ("layers:", 6, 1, "'nodes' and 'layers' do not go together"),
    ("units: 3", 7, 22, "'bias' of layer 1 is true (the default: biases b1_j) or false, not 'yes'"),
])
def test_data_and_layer_errors(tmp_path, edit, line, col, message):
    text = STORY3.read_text().replace("binary_cross_entropy", "cross_entropy") if "cross_entropy" in message \
        else STORY3.read_text()
    replacements = {"at:": "at:\n  x1: 1", "layers:": "nodes: {}\nlayers:", "units: 3": "units: 3, bias: yes"}
    text = text.replace(edit, replacements.get(edit, "  - {x1: 0.5, x2: -1.0, y: 0.5}"), 1)
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    r = run(path, "--wrt", "W1_1_1")
    assert r.exit_code == 2
    assert r.stderr.startswith(f"{path}:{line}:{col}: error: {message}"), r.stderr
    assert r.stderr.count("\n") == 1


@pytest.mark.parametrize("old, new, line, col, message", [
    ("  b2: [0.05]", "  b2: [0.05]\n  W1_2_1: 7", 20, 3, "'W1_2_1' is already given by 'W1'; give each entry once"),
    ("  W1: [[0.1", "  W1_2_1: 7\n  W1: [[0.1", 17, 3, "'W1' gives W1_2_1 again, after 'W1_2_1'; give each entry once"),
    ("inputs: [x1, x2]", "inputs: [x1, W1]", 5, 14, "'W1' names the weight matrix of layer 1 in a 'layers' file; "
                                                    "choose another input name"),
    ("target: y}", "target: b2}", 9, 44, "'b2' names the bias vector of layer 2 in a 'layers' file; choose another "
                                         "target name"),
])
def test_names_and_entries_of_whole_matrices(tmp_path, old, new, line, col, message):
    path = tmp_path / "bad.yaml"
    path.write_text(STORY3.read_text().replace(old, new, 1))
    r = run(path, "--wrt", "W1_1_1")
    assert r.exit_code == 2
    assert r.stderr == f"{path}:{line}:{col}: error: {message}\n"


@pytest.mark.parametrize("data", ["data:\n", "data: []\n"])
def test_data_without_samples_is_an_error(tmp_path, data):
    text = STORY3.read_text()
    start, end = text.index("data:"), text.index("at:")
    path = tmp_path / "bad.yaml"
    path.write_text(text[:start] + data + text[end:])
    r = run(path, "--wrt", "W1_1_1")
    assert r.exit_code == 2
    assert "'data' has no samples" in r.stderr and r.stderr.startswith(f"{path}:10:")
