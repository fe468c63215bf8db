"""`derive-sheet`: exercise variants, the sheet and the answer key (CONTRACT section 11)."""

import hashlib
import os
import re
import subprocess
import sys
import tomllib
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner

import derivator
from derivator.cli import derive
from derivator.sheets import variants
from derivator.sheets.command import sheet
from tests.conftest import SPECS, needs_tikz

ROOT = Path(__file__).resolve().parent.parent
ARGS = ["--shape", "2-2-1", "--activation", "sigmoid", "--loss", "squared_error", "--ask", "w1,w5"]


def make(tmp_path, *args, name="out"):
    out = tmp_path / name
    r = CliRunner().invoke(sheet, [*args, "--out", str(out)])
    return r, out


@pytest.fixture(scope="module")
def thirty(tmp_path_factory):
    r, out = make(tmp_path_factory.mktemp("sheet"), *ARGS, "--count", "30", "--seed", "7")
    assert r.exit_code == 0, r.output
    return out


# -- the files: 30 networks with round numbers, a sheet, a key --------------------------------------
def test_writes_every_file(thirty):
    assert sorted(p.name for p in thirty.iterdir()) == sorted(
        [f"exercise-{n}.yaml" for n in range(1, 31)] + ["sheet.tex", "key.tex"])


def test_each_exercise_is_the_shape_at_round_numbers(thirty):
    points = set()
    for n in range(1, 31):
        net = derivator.load(thirty / f"exercise-{n}.yaml")
        assert net.inputs == ["x1", "x2"] and list(net.nodes) == ["h1", "h2", "o1"]
        assert [(e.src, e.dst, str(e.weight)) for e in net.edges] == [
            ("x1", "h1", "w1"), ("x2", "h1", "w2"), ("x1", "h2", "w3"), ("x2", "h2", "w4"),
            ("h1", "o1", "w5"), ("h2", "o1", "w6")]
        assert [n.activation.name for n in net.nodes.values()] == ["sigmoid"] * 3
        assert net.loss.type == "squared_error"
        assert set(net.at) == {"x1", "x2", "w1", "w2", "w3", "w4", "w5", "w6", "b1", "b2", "b3", "y"}
        for name, x in net.at.items():
            tenths = Fraction(str(x)) * 10
            assert tenths.denominator == 1, (name, x)  # one decimal
            assert (0 <= x <= 1) if name == "y" else (x != 0 and -1 <= x <= 1), (name, x)
        points.add(tuple(sorted(net.at.items())))
    assert len(points) == 30  # no variant repeats another


def test_decimals_sets_the_round_numbers(tmp_path):
    r, out = make(tmp_path, *ARGS, "--count", "3", "--decimals", "2")
    assert r.exit_code == 0, r.output
    texts = re.findall(r"^  \w+: (\S+)$", (out / "exercise-1.yaml").read_text(), re.M)
    assert texts and all(re.fullmatch(r"-?[01](\.\d{1,2})?", t) for t in texts)
    assert any(len(t.split(".")[-1]) == 2 for t in texts if "." in t)


@pytest.mark.parametrize("units, decimals, text", [(3, 1, "0.3"), (-25, 2, "-0.25"), (10, 1, "1"), (-1, 0, "-1"),
                                                   (1, 4, "0.0001"), (120, 2, "1.2"), (0, 1, "0")])
def test_decimal_text_is_exact(units, decimals, text):
    assert variants.decimal(units, decimals) == text


def test_the_first_variants_do_not_depend_on_the_count(tmp_path, thirty):
    r, out = make(tmp_path, *ARGS, "--count", "5", "--seed", "7")
    assert r.exit_code == 0
    for n in range(1, 6):
        assert (out / f"exercise-{n}.yaml").read_bytes() == (thirty / f"exercise-{n}.yaml").read_bytes()


def test_another_seed_gives_other_points(tmp_path, thirty):
    _, out = make(tmp_path, *ARGS, "--count", "1", "--seed", "8")
    assert (out / "exercise-1.yaml").read_text() != (thirty / "exercise-1.yaml").read_text()


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_the_same_seed_gives_the_same_bytes_under_any_hash_seed(tmp_path, thirty):
    """Two fresh processes with different string hashing: every file byte for byte as the first run's."""
    for hash_seed in ("0", "12345"):
        out = tmp_path / hash_seed
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(ROOT)}
        subprocess.run([sys.executable, "-m", "derivator.sheets", *ARGS, "--count", "30", "--seed", "7",
                        "--out", str(out)], check=True, env=env, cwd=tmp_path, capture_output=True)
        assert digests(out) == digests(thirty)


