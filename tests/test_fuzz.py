"""Fuzzing: mutated spec files, arbitrary formulas and candidates give a result or one clean error line.

Every run of the command must exit with 0, 1 or 2; a 2 is exactly one `...: error: ...` line on
stderr with nothing on stdout (never a traceback, never "internal error"); a 0 or a 1 prints a result
(and `--format json` prints JSON). The formula parser returns a SymPy expression or raises
FormulaError, nothing else. Each run is under the hang guard of tests/hang.py.

The examples are drawn from a fixed seed, so CI sees the same ones every time. A longer run, or one
with other examples:

    DERIVATOR_FUZZ_EXAMPLES=5000 python -m pytest tests/test_fuzz.py
    DERIVATOR_FUZZ_EXAMPLES=5000 DERIVATOR_FUZZ_SEED=7 python -m pytest tests/test_fuzz.py
"""

from __future__ import annotations

import functools
import importlib.util
import json
import math
import os
import re
import string
import sys
from pathlib import Path

import pytest
import sympy
from hypothesis import HealthCheck, event, given, seed, settings
from hypothesis import strategies as st

import derivator
from derivator.load import formula
from derivator.load.formula import FormulaError
from derivator.numbers.checking import point
from derivator.render import python
from derivator.render.desmos import IDENTIFIER, RESERVED, delta_name, desmos_names, sigmoid_name
from tests.conftest import SMALL_NET, SPECS
from tests.hang import BOUND, assert_clean, bounded, run

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from networks import dense

EXAMPLES = int(os.environ.get("DERIVATOR_FUZZ_EXAMPLES", "60"))
SEED = int(os.environ.get("DERIVATOR_FUZZ_SEED", "20240607"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])

SPEC_FILES = sorted(SPECS.glob("*.yaml"))
assert SPEC_FILES, "no specs to mutate"


@functools.cache
def names_of(path) -> list[str]:
    """Names to differentiate by in an unmutated spec: parameters, inputs, nodes, z_NODE, whole matrix_form."""
    net = derivator.load(path)
    names = [*net.params, *net.inputs, *net.nodes, *(f"z_{n}" for n in net.nodes)]
    names += [f"W{layer.index}" for layer in net.layers]
    return names


LAYER_FILES = {path.name for path in SPEC_FILES if "\nlayers:" in path.read_text()}

# -- a. mutations of the files in specs/ --------------------------------------------------------
ODD_SCALARS = ["nan", ".nan", ".NaN", ".inf", "-.inf", "+.inf", "1e400", "-1e400", "1e-400", "-0", "0", '""', "''",
               "null", "~", "true", "no", "[]", "{}", "[[]]", "σ²→ñ", "Ω", "名前", '"\\0"', '"\\x07"', "\x00",
               "a" * 500, '"' + "b" * 500 + '"', "9" * 80, "1_000", "0x1F", "0o17", "1e308", "-1e-320",
               "x", "z_O", "W1", "all", "loss", "exp", "__import__", "'x**10**10'", '"x/(1-x)"', "- a", "? a",
               "&a", "*a", "!!str", "<<", "%", "@", "`", "|", ">", "#", ":", ",", "[", "{", "]", "}"]
EXTREME_NUMBERS = ["1e308", "-1e308", "1e-320", "1e30", "-1e30", "0", "-0", "0.0", "100", "-745", "710", "1e-8",
                   "0.9999999999999999", "1.0000000000000002", "-1", "2", "1e15", "12345678901234567890"]
SCALAR = re.compile(r"(?<=[\s\[{,:])[^\s\[\]{},:#]+")
WEIRD_CHARS = st.one_of(
    st.sampled_from(["\x00", "\x07", "\x1b", "\t", "\r", "\r\n", "\x85", "\u2028", "\u202e", "\ufeff", "\ufffe",
                     "σ", "·", "−", "é", "😀", "\"", "'", "\\", ":", "- ", "[", "{", "&", "*", "!", "|", "#"]),
    st.characters(exclude_categories=("Cs",)),
)


