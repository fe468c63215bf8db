"""Second derivatives (CONTRACT section 8) against independent references.

1. The second-order rules against what a learner writes and against SymPy's diff twice of the
   function itself (σ'' = σ(1-σ)(1-2σ), and σ''(1) worked by hand).
2. Hand-worked entries of story 4's Hessian (∂²O/∂w4² = O(1-O)(1-2O) h2²).
3. Random networks (tests/netgen.py: every activation, tied weights, several outputs, formula
   activations and losses): every Hessian entry against a Richardson-extrapolated central difference
   of the reference engine's gradient (tests/refengine.py), which shares no code with derivator.
4. Tiny networks against SymPy's plain diff twice of an expression this file builds itself.
5. Softmax groups, data, penalties and recurrence against the reference engine's batch gradient.
6. The command line: --wrt twice, --hessian in every format, the generated hessian(values).
"""

from __future__ import annotations

import importlib.util
import json
import math

import mpmath
import pytest
import sympy
from click.testing import CliRunner
from hypothesis import given, settings

import derivator
from derivator.answers.second import hessian, second
from derivator.cli import derive
from derivator.graph import curvature, rules
from derivator.graph.primitives import PRIMITIVES, sigmoid
from derivator.load.files import load
from derivator.numbers import checking
from tests.conftest import PROPERTY_SETTINGS, examples

try:
    from netgen import FORMULAS, networks
    from refengine import evaluate, evaluate_batch
except ImportError:  # tests/ collected as a package
    from tests.netgen import FORMULAS, networks
    from tests.refengine import evaluate, evaluate_batch

X = sympy.Symbol("x", real=True)
Z = sympy.Symbol("z", real=True)


# -- 1. the rules ------------------------------------------------------------------------------------
def test_sigmoid_second_is_what_a_learner_writes():
    o = sympy.Symbol("o")
    assert rules.ACTIVATIONS["sigmoid"].second(o, Z) == o * (1 - o) * (1 - 2 * o)
    assert rules.ACTIVATIONS["tanh"].second(o, Z) == -2 * o * (1 - o**2)
    assert rules.ACTIVATIONS["exp"].second(o, Z) == o
    assert rules.ACTIVATIONS["relu"].second(o, Z) == 0
    # σ(1) = 0.7310585786300049; σ''(1) = σ(1 - σ)(1 - 2σ), by hand: 0.19661193324 · (-0.46211715726)
    s = 1 / (1 + math.exp(-1))
    assert abs(s * (1 - s) * (1 - 2 * s) - (-0.0908577476729484)) < 1e-15


@pytest.mark.parametrize("name", ["identity", "sigmoid", "tanh", "softplus", "exp", "swish", "relu"])
@pytest.mark.parametrize("z", [-1.7, -0.3, 0.4, 2.2])
def test_activation_second_equals_diff_twice(name, z):
    act = rules.ACTIVATIONS[name]
    f = act.f(Z)
    expect = sympy.diff(f, Z, 2).subs(Z, z).replace(sympy.DiracDelta, lambda *a: 0)
    got = act.second(f.subs(Z, z), sympy.Float(z))
    assert abs(float(sympy.N(got - expect, 30))) < 1e-14


@pytest.mark.parametrize("slope", [sympy.Rational(1, 100), sympy.Rational(1, 5)])
def test_leaky_and_elu_seconds(slope):
    assert rules.leaky(slope).second(X, X) == 0
    elu = rules.OPTIONS["elu"][2](sympy.Rational(1, 2))
    assert float(elu.second(X, sympy.Float(-0.5))) == pytest.approx(0.5 * math.exp(-0.5), rel=1e-15)
    assert float(elu.second(X, sympy.Float(0.5))) == 0.0


@pytest.mark.parametrize("fn", list(PRIMITIVES))
def test_primitive_second_rule_equals_fdiff_twice(fn):
    """Each primitive's one-line second-order rule is what SymPy's chain rule gives from its fdiff."""
    args = (X, sympy.Rational(3, 10)) if fn.nargs == {2} or getattr(fn, "nargs", None) == sympy.FiniteSet(2) else (X,)
    if fn.__name__ in ("maximum", "minimum"):
        args = (X, sympy.Rational(1, 7))
    e = fn(*args)
    twice = curvature.local_second(curvature.local_second(e, X), X)
    rule = curvature.SECOND[fn](*args)
    for x in (-1.3, -0.4, 0.6, 1.9):  # away from every kink
        a = complex(sympy.N(twice.subs(X, x), 25))
        b = complex(sympy.N(rule.subs(X, x), 25))
        assert abs(a - b) <= 1e-15 * max(1, abs(a)), (fn, x, a, b)