# -- the key: derive's own derivation and numbers ------------------------------------------------
def test_the_key_holds_derive_latex_for_every_variant_and_name(thirty):
    key = (thirty / "key.tex").read_text()
    for n in (1, 2, 17, 30):
        for wrt in ("w1", "w5"):
            r = CliRunner().invoke(derive, [str(thirty / f"exercise-{n}.yaml"), "--wrt", wrt, "--format", "latex"])
            assert r.exit_code == 0
            assert r.stdout.strip() in key, (n, wrt)


def test_every_value_in_the_key_is_derive_value(thirty):
    key = (thirty / "key.tex").read_text()
    table = re.findall(r"^(\d+) & \$(\S+)\$ & \$(\S+)\$ \\\\$", key, re.M)
    assert [int(n) for n, _, _ in table] == list(range(1, 31))
    for n, d1, d5 in table:
        net = derivator.load(thirty / f"exercise-{n}.yaml")
        for wrt, text in (("w1", d1), ("w5", d5)):
            r = derivator.report(net, wrt, check=True)
            assert float(text) == pytest.approx(r.value, rel=1e-14)
            assert r.check.agrees and r.value != 0  # a numerical derivative agrees; never a trivial 0
        assert f"\\subsubsection*{{$\\partial \\mathcal{{L}} / \\partial w_{{1}} = {d1}$}}" in key


def test_mazur_story_numbers_through_a_template(tmp_path):
    """A variant at Mazur's own point reproduces his published dE/dw5 = 0.082167041: the key's numbers are
    derive's, and derive's are those of the worked example learners know."""
    net = derivator.load(SPECS / "mazur_step_by_step.yaml")
    assert derivator.report(net, "w5").value == pytest.approx(0.082167041, abs=1e-9)
    r, out = make(tmp_path, "--template", str(SPECS / "mazur_step_by_step.yaml"), "--ask", "w5,w1", "--count", "2")
    assert r.exit_code == 0, r.output
    for n in (1, 2):
        variant = derivator.load(out / f"exercise-{n}.yaml")
        assert [(e.src, e.dst, str(e.weight)) for e in variant.edges] == \
            [(e.src, e.dst, str(e.weight)) for e in net.edges]
        assert set(variant.at) == {*net.inputs, *net.params, *net.targets}
        assert variant.at != net.at


def test_a_template_with_data_keeps_its_samples_and_draws_the_parameters(tmp_path):
    template = SPECS / "story3_matrix_form.yaml"
    r, out = make(tmp_path, "--template", str(template), "--ask", "W2_1_1", "--count", "2")
    assert r.exit_code == 0, r.output
    net, variant = derivator.load(template), derivator.load(out / "exercise-1.yaml")
    assert variant.samples == net.samples
    assert set(variant.at) == set(net.params)


def test_a_template_with_one_hot_targets_draws_one_hot_ones(tmp_path):
    r, out = make(tmp_path, "--template", str(SPECS / "softmax_three_classes.yaml"), "--ask", "v1", "--count", "6")
    assert r.exit_code == 0, r.output
    for n in range(1, 7):
        at = derivator.load(out / f"exercise-{n}.yaml").at
        assert sorted(at[t] for t in ("y1", "y2", "y3")) == [0, 0, 1]


def test_relu_variants_are_drawn_away_from_kinks_and_zeros(tmp_path):
    r, out = make(tmp_path, "--shape", "2-3-1", "--activation", "relu,identity", "--ask", "w1,w2,w3", "--count", "8")
    assert r.exit_code == 0, r.output
    for n in range(1, 9):
        net = derivator.load(out / f"exercise-{n}.yaml")
        for wrt in ("w1", "w2", "w3"):
            report = derivator.report(net, wrt, check=True)
            assert report.value != 0 and not report.check.kinks


def test_deeper_shapes_name_their_layers(tmp_path):
    r, out = make(tmp_path, "--shape", "3-2-2-2", "--activation", "tanh", "--loss", "half_squared_error",
                  "--ask", "w1", "--count", "1")
    assert r.exit_code == 0, r.output
    net = derivator.load(out / "exercise-1.yaml")
    assert list(net.nodes) == ["h1_1", "h1_2", "h2_1", "h2_2", "o1", "o2"]
    assert net.targets == ["y1", "y2"] and len(net.edges) == 3 * 2 + 2 * 2 + 2 * 2


# -- compiling, and what a reader sees -------------------------------------------------------------
@needs_tikz
@pytest.mark.parametrize("name", ["sheet.tex", "key.tex"])
def test_sheet_and_key_compile_without_overfull_boxes(thirty, tmp_path, name):
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", str(thirty / name)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:]
    log = (tmp_path / name.replace(".tex", ".log")).read_text(errors="replace")
    assert "Overfull" not in log


