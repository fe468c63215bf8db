"""`--wrt all` and a whole matrix (`--wrt W2`): every parameter from one backward pass.

1. The JSON `gradient` and `target` equal the independent reference engine (tests/refengine.py) on every
   file in specs/ and on random networks (tests/netgen.py); `--check` agrees, and a planted wrong value
   makes it disagree (exit 1).
2. The text table for story 4: the exact rows, story 4's golden value, the recursion printed once.
3. `--wrt W2` without `--matrix`: exactly W2's entries, laid out 1x3.
4. Nothing is derived per parameter: `derive` runs once (or twice) for a network of 28 parameters.
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from ruamel.yaml import YAML

import derivator
import derivator.answers.gradient
from derivator.cli import derive
from tests.conftest import PROPERTY_SETTINGS, SPEC_FORMULAS, seeded

try:
    from netgen import FORMULAS as NET_FORMULAS
    from netgen import networks
    from refengine import evaluate, evaluate_batch
except ImportError:  # tests/ collected as a package
    from tests.netgen import FORMULAS as NET_FORMULAS
    from tests.netgen import networks
    from tests.refengine import evaluate, evaluate_batch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from networks import dense

SPECS_DIR = Path(__file__).resolve().parent.parent / "specs"
SPECS = sorted(SPECS_DIR.glob("*.yaml"))
STORY4 = str(SPECS_DIR / "story4_desmos_check.yaml")
STORY3 = str(SPECS_DIR / "story3_matrix_form.yaml")
FORMULAS = SPEC_FORMULAS
REL, ABS = 1e-9, 1e-12

COMMON = PROPERTY_SETTINGS



def run(*args):
    return CliRunner().invoke(derive, [str(a) for a in args])


def close(a: float, b: float, rel: float = REL, abs_: float = ABS) -> bool:
    return abs(a - b) <= abs_ or abs(a - b) <= rel * max(abs(a), abs(b))


def reference(path: Path) -> tuple[float, dict[str, float]]:
    spec = YAML(typ="safe").load(path.read_text())
    of = "loss" if "loss" in spec else None
    return evaluate_batch(spec, {}, of=of, formulas=FORMULAS)


# -- 1. JSON against the reference engine ---------------------------------------------------------
@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_json_gradient_matches_the_reference_engine(path):
    net = derivator.load(path)
    r = run(path, "--wrt", "all", "--format", "json")
    if not net.params:  # a computational graph with inputs only (CONTRACT section 4): nothing to list
        assert r.exit_code == 2 and "has no parameters" in r.stderr, r.output
        return
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    target, grads = reference(path)
    assert out["wrt"] == "all"
    assert list(out["gradient"]) == list(net.params)  # every parameter, in the file's order
    for name, value in out["gradient"].items():
        assert close(value, grads[name]), (name, value, grads[name])
    assert close(out["target"], target), (out["target"], target)
    assert "check" not in out
    assert "missing" not in out


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_check_agrees_on_every_spec(path):
    net = derivator.load(path)
    r = run(path, "--wrt", "all", "--check", "--format", "json")
    if not net.params:  # a computational graph with inputs only (CONTRACT section 4): nothing to list
        assert r.exit_code == 2 and "has no parameters" in r.stderr, r.output
        return
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["check"]["agrees"] is True
    assert out["check"]["relative_error"] < 1e-6
    assert set(out["check"]["numeric"]) == set(out["gradient"])
    for name, numeric in out["check"]["numeric"].items():
        assert close(numeric, out["gradient"][name], 1e-6, 1e-10), (name, numeric, out["gradient"][name])


@seeded
@settings(max_examples=15, **COMMON)
@given(networks())
def test_random_networks_json_gradient_matches_the_reference_engine(case):
    spec, of = case
    net = derivator.loads(json.dumps(spec))
    target, grads = evaluate(spec, {}, of=of, formulas=NET_FORMULAS)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "net.yaml"
        path.write_text(json.dumps(spec, indent=1))
        r = run(path, "--wrt", "all", "--of", of, "--format", "json", "--check")
    if not net.params:  # every weight and bias a number: nothing to list
        assert r.exit_code == 2
        assert r.stderr == (f"{path}: error: --wrt all: the network has no parameters "
                            "(weights and biases given by name)\n")
        return
    assert r.exit_code == 0, r.output + json.dumps(spec)
    out = json.loads(r.stdout)
    assert list(out["gradient"]) == list(net.params)
    for name, value in out["gradient"].items():
        assert close(value, grads.get(name, 0.0)), (name, value, grads.get(name), json.dumps(spec), of)
    assert close(out["target"], target), (out["target"], target, json.dumps(spec), of)
    assert out["check"]["agrees"] is True, out["check"]


def test_a_planted_wrong_value_disagrees(monkeypatch):
    import derivator.numbers.lean

    precise, solve = derivator.answers.gradient._precise, derivator.numbers.lean.solve

    def wrong(net, of, points):
        target, grads = precise(net, of, points)
        return target, {**grads, "w3": grads["w3"] * 1.01}

    def wrong_lean(net, of, points):
        solved = solve(net, of, points)
        solved.grads["w3"] *= 1.01
        return solved

    monkeypatch.setattr(derivator.answers.gradient, "_precise", wrong)  # both sweeps, general and lean
    monkeypatch.setattr(derivator.numbers.lean, "solve", wrong_lean)
    r = run(STORY4, "--wrt", "all", "--check")
    assert r.exit_code == 1, r.output
    assert "DISAGREES" in r.stdout
    r = run(STORY4, "--wrt", "all", "--check", "--format", "json")
    assert r.exit_code == 1
    out = json.loads(r.stdout)
    assert out["check"]["agrees"] is False
    # Without --check nothing compares, so nothing disagrees.
    assert run(STORY4, "--wrt", "all").exit_code == 0


def test_a_planted_wrong_sweep_disagrees(monkeypatch):
    import derivator.numbers.lean
    import derivator.numbers.sweep

    gradient, sweep = derivator.numbers.sweep.gradient, derivator.numbers.lean.Lean._sweep

    def wrong(net, of, values, precise=False):
        target, grads = gradient(net, of, values, precise)
        return target, {**grads, "w1": grads["w1"] * 4}  # the learner's answer in story 4

    def wrong_lean(self, *args):
        s = sweep(self, *args)
        s.grads["w1"] = s.grads["w1"] * 4
        return s

    monkeypatch.setattr(derivator.numbers.sweep, "gradient", wrong)  # the general sweep and the lean one
    monkeypatch.setattr(derivator.numbers.lean.Lean, "_sweep", wrong_lean)
    r = run(STORY4, "--wrt", "all", "--check")
    assert r.exit_code == 1, r.output
    assert "DISAGREES" in r.stdout
    assert "0.00571675240881889" in r.stdout


# -- 2. the text table ----------------------------------------------------------------------------
def test_story4_table_is_exact_and_the_recursion_is_printed_once():
    r = run(STORY4, "--wrt", "all")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert "  w1  δ_h1 I = O(1 - O)(w4 h2(1 - h2) w2 + w5 h3(1 - h3) w3) h1(1 - h1) I  0.00142918810220472" in lines
    assert ("  w4  δ_O h2 = O(1 - O) h2                                              0.0975683116747042"
            in lines)
    assert "0.0014291881022047" in r.stdout  # story 4's golden value
    # One backward pass for every row: each delta's recursion appears once.
    assert r.stdout.count("Backward pass") == 1
    assert lines.count("  δ_h1 = h1(1 - h1)(w2 δ_h2 + w3 δ_h3)") == 1
    assert r.stdout.count("δ_h1 = ") == 1
    assert r.stdout.count("δ_O = ") == 1
    rows = [line for line in lines if line.startswith("  w")]
    assert [row.split()[0] for row in rows] == ["w1", "w2", "w3", "w4", "w5"]
    assert "Values at I = 1, w1 = 0.5, w2 = 0.5, w3 = 0.5, w4 = 0.5, w5 = 0.5." in lines


def test_story4_table_with_check_says_all_agree():
    r = run(STORY4, "--wrt", "all", "--check")
    assert r.exit_code == 0, r.output
    assert "Check: all 5 agree with a numerical derivative" in r.stdout


def test_at_overrides_the_point_for_every_row():
    r = run(STORY4, "--wrt", "all", "--at", "w4=-1.5", "--format", "json")
    out = json.loads(r.stdout)
    target, grads = evaluate(YAML(typ="safe").load(Path(STORY4).read_text()), {"w4": -1.5})
    assert out["at"]["w4"] == -1.5
    assert close(out["target"], target)
    for name, value in out["gradient"].items():
        assert close(value, grads[name]), name


def test_an_incomplete_point_lists_what_is_missing(tmp_path):
    spec = tmp_path / "net.yaml"
    spec.write_text(Path(STORY4).read_text().split("\nat:")[0] + "\n")
    r = run(spec, "--wrt", "all", "--at", "I=1")
    assert r.exit_code == 0, r.output
    assert "Values: need w1, w2, w3, w4, w5 (give --at NAME=VALUE)" in r.stdout
    out = json.loads(run(spec, "--wrt", "all", "--format", "json").stdout)
    assert out["missing"] == ["I", "w1", "w2", "w3", "w4", "w5"]
    assert out["gradient"] == dict.fromkeys(["w1", "w2", "w3", "w4", "w5"])


@pytest.mark.parametrize("fmt", ["latex", "markdown"])
def test_latex_and_markdown_tables_carry_every_row(fmt):
    r = run(STORY4, "--wrt", "all", "--format", fmt)
    assert r.exit_code == 0, r.output
    for name in ("w_{1}", "w_{2}", "w_{3}", "w_{4}", "w_{5}"):
        assert rf"\partial {name}}}" in r.stdout, name
    assert "0.0014291881022" in r.stdout  # 12 digits


# -- 3. a whole matrix without --matrix ---------------------------------------------------------------
def test_wrt_a_whole_matrix_gives_exactly_its_entries():
    r = run(STORY3, "--wrt", "W2", "--format", "json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    _, grads = reference(Path(STORY3))
    assert list(out["gradient"]) == ["W2_1_1", "W2_1_2", "W2_1_3"]
    for name, value in out["gradient"].items():
        assert close(value, grads[name]), (name, value, grads[name])
    assert out["matrix"]["name"] == "W2"
    assert out["matrix"]["shape"] == [1, 3]
    assert out["matrix"]["values"] == [[out["gradient"][f"W2_1_{k}"] for k in (1, 2, 3)]]
    assert out["wrt"] == "W2"
    assert out["samples"] == 4


def test_wrt_a_whole_matrix_w1_is_laid_out_3x2():
    out = json.loads(run(STORY3, "--wrt", "W1", "--format", "json").stdout)
    _, grads = reference(Path(STORY3))
    assert out["matrix"]["shape"] == [3, 2]
    assert set(out["gradient"]) == {f"W1_{j}_{k}" for j in (1, 2, 3) for k in (1, 2)}
    for j in (1, 2, 3):
        for k in (1, 2):
            assert close(out["matrix"]["values"][j - 1][k - 1], grads[f"W1_{j}_{k}"])


# -- 4. nothing per parameter -------------------------------------------------------------------------
def counting(monkeypatch, module, name):
    calls = []
    original = getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(args[1] if len(args) > 1 else None)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def test_every_gradient_derives_once_not_per_parameter(monkeypatch):
    net = derivator.loads(dense(3, [3, 3, 1], "sigmoid", 0, "squared_error"))
    assert len(net.params) >= 20
    derives = counting(monkeypatch, derivator.answers.gradient, "derive")
    backwards = counting(monkeypatch, derivator.answers.gradient, "backward")
    g = derivator.answers.gradient.gradient(net)
    assert len(g.rows) == len(net.params)
    assert all(r.value is not None for r in g.rows)
    assert len(derives) <= 2, derives
    assert not backwards  # the numbers need no symbolic pass; the forms make it once, when read
    assert all(r.nested.factors for r in g.rows)
    assert len(backwards) == 1


def test_check_does_not_derive_per_parameter_when_the_sweep_agrees(monkeypatch):
    net = derivator.loads(dense(3, [3, 3, 1], "tanh", 1, "squared_error"))
    derives = counting(monkeypatch, derivator.answers.gradient, "derive")
    seen = []
    g = derivator.answers.gradient.gradient(net, check=True, progress=lambda done, total: seen.append((done, total)))
    assert not g.failed
    assert all(r.check is not None and r.check.agrees for r in g.rows)
    assert len(derives) <= 2, derives
    n = len(net.params)
    assert seen == [(i, n) for i in range(1, n + 1)]


def test_gradient_from_the_library_matches_the_reference_engine():
    text = dense(4, [4, 4, 1], "tanh", 3, "squared_error")
    net = derivator.loads(text)
    target, grads = evaluate(json.loads(text), {})
    g = derivator.gradient(net)
    assert close(g.target, target)
    assert g.missing == [] and not g.failed
    for r in g.rows:
        assert close(r.value, grads[r.name]), r.name
    assert math.isfinite(sum(r.value for r in g.rows))
