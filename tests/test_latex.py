"""Candidates in the learner's notation: LaTeX as pasted, primes, Iverson brackets, --candidate-file."""

import json

import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from derivator.load import latex_reader
from derivator.load.notation import rewrite
from tests.conftest import SPECS, examples
from tests.hang import assert_clean, run

STORY4 = str(SPECS / "story4_desmos_check.yaml")
STORY5 = str(SPECS / "story5_tanh_squared_error.yaml")
SOFTMAX = str(SPECS / "softmax_three_classes.yaml")
TEX_HELPERS = ["--define", r"s\left(x\right)=\frac{1}{1+e^{-x}}",
               "--define", r"d\left(x\right)=s\left(x\right)\left(1-s\left(x\right)\right)"]
# Story 4's hand derivation exactly as the question pasted it: dO/dw1 without w4 w2 and w5 w3.
PASTED = (r"d\left(s\left(s\left(Iw_1+1\right)w_2+1\right)w_4+s\left(s\left(Iw_1+1\right)w_3+1\right)w_5+1\right)"
          r"\cdot\left(d\left(s\left(Iw_1+1\right)w_2+1\right)\cdot d\left(Iw_1+1\right)\cdot I+d\left(s\left("
          r"Iw_1+1\right)w_3+1\right)\cdot d\left(Iw_1+1\right)\cdot I\right)")
ACCEPTED = (r"d\left(z_O\right)\cdot\left(\mathbf{w_4}\cdot d\left(z_{h_2}\right)\cdot w_2 + \mathbf{w_5}\cdot "
            r"d(z_{h_3})\cdot w_3\right)\cdot d(z_{h_1})\cdot I")
# The accepted answer in the pasted form: each path's weights, bold as the answer set them, with ⋅.
ACCEPTED_PASTED = PASTED.replace(r"\cdot\left(d\left(s\left(Iw_1+1\right)w_2", r"\cdot\left(\mathbf{w_4}⋅\mathbf{w_2}⋅"
                                 r"d\left(s\left(Iw_1+1\right)w_2").replace(
    r"I+d\left(s\left(Iw_1+1\right)w_3", r"I+\mathbf{w_5}⋅\mathbf{w_3}⋅d\left(s\left(Iw_1+1\right)w_3")
RELU = """\
inputs: [x]
nodes:
  h: {activation: relu, bias: b}
  o: {activation: identity}
edges:
  - [x, h, w1]
  - [h, o, w2]
output: o
loss: {type: squared_error, target: y}
at: {x: 1.5, w1: 0.8, b: -0.2, w2: 1.1, y: 0.3}
"""


@pytest.fixture(scope="module")
def relu(tmp_path_factory):
    path = tmp_path_factory.mktemp("latex") / "relu.yaml"
    path.write_text(RELU)
    return str(path)


def judged(spec, wrt, candidate, *defines):
    r = run([spec, "--wrt", wrt, *defines, "--candidate", candidate, "--format", "json"])
    assert r.exit_code in (0, 1), r.output
    return r.exit_code, json.loads(r.stdout)["candidate"]


# -- story 4: the pasted hand derivation and the accepted answer -------------------------------------
def test_story4_pasted_hand_derivation_is_four_times_the_derivative():
    r = run([STORY4, "--wrt", "w1", *TEX_HELPERS, "--candidate", PASTED])
    assert r.exit_code == 1, r.output
    assert "Verdict: the candidate does NOT agree" in r.stdout
    assert "their ratio is 4." in r.stdout
    status, c = judged(STORY4, "w1", PASTED, *TEX_HELPERS)
    assert (status, c["agrees"]) == (1, False)
    assert c["ratio"] == pytest.approx(4.0, rel=1e-12)
    assert c["value"] == pytest.approx(0.00571675240882, rel=1e-11)
    # recognised as nodes (s(I w1 + 1) is h1, ...), so both missing factors are named, per path
    assert "The term for the path through h2 (I → h1 → h2 → O) lacks the weights w4*w2 (= 0.25 at the point)." \
        in c["diagnosis"]
    assert "The term for the path through h3 (I → h1 → h3 → O) lacks the weights w5*w3 (= 0.25 at the point)." \
        in c["diagnosis"]
    assert "lacks the weights w4*w2" in r.stdout and "lacks the weights w5*w3" in r.stdout


