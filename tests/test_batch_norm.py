"""Batch normalisation (CONTRACT section 7): the samples copied into one graph and coupled through μ_B and
σ²_B. Checked against a forward and backward pass written here by hand in plain Python (the textbook staged
pass and the closed form ∂J/∂z = (gamma/(m σ_B))(m dŷ - Σ dŷ - x̂ Σ dŷ x̂)) and central differences of that
hand-written forward pass; then the refusals."""

from __future__ import annotations

import math

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

import derivator
from derivator.cli import derive
from derivator.errors import DerivatorError

try:
    from refengine import evaluate_batch
except ImportError:  # tests/ collected as a package
    from tests.refengine import evaluate_batch

NET = """inputs: [x1, x2]
layers:
  - {units: 2, activation: tanh, batch_norm: true}
  - {units: 1, activation: sigmoid}
loss: {type: binary_cross_entropy, target: y}
data:
  - {x1: 0.5, x2: -1.2, y: 1}
  - {x1: -0.3, x2: 0.8, y: 0}
  - {x1: 1.1, x2: 0.4, y: 1}
  - {x1: -0.7, x2: -0.2, y: 0}
at:
  W1: [[0.4, -0.3], [0.2, 0.8]]
  gamma1: [1.2, 0.8]
  beta1: [0.1, -0.2]
  W2: [[0.7, -0.5]]
  b2: [0.1]
"""
XS, YS = [[0.5, -1.2], [-0.3, 0.8], [1.1, 0.4], [-0.7, -0.2]], [1, 0, 1, 0]
P = {"W1": [[0.4, -0.3], [0.2, 0.8]], "gamma1": [1.2, 0.8], "beta1": [0.1, -0.2], "W2": [0.7, -0.5], "b2": 0.1}
EPS, M = 1e-5, 4


def forward(p, reduction="mean"):
    """J and every stage, by hand: h, μ_B, σ²_B, x̂, ŷ = gamma x̂ + beta, tanh, the sigmoid output, BCE."""
    h = [[sum(w * x for w, x in zip(row, xs, strict=True)) for row in p["W1"]] for xs in XS]  # h[s][j]
    mu = [sum(h[s][j] for s in range(M)) / M for j in range(2)]
    var = [sum((h[s][j] - mu[j]) ** 2 for s in range(M)) / M for j in range(2)]
    xhat = [[(h[s][j] - mu[j]) / math.sqrt(var[j] + EPS) for j in range(2)] for s in range(M)]
    a = [[math.tanh(p["gamma1"][j] * xhat[s][j] + p["beta1"][j]) for j in range(2)] for s in range(M)]
    o = [1 / (1 + math.exp(-(sum(w * v for w, v in zip(p["W2"], a[s], strict=True)) + p["b2"]))) for s in range(M)]
    losses = [-(y * math.log(q) + (1 - y) * math.log(1 - q)) for q, y in zip(o, YS, strict=True)]
    return sum(losses) / (M if reduction == "mean" else 1), dict(h=h, mu=mu, var=var, xhat=xhat, a=a, o=o)


def backward(reduction="mean"):
    """The textbook staged pass (through x̂, σ²_B, μ_B) and the closed form, both by hand."""
    _, f = forward(P, reduction)
    scale = 1 / M if reduction == "mean" else 1
    dy = [[scale * (f["o"][s] - YS[s]) * P["W2"][j] * (1 - f["a"][s][j] ** 2) for j in range(2)] for s in range(M)]
    staged, closed, dvar, dmu = [[0.0] * 2 for _ in range(M)], [[0.0] * 2 for _ in range(M)], [0.0] * 2, [0.0] * 2
    for j in range(2):
        g, sigma = P["gamma1"][j], math.sqrt(f["var"][j] + EPS)
        c = [f["h"][s][j] - f["mu"][j] for s in range(M)]
        dx = [g * dy[s][j] for s in range(M)]
        dvar[j] = sum(dx[s] * c[s] for s in range(M)) * -0.5 * (f["var"][j] + EPS) ** -1.5
        dmu[j] = sum(-dx[s] / sigma for s in range(M)) + dvar[j] * sum(-2 * c[s] for s in range(M)) / M
        sum_dy, sum_dyx = sum(dy[s][j] for s in range(M)), sum(dy[s][j] * f["xhat"][s][j] for s in range(M))
        for s in range(M):
            staged[s][j] = dx[s] / sigma + dvar[j] * 2 * c[s] / M + dmu[j] / M
            closed[s][j] = g / (M * sigma) * (M * dy[s][j] - sum_dy - f["xhat"][s][j] * sum_dyx)
    return dy, staged, closed, dvar, dmu, f


