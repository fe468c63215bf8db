"""`layers:` + `data:` + `--matrix` (CONTRACT section 1 "Layers and batches", section 3 `matrix`).

The CLI runs on YAML files written to tmp_path; every number is compared with the independent
reference engine (tests/refengine.py: `expand_layers`, `evaluate_batch`), which averages the
per-sample derivatives, J = (1/m) * sum of the loss. Then the text and LaTeX forms of the matrix
result, and the shape errors of layer files (exit 2, one line `FILE:LINE:COL: error: MESSAGE`).

The hypothesis part is derandomized like tests/test_random_networks.py (DERIVATOR_PROPERTY_SCALE and
DERIVATOR_PROPERTY_SEED work the same way).
"""

from __future__ import annotations

import json
import math
import os

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from derivator.cli import derive

try:
    from refengine import evaluate_batch
except ImportError:  # tests/ collected as a package
    from tests.refengine import evaluate_batch

REL, ABS = 1e-7, 1e-11
SCALE = float(os.environ.get("DERIVATOR_PROPERTY_SCALE", "1"))
SEED = os.environ.get("DERIVATOR_PROPERTY_SEED")
TRANSPOSE_LATEX = ("^T", "^{T}", "^\\top", "^{\\top}", "\\mathsf{T}")


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL, abs_tol=ABS)


def run(path, *args):
    return CliRunner().invoke(derive, [str(path), *args])


