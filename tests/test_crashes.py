"""Issue 13's crashes and unsafe output: each class with the example that found it and others of its kind.

Folded constants and helpers bounded by digits and exponents, --matrix --check on a checked subset,
--plot at huge values, a failing stdout, files written all or none, the Python API given any value,
names capped at 64 characters, and directives and underflowing literals reported as what they are.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sympy

import derivator
from derivator.load.formula import MAX_FOLDED_DIGITS, FormulaError, define, parse
from tests.conftest import SMALL_NET, SPECS
from tests.hang import assert_clean, bounded, describe, run

STORY3 = SPECS / "story3_matrix_form.yaml"
STORY4 = str(SPECS / "story4_desmos_check.yaml")
X = sympy.Symbol("x", real=True)
NAMES = {"x": X}
ROOT = Path(__file__).resolve().parent.parent


# -- 7, 11: constants folded and helpers expanded stay within the digits and exponents caps ---------
@pytest.mark.parametrize("text, col", [
    ("(1e-200*1e-200)**2", 2),  # 1e-400: the product, before the power reads float(0)
    ("*".join(["1e300"] * 21), 1),  # the integer-string limit, 6,300 digits
    ("(1+1e-300)**256", 1),  # close to 1, yet 77,000 digits exactly
    ("x*1e300*1e300", 1),  # a coefficient of x
    ("1e300*(x+1e300)", 1),  # distributed over a sum
    ("(1e300*x)**2", 1),  # a product's coefficient raised
    ("-(1e300*1e300)", 3),
    ("1/(1e-300*1e-300)", 4),
    ("exp(x)*1e200*1e200*1e200", 1),
])
def test_folded_constants_are_capped_by_their_digits(text, col):
    with bounded(5.0, text):
        with pytest.raises(FormulaError) as e:
            parse(text, NAMES)
    assert e.value.message == f"number out of range: the constants here fold to more than {MAX_FOLDED_DIGITS} digits"
    assert e.value.col == col


@pytest.mark.parametrize("text, value", [
    ("1e-300*1e-99", sympy.Rational(1, 10**399)),  # 400 digits: at the cap, kept exactly
    ("0.1**256", sympy.Rational(1, 10**256)),
    ("(2*1e150)**2", sympy.Integer(4 * 10**300)),
])
def test_folded_constants_within_the_cap_are_exact(text, value):
    assert parse(text, NAMES) == value


@pytest.mark.parametrize("text", ["x**200*x**200", "(x**2*x)**100", "exp(300*log(x))", "(2*x)**300"])
def test_merged_exponents_are_capped(text):
    with pytest.raises(FormulaError, match="exponent larger than 256"):
        parse(text, NAMES)


@pytest.mark.parametrize("body, call, message", [
    ("x*x*x*x*x*x*x*x", "d(d(d(d(d(d(2))))))", "fold to more than 400 digits"),  # 2**262144: 5 GB before
    ("x*x*x*x*x*x*x*x", "d(d(d(d(d(d(x))))))", "exponent larger than 256"),  # x**262144, printed I I I ...
    ("x*x*x*x*x*x*x*x", "d(d(d(d(d(d(x+1))))))", "exponent larger than 256"),
    ("x*1e300", "d(d(x))", "fold to more than 400 digits"),
    ("(x+1)*(x+2)", "d(d(d(d(d(d(d(d(d(d(d(d(d(d(d(d(x))))))))))))))))", "helpers expand past 20000 parts"),
])
def test_helpers_cannot_grow_past_the_caps(body, call, message):
    helpers = {"d": define(["x"], body, NAMES)}
    with bounded(5.0, call):
        with pytest.raises(FormulaError, match=message):
            parse(call, NAMES, helpers, implicit=True)


def test_checking_each_helper_call_costs_only_its_new_parts():
    """Each call's size is checked with one memo for the whole formula: thousands of calls on a large
    argument cost the argument once, not once a call."""
    helpers = {"a": define(["x"], "x+1", NAMES)}
    helpers["b"] = define(["x"], "+".join(["a(x)"] * 30), NAMES, helpers)
    helpers["c"] = define(["x"], "+".join(["b(x)"] * 30), NAMES, helpers)
    big = "*".join(f"(x+{i})" for i in range(400))
    with bounded(5.0, "helpers over a large argument"):
        try:
            parse(f"c({big})", NAMES, helpers)
        except FormulaError as e:
            assert "too large" in e.message


@pytest.mark.parametrize("candidate, message", [
    ("(1e-200*1e-200)**2", "number out of range"),
    ("(1+1e-300)**256", "number out of range"),
    ("I/1e-400", "number 1e-400 underflows to 0"),
])
def test_candidates_with_extreme_constants_are_one_clean_line(candidate, message):
    r = run([STORY4, "--wrt", "w1", "--candidate", candidate])
    assert_clean(r)
    assert r.exit_code == 2 and message in r.stderr, describe(r)


@pytest.mark.parametrize("candidate", ["exp(900)*I", "I*exp(5)**100", "exp(1e-300*1e-99)*I"])
def test_large_constants_inside_functions_are_judged_not_expanded(candidate):
    """exp(900) is E**900 to SymPy's as_base_exp: the diagnosis counted 900 factors (and at exp(10**8), 10**8
    of them: a hang, an OverflowError past 2**63)."""
    r = run([STORY4, "--wrt", "w1", "--candidate", candidate], 5.0)
    assert_clean(r)
    assert r.exit_code == 1 and "does NOT agree" in r.stdout, describe(r)


@pytest.mark.parametrize("candidate", ["exp(100000000)*I", "exp(1e300*1e99)*I", "log(exp(1e300))*I",
                                       "exp(exp(7))*I", "exp(900)*exp(900)*I", "sigmoid(-1e300)*I"])
def test_exp_of_a_huge_constant_is_refused(candidate):
    """SymPy's own sign queries evaluate exp(exp(1e300)) and never finish: exp, sigmoid and softplus of a
    constant stay within 1e±400."""
    r = run([STORY4, "--wrt", "w1", "--candidate", candidate], 5.0)
    assert_clean(r)
    assert r.exit_code == 2 and "of a constant past ±921" in r.stderr, describe(r)


@pytest.mark.parametrize("text", ["(((((x+1e-17)**8+1e-17)**8+1e-17)**8+1e-17)**8+1e-17)**8",
                                  "(((((((x+1)**8+3/7)**8+3/7)**8+3/7)**8+3/7)**8+3/7)**8+3/7)**8"])
def test_powers_of_sums_with_fractions_are_bounded(text):
    """SymPy's sign queries put such powers over one denominator: at eight levels, hours of big integers."""
    with bounded(5.0, text):
        with pytest.raises(FormulaError, match="denominator of more than 100,000 digits"):
            parse(text, NAMES)


