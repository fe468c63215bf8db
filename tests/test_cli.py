"""The command line through click's CliRunner: exact output, exit codes, flags."""

import json

import pytest
from click.testing import CliRunner

from derivator.cli import derive
from tests.conftest import SPECS

STORY4 = str(SPECS / "story4_desmos_check.yaml")
STORY1 = str(SPECS / "story1_linear_node.yaml")


def run(*args):
    return CliRunner().invoke(derive, list(args))


# -- text output: the worked derivation ---------------------------------------------------------
def test_story1_text_is_exact():
    r = run(STORY1, "--wrt", "w26", "--check")
    assert r.exit_code == 0, r.output
    assert r.stdout == (
        "Forward pass (values to 9 significant digits; --format json gives 15):\n"
        "  z_x6 = w16 y1 + w26 y2 + w36 y3 = -1.17    x6 = z_x6 = -1.17\n"
        "\n"
        "Rules:\n"
        "  δ_x6 = f'(z_x6)                            (the target node: its own activation enters only here)\n"
        "  ∂x6/∂w(u,v) = δ_v o_u,   ∂x6/∂b_v = δ_v    "
        "(z_v is linear in each weight, with the weight's input as its coefficient)\n"
        "\n"
        "Backward pass (δ_v = ∂x6/∂z_v):\n"
        "  δ_x6 = 1\n"
        "\n"
        "Result:\n"
        "  ∂z_x6/∂w26 = y2    (linear in w26; the other terms, w16 y1 + w36 y3, are constants)\n"
        "  ∂x6/∂w26 = δ_x6 y2    (chain rule)\n"
        "           = y2\n"
        "\n"
        "In inputs and parameters:\n"
        "  ∂x6/∂w26 = y2\n"
        "\n"
        "At y1 = 0.2, y2 = -0.7, y3 = 1.5, w16 = 0.3, w26 = 0.9, w36 = -0.4:\n"
        "  ∂x6/∂w26 = -0.7\n"
        "Check: agrees: central difference (float64) gives -0.699999999990819 (relative error 1.3e-11)\n"
    )


def test_story4_text_shows_the_recursion_and_the_teachers_form():
    r = run(STORY4, "--wrt", "w1", "--check")
    assert r.exit_code == 0
    assert "  z_O = w4 h2 + w5 h3 + 1 = 1.80357459    O = σ(z_O) = 0.858583511\n" in r.stdout
    assert "  δ_h1 = h1(1 - h1)(w2 δ_h2 + w3 δ_h3)\n" in r.stdout
    assert ("  ∂O/∂w1 = δ_h1 I    (chain rule)\n"
            "         = O(1 - O)(w4 h2(1 - h2) w2 + w5 h3(1 - h3) w3) h1(1 - h1) I\n") in r.stdout
    assert "  ∂O/∂w1 = 0.00142918810220472\n" in r.stdout
    assert "Check: agrees" in r.stdout


def test_value_is_omitted_when_the_point_is_incomplete(tmp_path):
    spec = tmp_path / "net.yaml"
    spec.write_text((SPECS / "story4_desmos_check.yaml").read_text().split("\nat:")[0] + "\n")
    r = run(str(spec), "--wrt", "w1")
    assert r.exit_code == 0
    assert "Value: needs I, w1, w2, w3, w4, w5 (give --at NAME=VALUE)" in r.stdout


# -- the point from --at ------------------------------------------------------------------------------
def test_at_overrides_the_file_one_by_one():
    r = run(STORY1, "--wrt", "w26", "--at", "y2=3", "--format", "json")
    out = json.loads(r.stdout)
    assert out["value"] == 3.0
    assert out["at"]["y1"] == 0.2 and out["at"]["y2"] == 3.0


