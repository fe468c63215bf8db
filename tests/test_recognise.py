"""Recognition: a candidate's subexpressions that are a node's z or output, written as that node.

The diagnosis of a candidate written expanded, in inputs and parameters, must be the one of the same
candidate written in node values; recognition must never take a look-alike for a node."""

import json

import pytest
import sympy

from derivator.graph.network import symbol, z_symbol
from derivator.judge.candidate import parse
from derivator.judge.recognise import recognise
from derivator.load.files import load
from derivator.symbolic.derive import derive
from tests.conftest import SPECS
from tests.hang import run
from tests.test_latex import RELU  # one relu network for both files

STORY4 = str(SPECS / "story4_desmos_check.yaml")
HELPERS = ["--define", "s(x)=1/(1+exp(-x))", "--define", "d(x)=s(x)*(1-s(x))"]
H1 = "s(I*w1+1)"
H2, H3 = f"s({H1}*w2+1)", f"s({H1}*w3+1)"
ZO = f"{H2}*w4+{H3}*w5+1"
# Story 4's hand answer and the right one, written in inputs and parameters only.
HAND_EXPANDED = f"d({ZO})*(d({H1}*w2+1)*d(I*w1+1)*I + d({H1}*w3+1)*d(I*w1+1)*I)"
RIGHT_EXPANDED = f"d({ZO})*(w4*d({H1}*w2+1)*w2*d(I*w1+1)*I + w5*d({H1}*w3+1)*w3*d(I*w1+1)*I)"
HAND_NODES = "d(z_O)*(d(z_h2)*d(z_h1)*I + d(z_h3)*d(z_h1)*I)"
MISSING = ["The term for the path through h2 (I → h1 → h2 → O) lacks the weights w4*w2 (= 0.25 at the point).",
           "The term for the path through h3 (I → h1 → h3 → O) lacks the weights w5*w3 (= 0.25 at the point)."]


def verdict(cand, *defines):
    r = run([STORY4, "--wrt", "w1", *defines, "--candidate", cand, "--format", "json"])
    assert r.exit_code in (0, 1), r.output
    return r.exit_code, json.loads(r.stdout)["candidate"]


def test_expanded_hand_answer_gets_the_sentences_of_the_one_in_node_values():
    status, expanded = verdict(HAND_EXPANDED, *HELPERS)
    _, nodes = verdict(HAND_NODES, *HELPERS)
    assert status == 1
    assert expanded["ratio"] == pytest.approx(4.0, rel=1e-12)
    assert expanded["diagnosis"] == nodes["diagnosis"]
    for sentence in MISSING:
        assert sentence in expanded["diagnosis"]


@pytest.mark.parametrize("cand", [
    RIGHT_EXPANDED,
    # the sigmoid in three spellings, the helpers unused
    RIGHT_EXPANDED.replace("s(", "sigmoid("),
    RIGHT_EXPANDED.replace("d(", "sigmoid'("),
])
def test_expanded_right_answer_agrees(cand):
    status, c = verdict(cand, *HELPERS)
    assert (status, c["agrees"]) == (0, True), c


def test_expanded_right_answer_is_recognised_exactly():
    """Written out, O(1-O) ... is the derivative itself: the exact test sees it, no sampling needed."""
    _, c = verdict(RIGHT_EXPANDED, *HELPERS)
    assert c["method"] == "equal as expressions in node values"


def test_expanded_wrong_answer_names_the_missing_factor_per_path():
    # the second path's w3 forgotten: only that path's sentence
    cand = f"d({ZO})*(w4*d({H1}*w2+1)*w2*d(I*w1+1)*I + w5*d({H1}*w3+1)*d(I*w1+1)*I)"
    status, c = verdict(cand, *HELPERS)
    assert status == 1
    assert "The term for the path through h3 (I → h1 → h3 → O) lacks the weight w3 (= 0.5 at the point)." \
        in c["diagnosis"], c["diagnosis"]
    assert not any("through h2" in s for s in c["diagnosis"]), c["diagnosis"]


def story4():
    net = load(STORY4)
    return net, derive(net, "w1")


