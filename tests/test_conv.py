"""Convolution and pooling layers (CONTRACT section 7): numbers by hand, random conv networks against the
reference engine (tests/refconv.py expands the grids itself, from the contract), the convolution form's
maps entry by entry, the generated module, and every bad conv file as one positioned line."""

from __future__ import annotations

import json
import math
import random

import pytest
from click.testing import CliRunner
from refengine import evaluate_batch
from ruamel.yaml import YAML

import derivator
from derivator.cli import derive
from derivator.errors import DerivatorError
from derivator.numbers.checking import point
from tests.conftest import SPECS

TEXTBOOK = SPECS / "conv_3x3_image_2x2_filter.yaml"
CLASSIFIER = SPECS / "conv_relu_maxpool_dense.yaml"
CHANNELS = SPECS / "conv_channels_stride_padding.yaml"


def flat(rows):
    return [v for row in rows for v in row]


def run(*args):
    return CliRunner().invoke(derive, [str(a) for a in args])


# -- the textbook example, by hand -----------------------------------------------------------------

X = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
K = [[0.1, 0.2], [0.3, 0.4]]
W2 = [1, -1, 0.5, 2]


def textbook_by_hand():
    """O = X ⋆ K (valid), L = (W2·O - y)²/2; dO = e W2; dK = X ⋆ dO; dX = dO ∗ rot180(K), as loops."""
    o = [[sum(X[r + i][c + j] * K[i][j] for i in range(2) for j in range(2)) for c in range(2)] for r in range(2)]
    assert flat(o) == pytest.approx([3.7, 4.7, 6.7, 7.7])  # 0.1·1 + 0.2·2 + 0.3·4 + 0.4·5 = 3.7, ...
    e = sum(w * v for w, v in zip(W2, [o[0][0], o[0][1], o[1][0], o[1][1]], strict=True)) - 17
    assert e == pytest.approx(0.75)  # 3.7 - 4.7 + 3.35 + 15.4 - 17
    do = [[e * W2[0], e * W2[1]], [e * W2[2], e * W2[3]]]  # [[0.75, -0.75], [0.375, 1.5]]
    dk = [[sum(do[r][c] * X[r + i][c + j] for r in range(2) for c in range(2)) for j in range(2)] for i in range(2)]
    dx = [[sum(do[r][c] * K[i - r][j - c] for r in range(2) for c in range(2) if 0 <= i - r < 2 and 0 <= j - c < 2)
           for j in range(3)] for i in range(3)]
    return do, dk, dx


def test_the_textbook_example_by_hand():
    do, dk, dx = textbook_by_hand()
    assert dk[0][0] == pytest.approx(8.25)  # 0.75·1 - 0.75·2 + 0.375·4 + 1.5·5
    net = derivator.load(TEXTBOOK)
    g = derivator.gradient(net, [f"K1_1_1_{i}_{j}" for i in (1, 2) for j in (1, 2)])
    assert flat(g.values) == pytest.approx(flat(dk), rel=1e-12)
    f = derivator.matrix_form(net, "K1", check=True)
    assert flat(f.values) == pytest.approx(flat(dk), rel=1e-12) and f.agrees and not f.failed
    maps = {m.name: m for m in f.maps}
    dz = [maps["dZ1"].values[f"a1_1_{r}_{c}"] for r in (1, 2) for c in (1, 2)]
    da = [maps["dA0"].values[f"X_{r}_{c}"] for r in (1, 2, 3) for c in (1, 2, 3)]
    assert dz == pytest.approx(flat(do), rel=1e-12) and da == pytest.approx(flat(dx), rel=1e-12)
    assert all(m.agrees and m.scalar for m in f.maps)


def test_a_shared_kernel_weight_is_a_sum_over_the_positions_it_touches():
    out = run(TEXTBOOK, "--wrt", "K1_1_1_2_1")
    assert out.exit_code == 0, out.output
    # the entry at kernel offset (2, 1) reads X_{r+1, c} at each of the four positions
    assert "∂loss/∂K1_1_1_2_1 = δ_a1_1_1_1 X_2_1 + δ_a1_1_1_2 X_2_2 + δ_a1_1_2_1 X_3_1 + δ_a1_1_2_2 X_3_2" in out.output
    _, dk, _ = textbook_by_hand()
    assert f"= {dk[1][0]:.15g}" in out.output.replace("∂loss/∂K1_1_1_2_1 = ", "= ")