@st.composite
def mutation(draw, lines: list[str]):
    """One edit of the file's lines, as a function of the lines."""
    n = len(lines)
    i = draw(st.integers(0, n - 1))
    kind = draw(st.sampled_from(["delete", "cut", "duplicate", "swap", "scalar", "scalar", "scalar", "insert",
                                 "indent", "join"]))
    line = lines[i]
    if kind == "delete":
        return lines[:i] + lines[i + 1:]
    if kind == "cut":
        return [*lines[:i], line[:draw(st.integers(0, len(line)))], *lines[i + 1:]]
    if kind == "duplicate":
        return [*lines[:i + 1], line, *lines[i + 1:]]
    if kind == "swap":
        j = draw(st.integers(0, n - 1))
        out = list(lines)
        out[i], out[j] = out[j], out[i]
        return out
    if kind == "scalar":
        spots = list(SCALAR.finditer(line))
        if not spots:
            return lines
        m = draw(st.sampled_from(spots))
        new = draw(st.sampled_from(ODD_SCALARS) | st.sampled_from(EXTREME_NUMBERS))
        return [*lines[:i], line[:m.start()] + new + line[m.end():], *lines[i + 1:]]
    if kind == "insert":
        col = draw(st.integers(0, len(line)))
        chars = "".join(draw(st.lists(WEIRD_CHARS, min_size=1, max_size=4)))
        return [*lines[:i], line[:col] + chars + line[col:], *lines[i + 1:]]
    if kind == "indent":
        return [*lines[:i], draw(st.sampled_from([" ", "  ", "\t", "    "])) + line, *lines[i + 1:]]
    return [*lines[:i], line + " " + lines[(i + 1) % n], *lines[i + 2:]]  # join two lines


@st.composite
def mutated_spec(draw):
    path = draw(st.sampled_from(SPEC_FILES))
    lines = path.read_text().split("\n")
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 3]))):
        lines = draw(mutation(lines)) or [""]
    text = "\n".join(lines)
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 9)) == 0:  # now and then a byte that is not UTF-8
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\x80", b"\xed\xa0\x80", b"\xfe\xff"])) + data[at:]
    if draw(st.integers(0, 19)) == 0:
        data = data.replace(b"\n", draw(st.sampled_from([b"\r\n", b"\r"])))
    if draw(st.integers(0, 19)) == 0:
        data = b"\xef\xbb\xbf" + data
    return path.name, data


@st.composite
def flags(draw, spec: str):
    names = names_of(SPECS / spec)  # on first use: a file that does not load fails its examples, not collection
    wrt = draw(st.one_of(st.sampled_from(names), st.just("all")))
    args = ["--wrt", wrt]
    fmt = draw(st.sampled_from(["text", "text", "json", "json", "latex", "markdown", "desmos", "python"]))
    if fmt != "text":
        args += ["--format", fmt]
    if fmt != "python" and draw(st.booleans()):
        args.append("--check")
    if spec in LAYER_FILES and draw(st.integers(0, 3)) == 0:
        args[1] = draw(st.sampled_from([n for n in names if re.fullmatch(r"W\d+", n)]))
        args.append("--matrix")
    if draw(st.integers(0, 4)) == 0:
        value = draw(st.sampled_from(["0", "-0", "1e308", "-1e308", "1e-320", "nan", "inf", "1e400", "", "x", "0.5"]))
        args += ["--at", f"{draw(st.sampled_from(names))}={value}"]
    return args, fmt


@seed(SEED)
@FUZZ
@given(data=st.data())
def test_mutated_specs(tmp_path_factory, data):
    spec, content = data.draw(mutated_spec(), "file")
    args, fmt = data.draw(flags(spec), "flags")
    path = tmp_path_factory.mktemp("mutated") / spec
    path.write_bytes(content)
    r = run([str(path), *args])
    event(f"exit {r.exit_code}")
    assert_clean(r, fmt)


# -- a2. the loader on documents of the right keys and the wrong types ----------------------------
SCALARS = st.one_of(
    st.sampled_from([None, True, False, 0, -1, 1, 3, 0.5, -0.0, 1e308, 1e-320, float("inf"), float("-inf"),
                     float("nan"), "", "I", "O", "h", "x", "y", "w1", "b", "sigmoid", "relu", "leaky_relu", "exp",
                     "x/(1+abs(x))", "(o-y)**4", "formula", "squared_error", "cross_entropy", "all", "loss",
                     "z_h", "W1", "a1_1", "σ", "\x00", "\u202e", "a" * 300]),
    st.integers(-10**30, 10**30), st.floats(), st.text(max_size=8),
)
KEYS = st.sampled_from(["description", "inputs", "nodes", "edges", "output", "loss", "at", "layers", "data",
                        "activation", "bias", "slope", "from", "to", "weight", "units", "type", "target",
                        "formula", "I", "h", "O", "w1", "x1", "y", "W1", "b1", "<<", ""])
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(KEYS, inner, max_size=4)), max_leaves=25)
TOP = st.fixed_dictionaries({}, optional={key: VALUES for key in
                                          ["inputs", "nodes", "edges", "output", "loss", "at", "layers", "data"]})