@pytest.mark.parametrize("accepted", [ACCEPTED, ACCEPTED.replace(r"\cdot", "⋅"), ACCEPTED.replace(r"\cdot", "·"),
                                      ACCEPTED.replace(r"\cdot ", "").replace(r"\cdot", " ")], ids=repr)
def test_story4_accepted_answer_agrees(accepted):
    r = run([STORY4, "--wrt", "w1", *TEX_HELPERS, "--candidate", accepted])
    assert r.exit_code == 0, r.output
    assert "Verdict: the candidate agrees" in r.stdout


# -- a corpus of right answers, in the spellings learners paste --------------------------------------
RIGHT = [
    # story 4, dO/dw1: node values, juxtaposed subscripted names
    (STORY4, "w1", r"O\left(1-O\right)\left(w_4h_2\left(1-h_2\right)w_2+w_5h_3\left(1-h_3\right)w_3\right)h_1\left("
                   r"1-h_1\right)I", []),
    (STORY4, "w1", r"$O(1-O)\,(w_{4}\,h_{2}(1-h_{2})\,w_{2} + w_{5}\,h_{3}(1-h_{3})\,w_{3})\;h_{1}(1-h_{1})\,I$", []),
    (STORY4, "w1", r"\sigma(z_O)\cdot(1-\sigma(z_O))\cdot\left(\mathbf{w}_4\sigma(z_{h_2})(1-\sigma(z_{h_2}))w_2+"
                   r"\mathbf{w}_5\sigma(z_{h_3})(1-\sigma(z_{h_3}))w_3\right)\sigma(z_{h_1})(1-\sigma(z_{h_1}))I", []),
    (STORY4, "w1", r"\frac{e^{-z_O}}{\left(1+e^{-z_O}\right)^{2}}\times\left(w_4\frac{e^{-z_{h_2}}}{(1+e^{-z_{h_2}}"
                   r")^2}w_2+w_5\frac{e^{-z_{h_3}}}{(1+e^{-z_{h_3}})^2}w_3\right)\times h_1(1-h_1)\times I", []),
    (STORY4, "w1", r"\sigma'(z_O)\left[w_4\sigma'(z_{h_2})w_2+w_5\sigma'(z_{h_3})w_3\right]\sigma^{\prime}(z_{h_1})I",
     []),
    (STORY4, "w1", "σ'(z_O)(w4 σ'(z_h2) w2 + w5 σ'(z_h3) w3) σ'(z_h1) I", []),
    (STORY4, "w1", "s'(z_O)[w4 s'(z_h2) w2 + w5 s'(z_h3) w3] s'(z_h1) I", ["--define", "s(x)=1/(1+exp(-x))"]),
    (STORY4, "w1", r"s'\left(z_O\right)\left(w_4s'\left(z_{h_2}\right)w_2+w_5s'\left(z_{h_3}\right)w_3\right)"
                   r"s'\left(z_{h_1}\right)I", TEX_HELPERS),
    (STORY4, "w4", r"\frac{1}{1+e^{-z_O}}\left(1-\frac{1}{1+e^{-z_O}}\right)h_2", []),
    # story 4 in the pasted form, the weights put in (the accepted answer), and in sigmoids
    (STORY4, "w1", ACCEPTED_PASTED, TEX_HELPERS),
    (STORY4, "w1", ACCEPTED_PASTED.replace(r"\cdot", "⋅").replace("⋅", r"\times "), TEX_HELPERS),
    (STORY4, "w1", ACCEPTED_PASTED.replace("s\\left(", r"\sigma\left(").replace("d\\left(", r"\sigma'\left("), []),
    (STORY4, "w1", r"\frac{e^{-z_O}}{(1+e^{-z_O})^2}\cdot\left(w_4 w_2\,\frac{e^{z_{h_2}}}{(1+e^{z_{h_2}})^2}+w_5 w_3\,"
                   r"\frac{e^{z_{h_3}}}{(1+e^{z_{h_3}})^2}\right)\frac{1}{1+e^{-(Iw_1+1)}}\left(1-\frac{1}{1+e^{-(Iw_1+1)}}"
                   r"\right)I", []),
    # the whole line pasted: the derivative's left side and a full stop are dropped
    (STORY4, "w4", r"\frac{\partial O}{\partial w_4}=O\left(1-O\right)h_2", []),
    (STORY4, "w4", r"$\frac{\mathrm{d}O}{\mathrm{d}w_4} = O\left(1-O\right)h_2\,.$", []),
    (STORY4, "w4", "dO/dw4 = O(1-O) h2", []),
    (STORY4, "w4", "∂O/∂w4 = O(1 - O) h2", []),
    (STORY4, "w4", r"\dfrac{1}{1+e^{-z_O}}\left(1-\dfrac{1}{1+e^{-z_O}}\right)h_2", []),
    (STORY4, "w4", r"\boldsymbol{O}(1-\boldsymbol{O})\boldsymbol{h}_2", []),
    (STORY4, "w4", r"\left(1+e^{-z_{O}}\right)^{-1}\left(1-\left(1+e^{-z_{O}}\right)^{-1}\right)h_{2}", []),
    (STORY4, "w4", r"O(1-O)\frac{1}{1+e^{-\left(w_{2}h_{1}+1\right)}}", []),
    # story 5's delta, tanh
    (STORY5, "z_x", r"2\left(x-y\right)\left(1-x^{2}\right)", []),
    (STORY5, "z_x", "2(x - y) tanh'(z_x)", []),
    (STORY5, "z_x", r"2(x-y)\left(1-\tanh^2 z_x\right)", []),
    (STORY5, "z_x", r"2 \cdot (x - y) \cdot \tanh^{\prime}\left(z_{x}\right)", []),
    # the softmax probability written out
    (SOFTMAX, "v1", r"\left(\frac{e^{k_1}}{e^{k_1}+e^{k_2}+e^{k_3}}-y_1\right)h", []),
]
WRONG = [  # (spec, wrt, candidate, defines, ratio at the point)
    (STORY4, "w1", r"2O\left(1-O\right)\left(w_4h_2\left(1-h_2\right)w_2+w_5h_3\left(1-h_3\right)w_3\right)h_1\left("
                   r"1-h_1\right)I", [], 2.0),
    (STORY4, "w1", r"-\sigma'(z_O)\left(w_4\sigma'(z_{h_2})w_2+w_5\sigma'(z_{h_3})w_3\right)\sigma'(z_{h_1})I", [],
     -1.0),
    (STORY4, "w1", r"\frac{1}{2}\sigma'(z_O)\left(w_4\sigma'(z_{h_2})w_2+w_5\sigma'(z_{h_3})w_3\right)"
                   r"\sigma'(z_{h_1})I", [], 0.5),
    (STORY4, "w1", "d(z_O) (d(z_h2) d(z_h1) I + d(z_h3) d(z_h1) I)", TEX_HELPERS, 4.0),
    (STORY5, "z_x", r"\left(x-y\right)\left(1-x^2\right)", [], 0.5),
    (STORY4, "w1", ACCEPTED_PASTED.replace(r"\mathbf{w_5}⋅", ""), TEX_HELPERS, None),  # one weight forgotten
    (STORY4, "w1", ACCEPTED_PASTED.replace(r"d\left(Iw_1+1\right)\cdot I+", "I+"), TEX_HELPERS, None),
    (STORY5, "z_x", "2(x - y) tanh'(x)", [], None),  # tanh' at the output, not at z_x: no constant ratio
]


