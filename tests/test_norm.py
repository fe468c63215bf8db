"""Layer normalisation (CONTRACT section 7): the staged backward pass through x̂, σ² and μ against the
closed form worked in plain Python here, gamma and beta gradients, and batch_norm without data refused."""

from __future__ import annotations

import math

import pytest
from click.testing import CliRunner

import derivator
from derivator.cli import derive
from derivator.errors import DerivatorError

NET = """inputs: [x1, x2]
layers:
  - {units: 3, activation: tanh, layer_norm: true}
  - {units: 1, activation: sigmoid}
loss: {type: binary_cross_entropy, target: y}
at:
  x1: 0.5
  x2: -1.2
  W1: [[0.4, -0.3], [0.2, 0.8], [-0.6, 0.1]]
  gamma1: [1.2, 0.8, 1.0]
  beta1: [0.1, -0.2, 0.05]
  W2: [[0.7, -0.5, 0.3]]
  b2: [0.1]
  y: 1
"""
X, W1, GAMMA, BETA, W2, B2, Y = [0.5, -1.2], [[0.4, -0.3], [0.2, 0.8], [-0.6, 0.1]], [1.2, 0.8, 1.0], \
    [0.1, -0.2, 0.05], [0.7, -0.5, 0.3], 0.1, 1.0


def by_hand():
    """Forward, then ∂J/∂z by the closed form (1/(nσ))(n g - Σ g - x̂ Σ g x̂), g_j = gamma_j ∂J/∂y_j."""
    n, eps = 3, 1e-5
    z = [sum(w * x for w, x in zip(row, X, strict=True)) for row in W1]  # 0.56, -0.86, -0.42
    mu = sum(z) / n
    var = sum((v - mu) ** 2 for v in z) / n
    sigma = math.sqrt(var + eps)
    xhat = [(v - mu) / sigma for v in z]
    a1 = [math.tanh(g * x + b) for g, x, b in zip(GAMMA, xhat, BETA, strict=True)]
    out = 1 / (1 + math.exp(-(sum(w * a for w, a in zip(W2, a1, strict=True)) + B2)))
    dy = [(1 - a * a) * w * (out - Y) for a, w in zip(a1, W2, strict=True)]  # ∂J/∂(gamma x̂ + beta)
    g = [gm * d for gm, d in zip(GAMMA, dy, strict=True)]
    dz = [(n * gj - sum(g) - xj * sum(gi * xi for gi, xi in zip(g, xhat, strict=True))) / (n * sigma)
          for gj, xj in zip(g, xhat, strict=True)]
    return z, xhat, dy, dz


def test_the_staged_pass_equals_the_closed_form():
    z, xhat, dy, dz = by_hand()
    assert z == pytest.approx([0.56, -0.86, -0.42])
    net = derivator.loads(NET)
    for j in range(3):
        assert math.isclose(derivator.report(net, f"z_h1_{j + 1}").value, dz[j], rel_tol=1e-9)
        assert math.isclose(derivator.report(net, f"gamma1_{j + 1}").value, dy[j] * xhat[j], rel_tol=1e-9)
        assert math.isclose(derivator.report(net, f"beta1_{j + 1}").value, dy[j], rel_tol=1e-9)
        for k in range(2):  # W1 enters through h1_j = Σ W1_jk x_k only
            assert math.isclose(derivator.report(net, f"W1_{j + 1}_{k + 1}").value, dz[j] * X[k], rel_tol=1e-9)
    assert sum(dz) == pytest.approx(0, abs=1e-12)  # a shift of every z changes nothing after normalising


def test_the_derivation_shows_the_stages(tmp_path):
    path = tmp_path / "ln.yaml"
    path.write_text(NET)
    out = CliRunner().invoke(derive, [str(path), "--wrt", "W1_2_1", "--check"])
    assert out.exit_code == 0, out.output
    for stage in ("mu1 = h1_1/3 + h1_2/3 + h1_3/3", "zhat1_2 = (h1_2 - mu1)/sqrt(var1 + 1/100000)",
                  "δ_var1 = ", "δ_mu1 = ", "z_a1_2 = gamma1_2 zhat1_2 + beta1_2", "Check: agrees"):
        assert stage in out.output, stage


def test_batch_norm_without_data_is_refused_at_its_layer():  # with data: tests/test_batch_norm.py
    with pytest.raises(DerivatorError) as e:
        derivator.loads(NET.replace("layer_norm: true", "batch_norm: true"))
    assert "batch_norm normalises over the samples of 'data:'" in e.value.message
    assert (e.value.line, e.value.col) == (3, 5)


def test_gamma_and_beta_are_whole_vectors():
    net = derivator.loads(NET)
    _, xhat, dy, _ = by_hand()
    g = derivator.gradient(net, ["gamma1_1", "gamma1_2", "gamma1_3"])
    assert [r.value for r in g.rows] == pytest.approx([d * x for d, x in zip(dy, xhat, strict=True)], rel=1e-9)
    assert "gamma1" in net.matrices() and "b1" not in net.matrices()