def test_a_composed_helper_with_exp_is_evaluated_in_bounded_time():
    """Found by the helper fuzzer: the values of exp(exp(exp(...))) at the points took mpmath hours; a
    function's argument past 1e400 now has no value there."""
    r = run([STORY4, "--wrt", "w1", "--define", "h0(x)=(exp(x)+x)**8*(exp(x)+x)**8", "--candidate",
             "h0(h0(h0(h0(h0(I)))))"], 5.0)
    assert_clean(r)
    assert r.exit_code == 1, describe(r)


def test_the_5gb_helper_example_through_the_command():
    r = run([STORY4, "--wrt", "w1", "--define", "d(x)=x*x*x*x*x*x*x*x", "--candidate", "d(d(d(d(d(d(2))))))"], 5.0)
    assert_clean(r)
    assert r.exit_code == 2 and "fold to more than 400 digits" in r.stderr, describe(r)


# -- 19: a literal that underflows says so --------------------------------------------------------
@pytest.mark.parametrize("text, col", [("x/1e-400", 3), ("log(2e-500)", 5), ("x + 5.5e-999", 5)])
def test_a_literal_that_underflows_to_zero_is_named(text, col):
    with pytest.raises(FormulaError) as e:
        parse(text, NAMES)
    assert "underflows to 0" in e.value.message and e.value.col == col


