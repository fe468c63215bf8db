"""Fuzzing the classes of issue 13's crashes: extreme constants folded, helpers composed, the Python API
given arbitrary values, and names of any length. Same settings and seed as tests/test_fuzz.py.

Each would have found its class: products and powers of 1e±300 (the integer-string limit, a math
domain error), helpers whose products grow without bound (gigabytes), a TypeError or RecursionError
from the API, and a 120,000-character name accepted.
"""

from __future__ import annotations

import math

import sympy
from hypothesis import event, given, seed
from hypothesis import strategies as st

import derivator
from derivator.errors import MAX_NAME
from derivator.load import formula
from derivator.load.formula import MAX_EXPONENT, MAX_FOLDED_DIGITS, MAX_PARTS, FormulaError
from tests.conftest import SMALL_NET, SPECS
from tests.hang import BOUND, assert_clean, bounded, run
from tests.test_fuzz import FUZZ, SEED

X = sympy.Symbol("x", real=True)
STORY4 = str(SPECS / "story4_desmos_check.yaml")
EXTREME_LITERALS = ["1e300", "1e-300", "1e308", "1.7976931348623157e308", "5e-324", "2.2250738585072014e-308",
                    "1e-200", "1e200", "1e-400", "1e400", "0.1", "3", "256", "1", "0", "9" * 60, "1.0000000000000002",
                    "0.9999999999999999", "12345678901234567.5"]
CONSTANT_OPS = ["+", "-", "*", "/", "**"]
EXPONENTS = ["2", "3", "16", "255", "256", "257", "-1", "-256", "0.5", "(1/3)"]


def constants(leaves=None):
    """Constant expressions of extreme literals: sums, products, quotients and powers, nested."""
    return st.recursive(leaves or st.sampled_from(EXTREME_LITERALS), lambda c: st.one_of(
        st.tuples(c, st.sampled_from(CONSTANT_OPS), c).map(lambda t: f"({t[0]}){t[1]}({t[2]})"),
        st.tuples(c, st.sampled_from(EXPONENTS)).map(lambda t: f"({t[0]})**{t[1]}"),
        st.lists(c, min_size=2, max_size=30).map("*".join),
        st.tuples(st.sampled_from(["exp", "log", "sqrt", "sigmoid", "tanh", "softplus"]), c).map(
            lambda t: f"{t[0]}({t[1]})"),
        c.map(lambda s: f"-({s})"),
    ), max_leaves=12)


def assert_bounded(expr: sympy.Expr) -> None:
    """What the parser returns keeps its caps: every number's digits, every constant exponent."""
    for e in sympy.preorder_traversal(expr):
        if e.is_Rational:
            assert math.log10(max(abs(e.p), e.q)) < MAX_FOLDED_DIGITS, e
        if e.is_Pow and e.exp.is_Number:
            assert abs(e.exp) <= MAX_EXPONENT, e


def check_parse(text: str, **kwargs) -> sympy.Expr | None:
    with bounded(BOUND, f"parse({text[:60]!r})"):
        try:
            expr = formula.parse(text, {"x": X}, **kwargs)
        except FormulaError as e:
            assert e.message and e.col is not None
            event("refused")
            return None
    assert_bounded(expr)
    event("parsed")
    return expr


@seed(SEED)
@FUZZ
@given(text=constants() | st.tuples(constants(), st.sampled_from(["*x", "+x", "*(x+1)", "/x"])).map("".join))
def test_extreme_constants_fold_within_the_caps(text):
    check_parse(text)


@seed(SEED)
@FUZZ
@given(text=constants(st.sampled_from([*EXTREME_LITERALS, "I", "w1", "O", "z_h1"])))
def test_extreme_constants_in_candidates_through_the_command(text):
    r = run([STORY4, "--wrt", "w1", "--candidate", text])
    event(f"exit {r.exit_code}")
    assert_clean(r)


BODIES = st.recursive(st.sampled_from(["x", "x", "1", "2", "1e300", "1e-300", "(x+1)", "exp(x)"]), lambda c: st.one_of(
    st.tuples(c, st.sampled_from(["+", "*", "-", "/"]), c).map(lambda t: f"({t[0]}){t[1]}({t[2]})"),
    st.lists(c, min_size=2, max_size=8).map("*".join),
    st.tuples(c, st.sampled_from(["2", "3", "8", "16"])).map(lambda t: f"({t[0]})**{t[1]}"),
), max_leaves=8)


