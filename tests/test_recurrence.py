"""Recurrence (CONTRACT section 6): delayed edges, `steps:`, names at a step, back-propagation through time.

1. Every parameter's gradient of every recurrent network (the specs, variants, and random small RNNs)
   against the reference engine on a network unrolled by the test itself (tests/refunroll.py, written
   from the contract, sharing no code with derivator's unroller), to 1e-9 relative.
2. The Elman RNN of the contract, step by step: no published numbers for this exact network were at
   hand, so its hidden states, outputs, loss and BPTT gradients are computed here by hand, with plain
   Python loops over the steps, and compared with what derive prints and returns.
3. The matrix form through time against the element-by-element derivatives and the reference engine.
4. The derivation written through time: the recursion once, at step t, the result as a sum over the
   steps, and the tables; names with @ in every place the contract uses them.
5. Bad files: a cycle without a delay (its path), a delay other than 1, a delay without steps, a
   per-step list of the wrong length, ... each one positioned line, exit 2.
"""

import json
import math
import random
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from refengine import evaluate_batch
from refunroll import unroll
from ruamel.yaml import YAML

import derivator
from derivator.cli import derive
from derivator.numbers.checking import point
from tests.conftest import SPECS

ELMAN, GRU, LAYERS = SPECS / "elman_rnn.yaml", SPECS / "gru_cell.yaml", SPECS / "rnn_layers.yaml"
REL = 1e-9


def run(*args):
    return CliRunner().invoke(derive, [str(a) for a in args])


def close(a: float, b: float, rel: float = REL) -> bool:
    return abs(a - b) <= 1e-13 or abs(a - b) <= rel * max(abs(a), abs(b))


def spec_of(path: Path) -> dict:
    return YAML(typ="safe").load(path.read_text())


def write(tmp_path: Path, spec: dict | str) -> Path:
    path = tmp_path / "net.yaml"
    path.write_text(spec if isinstance(spec, str) else json.dumps(spec, indent=1))  # JSON text is YAML 1.2
    return path


def elman(**changes) -> dict:
    spec = spec_of(ELMAN)
    spec.update(changes)
    return spec


# -- 1. BPTT against an independent engine ----------------------------------------------------------
def assert_matches_reference(spec: dict, tmp_path: Path) -> None:
    net = derivator.loads(json.dumps(spec))
    g = derivator.gradient(net)
    target, reference = evaluate_batch(spec, {}, of="loss" if spec.get("loss") else None)
    assert close(g.target, target), (g.target, target)
    for row in g.rows:
        assert close(row.value, reference[row.name]), (row.name, row.value, reference[row.name])
    assert {r.name for r in g.rows} == {n for n in reference if "@" not in n and not n.startswith("z_")
                                        and n not in spec.get("nodes", {})} - set(spec.get("inputs", []))


@pytest.mark.parametrize("path", [ELMAN, GRU, LAYERS], ids=lambda p: p.name)
def test_every_parameter_matches_the_reference_engine(path, tmp_path):
    assert_matches_reference(spec_of(path), tmp_path)


@pytest.mark.parametrize("path", [ELMAN, GRU], ids=lambda p: p.name)
def test_every_name_at_every_step_matches_the_reference_engine(path):
    """Inputs x@t, the initial state h@0, nodes h@t and pre-activations z_h@t, one derivative each."""
    net = derivator.load(path)
    _, reference = evaluate_batch(spec_of(path), point(net), of="loss")
    formula = {n for n, body in spec_of(path)["nodes"].items() if "formula" in body}
    names = [*net.inputs, *net.nodes, *(f"z_{n}" for n in net.nodes if n.split("@")[0] not in formula)]
    for name in names:
        r = derivator.report(net, name, check=True)
        assert r.check.agrees, (name, r.value, r.check.numeric)
        assert close(r.value, reference[name]), (name, r.value, reference[name])


def test_the_loss_of_the_last_step_only(tmp_path):
    spec = elman(loss={"type": "half_squared_error", "target": "t", "steps": "last"})
    assert_matches_reference(spec, tmp_path)
    net = derivator.loads(json.dumps(spec))
    assert net.outputs == ["y@3"] and "y@1" not in net.nodes  # y@1, y@2 reach no loss: not part of it
    text = run(write(tmp_path, spec), "--wrt", "Whh").stdout
    assert "δ_h@t = (1 - h@t²)(Whh δ_h@t+1 + Why δ_y@t)" in text
    assert "δ_y@2 = δ_y@1 = 0, not on a path to the target" in text