def test_loss_seconds():
    o, y = sympy.symbols("o y", real=True)
    for name, loss in rules.LOSSES.items():
        assert sympy.simplify(loss.second(o, y) - sympy.diff(loss.value(o, y), o, 2)) == 0, name
    assert rules.LOSSES["squared_error"].second(o, y) == 2
    outs = list(sympy.symbols("a b c", real=True))
    ys = list(sympy.symbols("p q r", real=True))
    ce = rules.cross_entropy(outs, ys)
    for i in range(3):
        for j in range(3):
            d2 = sympy.diff(ce, outs[i], outs[j]).subs({ys[0]: 0.2, ys[1]: 0.5, ys[2]: 0.3})
            at = {outs[0]: 0.3, outs[1]: -1.1, outs[2]: 0.8}
            rule = rules.cross_entropy_second(outs, i, j)
            assert float(d2.subs(at)) == pytest.approx(float(rule.subs(at)), rel=1e-13)


# -- 2. hand-worked entries ----------------------------------------------------------------------------
def test_story4_entries_by_hand():
    net = load("specs/story4_desmos_check.yaml")
    h = hessian(net, list(net.params), check=True)
    s = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    h1 = s(1.5)
    h2 = s(0.5 * h1 + 1)
    o = s(0.5 * h2 + 0.5 * h2 + 1)
    ww = o * (1 - o) * (1 - 2 * o)  # σ''(z_O)
    assert h.values[3][3] == pytest.approx(ww * h2 * h2, rel=1e-13)  # ∂²O/∂w4² = σ''(z_O) h2²
    assert h.values[3][4] == pytest.approx(ww * h2 * h2, rel=1e-13)  # h3 = h2 at this point
    # ∂²O/∂w2∂w4 = h1 h2(1-h2) (σ''(z_O) w4 h2 + σ'(z_O)): w4 enters z_O with h2, which depends on w2
    assert h.values[1][3] == pytest.approx(h1 * h2 * (1 - h2) * (ww * 0.5 * h2 + o * (1 - o)), rel=1e-13)
    assert h.asymmetry <= 1e-18 and not h.failed
    assert h.eigenvalues[0] < 0 < h.eigenvalues[-1]  # a saddle direction, as the text says


# -- 3. random networks against the reference engine ---------------------------------------------------
def ref_hessian(spec: dict, of: str, names: list[str], batch: bool = False) -> list[list[float]]:
    """Column B: Richardson-extrapolated central differences of the reference engine's gradient in B."""
    point = dict(spec.get("at", {}))
    run = evaluate_batch if batch else evaluate

    def grad(b, t):
        return run(spec, {**point, b: point[b] + t}, of, FORMULAS)[1]

    cols = []
    for b in names:
        h = 1e-3 * max(1.0, abs(point[b]))
        d1 = {a: (grad(b, h)[a] - grad(b, -h)[a]) / (2 * h) for a in names}
        up, down = grad(b, h / 2), grad(b, -h / 2)
        d2 = {a: (up[a] - down[a]) / h for a in names}
        cols.append({a: (4 * d2[a] - d1[a]) / 3 for a in names})
    return [[cols[j][a] for j in range(len(names))] for a in names]


def agree(ours: list[list[float]], ref: list[list[float]], rel: float = 1e-7) -> bool:
    """Entry by entry within `rel`, or (an entry that is 0 but for rounding) within 1e-12 of the larger of 1
    and the matrix's largest entry."""
    scale = max([abs(x) for row in ref for x in row] + [1.0])
    return all(abs(a - b) <= rel * max(abs(a), abs(b)) or abs(a - b) <= 1e-12 * scale
               for ra, rb in zip(ours, ref, strict=True) for a, b in zip(ra, rb, strict=True))


@settings(max_examples=examples(40), **PROPERTY_SETTINGS)
@given(networks(max_nodes=5))
def test_random_networks_against_reference_engine(drawn):
    spec, of = drawn
    net = derivator.loads(json.dumps(spec))
    names = [n for n in net.params if n in spec["at"]][:5] + [x for x in net.inputs if x in spec["at"]][:1]
    if not names:
        return
    h = hessian(net, names, of)
    assert agree(h.values, ref_hessian(spec, of, names)), (h.values, ref_hessian(spec, of, names))
    assert h.asymmetry <= 1e-12 * max(1.0, max(abs(x) for row in h.values for x in row))