@pytest.mark.parametrize("spec, wrt, cand, defines", RIGHT, ids=[c for _, _, c, _ in RIGHT])
def test_right_answers_in_latex_agree(spec, wrt, cand, defines):
    status, c = judged(spec, wrt, cand, *defines)
    assert (status, c["agrees"]) == (0, True), c


@pytest.mark.parametrize("spec, wrt, cand, defines, ratio", WRONG, ids=[c for _, _, c, _, _ in WRONG])
def test_wrong_answers_in_latex_are_diagnosed(spec, wrt, cand, defines, ratio):
    r = run([spec, "--wrt", wrt, *defines, "--candidate", cand])
    assert r.exit_code == 1, r.output
    assert "Verdict: the candidate does NOT agree" in r.stdout
    status, c = judged(spec, wrt, cand, *defines)
    assert (status, c["agrees"]) == (1, False)
    if ratio is not None:
        assert c["ratio"] == pytest.approx(ratio, rel=1e-12)
    else:
        assert c["ratio"] != pytest.approx(1.0)


@pytest.mark.parametrize("cand, sentence", [
    (PASTED, "through h2 (I → h1 → h2 → O) lacks the weights w4*w2 (= 0.25 at the point)"),
    (ACCEPTED_PASTED.replace(r"\mathbf{w_5}⋅", ""),
     "through h3 (I → h1 → h3 → O) lacks the weight w5 (= 0.5 at the point)"),
    (ACCEPTED_PASTED.replace(r"d\left(Iw_1+1\right)\cdot I+", "I+"),
     "through h2 (I → h1 → h2 → O) lacks h1(1 - h1) (the derivative of h1's sigmoid)"),
    (ACCEPTED_PASTED.replace(r"\mathbf{w_4}⋅\mathbf{w_2}⋅", r"\mathbf{w_4}⋅\mathbf{w_2}⋅\mathbf{w_2}⋅"),
     "through h2 (I → h1 → h2 → O) has an extra w2"),
])
def test_wrong_pasted_answers_name_what_each_path_lacks(cand, sentence):
    _, c = judged(STORY4, "w1", cand, *TEX_HELPERS)
    assert any(sentence in s for s in c["diagnosis"]), c["diagnosis"]


