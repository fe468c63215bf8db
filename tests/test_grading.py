"""`derive FILE --wrt NAME --grade ANSWERS.csv`: a class judged row by row as --candidate judges one."""

import csv
import io
import json

import pytest
from click.testing import CliRunner

import derivator
from derivator.answers import grading
from derivator.cli import derive
from derivator.numbers import sweep
from tests.conftest import SPECS

STORY4 = str(SPECS / "story4_desmos_check.yaml")
RIGHT = "O(1-O)(w4 h2(1-h2) w2 + w5 h3(1-h3) w3) h1(1-h1) I"
HELPERS = ["--define", "s(x)=1/(1+exp(-x))", "--define", "d(x)=s(x)*(1-s(x))"]
HAND = "d(z_O) * (d(z_h2) * d(z_h1) * I + d(z_h3) * d(z_h1) * I)"  # story 4's hand answer


def class_file(tmp_path, rows, header="id,candidate"):
    path = tmp_path / "answers.csv"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header.split(","))
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return str(path)


def run(*args):
    return CliRunner().invoke(derive, list(args))


def read_csv(text):
    return list(csv.DictReader(io.StringIO(text)))


# -- the output: CSV by default, exactly the contract's columns -------------------------------------
def test_story4_class_as_csv(tmp_path):
    answers = class_file(tmp_path, [["ann", RIGHT], ["ben", HAND], ["cy", "2*" + RIGHT]])
    r = run(STORY4, "--wrt", "w1", *HELPERS, "--grade", answers)
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0] == "id,agrees,value,ratio,diagnosis"
    rows = read_csv(r.stdout)
    assert [row["id"] for row in rows] == ["ann", "ben", "cy"]
    assert [row["agrees"] for row in rows] == ["true", "false", "false"]
    # Story 4's published numbers: the derivative 0.0014291881022..., the hand answer 4 times it.
    assert float(rows[0]["value"]) == pytest.approx(0.00142918810220472, rel=1e-14)
    assert float(rows[1]["value"]) == pytest.approx(4 * 0.00142918810220472, rel=1e-14)
    assert [float(row["ratio"]) for row in rows] == [1.0, 4.0, 2.0]
    assert rows[0]["diagnosis"] == ""
    assert rows[1]["diagnosis"].split(" | ") == [
        "At the point the candidate is 0.00571675240882 and the derivative is 0.0014291881022; their ratio is 4.",
        "The term for the path through h2 (I → h1 → h2 → O) lacks the weights w4*w2 (= 0.25 at the point).",
        "The term for the path through h3 (I → h1 → h3 → O) lacks the weights w5*w3 (= 0.25 at the point)."]
    assert "a constant factor is extra (divide it by 2)" in rows[2]["diagnosis"]


def test_json_grades_and_summary(tmp_path):
    answers = class_file(tmp_path, [["1", RIGHT], ["2", HAND], ["3", "-" + RIGHT], ["4", "w9"], ["5", RIGHT]])
    r = run(STORY4, "--wrt", "w1", *HELPERS, "--grade", answers, "--format", "json")
    assert r.exit_code == 1  # row 4 could not be judged
    out = json.loads(r.stdout)
    assert [g["agrees"] for g in out["grades"]] == [True, False, False, None, True]
    assert set(out["grades"][0]) >= {"id", "agrees", "value", "ratio", "diagnosis"}
    assert out["grades"][3]["value"] is None and out["grades"][3]["ratio"] is None
    assert out["grades"][3]["diagnosis"][0].startswith("unknown name 'w9'")
    assert out["summary"] == {"right": 2, "wrong": 2, "unreadable": 1, "inconclusive": 0,
                              "mistakes": {"wrong sign": 1, "missing weight": 1}}


def test_every_row_is_judged_exactly_as_candidate_judges_it(tmp_path):
    """The same verdict, value, ratio and diagnosis as `--candidate` on that row alone."""
    candidates = [RIGHT, HAND, "I*h1", "O(1-O)(w4 h2(1-h2) w2) h1(1-h1) I", "(1-O^2)(w4 w2 + w5 w3) h1(1-h1) I",
                  "σ(z_O)(1-σ(z_O))(w4 σ(z_h2)(1-σ(z_h2)) w2 + w5 σ(z_h3)(1-σ(z_h3)) w3) σ(z_h1)(1-σ(z_h1)) I"]
    answers = class_file(tmp_path, [[str(i), c] for i, c in enumerate(candidates)])
    graded = json.loads(run(STORY4, "--wrt", "w1", *HELPERS, "--grade", answers, "--format", "json").stdout)
    for c, g in zip(candidates, graded["grades"], strict=True):
        alone = json.loads(run(STORY4, "--wrt", "w1", *HELPERS, "--candidate", c, "--format", "json").stdout)
        assert {k: g[k] for k in ("agrees", "value", "ratio", "diagnosis")} == \
            {k: alone["candidate"][k] for k in ("agrees", "value", "ratio", "diagnosis")}, c