# -- 4. SymPy's plain diff twice, on an expression built here --------------------------------------------
TINY = {
    "inputs": ["x"], "nodes": {"h": {"activation": "tanh", "bias": "b"}, "o": {"activation": "sigmoid"}},
    "edges": [["x", "h", "w"], ["h", "o", "v"], ["x", "o", "w"]],  # w tied: on two edges
    "output": "o", "loss": {"type": "binary_cross_entropy", "target": "y"},
    "at": {"x": 0.7, "w": -0.4, "v": 1.3, "b": 0.2, "y": 1},
}


def test_tiny_network_against_sympy_diff_twice():
    x, w, v, b, y = sympy.symbols("x w v b y", real=True)
    h = sympy.tanh(w * x + b)
    o = 1 / (1 + sympy.exp(-(v * h + w * x)))
    loss = -(y * sympy.log(o) + (1 - y) * sympy.log(1 - o))
    at = {x: 0.7, w: -0.4, v: 1.3, b: 0.2, y: 1}
    names = [w, v, b, x]
    net = derivator.loads(json.dumps(TINY))
    got = hessian(net, [str(n) for n in names], check=True)
    for i, a in enumerate(names):
        for j, c in enumerate(names):
            exact = float(sympy.diff(loss, a, c).xreplace({k: sympy.Float(val, 30) for k, val in at.items()}))
            assert got.values[i][j] == pytest.approx(exact, rel=1e-12, abs=1e-15)
    assert not got.failed
    # the Gauss-Newton part for BCE after a sigmoid: J_zᵀ o(1-o) J_z, by hand from ∂z_o/∂θ
    zo = v * h + w * x
    oo = float(o.evalf(30, subs=at))
    jz = [float(sympy.diff(zo, n).evalf(30, subs=at)) for n in names]
    for i in range(4):
        for j in range(4):
            assert got.gauss_newton[i][j] == pytest.approx(oo * (1 - oo) * jz[i] * jz[j], rel=1e-12, abs=1e-15)


def test_mixed_partial_json_reads_back_to_sympy():
    net = derivator.loads(json.dumps(TINY))
    s = second(net, "w", "v")
    from derivator.render.second import as_dict
    d = as_dict(s)
    assert d["wrt"] == ["w", "v"]
    syms = {n: sympy.Symbol(n, real=True) for n in ["x", "w", "v", "b", "y"]}
    from sympy.parsing.sympy_parser import parse_expr
    back = parse_expr(d["derivative"]["text"], local_dict={**syms, "sigmoid": sigmoid})
    at = {syms[k]: val for k, val in TINY["at"].items()}
    assert float(back.evalf(30, subs=at)) == pytest.approx(d["value"], rel=1e-12)


# -- 5. softmax, data, penalty, recurrence --------------------------------------------------------------
@pytest.mark.parametrize("path", ["specs/softmax_layer_categorical.yaml", "specs/softmax_three_classes.yaml",
                                  "specs/l2_penalty.yaml", "specs/l1_sum_reduction.yaml", "specs/elman_rnn.yaml",
                                  "specs/graph_max.yaml", "specs/two_outputs_bce.yaml", "specs/gru_cell.yaml",
                                  "specs/hessian_two_layer_data.yaml", "specs/second_derivative_tied_formula.yaml"])
def test_specs_against_reference_batch_gradient(path):
    from ruamel.yaml import YAML
    spec = json.loads(json.dumps(YAML(typ="safe").load(open(path))))
    net = load(path)
    from tests.refengine import expand_point
    spec["at"] = {**expand_point(spec.get("at")), **{k: v for k, v in checking.point(net).items()}}
    names = list(net.params)[:8]
    h = hessian(net, names)
    assert agree(h.values, ref_hessian(spec, None, names, batch=True), rel=2e-7)


