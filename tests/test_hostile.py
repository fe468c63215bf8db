"""The hostile corpus (tests/hostile/) and the files too big to check in, each under a hang guard.

Every file in tests/hostile/ is run as `derive FILE --wrt w1` and must exit with status 2, print
nothing on stdout and exactly the one stderr line that tests/hostile/expected.txt gives for it
(`{path}` stands for the file's path). The corpus holds alias bombs, tags, merge keys, deep nesting,
NUL and control characters, invalid UTF-8, byte order marks, CRLF and CR-only line endings, duplicate
keys, code in formulas, huge exponents, odd numbers, huge layers, Unicode names, odd document shapes
and cycles. To add a case: add the file, run it, review the line, and add it to expected.txt.

Files over the size and count caps are generated here instead, and so is a file within the size cap
that must still be read in bounded time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SMALL_NET, SPECS
from tests.hang import assert_clean, describe, run

# Generated files of hundreds of kilobytes get a looser hang guard than the corpus: reading 20001 edges
# takes some 8 s of CPU time here, nearly all of it in ruamel's pure-Python parser. The guard bounds
# CPU time (tests/hang.py), so a loaded machine does not fail it.
LARGE = 20.0
HOSTILE = Path(__file__).resolve().parent / "hostile"
BASE = SMALL_NET


def expected_lines() -> dict[str, str]:
    table = {}
    for line in (HOSTILE / "expected.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, error = line.partition("\t")
            assert name not in table, f"{name} is listed twice in expected.txt"
            table[name] = error
    return table


EXPECTED = expected_lines()


def test_every_corpus_file_has_one_expected_line():
    files = {p.name for p in HOSTILE.glob("*.yaml")}
    assert files == set(EXPECTED), {"not listed": files - set(EXPECTED), "no file": set(EXPECTED) - files}
    assert len(files) >= 30


def assert_one_line(path: Path, r, expected: str) -> None:
    assert r.exit_code == 2, describe(r)
    assert r.stdout == "", describe(r)
    assert r.stderr == expected.replace("{path}", str(path)) + "\n", describe(r)
    assert_clean(r)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hostile_file(name):
    path = HOSTILE / name
    assert_one_line(path, run([str(path), "--wrt", "w1"]), EXPECTED[name])


@pytest.mark.parametrize("name", ["alias_billion_laughs.yaml", "formula_import.yaml", "deep_flow_sequences.yaml",
                                  "layers_units_100000.yaml", "formula_huge_power_tower.yaml"])
@pytest.mark.parametrize("flags", [["--wrt", "all", "--check"], ["--wrt", "w1", "--format", "json"],
                                   ["--wrt", "W1", "--matrix"], ["--wrt", "w1", "--format", "python"]])
def test_other_flags_give_the_same_file_error(name, flags):
    """The file is read, and refused, before any flag's work begins."""
    path = HOSTILE / name
    assert_one_line(path, run([str(path), *flags]), EXPECTED[name])


# -- too big to check in: over the caps ---------------------------------------------------------
def layers_with_samples(n: int) -> str:
    return ("inputs: [x1, x2]\nlayers:\n  - {units: 3, activation: sigmoid}\n  - {units: 1, activation: sigmoid}\n"
            "loss: {type: binary_cross_entropy, target: y}\ndata:\n" + "  - {x1: 0.5, x2: -1.0, y: 1}\n" * n)