LAYERED = str(SPECS / "softmax_layer_categorical.yaml")


@pytest.mark.parametrize("cand", [
    r"\left(a^{[2]}_1-y_1\right)a^{[1]}_1", r"(a^{(2)}_{1} - y_{1})\,a^{(1)}_{1}", "(a2_1 - y1) a1_1",
    r"\left[a_{2\_1}-y_1\right]a^{[1]}_1".replace(r"a_{2\_1}", "a_{2_1}"),
])
def test_a_softmax_layers_probabilities_by_their_node_names(cand):
    r = run([LAYERED, "--wrt", "W2_1_1", "--candidate", cand])
    assert r.exit_code == 0, r.output
    assert "Verdict: the candidate agrees" in r.stdout


@pytest.mark.parametrize("cand", ["p_1 - y_1", "(p_1-y_1)", "p1 - y_1"])
def test_subscripts_in_the_tools_syntax_name_the_networks_names(cand):
    status, c = judged(str(SPECS / "softmax_jacobian.yaml"), "l1", cand)
    assert (status, c["agrees"]) == (0, True), c


def test_an_unknown_subscripted_name_is_an_error_at_its_column():
    r = run([str(SPECS / "softmax_jacobian.yaml"), "--wrt", "l1", "--candidate", "p_1 - q_1"])
    assert r.exit_code == 2
    assert "--candidate: unknown name 'q_1'" in r.stderr and "(column 7)" in r.stderr


def test_a_layers_weight_as_courses_write_it():
    """W^{[2]}_{12} is row 1, column 2 of W2: in the candidate, a weight dropped from dZ's chain."""
    r = run([LAYERED, "--wrt", "a1_2", "--candidate", r"\sum_k"])
    assert r.exit_code == 2
    status, c = judged(LAYERED, "b1_2", r"W^{[2]}_{12}\left(a^{[2]}_1-y_1\right)")
    assert (status, c["agrees"]) == (1, False)


# -- a relu network: the Iverson bracket and the step ------------------------------------------------
@pytest.mark.parametrize("cand", [
    "2(o - y) w2 [z_h > 0] x", r"2\left(o-y\right)w_2\left[z_h>0\right]x", r"2(o-y)\,w_{2}\,[z_{h} \gt 0]\,x",
    "2(o - y) w2 step(z_h) x", "2(o - y) w2 relu'(z_h) x", r"2(o-y)w_2\operatorname{relu}'(z_h)x",
    "2(o - y) w2 [0 < z_h] x", r"2(o-y)w_2\left[z_h\geq 0\right]x", "2(o-y) w2 [z_h ≥ 0] x",
    r"2(o-y)w_2\left\{z_h>0: 1, 0\right\}x",  # Desmos's piecewise form
])
def test_relu_derivative_as_an_iverson_bracket_agrees(relu, cand):
    status, c = judged(relu, "w1", cand)
    assert (status, c["agrees"]) == (0, True), c