@pytest.mark.parametrize("text, value", [("x + 0e-500", X), ("x*1e-320", X * sympy.Rational(1, 10**320))])
def test_zero_and_subnormal_literals_are_read(text, value):
    assert parse(text, NAMES) == value


# -- 8: --matrix --check over a checked subset ---------------------------------------------------
def room_for_two_entries() -> int:
    """A check cap that chooses two entries and pays for their float64 differences only."""
    net = derivator.load(STORY3)
    return 2 * 2 * len(net.samples) * (len(net.edges) + len(net.nodes))


@pytest.mark.parametrize("name", ["W1", "b1"])
def test_matrix_check_over_a_subset_says_how_many(monkeypatch, name):
    import derivator.answers.gradient
    from derivator.render.matrixform import as_dict, render_matrix_text

    monkeypatch.setattr(derivator.answers.gradient, "MAX_CHECK_WORK", room_for_two_entries())
    f = derivator.matrix_form(derivator.load(STORY3), name, check=True)
    entries = sum(len(row) for row in f.entries)
    assert len(f.checks) == entries and len(f.checked) == 2 and f.checks[0] is not None and f.checks[-1] is not None
    assert not f.failed
    assert f"2 of the {entries} entries, evenly spaced, are checked" in render_matrix_text(f)
    check = as_dict(f)["check"]
    assert (check["checked"], check["entries"], check["agrees"]) == (2, entries, True)
    assert sum(v is None for row in check["numeric"] for v in row) == entries - 2


def test_matrix_check_through_the_command_over_a_subset(monkeypatch):
    import derivator.answers.gradient

    monkeypatch.setattr(derivator.answers.gradient, "MAX_CHECK_WORK", room_for_two_entries())
    for fmt in ("text", "json", "markdown", "latex"):
        r = run([str(STORY3), "--wrt", "W1", "--matrix", "--check", "--format", fmt])
        assert_clean(r, fmt)
        assert r.exit_code == 0, describe(r)


# -- 9, 16: --plot at huge values, a failing stdout, files all or none ------------------------------
@pytest.mark.parametrize("spec, args, message", [
    (STORY4, ["--wrt", "w1", "--at", "w1=1e308"], "is too large to plot around"),
    (STORY4, ["--wrt", "w1", "--at", "w1=-1.7e308"], "is too large to plot around"),
    (str(SPECS / "story1_linear_node.yaml"), ["--wrt", "w26", "--at", "w36=1e300"], "too large to plot"),
    (str(SPECS / "formula_activation_loss.yaml"), ["--wrt", "w2", "--at", "y=1e154", "--at", "w2=50"],
     "past float64"),
])
def test_plot_at_huge_values_is_one_line_and_no_file(tmp_path, spec, args, message):
    out = tmp_path / "t.png"
    r = run([spec, *args, "--plot", str(out)])
    assert_clean(r)
    assert r.exit_code == 2 and message in r.stderr, describe(r)
    assert list(tmp_path.iterdir()) == []


def test_plot_just_inside_the_range_is_drawn(tmp_path):
    out = tmp_path / "t.png"
    r = run([STORY4, "--wrt", "w1", "--at", "w1=5e299", "--plot", str(out)])
    assert r.exit_code == 0, describe(r)
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_a_failing_file_leaves_no_other_file(tmp_path):
    """--draw succeeds, --plot then fails: neither file is written, nor any temporary file left."""
    r = run([STORY4, "--wrt", "w1", "--at", "w1=1e308", "--draw", str(tmp_path / "n.svg"),
             "--plot", str(tmp_path / "t.png")])
    assert r.exit_code == 2, describe(r)
    assert list(tmp_path.iterdir()) == []


def test_a_failure_while_writing_keeps_the_old_file(tmp_path, monkeypatch):
    import derivator.render.output

    out = tmp_path / "n.svg"
    out.write_text("old")

    def full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(derivator.render.output.os, "replace", full)
    r = run([STORY4, "--wrt", "w1", "--draw", str(out)])
    assert r.exit_code == 2 and r.stderr == f"{STORY4}: error: --draw {out}: cannot write: No space left on device\n"
    assert r.stdout == "" or "Forward pass" in r.stdout  # printed before the rename; the file is what matters
    assert out.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["n.svg"]