def test_the_convolution_form_in_text_and_json():
    out = run(TEXTBOOK, "--matrix", "--wrt", "K1")
    assert out.exit_code == 0, out.output
    for line in ("Z[1] = K[1] ⋆ A[0] + b[1]", "dA[0] = dZ[1] ∗ rot180(K[1])", "∂J/∂K[1] = (1/m) Σₛ dZ[1] ⋆ A[0]",
                 "Element by element: agrees"):
        assert line in out.output
    data = json.loads(run(TEXTBOOK, "--matrix", "--wrt", "K1", "--format", "json").output)
    _, dk, dx = textbook_by_hand()
    assert flat(data["matrix"]["values"]) == pytest.approx(flat(dk), rel=1e-12)
    assert flat(data["maps"]["dA0"]["channels"][0]) == pytest.approx(flat(dx), rel=1e-12)


# -- against the reference engine ----------------------------------------------------------------------


def _reference(path_or_text, net):
    spec = YAML(typ="safe").load(path_or_text.read_text() if hasattr(path_or_text, "read_text") else path_or_text)
    return evaluate_batch(spec, point(net), of="loss")[1]


@pytest.mark.parametrize("path", [CLASSIFIER, CHANNELS], ids=lambda p: p.name)
def test_the_convolution_form_matches_the_reference_engine_entry_by_entry(path):
    net = derivator.load(path)
    reference = _reference(path, net)
    f = derivator.matrix_form(net, "K1")
    for row, values in zip(f.entries, f.values, strict=True):
        for name, v in zip(row, values, strict=True):
            assert math.isclose(v, reference[name], rel_tol=1e-9, abs_tol=1e-15), (name, v, reference[name])
    assert f.agrees and all(m.agrees for m in f.maps)
    b = derivator.matrix_form(net, "b1")
    assert [r[0] for r in b.values] == pytest.approx([reference["b1_1"], reference["b1_2"]], rel=1e-9)


def test_the_first_samples_maps_match_the_reference_engines_node_derivatives():
    net = derivator.load(CHANNELS)  # one sample: every node's derivative is the reference's
    reference = _reference(CHANNELS, net)
    f = derivator.matrix_form(net, "K1")
    maps = {m.name: m for m in f.maps}
    for name, v in maps["dZ1"].values.items():  # a conv unit's dZ is its pre-activation's derivative
        assert math.isclose(v, reference["z_" + name], rel_tol=1e-9, abs_tol=1e-15), name
    for name, v in maps["dA2"].values.items():  # an average-pooling unit's dA is its own derivative
        assert math.isclose(v, reference[name], rel_tol=1e-9, abs_tol=1e-15), name
    for name, v in maps["dA0"].values.items():  # the input's gradient
        assert math.isclose(v, reference[name], rel_tol=1e-9, abs_tol=1e-15), name


def _random_conv(rng: random.Random) -> str:
    """A random small conv network: 1-D or 2-D, channels, stride, padding, max or average pooling."""
    two_d = rng.random() < 0.7
    channels = rng.choice([1, 2]) if two_d else 1
    size = rng.randint(4, 6)
    spatial = [size, rng.randint(4, 6)] if two_d else [rng.randint(6, 9)]
    shape = [channels, *spatial] if channels > 1 else spatial
    k = rng.choice([2, 3])
    pad = rng.choice([0, 1]) if k == 3 else 0
    stride = rng.choice([1, 2])
    act = rng.choice(["relu", "tanh", "sigmoid", "identity"])
    pool = rng.choice(["max", "average"])
    lines = [f"inputs: {{I: {{shape: {shape}}}}}", "layers:",
             f"  - {{conv: {{filters: {rng.choice([1, 2])}, kernel: {k}, stride: {stride}, padding: {pad}}}, "
             f"activation: {act}}}",
             f"  - {{pool: {{type: {pool}, size: 2, stride: 1}}}}",
             "  - {units: 2, activation: identity}",
             "loss: {type: cross_entropy, target: [y1, y2]}"]
    return "\n".join(lines) + "\n"


def _random_point(net, rng):
    return {name: round(rng.uniform(-1, 1), 3) for name in net.names if name not in ("y1", "y2")} | \
        {"y1": 1.0, "y2": 0.0}


@pytest.mark.parametrize("seed", range(12))
def test_random_conv_networks_match_the_reference_engine(seed):
    rng = random.Random(seed)
    text = _random_conv(rng)
    net = derivator.loads(text)
    at = _random_point(net, rng)
    spec = YAML(typ="safe").load(text)
    _, reference = evaluate_batch(spec, at, of="loss")
    names = [*net.params, *net.inputs]
    g = derivator.gradient(net, names, at=at)
    for r in g.rows:
        assert math.isclose(r.value, reference[r.name], rel_tol=1e-9, abs_tol=1e-14), (text, r.name, r.value)
    f = derivator.matrix_form(net, "K1", at=at)
    assert f.agrees and all(m.agrees for m in f.maps), text


