"""Numbers at the edges: overflow, huge logits, kinks in every mode; never a false alarm, never NaN in JSON."""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

import derivator
from derivator.cli import derive

EXP_OVERFLOW = """\
inputs: [x]
nodes: {h: {activation: exp}, O: {activation: tanh}}
edges: [[x, h, w1], [h, O, w2]]
output: O
loss: {type: squared_error, target: y}
at: {x: 1, w1: 800, w2: 0, y: 0.5}
"""
LOGITS = """\
inputs: [x]
nodes: {a: {}, b: {}, c: {}}
edges: [[x, a, w1], [x, b, w2], [x, c, w3]]
output: [a, b, c]
loss: {type: cross_entropy, target: [y1, y2, y3]}
at: {x: 1, w1: 1000, w2: -1000, w3: 999, y1: 0, y2: 1, y3: 0}
"""
KINKS = """\
inputs: [x]
nodes: {h: {activation: relu, bias: b}, k: {activation: leaky_relu, slope: 0.2, bias: c}, O: {}}
edges: [[x, h, w1], [x, k, w3], [h, O, w2], [k, O, w4]]
output: O
at: {x: 1, w1: 0.5, b: -0.5, w3: 2, c: -2, w2: 3, w4: 1}
"""


def run(tmp_path, text, *args):
    path = tmp_path / "net.yaml"
    path.write_text(text)
    return CliRunner().invoke(derive, [str(path), *args])


def test_a_derivative_beyond_float64_is_null_in_json_and_no_false_alarm(tmp_path):
    # dL/dw2 = 2(O - y)(1 - O²) h with h = e^800: finite, but not a float64.
    r = run(tmp_path, EXP_OVERFLOW, "--wrt", "w2", "--check", "--format", "json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)  # strict JSON: no Infinity
    assert out["value"] is None and out["check"]["agrees"] is True
    text = run(tmp_path, EXP_OVERFLOW, "--wrt", "w2", "--check").stdout
    assert "beyond float64's range" in text
    every = run(tmp_path, EXP_OVERFLOW, "--wrt", "all", "--check", "--format", "json")
    assert every.exit_code == 0 and json.loads(every.stdout)["gradient"]["w2"] is None


def test_huge_logits_give_the_softmax_exactly(tmp_path):
    # p = softmax(1000, -1000, 999): p_a = 1/(1 + e^-1), p_c = e^-1/(1 + e^-1); dL/dw = (p - y) x.
    r = json.loads(run(tmp_path, LOGITS, "--wrt", "all", "--check", "--format", "json").stdout)
    p_a = 1 / (1 + math.exp(-1))
    assert r["gradient"]["w1"] == pytest.approx(p_a, rel=1e-14)
    assert r["gradient"]["w3"] == pytest.approx(1 - p_a, rel=1e-14)
    assert r["gradient"]["w2"] == pytest.approx(-1.0, rel=1e-14)
    assert r["check"]["agrees"] is True
    assert math.isfinite(r["target"]) and r["target"] == pytest.approx(2000 + math.log1p(math.exp(-1)), rel=1e-14)


def test_every_kink_is_named_in_every_mode(tmp_path):
    one = run(tmp_path, KINKS, "--wrt", "w1", "--check")
    assert one.exit_code == 0
    assert "not differentiable here: the relu of node h has z = 0" in one.stdout
    every = run(tmp_path, KINKS, "--wrt", "all", "--check")
    assert every.exit_code == 0
    for name, node in (("w1", "relu of node h"), ("b", "relu of node h"), ("w3", "leaky_relu of node k"),
                       ("c", "leaky_relu of node k")):
        assert f"Check {name}: not differentiable here: the {node} has z = 0" in every.stdout
    out = json.loads(run(tmp_path, KINKS, "--wrt", "all", "--check", "--format", "json").stdout)
    assert out["gradient"]["w1"] == 0.0  # relu'(0) = 0, as PyTorch
    assert out["gradient"]["w3"] == pytest.approx(0.2 * 1 * 1)  # leaky relu'(0) = slope
    assert len(out["check"]["not_differentiable"]) == 2


@pytest.mark.parametrize("w", [50, 500, 5000])
def test_saturated_tanh_layer_is_finite_and_checks(w):
    net = derivator.loads(f"inputs: [x]\nnodes: {{h: {{activation: tanh}}, O: {{activation: sigmoid}}}}\n"
                          f"edges: [[x, h, w1], [h, O, w2]]\noutput: O\n"
                          f"loss: {{type: binary_cross_entropy, target: y}}\nat: {{x: 1, w1: {w}, w2: {w}, y: 1}}\n")
    g = derivator.gradient(net, check=True)
    assert not g.failed
    w1 = g.rows[0].value  # (O - 1) w2 (1 - h²) x: 1 - tanh(w)² = 4e^-2w / (1 + e^-2w)²
    sech2 = 4 * math.exp(-2 * w) / (1 + math.exp(-2 * w)) ** 2
    one_minus_o = math.exp(-w * math.tanh(w)) / (1 + math.exp(-w * math.tanh(w)))  # 1 - sigmoid(z_O)
    assert w1 == pytest.approx(-one_minus_o * w * sech2, rel=1e-9, abs=1e-300)


def test_data_times_network_is_capped_with_a_position(tmp_path):
    # 120 samples over 2 -> 64 -> 64 -> 2 is 120 x (4,352 + 130) steps per pass: over the 50,000 cap.
    samples = "".join(f"  - {{x1: {i / 120}, x2: 0.5, y: {i % 2}}}\n" for i in range(120))
    text = ("inputs: [x1, x2]\nlayers:\n  - {units: 64, activation: tanh}\n  - {units: 64, activation: tanh}\n"
            "  - {units: 2}\nloss: {type: cross_entropy, target: [y1, y2]}\ndata:\n" + samples)
    text = text.replace("y: 0}", "y1: 1, y2: 0}").replace("y: 1}", "y1: 0, y2: 1}")
    r = run(tmp_path, text, "--wrt", "W1_1_1")
    assert r.exit_code == 2
    assert r.stderr.startswith(f"{tmp_path / 'net.yaml'}:8:3: error: 120 samples over 4352 weights and 130 nodes")
    assert "the cap is 50,000" in r.stderr


def test_checking_many_parameters_checks_an_even_subset_and_says_so(monkeypatch):
    import derivator.answers.gradient

    monkeypatch.setattr(derivator.answers.gradient, "MAX_CHECK_WORK", 60)  # 2 passes x 9 steps: room for 3 of 5
    net = derivator.load("specs/story4_desmos_check.yaml")
    g = derivator.gradient(net, check=True)
    checked = [r.name for r in g.rows if r.check is not None]
    assert checked == ["w1", "w3", "w5"]
    from derivator.render.table import render_table_text
    assert f"Check: {len(checked)} of the 5 derivatives, evenly spaced, are checked" in render_table_text(g)
