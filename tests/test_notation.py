"""`notation:` (CONTRACT section 10): the course's letters in every format, the file's names on the command line."""

import json
import re
import subprocess

import pytest

from tests.conftest import SPECS, needs_pdflatex, needs_standalone
from tests.hang import run

STORY5 = str(SPECS / "story5_tanh_squared_error.yaml")
COURSE5 = str(SPECS / "story5_course_notation.yaml")
STORY3 = str(SPECS / "story3_matrix_form.yaml")
COURSE3 = str(SPECS / "story3_course_notation.yaml")
BARE = str(SPECS / "layers_index_notation.yaml")


def out(*args):
    r = run(list(args))
    assert r.exit_code == 0, r.output
    return r.stdout


def numbers(text):
    return re.findall(r"-?\d+\.\d{4,}", text)


# -- story 5: δ = ∂e/∂s = 2(x - y)(1 - x²), θ'(s) = 1 - θ²(s) -------------------------------------
def test_story5_text_in_the_courses_letters():
    text = out(COURSE5, "--wrt", "z_x")  # the command line keeps the file's name z_x
    assert "  δ = ∂e/∂x · θ'(s)\n    = 2(x - y) · (1 - x²)\n    = 2(x - y)(1 - x²) = -1.11504216\n" in text
    assert re.search(r"\n  ∂e/∂s = δ +\(chain rule\)\n        = 2\(x - y\)\(1 - x²\)\n", text), text
    assert "θ'(s) = 1 - θ²(s) = 1 - x²" in text
    assert "  e = (x - y)² = 0.484158641\n" in text
    assert "  s = v2 h + d = -0.479465059" in text and "s_h = v1 u + c" in text
    for tool in ("z_x", "tanh", "∂loss", "δ_x", "\n  loss ="):
        assert tool not in text, tool


def test_tables_stay_aligned():
    """δ_x printed as δ is shorter: the cells after it keep their columns."""
    rows = [line for line in out(COURSE5, "--wrt", "all").splitlines() if line.startswith(("  c ", "  d ", "  v"))]
    assert len(rows) == 4
    assert len({line.index(line.split()[-1]) for line in rows}) == 1, rows  # the values start in one column


def test_the_numbers_do_not_change():
    assert numbers(out(COURSE5, "--wrt", "v1")) == numbers(out(STORY5, "--wrt", "v1"))
    a = json.loads(out(COURSE5, "--wrt", "z_h", "--format", "json"))
    b = json.loads(out(STORY5, "--wrt", "z_h", "--format", "json"))
    assert a["value"] == b["value"] and a["forward"] == b["forward"]


def test_story5_latex_and_markdown():
    tex = out(COURSE5, "--wrt", "z_x", "--format", "latex")
    assert r"\intertext{Result:}\frac{\partial e}{\partial s} &= \delta \\" in tex
    assert r"\theta'(s) &= 1 - \theta^{2}{\left(s \right)} = 1 - x^{2}" in tex
    assert r"\delta &= \frac{\partial e}{\partial x} \cdot \theta'\left(s\right)" in tex
    for tool in ("z_{x}", r"\tanh", r"\mathcal{L}", r"\delta_{x}", "tanh"):
        assert tool not in tex, tool
    md = out(COURSE5, "--wrt", "z_x", "--format", "markdown")
    assert r"### The derivative $\frac{\partial e}{\partial s}$" in md
    assert "z_{x}" not in md and r"\tanh" not in md


def test_json_latex_strings_change_and_the_code_does_not():
    a = json.loads(out(COURSE5, "--wrt", "z_x", "--format", "json"))
    b = json.loads(out(STORY5, "--wrt", "z_x", "--format", "json"))
    assert a["in_node_values"]["latex"] == r"2 \left(x - y\right) \left(1 - x^{2}\right)"
    assert r"\theta{\left(c + u v_{1} \right)}" in a["derivative"]["latex"]
    assert a["derivative"]["text"] == b["derivative"]["text"]  # code reads back: the file's names, tanh
    assert a["wrt"] == "z_x" and a["of"] == "loss"


def test_the_command_line_keeps_the_files_names():
    r = run([COURSE5, "--wrt", "s"])
    assert r.exit_code == 2 and "unknown name 's'" in r.stderr
    r = run([COURSE5, "--wrt", "z_x", "--candidate", "2(x - y)(1 - x^2)"])
    assert r.exit_code == 0 and "Verdict: the candidate agrees" in r.stdout


