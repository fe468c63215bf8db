"""Numbers far beyond float64: found in bounded work, printed as inf with a note, or refused in one line.

mpmath's numbers have unbounded exponents, but its exp of a huge argument costs as many bits as the
argument has digits (and above 180 digits of precision it squares e that many times), and tanh of
one overflows inside mpmath. `graph/reach.py` bounds that work; these tests run towers of exp at
large points through every command under a CPU bound (tests/hang.py), never a wall-time one.
"""

from __future__ import annotations

import json
import math

import mpmath
import pytest

import derivator
from derivator.graph import reach
from tests.hang import assert_clean, bounded, run

TWO = """\
inputs: [x]
nodes: {h: {activation: "ACT"}, O: {activation: OUT}}
edges: [[x, h, w1], [h, O, w2]]
output: O
loss: {type: squared_error, target: y}
at: {x: 1, w1: W1, w2: 1, y: 0.5}
"""
CHAIN = """\
inputs: [x]
nodes: {h: {activation: exp}, k: {activation: exp}, j: {activation: exp}, O: {}}
edges: [[x, h, w1], [h, k, w2], [k, j, w3], [j, O, w4]]
output: O
at: {x: 1, w1: W1, w2: 1, w3: 1, w4: 1}
"""
COMMANDS = [["--wrt", "w1"], ["--wrt", "w1", "--check"], ["--wrt", "all", "--check"],
            ["--wrt", "w1", "--format", "json", "--check"], ["--wrt", "w1", "--candidate", "x"],
            ["--wrt", "w2", "--format", "desmos"], ["--wrt", "all", "--format", "json"]]


def two(act: str, out: str, w1: str) -> str:
    return TWO.replace("ACT", act).replace("OUT", out).replace("W1", w1)


def derive(tmp_path, text, args):
    path = tmp_path / "net.yaml"
    path.write_text(text)
    r = run([str(path), *args])
    assert_clean(r, "json" if "json" in args else "text")
    return r


# -- the class: towers of exp at large points, through every command ---------------------------------
# (file, what every command must say): inf with the note where the value is beyond float64 but within
# reach; 0 where a saturated unit swallows it; one error line where the numbers are out of reach.
CASES = [
    (two("exp(exp(x))", "identity", "800"), "inf"),  # exp(e^800): a number with a 1,155-bit exponent
    (two("exp", "exp", "800"), "inf"),  # the same, as two exp units
    (two("exp", "exp", "1e4"), "inf"),
    (two("softplus", "exp", "1e300"), "inf"),
    (two("exp(exp(x))", "tanh", "800"), "0"),  # tanh of exp(e^800) is 1 to every digit: (1 - O²) is 0
    (two("exp(exp(x))", "sigmoid", "800"), "0"),
    (two("exp", "tanh", "1e300"), "0"),
    (two("exp(exp(x))", "exp", "800"), "out of reach"),  # exp(exp(e^800)): no precision can hold it
    (two("exp(exp(x))", "identity", "1e5"), "out of reach"),
    (CHAIN.replace("W1", "10"), "out of reach"),  # the third exp of e^10 takes exp(10^9565)
    (CHAIN.replace("W1", "5"), "inf"),  # exp(e^148) = exp(2.4e64): within reach
]


@pytest.mark.parametrize("text, outcome", CASES, ids=[f"{i}-{o}" for i, (_, o) in enumerate(CASES)])
@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_towers_of_exp_finish_and_say_what_they_found(tmp_path, text, outcome, args):
    r = derive(tmp_path, text, args)
    if outcome == "out of reach":
        assert r.exit_code == 2 and "out of reach" in r.stderr, r.stderr
        assert "past 2^16384 (about 10^4932) are not evaluated" in r.stderr
        return
    if "--candidate" in args:  # a wrong candidate, judged: exit 1 for that, with its verdict
        assert r.exit_code == 1 and "Verdict: the candidate does NOT agree" in r.stdout, r.output
        return
    assert r.exit_code == 0, r.output  # never a disagreement: both sides are beyond float64, or both 0
    if "json" in args:
        out = json.loads(r.stdout)
        value = out["value"] if "value" in out else out["gradient"]["w1"]
        assert value == (None if outcome == "inf" else 0.0)  # JSON has no inf: null, as the README says
    elif args[1] == "w1" and "desmos" not in args:
        shown = "inf (beyond float64's range" if outcome == "inf" else "= 0\n"
        assert shown in r.stdout