def test_a_missing_folder_is_one_line(tmp_path):
    r = run([STORY4, "--wrt", "w1", "--draw", str(tmp_path / "missing" / "n.svg")])
    assert_clean(r)
    assert r.exit_code == 2 and "--draw" in r.stderr and "cannot write: No such file or directory" in r.stderr


def test_files_are_written_with_the_usual_permissions(tmp_path):
    out = tmp_path / "n.svg"
    assert run([STORY4, "--wrt", "w1", "--draw", str(out)]).exit_code == 0
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("args", [["--wrt", "w1"], ["--wrt", "all", "--format", "json"], ["--wrt", "w1", "--format",
                                                                                           "python"]])
def test_a_full_stdout_is_one_error_line_and_no_file(tmp_path, args):
    out = tmp_path / "n.svg"
    with open("/dev/full", "w") as full:
        p = subprocess.run([sys.executable, "-m", "derivator", STORY4, *args, "--draw", str(out)], stdout=full,
                           stderr=subprocess.PIPE, text=True, timeout=120, cwd=ROOT,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert p.returncode == 2, p.stderr
    assert p.stderr == f"{STORY4}: error: cannot write the output to stdout: No space left on device\n"
    assert list(tmp_path.iterdir()) == []


def test_plot_work_is_bounded_whatever_the_data(monkeypatch):
    """Each point of the curve is a pass over every sample: the number of points follows the data."""
    from derivator.numbers import sweep
    from derivator.render import plot

    samples = "".join(f"  - {{x1: {i / 3000}, x2: 0.5, y: {i % 2}}}\n" for i in range(3000))
    net = derivator.loads("inputs: [x1, x2]\nlayers:\n  - {units: 3, activation: sigmoid}\n  - {units: 1, activation: "
                          "sigmoid}\nloss: {type: binary_cross_entropy, target: y}\ndata:\n" + samples)
    values = {n: 0.1 for n in net.params}
    r = derivator.report(net, "W1_1_1", at=values)
    passes = []
    real = sweep.Compiled.forward
    monkeypatch.setattr(sweep.Compiled, "forward", lambda self, *a, **k: passes.append(1) or real(self, *a, **k))
    theta, _, xs, _ = plot.curve(r, values)
    per_point = 3000 * (len(net.edges) + len(net.nodes) + plot.PASS_COST)
    assert plot.MIN_POINTS <= len(xs) < plot.POINTS and len(xs) % 2 == 1 and xs[len(xs) // 2] == theta
    assert len(xs) * per_point <= plot.MAX_PLOT_WORK
    assert len(passes) == 3000 * (len(xs) + 1)  # the curve and the point itself: nothing more


# -- 10: the Python API ---------------------------------------------------------------------------
BAD_VALUES = [None, 3, 1.5, True, b"x", ["w1"], {"a": 1}, {1, 2}, object(), 10**400, float("nan")]


@pytest.mark.parametrize("value", [3, None, 1.5, b"x", ["inputs"], (1,), object()], ids=repr)
def test_loads_of_anything_else_is_a_derivator_error(value):
    with pytest.raises(derivator.DerivatorError, match="loads takes YAML text or a dict"):
        derivator.loads(value)


@pytest.mark.parametrize("depth", [5_000, 50_000])
def test_loads_of_a_deep_dict_is_a_derivator_error(depth):
    d: dict = {}
    inner = d
    for _ in range(depth):
        inner["a"] = inner = {}
    with bounded(10.0, "loads"):
        with pytest.raises(derivator.DerivatorError):
            derivator.loads(d)


@pytest.mark.parametrize("value", BAD_VALUES, ids=repr)
def test_the_api_refuses_any_wrong_value_with_a_derivator_error(value):
    net = derivator.load(STORY4)
    calls = [lambda: derivator.report(net, "w1", at={"w1": value}), lambda: derivator.report(net, value),
             lambda: derivator.report(value, "w1"), lambda: derivator.report(net, "w1", of=value),
             lambda: derivator.report(net, "w1", tolerance=value), lambda: derivator.derive(net, value),
             lambda: derivator.gradient(net, value), lambda: derivator.gradient(net, at=value),
             lambda: derivator.matrix_form(derivator.load(STORY3), value),
             lambda: derivator.report(net, "w1", candidate=value),
             lambda: derivator.report(net, "w1", candidate="d(I)", definitions=value),
             lambda: derivator.report(net, "w1", at={value: 1} if isinstance(value, (int, float, bytes)) else value)]
    for call in calls:
        try:
            call()
        except derivator.DerivatorError as e:
            assert e.message and "\n" not in e.message
        except Exception as e:
            pytest.fail(f"{type(e).__name__}: {e}")


def test_notebook_forms_need_no_import_of_render():
    code = ("import derivator; r = derivator.report(derivator.load('specs/story4_desmos_check.yaml'), 'w1'); "
            "print(r._repr_latex_()[:2])")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert (p.returncode, p.stdout) == (0, "$$\n"), p.stderr


# -- 17: names of at most 64 characters -----------------------------------------------------------
@pytest.mark.parametrize("length, ok", [(64, True), (65, False), (120_000, False)])
def test_names_in_the_file_are_capped(tmp_path, length, ok):
    name = "w" * length
    path = tmp_path / "net.yaml"
    path.write_text(SMALL_NET.replace("w1", name))
    r = run([str(path), "--wrt", "w2"])
    assert_clean(r)
    if ok:
        assert r.exit_code == 0, describe(r)
    else:
        assert r.stderr == (f"{path}:6:12: error: parameter name '{'w' * 24}...' is {length:,} characters long; "
                            "names have at most 64\n")


@pytest.mark.parametrize("args", [["--at", "q" * 65 + "=1"], ["--define", "q" * 65 + "(x)=x", "--candidate", "I"],
                                  ["--define", "d(" + "q" * 65 + ")=1", "--candidate", "I"]])
def test_names_on_the_command_line_are_capped(args):
    r = run([STORY4, "--wrt", "w1", *args])
    assert_clean(r)
    assert r.exit_code == 2 and "characters long; names have at most 64" in r.stderr, describe(r)


@pytest.mark.parametrize("args", [["--wrt", "q" * 100_000], ["--wrt", "w1", "--of", "q" * 100_000],
                                  ["--wrt", "w1", "--candidate", "q" * 3000]])
def test_unknown_long_names_are_shown_cut_short(args):
    r = run([STORY4, *args])
    assert_clean(r)
    assert r.exit_code == 2 and "characters)'" in r.stderr and len(r.stderr) < 400, describe(r)


# -- 19: a %YAML line inside a quoted scalar is text --------------------------------------------------
@pytest.mark.parametrize("scalar", ['"first line\n%YAML 1.1 and more"', "'first line\n%TAG ! x'",
                                    '"a\n%FOO bar"'])
def test_a_directive_line_inside_a_quoted_scalar_is_text(tmp_path, scalar):
    path = tmp_path / "net.yaml"
    path.write_text("description: " + scalar + "\n" + SMALL_NET + "at: {I: 1, b: 0, w1: 1, w2: 1}\n")
    r = run([str(path), "--wrt", "w1"])
    assert r.exit_code == 0, describe(r)
    assert derivator.load(path).description.startswith(("first line %", "a %"))


@pytest.mark.parametrize("text, col", [("%YAML 1.1\n---\n", 1), ("%TAG ! tag:x,2000:\n---\n", 1)])
def test_a_real_directive_is_still_refused(tmp_path, text, col):
    path = tmp_path / "net.yaml"
    path.write_text(text + SMALL_NET)
    r = run([str(path), "--wrt", "w1"])
    assert r.exit_code == 2 and f"{path}:1:{col}: error: only YAML 1.2 is read" in r.stderr, describe(r)