def test_missing_values_are_named_when_check_needs_them(tmp_path):
    spec = tmp_path / "net.yaml"
    spec.write_text((SPECS / "story1_linear_node.yaml").read_text().split("\nat:")[0] + "\n")
    r = run(str(spec), "--wrt", "w26", "--check", "--at", "y1=1")
    assert r.exit_code == 2
    assert r.stderr == (f"{spec}: error: no value for y2, y3, w16, w26, w36: "
                        "give them with --at NAME=VALUE or in 'at:'\n")


# -- JSON ---------------------------------------------------------------------------------------------
def test_json_story4():
    r = run(STORY4, "--wrt", "w1", "--check", "--format", "json")
    out = json.loads(r.stdout)
    assert out["of"] == "O" and out["wrt"] == "w1"
    assert abs(out["value"] - 0.0014291881022) < 1e-11 * 0.0014291881022
    assert out["check"]["agrees"] is True
    assert out["check"]["relative_error"] < 1e-6
    assert out["in_node_values"]["text"] == "O*(1 - O)*(w4*h2*(1 - h2)*w2 + w5*h3*(1 - h3)*w3)*h1*(1 - h1)*I"
    assert out["deltas"] == {"O": "O*(1 - O)", "h3": "O*(1 - O)*w5*h3*(1 - h3)", "h2": "O*(1 - O)*w4*h2*(1 - h2)",
                             "h1": "O*(1 - O)*(w4*h2*(1 - h2)*w2 + w5*h3*(1 - h3)*w3)*h1*(1 - h1)"}
    assert out["at"] == {"I": 1.0, "w1": 0.5, "w2": 0.5, "w3": 0.5, "w4": 0.5, "w5": 0.5}


def test_json_with_wrt_a_node_includes_that_node_delta():
    out = json.loads(run(STORY4, "--wrt", "h2", "--format", "json").stdout)
    assert out["in_node_values"]["text"] == "O*(1 - O)*w4"
    assert list(out["deltas"]) == ["O", "h2"]


# -- --of -----------------------------------------------------------------------------------------------
def test_of_a_hidden_node():
    out = json.loads(run(STORY4, "--wrt", "w1", "--of", "h1", "--format", "json").stdout)
    assert out["of"] == "h1"
    assert out["in_node_values"]["text"] == "h1*(1 - h1)*I"


def test_of_loss_without_a_loss_is_an_error():
    r = run(STORY4, "--wrt", "w1", "--of", "loss")
    assert r.exit_code == 2
    assert r.stderr == f"{STORY4}: error: --of loss: the file has no 'loss:'\n"


def test_several_outputs_without_loss_need_of(tmp_path):
    spec = tmp_path / "two.yaml"
    spec.write_text("inputs: [x]\nnodes: {a: {}, b: {}}\nedges: [[x, a, w], [x, b, v]]\noutput: [a, b]\n")
    r = run(str(spec), "--wrt", "w")
    assert r.exit_code == 2
    assert r.stderr == f"{spec}: error: the network has 2 outputs and no loss: choose one with --of (a, b)\n"
    assert json.loads(run(str(spec), "--wrt", "w", "--of", "b", "--format", "json").stdout)["in_node_values"][
        "text"] == "0"


# -- exit codes -------------------------------------------------------------------------------------------
def test_a_disagreeing_check_exits_1(monkeypatch):
    # Plant a wrong symbolic value: the numerical derivative must catch it, and the exit status say so.
    import derivator.numbers.checking

    monkeypatch.setattr(derivator.numbers.checking, "derivative_value", lambda d, values: 0.0015)
    r = run(STORY4, "--wrt", "w1", "--check")
    assert r.exit_code == 1
    assert "Check: DISAGREES" in r.stdout


