"""`--draw` (SVG and TikZ) and `--plot` (PNG): the files parse, carry their labels, mark the right paths."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from derivator.cli import derive
from tests.conftest import SPECS, needs_tikz, skip_without_tex, tex_missing

SVG = "{http://www.w3.org/2000/svg}"
STORY2 = SPECS / "story2_dag_delta.yaml"
STORY4 = SPECS / "story4_desmos_check.yaml"


def run(*args):
    return CliRunner().invoke(derive, [str(a) for a in args])


def svg_of(tmp_path, spec, wrt):
    out = tmp_path / "net.svg"
    r = run(spec, "--wrt", wrt, "--draw", out)
    assert r.exit_code == 0, r.output
    assert "Forward pass" in r.stdout  # the derivation is still printed
    return ET.parse(out).getroot()


def test_svg_marks_exactly_the_paths_from_the_weight(tmp_path):
    root = svg_of(tmp_path, STORY2, "w_au")
    strong = {(e.get("data-from"), e.get("data-to")) for e in root.iter(SVG + "line") if "path" in e.get("class")}
    # w_au enters at u; from u the paths to pred run u -> v -> pred and u -> pred.
    assert strong == {("a", "u"), ("u", "v"), ("v", "pred"), ("u", "pred")}
    muted = {(e.get("data-from"), e.get("data-to")) for e in root.iter(SVG + "line") if "path" not in e.get("class")}
    assert ("b", "u") in muted and ("a", "pred") in muted
    labels = {t.text for t in root.iter(SVG + "text") if t.get("class") == "label"}
    assert labels == {"a", "b", "u", "v", "pred"}
    weights = {t.text for t in root.iter(SVG + "text") if t.get("class") == "weight"}
    assert {"w_au", "w_uv", "w_vp", "w_up", "w_ap"} <= weights
    values = [t.text for t in root.iter(SVG + "text") if t.get("class") == "value"]
    assert "0.8" in values  # input a's value at the point


def test_svg_of_a_loss_adds_the_loss_node(tmp_path):
    root = svg_of(tmp_path, SPECS / "story5_tanh_squared_error.yaml", "v1")
    names = {c.get("data-name") for c in root.iter(SVG + "circle")}
    assert "loss" in names
    assert "∂loss/∂v1" in root.find(SVG + "title").text


def test_hostile_names_are_escaped(tmp_path):
    # Names are [A-Za-z0-9_] only, but a description or a path may carry anything: the SVG must parse.
    text = STORY4.read_text().replace("description:", "description: <script>&'\"", 1)
    path = tmp_path / "odd.yaml"
    path.write_text(text)
    svg_of(tmp_path, path, "w1")


@needs_tikz
@pytest.mark.parametrize("spec, wrt", [(STORY4, "w1"), (STORY2, "w_vp"), (SPECS / "story3_matrix_form.yaml", "W1_2_1")])
def test_tikz_compiles(tmp_path, spec, wrt):
    out = tmp_path / "net.tex"
    assert run(spec, "--wrt", wrt, "--draw", out).exit_code == 0
    text = out.read_text()
    assert r"\begin{tikzpicture}" in text and "strong" in text
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", out.name], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]


@pytest.mark.parametrize("kpsewhich", ["#!/bin/sh\nexit 1\n", None])  # finds nothing; is not there at all
def test_tikz_tests_skip_without_tikz_except_on_ci(tmp_path, monkeypatch, kpsewhich):
    # A TeX with pdflatex but without tikz.sty (texlive-latex-base alone): skip, but never on CI.
    (tmp_path / "pdflatex").write_text("#!/bin/sh\nexit 0\n")
    if kpsewhich:
        (tmp_path / "kpsewhich").write_text(kpsewhich)
    for tool in tmp_path.iterdir():
        tool.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CI", raising=False)
    assert tex_missing() is None
    assert tex_missing("tikz.sty").startswith("tikz.sty is not installed")
    mark = skip_without_tex("tikz.sty", ci_installs="texlive-pictures")
    assert mark.args == (True,) and mark.kwargs["reason"].endswith("(CI installs texlive-pictures)")
    monkeypatch.setenv("CI", "1")
    assert skip_without_tex("tikz.sty", ci_installs="texlive-pictures").args == (False,)


def test_a_bad_picture_name_is_one_line(tmp_path):
    r = run(STORY4, "--wrt", "w1", "--draw", tmp_path / "net.png")
    assert r.exit_code == 2
    assert r.stderr == f"{STORY4}: error: --draw {tmp_path / 'net.png'}: the name must end in .svg or .tex\n"


# -- --plot ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec, wrt", [(STORY4, "w1"), (SPECS / "story3_matrix_form.yaml", "W1_2_1"),
                                       (SPECS / "story5_tanh_squared_error.yaml", "z_x")])
def test_plot_is_a_png(tmp_path, spec, wrt):
    out = tmp_path / "tangent.png"
    r = run(spec, "--wrt", wrt, "--plot", out)
    assert r.exit_code == 0, r.output
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_the_plotted_curve_has_the_derivative_as_its_slope():
    # The curve is the target itself: its chord at the point must match the tangent's slope.
    import derivator
    from derivator.numbers.checking import point
    from derivator.render.plot import curve

    net = derivator.load(STORY4)
    r = derivator.report(net, "w1")
    theta, y0, xs, ys = curve(r, point(net))
    i = xs.index(min(xs, key=lambda x: abs(x - theta)))
    assert xs[i] == pytest.approx(theta) and ys[i] == pytest.approx(y0, rel=1e-12)
    chord = (ys[i + 1] - ys[i - 1]) / (xs[i + 1] - xs[i - 1])
    assert chord == pytest.approx(r.value, rel=1e-3)


@pytest.mark.parametrize("args, message", [
    (["--wrt", "w1", "--plot", "out.jpg"], "--plot out.jpg: the name must end in .png"),
    (["--wrt", "all", "--plot", "out.png"], "--plot draws one derivative: name one parameter, input or node with "
                                            "--wrt"),
])
def test_bad_plots_are_one_line(args, message):
    r = run(STORY4, *args)
    assert r.exit_code == 2
    assert r.stderr == f"{STORY4}: error: {message}\n"
