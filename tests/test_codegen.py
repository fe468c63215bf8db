"""`--format python`: the generated module, imported and run, against the independent reference engine.

1. For every file in specs/ and for random networks (tests/netgen.py), `gradient(values)` returns the
   target and every derivative asked for, equal to tests/refengine.py (for a file with `data`, averaged
   over the module's DATA, given the parameters only).
2. The module imports only `math` and `decimal` (for numbers beyond float64), runs in an isolated
   interpreter, and says how much arithmetic it does: FORWARD_OPS and GRADIENT_OPS are the operations
   of its two parts, and the gradient costs at most 3x the forward pass on dense networks (the
   cheap-gradient principle).
3. `--wrt NAME` for one parameter, a node, a pre-activation or a whole matrix; hostile file names and
   descriptions; flags that do not apply are one-line errors.
4. At the edges (e^800, logits of 1000, saturated units) the module's numbers are derive's.
"""

from __future__ import annotations

import ast
import importlib.util
import itertools
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from ruamel.yaml import YAML

import derivator
from derivator.cli import derive
from derivator.numbers.checking import point
from derivator.render import python
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
ARITHMETIC = (ast.BinOp, ast.UnaryOp, ast.Call)

COMMON = PROPERTY_SETTINGS
_counter = itertools.count()



def run(*args):
    return CliRunner().invoke(derive, [str(a) for a in args])


def close(a: float, b: float, rel: float = REL, abs_: float = ABS) -> bool:
    return abs(a - b) <= abs_ or abs(a - b) <= rel * max(abs(a), abs(b))


def imported(source: str, folder: Path):
    """The generated text written to a file and imported from it, as a user would."""
    name = f"generated_{next(_counter)}"
    path = folder / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def generated(*args) -> str:
    r = run(*args, "--format", "python")
    assert r.exit_code == 0, r.output
    assert r.stderr == ""
    return r.stdout


def imports(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add("from " + (node.module or "."))
    return names


def parts(source: str) -> tuple[list[ast.stmt], list[ast.stmt]]:
    """The statements of the forward pass and of the backward pass (with the returned dict), split at
    the module's two comments, in the function that computes one sample."""
    lines = source.splitlines()
    forward_at = next(i for i, line in enumerate(lines, 1) if line.strip() == "# forward pass")
    backward_at = next(i for i, line in enumerate(lines, 1) if line.strip().startswith("# backward pass"))
    tree = ast.parse(source)
    function = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.lineno < forward_at
                    and n.end_lineno > backward_at)
    forward = [s for s in function.body if forward_at < s.lineno < backward_at]
    backward = [s for s in function.body if s.lineno > backward_at]
    return forward, backward


def count(statements: list[ast.stmt]) -> int:
    return sum(isinstance(n, ARITHMETIC) for s in statements for n in ast.walk(s))


def check_counts(source: str, module) -> None:
    forward, backward = parts(source)
    assert isinstance(module.FORWARD_OPS, int) and module.FORWARD_OPS > 0
    assert isinstance(module.GRADIENT_OPS, int) and module.GRADIENT_OPS > 0
    assert module.FORWARD_OPS == count(forward)
    assert module.GRADIENT_OPS == count(backward)
    assert module.FORWARD_OPS == python.operations("\n".join(ast.unparse(s) for s in forward))
    assert module.GRADIENT_OPS == python.operations("\n".join(ast.unparse(s) for s in backward))


def reference(path: Path) -> tuple[float, dict[str, float]]:
    spec = YAML(typ="safe").load(path.read_text())
    of = "loss" if "loss" in spec else None
    return evaluate_batch(spec, {}, of=of, formulas=FORMULAS)


def given_values(net) -> dict[str, float]:
    """The file's point; with data, only the parameters (the module has the samples)."""
    values = point(net)
    return {k: v for k, v in values.items() if k in net.params} if net.samples else values


# -- 1. every spec, every parameter ---------------------------------------------------------------
@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_module_for_every_parameter_matches_the_reference_engine(path, tmp_path):
    net = derivator.load(path)
    if not net.params:  # a computational graph with inputs only (CONTRACT section 4): nothing to list
        r = run(path, "--wrt", "all", "--format", "python")
        assert r.exit_code == 2 and "has no parameters" in r.stderr, r.output
        return
    source = generated(path, "--wrt", "all")
    module = imported(source, tmp_path)
    out = module.gradient(given_values(net))
    target, grads = reference(path)
    assert set(out) == {"target", *net.params}
    assert close(out["target"], target), (out["target"], target)
    for name in net.params:
        assert close(out[name], grads[name]), (name, out[name], grads[name])
    assert imports(source) == {"math", "decimal"}  # the standard library only
    check_counts(source, module)