OVER_CAPS = [
    pytest.param(BASE + 'description: "' + "a" * 1_000_001 + '"\n',
                 "{path}: error: file is larger than 1000000 bytes", id="description-over-1MB"),
    pytest.param(BASE + "#" * (1_000_000 - len(BASE)) + "\n",
                 "{path}: error: file is larger than 1000000 bytes", id="one-byte-over-1MB"),
    pytest.param("inputs: " + "[" * 1_100_000 + "\n",
                 "{path}: error: file is larger than 1000000 bytes", id="brackets-over-1MB"),
    pytest.param(("\x00" * 1_100_000).encode(),
                 "{path}: error: file is larger than 1000000 bytes", id="NULs-over-1MB"),
    pytest.param("inputs: [I]\nnodes:\n" + "".join(f"  h{i}: {{}}\n" for i in range(5001))
                 + "edges:\n  - [I, h0, w1]\noutput: h0\n",
                 "{path}:3:3: error: more than 5000 nodes", id="5001-nodes"),
    pytest.param("inputs: [I]\nnodes:\n  O: {}\nedges:\n  - [I, O, " + "w" * 120_000 + "]\noutput: O\n",
                 "{path}:5:12: error: parameter name 'wwwwwwwwwwwwwwwwwwwwwwww...' is 120,000 characters long; names "
                 "have at most 64", id="120000-character-name"),
    pytest.param(layers_with_samples(5_001), "{path}:7:3: error: more than 5000 samples", id="5001-samples"),
]


@pytest.mark.parametrize("content, expected", OVER_CAPS)
def test_over_the_caps(tmp_path, content, expected):
    path = tmp_path / "big.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    assert_one_line(path, run([str(path), "--wrt", "w1"], LARGE), expected)


def test_20001_edges(tmp_path):
    path = tmp_path / "edges.yaml"
    path.write_text("inputs: [I]\nnodes:\n  O: {}\nedges:\n" + "".join(f"  - [I, O, w{i}]\n" for i in range(20_001))
                    + "output: O\n")
    assert_one_line(path, run([str(path), "--wrt", "w1"], LARGE), "{path}:5:3: error: more than 20000 edges")


@pytest.mark.skipif(not Path("/dev/zero").exists() or sys.platform != "linux", reason="needs /dev/zero and rlimits")
def test_an_endless_file_is_not_read_to_the_end():
    """`derive /dev/zero` must stop at the size cap, not read until memory runs out.

    Run in a child process whose address space is limited to 1.5 GB, so that the failure is a quick
    MemoryError there rather than the machine's memory filling up here."""
    code = ("import resource; resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000)); "
            "from derivator.cli import main; main(['/dev/zero', '--wrt', 'w1'])")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                       cwd=Path(__file__).resolve().parent.parent, env={**os.environ, "PYTHONPATH": "."})
    assert (p.returncode, p.stdout, p.stderr) == (2, "", "/dev/zero: error: file is larger than 1000000 bytes\n")


