"""The Python API as a notebook uses it: a dict in, results that display as math."""

import pytest

import derivator
from tests.conftest import SPECS

STORY4 = SPECS / "story4_desmos_check.yaml"


def test_a_dict_loads_like_a_file():
    net = derivator.loads({"inputs": ["I"], "nodes": {"O": {"activation": "sigmoid"}},
                           "edges": [["I", "O", "w"]], "output": "O", "at": {"I": 1, "w": 0.5}})
    r = derivator.report(net, "w", check=True)
    assert r.value == pytest.approx(0.2350037122015945, rel=1e-15)  # sigmoid'(0.5) * 1
    assert r.check.agrees


def test_a_bad_dict_is_one_clean_error():
    with pytest.raises(derivator.DerivatorError) as e:
        derivator.loads({"inputs": ["I"], "nodes": {"O": {}}, "edges": [["I", "O", "w"]], "output": "Q"})
    assert "unknown output node 'Q'" in e.value.format("<dict>")
    with pytest.raises(derivator.DerivatorError):
        derivator.loads({"inputs": float("nan")})


def test_results_display_as_math_in_jupyter():
    r = derivator.report(derivator.load(STORY4), "w1")
    assert r._repr_latex_() == (r"$$\frac{\partial O}{\partial w_{1}} = O \left(1 - O\right) \left(w_{4} h_{2} "
                                r"\left(1 - h_{2}\right) w_{2} + w_{5} h_{3} \left(1 - h_{3}\right) w_{3}\right) "
                                r"h_{1} \left(1 - h_{1}\right) I \approx 0.0014291881022$$")
    assert r._repr_markdown_().startswith(r"### The derivative $\frac{\partial O}{\partial w_{1}}$")
    g = derivator.gradient(derivator.load(STORY4))
    assert g._repr_latex_().startswith("$$\\begin{aligned}") and r"\approx 0.0014291881022" in g._repr_latex_()
    f = derivator.matrix_form(derivator.load(SPECS / "story3_matrix_form.yaml"), "W1")
    assert r"\frac{1}{m} dZ^{[1]} {A^{[0]}}^{T}" in f._repr_latex_()
    assert "### The matrix form" in f._repr_markdown_()