@pytest.mark.parametrize("cand, ratio", [("(o - y) w2 [z_h > 0] x", 0.5), (r"2(o-y)w_2\left[z_h<0\right]x", 0.0),
                                         ("2(o - y) w2 [-z_h >= 0] x", 0.0)])
def test_relu_wrong_brackets_are_diagnosed(relu, cand, ratio):
    status, c = judged(relu, "w1", cand)
    assert (status, c["agrees"]) == (1, False)
    assert c["ratio"] == pytest.approx(ratio, abs=1e-12)


# -- what the readers write: the notation, and the formula language --------------------------------
NAMES = {"I", "w1", "w2", "w4", "h2", "O", "z_h1", "z_O", "gamma"}
FUNCS = {"exp", "sigmoid", "tanh", "log", "d", "sqrt", "max"}


@pytest.mark.parametrize("tex, written", [
    (r"Iw_1", "I*w1"),
    (r"z_{h_1}", "z_h1"),
    (r"w_{4}h_2", "w4*h2"),
    (r"\mathbf{w}_4\mathbf{h_2}", "w4*h2"),
    (r"\frac{1}{1+e^{-z_O}}", "(((1))/((1+exp(1)**((-z_O)))))"),
    (r"\frac12", "((1)/(2))"),
    (r"x^23".replace("x", "O"), "O**(2)*3"),  # TeX's one-character script
    (r"\tanh^2 z_O", "(tanh(z_O))**(2)"),
    (r"\sigma^{\prime}\left(z_O\right)", "sigmoid'(z_O)"),
    (r"\left[z_O \geq 0\right]", "[z_O>=0]"),
    (r"\sqrt[3]{O}", "(((O))**(1/[3]))"),
    (r"\left|O\right| \ln O", "abs(O)*log(O)"),
    (r"\gamma\, O", "gamma*O"),
    (r"d\left(Iw_1+1\right)\cdot I", "d(I*w1+1)*I"),
])
def test_latex_is_written_in_the_tools_notation(tex, written):
    assert latex_reader.translate(tex, NAMES, FUNCS).text == written


@pytest.mark.parametrize("plain, written", [
    ("[O + 1] O", "(O + 1) O"),
    ("[z_O > 0]", "(_iverson_gt((z_O )-( 0)))"),
    ("[z_O <= 1]", "(_iverson_ge(( 1)-(z_O )))"),
    ("σ'(z_O)", "_prime_sigmoid(z_O)"),
    ("d [x > 0]", "d (_iverson_gt((x )-( 0)))"),
])
def test_notation_is_written_in_the_formula_language(plain, written):
    assert rewrite(plain).text == written


# -- errors: one line, exit 2, the column in what the learner wrote ---------------------------------
@pytest.mark.parametrize("cand, message", [
    (r"O\cdot\foo", r"--candidate: unknown LaTeX command '\foo' (column 7)"),
    (r"\frac{1}{2}\left(O + 1", r"--candidate: \left( is never closed by \right) (column 12)"),
    (r"O\left(1-O\right]", r"--candidate: \right] does not close the \left( at column 2 (column 17)"),
    (r"O + q\left(z_{O}\right)", "--candidate: unknown function 'q'; define it with --define 'q(x)=...' (known: "),
    ("O + q(z_O)", "--candidate: unknown function 'q'; define it with --define 'q(x)=...'"),
    (r"O\cdot w_{6}", "--candidate: unknown name 'w6'"),
    (r"\frac{1}{1+e^{-z_O}} > 0", "--candidate: a comparison is read only in an Iverson bracket"),
    (r"w_{1+2}", "a subscript is a name or a number, as w_1 or z_{h_1} (column 5)"),
    ("O = O(1 - O) h2", "--candidate: cannot read candidate: invalid syntax (column 3)"),  # not a derivative's side
    (r"\left(a^{[2]}_1\right)", "read only for a layer's entry of the network, as a^{[2]}_1; write the subscript "
                                "first, x_1^2 (column 14)"),
    (r"O'(z_O)", "--candidate: 'O' is a name of the network; a prime is the derivative of a function"),
    ("[O + 1", "--candidate: cannot read candidate: '[' was never closed (column 1)"),
    ("(O + 1]", "--candidate: cannot read candidate: ']' does not close the '(' at column 1 (column 7)"),
    ("[0 < O < 1]", "--candidate: an Iverson bracket holds one comparison, such as [x > 0] (column 8)"),
    ("step'(O)", "--candidate: step' is 0 except at its jump, where it has no value (column 1)"),
    ("max'(O)", "--candidate: max' is read for a function of one argument only (column 1)"),
    ("O = 1", "--candidate: cannot read candidate: invalid syntax"),  # Python's "Maybe you meant '=='" never shows
    ("O'", "--candidate: cannot read candidate: quotes are not allowed (a derivative is written f'(x))"),
])
def test_bad_candidates_are_one_line_errors_at_their_column(cand, message):
    r = run([STORY4, "--wrt", "w1", "--candidate", cand])
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith(f"{STORY4}: error: ")
    assert message in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1