def central(name, reduction="mean", h=1e-6):
    """∂J/∂name by central differences of the hand-written forward pass."""
    def at(step):
        p = {k: [list(r) if isinstance(r, list) else r for r in v] if isinstance(v, list) else v for k, v in P.items()}
        parts = name.split("_")
        key, idx = parts[0], [int(i) - 1 for i in parts[1:]]
        if key == "W2":
            p["W2"][idx[1]] += step
        elif key == "b2":
            p["b2"] += step
        elif key == "W1":
            p["W1"][idx[0]][idx[1]] += step
        else:
            p[key][idx[0]] += step
        return forward(p, reduction)[0]
    return (at(h) - at(-h)) / (2 * h)


PARAMS = ["W1_1_1", "W1_1_2", "W1_2_1", "W1_2_2", "gamma1_1", "gamma1_2", "beta1_1", "beta1_2", "W2_1_1",
          "W2_1_2", "b2_1"]


def test_the_graph_holds_one_copy_per_sample_and_shared_statistics():
    net = derivator.loads(NET)
    assert "h1_1#3" in net.nodes and "zhat1_2#4" in net.nodes and "a2_1#1" in net.outputs
    assert "mu1_1" in net.nodes and "mu1_1#1" not in net.nodes  # μ_B is one node over the batch
    assert set(net.nodes["var1_2"].reads) == {"h1_2#1", "h1_2#2", "h1_2#3", "h1_2#4", "mu1_2"}
    assert net.inputs[:2] == ["x1#1", "x2#1"] and "W1_1_1" in net.params and "W1_1_1#1" not in net.params
    assert "gamma1" in net.matrices() and "b1" not in net.matrices() and len(net.matrices()["W1"][0]) == 2


def test_J_is_the_mean_of_the_samples_losses():
    net = derivator.loads(NET)
    g = derivator.gradient(net, PARAMS)
    assert math.isclose(g.target, forward(P)[0], rel_tol=1e-12)


def test_every_parameter_against_central_differences_of_a_hand_forward_pass():
    net = derivator.loads(NET)
    g = derivator.gradient(net, PARAMS)
    for row in g.rows:
        assert math.isclose(row.value, central(row.name), rel_tol=1e-7, abs_tol=1e-10), row.name


def test_the_staged_pass_and_the_closed_form_against_the_graphs_deltas():
    dy, staged, closed, dvar, dmu, f = backward()
    net = derivator.loads(NET)
    for j in range(2):
        assert math.isclose(derivator.report(net, f"var1_{j + 1}").value, dvar[j], rel_tol=1e-9)
        assert math.isclose(derivator.report(net, f"mu1_{j + 1}").value, dmu[j], rel_tol=1e-9)
        for s in range(M):
            graph = derivator.report(net, f"z_h1_{j + 1}#{s + 1}").value  # δ of h (an identity neuron)
            assert math.isclose(graph, staged[s][j], rel_tol=1e-9)
            assert math.isclose(graph, closed[s][j], rel_tol=1e-9)
            assert math.isclose(derivator.report(net, f"z_a1_{j + 1}#{s + 1}").value, dy[s][j], rel_tol=1e-9)
        assert sum(closed[s][j] for s in range(M)) == pytest.approx(0, abs=1e-12)  # a shift of h changes nothing
        gamma = derivator.report(net, f"gamma1_{j + 1}").value
        assert math.isclose(gamma, sum(dy[s][j] * f["xhat"][s][j] for s in range(M)), rel_tol=1e-9)
        assert math.isclose(derivator.report(net, f"beta1_{j + 1}").value, sum(dy[s][j] for s in range(M)),
                            rel_tol=1e-9)
        for k in range(2):
            w = derivator.report(net, f"W1_{j + 1}_{k + 1}").value
            assert math.isclose(w, sum(closed[s][j] * XS[s][k] for s in range(M)), rel_tol=1e-9)