def test_a_wrt_column_overrides_wrt_per_row(tmp_path):
    # ∂O/∂w4 = O(1 - O) h2 (the chain rule through O alone), ∂O/∂w1 as above
    answers = class_file(tmp_path, [["a", "O(1-O) h2", "w4"], ["b", RIGHT, ""], ["c", RIGHT, "w99"]],
                         header="id,candidate,wrt")
    out = json.loads(run(STORY4, "--wrt", "w1", "--grade", answers, "--format", "json").stdout)
    assert [g["agrees"] for g in out["grades"]] == [True, True, None]
    assert [g["wrt"] for g in out["grades"]] == ["w4", "w1", "w99"]
    assert "w99" in out["grades"][2]["diagnosis"][0]


# -- unreadable rows: their error as the diagnosis, and the others go on ---------------------------
def test_unreadable_rows_do_not_stop_the_rest(tmp_path):
    answers = class_file(tmp_path, [["a", "O(1-O"], ["b", ""], ["c", RIGHT], ["d", "O ** ** 2"]])
    r = run(STORY4, "--wrt", "w1", "--grade", answers)
    assert r.exit_code == 1
    rows = read_csv(r.stdout)
    assert [row["agrees"] for row in rows] == ["", "", "true", ""]
    assert rows[0]["diagnosis"] == "cannot read candidate: '(' was never closed (column 2)"
    assert rows[1]["diagnosis"] == "the candidate is empty"
    assert rows[3]["value"] == rows[3]["ratio"] == ""


def test_exit_zero_when_every_row_is_judged_even_when_wrong(tmp_path):
    answers = class_file(tmp_path, [["a", "I*h1"], ["b", RIGHT]])
    assert run(STORY4, "--wrt", "w1", "--grade", answers).exit_code == 0


def test_columns_in_any_order_extra_columns_a_byte_order_mark_and_blank_lines(tmp_path):
    path = tmp_path / "class.csv"
    path.write_bytes("\ufeffname,Candidate,ID\nAnn Lee,I*h1,7\n\n".encode())
    r = run(STORY4, "--wrt", "w1", "--grade", str(path))
    assert r.exit_code == 0, r.output
    assert [row["id"] for row in read_csv(r.stdout)] == ["7"]


@pytest.mark.parametrize("text, message", [
    ("", "answers.csv:1:1: error: the answers file is empty; it needs a header with 'id' and 'candidate'"),
    ("id,answer\n1,O\n", "answers.csv:1:1: error: the header has no 'candidate' column; it has: id, answer"),
])
def test_a_bad_answers_file_is_one_line_exit_2(tmp_path, monkeypatch, text, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "answers.csv").write_text(text)
    r = run(STORY4, "--wrt", "w1", "--grade", "answers.csv")
    assert r.exit_code == 2
    assert r.stderr.strip() == message


@pytest.mark.parametrize("flag", [["--candidate", "O"], ["--check"], ["--matrix"], ["--format", "latex"]])
def test_flags_that_do_not_go_with_grade(tmp_path, flag):
    answers = class_file(tmp_path, [["a", RIGHT]])
    r = run(STORY4, "--wrt", "w1", "--grade", answers, *flag)
    assert r.exit_code == 2
    assert "--grade" in r.stderr


# -- the kinds of mistake, one sentence of each --------------------------------------------------
@pytest.mark.parametrize("candidate, kind", [
    (HAND, "missing weight"),
    ("-" + RIGHT, "wrong sign"),
    ("2*" + RIGHT, "constant factor"),
    ("0*I", "zero"),
    ("O(1-O)(w4 h2(1-h2) w2) h1(1-h1) I", "missing path"),
    (RIGHT + " + I h1", "extra term"),
    ("O(1-O)(w4 h2(1-h2) w2 + w5 (1-h3^2) w3) h1(1-h1) I", "wrong activation derivative"),
    ("O(1-O)(w4 w2 + w5 h3(1-h3) w3) h1(1-h1) I", "missing factor"),
    ("O(1-O)(w4 h2(1-h2) w2 h1 + w5 h3(1-h3) w3) h1(1-h1) I", "extra factor"),
    ("O(1-O)(3 w4 h2(1-h2) w2 + w5 h3(1-h3) w3) h1(1-h1) I", "wrong coefficient"),
])
def test_each_kind_of_mistake_is_named(candidate, kind):
    net = derivator.load(STORY4)
    g = grading.grade(net, "w1", [grading.Row("x", candidate, None, 2)], definitions=HELPERS[1::2]).grades[0]
    assert g.agrees is False, g.diagnosis
    assert kind in g.kinds, (g.kinds, g.diagnosis)