@pytest.mark.parametrize("seed", range(12))
def test_random_small_rnns_match_the_reference_engine(seed, tmp_path):
    rng = random.Random(seed)
    steps, hidden = rng.randint(1, 4), rng.randint(1, 3)
    acts = ["tanh", "sigmoid", "identity", "softplus"]
    nodes = {f"h{i}": {"activation": rng.choice(acts), "bias": f"b{i}"} for i in range(hidden)}
    nodes["y"] = {"activation": rng.choice(["identity", "sigmoid"])}
    edges = [["x", f"h{i}", f"w{i}"] for i in range(hidden)] + [[f"h{i}", "y", f"v{i}"] for i in range(hidden)]
    edges += [{"from": f"h{i}", "to": f"h{j}", "weight": f"u{i}{j}", "delay": 1}
              for i in range(hidden) for j in range(hidden) if rng.random() < 0.7]
    spec = {"inputs": ["x"], "steps": steps, "nodes": nodes, "edges": edges, "output": "y",
            "loss": {"type": "squared_error", "target": "t", "steps": rng.choice(["all", "last"])}}
    params = {p for e in edges for p in ([e[2]] if isinstance(e, list) else [e["weight"]])} | \
        {f"b{i}" for i in range(hidden)}
    at = {p: round(rng.uniform(-1.2, 1.2), 3) for p in sorted(params)}
    at.update(x=[round(rng.uniform(-2, 2), 2) for _ in range(steps)], t=[round(rng.uniform(-1, 1), 2)
                                                                          for _ in range(steps)])
    if rng.random() < 0.5:  # a given initial state, for a node a delayed edge reads
        read = sorted({e["from"] for e in edges if isinstance(e, dict)})
        if read:
            at[f"{read[0]}@0"] = 0.3
    spec["at"] = at
    assert_matches_reference(spec, tmp_path)


def test_the_test_unroller_is_the_contract_s():
    """The oracle itself: names per step, delayed edges from the step before, h__0 an input at 0."""
    plain, back = unroll(spec_of(ELMAN))
    assert plain["inputs"] == ["h__0", "x__1", "x__2", "x__3"]
    assert ["h__0", "h__1", "Whh"] in plain["edges"] and ["h__2", "y__2", "Why"] in plain["edges"]
    assert plain["output"] == ["y__1", "y__2", "y__3"] and plain["loss"]["target"] == ["t__1", "t__2", "t__3"]
    assert plain["at"]["h__0"] == 0.0 and plain["at"]["x__2"] == 1.0 and back["h__2"] == "h@2"


# -- 2. the Elman RNN by hand -------------------------------------------------------------------------
def by_hand(x, t, Wxh, Whh, bh, Why, by, h0=0.0):
    """The forward pass and BPTT with plain loops: h_t = tanh(Wxh x_t + Whh h_{t-1} + bh), y_t = Why h_t + by,
    L = Σ_t (y_t - t_t)²/2."""
    h, y = [h0], []
    for xt in x:
        h.append(math.tanh(Wxh * xt + Whh * h[-1] + bh))
        y.append(Why * h[-1] + by)
    loss = sum((yt - tt) ** 2 / 2 for yt, tt in zip(y, t, strict=True))
    grads = dict.fromkeys(["Wxh", "Whh", "bh", "Why", "by"], 0.0)
    dh_next, deltas = 0.0, {}
    for i in range(len(x), 0, -1):
        dy = y[i - 1] - t[i - 1]
        dh = (1 - h[i] ** 2) * (Why * dy + Whh * dh_next)
        deltas[i] = (dy, dh)
        grads["Why"] += dy * h[i]
        grads["by"] += dy
        grads["Wxh"] += dh * x[i - 1]
        grads["Whh"] += dh * h[i - 1]
        grads["bh"] += dh
        dh_next = dh
    return h, y, loss, grads, deltas


POINT = {"x": [0.5, 1.0, 1.5], "t": [0.5, 0.8, 1.0], "Wxh": 0.8, "Whh": 0.5, "bh": 0.1, "Why": 1.0, "by": 0.2}