def test_gauss_newton_against_reference_jacobian():
    """G = (2/m) Σₛ Jₛᵀ Jₛ + λ I on the weights, Jₛ = ∂o/∂θ from the reference engine's gradient of the output."""
    from ruamel.yaml import YAML

    from tests.refengine import expand_layers, expand_point
    path = "specs/hessian_two_layer_data.yaml"
    net = load(path)
    spec = expand_layers(json.loads(json.dumps(YAML(typ="safe").load(open(path)))))
    point = {**expand_point(spec["at"])}
    names = list(net.params)
    h = hessian(net, names)
    js = [evaluate(spec, {**point, **s}, "a2_1")[1] for s in spec["data"]]
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            g = 2 * math.fsum(jj[a] * jj[b] for jj in js) / len(js) + (0.01 if a == b and a.startswith("W") else 0)
            assert h.gauss_newton[i][j] == pytest.approx(g, rel=1e-12, abs=1e-15)


def test_gauss_newton_squared_error_by_hand():
    """One linear unit o = w x + b under squared error: H = 2 [x² x; x 1] exactly, and G = H (no curvature
    of o in θ). One sample: H = 2 g gᵀ with g = (x, 1), rank one, eigenvalues 0 and 2(x² + 1) = 20."""
    spec = {"inputs": ["x"], "nodes": {"o": {"bias": "b"}}, "edges": [["x", "o", "w"]], "output": "o",
            "loss": {"type": "squared_error", "target": "y"}, "at": {"x": 3, "w": 0.5, "b": -1, "y": 2}}
    h = hessian(derivator.loads(json.dumps(spec)), ["w", "b"], check=True)
    assert h.values == [[18.0, 6.0], [6.0, 2.0]]
    assert h.gauss_newton == [[18.0, 6.0], [6.0, 2.0]]
    assert h.eigenvalues == pytest.approx([0.0, 20.0], rel=1e-14, abs=1e-14)
    from derivator.render.hessian import shape
    assert shape(h).startswith("some zero")


# -- 6. the command line ---------------------------------------------------------------------------------
def run(*args):
    return CliRunner().invoke(derive, list(args), catch_exceptions=False)


def test_cli_second_derivative_text_and_json():
    r = run("specs/story4_desmos_check.yaml", "--wrt", "w4", "--wrt", "w4", "--check")
    assert r.exit_code == 0, r.output
    assert "∂²O/∂w4²" in r.output and "f''(z_O) for O: O(1 - O)(1 - 2O)" in r.output and "Check: agrees" in r.output
    r = run("specs/story4_desmos_check.yaml", "--wrt", "w2", "--wrt", "w4")
    assert "  δ_h2 h1: δ_h2 depends on w4, h1 does not\n  ∂²O/∂w2∂w4 = ∂δ_h2/∂w4 h1\n" in r.output
    assert "In node values: h1 h2(1 - h2)(O h2 w4(1 - O)(1 - 2O) + O(1 - O))" in r.output
    d = json.loads(run("specs/story4_desmos_check.yaml", "--wrt", "w4", "--wrt", "w5", "--format", "json").output)
    assert d["wrt"] == ["w4", "w5"]
    o, h2 = d["forward"]["O"], d["forward"]["h2"]
    assert d["value"] == pytest.approx(o * (1 - o) * (1 - 2 * o) * h2 * d["forward"]["h3"], rel=1e-13)


def test_cli_refuses_what_does_not_apply():
    r = CliRunner().invoke(derive, ["specs/story4_desmos_check.yaml", "--wrt", "w1", "--wrt", "h1"])
    assert r.exit_code == 2 and "a second derivative is with respect to parameters and inputs" in r.output
    r = CliRunner().invoke(derive, ["specs/story4_desmos_check.yaml", "--wrt", "w1", "--wrt", "w2",
                                    "--wrt", "w3"])
    assert r.exit_code == 2 and "--wrt is given 3 times" in r.output
    r = CliRunner().invoke(derive, ["specs/story4_desmos_check.yaml", "--hessian", "--wrt", "all",
                                    "--format", "desmos"])
    assert r.exit_code == 2 and "--hessian prints" in r.output


@pytest.mark.parametrize("fmt", ["text", "latex", "markdown", "json"])
def test_cli_hessian_formats(fmt):
    r = run("specs/softmax_three_classes.yaml", "--hessian", "--wrt", "all", "--check", "--format", fmt)
    assert r.exit_code == 0, r.output
    if fmt == "json":
        d = json.loads(r.output)["hessian"]
        assert len(d["values"]) == len(d["names"]) == len(d["eigenvalues"])
        assert "gauss_newton" in d
    else:
        assert "Gauss-Newton" in r.output


