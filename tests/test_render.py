"""Rendering: golden text and LaTeX for the stories, documents that compile, Markdown, Desmos, caps."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sympy

import derivator
from derivator.graph.network import symbol
from derivator.render import render_desmos, render_json, render_latex, render_markdown, render_text
from derivator.render.desmos import desmos_names, sigmoid_name
from derivator.render.steps import MAX_NESTED_FACTORS
from derivator.symbolic.nested import ONE, Prod, Sum, total
from derivator.symbolic.printing import nested_code, nested_text, tex_name
from tests.conftest import SPECS, needs_pdflatex
from tests.golden import cases
from tests.hang import bounded

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from networks import dense

SPEC_FILES = sorted(SPECS.glob("*.yaml"))
GOLDEN = Path(__file__).resolve().parent / "golden"


def report(name, wrt, **kw):
    return derivator.report(derivator.load(SPECS / name), wrt, **kw)


# -- the teacher's nested form ----------------------------------------------------------------------
@pytest.mark.parametrize("spec, wrt, text", [
    ("story4_desmos_check.yaml", "w1", "O(1 - O)(w4 h2(1 - h2) w2 + w5 h3(1 - h3) w3) h1(1 - h1) I"),
    ("story5_tanh_squared_error.yaml", "z_x", "2(x - y)(1 - x²)"),  # the learner's own form
    ("story5_tanh_squared_error.yaml", "v1", "2(x - y)(1 - x²) v2(1 - h²) u"),
    ("story2_dag_delta.yaml", "w_au", "pred(1 - pred)(w_vp v(1 - v) w_uv + w_up) u(1 - u) a"),
    ("two_outputs_bce.yaml", "d1", "O1 - y1"),  # sigmoid with cross-entropy: exactly o - y
    ("tied_weights.yaml", "w", "(O - t) O(1 - O)(w(1 - h²) x1 + h)"),  # both uses, output delta in front
    ("story1_sigmoid_node.yaml", "w26", "x6(1 - x6) y2"),
])
def test_nested_form_in_teacher_notation(spec, wrt, text):
    assert nested_text(derivator.derive(derivator.load(SPECS / spec), wrt).nested) == text


def test_common_leading_factors_are_pulled_out_of_a_sum():
    a, b, c, d = (symbol(n) for n in "abcd")
    assert total([Prod((a, b, c)), Prod((a, b, d))]) == Prod((a, b, Sum((Prod((c,)), Prod((d,))))))
    assert total([Prod((a, c)), Prod((b, d))]) == Prod((Sum((Prod((a, c)), Prod((b, d)))),))
    assert total([ONE.then(a, 0), Prod((b,))]) == Prod((b,))  # a zero weight drops its term


def test_negative_and_fractional_factors_are_bracketed():
    a = symbol("a")
    assert nested_code(Prod((a, sympy.Rational(-1, 2), a + 1))) == "a*(-1/2)*(a + 1)"


# -- text -------------------------------------------------------------------------------------------
def test_story5_text_shows_the_output_delta_as_the_learner_writes_it():
    out = render_text(report("story5_tanh_squared_error.yaml", "z_x"))
    assert ("  δ_x = ∂loss/∂x · tanh'(z_x)\n"
            "      = 2(x - y) · (1 - x²)\n"
            "      = 2(x - y)(1 - x²) = -1.11504216\n") in out  # the learner's own form, then its value


def unbroken(latex: str) -> str:
    """A remark cut across lines by render/breaking.py, joined again: \\text{a } \\\\ &\\quad \\text{b}."""
    return re.sub(r" \} \\\\\n&\\quad \\text\{| \} \\text\{", " ", latex)


BCE_NOTE = "binary cross-entropy after a sigmoid: σ' cancels"
SOFTMAX_NOTE = "cross-entropy after a softmax: the softmax's Jacobian cancels, δ = p - y"


def test_fused_output_delta_says_why():
    out = render_text(report("two_outputs_bce.yaml", "d1"))
    assert ("  δ_O1 = ∂loss/∂O1 · σ'(z_O1)\n"
            "       = (O1 - y1)/(O1(1 - O1)) · O1(1 - O1)\n"
            f"       = O1 - y1 = -0.295150273    ({BCE_NOTE})\n") in out
    assert SOFTMAX_NOTE not in out


def test_softmax_cross_entropy_delta_names_its_own_identity():
    r = report("softmax_three_classes.yaml", "b2")
    out = render_text(r)
    assert f"  δ_k2 = exp(k2)/(exp(k1) + exp(k2) + exp(k3)) - y2 = -0.866679991    ({SOFTMAX_NOTE})\n" in out
    assert "σ' cancels" not in out
    latex = render_latex(r)
    assert r"\quad\text{(cross-entropy after a softmax: the softmax's Jacobian cancels, $\delta$ = p - y)}" in \
        unbroken(latex)
    assert "binary" not in latex
    assert f"- δ_k2 = exp(k2)/(exp(k1) + exp(k2) + exp(k3)) - y2: {SOFTMAX_NOTE}\n" in render_markdown(r)


def test_bce_note_in_latex_and_markdown():
    r = report("two_outputs_bce.yaml", "d1")
    assert r"\quad\text{(binary cross-entropy after a sigmoid: $\sigma$' cancels)}" in unbroken(render_latex(r))
    assert f"- δ_O1 = O1 - y1: {BCE_NOTE}\n" in render_markdown(r)


@pytest.mark.parametrize("activation, loss", [("sigmoid", "cross_entropy"), ("tanh", "binary_cross_entropy"),
                                              ("identity", "squared_error")])
def test_no_cancellation_note_where_nothing_cancels(activation, loss):
    net = derivator.loads({"inputs": ["x"], "nodes": {"O1": {"activation": activation}, "O2": {}},
                           "edges": [["x", "O1", "w1"], ["x", "O2", "w2"]], "output": ["O1", "O2"],
                           "loss": {"type": loss, "target": ["y1", "y2"]}})
    out = render_text(derivator.report(net, "w1"))
    assert "cancels" not in out, out


def test_long_expanded_form_names_common_subexpressions():
    out = render_text(report("story4_desmos_check.yaml", "w1"))
    assert "  where a1 = σ(I w1 + 1)\n" in out


# -- LaTeX --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(cases.CASES))
def test_golden_outputs(name, monkeypatch):
    """Story 4 and 5 in every format, reviewed by eye; `python tests/golden/cases.py` rewrites them."""
    monkeypatch.chdir(SPECS.parent)
    assert cases.output(name) == (GOLDEN / name).read_text()


@pytest.mark.parametrize("name, tex", [
    ("w1", "w_{1}"), ("w26", "w_{26}"), ("z_h1", "z_{h_{1}}"), ("b_O", "b_{O}"), ("pred", "\\mathrm{pred}"),
    ("W1_2_1", "W^{[1]}_{21}"), ("a2_1", "a^{[2]}_{1}"),
    ("z_a1_3", "z^{[1]}_{3}"), ("alpha", "\\alpha"), ("x", "x"), ("w_au", "w_{au}"), ("h", "h"),
])
def test_tex_names_follow_the_files_names(name, tex):
    assert tex_name(name) == tex


def test_json_latex_is_the_nested_form():
    out = json.loads(render_json(report("story4_desmos_check.yaml", "w1")))
    assert out["in_node_values"]["latex"].startswith("O \\left(1 - O\\right) \\left(w_{4} h_{2}")


@needs_pdflatex
@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.name)
def test_every_spec_compiles_as_a_standalone_document(path, tmp_path):
    net = derivator.load(path)
    wrt = (net.params or net.inputs)[0]  # a computational graph may have inputs only
    doc = render_latex(derivator.report(net, wrt, check=True), standalone=True)
    (tmp_path / "d.tex").write_text(doc)
    run = subprocess.run(["pdflatex", "-halt-on-error", "-interaction=nonstopmode", "d.tex"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:]
    assert (tmp_path / "d.pdf").stat().st_size > 1000


# -- Markdown ----------------------------------------------------------------------------------------
def test_markdown_has_math_blocks_and_the_value():
    out = render_markdown(report("story4_desmos_check.yaml", "w1", check=True))
    assert out.count("$$\n\\begin{aligned}\n") == 4  # forward, backward, result, expanded
    assert "\\text{" not in out  # MathJax would not render the $...$ inside it
    assert "**Value** at `I = 1`" in out and "`0.00142918810220472`" in out
    assert "**Check**: agrees" in out


# -- Desmos ------------------------------------------------------------------------------------------
def test_desmos_lines_for_story4():
    lines = render_desmos(report("story4_desmos_check.yaml", "w1")).splitlines()
    assert lines[0] == "s\\left(t\\right)=\\frac{1}{1+e^{-t}}"
    assert "w_{1}=0.5" in lines and "I=1" in lines
    assert "h_{1}=s\\left(z_{h1}\\right)" in lines
    assert lines[-1] == "F'\\left(w_{1}\\right)"  # the calculator's own derivative, to compare with D
    assert any(line.startswith("D=O \\cdot \\left(1 - O\\right)") for line in lines)


def test_desmos_names_are_distinct_and_avoid_the_axes():
    names = desmos_names(["x", "y", "x0", "h1", "h_1", "e", "t"])
    assert names["y"] == "y_{0}" and names["e"] == "e_{0}" and names["t"] == "t_{0}"
    assert names["x0"] == "x_{0}" and names["x"] == "x_{0n1}"  # x0 keeps its own; x takes a marked one
    assert names["h1"] == "h_{1}" and names["h_1"] == "h_{u1}"  # the underscore spelled, never h_{11}
    assert len(set(names.values())) == len(names)


@pytest.mark.parametrize("names, expected", [
    (["w1", "w_1", "w11"], {"w1": "w_{1}", "w_1": "w_{u1}", "w11": "w_{11}"}),
    (["w_1", "w11"], {"w_1": "w_{1}", "w11": "w_{11}"}),  # alone, w_1 reads as w_{1}
    (["W1_12_1", "W1_1_21", "W1_2_1"], {"W1_12_1": "W_{1u12u1}", "W1_1_21": "W_{1u1u21}", "W1_2_1": "W_{121}"}),
    (["w1", "w_1", "wu1"], {"w1": "w_{1}", "wu1": "w_{u1}", "w_1": "w_{1n1}"}),
])
def test_desmos_names_that_would_collide_are_told_apart(names, expected):
    assert desmos_names(names) == expected


def test_the_sigmoid_helper_never_shares_a_name(tmp_path):
    # `sigma` is s_{igma} and `s` is s: the helper becomes s_{igmoid}, and s_igmoid pushes it further.
    assert sigmoid_name(["sigma", "s"]) == "s_{igmoid}"
    assert sigmoid_name(["s", "s_igmoid"]) == "s_{igmoid1}"
    nodes = {"s": {"activation": "sigmoid"}, "sigma": {"activation": "sigmoid"}}
    net = derivator.loads({"inputs": ["x"], "nodes": nodes,
                           "edges": [["x", "s", "w_1"], ["s", "sigma", "w1"]], "output": "sigma",
                           "at": {"x": 1, "w_1": 0.5, "w1": -0.5}})
    lines = render_desmos(derivator.report(net, "w_1")).splitlines()
    assert lines[0] == "s_{igmoid}\\left(t\\right)=\\frac{1}{1+e^{-t}}"
    assert "s=s_{igmoid}\\left(z_{s}\\right)" in lines and "s_{igma}=s_{igmoid}\\left(z_{sigma}\\right)" in lines
    assert "w_{u1}=0.5" in lines and "w_{1}=-0.5" in lines and "F'\\left(w_{u1}\\right)" in lines


# -- size caps: printing stays bounded on deep networks ----------------------------------------------
def test_six_layer_network_prints_its_nested_form():
    net = derivator.loads(dense(2, [4, 4, 4, 4, 4, 1]))
    assert len(net.edges) == 76
    out = json.loads(render_json(derivator.report(net, "W1_1_1")))
    assert out["in_node_values"]["text"] is not None
    assert all(v is not None for v in out["deltas"].values())


def test_lattice_too_large_to_nest_keeps_the_recursion():
    net = derivator.loads(dense(2, [2] * 16 + [1]))  # 2**16 paths: the nested form is exponential
    r = derivator.report(net, "W1_1_1")
    out = json.loads(render_json(r))
    assert out["in_node_values"]["text"] is None and out["derivative"]["text"] is None
    assert r.derivation.nested_size() > MAX_NESTED_FACTORS
    text = render_text(r)
    assert "δ_n1_1 = n1_1(1 - n1_1)(W2_1_1 δ_n2_1 + W2_2_1 δ_n2_2)" in text
    assert "too large to write out" in text


# Every node connected to both of the next layer: 2^depth paths, so the nested form is exponential in the
# depth and only the recursion, linear in it, may be printed. Each shape is printed in every writer that
# shows a derivative, under a CPU bound (tests/hang.py), never a wall-time one.
LATTICES = [dense(2, [2] * 30 + [1]), dense(3, [3] * 12 + [1], ["tanh", "sigmoid"], loss="squared_error")]


@pytest.mark.parametrize("spec, first", zip(LATTICES, [
    "\\delta_{n11}=n_{11} \\cdot \\left(1 - n_{11}\\right) \\cdot \\left(W_{211} \\cdot \\delta_{n21} + W_{221} "
    "\\cdot \\delta_{n22}\\right)",
    "\\delta_{n11}=\\left(1 - n_{11}^{2}\\right) \\cdot \\left(W_{211} \\cdot \\delta_{n21} + W_{221} \\cdot "
    "\\delta_{n22} + W_{231} \\cdot \\delta_{n23}\\right)"], strict=True), ids=["2x30", "3x12-loss"])
def test_desmos_past_the_nested_budget_defines_D_by_the_deltas(spec, first):
    net = derivator.loads(spec)
    with bounded(10.0, "desmos on a lattice"):
        r = derivator.report(net, "W1_1_1")
        lines = render_desmos(r).splitlines()
    deltas = [line for line in lines if line.startswith("\\delta_")]
    assert len(deltas) == len(r.derivation.steps)  # every delta on a path, once, by the recursion
    assert first in deltas
    assert "D=\\delta_{n11} \\cdot x_{1}" in lines
    assert not any(line.startswith("F") for line in lines)  # F(t) is as exponential as the nested form
    assert max(len(line) for line in lines) < 400


@pytest.mark.parametrize("spec", LATTICES, ids=["2x30", "3x12-loss"])
def test_a_candidate_past_the_nested_budget_is_compared_in_deltas(spec):
    net = derivator.loads(spec)
    with bounded(20.0, "a candidate on a lattice"):
        r = derivator.report(net, "W1_1_1", candidate="x1")
        text, tex, md = render_text(r), render_latex(r), render_markdown(r)
        out, notebook = json.loads(render_json(r)), r._repr_latex_()
    of = r.derivation.of
    assert f"Derivative  ∂{of}/∂W1_1_1 = δ_n1_1 x1    = " in text
    assert "does NOT agree" in text and out["candidate"]["agrees"] is False
    assert out["in_node_values"]["text"] is None
    assert max(len(s) for s in (text, tex, md, notebook)) < 200_000
    assert notebook.startswith("$$\\frac{\\partial") and "\\delta_{n_{1,1}} x_{1}" in notebook