@seed(SEED)
@FUZZ
@given(doc=TOP)
def test_loader_on_documents_of_the_wrong_types(doc):
    """JSON is YAML 1.2: any such document loads as a network or raises DerivatorError."""
    text = json.dumps(doc, indent=1)  # NaN and Infinity are not YAML: they make a syntax error, also fine
    with bounded(BOUND, "loads"):
        try:
            net = derivator.loads(text)
        except derivator.DerivatorError as e:
            assert e.message and "\n" not in derivator.errors.printable(e.message)
        else:
            assert net.nodes


# -- b. the formula parser on arbitrary text -------------------------------------------------------
X, Y, O = (sympy.Symbol(n, real=True) for n in "xyo")
VARIABLES = {"x": X, "y": Y, "o": O}
PRINTABLE = string.ascii_letters + string.digits + string.punctuation + " \t\n" + "σ·⋅×−^∗²√∞é_"
ATOMS = st.sampled_from(["x", "y", "o", "0", "1", "2", "0.5", ".5", "1.", "1e-3", "1e400", "1e-400", "256", "257",
                         "9" * 61, "nan", "inf", "pi", "E", "I", "oo", "zoo", "True", "None", "__class__",
                         "__builtins__", "x.real", "'a'", "b'a'", "[]", "()", "{}", "...", "lambda: 1", "z_O", "_", "j",
                         "1j", "0x10", "1_0", "x[0]", "not x", "f", "d"])
FUNCS = [*formula.FUNCTIONS, "factorial", "gamma", "eval", "exec", "__import__", "open", "getattr", "Max",
         "Heaviside", "print", "d", "s", "f"]
OPS = ["+", "-", "*", "/", "**", "^", "//", "%", "@", "<", "==", " and ", " if x else ", "·", "×", "−", " ", ",", "!"]


def formulas():
    """Mostly well-formed formulas with some poison in them, and plain arbitrary text."""
    tree = st.recursive(ATOMS, lambda c: st.one_of(
        st.tuples(c, st.sampled_from(OPS), c).map("".join),
        st.tuples(st.sampled_from(FUNCS), c).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(st.sampled_from(FUNCS), c, c).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        c.map(lambda s: f"({s})"),
        c.map(lambda s: f"-{s}"),
        st.tuples(c, st.sampled_from(["**", "^"]), st.sampled_from(["2", "256", "257", "-1", "0.5", "10**10",
                                                                    "(2**8)", "x"])).map("".join),
    ), max_leaves=20)
    return st.one_of(tree, st.text(PRINTABLE, max_size=80), st.text(max_size=30),
                     st.integers(1, 200).map(lambda n: "(" * n + "x" + ")" * n),
                     st.integers(1, 3000).map(lambda n: "+".join(["x"] * n)))


def valid_formulas(names=("x",)):
    """Formulas of the language only: the derivation, the check and the printers get to work on them."""
    atoms = st.one_of(st.sampled_from(names), st.sampled_from(["0", "1", "2", "0.5", "3", "1e-3", "100", "710", "-1"]))
    return st.recursive(atoms, lambda c: st.one_of(
        st.tuples(c, st.sampled_from(["+", "-", "*", "/", "**", "^"]), c).map(lambda t: f"({t[0]}){t[1]}({t[2]})"),
        st.tuples(st.sampled_from(list(formula.FUNCTIONS)), c).map(lambda t: f"{t[0]}({t[1]})"),
        c.map(lambda s: f"-({s})"),
    ), max_leaves=8)


def check_parse(text: str, **kwargs) -> None:
    with bounded(BOUND, f"parse({text[:60]!r})"):
        try:
            expr = formula.parse(text, VARIABLES, **kwargs)
        except FormulaError as e:
            assert e.message
            assert e.col is not None and 1 <= e.col <= max(len(text), 1) + 1, (e.col, len(text), e.message)
        else:
            assert isinstance(expr, sympy.Expr), type(expr)
            assert expr.free_symbols <= set(VARIABLES.values()), expr.free_symbols
            assert not expr.has(sympy.nan, sympy.zoo, sympy.oo, sympy.I)


@seed(SEED)
@FUZZ
@given(text=formulas())
def test_parse_arbitrary_text(text):
    check_parse(text)


@seed(SEED)
@FUZZ
@given(text=formulas())
def test_parse_arbitrary_text_by_hand(text):
    """The candidate's mode: products by juxtaposition, helpers defined by the user."""
    helpers = {}
    helpers["s"] = formula.define(["x"], "1/(1+exp(-x))", VARIABLES)
    helpers["d"] = formula.define(["x"], "s(x)*(1-s(x))", VARIABLES, helpers)
    check_parse(text, helpers=helpers, implicit=True, what="candidate")