@pytest.mark.parametrize("target, args", [
    ("derivator.cli.report", ["--wrt", "w1", "--check"]),  # a bug while deriving
    ("derivator.cli.render", ["--wrt", "w1", "--format", "json"]),  # a bug while printing
    ("derivator.answers.gradient.gradient", ["--wrt", "all"]),  # imported by the mode that uses it
])
def test_an_internal_error_exits_3_with_one_line_and_no_traceback(monkeypatch, target, args):
    def broken(*a, **kw):
        raise RuntimeError("planted bug\nwith a second line")

    monkeypatch.setattr(target, broken)
    r = run(STORY4, *args)
    assert r.exit_code == 3, (r.exit_code, r.stderr)
    assert r.stderr == "derive: error: internal error (RuntimeError: planted bug with a second line); " \
                       "please report it\n"
    assert "Traceback" not in r.stderr + r.stdout
    assert r.stdout == ""


def test_help_and_readme_document_exit_status_3():
    assert "3 an internal error" in " ".join(run("--help").stdout.split())
    readme = " ".join((SPECS.parent / "README.md").read_text().split())
    assert "3 for an internal error (a bug in the tool)" in readme


@pytest.mark.parametrize("args, message", [
    (["--wrt", "w1", "--tolerance", "-1"], "--tolerance must be a positive number, not '-1'"),
    (["--wrt", "w1", "--tolerance", "abc"], "--tolerance must be a positive number, not 'abc'"),
    (["--wrt", "w1", "--format", "jsn"], "unknown format 'jsn'; did you mean 'json'? known: desmos, html, json, "
                                         "latex, markdown, python, text"),
    ([], "missing --wrt NAME: the parameter, input or node to differentiate by"),
    (["--wrt", "w1", "--format", "python", "--check"], "--format python writes code; --check does not apply to it"),
    (["--wrt", "w1", "--standalone"], "--standalone goes with --format latex"),
    (["--wrt", "all", "--format", "desmos"],
     "--wrt all prints text, latex, markdown, json, html or python, not desmos"),
    (["--wrt", "all", "--candidate", "w1"], "--wrt all: --candidate compares one derivative; name one parameter "
                                            "with --wrt"),
])
def test_bad_flags_are_one_line(args, message):
    r = run(STORY4, *args)
    assert r.exit_code == 2
    assert r.stderr == f"{STORY4}: error: {message}\n"


def test_unknown_option_is_one_line_usage_error():
    r = run(STORY4, "--wrt", "w1", "--bogus")
    assert r.exit_code == 2
    assert r.stderr == "derive: error: No such option '--bogus'.\n"


def test_help_has_an_example():
    r = run("--help")
    assert r.exit_code == 0
    assert "derive specs/story4_desmos_check.yaml --wrt w1 --check" in r.stdout


def _process(*args: str):
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, timeout=120,
                          cwd=SPECS.parent)


def test_a_real_process_leaves_with_its_status_and_all_its_output(tmp_path):
    """The console scripts leave by os._exit once their output is flushed (clikit.console): every
    status and every byte must still come out."""
    ok = _process("derivator", STORY4, "--wrt", "w1", "--check")
    assert ok.returncode == 0 and ok.stdout.rstrip().endswith("relative error 3.6e-09)") and ok.stderr == ""
    wrong = _process("derivator", STORY4, "--wrt", "w1", "--candidate", "2*I")
    assert wrong.returncode == 1 and "does NOT agree" in wrong.stdout
    bad = _process("derivator", STORY4, "--wrt", "nope")
    assert bad.returncode == 2 and bad.stdout == "" and bad.stderr.count("\n") == 1
    import sys
    sys.path.insert(0, str(SPECS.parent / "bench"))
    from networks import dense
    wide = tmp_path / "wide.yaml"
    wide.write_text(dense(16, [16, 16, 1], activation="tanh", seed=2, loss="squared_error"))
    big = _process("derivator", str(wide), "--wrt", "all", "--format", "json")  # past a pipe's 64 KB
    assert big.returncode == 0 and len(big.stdout) > 100_000 and len(json.loads(big.stdout)["gradient"]) == 561
    sheet = _process("derivator.sheets", "--help")
    assert sheet.returncode == 0 and sheet.stdout.startswith("Usage: derive-sheet")