def test_elman_states_outputs_and_gradients_at_every_step():
    h, y, loss, grads, deltas = by_hand(**POINT)
    out = json.loads(run(ELMAN, "--wrt", "Whh", "--format", "json", "--check").stdout)
    for step in (1, 2, 3):
        assert close(out["forward"][f"h@{step}"], h[step], 1e-13)
        assert close(out["forward"][f"y@{step}"], y[step - 1], 1e-13)
        assert close(out["delta_values"][f"h@{step}"], deltas[step][1], 1e-13)
    assert close(out["forward"]["loss"], loss, 1e-13)
    assert close(out["value"], grads["Whh"], 1e-13) and out["check"]["agrees"]
    g = derivator.gradient(derivator.load(ELMAN))
    for row in g.rows:
        assert close(row.value, grads[row.name], 1e-13), (row.name, row.value, grads[row.name])
    # The tables of the derivation through time hold the same numbers, step by step.
    tables = out["through_time"]["tables"]
    assert tables["forward"]["columns"] == ["x@t", "z_h@t", "h@t", "z_y@t", "y@t", "t@t"]
    assert [row[2] for row in tables["forward"]["values"]] == pytest.approx(h, rel=1e-13)
    assert tables["result"]["values"][-1][-1] == pytest.approx(grads["Whh"], rel=1e-13)


def test_elman_with_an_initial_state_and_one_step_set_on_the_command_line():
    h, _, _, grads, _ = by_hand(**{**POINT, "x": [0.5, 0.7, 1.5]}, h0=0.25)
    out = json.loads(run(ELMAN, "--wrt", "Whh", "--at", "x@2=0.7", "--at", "h@0=0.25", "--format", "json").stdout)
    assert close(out["value"], grads["Whh"], 1e-13) and close(out["forward"]["h@3"], h[3], 1e-13)
    assert out["at"]["h@0"] == 0.25


# -- 3. the matrix form through time ------------------------------------------------------------------
@pytest.mark.parametrize("name", ["U1", "W1", "b1", "W2", "b2"])
def test_matrix_form_through_time_matches_element_by_element(name):
    net = derivator.load(LAYERS)
    f = derivator.matrix_form(net, name, check=True)
    assert f.agrees and f.largest_difference < 1e-12 and all(c.agrees for c in f.checks)
    _, reference = evaluate_batch(spec_of(LAYERS), {}, of="loss")
    for names, values in zip(f.entries, f.values, strict=True):
        for entry, v in zip(names, values, strict=True):
            assert close(v, reference[entry]), (entry, v, reference[entry])


def test_matrix_form_through_time_is_the_course_form():
    text = run(LAYERS, "--wrt", "U1", "--matrix").stdout
    assert "Z[1]⟨t⟩ = W[1] A[0]⟨t⟩ + U[1] A[1]⟨t-1⟩ + b[1]" in text
    assert "dZ[1]⟨t⟩ = (W[2]ᵀ dZ[2]⟨t⟩ + U[1]ᵀ dZ[1]⟨t+1⟩) ⊙ (1 - A[1]⟨t⟩ ⊙ A[1]⟨t⟩)" in text
    assert "∂J/∂U[1] = (1/m) Σ_t dZ[1]⟨t⟩ A[1]⟨t-1⟩ᵀ" in text
    assert "Element by element: agrees" in text
    latex = run(LAYERS, "--wrt", "U1", "--matrix", "--format", "latex").stdout
    assert r"\sum_{t=1}^{3} dZ^{[1]\langle t\rangle} {A^{[1]\langle t-1\rangle}}^{T}" in latex


def test_matrix_form_with_the_last_step_only(tmp_path):
    spec = spec_of(LAYERS)
    spec["loss"]["steps"] = "last"
    for sample in spec["data"]:
        sample["y"] = sample["y"][-1]  # the one step the loss reads may be a single number
    path = write(tmp_path, spec)
    r = run(path, "--wrt", "U1", "--matrix", "--check")
    assert r.exit_code == 0, r.output
    assert "the loss reads the last step, so dZ[2]⟨t⟩ = 0 before it" in r.stdout
    f = derivator.matrix_form(derivator.load(path), "W1")
    _, reference = evaluate_batch(spec, {}, of="loss")
    assert f.agrees and close(f.values[0][1], reference["W1_1_2"])


# -- 4. the derivation through time, and names with @ -------------------------------------------------
def test_text_writes_the_recursion_once_and_the_result_as_a_sum():
    text = run(ELMAN, "--wrt", "Whh").stdout
    assert text.count("δ_h@t = (1 - h@t²)(Why δ_y@t + Whh δ_h@t+1)    (δ_h@4 = 0: there is no step 4)") == 1
    assert "  ∂loss/∂Whh = Σ_t δ_h@t h@t-1    (chain rule)\n             = δ_h@1 h@0 + δ_h@2 h@1 + δ_h@3 h@2" in text
    assert "z_h@t = Wxh x@t + Whh h@t-1 + bh" in text and "loss = Σ_t (-t@t + y@t)²/2" in text
    assert "δ_h@2 =" not in text and "z_h@2 =" not in text  # no copy per step
    assert "    3  0.0168356679  0.811381247  0.0136601452" in text  # each step's term δ_h@3 h@2