def test_the_sheet_asks_without_answering(thirty):
    text = (thirty / "sheet.tex").read_text()
    assert text.count(r"\begin{tikzpicture}") == 30
    assert text.count(r"\subsection*{Exercise ") == 30
    assert text.count(r"\rule{7cm}{0.4pt}") == 60  # a blank for each asked name of each variant
    key = (thirty / "key.tex").read_text()
    values = re.findall(r"^\d+ & \$(\S+)\$ & \$(\S+)\$", key, re.M)
    assert not any(v in text for pair in values for v in pair)


# -- the command line ----------------------------------------------------------------------------
@pytest.mark.parametrize("args, message", [
    (["--shape", "2-2-1", "--activation", "sigmod", "--ask", "w1"],
     "derive-sheet: error: --activation: unknown activation 'sigmod'; did you mean 'sigmoid'?"),
    (["--shape", "2-2-1", "--ask", "w9"], "derive-sheet: error: --ask: unknown name 'w9'"),
    (["--shape", "2-x-1", "--ask", "w1"], "derive-sheet: error: --shape expects layer sizes such as 2-2-1"),
    (["--ask", "w1"], "derive-sheet: error: give --shape (such as 2-2-1) or --template NET.yaml, one of them"),
    (["--shape", "2-2-1"], "derive-sheet: error: missing --ask NAME"),
    (["--shape", "2-2-1", "--ask", "w1", "--count", "0"], "derive-sheet: error: --count must be 1 to 500, not 0"),
    (["--shape", "2-2-1", "--ask", "w1", "--loss", "hinge"], "derive-sheet: error: --loss: unknown loss 'hinge'"),
    (["--template", str(SPECS / "story3_matrix_form.yaml"), "--ask", "x1"],
     "derive-sheet: error: --ask x1: with 'data', every input and node takes a value per sample"),
    (["--template", str(SPECS / "story4_desmos_check.yaml"), "--loss", "squared_error", "--ask", "w1"],
     "derive-sheet: error: --loss goes with --shape; a template's file says its own"),
])
def test_bad_usage_is_one_line_exit_2(tmp_path, args, message):
    r, out = make(tmp_path, *args)
    assert r.exit_code == 2
    assert r.stderr.startswith(message), r.stderr
    assert len(r.stderr.splitlines()) == 1 and not out.exists()


def test_a_bad_template_is_reported_at_its_line(tmp_path):
    bad = tmp_path / "net.yaml"
    bad.write_text("inputs: [x]\nnodes:\n  o: {activation: sigmod}\nedges:\n  - [x, o, w]\noutput: o\n")
    r, _ = make(tmp_path, "--template", str(bad), "--ask", "w")
    assert r.exit_code == 2
    assert r.stderr.startswith(f"{bad}:3:")


def test_the_console_script_is_declared():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["derive-sheet"] == "derivator.sheets.command:main"
    assert scripts["derive"] == "derivator.cli:main"


def test_the_spec_is_exercise_1_of_the_contract_example(thirty):
    """specs/sheet_exercise_2_2_1.yaml, below its two comment lines, is what derive-sheet writes."""
    spec = (SPECS / "sheet_exercise_2_2_1.yaml").read_text().split("\n", 2)[2]
    assert spec == (thirty / "exercise-1.yaml").read_text()


@pytest.mark.parametrize("template, count", [("story3_matrix_form.yaml", 9), ("mazur_step_by_step.yaml", 8)])
def test_weight_labels_are_placed_apart(template, count):
    """The drawing's label boxes (as it estimates them) overlap no node and no other label."""
    from derivator.render import labels
    from derivator.sheets import drawing
    net = derivator.load(SPECS / template)
    tex = drawing.tikz(net, "loss")
    assert tex.count("node[weight") == len(net.edges)
    p = drawing.layout(net, net.params[0], "loss")
    p.positions = {n: (x, y * drawing.STRETCH) for n, (x, y) in p.positions.items()} \
        if template.startswith("story3") else p.positions
    places = drawing._places(p, 1.0)
    unit = drawing.SCALE
    nodes = [(x - drawing.NODE / unit, y - drawing.NODE / unit, x + drawing.NODE / unit, y + drawing.NODE / unit)
             for x, y in p.positions.values()]
    boxes = [labels.label_box(p.positions[a], p.positions[b], t, drawing.CHAR * labels.visible(label) / unit,
                                drawing.LINE / unit) for (a, b, label, _), t in zip(p.edges, places, strict=True)
             if label]
    assert len(boxes) == count
    for i, box in enumerate(boxes):
        assert all(labels.overlap(box, n) == 0 for n in nodes)
        assert all(labels.overlap(box, other) == 0 for other in boxes[:i])