ACTIVATION_FILE = SMALL_NET.replace("O: {activation: sigmoid}", "O: {activation: ACTIVATION}") + """\
LOSS
at: {I: 0.7, w1: 0.5, w2: -1.5, b: 0.1, y: 0.25}
"""


@seed(SEED)
@FUZZ
@given(act=valid_formulas() | formulas(), loss=st.none() | valid_formulas(("o", "y")) | formulas(),
       flags=st.sampled_from([[], ["--check"], ["--format", "json"], ["--check", "--format", "json"],
                              ["--wrt", "all", "--check"], ["--format", "python"], ["--format", "desmos"]]))
def test_formula_activations_and_losses_through_the_command(tmp_path_factory, act, loss, flags):
    text = ACTIVATION_FILE.replace("ACTIVATION", json.dumps(act, ensure_ascii=False))
    text = text.replace("LOSS", "" if loss is None else
                        "loss: {type: formula, target: y, formula: " + json.dumps(loss, ensure_ascii=False) + "}")
    path = tmp_path_factory.mktemp("formula") / "net.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    args = [str(path), *(flags if "--wrt" in flags else ["--wrt", "w1", *flags])]
    r = run(args)
    event(f"exit {r.exit_code}")
    assert_clean(r, "json" if "json" in flags else "text")


# -- c. the candidate parser through the command -----------------------------------------------------
STORY4 = str(SPECS / "story4_desmos_check.yaml")
STORY4_NAMES = ["I", "w1", "w2", "w3", "w4", "w5", "h1", "h2", "h3", "O", "z_h1", "z_h2", "z_h3", "z_O"]
HAND_ATOMS = st.one_of(ATOMS, st.sampled_from(STORY4_NAMES), st.sampled_from(["σ(z_O)", "d(z_h1)", "s(O)"]))
HAND_OPS = [*OPS, "", " ", "·", "⋅", "×", "−"]


def candidates():
    tree = st.recursive(HAND_ATOMS, lambda c: st.one_of(
        st.tuples(c, st.sampled_from(HAND_OPS), c).map("".join),
        st.tuples(st.sampled_from([*FUNCS, "σ"]), c).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(c, c).map(lambda t: f"{t[0]}({t[1]})"),
        c.map(lambda s: f"({s})"),
    ), max_leaves=24)
    return st.one_of(tree, st.text(PRINTABLE + "".join(STORY4_NAMES), max_size=80), st.text(max_size=20))


DEFINITIONS = st.one_of(
    st.sampled_from(["s(x)=1/(1+exp(-x))", "d(x)=s(x)*(1-s(x))", "f(a,b)=a*b", "g()=1", "h1(x)=x", "exp(x)=x",
                     "d(x)=d(x)", "s(x)=x**256", "q(x)=q", "(x)=1", "s=1", "s(x)", "s(x)==1", "s(1)=1", "s(x,x)=x",
                     "σ(x)=x", "__import__(x)=x", "t(x)=" + "x" * 5000]),
    st.tuples(st.sampled_from(["s", "d", "f", "O", "w1", "z_O", "all", "_", "x"]),
              st.sampled_from(["(x)", "(x, y)", "()", "(O)", "(x", ""]), st.sampled_from(["=", "==", ":=", " = "]),
              candidates()).map("".join),
)


@seed(SEED)
@FUZZ
@given(candidate=candidates(), defines=st.lists(DEFINITIONS, max_size=3),
       wrt=st.sampled_from(["w1", "w4", "I", "h2", "z_h1", "O"]), fmt=st.sampled_from(["text", "json", "markdown"]))
def test_candidates_through_the_command(candidate, defines, wrt, fmt):
    args = [STORY4, "--wrt", wrt, "--candidate", candidate, "--format", fmt]
    for d in defines:
        args += ["--define", d]
    r = run(args)
    event(f"exit {r.exit_code}")
    assert_clean(r, fmt)


@pytest.mark.parametrize("candidate", ["", " ", "\x00", "(" * 5000, "x" * 5000, "O" * 2000, "O(" * 150 + ")" * 150,
                                       "d(" * 120 + "z_O" + ")" * 120, "__import__('os')", "O.__class__",
                                       "w1**10**10", "(w1**256)**256", "I" + "·I" * 1999], ids=repr)
def test_candidate_edge_cases(candidate):
    defines = ["--define", "s(x)=1/(1+exp(-x))", "--define", "d(x)=s(x)*(1-s(x))"]
    assert_clean(run([STORY4, "--wrt", "w1", "--candidate", candidate, *defines]))