def test_a_value_within_reach_is_right_at_every_precision():
    # d/dw1 of exp(exp(w1 x)) at w1 = 5, x = 1: exp(e^5) e^5 = 2.41287...e+66 * 148.41, a float64.
    text = two("exp(exp(x))", "identity", "5").replace("loss: {type: squared_error, target: y}\n", "")
    r = derivator.report(derivator.loads(text.replace(", y: 0.5", "")), "w1", check=True)
    assert r.value == pytest.approx(math.exp(math.exp(5)) * math.exp(5), rel=1e-14)
    assert r.check.agrees


# -- the functions themselves ------------------------------------------------------------------------
@pytest.mark.parametrize("digits", [40, 120, 400, 1200])
@pytest.mark.parametrize("x", ["0.5", "-3", "700", "-745.5", "1e5", "-1e5", "123456789.123", "1e300", "-1e300"])
def test_exp_by_reduction_is_mpmaths_exp(digits, x):
    with mpmath.workdps(digits):
        x = mpmath.mpf(x)
        mine = reach.exp(x)
        with mpmath.workdps(digits + 400 if abs(x) < 1e10 else digits + 1100):
            exact = mpmath.exp(x)
        assert abs(mine - exact) <= abs(exact) * mpmath.mpf(10) ** (5 - digits)


@pytest.mark.parametrize("digits", [40, 1200])
def test_saturated_functions_are_their_limits_to_every_digit(digits):
    with mpmath.workdps(digits):
        huge = mpmath.ldexp(1, 5000)
        assert reach.tanh(huge) == 1 and reach.tanh(-huge) == -1  # mpmath's own tanh overflows here
        assert reach.sigmoid(huge) == 1 and reach.softplus(huge) == huge
        tiny = reach.sigmoid(-huge)  # e^-2^5000: tiny, but not 0, so that a ratio of such keeps its digits
        assert 0 < tiny and abs(mpmath.log(tiny) / huge + 1) < mpmath.mpf(10) ** (5 - digits)
        assert reach.sech(huge) == 2 * reach.exp(-huge)
        assert reach.expm1(-huge) == -1
        x = mpmath.mpf("20.5")  # below the saturation, the library's own values
        assert reach.tanh(x) == mpmath.tanh(x) and reach.sech(x) == mpmath.sech(x)


def test_arguments_past_the_reach_are_refused_and_cheaply():
    with bounded(5.0, "reach at its edge"), mpmath.workdps(1200):
        edge = mpmath.ldexp(mpmath.mpf(3) / 2, reach.MAX_MAG - 2)  # within reach: about 10^4931
        assert mpmath.isfinite(reach.exp(edge)) and reach.exp(-edge) > 0
        for f in (reach.exp, reach.sin, reach.cos):
            with pytest.raises(reach.OutOfReachError, match="not evaluated"):
                f(mpmath.ldexp(1, reach.MAX_MAG + 1))
        with pytest.raises(reach.OutOfReachError):
            reach.sigmoid(-mpmath.ldexp(1, 10**6))
        assert reach.sigmoid(mpmath.ldexp(1, 10**6)) == 1  # saturated: no exp needed


def test_huge_numbers_are_written_briefly():
    with mpmath.workdps(40):
        assert reach.size(mpmath.mpf("1.5e300")) == "1.5e+300"
        assert reach.size(mpmath.exp(22026)) == "10^9565"
        assert reach.size(-mpmath.exp(mpmath.exp(800))) == "-10^(1.18e+347)"