@needs_pdflatex
def test_story5_document_compiles(tmp_path):
    (tmp_path / "s.tex").write_text(out(COURSE5, "--wrt", "v1", "--format", "latex", "--standalone"))
    done = subprocess.run(["pdflatex", "-halt-on-error", "-interaction=nonstopmode", "s.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]


def test_pictures_in_the_courses_letters(tmp_path):
    svg, tikz = tmp_path / "p.svg", tmp_path / "p.tex"
    out(COURSE5, "--wrt", "v2", "--draw", str(svg))
    out(COURSE5, "--wrt", "v2", "--draw", str(tikz))
    assert "<title>∂e/∂v2: the paths from v2 to the loss</title>" in svg.read_text()
    assert ">e</text>" in svg.read_text() and ">loss</text>" not in svg.read_text()
    assert r"{$e$};" in tikz.read_text()


@needs_standalone
def test_picture_compiles(tmp_path):
    out(COURSE5, "--wrt", "v2", "--draw", str(tmp_path / "p.tex"))
    done = subprocess.run(["pdflatex", "-halt-on-error", "-interaction=nonstopmode", "p.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]


# -- story 3 and the layer index ----------------------------------------------------------------------
def test_story3_in_its_courses_brackets_is_the_default_form():
    for fmt in ("text", "latex"):
        assert out(COURSE3, "--wrt", "W2", "--matrix", "--format", fmt) == \
            out(STORY3, "--wrt", "W2", "--matrix", "--format", fmt)
    tex = out(COURSE3, "--wrt", "W2", "--matrix", "--format", "latex")
    assert r"Z^{[2]} &= W^{[2]} A^{[1]} + b^{[2]}" in tex


def test_layer_index_as_a_bare_superscript_and_the_cost_as_c():
    tex = out(BARE, "--wrt", "W2_1_2", "--format", "latex")
    assert r"z^{1}_{1} &= W^{1}_{11} x_{1} + W^{1}_{12} x_{2} + b^{1}_{1} = 0.25, \quad a^{1}_{1}" in tex
    assert r"\frac{\partial C}{\partial W^{2}_{12}}" in tex
    text = out(BARE, "--wrt", "W2", "--matrix")
    assert "  Z¹ = W¹ A⁰ + b¹" in text and "dZˡ = ∂L/∂Zˡ" in text


def test_layer_index_in_parentheses(tmp_path):
    path = tmp_path / "n.yaml"
    path.write_text((SPECS / "story3_matrix_form.yaml").read_text().replace(
        "inputs:", 'notation: {layer_index: "(l)"}\ninputs:', 1))
    tex = out(str(path), "--wrt", "W2", "--matrix", "--format", "latex")
    assert r"Z^{(1)} &= W^{(1)} A^{(0)} + b^{(1)}" in tex
    assert "Z⁽²⁾ = W⁽²⁾ A⁽¹⁾ + b⁽²⁾" in out(str(path), "--wrt", "W2", "--matrix")


# -- the key itself ----------------------------------------------------------------------------------
@pytest.mark.parametrize("line, message", [
    ("notation: {pre_activation: s, outputs: x}",
     "1:31: error: unknown notation key 'outputs'; did you mean 'output'?"),
    ('notation: {layer_index: "<l>"}', "1:25: error: notation: layer_index is one of '(l)', '[l]', 'l'"),
    ("notation: {loss: 3}", "1:18: error: notation: loss must be a letter or a short name"),
    ("notation: {activation: '\u0391'}", "1:24: error: notation: activation must be a letter"),  # no \Alpha
    ("notation: s", "1:11: error: 'notation' must be a mapping"),
])
def test_bad_notation_is_one_line_error(tmp_path, line, message):
    path = tmp_path / "n.yaml"
    body = (SPECS / "story5_tanh_squared_error.yaml").read_text()
    path.write_text(line + "\n" + body[body.index("inputs:"):])
    r = run([str(path), "--wrt", "v1"])
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith(f"{path}:{message}"), r.stderr
    assert r.stderr.count("\n") == 1


# -- a candidate in the course's letters --------------------------------------------------------------
@pytest.mark.parametrize("cand", [
    "2(x - y) θ'(s)", "2(x-y)(1-θ(s)^2)", r"2\left(x-y\right)\theta'\left(s\right)",
    r"2\left(x-y\right)\left(1-\theta^2\left(s\right)\right)", "2(x - y) theta'(s_x)", "2(x - y) tanh'(z_x)",
])
def test_story5s_delta_in_the_courses_letters_agrees(cand):
    r = run([COURSE5, "--wrt", "z_x", "--candidate", cand, "--format", "json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["candidate"]["agrees"] is True


def test_a_wrong_delta_in_the_courses_letters_is_diagnosed():
    r = run([COURSE5, "--wrt", "z_h", "--candidate", "2(x-y) θ'(s) v2 θ'(s)", "--format", "json"])
    assert r.exit_code == 1, r.output
    c = json.loads(r.stdout)["candidate"]
    assert c["agrees"] is False
    assert any("lacks 1 - h²" in s for s in c["diagnosis"]), c["diagnosis"]


def test_the_courses_letters_are_only_aliases_where_the_file_has_notation():
    r = run([STORY5, "--wrt", "z_x", "--candidate", "2(x - y) θ'(s)"])
    assert r.exit_code == 2 and "unknown function 'theta'" in r.stderr