@pytest.mark.parametrize("define, message", [
    (r"s\left(x\right)=\frac{1}{1+\foo}", r"--define s: unknown LaTeX command '\foo' (column 28)"),
    (r"s\left(x\right)=\frac{1}{1+q(x)}", "--define s: unknown function 'q'; define it with --define 'q(x)=...'"),
    (r"s\left(x\right)=\frac{1}{1+y_{1}}", "--define s: unknown name 'y1'"),
    (r"\frac{1}{x}", "expects 'f(x)=EXPR'"),
])
def test_bad_latex_definitions_are_one_line_errors(define, message):
    r = run([STORY4, "--wrt", "w1", "--define", define, "--candidate", "O"])
    assert r.exit_code == 2, r.output
    assert message in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1


# -- --candidate-file --------------------------------------------------------------------------------
def test_candidate_file_reads_latex_over_several_lines(tmp_path):
    path = tmp_path / "answer.tex"
    path.write_text(ACCEPTED.replace(r"\cdot d(z_{h_1})", "\n\\cdot d(z_{h_1})") + "\n", encoding="utf-8")
    r = run([STORY4, "--wrt", "w1", *TEX_HELPERS, "--candidate-file", str(path)])
    assert r.exit_code == 0, r.output
    assert "Verdict: the candidate agrees" in r.stdout
    path.write_text("O(1-O)\n  + \\foo", encoding="utf-8")
    r = run([STORY4, "--wrt", "w1", "--candidate-file", str(path)])
    assert r.stderr == f"{STORY4}: error: --candidate: unknown LaTeX command '\\foo' (line 2, column 5)\n"


@pytest.mark.parametrize("content, message", [
    (b"\xff\xfeO", "is not UTF-8 text (byte 1)"),
    (b"O" * 64_001, "is larger than 64000 bytes"),
])
def test_candidate_file_errors_are_one_line(tmp_path, content, message):
    path = tmp_path / "answer.tex"
    path.write_bytes(content)
    r = run([STORY4, "--wrt", "w1", "--candidate-file", str(path)])
    assert r.exit_code == 2
    assert r.stderr == f"{STORY4}: error: --candidate-file: '{path}' {message}\n"


def test_candidate_file_missing_or_given_with_candidate(tmp_path):
    r = run([STORY4, "--wrt", "w1", "--candidate-file", str(tmp_path / "none.tex")])
    assert r.stderr == f"{STORY4}: error: --candidate-file: cannot read '{tmp_path / 'none.tex'}': No such file or " \
                       "directory\n"
    (tmp_path / "a.tex").write_text("O")
    r = run([STORY4, "--wrt", "w1", "--candidate", "O", "--candidate-file", str(tmp_path / "a.tex")])
    assert (r.exit_code, r.stderr) == (2, f"{STORY4}: error: give --candidate or --candidate-file, not both\n")