def test_reduction_sum():
    net = derivator.loads(NET.replace("target: y}", "target: y, reduction: sum}"))
    g = derivator.gradient(net, PARAMS)
    assert math.isclose(g.target, forward(P, "sum")[0], rel_tol=1e-12)
    _, _, closed, _, _, _ = backward("sum")
    assert math.isclose(derivator.report(net, "z_h1_2#3").value, closed[2][1], rel_tol=1e-9)
    assert math.isclose(g.rows[4].value, central("gamma1_1", "sum"), rel_tol=1e-7)


def test_the_text_shows_the_stages_and_the_closed_form_and_checks(tmp_path):
    path = tmp_path / "bn.yaml"
    path.write_text(NET)
    out = CliRunner().invoke(derive, [str(path), "--wrt", "W1_2_1", "--check"])
    assert out.exit_code == 0, out.output
    for stage in ("mu1_2 = h1_2#1/4 + h1_2#2/4 + h1_2#3/4 + h1_2#4/4", "δ_var1_2 = ", "δ_mu1_2 = ",
                  "zhat1_2#3 = (h1_2#3 - mu1_2)/sqrt(var1_2 + 1/100000)", "δ_h1_2#1 = δ_mu1_2(1/4)",
                  "δ_h1_j#s = (gamma1_j / (m σ_j)) (m δ_a1_j#s - Σₛ δ_a1_j#s - zhat1_j#s Σₛ δ_a1_j#s zhat1_j#s)",
                  "Check: agrees"):
        assert stage in out.output, stage
    every = CliRunner().invoke(derive, [str(path), "--wrt", "all", "--check"])
    assert every.exit_code == 0 and "all 11 agree" in every.output, every.output


def test_a_candidate_names_a_samples_copy_with_hash(tmp_path):
    path = tmp_path / "bn.yaml"
    path.write_text(NET)
    terms = " + ".join(f"(a2_1#{s}/4 - y#{s}/4)*W2_1_1*(1 - a1_1#{s}^2)" for s in range(1, 5))
    out = CliRunner().invoke(derive, [str(path), "--wrt", "beta1_1", "--candidate", terms])
    assert out.exit_code == 0 and "the candidate agrees" in out.output, out.output
    py = CliRunner().invoke(derive, [str(path), "--wrt", "W1_1_1", "--format", "python"])
    assert py.exit_code == 0 and "v_x1__s1" in py.output


@pytest.mark.parametrize("change, message, where", [
    (lambda t: t.split("data:")[0] + "at:\n  x1: 1\n", "this file has none", (3, 5)),
    (lambda t: t.replace(t[t.index("  - {x1: -0.3"):t.index("at:")], ""), "give two or more", (3, 5)),
    (lambda t: t.replace("batch_norm: true", "batch_norm: 1"), "'batch_norm' of layer 1 is true", (3, 46)),
    (lambda t: t.replace("batch_norm: true", "batch_norm: true, bias: false"), "its bias is dropped", (3, 52)),
    (lambda t: t.replace("batch_norm: true", "batch_norm: true, layer_norm: true"), "one of layer_norm", (3, 34)),
])
def test_refusals_say_where(change, message, where):
    with pytest.raises(DerivatorError) as e:
        derivator.loads(change(NET))
    assert message in e.value.message and (e.value.line, e.value.col) == where, (e.value.message, e.value.line,
                                                                                e.value.col)