# -- d. the specs at extreme points: no crash, and no false alarm from --check -----------------------
EXTREME_VALUES = ["1e308", "-1e308", "1e-320", "1e-300", "1e30", "-1e30", "1e154", "1e200", "0", "-0", "100", "-745",
                  "710", "1e-8", "1000", "-1000", "50", "-50"]


@functools.cache
def spec_net(name: str):
    return derivator.load(SPECS / name)  # on first use, as names_of


@seed(SEED)
@FUZZ
@given(data=st.data())
def test_specs_at_extreme_points(data):
    """The unmutated specs, with some values of the point pushed to the edges of float64 (CONTRACT: the
    derivative is right, so a check that DISAGREES is a false alarm)."""
    spec = data.draw(st.sampled_from(SPEC_FILES), "spec")
    net = spec_net(spec.name)
    args, fmt = data.draw(flags(spec.name), "flags")
    for name, value in data.draw(st.lists(st.tuples(st.sampled_from([*net.params, *net.inputs, *net.targets]),
                                                    st.sampled_from(EXTREME_VALUES)), min_size=1, max_size=4), "at"):
        args += ["--at", f"{name}={value}"]
    r = run([str(spec), *args])
    event(f"exit {r.exit_code}")
    assert_clean(r, fmt)
    # exit 1 only for an inconclusive check (no numbers resolve it), never for a disagreement
    assert r.exit_code != 1 or ("DISAGREES" not in r.stdout and "inconclusive" in r.stdout.lower()), r.stdout[-3000:]


# -- e. verdicts: kinks where a kinked primitive sits, and candidates that are wrong only elsewhere ---
KINKED_PIECES = ["relu(x)", "abs(x)", "max(x, 2*x)", "min(x, -x)", "max(x, x^2)", "relu(-x)", "min(x, 0)", "x"]


def kinked_formulas():
    """Formulas in x each of whose kinked primitives has its kink at x = 0: smooth there (relu(x)^2,
    x/(1+abs(x)), relu(x) - relu(-x)) or not (relu(x), abs(x)*sin(x) + relu(x))."""
    leaves = st.sampled_from(KINKED_PIECES) | st.sampled_from(["1", "2", "0.5"])
    return st.recursive(leaves, lambda c: st.one_of(
        st.tuples(c, st.sampled_from(["+", "-", "*"]), c).map(lambda t: f"({t[0]}){t[1]}({t[2]})"),
        st.tuples(st.sampled_from(["sin", "tanh", "sigmoid", "exp"]), c).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(c, st.sampled_from(["2", "3"])).map(lambda t: f"({t[0]})^{t[1]}"),
        c.map(lambda s: f"({s})/(1 + abs(x))"),
    ), max_leaves=5)


KINK_NET = """\
inputs: [I]
nodes:
  h: {activation: ACT}
  O: {activation: sigmoid}
edges:
  - [I, h, w1]
  - [h, O, w2]
output: O
LOSS
at: {I: 1, w1: 0, w2: 0.7, y: 0.3}
"""


@seed(SEED)
@FUZZ
@given(f=kinked_formulas(), where=st.sampled_from(["activation", "loss", "penalty"]),
       flags=st.sampled_from([["--wrt", "w1", "--check"], ["--wrt", "all", "--check"], ["--wrt", "I", "--check"]]))
def test_a_kinked_primitive_at_its_kink_never_makes_a_false_disagreement(tmp_path_factory, f, where, flags):
    """At x = 0 every kinked primitive of f sits on its kink. --check names a kink (where the target
    really has one) or compares (where it is smooth), and the derivative's value is the target's slope
    there: it never DISAGREES."""
    act = f if where == "activation" else "identity"
    loss = {"activation": "loss: {type: squared_error, target: y}",
            "loss": "loss: {type: formula, target: y, formula: " + json.dumps(re.sub(r"\bx\b", "(o - y)", f)) + "}",
            "penalty": "loss: {type: squared_error, target: y}\nparameters: {c: 0}\npenalty: "
                       + json.dumps(re.sub(r"\bx\b", "c", f))}[where]
    text = KINK_NET.replace("ACT", json.dumps(act)).replace("LOSS", loss)
    if where == "loss":
        text = text.replace("w1: 0, w2: 0.7", "w1: 0.3, w2: 1").replace("O: {activation: sigmoid}", "O: {}")
    path = tmp_path_factory.mktemp("kink") / "net.yaml"
    path.write_text(text)
    args = [*flags] if where != "penalty" else [flags[0], "c" if flags[1] != "all" else "all", "--check"]
    r = run([str(path), *args])
    event(f"exit {r.exit_code}; {'kink' if 'not differentiable' in r.stdout else 'smooth'}")
    assert_clean(r)
    assert r.exit_code != 1, r.stdout[-3000:]