def test_the_generated_module_matches_the_reference_engine(tmp_path):
    out = run(CHANNELS, "--wrt", "all", "--format", "python")
    assert out.exit_code == 0, out.output
    namespace: dict = {}
    exec(compile(out.output, "generated", "exec"), namespace)  # the tool's own output, a test of it
    net = derivator.load(CHANNELS)
    reference = _reference(CHANNELS, net)
    grads = namespace["gradient"](point(net))
    for name in net.params:
        assert math.isclose(grads[name], reference[name], rel_tol=1e-9, abs_tol=1e-15), name


def test_every_mode_runs_on_a_conv_network(tmp_path):
    assert run(CLASSIFIER, "--wrt", "all", "--check").exit_code == 0
    assert run(CLASSIFIER, "--wrt", "K1", "--check").exit_code == 0
    right = "(a2_1 - y)*(W2_1_1*X_1_1 + W2_1_2*X_1_2 + W2_1_3*X_2_1 + W2_1_4*X_2_2)"
    out = run(TEXTBOOK, "--wrt", "K1_1_1_1_1", "--candidate", right)
    assert out.exit_code == 0 and "agrees" in out.output, out.output
    wrong = run(TEXTBOOK, "--wrt", "K1_1_1_1_1", "--candidate", "(a2_1 - y)*(X_1_1 + X_1_2 + X_2_1 + X_2_2)")
    assert wrong.exit_code == 1
    draw = tmp_path / "conv.svg"
    assert run(CLASSIFIER, "--wrt", "K1_1_1_1_1", "--draw", draw).exit_code == 0
    assert draw.read_text().count('class="node') >= 16 + 18 + 8


def test_a_candidate_that_forgets_the_relu_before_max_pooling_is_rejected():
    # relu then max pooling ties the window at 0 wherever all its z are negative: those points must count
    text = ("inputs: {I: {shape: [3, 3]}}\nlayers:\n  - {conv: {kernel: 2}, activation: relu}\n"
            "  - {pool: {type: max, size: 2}}\n  - {units: 1, bias: false}\n"
            "loss: {type: half_squared_error, target: y}\n"
            "at: {I: [[1, 2, 0], [0, 1, -1], [2, 0, 1]], K1: [[0.5, -0.2], [0.1, 0.3]], b1: [0.1], W3: [[0.7]], "
            "y: 1}\n")
    net = derivator.loads(text)
    r = derivator.report(net, "b1_1", candidate="(a3_1 - y)*W3_1_1")
    assert not r.candidate.agrees


# -- errors ----------------------------------------------------------------------------------------------

BAD = [
    ("inputs: [x]\nlayers:\n  - {conv: {kernel: 2}}\n", 3, 5, "reads a grid"),
    ("inputs: {I: {shape: [3, 3]}}\nlayers:\n  - {conv: {kernel: 4}}\n", 3, 21, "larger than its input"),
    ("inputs: {I: {shape: [3, 0]}}\nlayers:\n  - {units: 1}\n", 1, 21, "whole numbers of at least 1, not [3, 0]"),
    ("inputs: {I: {shape: [3, 3]}}\nlayers:\n  - {pool: {type: median, size: 2}}\n", 3, 19, "unknown pooling type"),
    ("inputs: {I: {shape: [3, 3]}}\nlayers:\n  - {conv: {kernel: [2, 2, 2]}}\n", 3, 21, "2-D grid"),
    ("inputs: {I: {shape: [3, 3]}}\nlayers:\n  - {conv: {kernel: 2, padding: 2}}\n", 3, 33, "smaller than its window"),
    ("inputs: {I: {shape: [40, 40]}}\nlayers:\n  - {conv: {kernel: 3, filters: 100000000}}\n", 3, 5,
     "larger than 5,000 nodes"),
    ("inputs: {I: {shape: [2, 2]}}\nlayers:\n  - {conv: {kernel: 2}}\n  - {units: 1}\nat: {I: [[1, 2]]}\n", 5, 9,
     "'I' must be a list of 2 lists, not 1 item"),
    ("inputs: {I: {shape: [2, 2]}}\nlayers:\n  - {conv: {kernel: 2}, units: 3}\n", 3, 25,
     "unit count comes from its filters"),
]


@pytest.mark.parametrize(("text", "line", "col", "words"), BAD, ids=[b[3] for b in BAD])
def test_a_bad_conv_file_is_one_positioned_error(text, line, col, words):
    with pytest.raises(DerivatorError) as e:
        derivator.loads(text)
    assert words in e.value.message and (e.value.line, e.value.col) == (line, col), (e.value.message, e.value.line,
                                                                                       e.value.col)