# -- fuzz: LaTeX-ish text gives a verdict or one clean error line ------------------------------------
PIECES = [r"\frac", r"\left(", r"\right)", r"\left[", r"\right]", r"\left\{", r"\right\}", r"\left|", r"\right|",
          "{", "}", "(", ")", "[", "]", "|", "^", "_", "'", ",", ":", ">", "<", r"\geq", r"\cdot", r"\times", "·",
          r"\sigma", r"\exp", r"\ln", r"\tanh", r"\sqrt", r"\mathbf", r"\text", r"\,", r"\;", r"\!", r"\quad",
          r"\prime", r"\bigl(", r"\bigr)", r"\foo", "\\", "$", "e", "w", "I", "O", "z", "h", "d", "s", "q", "x",
          "1", "2", "0.5", "+", "-", "*", "/", "=", " ", "\n", "σ", "−", "≥", "\u2032", "\x00", "é"]


def latexish():
    names = st.sampled_from(["I", "w_1", "w_{2}", "z_O", "z_{h_1}", "h_2", "O", "Iw_1", r"\mathbf{w_4}", "e", "x"])
    tree = st.recursive(names | st.sampled_from(["1", "2", "0.5"]), lambda c: st.one_of(
        st.tuples(c, st.sampled_from(["+", "-", r"\cdot", "", " ", "/", "^"]), c).map("".join),
        st.tuples(c, c).map(lambda t: rf"\frac{{{t[0]}}}{{{t[1]}}}"),
        st.tuples(st.sampled_from(["d", "s", r"\sigma", r"\sigma'", "q", r"\exp", "s'"]), c).map(
            lambda t: rf"{t[0]}\left({t[1]}\right)"),
        c.map(lambda s: rf"\left[{s} > 0\right]"), c.map(lambda s: f"e^{{{s}}}"), c.map(lambda s: f"({s})"),
    ), max_leaves=16)
    return st.one_of(tree, st.lists(st.sampled_from(PIECES), max_size=40).map("".join),
                     st.tuples(tree, st.sampled_from(PIECES), tree).map("".join))


@seed(20261201)
@settings(max_examples=examples(100), deadline=None, database=None)  # bounded by tests.hang, not by the clock
@given(cand=latexish(), helpers=st.booleans())
def test_latexish_text_gives_a_verdict_or_one_clean_error(cand, helpers):
    r = run([STORY4, "--wrt", "w1", *(TEX_HELPERS if helpers else []), "--candidate", cand])
    assert_clean(r)
    for python in ("Perhaps", "Maybe you meant", "unterminated", "literal", "EOF", "SyntaxError", "_iverson", "_prime"):
        assert python not in r.stderr, r.stderr


# -- --format desmos: the candidate as its own expression ---------------------------------------------
def test_desmos_carries_the_candidate_beside_d_and_f():
    """C, read back with the tool's own LaTeX reader and evaluated at the point, is the hand answer's value."""
    import derivator
    from derivator.judge.candidate import parse
    from derivator.numbers import checking
    from derivator.numbers.evaluate import value

    r = run([STORY4, "--wrt", "w1", *TEX_HELPERS, "--candidate", PASTED, "--format", "desmos"])
    assert r.exit_code == 1, r.output
    lines = r.stdout.splitlines()
    names = [line.split("=", 1)[0] for line in lines]
    assert names.index("D") < names.index("C") < names.index(r"F\left(t\right)")
    assert lines[-1] == r"F'\left(w_{1}\right)"
    net = derivator.load(STORY4)
    c = parse(net, lines[names.index("C")].split("=", 1)[1].replace("z_{h1}", "z_{h_1}"))
    d = derivator.derive(net, "w1")
    env = checking.forward(d, dict(net.at), target=False).env
    assert float(value(c, env)) == pytest.approx(0.00571675240882, rel=1e-11)
    assert run([STORY4, "--wrt", "w1", "--format", "desmos"]).stdout.count("\nC=") == 0  # none without --candidate


@pytest.mark.parametrize("name, status", [("story4_hand_derivation.tex", 1), ("story4_accepted_answer.tex", 0)])
def test_the_spec_files_of_story4s_latex(name, status):
    """specs/ carries both answers as pasted, for --candidate-file; the same as the strings above."""
    text = (SPECS / name).read_text(encoding="utf-8")
    assert "".join(text.split("\n")) == {1: PASTED, 0: ACCEPTED_PASTED}[status]
    r = run([STORY4, "--wrt", "w1", *TEX_HELPERS, "--candidate-file", str(SPECS / name)])
    assert r.exit_code == status, r.output
    assert ("lacks the weights w4*w2" in r.stdout) == (status == 1)