def test_cross_entropy_over_copies_is_refused():
    text = NET.replace("{units: 1, activation: sigmoid}", "{units: 2, activation: identity}").replace(
        "{type: binary_cross_entropy, target: y}", "{type: cross_entropy, target: [y, t]}").replace(
        "y: 1}", "y: 1, t: 0}").replace("y: 0}", "y: 0, t: 1}").replace(
        "W2: [[0.7, -0.5]]", "W2: [[0.7, -0.5], [0.1, 0.2]]").replace("b2: [0.1]", "b2: [0.1, 0]")
    with pytest.raises(DerivatorError) as e:
        derivator.loads(text)
    assert "categorical_cross_entropy" in e.value.message


SOFTMAX = """inputs: [x1, x2]
layers:
  - {units: 3, activation: relu, batch_norm: true, epsilon: 0.001}
  - {units: 3, activation: tanh}
  - {units: 2, activation: softmax}
loss: {type: categorical_cross_entropy, target: [y1, y2]REDUCTION}
data:
  - {x1: 0.5, x2: -1.2, y1: 1, y2: 0}
  - {x1: -0.3, x2: 0.8, y1: 0, y2: 1}
  - {x1: 1.1, x2: 0.4, y1: 1, y2: 0}
at:
  W1: [[0.4, -0.3], [0.2, 0.8], [-0.6, 0.1]]
  gamma1: [1.2, 0.8, 1.0]
  beta1: [0.1, -0.2, 0.05]
  W2: [[0.7, -0.5, 0.3], [0.2, 0.1, -0.4], [0.3, 0.3, 0.1]]
  b2: [0.1, 0, -0.1]
  W3: [[0.5, -0.2, 0.1], [-0.3, 0.4, 0.2]]
  b3: [0.0, 0.1]
"""


@pytest.mark.parametrize("reduction", ["", ", reduction: sum"])
def test_a_softmax_classifier_against_the_reference_engine(reduction):
    """relu after the batch norm, a hidden layer, a softmax per sample: every parameter to 1e-9 against the
    reference engine over the test's own batch expansion (tests/refbatch.py)."""
    text = SOFTMAX.replace("REDUCTION", reduction)
    net = derivator.loads(text)
    g = derivator.gradient(net, list(net.params))
    target, grads = evaluate_batch(YAML(typ="safe").load(text), {}, of="loss")
    assert math.isclose(g.target, target, rel_tol=1e-9)
    for row in g.rows:
        assert math.isclose(row.value, grads[row.name], rel_tol=1e-9, abs_tol=1e-12), row.name


def test_a_large_batch_is_refused_at_data():
    """Bounded work: the statistics' derivatives grow as m² per unit, so batches are capped (MAX_BATCH)."""
    from derivator.load.batchnorm import MAX_BATCH
    rows = "".join(f"  - {{x1: {s / 100}, x2: 0.5, y: {s % 2}}}\n" for s in range(MAX_BATCH + 1))
    text = NET[:NET.index("data:")] + "data:\n" + rows + NET[NET.index("at:"):]
    with pytest.raises(DerivatorError) as e:
        derivator.loads(text)
    assert f"at most {MAX_BATCH}" in e.value.message and (e.value.line, e.value.col) == (7, 3)


def test_the_hessian_against_second_differences_of_the_hand_forward_pass():
    """--hessian through the batch statistics: a few entries against the hand-written forward pass."""
    net = derivator.loads(NET)
    names = ["W1_1_1", "gamma1_1", "beta1_2", "W2_1_1"]
    h = derivator.hessian(net, names)

    def shifted(a, b, da, db):
        p = {k: [list(r) if isinstance(r, list) else r for r in v] if isinstance(v, list) else v for k, v in P.items()}
        for name, d in ((a, da), (b, db)):
            key, idx = name.split("_")[0], [int(i) - 1 for i in name.split("_")[1:]]
            if key == "W1":
                p["W1"][idx[0]][idx[1]] += d
            elif key == "W2":
                p["W2"][idx[1]] += d
            else:
                p[key][idx[0]] += d
        return forward(p)[0]
    e = 1e-4
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            second = (shifted(a, b, e, e) - shifted(a, b, e, -e) - shifted(a, b, -e, e)
                      + shifted(a, b, -e, -e)) / (4 * e * e)
            assert h.values[i][j] == pytest.approx(second, rel=1e-5, abs=1e-7), (a, b)