SPEC_NETS = [p for p in SPEC_FILES if "\nlayers:" not in p.read_text()]


@functools.cache
def _derivation(name: str, wrt: str):
    from derivator.symbolic.derive import derive
    return derive(spec_net(name), wrt)


@st.composite
def spec_derivatives(draw):
    """A spec, a parameter or input, and its point, with the parameters scaled out to saturation."""
    path = draw(st.sampled_from(SPEC_NETS))
    net = spec_net(path.name)
    wrt = draw(st.sampled_from(list(net.params) if net.samples else [*net.params, *net.inputs]))
    scale = draw(st.sampled_from([1, 1, 10, 60]))
    from derivator.numbers import checking
    point = checking.samples(net, checking.point(net, {p: v * scale for p, v in net.at.items() if p in net.params}))
    return _derivation(path.name, wrt), point[0]


@st.composite
def random_derivatives(draw):
    """A random network of tests/netgen.py (relu and leaky relu units among its activations), a
    parameter or input, and its point."""
    from derivator.numbers import checking
    from derivator.symbolic.derive import derive
    from tests.netgen import networks

    spec, of = draw(networks(max_nodes=4))
    net = derivator.loads(json.dumps(spec))
    wrt = draw(st.sampled_from([*net.params, *net.inputs]))
    return derive(net, wrt, of), checking.point(net)


def _muls(e, out):
    if e.is_Mul and any(a.is_Symbol for a in e.args):
        out.append(e)
    for a in e.args:
        _muls(a, out)
    return out


@seed(SEED)
@FUZZ
@given(case=spec_derivatives() | random_derivatives(), data=st.data())
def test_a_candidate_made_wrong_never_agrees(case, data):
    """The right derivative with a factor perturbed, scaled, negated, a weight or a step dropped, or a
    small term added must never agree, saturated or not; written with activations of z instead of node values,
    it must never be rejected."""
    from derivator.graph.network import symbol, z_symbol
    from derivator.graph.primitives import leaky_step
    from derivator.judge.candidate import judge

    d, point = case
    true = d.result
    kind = data.draw(st.sampled_from(["right", "scale", "sign", "perturb", "drop", "add", "unstep"]), "mutation")
    muls = _muls(true, [])
    cand = {"right": true, "scale": 2 * true, "sign": -true, "perturb": true * (1 + sympy.Rational(1, 10**6))}.get(kind)
    if kind == "add":
        if not d.net.params:
            return
        cand = true + sympy.Rational(1, 1000) * symbol(data.draw(st.sampled_from(sorted(d.net.params)), "p"))
    if kind == "drop":
        if not muls:
            return
        m = data.draw(st.sampled_from(muls), "factor")
        w = data.draw(st.sampled_from([a for a in m.args if a.is_Symbol]), "weight")
        cand = true.xreplace({m: m / w})
    if kind == "unstep":  # a relu's or a max's step forgotten: equal on one side of its kink only
        steps = sorted(true.atoms(sympy.Heaviside, leaky_step), key=sympy.default_sort_key)
        if not steps:
            return
        cand = true.xreplace({data.draw(st.sampled_from(steps), "step"): sympy.S.One})
    if kind == "right":  # node values written as their activations of z: sigmoid(z_O) for O, and so on
        cand = true.xreplace({symbol(n): node.activation.f(z_symbol(n)) for n, node in d.net.nodes.items()
                              if not node.is_formula and node.group is None and symbol(n) in true.free_symbols})
    if kind != "right" and true == 0:
        return
    one_softmax = d.net.loss is not None and d.net.loss.type == "cross_entropy" and len(d.net.outputs) == 1
    if kind != "right" and one_softmax:  # a softmax of one output is 1 and its target must be 1: (1 - y) h1 is 0,
        return  # so 2 (1 - y) h1 rightly agrees with it (found once the new specs shifted hypothesis's draws)
    with bounded(BOUND, f"judge({kind})"):
        v = judge(d, cand, point)
    event(f"{kind}: {'agrees' if v.agrees else 'inconclusive' if v.inconclusive else 'does not agree'}")
    if kind != "right" and v.pairs and all(t == 0 for _, t in v.pairs):
        return  # the derivative is 0 at every point compared (a weight of 0 before it): twice 0 is still right
    if kind == "right":
        assert v.agrees or v.inconclusive, (str(cand), v.method, v.pairs[:3])
    elif kind in ("scale", "sign", "perturb") and v.pairs and all(t == 0 for _, t in v.pairs):
        assert v.agrees  # 0 wherever the loss admits its targets (1 - y with one softmax target, y = 1): so is 2·0
    else:
        assert not v.agrees, (kind, str(cand), v.method)