@st.composite
def composed_helpers(draw):
    """Helpers h0, h1, ... each calling the ones before it, and a call nesting them."""
    texts = []
    for i in range(draw(st.integers(1, 4))):
        body = draw(BODIES)
        if i and draw(st.booleans()):
            inner = draw(st.sampled_from([f"h{j}" for j in range(i)]))
            body = body.replace("x", f"{inner}(x)", draw(st.integers(1, 3)))
        texts.append(body)
    names = [f"h{i}" for i in range(len(texts))]
    call = "x"
    for _ in range(draw(st.integers(1, 8))):
        call = f"{draw(st.sampled_from(names))}({call})"
    return texts, call.replace("(x)", f"({draw(st.sampled_from(['x', '2', '1e300', 'x+1']))})", 1)


@seed(SEED)
@FUZZ
@given(case=composed_helpers())
def test_composed_helpers_stay_within_the_caps(case):
    texts, call = case
    helpers: dict = {}
    with bounded(BOUND, f"helpers {texts} {call}"):
        try:
            for i, body in enumerate(texts):
                helpers[f"h{i}"] = formula.define(["x"], body, {"x": X}, helpers)
        except FormulaError:
            event("definition refused")
            return
    expr = check_parse(call, helpers=helpers, implicit=True, what="candidate")
    if expr is not None:
        from derivator.graph.equations import tree_size
        assert tree_size(expr) <= MAX_PARTS


@seed(SEED)
@FUZZ
@given(case=composed_helpers())
def test_composed_helpers_through_the_command(case):
    texts, call = case
    args = [STORY4, "--wrt", "w1", "--candidate", call.replace("x", "I")]
    for i, body in enumerate(texts):
        args += ["--define", f"h{i}(x)={body}"]
    r = run(args)
    event(f"exit {r.exit_code}")
    assert_clean(r)


# -- the Python API with arbitrary Python values ----------------------------------------------------
PY_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.integers(10**300, 10**5000), st.floats(), st.text(max_size=8),
              st.binary(max_size=4), st.sampled_from(["w1", "I", "O", "loss", "all", "z_h1", "W1", object()])),
    lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(st.one_of(st.text(max_size=4), st.integers()), c,
                                                                  max_size=3), st.tuples(c)), max_leaves=8)
NET = derivator.load(STORY4)


@seed(SEED)
@FUZZ
@given(which=st.sampled_from(["loads", "report", "report_at", "gradient", "derive", "matrix_form", "report_of"]),
       value=PY_VALUES)
def test_the_api_takes_any_python_value(which, value):
    calls = {"loads": lambda: derivator.loads(value), "report": lambda: derivator.report(NET, value),
             "report_at": lambda: derivator.report(NET, "w1", at=value if isinstance(value, dict) else {"w1": value}),
             "gradient": lambda: derivator.gradient(NET, value, at=value if isinstance(value, dict) else None),
             "derive": lambda: derivator.derive(NET, value), "matrix_form": lambda: derivator.matrix_form(NET, value),
             "report_of": lambda: derivator.report(NET, "w1", of=value, tolerance=value)}
    with bounded(BOUND, which):
        try:
            calls[which]()
        except derivator.DerivatorError as e:
            assert e.message
            event("DerivatorError")
        else:
            event("accepted")


# -- names of random lengths, in the file and on the command line -----------------------------------
NAMES = st.tuples(st.sampled_from("wqZ"), st.integers(0, 3 * MAX_NAME), st.sampled_from(["", "_1", "9"])).map(
    lambda t: t[0] + "a" * t[1] + t[2]) | st.integers(1, 200_000).map(lambda n: "w" * n)


@seed(SEED)
@FUZZ
@given(name=NAMES, where=st.sampled_from(["weight", "node", "at", "define", "wrt"]))
def test_names_of_any_length(tmp_path_factory, name, where):
    path = tmp_path_factory.mktemp("names") / "net.yaml"
    text, args = SMALL_NET, ["--wrt", "w2"]
    if where == "weight":
        text = SMALL_NET.replace("w1", name)
    elif where == "node":
        text = SMALL_NET.replace("h", name).replace("I, " + name, "I, " + name)
    elif where == "at":
        args += ["--at", f"{name}=1"]
    elif where == "define":
        args += ["--define", f"{name}(x)=x", "--candidate", "h"]
    else:
        args = ["--wrt", name]
    path.write_text(text + "at: {I: 1, b: 0, w2: 1}\n")
    r = run([str(path), *args])
    event(f"exit {r.exit_code}")
    assert_clean(r)
    if len(name) > MAX_NAME:
        assert r.exit_code == 2
        if where in ("weight", "at", "define") or (where == "node" and len(name) <= 1024):  # YAML's key limit
            assert f"names have at most {MAX_NAME}" in r.stderr, r.stderr
        assert len(r.stderr) < 500
