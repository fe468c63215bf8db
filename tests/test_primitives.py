"""The primitive table and the rules built on it: each record complete, elu and swish as a learner
derives them by hand, and the printed forms that read back."""

import json
import math

import mpmath
import pytest
import sympy
from click.testing import CliRunner

import derivator
from derivator.cli import derive
from derivator.graph.primitives import PRIMITIVES, elu, maximum, minimum, sigmoid
from derivator.symbolic.printing import code, teacher, tex

X, A = sympy.Symbol("x", real=True), sympy.Symbol("a", real=True)
POINTS = [-2.5, -0.3, 0.4, 1.7]


def run(path, *args):
    return CliRunner().invoke(derive, [str(path), *args])


def network(tmp_path, activation: str, z: float) -> str:
    """One unit o = f(w x) with w x = z at the point: ∂o/∂w = f'(z) x."""
    path = tmp_path / "unit.yaml"
    path.write_text(f"inputs: [x]\nnodes:\n  o: {activation}\nedges:\n  - [x, o, w]\noutput: o\n"
                    f"at: {{x: 2, w: {z / 2!r}}}\n")
    return path


# -- every record ------------------------------------------------------------------------------------
@pytest.mark.parametrize("fn", list(PRIMITIVES), ids=lambda f: f.__name__)
def test_float_and_mpmath_agree_on_every_primitive(fn):
    p = PRIMITIVES[fn]
    arity = 2 if fn in (maximum, minimum) or p.name in ("leaky_relu", "leaky_step", "elu", "elu_step") else 1
    for x in POINTS:
        if fn in (sympy.log,) and x <= 0:
            continue
        args = [x, 0.5][:arity] if arity == 2 else [x]
        with mpmath.workdps(30):
            exact = p.mp(*[mpmath.mpf(a) for a in args])
        assert math.isclose(p.float_(*args), float(exact), rel_tol=1e-12, abs_tol=1e-300), (p.name, x)


def test_the_python_form_of_every_primitive_with_one_is_a_helper_the_module_defines():
    from derivator.render.python import HELPERS
    for p in PRIMITIVES.values():
        form = p.forms.get("python")
        if form is not None and form(["x", "y"]).startswith("_"):
            assert f"def {form(['x', 'y']).split('(')[0]}(" in HELPERS, p.name


# -- elu ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("z", [-1.5, -0.2, 0.3, 2.0])
@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_elu_derivative_by_hand(tmp_path, z, alpha):
    """elu'(z) = 1 above 0 and alpha e^z below; ∂o/∂w = elu'(z) x with x = 2."""
    option = "" if alpha == 1.0 else f", alpha: {alpha}"
    r = run(network(tmp_path, f"{{activation: elu{option}}}", z), "--wrt", "w", "--check", "--format", "json")
    assert r.exit_code == 0, r.output
    by_hand = (1.0 if z > 0 else alpha * math.exp(z)) * 2
    assert math.isclose(json.loads(r.output)["value"], by_hand, rel_tol=1e-12)


def test_elu_at_zero_is_a_kink_only_when_alpha_is_not_one(tmp_path):
    kinked = run(network(tmp_path, "{activation: elu, alpha: 0.5}", 0.0), "--wrt", "w", "--check",
                 "--format", "json")
    assert json.loads(kinked.output)["check"]["not_differentiable"] == [
        "not differentiable here: the elu of node o has z = 0"]
    assert json.loads(kinked.output)["value"] == pytest.approx(0.5 * 2)  # PyTorch's elu'(0) = alpha
    smooth = run(network(tmp_path, "{activation: elu}", 0.0), "--wrt", "w", "--check", "--format", "json")
    assert "not_differentiable" not in json.loads(smooth.output)["check"]
    assert json.loads(smooth.output)["check"]["agrees"] is True


def test_elu_prints_and_reads_back():
    e = elu(X, sympy.Rational(1, 2))
    assert tex(e) == r"\operatorname{elu}_{\frac{1}{2}}\left(x\right)"
    assert code(e) == "Piecewise((x, x > 0), (1/2*(exp(x) - 1), True))"
    assert teacher(e.diff(X)) == "(1 if x > 0 else 1/2 exp(x))"


def test_alpha_belongs_to_elu_only(tmp_path):
    r = run(network(tmp_path, "{activation: tanh, alpha: 0.5}", 1.0), "--wrt", "w")
    assert r.exit_code == 2
    assert r.stderr.endswith("error: 'alpha' applies to elu only\n")


# -- swish --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("z", [-3.0, -0.5, 0.0, 1.25])
def test_swish_derivative_by_hand(tmp_path, z):
    """swish(z) = z σ(z), so swish'(z) = σ(z) + z σ(z)(1 - σ(z))."""
    r = run(network(tmp_path, "{activation: swish}", z), "--wrt", "w", "--check", "--format", "json")
    assert r.exit_code == 0, r.output
    s = 1 / (1 + math.exp(-z))
    assert math.isclose(json.loads(r.output)["value"], (s + z * s * (1 - s)) * 2, rel_tol=1e-12, abs_tol=1e-15)


def test_swish_rule_agrees_with_sympy_diff():
    rule = derivator.graph.rules.ACTIVATIONS["swish"]
    z, o = sympy.Symbol("z", real=True), sympy.Symbol("o", real=True)
    by_rule = rule.prime(o, z)
    by_diff = sympy.diff(z * (1 / (1 + sympy.exp(-z))), z)
    for v in POINTS:
        assert math.isclose(float(by_rule.xreplace({z: v}).rewrite(sympy.exp).evalf()),
                            float(by_diff.subs(z, v)), rel_tol=1e-12)
    assert by_rule.has(sigmoid(z))


# -- max and min ----------------------------------------------------------------------------------------
def test_max_gives_its_derivative_to_the_first_argument_at_a_tie():
    m = maximum(X, A)
    assert m.diff(X).xreplace({X: 1, A: 1}) == 1  # the first argument attains it
    assert m.diff(A).xreplace({X: 1, A: 1}) == 0
    assert m.diff(A).xreplace({X: 1, A: 2}) == 1
    assert minimum(X, A).diff(X).xreplace({X: 3, A: 2}) == 0
    assert minimum(X, A, X + 1).diff(A).xreplace({X: 3, A: 2}) == 1