# -- within the caps: still bounded time -----------------------------------------------------------
def test_a_file_just_under_the_size_cap_loads_in_bounded_time(tmp_path):
    path = tmp_path / "padded.yaml"
    path.write_text(BASE + "# padding\n" * ((1_000_000 - len(BASE)) // 10))
    assert path.stat().st_size <= 1_000_000
    r = run([str(path), "--wrt", "w1"], LARGE)
    assert r.exit_code == 0, describe(r)
    assert "∂O/∂w1" in r.stdout


def test_the_slowest_yaml_shape_within_the_size_cap_is_read_in_bounded_time(tmp_path):
    """Short flow-list items are the most YAML events per byte: just under 1 MB of them must still be read
    (and refused: 333001 inputs named 'a') within the bound. ruamel's pure-Python parser takes 40 to 50 s
    on this file here (`[a,a,a,...]`: 51 s)."""
    path = tmp_path / "flow.yaml"
    path.write_text("inputs: [" + "a, " * 333_000 + "a]\n")
    assert path.stat().st_size <= 1_000_000
    assert_clean(run([str(path), "--wrt", "w1"], LARGE))


# -- numbers at the edges and caps found while building the corpus (see the report of issue 7) ----
def test_check_does_not_disagree_when_float64_overflows(tmp_path):
    """d exp(I w1)/d w1 = exp(800) is finite (2.7e347) but past float64: no false alarm from --check."""
    path = tmp_path / "exp.yaml"
    path.write_text("inputs: [I]\nnodes:\n  O: {activation: exp}\nedges:\n  - [I, O, w1]\noutput: O\n"
                    "at: {I: 1, w1: 800}\n")
    r = run([str(path), "--wrt", "w1", "--check"])
    assert_clean(r)
    assert r.exit_code == 0 and "DISAGREES" not in r.stdout, describe(r)


def test_json_is_strict_json_even_when_a_value_overflows(tmp_path):
    """CONTRACT section 3: one JSON object; `Infinity` and `NaN` are not JSON (RFC 8259)."""
    path = tmp_path / "exp.yaml"
    path.write_text("inputs: [I]\nnodes:\n  O: {activation: exp}\nedges:\n  - [I, O, w1]\noutput: O\n"
                    "at: {I: 1, w1: 800}\n")
    r = run([str(path), "--wrt", "w1", "--check", "--format", "json"])
    assert_clean(r, "json")

    def refuse(constant):
        raise AssertionError(f"not JSON: {constant}\n{r.stdout}")

    json.loads(r.stdout, parse_constant=refuse)


def test_check_of_every_parameter_at_a_huge_bias():
    """Found by test_fuzz: `--wrt all --check` at bh = 1e308 stopped with an internal error (OverflowError in
    check._mp_difference), while `--wrt bh --check` there agrees."""
    r = run([str(SPECS / "softmax_three_classes.yaml"), "--wrt", "all", "--check", "--at", "bh=1e308"])
    assert_clean(r)
    assert r.exit_code == 0, describe(r)


def test_check_where_an_unrelated_term_overflows():
    """Found by fuzzing: x6 = w16 y1 + w26 y2 + w36 y3 with w36 = 1e308 overflows float64, though d x6/d w26 is
    y2 = -0.7 there; --check stopped with an internal error (OverflowError: cannot convert float infinity to
    integer, check._mp_difference)."""
    r = run([str(SPECS / "story1_linear_node.yaml"), "--wrt", "w26", "--check", "--at", "w36=1e308"])
    assert_clean(r)
    assert r.exit_code == 0, describe(r)


def test_check_does_not_disagree_when_the_numerical_derivative_needs_more_digits():
    """Found by fuzzing: loss (e - y)**4 with y = 1e154: dloss/dw2 = 4(e-y)^3 e s is about -1e463, past float64;
    the numerical derivative at 120 digits gives 0 (the change is below its precision) and --check says
    DISAGREES (exit 1): a false alarm from number trouble, not a wrong derivative."""
    r = run([str(SPECS / "formula_activation_loss.yaml"), "--wrt", "w2", "--check", "--at", "y=1e154", "--at", "w2=50"])
    assert_clean(r)
    assert r.exit_code == 0 and "DISAGREES" not in r.stdout, describe(r)


def test_value_of_a_huge_negative_weight_under_softmax():
    """Found by test_fuzz: an internal error (OverflowError: intermediate overflow in fsum, check.mean)."""
    r = run([str(SPECS / "softmax_classifier_layers.yaml"), "--wrt", "W1_1_1", "--at", "W2_1_1=-1e308"])
    assert_clean(r)


def test_a_formula_with_a_complex_value_at_the_point(tmp_path):
    """Found by test_fuzz: log(x)**x at x = -0.5 is complex; an internal error (TypeError: '<' not supported
    between instances of 'mpc' and 'int', evaluate._power) instead of a clean line, as sqrt(x) gives there."""
    path = tmp_path / "logx.yaml"
    path.write_text('inputs: [I]\nnodes:\n  O: {activation: "log(x)**x"}\nedges:\n  - [I, O, w1]\noutput: O\n'
                    "at: {I: 1, w1: -0.5}\n")
    assert_clean(run([str(path), "--wrt", "w1"]))


@pytest.mark.parametrize("formula", ["(x**200)**200", "((x**256)**256)**256"])
def test_the_exponent_cap_holds_for_nested_powers(tmp_path, formula):
    """x**40000 is refused ('exponent larger than 256'); the same power written as (x**200)**200 must be
    too, or nesting 30 deep reaches x**(256**30), a 73-digit exponent past every cap."""
    path = tmp_path / "power.yaml"
    path.write_text(BASE.replace("  O: {activation: sigmoid}", f'  O: {{activation: "{formula}"}}'))
    r = run([str(path), "--wrt", "w1"])
    assert_clean(r)
    assert r.exit_code == 2 and "exponent" in r.stderr, describe(r)