# -- f. Desmos names: one valid identifier for every name, none reserved --------------------------------
# A small alphabet, so that names collide once their underscores are dropped (w_1, w1, w11, wu1, W1_1_21...).
NAME = st.from_regex(r"[wWsxyeDFu][w1u_0n2s]{0,5}", fullmatch=True).filter(lambda n: "__" not in n)


@seed(SEED)
@FUZZ
@given(names=st.lists(NAME, min_size=1, max_size=30, unique=True))
def test_desmos_names_are_one_to_one_valid_and_free(names):
    helper = sigmoid_name(names)
    forms = desmos_names([*names, "D", "F"], taken=frozenset({helper}))
    assert len(set(forms.values())) == len(forms)  # one to one
    assert helper not in forms.values() and not RESERVED & set(forms.values())
    assert all(IDENTIFIER.fullmatch(f) for f in [*forms.values(), helper]), forms
    deltas = {delta_name(f) for f in forms.values()}
    assert len(deltas) == len(forms) and not deltas & set(forms.values())
    for n in names:  # a name that shares its spelling with no other keeps it: w_1 alone is w_{1}
        if own(n) not in RESERVED | {helper} and [own(m) for m in [*names, "D", "F"]].count(own(n)) == 1:
            assert forms[n] == own(n)


def own(name: str) -> str:
    """A name's own Desmos spelling: w_1 -> w_{1}, z_h1 -> z_{h1}, D_ -> D."""
    rest = name[1:].replace("_", "")
    return name[0] + (f"_{{{rest}}}" if rest else "")


# -- g. stacks of units at large points: numbers beyond float64, found in bounded work -----------------
# exp(e^800) is a number in mpmath and exp(exp(e^800)) is not; tanh of either is 1. Every run gives a
# value (inf with the note where it is beyond float64), or one error line saying the numbers are out of
# reach; a check never disagrees.
STACKED = ["exp", "exp", "softplus", "tanh", "sigmoid", "identity", "swish", "elu", '"exp(exp(x))"', '"exp(x)^3"',
           '"sin(x)"', '"log(1+exp(x))"', '"x*exp(-x)"', '"sqrt(1+x^2)"']
LARGE = ["1", "5", "20", "100", "800", "1e4", "1e100", "1e300", "-800", "-1e300", "0.5"]


@st.composite
def stacks(draw):
    acts = draw(st.lists(st.sampled_from(STACKED), min_size=1, max_size=4))
    names = [f"h{i}" for i in range(1, len(acts) + 1)]
    nodes = ", ".join(f"{n}: {{activation: {a}}}" for n, a in zip(names, acts, strict=True))
    edges = ", ".join(f"[{u}, {v}, w{i}]" for i, (u, v) in enumerate(zip(["x", *names[:-1]], names, strict=True), 1))
    at = ", ".join(f"w{i}: {draw(st.sampled_from(LARGE))}" for i in range(1, len(acts) + 1))
    loss = draw(st.sampled_from(["", "loss: {type: squared_error, target: y}\n"]))
    return (f"inputs: [x]\nnodes: {{{nodes}}}\nedges: [{edges}]\noutput: {names[-1]}\n{loss}"
            f"at: {{x: {draw(st.sampled_from(['1', '-1', '2']))}, {at}{', y: 0.5' if loss else ''}}}\n")


@seed(SEED)
@FUZZ
@given(text=stacks(), flags=st.sampled_from([["--wrt", "w1", "--check"], ["--wrt", "all", "--check"],
                                             ["--wrt", "w1", "--format", "json", "--check"],
                                             ["--wrt", "w1", "--candidate", "x"], ["--wrt", "w1", "--format", "desmos"],
                                             ["--wrt", "all", "--format", "python"]]))
def test_stacks_of_units_at_large_points(tmp_path_factory, text, flags):
    path = tmp_path_factory.mktemp("stack") / "net.yaml"
    path.write_text(text)
    r = run([str(path), *flags])
    event(f"exit {r.exit_code}")
    assert_clean(r, "json" if "json" in flags else "python" if "python" in flags else "text")
    if r.exit_code == 2:
        assert "out of reach" in r.stderr or "no finite value" in r.stderr or "not differentiable" in r.stderr, r.stderr
    if "--check" in flags:  # agrees, or inconclusive (exit 1, its own sentence): never a false alarm
        assert "DISAGREES" not in r.stdout, r.stdout[-2000:]
        if "json" in flags and r.exit_code != 2:
            c = json.loads(r.stdout)["check"]
            assert c["agrees"] or c.get("inconclusive"), c


