"""`--blank`: the derivation as a worksheet; the chosen parts blank, the rest as `derive` prints it."""

from __future__ import annotations

import json
import subprocess

import pytest
from click.testing import CliRunner

from derivator.cli import derive
from tests.conftest import SPECS, needs_pdflatex

STORY4 = SPECS / "story4_desmos_check.yaml"
DENSE = SPECS / "dense_3_4_2_drawing.yaml"
GAP, RULE = "________", r"\underline{\phantom{0.000000000}}"


def run(*args):
    return CliRunner().invoke(derive, [str(a) for a in args])


def out(*args):
    r = run(*args)
    assert r.exit_code == 0, r.output
    return r.stdout


def numbers(spec, wrt):
    """Every value the derivation prints, as the text prints it (9 significant digits), and the value."""
    j = json.loads(out(spec, "--wrt", wrt, "--format", "json"))
    nodes = j["delta_values"]  # every node is on a path here; the point's own values (I = 1) are given
    values = [v for k, v in j["forward"].items() if k in nodes or k.startswith("z_")] + list(nodes.values())
    return {f"{v + 0.0:.9g}" for v in values}, f"{j['value']:.15g}"


def test_blank_numbers_keeps_every_equation_and_no_value():
    values, value = numbers(STORY4, "w1")
    text = out(STORY4, "--wrt", "w1", "--blank", "numbers")
    assert "  z_h1 = w1 I + 1 = ________            h1 = σ(z_h1) = ________" in text
    assert "  δ_O = O(1 - O) = ________" in text
    assert "       = O(1 - O)(w4 h2(1 - h2) w2 + w5 h3(1 - h3) w3) h1(1 - h1) = ________" in text
    # 8 forward values, 4 deltas and the value at the point: each a blank, none printed.
    assert text.count(GAP) == 8 + 4 + 1
    assert not [v for v in values | {value} if f"= {v}" in text]
    assert "  ∂O/∂w1 = I a1 a6(1 - a1)(1 - a6)" in text  # the formulas stay


def test_blank_steps_leaves_the_backward_pass_and_the_result_to_work():
    text = out(STORY4, "--wrt", "w1", "--blank", "steps")
    backward = text.split("Backward pass")[1].split("Result:")[0]
    assert backward.splitlines()[1:5] == [f"  δ_{n} = {GAP}" for n in ("O", "h3", "h2", "h1")]
    assert "  ∂O/∂w1 = ________\n" in text.split("Result:")[1]
    assert "z_h1 = w1 I + 1 = 1.5" in text  # the forward pass is given
    _, value = numbers(STORY4, "w1")
    assert value not in text and "a1 a6" not in text  # neither the value nor the expanded form gives it away


def test_blank_one_delta_leaves_the_others():
    text = out(STORY4, "--wrt", "w1", "--blank", "h2")
    assert f"  δ_h2 = {GAP}\n" in text and text.count(GAP) == 1 + 1  # its line, and the form in inputs
    assert "  δ_O = O(1 - O) = 0.121417866" in text and "0.00142918810220472" in text


@needs_pdflatex
@pytest.mark.parametrize("spec, wrt, parts", [(STORY4, "w1", "numbers,steps"), (DENSE, "W1_2_1", "numbers"),
                                              (DENSE, "W2_1_3", "deltas")])
def test_latex_worksheets_compile_with_rules_for_blanks(tmp_path, spec, wrt, parts):
    tex = out(spec, "--wrt", wrt, "--blank", parts, "--format", "latex", "--standalone")
    assert GAP not in tex and RULE in tex
    (tmp_path / "w.tex").write_text(tex)
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "w.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "Overfull" not in done.stdout


def test_markdown_worksheet():
    md = out(STORY4, "--wrt", "w1", "--blank", "deltas", "--format", "markdown")
    assert rf"\delta_{{h_{{2}}}} &= {RULE}" in md
    assert "**Value** at" in md and "0.00142918810220472" in md  # deltas blank: the value is still given
    md = out(STORY4, "--wrt", "w1", "--blank", "result", "--format", "markdown")
    assert "`________`" in md and "0.00142918810220472" not in md


@pytest.mark.parametrize("args, message", [
    (["--wrt", "w1", "--blank", "deltass"], "unknown --blank part 'deltass'; did you mean 'deltas'? known: O, deltas, "
                                            "h1, h2, h3, numbers, result, steps"),
    (["--wrt", "w1", "--blank", "numbers", "--format", "json"],
     "--blank prints a worksheet in text, latex or markdown, not --format json"),
    (["--wrt", "w1", "--blank", "numbers", "--check"], "--blank prints a worksheet; --check would fill it in"),
    (["--wrt", "all", "--blank", "numbers"],
     "--blank makes a worksheet of one derivative: name one parameter, input or node"),
])
def test_bad_blanks_are_one_line(args, message):
    r = run(STORY4, *args)
    assert r.exit_code == 2
    assert r.stderr == f"{STORY4}: error: {message}\n"