def write(tmp_path, text: str, name: str = "net.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def json_of(path, *args) -> dict:
    r = run(path, *args, "--format", "json")
    assert r.exit_code == 0, (args, r.stderr, r.output)
    return json.loads(r.stdout)


def shape(spec: dict) -> list[tuple[int, int, bool]]:
    """(rows, columns, has bias) of each layer's W, from the spec alone."""
    out, columns = [], len(spec["inputs"])
    for layer in spec["layers"]:
        out.append((layer["units"], columns, layer.get("bias", True)))
        columns = layer["units"]
    return out


def expected_matrix(grads: dict, name: str, rows: int, columns: int | None) -> list[list[float]]:
    """The reference derivatives laid out like the matrix (a bias vector is a column: [[v1], [v2]])."""
    if columns is None:
        return [[grads[f"{name}_{j}"]] for j in range(1, rows + 1)]
    return [[grads[f"{name}_{j}_{k}"] for k in range(1, columns + 1)] for j in range(1, rows + 1)]


def assert_matrix(matrix: dict, name: str, expected: list[list[float]], context: str = "") -> None:
    assert matrix["name"] == name, (matrix, context)
    assert matrix["shape"] == [len(expected), len(expected[0])], (matrix["shape"], context)
    values = matrix["values"]
    assert [len(row) for row in values] == [len(row) for row in expected], (values, context)
    for j, (row, want) in enumerate(zip(values, expected, strict=True), start=1):
        for k, (got, ref) in enumerate(zip(row, want, strict=True), start=1):
            assert close(got, ref), (f"{name}[{j}][{k}]", got, ref, context)
    assert isinstance(matrix["latex"], str) and matrix["latex"].strip(), (matrix, context)


def check_every_layer(path, spec: dict, context: str = "") -> None:
    """`--wrt Wl --matrix` and `--wrt bl --matrix` for every layer, against the reference engine."""
    _, grads = evaluate_batch(spec, {})
    for l, (rows, columns, bias) in enumerate(shape(spec), start=1):
        out = json_of(path, "--wrt", f"W{l}", "--matrix")
        assert_matrix(out["matrix"], f"W{l}", expected_matrix(grads, f"W{l}", rows, columns), context)
        if bias:
            out = json_of(path, "--wrt", f"b{l}", "--matrix")
            assert_matrix(out["matrix"], f"b{l}", expected_matrix(grads, f"b{l}", rows, None), context)


# -- the acceptance cases -------------------------------------------------------------------------
# (a) 2 inputs, 3 sigmoid units, 1 sigmoid output, binary cross-entropy, 4 samples.
CASE_A = """\
description: 2 inputs, 3 sigmoid units, a sigmoid output, binary cross-entropy over 4 samples
inputs: [x1, x2]
layers:
  - {units: 3, activation: sigmoid}
  - {units: 1, activation: sigmoid}
loss: {type: binary_cross_entropy, target: y}
data:
  - {x1: 0.5, x2: -1.0, y: 1}
  - {x1: -0.3, x2: 0.8, y: 0}
  - {x1: 1.2, x2: 0.1, y: 1}
  - {x1: -0.7, x2: -0.4, y: 0}
at:
  W1: [[0.1, -0.2], [0.4, 0.3], [-0.5, 0.2]]
  b1: [0.0, 0.1, -0.1]
  W2: [[0.3, -0.6, 0.2]]
  b2: [0.05]
"""
# (b) a tanh hidden layer of 4 units, a 3-unit identity output, softmax cross-entropy, one-hot, 5 samples.
CASE_B = """\
description: tanh hidden layer, three logits, softmax cross-entropy over 5 one-hot samples
inputs: [x1, x2, x3]
layers:
  - {units: 4, activation: tanh}
  - {units: 3, activation: identity}
loss: {type: cross_entropy, target: [y1, y2, y3]}
data:
  - {x1: 0.2, x2: -0.5, x3: 0.9, y1: 1, y2: 0, y3: 0}
  - {x1: -1.1, x2: 0.3, x3: 0.4, y1: 0, y2: 1, y3: 0}
  - {x1: 0.7, x2: 0.8, x3: -0.6, y1: 0, y2: 0, y3: 1}
  - {x1: -0.2, x2: -0.9, x3: -0.3, y1: 0, y2: 1, y3: 0}
  - {x1: 0.5, x2: 0.05, x3: 1.3, y1: 1, y2: 0, y3: 0}
at:
  W1: [[0.3, -0.1, 0.25], [-0.4, 0.6, 0.1], [0.15, 0.2, -0.5], [0.05, -0.35, 0.45]]
  b1: [0.1, -0.2, 0.0, 0.3]
  W2: [[0.5, -0.3, 0.2, 0.1], [-0.25, 0.4, 0.6, -0.15], [0.35, 0.1, -0.45, 0.2]]
  b2: [0.0, 0.1, -0.1]
"""
CASES = {"a-sigmoid-bce-4-samples": CASE_A, "b-tanh-softmax-5-samples": CASE_B}


def load(text: str) -> dict:
    return YAML(typ="safe").load(text)


@pytest.fixture(params=list(CASES), ids=list(CASES))
def case(request, tmp_path):
    text = CASES[request.param]
    return write(tmp_path, text), load(text)


def test_matrix_json_for_every_layer(case):
    path, spec = case
    check_every_layer(path, spec)


def test_one_entry_is_the_average_over_the_samples(case):
    path, spec = case
    _, grads = evaluate_batch(spec, {})
    for name in ("W1_2_1", "b1_2", "W2_1_2"):
        out = json_of(path, "--wrt", name)
        assert out["wrt"] == name and out["of"] == "loss"
        assert close(out["value"], grads[name]), (name, out["value"], grads[name])
        assert out["samples"] == len(spec["data"])


def test_whole_matrix_without_the_flag_gives_matrix_and_gradient(case):
    path, spec = case
    _, grads = evaluate_batch(spec, {})
    rows, columns, _ = shape(spec)[1]
    out = json_of(path, "--wrt", "W2")
    assert_matrix(out["matrix"], "W2", expected_matrix(grads, "W2", rows, columns))
    entries = {f"W2_{j}_{k}" for j in range(1, rows + 1) for k in range(1, columns + 1)}
    assert set(out["gradient"]) == entries
    for name in entries:
        assert close(out["gradient"][name], grads[name]), (name, out["gradient"][name], grads[name])


def test_matrix_text_and_latex_show_the_transpose_and_the_mean(case):
    path, _ = case
    for wrt in ("W1", "W2"):
        r = run(path, "--wrt", wrt, "--matrix")
        assert r.exit_code == 0, r.stderr
        assert "ᵀ" in r.stdout, r.stdout
        assert "1/m" in r.stdout, r.stdout
        r = run(path, "--wrt", wrt, "--matrix", "--format", "latex")
        assert r.exit_code == 0, r.stderr
        assert any(t in r.stdout for t in TRANSPOSE_LATEX), r.stdout
        assert "\\frac{1}{m}" in r.stdout, r.stdout


def test_at_on_the_command_line_overrides_one_entry_of_a_matrix(tmp_path):
    path, spec = write(tmp_path, CASE_A), load(CASE_A)
    _, grads = evaluate_batch(spec, {"W1_2_1": 0.9, "b2_1": -0.3})
    out = json_of(path, "--wrt", "W1", "--matrix", "--at", "W1_2_1=0.9", "--at", "b2_1=-0.3")
    assert_matrix(out["matrix"], "W1", expected_matrix(grads, "W1", 3, 2))


def test_layers_without_data_use_the_point(tmp_path):
    # No `data:`: inputs and targets come from `at` (here partly as scalar entries), no averaging.
    text = """\
inputs: [u, v]
layers:
  - {units: 2, activation: leaky_relu, slope: 0.2}
  - {units: 2, activation: softplus, bias: false}
loss: {type: half_squared_error, target: [t1, t2]}
at:
  u: 0.7
  v: -1.3
  t1: 0.25
  t2: -0.5
  W1: [[0.8, 0.1], [-0.6, 0.9]]
  b1_1: 0.05
  b1_2: -0.2
  W2: [[1.1, -0.4], [0.3, 0.6]]
"""
    path, spec = write(tmp_path, text), load(text)
    check_every_layer(path, spec)
    _, grads = evaluate_batch(spec, {})
    assert close(json_of(path, "--wrt", "W2_2_1")["value"], grads["W2_2_1"])


# -- random layer stacks --------------------------------------------------------------------------
ACTIVATIONS = ["sigmoid", "tanh", "identity", "softplus", "leaky_relu"]
LOSSES = ["squared_error", "half_squared_error", "binary_cross_entropy", "cross_entropy"]
INPUT_POOL = ["x1", "x2", "x3", "I", "E", "u"]
TARGET_POOL = ["y", "t", "y1", "y2", "y3", "target"]
UNIT = st.floats(-1.0, 1.0, allow_nan=False, allow_infinity=False).map(lambda v: round(v, 6))


@st.composite
def layer_stacks(draw) -> dict:
    """A `layers:` spec: 1-3 inputs, 1-3 dense layers of 1-3 units, a loss, 1-4 samples, a full `at`."""
    loss = draw(st.sampled_from(LOSSES))
    inputs = draw(st.lists(st.sampled_from(INPUT_POOL), min_size=1, max_size=3, unique=True))
    n_layers = draw(st.integers(1, 3))
    layers = []
    for l in range(1, n_layers + 1):
        last = l == n_layers
        units = draw(st.integers(2 if last and loss == "cross_entropy" else 1, 3))
        activation = draw(st.sampled_from(ACTIVATIONS))
        if last and loss == "binary_cross_entropy":
            activation = "sigmoid"
        if last and loss == "cross_entropy":
            activation = "identity"  # the logits
        layer: dict = {"units": units, "activation": activation}
        if activation == "leaky_relu" and draw(st.booleans()):
            layer["slope"] = draw(st.sampled_from([0.2, 0.05, 0.5]))
        bias = draw(st.sampled_from([None, True, False]))
        if bias is not None:
            layer["bias"] = bias
        layers.append(layer)
    outputs = layers[-1]["units"]
    targets = draw(st.lists(st.sampled_from(TARGET_POOL), min_size=outputs, max_size=outputs, unique=True))
    m = draw(st.integers(1, 4))
    data = []
    for _ in range(m):
        sample = {x: draw(UNIT) for x in inputs}
        if loss == "cross_entropy":
            hot = draw(st.integers(0, outputs - 1))
            ys = [1 if i == hot else 0 for i in range(outputs)]
        elif loss == "binary_cross_entropy":
            ys = [draw(st.sampled_from([0, 1])) for _ in range(outputs)]
        else:
            ys = [draw(UNIT) for _ in range(outputs)]
        sample.update(zip(targets, ys, strict=True))
        data.append(sample)
    at: dict = {}
    columns = len(inputs)
    for l, layer in enumerate(layers, start=1):
        rows = layer["units"]
        w = [[draw(UNIT) for _ in range(columns)] for _ in range(rows)]
        b = [draw(UNIT) for _ in range(rows)]
        whole = draw(st.booleans())  # the whole matrix, or one scalar entry per weight
        if whole:
            at[f"W{l}"] = w
        else:
            at.update({f"W{l}_{j}_{k}": w[j - 1][k - 1] for j in range(1, rows + 1) for k in range(1, columns + 1)})
        if layer.get("bias", True):
            if whole:
                at[f"b{l}"] = b
            else:
                at.update({f"b{l}_{j}": b[j - 1] for j in range(1, rows + 1)})
        columns = rows
    return {"description": "random layer stack from tests/test_layers.py", "inputs": inputs, "layers": layers,
            "loss": {"type": loss, "target": targets if outputs > 1 else targets[0]}, "data": data, "at": at}


def seeded(test):
    return seed(int(SEED))(test) if SEED is not None else test


@seeded
@settings(max_examples=max(1, round(15 * SCALE)), deadline=None, derandomize=SEED is None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(spec=layer_stacks(), pick=st.randoms(use_true_random=False))
def test_random_layer_stacks_match_the_reference_engine(tmp_path, spec, pick):
    text = json.dumps(spec, indent=1)  # JSON text is YAML 1.2
    path = write(tmp_path, text)
    context = "\nspec=" + json.dumps(spec)
    _, grads = evaluate_batch(spec, {})
    shapes = shape(spec)
    for l, (rows, columns, _) in enumerate(shapes, start=1):
        out = json_of(path, "--wrt", f"W{l}", "--matrix")
        assert_matrix(out["matrix"], f"W{l}", expected_matrix(grads, f"W{l}", rows, columns), context)
    with_bias = [l for l, (_, _, bias) in enumerate(shapes, start=1) if bias]
    if with_bias:
        l = pick.choice(with_bias)
        out = json_of(path, "--wrt", f"b{l}", "--matrix")
        assert_matrix(out["matrix"], f"b{l}", expected_matrix(grads, f"b{l}", shapes[l - 1][0], None), context)
    l = pick.randint(1, len(shapes))
    name = f"W{l}_{pick.randint(1, shapes[l - 1][0])}_{pick.randint(1, shapes[l - 1][1])}"
    out = json_of(path, "--wrt", name)
    assert close(out["value"], grads[name]), (name, out["value"], grads[name], context)
    assert out["samples"] == len(spec["data"])


# -- shape errors: exit 2, one line FILE:LINE:COL: error: MESSAGE -----------------------------------
BASE = """\
inputs: [x1, x2]
layers:
  - {units: 2, activation: sigmoid}
  - {units: 1, activation: sigmoid}
loss: {type: binary_cross_entropy, target: y}
data:
  - {x1: 0.5, x2: -1.0, y: 1}
  - {x1: -0.3, x2: 0.8, y: 0}
at:
  W1: [[0.1, -0.2], [0.4, 0.3]]
  b1: [0.0, 0.1]
  W2: [[0.3, -0.6]]
  b2: [0.05]
"""


def edit(old: str, new: str, text: str = BASE) -> str:
    assert text.count(old) == 1, f"test bug: {old!r} not once in the file"
    return text.replace(old, new, 1)


def position(text: str, needle: str, occurrence: int = 1) -> tuple[int, int]:
    """1-based (line, column) where `needle` starts in `text` (its n-th occurrence)."""
    at = -1
    for _ in range(occurrence):
        at = text.index(needle, at + 1)
    line = text.count("\n", 0, at) + 1
    return line, at - (text.rfind("\n", 0, at) + 1) + 1


def test_the_base_file_is_fine(tmp_path):
    path = write(tmp_path, BASE)
    assert run(path, "--wrt", "b2_1", "--format", "json").exit_code == 0


W1_ONE_ROW = edit("W1: [[0.1, -0.2], [0.4, 0.3]]", "W1: [[0.1, -0.2]]")
W1_ROW_3_COLUMNS = edit("[0.4, 0.3]]", "[0.4, 0.3, 0.7]]")
B1_TOO_LONG = edit("b1: [0.0, 0.1]", "b1: [0.0, 0.1, 0.2]")
SAMPLE_WITHOUT_X2 = edit("{x1: -0.3, x2: 0.8, y: 0}", "{x1: -0.3, y: 0}")
SAMPLE_UNKNOWN_KEY = edit("{x1: -0.3, x2: 0.8, y: 0}", "{x1: -0.3, x2: 0.8, y: 0, x3: 2}")
WITH_NODES = edit("loss:", "nodes: {h: {activation: sigmoid}}\nloss:")
UNITS_0 = edit("{units: 2,", "{units: 0,")

ERRORS = [  # (id, text, (line, column) or None, alternative lines)
    ("W1-wrong-rows", W1_ONE_ROW, position(W1_ONE_ROW, "[[0.1"), None),
    ("W1-row-wrong-columns", W1_ROW_3_COLUMNS, position(W1_ROW_3_COLUMNS, "[0.4"), None),
    ("b1-wrong-length", B1_TOO_LONG, position(B1_TOO_LONG, "[0.0, 0.1, 0.2]"), None),
    ("sample-missing-an-input", SAMPLE_WITHOUT_X2, position(SAMPLE_WITHOUT_X2, "{x1: -0.3"), None),
    ("sample-unknown-key", SAMPLE_UNKNOWN_KEY, position(SAMPLE_UNKNOWN_KEY, "x3: 2"), None),
    ("layers-and-nodes", WITH_NODES, None, {position(WITH_NODES, "layers:")[0], position(WITH_NODES, "nodes:")[0]}),
    ("units-0", UNITS_0, None, {position(UNITS_0, "units: 0")[0]}),
]


@pytest.mark.parametrize("text, where, lines", [pytest.param(*row[1:], id=row[0]) for row in ERRORS])
def test_shape_errors_are_one_line_with_the_position(tmp_path, text, where, lines):
    path = write(tmp_path, text)
    r = run(path, "--wrt", "b2_1", "--format", "json")
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    assert "Traceback" not in r.stderr + r.stdout
    assert r.exit_code == 2, (r.exit_code, r.stderr, r.stdout)
    assert r.stdout == ""
    assert r.stderr.endswith("\n") and r.stderr.count("\n") == 1, f"not one line: {r.stderr!r}"
    prefix = f"{path}:"
    assert r.stderr.startswith(prefix), r.stderr
    line, column, rest = r.stderr[len(prefix):].split(":", 2)
    assert rest.startswith(" error: ") and len(rest) > len(" error: \n"), r.stderr
    assert "internal error" not in r.stderr
    if where is not None:
        assert (int(line), int(column)) == where, r.stderr
    else:
        assert int(line) in lines and int(column) >= 1, r.stderr