# -- h. random lattices: nested forms past their budget, every writer --------------------------------
FEWER = settings(FUZZ, max_examples=max(1, EXAMPLES // 5))  # each example a network of hundreds of nodes


@seed(SEED)
@FEWER
@given(depth=st.integers(8, 40), width=st.integers(2, 3), loss=st.sampled_from([None, "squared_error"]),
       flags=st.sampled_from([["--format", "desmos"], ["--candidate", "x1"], ["--candidate", "x1", "--format", "json"],
                              ["--candidate", "x1", "--format", "markdown"], ["--format", "latex", "--standalone"],
                              ["--format", "json"], []]))
def test_random_lattices_print_within_the_nested_budget(tmp_path_factory, depth, width, loss, flags):
    path = tmp_path_factory.mktemp("lattice") / "net.json"
    path.write_text(dense(width, [width] * depth + [1], ["sigmoid", "tanh"], depth, loss))
    r = run([str(path), "--wrt", "W1_1_1", *flags])
    event(f"exit {r.exit_code}")
    assert_clean(r, "json" if "json" in flags else "text")
    assert r.exit_code in (0, 1) and len(r.stdout) < 3_000_000  # the budget's 20,000 factors, and linear parts


# -- i. --wrt all --check on deep and wide shapes: every kind of work counted ---------------------------
@seed(SEED)
@FEWER
@given(n=st.integers(20, 160), act=st.sampled_from(["sigmoid", "tanh", "softplus", "exp", "swish"]),
       w=st.sampled_from(["0.5", "0.9", "1.5", "-2", "0.01"]), wide=st.booleans())
def test_deep_and_wide_checks_finish_and_never_disagree(tmp_path_factory, n, act, w, wide):
    if wide:
        text = dense(n // 4, [n // 4, 1], act, n, "squared_error")
    else:
        nodes = ", ".join(f"h{i}: {{activation: {act}, bias: b{i}}}" for i in range(1, n + 1))
        edges = ", ".join(f"[{'x' if i == 1 else f'h{i - 1}'}, h{i}, w{i}]" for i in range(1, n + 1))
        at = ", ".join(f"w{i}: {w}, b{i}: 0.1" for i in range(1, n + 1))
        text = (f"inputs: [x]\nnodes: {{{nodes}}}\nedges: [{edges}]\noutput: h{n}\n"
                f"loss: {{type: squared_error, target: y}}\nat: {{x: 1, y: 0.5, {at}}}\n")
    path = tmp_path_factory.mktemp("deep") / "net.yaml"
    path.write_text(text)
    r = run([str(path), "--wrt", "all", "--check"], seconds=20.0)
    event(f"exit {r.exit_code}")
    assert_clean(r)
    assert "DISAGREES" not in r.stdout, r.stdout[-3000:]


# -- j. the generated module at extreme points: derive's numbers, never an OverflowError --------------
@seed(SEED)
@FUZZ
@given(data=st.data())
def test_module_gives_derives_numbers_at_extreme_points(tmp_path_factory, data):
    spec = data.draw(st.sampled_from(SPEC_FILES), "spec")
    net = spec_net(spec.name)
    if net.samples or not net.params:
        return
    at = dict(data.draw(st.lists(st.tuples(st.sampled_from(net.params), st.sampled_from(EXTREME_VALUES).map(float)),
                                 min_size=1, max_size=3), "at"))
    with bounded(BOUND, "derive and the module"):
        try:
            g = derivator.gradient(net, at=at)
        except derivator.DerivatorError:
            return  # no value at that point: the module need not have one either
        if g.missing:
            return
        folder = tmp_path_factory.mktemp("module")
        (folder / "m.py").write_text(python.module(net, list(net.params)))
        loaded = importlib.util.spec_from_file_location("m", folder / "m.py")
        module = importlib.util.module_from_spec(loaded)
        loaded.loader.exec_module(module)
        try:
            out = module.gradient(point(net, at))
        except (ValueError, ZeroDivisionError):  # no finite value in float64 or decimal: as derive's errors
            return
    # Sums: the module's are float64's, left to right, derive's exactly rounded, so where terms cancel
    # (1e30 - 1e30 + 6) finite values may differ; beyond float64 both say inf, with its sign.
    plain = max(abs(v) for v in at.values()) < 1e15
    for r in g.rows:
        a, b = out[r.name], r.value
        assert not math.isnan(a), (r.name, a, b)
        if math.isinf(b):
            assert a == b, (r.name, a, b)
        elif plain:  # float64's own cancellation (o - t at a saturated o) is the module's: 1e-12, as --check
            assert abs(a - b) <= 1e-6 * max(abs(a), abs(b)) + 1e-12, (r.name, a, b)