def test_weights_and_a_factor_missing_are_two_kinds():
    g = grading.Grade("x", "w1", False, diagnosis=[
        "The term for the path through h2 (I → h1 → h2 → O) lacks the weights w4*w2 (= 0.25 at the point) and "
        "h2(1 - h2) (the derivative of h2's sigmoid)."])
    assert g.kinds == ["missing weight", "missing factor"]
    g.diagnosis = ["The candidate lacks the weight w4 (= 0.5 at the point)."]
    assert g.kinds == ["missing weight"]


# -- bounded work: one judgment per distinct expression, one forward pass per point ----------------
def test_the_same_expression_is_judged_once(monkeypatch):
    calls = []
    real = grading.judged
    monkeypatch.setattr(grading, "judged", lambda *a: calls.append(a[1]) or real(*a))
    spellings = [RIGHT, "O*(1-O)*(w4*h2*(1-h2)*w2 + w5*h3*(1-h3)*w3)*h1*(1-h1)*I", "I*h1", "I h1", "h1 I",
                 HAND.replace("d(", "(")]
    rows = [grading.Row(str(i), spellings[i % len(spellings)], None, i + 2) for i in range(300)]
    result = grading.grade(derivator.load(STORY4), "w1", rows)
    assert len(calls) == 3  # the right answer, I*h1 and the hand answer's form, each judged once
    assert [g.agrees for g in result.grades[:6]] == [True, True, False, False, False, False]
    assert result.grades[2] == grading.Grade("2", "w1", False, result.grades[3].value, result.grades[3].ratio,
                                             result.grades[3].diagnosis)


def test_forward_passes_are_shared_between_rows(monkeypatch):
    net = derivator.load(STORY4)
    passes = []
    real = sweep.Compiled.forward
    monkeypatch.setattr(sweep.Compiled, "forward", lambda self, *a, **k: passes.append(1) or real(self, *a, **k))
    grading.grade(net, "w1", [grading.Row("a", RIGHT, None, 2)])
    one = len(passes)
    passes.clear()
    grading.grade(net, "w1", [grading.Row(str(k), f"{k}*{RIGHT}", None, 2) for k in range(1, 11)])
    assert 0 < len(passes) <= one + 10 * 3  # ten different answers: the points' passes once, not ten times


# -- a class kept in specs/: right answers in several notations, the typical mistakes, unreadable rows ---
def test_the_story4_class_is_marked_as_its_expected_columns_say():
    path = SPECS / "story4_class.csv"
    expected = {row["id"]: row for row in csv.DictReader(path.open(encoding="utf-8"))}
    result = grading.grade(derivator.load(STORY4), "w1", grading.read(path))
    assert len(result.grades) == len(expected) == 18
    for g in result.grades:
        want = expected[g.id]
        assert g.agrees == {"true": True, "false": False, "": None}[want["expected"]], (g.id, g.diagnosis)
        assert g.kinds == [k for k in want["mistakes"].split(";") if k], (g.id, g.diagnosis)
    assert result.summary == {"right": 6, "wrong": 9, "unreadable": 3, "inconclusive": 0, "mistakes": {
        "equal only at the point": 1, "wrong sign": 1, "constant factor": 1, "missing path": 2, "extra term": 1,
        "wrong activation derivative": 1, "missing weight": 2, "missing factor": 2, "extra factor": 2}}


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_semicolon_and_tab_separated_answers(tmp_path, delimiter):
    path = tmp_path / "class.csv"
    path.write_text(f"id{delimiter}candidate\na{delimiter}O(1-O) h2\nb{delimiter}h2\n")
    out = json.loads(run(STORY4, "--wrt", "w4", "--grade", str(path), "--format", "json").stdout)
    assert [(g["id"], g["agrees"]) for g in out["grades"]] == [("a", True), ("b", False)]


def test_without_wrt_the_answers_must_name_it(tmp_path):
    answers = class_file(tmp_path, [["a", RIGHT]])
    r = run(STORY4, "--grade", answers)
    assert r.exit_code == 2
    assert r.stderr.startswith(f"{STORY4}: error: missing --wrt NAME")
    named = class_file(tmp_path, [["a", "O(1-O) h2", "w4"], ["b", RIGHT, ""]], header="id,candidate,wrt")
    out = json.loads(run(STORY4, "--grade", named, "--format", "json").stdout)
    assert [g["agrees"] for g in out["grades"]] == [True, None]
    assert out["grades"][1]["diagnosis"] == ["no --wrt, and the row has no wrt of its own"]