@pytest.mark.parametrize("text, node", [
    ("I*w1 + 1", "z_h1"), ("1 + w1*I", "z_h1"), ("(I*w1 + 1)*1", "z_h1"),
    ("1/(1 + exp(-(I*w1 + 1)))", "h1"), ("exp(I*w1 + 1)/(1 + exp(I*w1 + 1))", "h1"), ("sigmoid(w1*I + 1)", "h1"),
    ("sigmoid(sigmoid(I*w1+1)*w2 + 1)", "h2"), ("sigmoid(z_h1)", "h1"), ("sigmoid(h1*w3 + 1)", "h3"),
    ("sigmoid(w4*sigmoid(z_h2) + h3*w5 + 1)", "O"),
])
def test_subexpressions_are_recognised_as_nodes(text, node):
    net, d = story4()
    expr = recognise(d, parse(net, text), dict(net.at))
    assert expr == (z_symbol(node[2:]) if node.startswith("z_") else symbol(node))


@pytest.mark.parametrize("text", [
    "2*I*w1 + 0.5",  # equal to z_h1 = 1.5 at the point (I = 1, w1 = 0.5), but not as a function
    "I*w1 + 1.0000000001",  # a hair off everywhere
    "1/(1 + exp(-(I*w1 + 1)))**2",  # h1 squared: h1's z inside is recognised, h1 itself is not there
    "tanh(I*w1 + 1)",  # another activation than h1's
    "exp(I*w1 + 1)/(2 + exp(I*w1 + 1))",
    "I*w2 + 1",  # the right shape, the wrong weight
])
def test_look_alikes_are_not_recognised(text):
    net, d = story4()
    expr = recognise(d, parse(net, text), dict(net.at))
    assert {symbol(n) for n in net.nodes}.isdisjoint(expr.free_symbols), expr
    assert expr != z_symbol("h1") or text == "1/(1 + exp(-(I*w1 + 1)))**2"


def test_recognition_keeps_the_value():
    """Cross-check by SymPy: the rewritten candidate, nodes put back, is the candidate."""
    net, d = story4()
    cand = parse(net, RIGHT_EXPANDED, HELPERS[1::2])
    back = recognise(d, cand, dict(net.at))
    assert back != cand
    forward = {z_symbol("h1"): symbol("I") * symbol("w1") + 1}
    for v, parents in (("h2", "h1*w2 + 1"), ("h3", "h1*w3 + 1"), ("O", "h2*w4 + h3*w5 + 1")):
        forward[z_symbol(v)] = sympy.sympify(parents, locals={n: symbol(n) for n in ("h1", "h2", "h3", "w2", "w3",
                                                                                          "w4", "w5")})
    order = ["h1", "h2", "h3", "O"]
    for v in reversed(order):  # put the nodes back, the last first
        back = back.subs(symbol(v), 1 / (1 + sympy.exp(-z_symbol(v))))
    for v in reversed(order):
        back = back.subs(z_symbol(v), forward[z_symbol(v)])
    for v in reversed(order):
        back = back.subs(symbol(v), 1 / (1 + sympy.exp(-z_symbol(v)))).subs(z_symbol(v), forward[z_symbol(v)])
    at = {symbol(n): sympy.Rational(k, 7) for k, n in enumerate(["I", "w1", "w2", "w3", "w4", "w5"], 2)}
    assert float(back.subs(at)) == pytest.approx(float(cand.subs(at)), rel=1e-12)




@pytest.mark.parametrize("cand, sentence", [
    # o's z inside a larger sum (2 w2 relu(...) - 2 y is 2 o - 2 y): the weight w2 is what is missing
    ("2(w2*relu(w1*x+b) - y) [w1 x + b > 0] x", "The candidate lacks the weight w2 (= 1.1 at the point)."),
    ("2(w2*relu(w1*x+b) - y) w2 x", "The candidate lacks [z_h > 0] (the derivative of h's relu)."),
])
def test_an_identity_output_written_out_is_recognised(tmp_path, cand, sentence):
    path = tmp_path / "relu.yaml"
    path.write_text(RELU)
    r = run([str(path), "--wrt", "w1", "--candidate", cand, "--format", "json"])
    assert r.exit_code == 1, r.output
    assert sentence in json.loads(r.stdout)["candidate"]["diagnosis"]


@pytest.mark.parametrize("text, expected", [
    ("2*h1*w2 + 2 + w3", "2*z_h2 + w3"), ("-h1*w2 - 1 + I", "I - z_h2"), ("h1*w2", "h1*w2"), ("h1*w2 + 2", "h1*w2 + 2"),
])
def test_a_pre_activation_inside_a_sum(text, expected):
    net, d = story4()
    names = {n: symbol(n) for n in ["I", "h1", "w2", "w3"]} | {"z_h2": z_symbol("h2")}
    assert recognise(d, parse(net, text), dict(net.at)) == sympy.sympify(expected, locals=names)