def test_generated_hessian_module(tmp_path):
    for path in ["specs/softmax_layer_categorical.yaml", "specs/l2_penalty.yaml", "specs/story4_desmos_check.yaml"]:
        r = run(path, "--hessian", "--wrt", "all", "--format", "python")
        assert r.exit_code == 0
        f = tmp_path / "h.py"
        f.write_text(r.output)
        spec = importlib.util.spec_from_file_location("h", f)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        net = load(path)
        point = checking.point(net)
        want = hessian(net, list(net.params)).values
        got = mod.hessian(point)
        assert got["names"] == list(net.params)
        assert agree(got["values"], want, rel=1e-11)
        u = {n: (i % 3) - 1.0 for i, n in enumerate(net.params)}  # H·u is u's combination of columns
        hv = mod.hvp(point, u)
        for i, a in enumerate(net.params):
            assert hv[a] == pytest.approx(math.fsum(want[i][j] * u[b] for j, b in enumerate(net.params)),
                                          rel=1e-10, abs=1e-13)


def test_eigenvalues_by_mpmath_agree_with_characteristic_polynomial():
    net = load("specs/story4_desmos_check.yaml")
    h = hessian(net, ["w4", "w5"])
    a, b, d = h.values[0][0], h.values[0][1], h.values[1][1]
    tr, det = a + d, a * d - b * b
    roots = sorted([(tr - mpmath.sqrt(tr * tr - 4 * det)) / 2, (tr + mpmath.sqrt(tr * tr - 4 * det)) / 2])
    assert h.eigenvalues == pytest.approx([float(r) for r in roots], rel=1e-12, abs=1e-16)


# -- 7. against an autograd engine's Hessian (HIPS autograd, when installed) ----------------------------
def _autograd():
    return pytest.importorskip("autograd")


@settings(max_examples=examples(40), **PROPERTY_SETTINGS)
@given(networks(max_nodes=5))
def test_random_networks_against_autograd_hessian(drawn):
    _autograd()
    from tests.refhessian import reference_hessian
    spec, of = drawn
    net = derivator.loads(json.dumps(spec))
    names = [n for n in net.params if n in spec["at"]][:6] + [x for x in net.inputs if x in spec["at"]][:1]
    if not names:
        return
    ours = hessian(net, names, of).values
    ref = reference_hessian(spec, names, of)
    assert agree(ours, ref, rel=1e-8), (ours, ref)


@pytest.mark.parametrize("path", sorted(str(p) for p in __import__("pathlib").Path("specs").glob("*.yaml")))
def test_every_spec_against_autograd_hessian(path):
    _autograd()
    from ruamel.yaml import YAML

    from tests.refhessian import reference_hessian
    net = load(path)
    spec = json.loads(json.dumps(YAML(typ="safe").load(open(path))))
    if "steps" in spec or not net.params or net.batch is not None:
        pytest.skip("recurrence is unrolled by tests/refunroll.py, and batch_norm coupled by tests/refbatch.py, "
                    "not here; no parameters")
    names = list(net.params)[:12]
    of = "loss" if net.loss else net.outputs[0]
    ref = reference_hessian(spec, names, of, checking.point(net))
    assert agree(hessian(net, names, of).values, ref, rel=1e-8)


def test_python_api_and_jupyter_forms():
    net = derivator.load("specs/tied_weights.yaml")
    s = derivator.second(net, "w", "b")
    h = derivator.hessian(net, ["w", "b"])
    assert s.value == pytest.approx(h.values[0][1], rel=1e-15) and h.values[0][1] == h.values[1][0]
    assert s._repr_markdown_().startswith("### The second derivative")
    assert r"\frac{\partial^{2} \mathcal{L}}{\partial w\,\partial b}" in s._repr_latex_()
    assert "H &\\approx" in h._repr_latex_() and "Gauss-Newton" in h._repr_markdown_()


def test_cli_hessian_of_a_whole_matrix():
    d = json.loads(run("specs/story3_matrix_form.yaml", "--hessian", "--wrt", "W2,b2", "--check",
                       "--format", "json").output)
    net = load("specs/story3_matrix_form.yaml")
    assert d["hessian"]["names"] == [n for row in net.matrices()["W2"] for n in row] + ["b2_1"]
    assert d["check"]["agrees"] and d["hessian"]["asymmetry"] == 0.0
