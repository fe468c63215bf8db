"""`--draw` (SVG and TikZ) and `--plot` (PNG): the files parse, carry their labels, mark the right paths."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from derivator.cli import derive
from tests.conftest import SPECS, needs_standalone, skip_without_tex, tex_missing

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


@needs_standalone
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


# -- dense layers: labels apart, arrowheads, values and deltas, standalone TikZ -------------------------
DENSE = SPECS / "dense_3_4_2_drawing.yaml"


def label_boxes(root):
    """Every text's box as the SVG gives it (x, baseline, font size, characters; anchored at the middle)."""
    from derivator.render.labels import text_box
    return {t: text_box(float(t.get("x")), float(t.get("y")), t.text, float(t.get("font-size")))
            for t in root.iter(SVG + "text") if t.get("class") in ("weight", "value", "delta")}


def overlaps(a, b):
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def assert_apart(root):
    boxes = label_boxes(root)
    weights = [b for t, b in boxes.items() if t.get("class") == "weight"]
    others = [b for t, b in boxes.items() if t.get("class") != "weight"]
    circles = [(float(c.get("cx")) - 26, float(c.get("cy")) - 26, float(c.get("cx")) + 26, float(c.get("cy")) + 26)
               for c in root.iter(SVG + "circle")]
    for i, box in enumerate(weights):
        assert not any(overlaps(box, other) for other in weights[:i] + others + circles), box
    return len(weights)


@pytest.mark.parametrize("wrt", ["W1_2_1", "W2_1_3", "x2", "z_a1_4"])
def test_the_3_4_2_picture_labels_every_weight_with_no_two_boxes_overlapping(tmp_path, wrt):
    out = tmp_path / "net.svg"
    assert run(DENSE, "--wrt", wrt, "--draw", out, "--draw-deltas").exit_code == 0
    root = ET.parse(out).getroot()
    assert assert_apart(root) == 3 * 4 + 4 * 2
    assert {t.text for t in root.iter(SVG + "text") if t.get("class") == "weight"} == \
        {f"W1_{j}_{k}" for j in range(1, 5) for k in range(1, 4)} | {f"W2_{j}_{k}" for j in (1, 2) for k in range(1, 5)}
    assert "marked paths only" not in root.find(SVG + "title").text


def test_every_edge_has_an_arrowhead(tmp_path):
    out = tmp_path / "net.svg"
    assert run(DENSE, "--wrt", "W1_2_1", "--draw", out).exit_code == 0
    root = ET.parse(out).getroot()
    markers = {m.get("id") for m in root.iter(SVG + "marker")}
    lines = list(root.iter(SVG + "line"))
    assert len(lines) == 20 + 2  # the weights, and the two outputs into the loss
    assert all(e.get("marker-end")[len("url(#"):-1] in markers for e in lines)


def test_values_and_deltas_are_the_hand_worked_ones(tmp_path):
    import math
    out = tmp_path / "net.svg"
    assert run(DENSE, "--wrt", "W1_2_1", "--draw", out, "--draw-deltas").exit_code == 0
    root = ET.parse(out).getroot()

    def under(name, cls):  # the text of that class straight under the node's circle
        c = next(c for c in root.iter(SVG + "circle") if c.get("data-name") == name)
        return next(t.text for t in root.iter(SVG + "text") if t.get("class") == cls and t.get("x") == c.get("cx")
                    and 0 < float(t.get("y")) - float(c.get("cy")) < 60)

    s = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    x, w1, b1 = [0.5, -1.0, 0.25], [[0.1, -0.2, 0.3], [0.4, 0.3, -0.1], [-0.5, 0.2, 0.2], [0.05, 0.15, -0.3]], \
        [0.0, 0.1, -0.1, 0.2]
    a1 = [s(sum(w * xi for w, xi in zip(row, x, strict=True)) + b) for row, b in zip(w1, b1, strict=True)]
    w2, b2, y = [[0.3, -0.6, 0.2, 0.1], [-0.2, 0.4, 0.5, -0.3]], [0.05, -0.05], [1, 0]
    a2 = [s(sum(w * a for w, a in zip(row, a1, strict=True)) + b) for row, b in zip(w2, b2, strict=True)]
    d2 = [2 * (o - t) * o * (1 - o) for o, t in zip(a2, y, strict=True)]  # squared error through the sigmoid
    d1 = [a * (1 - a) * sum(w2[j][k] * d2[j] for j in range(2)) for k, a in enumerate(a1)]
    assert under("a1_1", "value") == f"{a1[0]:.4g}" == "0.5805"
    assert under("a2_1", "delta") == f"δ {d2[0]:.4g}"
    assert under("a1_3", "delta") == f"δ {d1[2]:.4g}"
    assert under("loss", "value") == f"{sum((o - t) ** 2 for o, t in zip(a2, y, strict=True)):.4g}"
    plain = tmp_path / "plain.svg"
    assert run(DENSE, "--wrt", "W1_2_1", "--draw", plain).exit_code == 0
    assert 'class="delta"' not in plain.read_text()  # deltas only when asked


def test_a_network_too_wide_to_label_labels_the_marked_paths_and_says_so(tmp_path):
    wide = tmp_path / "wide.yaml"
    wide.write_text("inputs: [x1, x2, x3, x4, x5, x6]\nlayers:\n  - {units: 8, activation: tanh}\n"
                    "  - {units: 3, activation: sigmoid}\nloss: {type: squared_error, target: [y1, y2, y3]}\n")
    out = tmp_path / "net.svg"
    assert run(wide, "--wrt", "W1_3_2", "--draw", out).exit_code == 0
    root = ET.parse(out).getroot()
    assert root.find(SVG + "title").text.endswith("; weights labelled on the marked paths only "
                                                  "(too many edges to label them all apart)")
    strong = {(e.get("data-from"), e.get("data-to")) for e in root.iter(SVG + "line") if "path" in e.get("class")}
    assert {t.text for t in root.iter(SVG + "text") if t.get("class") == "weight"} == \
        {"W1_3_2"} | {f"W2_{j}_3" for j in (1, 2, 3)}
    assert len(strong) == 1 + 3 + 3
    assert_apart(root)


def test_draw_deltas_goes_with_draw():
    r = run(DENSE, "--wrt", "W1_2_1", "--draw-deltas")
    assert r.exit_code == 2
    assert r.stderr == f"{DENSE}: error: --draw-deltas goes with --draw: it writes each node's delta in the picture\n"


@needs_standalone
def test_the_tikz_is_a_standalone_figure_in_math_mode(tmp_path):
    out = tmp_path / "net.tex"
    assert run(DENSE, "--wrt", "W1_2_1", "--draw", out, "--draw-deltas").exit_code == 0
    text = out.read_text()
    assert text.startswith(r"\documentclass[tikz, border=4pt]{standalone}")
    assert r"node[weight, pos=" in text and r"{$W^{[1]}_{21}$};" in text and r"{$a^{[1]}_{2}$};" in text
    assert text.count("node[weight") == 20 and r"$\delta$ 0.06231" in text
    story2 = tmp_path / "story2.tex"
    assert run(STORY2, "--wrt", "w_au", "--draw", story2).exit_code == 0
    assert "{$w_{au}$};" in story2.read_text()
    for name in ("net", "story2"):
        done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", f"{name}.tex"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout[-2000:]
        assert "Output written on " + name + ".pdf (1 page" in done.stdout  # a figure, no blank page after it
        assert "Overfull" not in done.stdout