def test_latex_and_markdown_write_steps_as_superscripts():
    latex = run(ELMAN, "--wrt", "Whh", "--format", "latex").stdout
    assert r"\frac{\partial \mathcal{L}}{\partial \mathrm{Whh}} &= \sum_{t=1}^{3} \delta_{h}^{\langle t\rangle} " \
           r"h^{\langle t-1\rangle}" in latex
    assert r"\begin{array}" in latex
    md = run(ELMAN, "--wrt", "Whh", "--format", "markdown").stdout
    assert r"\delta_{h}^{\langle t+1\rangle}" in md and "$$" in md


def test_names_at_a_step_in_every_place_the_contract_uses_them():
    net = derivator.load(ELMAN)
    _, reference = evaluate_batch(spec_of(ELMAN), point(net), of="loss")
    out = json.loads(run(ELMAN, "--wrt", "z_h@2", "--format", "json").stdout)
    assert close(out["value"], reference["z_h@2"])
    assert out["in_node_values"]["text"] == "((-t__2 + y__2)*Why + (-t__3 + y__3)*Why*(1 - h__3**2)*Whh)*(1 - h__2**2)"
    _, of_y3 = evaluate_batch(spec_of(ELMAN), point(net), of="y@3")
    out = json.loads(run(ELMAN, "--wrt", "h@1", "--of", "y@3", "--format", "json").stdout)
    assert close(out["value"], of_y3["h@1"])


def test_a_candidate_may_name_steps():
    right = "(y@1-t@1)*h@1 + (y@2-t@2)*h@2 + (y@3-t@3)*h@3"
    assert run(ELMAN, "--wrt", "Why", "--candidate", right).exit_code == 0
    r = run(ELMAN, "--wrt", "Whh", "--candidate", "(1-h@3^2)*(y@3-t@3)*Why*h@2")  # the last step alone
    assert r.exit_code == 1 and "is missing" in r.stdout
    r = run(ELMAN, "--wrt", "Whh", "--candidate", "h@2 + q@3")
    assert r.exit_code == 2 and "unknown name 'q@3'" in r.stderr and "(column 7)" in r.stderr


def test_generated_module_takes_names_at_a_step(tmp_path):
    source = run(ELMAN, "--wrt", "all", "--format", "python").stdout
    namespace: dict = {}
    exec(compile(source, "grad.py", "exec"), namespace)  # the generated module, which imports only math
    values = {"x@1": 0.5, "x@2": 1.0, "x@3": 1.5, "t@1": 0.5, "t@2": 0.8, "t@3": 1.0, "h@0": 0.0,
              "Wxh": 0.8, "Whh": 0.5, "bh": 0.1, "Why": 1.0, "by": 0.2}
    _, _, loss, grads, _ = by_hand(**POINT)
    out = namespace["gradient"](values)
    assert close(out["target"], loss, 1e-13) and all(close(out[n], g, 1e-13) for n, g in grads.items())


def test_draw_shows_the_folded_network_with_the_delay_marked(tmp_path):
    svg = tmp_path / "net.svg"
    assert run(ELMAN, "--wrt", "Whh", "--draw", svg).exit_code == 0
    text = svg.read_text()
    assert '<path class="edge delay path" data-from="h" data-to="h"' in text and "Whh (delay 1)" in text
    assert 'data-name="h"' in text and "h@1" not in text
    assert '<line class="edge" data-from="x" data-to="h"' in text  # Wxh: not on a path from Whh


def test_draw_unrolled_shows_every_step_in_its_own_columns(tmp_path):
    svg = tmp_path / "net.svg"
    assert run(ELMAN, "--wrt", "Whh", "--draw", svg, "--unrolled").exit_code == 0
    text = svg.read_text()
    assert all(f'data-name="{n}@{t}"' in text for n in "hxy" for t in (1, 2, 3)) and 'data-name="h@0"' in text
    assert "delay 1" not in text  # unrolled, h@1 -> h@2 is an edge like any other
    # the steps left to right: h@1's circle before h@2's before h@3's
    xs = [float(re.search(rf'data-name="h@{t}"[^>]*cx="([0-9.]+)"', text).group(1)) for t in (1, 2, 3)]
    assert xs == sorted(xs) and len(set(xs)) == 3
    r = run(ELMAN, "--wrt", "Whh", "--unrolled")
    assert r.exit_code == 2 and "--unrolled goes with --draw" in r.stderr


