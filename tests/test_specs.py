"""Every file in specs/ is loaded, derived by every name it has, and checked three ways:
against a numerical derivative (--check), against an independent autograd engine
(tests/refengine.py), and its JSON keys against CONTRACT section 3. A new example is a new test."""

import json
import math
from pathlib import Path

import pytest
from refengine import evaluate_batch
from ruamel.yaml import YAML

import derivator
from derivator.numbers.checking import point
from tests.conftest import SPEC_FORMULAS

SPECS = sorted((Path(__file__).resolve().parent.parent / "specs").glob("*.yaml"))
FORMULAS = SPEC_FORMULAS


def names_of(net, spec):
    """Every name to differentiate by; a formula node (CONTRACT section 4) has no z_NODE."""
    formula_nodes = {n for n, body in (spec.get("nodes") or {}).items() if "formula" in body}
    return [*net.inputs, *net.params, *net.nodes,  # through time, h@2 is a copy of the file's node h
            *("z_" + n for n in net.nodes if n.split("@")[0] not in formula_nodes)]


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_every_derivative_checks_and_matches_the_reference_engine(path):
    net = derivator.load(path)
    spec = YAML(typ="safe").load(path.read_text())
    values = point(net)
    of = "loss" if net.loss else None
    _, reference = evaluate_batch(spec, values, of=of, formulas=FORMULAS)
    # With data, inputs and nodes take a value per sample: only the parameters have one derivative.
    for name in net.params if net.samples else names_of(net, spec):
        r = derivator.report(net, name, check=True)
        assert r.check.agrees, (name, r.value, r.check.numeric)
        expected = reference[name]
        assert math.isclose(r.value, expected, rel_tol=1e-9, abs_tol=1e-12), (name, r.value, expected)


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_json_has_the_contract_keys(path):
    from derivator.render.jsonout import render_json

    net = derivator.load(path)
    wrt = (net.params or net.inputs)[0]  # a computational graph may have inputs only
    r = derivator.report(net, wrt, check=True)
    out = json.loads(render_json(r))
    assert {"of", "wrt", "derivative", "in_node_values", "deltas", "at", "value", "check"} <= set(out)
    assert out["wrt"] == wrt
    assert out["of"] == ("loss" if net.loss else net.outputs[0])
    assert set(out["check"]) >= {"numeric", "relative_error", "agrees"}
    assert out["value"] == r.value


def test_specs_cover_every_story_with_a_file():
    stems = {p.name.split("_")[0] for p in SPECS}
    assert {"story1", "story2", "story4", "story5"} <= stems
