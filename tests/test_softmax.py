"""Softmax groups and Jacobians (CONTRACT section 5).

Held-out softmax networks (none of them in specs/) against the independent reference engine
(tests/refengine.py, which computes softmax groups and categorical cross-entropy on its own) on every
parameter and every --jacobian entry; the softmax Jacobian's closed form at published logits, worked
out by hand here; logits of ±1000 and saturated groups; the matrix form of a softmax layer; and every
error as one positioned line.
"""

from __future__ import annotations

import json
import math
import random
import subprocess

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

import derivator
from derivator.answers.jacobian import jacobian
from derivator.cli import derive
from derivator.numbers.checking import point
from derivator.render import python
from tests.conftest import needs_pdflatex
from tests.refengine import evaluate, evaluate_batch
from tests.test_codegen import imported
from tests.test_errors import assert_one_error

REL = 1e-9


def run(tmp_path, text, *args):
    path = tmp_path / "net.yaml"
    path.write_text(text)
    return path, CliRunner().invoke(derive, [str(path), *args])


def close(a: float, b: float, rel: float = REL) -> bool:
    return a == b or abs(a - b) <= rel * max(abs(a), abs(b)) or abs(a - b) <= 1e-13


# -- held-out networks ------------------------------------------------------------------------------
def held_out(seed: int) -> str:
    """A random network with a softmax group (of 2 to 4), as a nodes file: inputs, a hidden tanh or
    sigmoid layer, the group fed densely, and either categorical cross-entropy on the group or a
    further neuron and formula node reading it under squared error; sometimes a second group."""
    rng = random.Random(seed)
    n_in, n_hidden, n_group = rng.randint(1, 3), rng.randint(0, 3), rng.randint(2, 4)
    xs = [f"x{i}" for i in range(1, n_in + 1)]
    hidden = [f"h{i}" for i in range(1, n_hidden + 1)]
    group = [f"p{i}" for i in range(1, n_group + 1)]
    nodes = {h: f"{{activation: {rng.choice(['tanh', 'sigmoid'])}, bias: b_{h}}}" for h in hidden}
    nodes |= {p: f"{{activation: softmax, group: g, bias: b_{p}}}" for p in group}
    edges = [[x, h, f"w_{x}_{h}"] for x in xs for h in hidden]
    edges += [[u, p, f"w_{u}_{p}"] for u in (hidden or xs) for p in group]
    at = {x: round(rng.uniform(-1.5, 1.5), 3) for x in xs}
    categorical = rng.random() < 0.5
    if categorical:
        outputs = group
        hot = rng.randrange(n_group)
        targets = {f"y{i}": float(i - 1 == hot) for i in range(1, n_group + 1)}
        loss = "{type: categorical_cross_entropy, target: [" + ", ".join(targets) + "]}"
    else:
        nodes["o"] = "{activation: sigmoid, bias: b_o}"
        nodes["f"] = '{formula: "' + " + ".join(f"{rng.choice([1, 2, -1])}*{p}*{p}" for p in group) + '"}'
        edges += [[p, "o", f"w_{p}_o"] for p in group]
        if rng.random() < 0.5:  # a second group, on the inputs
            nodes |= {f"r{i}": "{activation: softmax, group: second}" for i in (1, 2)}
            edges += [[x, f"r{i}", f"v_{x}_{i}"] for x in xs for i in (1, 2)]
            edges += [["r1", "o", "w_r1_o"], ["r2", "o", "w_r2_o"]]
        outputs = ["o", "f"]
        targets = {"t1": round(rng.uniform(0, 1), 3), "t2": round(rng.uniform(-1, 1), 3)}
        loss = "{type: squared_error, target: [t1, t2]}"
    weights = {w for _, _, w in edges} | {n_ for n_, body in nodes.items() if "bias" in body}
    at |= {w: round(rng.uniform(-1.2, 1.2), 3) for _, _, w in edges}
    at |= {f"b_{n_}": round(rng.uniform(-0.5, 0.5), 3) for n_, body in nodes.items() if "bias" in body}
    at |= targets
    assert weights
    lines = ["inputs: [" + ", ".join(xs) + "]", "nodes:", *[f"  {n_}: {b}" for n_, b in nodes.items()], "edges:",
             *[f"  - [{a}, {b}, {w}]" for a, b, w in edges], "output: [" + ", ".join(outputs) + "]",
             f"loss: {loss}", "at: {" + ", ".join(f"{k}: {v}" for k, v in at.items()) + "}"]
    return "\n".join(lines) + "\n"