# -- 5. bad files ----------------------------------------------------------------------------------------
CYCLE = """\
inputs: [x]
steps: 2
nodes:
  h: {activation: tanh}
  g: {activation: tanh}
  y: {}
edges:
  - [x, h, a]
  - [h, g, b]
  - [g, h, c]
  - [g, y, d]
output: y
"""


def test_a_cycle_without_a_delay_is_refused_with_its_path(tmp_path):
    r = run(write(tmp_path, CYCLE), "--wrt", "a")
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr == f"{tmp_path / 'net.yaml'}:9:5: error: cycle h -> g -> h\n"
    delayed = CYCLE.replace("  - [g, h, c]", "  - {from: g, to: h, weight: c, delay: 1}")
    assert run(write(tmp_path, delayed), "--wrt", "c", "--at", "x@1=1", "--at", "x@2=2", "--at", "a=1",
               "--at", "b=1", "--at", "c=1", "--at", "d=1", "--of", "y@2", "--check").exit_code == 0


@pytest.mark.parametrize("old, new, where, message", [
    ("delay: 1}", "delay: 2}", "9:42", "the delay of edge h -> h must be 1 (the previous step), not 2"),
    ("steps: 3", "", "9:42", "edge h -> h has a delay: give 'steps:', the number of steps to unroll over"),
    ("x: [0.5, 1.0, 1.5]", "x: [0.5, 1.0]", "13:9", "'x' takes one value per step: a list of 3 numbers, not 2 items"),
    ("t: [0.5, 0.8, 1.0]", "t: 0.5", "13:29", "'t' takes one value per step: a list of 3 numbers, not 0.5"),
    ("steps: 3", "steps: 0", "3:8", "'steps' must be a whole number of at least 1, not 0"),
    ("steps: all}", "steps: every}", "12:52", "unknown loss steps 'every'; known: all, last"),
    ("Whh: 0.5,", "Whh: 0.5, x@4: 1,", "13:61", "unknown name in 'at' 'x@4'; did you mean 'x@3'?"),
    ("Why", "h__1", "10:12", "'h__1' is how code writes h@1 (the network unrolled through time)"),
    ("loss: {type: half_squared_error,", "loss: {type: cross_entropy,", "12:7",
     "cross_entropy takes one softmax over all the outputs"),
])
def test_errors_are_one_positioned_line(tmp_path, old, new, where, message):
    text = ELMAN.read_text()
    assert old in text
    path = write(tmp_path, text.replace(old, new, 1 if old != "Why" else -1))
    r = run(path, "--wrt", "Whh")
    assert r.exit_code == 2 and r.stdout == "", r.output
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{path}:{where}: error: {message}"), lines


@pytest.mark.parametrize("edit, where, message", [
    (("steps: 3\n", ""), "4:34", "layer 1 is recurrent: give 'steps:'"),
    (("recurrent: true", "recurrent: 1"), "5:45", "'recurrent' of layer 1 is true"),
    (("{units: 1, activation: sigmoid}", "{units: 1, activation: sigmoid, recurrent: true}"), None,
     "--matrix through time: the output layer is recurrent"),
])
def test_layer_errors(tmp_path, edit, where, message):
    path = write(tmp_path, LAYERS.read_text().replace(*edit))
    r = run(path, "--wrt", "U1", "--matrix", "--at", "U2_1_1=0.1")
    assert r.exit_code == 2, r.output
    prefix = f"{path}:{where}: error: " if where else f"{path}: error: "
    assert r.stderr.startswith(prefix + message), r.stderr


def test_loss_steps_need_a_file_with_steps(tmp_path):
    text = (SPECS / "story5_tanh_squared_error.yaml").read_text()
    assert "loss: {" in text or "loss:" in text
    spec = spec_of(SPECS / "story5_tanh_squared_error.yaml")
    spec["loss"]["steps"] = "all"
    r = run(write(tmp_path, spec), "--wrt", spec["edges"][0][2] if isinstance(spec["edges"][0], list) else "w")
    assert r.exit_code == 2 and "'steps' in the loss applies to a file with 'steps:'" in r.stderr