@pytest.mark.parametrize("path", [p for p in SPECS if "data:" not in p.read_text()], ids=lambda p: p.name)
def test_module_for_every_name_matches_the_reference_engine(path, tmp_path):
    """Inputs, nodes (output values) and pre-activations too, from the library's `python.module`."""
    net = derivator.load(path)
    formula_nodes = {n for n, body in (YAML(typ="safe").load(path.read_text()).get("nodes") or {}).items()
                     if "formula" in body}  # no z_NODE (CONTRACT section 4)
    names = [*net.params, *net.inputs, *net.nodes,  # through time, h@2 is a copy of the file's node h
             *("z_" + n for n in net.nodes if n.split("@")[0] not in formula_nodes)]
    module = imported(python.module(net, names, None, str(path)), tmp_path)
    out = module.gradient(point(net))
    _, grads = reference(path)
    for name in names:
        assert close(out[name], grads[name]), (name, out[name], grads[name])


def test_module_runs_in_an_isolated_interpreter(tmp_path):
    """Standard library only: it runs with no site-packages and no derivator on the path."""
    net = derivator.load(SPECS_DIR / "softmax_classifier_layers.yaml")
    (tmp_path / "grad.py").write_text(generated(SPECS_DIR / "softmax_classifier_layers.yaml", "--wrt", "all"))
    script = "import json, sys, grad; print(json.dumps(grad.gradient(json.loads(sys.argv[1]))))"
    r = subprocess.run([sys.executable, "-I", "-S", "-c", f"import sys; sys.path.insert(0, {str(tmp_path)!r}); "
                        + script, json.dumps(given_values(net))], capture_output=True, text=True, timeout=30,
                       cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    target, grads = reference(SPECS_DIR / "softmax_classifier_layers.yaml")
    assert close(out["target"], target)
    for name in net.params:
        assert close(out[name], grads[name]), name


# -- 1b. random networks ---------------------------------------------------------------------------
@seeded
@settings(max_examples=15, **COMMON)
@given(networks())
def test_random_networks_module_matches_the_reference_engine(case):
    spec, of = case
    net = derivator.loads(json.dumps(spec))
    target, grads = evaluate(spec, {}, of=of, formulas=NET_FORMULAS)
    values = point(net)
    names = [*net.params, *net.inputs, *net.nodes, *("z_" + n for n in net.nodes)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "net.yaml"
        path.write_text(json.dumps(spec, indent=1))
        if not net.params:  # as for every format: nothing to differentiate by is a usage error
            r = CliRunner().invoke(derive, [str(path), "--wrt", "all", "--format", "python", "--of", of])
            assert r.exit_code == 2 and "the network has no parameters" in r.stderr
            return
        source = generated(path, "--wrt", "all", "--of", of)
        module = imported(source, Path(tmp))
        every = imported(python.module(net, names, of, str(path)), Path(tmp))
    assert imports(source) == {"math", "decimal"}  # the standard library only
    out = module.gradient(values)
    assert set(out) == {"target", *net.params}
    assert close(out["target"], target), (out["target"], target, json.dumps(spec), of)
    for name in net.params:
        assert close(out[name], grads.get(name, 0.0)), (name, out[name], grads.get(name), json.dumps(spec), of)
    check_counts(source, module)
    out = every.gradient(values)
    for name in names:
        assert close(out[name], grads.get(name, 0.0)), (name, out[name], grads.get(name), json.dumps(spec), of)


# -- 2. the cheap-gradient principle -------------------------------------------------------------------
@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
@pytest.mark.parametrize("layers, width", [(2, 2), (3, 3), (5, 4), (4, 8)])
def test_gradient_costs_at_most_three_forward_passes(layers, width, activation, tmp_path):
    text = dense(width, [width] * (layers - 1) + [1], activation, layers * 10 + width, "squared_error")
    net = derivator.loads(text)
    source = python.module(net, list(net.params), None, f"{layers}x{width}")
    module = imported(source, tmp_path)
    check_counts(source, module)
    assert module.GRADIENT_OPS <= 3 * module.FORWARD_OPS, (module.GRADIENT_OPS, module.FORWARD_OPS)
    target, grads = evaluate(json.loads(text), {})
    out = module.gradient(point(net))
    assert close(out["target"], target)
    for name in net.params:
        assert close(out[name], grads[name]), name


# -- 3. one name, a node, a pre-activation, a whole matrix -----------------------------------------------
def test_wrt_one_parameter_gives_only_it(tmp_path):
    net = derivator.load(STORY4)
    module = imported(generated(STORY4, "--wrt", "w1"), tmp_path)
    out = module.gradient(point(net))
    assert set(out) == {"target", "w1"}
    assert close(out["w1"], 0.0014291881022047)
    assert close(out["target"], derivator.gradient(net).target)


@pytest.mark.parametrize("name", ["h1", "z_h1", "O", "z_O", "I"])
def test_wrt_a_node_or_a_preactivation(name, tmp_path):
    net = derivator.load(STORY4)
    out = imported(generated(STORY4, "--wrt", name), tmp_path).gradient(point(net))
    assert set(out) == {"target", name}
    assert close(out[name], derivator.report(net, name).value), (out[name], derivator.report(net, name).value)


@pytest.mark.parametrize("name", ["O1", "z_O1", "h2", "z_h2"])
def test_wrt_an_output_under_a_fused_loss(name, tmp_path):
    """Sigmoid outputs under binary cross-entropy: the delta is O - y, and dL/dO is asked for by name."""
    path = SPECS_DIR / "two_outputs_bce.yaml"
    net = derivator.load(path)
    out = imported(generated(path, "--wrt", name), tmp_path).gradient(point(net))
    assert close(out[name], derivator.report(net, name).value)
    assert close(out[name], reference(path)[1][name])


def test_wrt_a_whole_matrix_gives_its_entries(tmp_path):
    net = derivator.load(STORY3)
    out = imported(generated(STORY3, "--wrt", "W2"), tmp_path).gradient(given_values(net))
    assert set(out) == {"target", "W2_1_1", "W2_1_2", "W2_1_3"}
    target, grads = reference(Path(STORY3))
    assert close(out["target"], target)
    for name in ("W2_1_1", "W2_1_2", "W2_1_3"):
        assert close(out[name], grads[name]), name


def test_of_a_hidden_node(tmp_path):
    net = derivator.load(STORY4)
    out = imported(generated(STORY4, "--wrt", "all", "--of", "h2"), tmp_path).gradient(point(net))
    target, grads = evaluate(YAML(typ="safe").load(Path(STORY4).read_text()), {}, of="h2")
    assert close(out["target"], target)
    assert out["w4"] == 0.0 and out["w5"] == 0.0 and out["w3"] == 0.0
    assert close(out["w1"], grads["w1"]) and close(out["w2"], grads["w2"])


HOSTILE_NAMES = ['q"""uote\'\'\'s.yaml', 'back\\slash\\.yaml', 'new\nline\r\n.yaml', '"; import os; x = "\'.yaml',
                 "tab\there {x} %s.yaml", "end\\"]
HOSTILE_DESCRIPTION = '"""\'\'\' \\ \\n \n"; raise SystemExit("bad") #\n\\'


@pytest.mark.parametrize("filename", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
def test_hostile_file_names_and_descriptions_still_give_a_module(filename, tmp_path):
    spec = YAML(typ="safe").load(Path(STORY4).read_text())
    spec["description"] = HOSTILE_DESCRIPTION
    path = tmp_path / filename
    path.write_text(json.dumps(spec))
    source = generated(path, "--wrt", "all")
    tree = ast.parse(source)
    assert imports(source) == {"math", "decimal"}  # the standard library only
    assert isinstance(tree.body[0], ast.Expr) and isinstance(tree.body[0].value, ast.Constant)  # the docstring
    out = imported(source, tmp_path).gradient(point(derivator.load(path)))
    assert close(out["w1"], 0.0014291881022047)


# -- errors ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("args", [["--check"], ["--candidate", "x"], ["--candidate", "w1"], ["--matrix"]])
def test_flags_that_do_not_apply_are_one_line_errors(args):
    r = run(STORY4, "--wrt", "w1", "--format", "python", *args)
    assert r.exit_code == 2
    assert r.stdout == ""
    assert r.stderr.startswith(f"{STORY4}: error: ")
    assert r.stderr.endswith("\n") and r.stderr.count("\n") == 1
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("wrt", ["nosuch", "loss"])
def test_a_bad_wrt_is_the_same_error_as_in_text(wrt):
    python = run(STORY4, "--wrt", wrt, "--format", "python")
    text = run(STORY4, "--wrt", wrt)
    assert python.exit_code == text.exit_code == 2
    assert python.stderr == text.stderr
    assert python.stderr.count("\n") == 1


# -- 4. numbers at the edges: the module's numbers are derive's ------------------------------------------
# derive computes in mpmath, whose exponents are unbounded: e^800 is a number there, 0·e^800 is 0, and a
# value is inf only when it is itself beyond float64. The module computes in float64 and, where that
# overflows, again with decimal; a saturated unit's 1 - o is taken from z, as derive takes it.
from tests.test_extremes import EXP_OVERFLOW, LOGITS  # noqa: E402

EDGES = {
    "e^800": EXP_OVERFLOW,  # dL/dw2 = 2(O - y)(1 - O²) e^800 = -inf; dL/dw1 = 0 (w2 = 0), not nan
    "logits of 1000": LOGITS,
    "exp(e^800)": EXP_OVERFLOW.replace("activation: tanh", "activation: exp").replace("w2: 0", "w2: 1"),
    "e^800 / e^800": EXP_OVERFLOW.replace("O: {activation: tanh}", 'O: {activation: "x*exp(-x)"}')
                                 .replace("w2: 0", "w2: 1e-300"),  # huge h, tiny z_O: finite throughout
    "saturated tanh": EXP_OVERFLOW.replace("activation: exp", "activation: tanh").replace("w1: 800", "w1: 300")
                                  .replace("w2: 0", "w2: 300"),  # derivatives of 1e-260, not 0
    "saturated sigmoid, cross-entropy": EXP_OVERFLOW.replace("activation: exp", "activation: sigmoid")
                                  .replace("activation: tanh", "activation: sigmoid")
                                  .replace("squared_error", "binary_cross_entropy").replace("y: 0.5", "y: 0")
                                  .replace("w2: 0", "w2: 400"),  # log(1 - O) at z = 400: finite
    "softplus of 1e300": EXP_OVERFLOW.replace("activation: exp", "activation: softplus").replace("w1: 800", "w1: 1e300")
                                     .replace("w2: 0", "w2: 1e10"),
}


def same(a: float, b: float) -> bool:
    """Equal as derive would print them: both the same infinity, or close."""
    return a == b if math.isinf(a) or math.isinf(b) else close(a, b, 1e-9, 1e-300)


@pytest.mark.parametrize("text", EDGES.values(), ids=EDGES.keys())
def test_module_gives_derives_numbers_at_the_edges(text, tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text(text)
    net = derivator.load(path)
    g = derivator.gradient(net)  # derive --wrt all, in mpmath
    module = imported(generated(path, "--wrt", "all"), tmp_path)
    out = module.gradient(point(net))  # no OverflowError, no nan
    assert not any(math.isnan(v) for v in out.values()), out
    assert same(out["target"], g.target), (out["target"], g.target)
    for r in g.rows:
        assert same(out[r.name], r.value), (r.name, out[r.name], r.value)


def test_module_exp_800_is_inf_and_zero_where_derive_says_so(tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text(EXP_OVERFLOW)
    out = imported(generated(path, "--wrt", "all"), tmp_path).gradient(point(derivator.load(path)))
    assert out["w2"] == -math.inf and out["w1"] == 0.0 and out["target"] == 0.25


def test_module_is_plain_float64_where_float64_suffices(tmp_path):
    module = imported(generated(STORY4, "--wrt", "all"), tmp_path)
    out = module.gradient(point(derivator.load(STORY4)))
    assert all(type(v) is float for v in out.values())  # the second try is for overflow only
    text = EXP_OVERFLOW.replace("activation: exp", 'activation: "log(x)"').replace("w1: 800", "w1: -2")
    path = tmp_path / "log.yaml"
    path.write_text(text)
    assert run(path, "--wrt", "w2").exit_code == 2  # derive: no finite value at the point
    with pytest.raises(ValueError):  # the module: neither, in either try
        imported(generated(path, "--wrt", "all"), tmp_path).gradient(point(derivator.load(path)))