SEEDS = range(12)


@pytest.mark.parametrize("seed", SEEDS)
def test_every_parameter_of_a_held_out_network_matches_the_reference_engine(seed):
    text = held_out(seed)
    net = derivator.loads(text)
    spec = YAML(typ="safe").load(text)
    _, reference = evaluate(spec, point(net), of="loss")
    g = derivator.gradient(net)
    for r in g.rows:
        assert close(r.value, reference[r.name]), (seed, r.name, r.value, reference[r.name])
    for name in [*net.inputs, *net.groups["g"], *("z_" + p for p in net.groups["g"])]:
        r = derivator.report(net, name, check=True)
        assert r.check.agrees and close(r.value, reference[name]), (seed, name, r.value, reference[name])


@pytest.mark.parametrize("seed", SEEDS)
def test_every_jacobian_entry_of_a_held_out_network_matches_the_reference_engine(seed):
    text = held_out(seed)
    net = derivator.loads(text)
    spec = YAML(typ="safe").load(text)
    group = net.groups["g"]
    cols = [*net.inputs, *("z_" + p for p in group), *net.params[:3]]
    j = jacobian(net, ",".join(group), ",".join(cols), check=True)
    assert not j.failed
    for o, row in zip(group, j.values, strict=True):
        _, reference = evaluate(spec, point(net), of=o)
        for w, v in zip(cols, row, strict=True):
            assert close(v, reference[w]), (seed, o, w, v, reference[w])
    assert j.closed is None  # the columns are not the group's z's alone
    closed = jacobian(net, ",".join(group), ",".join("z_" + p for p in group))
    assert closed.closed.agrees
    for mine, entries in zip(closed.closed.values, closed.values, strict=True):
        assert mine == pytest.approx(entries, rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_the_generated_module_of_a_held_out_network_matches_the_reference_engine(seed, tmp_path):
    text = held_out(seed)
    net = derivator.loads(text)
    spec = YAML(typ="safe").load(text)
    values = point(net)
    target, reference = evaluate(spec, values, of="loss")
    out = imported(python.module(net, list(net.params)), tmp_path).gradient(values)
    assert close(out["target"], target)
    for name in net.params:
        assert close(out[name], reference[name]), (seed, name, out[name], reference[name])


# -- the softmax Jacobian at published logits ---------------------------------------------------------
THREE = """\
inputs: [l1, l2, l3]
nodes: {p1: {activation: softmax}, p2: {activation: softmax}, p3: {activation: softmax}}
edges: [[l1, p1, 1], [l2, p2, 1], [l3, p3, 1]]
output: [p1, p2, p3]
loss: {type: categorical_cross_entropy, target: [y1, y2, y3]}
at: {l1: 1, l2: 2, l3: 3, y1: 0, y2: 0, y3: 1}
"""


def by_hand(logits: list[float]) -> tuple[list[float], list[list[float]]]:
    top = max(logits)
    es = [math.exp(z - top) for z in logits]
    p = [e / sum(es) for e in es]
    return p, [[p[i] * ((i == j) - p[j]) for j in range(len(p))] for i in range(len(p))]


def test_the_softmax_jacobian_of_logits_1_2_3_is_diag_p_minus_p_p_transposed(tmp_path):
    p, expected = by_hand([1, 2, 3])
    assert [round(x, 4) for x in p] == [0.0900, 0.2447, 0.6652]  # the published probabilities
    _, r = run(tmp_path, THREE, "--jacobian", "--of", "p1,p2,p3", "--wrt", "z_p1,z_p2,z_p3", "--check",
               "--format", "json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)["jacobian"]
    assert out["of"] == ["p1", "p2", "p3"] and out["wrt"] == ["z_p1", "z_p2", "z_p3"]
    for got, want in zip(out["values"], expected, strict=True):
        assert got == pytest.approx(want, rel=1e-12)
    assert out["in_node_values"][0] == ["p1*(1 - p1)", "-p2*p1", "-p3*p1"]
    assert out["closed_form"]["text"] == "diag(p) - p pᵀ"
    assert out["closed_form"]["entries"][1] == ["-p1*p2", "p2*(1 - p2)", "-p2*p3"]
    assert out["closed_form"]["agrees"] is True
    assert json.loads(r.stdout)["check"]["agrees"] is True
    # The Jacobian is symmetric and its rows sum to 0: the probabilities always sum to 1.
    assert all(abs(sum(row)) < 1e-15 for row in out["values"])
    text = run(tmp_path, THREE, "--jacobian", "--of", "p1,p2,p3", "--wrt", "z_p1,z_p2,z_p3")[1].stdout
    assert "∂p1/∂z_p2 = -p2 p1 = -0.0220330445" in text
    assert "Closed form: ∂(p1, p2, p3)/∂(z_p1, z_p2, z_p3) = diag(p) - p pᵀ, p = (p1, p2, p3):" in text
    assert "  [ p1(1 - p1)  -p1 p2      -p1 p3     ]" in text
    assert "(equal to the entries above at the point)" in text


@pytest.mark.parametrize("fmt, fragment", [
    ("latex", r"\operatorname{diag}(p) - p\,p^{T}"),
    ("markdown", "**Closed form**, p = (p1, p2, p3)"),
])
def test_the_jacobian_in_latex_and_markdown(tmp_path, fmt, fragment):
    _, r = run(tmp_path, THREE, "--jacobian", "--of", "p1,p2,p3", "--wrt", "z_p1,z_p2,z_p3", "--format", fmt)
    assert r.exit_code == 0, r.output
    assert fragment in r.stdout
    assert r"\frac{\partial p_{1}}{\partial z_{p_{1}}} &= p_{1} \left(1 - p_{1}\right) = 0.0819250691" in r.stdout


def test_categorical_cross_entropy_after_a_softmax_is_exactly_p_minus_y():
    net = derivator.loads(THREE)
    r = derivator.report(net, "l2", check=True)
    assert str(r.derivation.steps["p2"].fused) == "p2 - y2"
    assert r.value == pytest.approx(by_hand([1, 2, 3])[0][1], rel=1e-14)
    text = derivator.render.render_text(r)
    assert "δ_p2 = p2 - y2 = 0.244728471    (categorical cross-entropy after a softmax group" in text


def test_a_hidden_softmax_group_writes_its_delta_through_every_output():
    net = derivator.loads(THREE.replace("loss: {type: categorical_cross_entropy, target: [y1, y2, y3]}\n", "")
                          .replace(", y1: 0, y2: 0, y3: 1", ""))
    r = derivator.report(net, "z_p1", of="p3")
    # δ_p1 = p1(∂p3/∂p1 (1 - p1) - Σ_{j≠1} ∂p3/∂p_j p_j) with only ∂p3/∂p3 = 1: -p1 p3.
    assert str(r.derivation.result) == "-p1*p3"
    assert r.value == pytest.approx(-by_hand([1, 2, 3])[0][0] * by_hand([1, 2, 3])[0][2], rel=1e-14)


# -- saturation ------------------------------------------------------------------------------------------
def test_logits_of_plus_and_minus_1000_give_finite_right_numbers(tmp_path):
    text = THREE.replace("l1: 1, l2: 2, l3: 3, y1: 0, y2: 0, y3: 1", "l1: 1000, l2: -1000, l3: 0, y1: 0, y2: 1, y3: 0")
    _, r = run(tmp_path, text, "--wrt", "l2", "--check", "--format", "json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["forward"]["loss"] == 2000.0  # -log p2 = 2000: finite although p2 = e^-2000 underflows
    assert out["value"] == -1.0 and out["check"]["agrees"]  # p2 - y2 = 0 - 1
    for wrt, want in (("l1", 1.0), ("l3", 0.0)):
        _, r = run(tmp_path, text, "--wrt", wrt, "--check", "--format", "json")
        assert json.loads(r.stdout)["value"] == want and json.loads(r.stdout)["check"]["agrees"]
    _, r = run(tmp_path, text, "--jacobian", "--of", "p1,p2,p3", "--wrt", "l1,l2,l3", "--check", "--format", "json")
    assert r.exit_code == 0, r.output
    values = json.loads(r.stdout)["jacobian"]["values"]
    assert all(v is not None and math.isfinite(v) and abs(v) < 1e-300 for row in values for v in row)
    net = derivator.loads(text)
    out = imported(python.module(net, ["l1", "l2", "l3"]), tmp_path).gradient(point(net))
    assert (out["target"], out["l1"], out["l2"], out["l3"]) == (2000.0, 1.0, -1.0, 0.0)


def test_a_saturated_group_keeps_the_digits_of_its_small_derivatives(tmp_path):
    # Logits (300, 0): p2 = e^-300/(1 + e^-300) and 1 - p1 = p2, which 1 - p1 computed from p1 would lose.
    text = THREE.replace("l1: 1, l2: 2, l3: 3, y1: 0, y2: 0, y3: 1", "l1: 300, l2: 0, l3: -1e9, y1: 1, y2: 0, y3: 0")
    tiny = math.exp(-300) / (1 + math.exp(-300))
    net = derivator.loads(text)
    assert derivator.report(net, "l1").value == pytest.approx(-tiny, rel=1e-12)  # p1 - 1 = -p2
    assert derivator.report(net, "z_p1", of="p1").value == pytest.approx(tiny, rel=1e-12)  # p1 (1 - p1)
    assert derivator.report(net, "z_p2", of="p1").value == pytest.approx(-tiny, rel=1e-12)  # -p1 p2
    g = derivator.gradient(derivator.loads(text.replace("[l1, p1, 1]", "[l1, p1, w]").replace("at: {", "at: {w: 1, ")))
    assert g.rows[0].value == pytest.approx(-tiny * 300, rel=1e-12)  # (p1 - y1) l1, from the sweep


# -- layers ------------------------------------------------------------------------------------------------
LAYERS = """\
inputs: [x1, x2]
layers:
  - {units: 3, activation: softmax}
  - {units: 2, activation: softmax}
loss: {type: squared_error, target: [y1, y2]}
data:
  - {x1: 0.9, x2: 0.1, y1: 1, y2: 0}
  - {x1: -0.4, x2: 0.7, y1: 0, y2: 1}
at:
  W1: [[0.5, -0.3], [0.2, 0.8], [-0.6, 0.1]]
  b1: [0.1, -0.1, 0.0]
  W2: [[0.7, -0.2, 0.3], [-0.4, 0.6, 0.2]]
  b2: [0.0, 0.1]
"""


def test_softmax_layers_match_the_reference_engine_and_their_matrix_form(tmp_path):
    net = derivator.loads(LAYERS)
    _, reference = evaluate_batch(YAML(typ="safe").load(LAYERS), {}, of="loss")
    for r in derivator.gradient(net).rows:
        assert close(r.value, reference[r.name]), (r.name, r.value, reference[r.name])
    f = derivator.matrix_form(net, "W1", check=True)
    assert f.agrees and not f.failed
    _, r = run(tmp_path, LAYERS, "--wrt", "W1", "--matrix")
    assert "  dZ[2] = A[2] ⊙ (dA[2] - 1 1ᵀ(A[2] ⊙ dA[2]))    (a softmax layer" in r.stdout
    assert "  dA[1] = W[2]ᵀ dZ[2]    (back through W[2])" in r.stdout


def test_a_softmax_output_layer_under_categorical_cross_entropy_is_a_minus_y(tmp_path):
    text = LAYERS.replace("squared_error", "categorical_cross_entropy").replace("units: 3, activation: softmax",
                                                                               "units: 3, activation: tanh")
    _, r = run(tmp_path, text, "--wrt", "W2", "--matrix", "--check")
    assert r.exit_code == 0, r.output
    assert "  dZ[2] = A[2] - Y    (categorical cross-entropy after a softmax group" in r.stdout


def test_the_jacobian_of_a_dense_layer_is_diag_f_prime_w(tmp_path):
    text = ("inputs: [x1, x2]\nlayers:\n  - {units: 2, activation: tanh}\n  - {units: 3, activation: softmax}\n"
            "at: {W1: [[0.5, -0.3], [0.2, 0.8]], b1: [0.1, -0.1], W2: [[0.7, -0.2], [-0.4, 0.6], [0.1, 0.3]],"
            " b2: [0, 0.1, -0.1], x1: 0.3, x2: -0.5}\n")
    net = derivator.loads(text)
    first = jacobian(net, "a1", "x1,x2", check=True)
    assert first.closed.text == "diag(f'(z)) W[1]" and first.closed.agrees and not first.failed
    second = jacobian(net, "a2", "a1")
    assert second.wrt == ["a1_1", "a1_2"] and second.closed.text == "(diag(p) - p pᵀ) W[2]" and second.closed.agrees
    spec = YAML(typ="safe").load(text)
    for o, row in zip(second.of, second.values, strict=True):
        _, reference = evaluate_batch(spec, {}, of=o)
        assert row == pytest.approx([reference[w] for w in second.wrt], rel=REL)
    own = jacobian(net, "a2", "z_a2")
    assert own.closed.text == "diag(p) - p pᵀ" and own.wrt == ["z_a2_1", "z_a2_2", "z_a2_3"]


# -- errors: one positioned line ----------------------------------------------------------------------------
ERRORS = [
    ("group of one", THREE.replace("p3: {activation: softmax}", "p3: {activation: softmax, group: other}"),
     2, 63, "softmax group 'other' has one node, 'p3': its output would be the constant 1"),
    ("not a softmax", THREE.replace("p3: {activation: softmax}", "p3: {activation: sigmoid}"), 5, 7,
     "categorical_cross_entropy takes probabilities, the outputs of one softmax group, but output 'p3' has "
     "activation sigmoid; give the outputs activation: softmax, or use cross_entropy"),
    ("part of a group", THREE.replace("output: [p1, p2, p3]", "output: [p1, p2]").replace("[y1, y2, y3]", "[y1, y2]"),
     5, 7, "categorical_cross_entropy's outputs must be the whole softmax group 'softmax', whose probabilities sum "
     "to 1; p3 is not in 'output'"),
    ("two groups", THREE.replace("p3: {activation: softmax}", "p3: {activation: softmax, group: b}").replace(
        "p2: {activation: softmax}", "p2: {activation: softmax, group: b}"),
     2, 9, "softmax group 'softmax' has one node, 'p1'"),
    ("group without softmax", THREE.replace("p3: {activation: softmax}", "p3: {group: g}"), 2, 68,
     "'group' applies to softmax nodes only; node 'p3' has activation identity"),
    ("bad group name", THREE.replace("p3: {activation: softmax}", "p3: {activation: softmax, group: 3}"), 2, 96,
     "the group of node 'p3' must be a name such as g1, not 3"),
    ("reads its own group", THREE.replace("[l3, p3, 1]", "[l3, p3, 1], [p1, p3, 2]"), 3, 48,
     "softmax node 'p3' depends on 'p1' of its own group 'softmax'"),
    ("targets sum", THREE.replace("y3: 1", "y3: 0.5"), None, None,
     "categorical_cross_entropy targets must sum to 1 (one-hot or probabilities), since δ = p - y needs it; "
     "y1, y2, y3 sum to 0.5"),
    ("layer of one", "inputs: [x]\nlayers:\n  - {units: 1, activation: softmax}\nat: {x: 1}\n", 3, 13,
     "layer 1 is a softmax of one unit, which is the constant 1"),
]


@pytest.mark.parametrize("name, text, line, col, fragment", ERRORS, ids=[e[0] for e in ERRORS])
def test_a_bad_softmax_file_is_one_positioned_line(tmp_path, name, text, line, col, fragment):
    path, r = run(tmp_path, text, "--wrt", "l1", "--check")
    assert_one_error(r, f"{path}:{line}:{col}: error: " if line else f"{path}: error: ", fragment)


def test_two_groups_under_categorical_cross_entropy_are_refused(tmp_path):
    text = THREE.replace("nodes: {", "nodes: {p4: {activation: softmax, group: b}, p5: {activation: softmax, "
                         "group: b}, ").replace("edges: [", "edges: [[l1, p4, 1], [l2, p5, 1], ").replace(
        "output: [p1, p2, p3]", "output: [p1, p2, p3, p4]").replace("[y1, y2, y3]", "[y1, y2, y3, y4]")
    path, r = run(tmp_path, text.replace("y3: 1}", "y3: 1, y4: 0}"), "--wrt", "l1")
    assert_one_error(r, f"{path}:5:7: error: ", "categorical_cross_entropy's outputs must be one softmax group; "
                                                "they are in 2: softmax, b")


@pytest.mark.parametrize("args, fragment", [
    (("--jacobian", "--of", "z_p1", "--wrt", "l1"), "--of: 'z_p1' is a pre-activation"),
    (("--jacobian", "--wrt", "l1,,l2"), "an empty name between commas"),
    (("--jacobian", "--wrt", "l1,l1"), "'l1' is named twice"),
    (("--jacobian", "--wrt", "l1", "--format", "python"), "--jacobian prints text, latex, markdown or json, not "
                                                          "python"),
    (("--jacobian", "--wrt", "l1", "--candidate", "p1"), "--candidate does not apply to it"),
    (("--jacobian",), "--jacobian needs --wrt NAME,NAME,..."),
])
def test_a_bad_jacobian_request_is_one_line(tmp_path, args, fragment):
    path, r = run(tmp_path, THREE, *args)
    assert_one_error(r, f"{path}: error: ", fragment)


@needs_pdflatex
def test_the_jacobian_compiles_as_a_standalone_document(tmp_path):
    _, r = run(tmp_path, THREE, "--jacobian", "--of", "p1,p2,p3", "--wrt", "z_p1,z_p2,z_p3", "--check",
               "--format", "latex", "--standalone")
    assert r.exit_code == 0, r.output
    (tmp_path / "d.tex").write_text(r.stdout)
    done = subprocess.run(["pdflatex", "-halt-on-error", "-interaction=nonstopmode", "d.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "Overfull" not in done.stdout


@pytest.mark.parametrize("of, wrt, candidate, agrees", [
    (None, "l1", "p1 - y1", True),
    ("p2", "l1", "-p1*p2", True),
    ("p2", "l1", "p1*p2", False),  # the sign: the diagnosis says so
    ("p2", "l2", "exp(z_p2)/(exp(z_p1) + exp(z_p2) + exp(z_p3))*(1 - p2)", True),  # p2 written out, recognised
])
def test_a_candidate_for_a_softmax_group(of, wrt, candidate, agrees):
    net = derivator.loads(THREE)
    r = derivator.report(net, wrt, of=of, candidate=candidate)
    assert r.candidate.agrees is agrees
    if not agrees:
        assert "The sign is wrong: the candidate is minus the derivative at every point." in r.candidate.diagnosis
    else:
        assert "exp" not in str(r.candidate.in_node_values)  # shown in node values


RECURRENT_SOFTMAX = """\
inputs: [x1, x2]
steps: 2
layers:
  - {units: 2, activation: tanh, recurrent: true}
  - {units: 2, activation: softmax}
loss: {type: categorical_cross_entropy, target: [y1, y2], steps: all}
data:
  - {x1: [0.5, -0.2], x2: [1.0, 0.3], y1: [1, 0], y2: [0, 1]}
at:
  W1: [[0.3, -0.4], [0.6, 0.1]]
  U1: [[0.5, -0.2], [0.25, 0.4]]
  b1: [0.05, -0.1]
  W2: [[0.8, -0.6], [0.1, 0.2]]
  b2: [0.1, 0.0]
"""


def _recurrent_softmax_loss(u12: float) -> float:
    """The file above's loss in plain Python: two steps of tanh, a softmax per step, -Σ_t Σ_i y_i log p_i."""
    W1, U1, b1 = [[0.3, -0.4], [0.6, 0.1]], [[0.5, u12], [0.25, 0.4]], [0.05, -0.1]
    W2, b2 = [[0.8, -0.6], [0.1, 0.2]], [0.1, 0.0]
    xs, ys = [(0.5, 1.0), (-0.2, 0.3)], [(1, 0), (0, 1)]
    h, loss = [0.0, 0.0], 0.0
    for x, y in zip(xs, ys, strict=True):
        h = [math.tanh(sum(W1[j][k] * x[k] + U1[j][k] * h[k] for k in range(2)) + b1[j]) for j in range(2)]
        z = [sum(W2[i][k] * h[k] for k in range(2)) + b2[i] for i in range(2)]
        p = [math.exp(zi) / sum(math.exp(zk) for zk in z) for zi in z]
        loss -= sum(yi * math.log(pi) for yi, pi in zip(y, p, strict=True))
    return loss


def test_a_softmax_output_layer_through_time_is_one_group_per_step(tmp_path):
    step = 1e-6
    numeric = (_recurrent_softmax_loss(-0.2 + step) - _recurrent_softmax_loss(-0.2 - step)) / (2 * step)
    _, r = run(tmp_path, RECURRENT_SOFTMAX, "--wrt", "U1_1_2", "--format", "json")
    assert r.exit_code == 0, r.output
    assert close(json.loads(r.output)["value"], numeric, 1e-8)
    # the targets sum to 1 per step, not over the whole sequence: a step that misses 1 is named
    _, r = run(tmp_path, RECURRENT_SOFTMAX.replace("y2: [0, 1]", "y2: [0, 0.5]"), "--wrt", "U1_1_2")
    assert r.exit_code == 2 and "y1@2, y2@2 sum to 0.5" in r.stderr, r.stderr
    _, r = run(tmp_path, RECURRENT_SOFTMAX, "--wrt", "U1", "--matrix")
    assert r.exit_code == 2 and "not a softmax layer" in r.stderr, r.stderr
