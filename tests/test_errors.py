"""Broken and hostile network files and flags (CONTRACT section 2, exit status 2).

Every case must print exactly one line on stderr, `FILE:LINE:COL: error: MESSAGE` (or `FILE: error:
MESSAGE` where no position applies), nothing on stdout, exit with status 2 and never show a traceback.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from derivator.cli import derive
from tests.conftest import SMALL_NET

# Line numbers used throughout:  1 inputs, 3 h, 4 O, 6-7 the edges, 8 output (9 loss, 10 at).
BASE = SMALL_NET
WITH_LOSS = BASE + "loss: {type: squared_error, target: y}\n"
NODE_O = "  O: {activation: sigmoid}"


def edit(old: str, new: str, text: str = BASE) -> str:
    assert old in text, f"test bug: {old!r} not in the file"
    return text.replace(old, new, 1)


def act(formula: str) -> str:
    """Node O's activation as written in a flow map: a quoted formula's text starts in column 20."""
    return edit(NODE_O, "  O: {activation: " + formula + "}")


def block_act(formula: str) -> str:
    """Node O's activation in block style, on line 5: a quoted formula's text starts in column 18."""
    return edit(NODE_O, "  O:\n    activation: " + formula)



def run(tmp_path, content, *args):
    path = tmp_path / "net.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
    return path, CliRunner().invoke(derive, [str(path), *(args or ("--wrt", "w1"))])


def assert_one_error(r, prefix: str, fragment: str) -> None:
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception  # no escaped exception
    assert "Traceback" not in r.stderr + r.stdout
    assert r.exit_code == 2, (r.exit_code, r.stderr)
    assert r.stderr.endswith("\n") and r.stderr.count("\n") == 1, f"not one line: {r.stderr!r}"
    assert r.stderr.startswith(prefix), r.stderr
    assert "internal error" not in r.stderr
    assert fragment in r.stderr, r.stderr
    assert r.stdout == ""


def expect(tmp_path, content, line, col, fragment, *args):
    path, r = run(tmp_path, content, *args)
    assert_one_error(r, f"{path}:{line}:{col}: error: " if line else f"{path}: error: ", fragment)


def cases(group, *rows):
    """(id, content, line, col, fragment[, marks]) rows as pytest params with ids `group/id`."""
    return [pytest.param(*row[1:5], id=f"{group}/{row[0]}", marks=row[5:]) for row in rows]


# -- bytes: encoding, NUL and control characters, size ------------------------------------------
BYTES = cases("bytes",
    ("bad-utf8-first-byte", b"\xc3(inputs: [I]\n", 1, 1, "not UTF-8"),
    ("bad-utf8-mid-line", BASE.encode().replace(b"  O: {", b"  \xff\xfe: {"), 4, 3, "not UTF-8"),
    ("nul-line-start", BASE + "\x00\n", 9, 1, "NUL"),
    ("nul-mid-line", act("sig\x00moid"), 4, 22, "NUL"),
    ("bel-control-char", edit("output: O", "output: O\x07"), 8, 10, "character"),
    ("over-1MB", BASE + 'description: "' + "a" * 1_000_001 + '"\n', None, None, "larger than 1000000 bytes"),
)


# -- YAML syntax, structure and nesting ---------------------------------------------------------
YAML_SYNTAX = cases("yaml-syntax",
    ("unclosed-flow-seq", "inputs: [I\nnodes: {}\n", 2, 6, "expected ',' or ']'"),
    ("tab-indent", "inputs: [I]\nnodes:\n\th: {}\n", 3, 1, "cannot start any token"),
    ("colon-in-value", "inputs: [I]\nnodes: a: b\n", 2, 9, "mapping values are not allowed"),
    ("bad-indent", edit(NODE_O, NODE_O + "\n bad: 1"), 5, 2, "expected <block end>"),
    ("unknown-escape", edit("output: O", 'output: "\\q"'), 8, 11, "unknown escape character 'q'"),
    ("unclosed-quote", edit("output: O", 'output: "O'), 8, 9, "quot"),
    ("unclosed-flow-map-at-eof", edit("output: O", "output: {a: 1"), 8, 9, "'}'"),
    ("two-documents", BASE + "---\n" + BASE, 9, 1, "single document"),
    ("yaml-1.3-directive", "%YAML 1.3\n---\n" + BASE, 1, 1, "1.3"),
    ("nested-10000-flow-seqs", "inputs: " + "[" * 10000 + "]" * 10000 + "\n", 1, 28, "nested more than 20 deep"),
    ("nested-10000-flow-maps", "a: " + "{b: " * 10000 + "1" + "}" * 10000 + "\n", 1, 80, "nested more than"),
    ("nested-block-seqs", "inputs:\n" + "".join("  " * i + "- \n" for i in range(1, 200)), 21, 41, "nested"),
    ("duplicate-top-key", BASE + "output: h\n", 9, 1, "duplicate key 'output'"),
    ("duplicate-node", edit(NODE_O, NODE_O + "\n  h: {activation: tanh}"), 5, 3, "duplicate key 'h'"),
    ("duplicate-flow-key", edit("sigmoid, bias: b", "sigmoid, activation: tanh"), 3, 28, "duplicate key 'activation'"),
)


# -- YAML features that could build objects or blow up: anchors, aliases, tags, merge keys ------
LAUGHS = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + "".join(
    f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True)) + BASE
YAML_FEATURES = cases("yaml-features",
    ("anchor", edit(NODE_O, "  O: &a {activation: sigmoid}"), 4, 6, "anchors and aliases are not allowed"),
    ("alias", edit(NODE_O, "  O: *a"), 4, 6, "anchors and aliases are not allowed"),
    ("billion-laughs", LAUGHS, 1, 4, "anchors and aliases are not allowed"),
    ("python-tag", edit("output: O", "output: !!python/object/apply:os.system ['true']"), 8, 9, "tags are not allowed"),
    ("local-tag", edit("[I]", "!foo [I]"), 1, 9, "tags are not allowed"),
    ("tag-directive", "%TAG !e! tag:example.com,2000:\n---\n" + edit("output: O", "output: !e!x O"), 1, 1,
     "the directive '%TAG !e!' is not allowed"),
    ("merge-key", edit(NODE_O, NODE_O + "\n  <<: {g: {}}"), 5, 3, "<<"),
)


@pytest.mark.parametrize("make", [
    lambda f: edit("output: O", f"output: !!python/object/apply:os.system ['touch {f}']"),
    lambda f: act(f"\"__import__('os').system('touch {f}')\""),
    lambda f: BASE + f"loss: {{type: formula, target: y, formula: \"open('{f}', 'w')\"}}\n",
], ids=["yaml-tag", "activation-formula", "loss-formula"])
def test_nothing_the_user_wrote_runs(tmp_path, make):
    sentinel = tmp_path / "pwned"
    path, r = run(tmp_path, make(sentinel))
    assert_one_error(r, f"{path}:", "error: ")
    assert not sentinel.exists()


# -- the top level: shape, keys, missing and empty sections -------------------------------------
SHAPE = "a network file is a map with 'inputs', 'nodes', 'edges' and 'output'"


TOP_LEVEL = cases("top-level",
    ("list", "- inputs\n- nodes\n", 1, 1, SHAPE),
    ("scalar", "hello\n", 1, 1, SHAPE),
    ("empty-file", "", 1, 1, SHAPE),
    ("unknown-key", BASE + "ouptut: O\n", 9, 1, "unknown key 'ouptut'; did you mean 'output'?"),
    ("missing-inputs", edit("inputs: [I]\n", ""), 1, 1, "missing 'inputs:'"),
    ("missing-nodes", "inputs: [I]\nedges:\n  - [I, O, w1]\noutput: O\n", 1, 1, "missing 'nodes:'"),
    ("missing-edges", "inputs: [I]\nnodes:\n  O: {}\noutput: O\n", 1, 1, "missing 'edges:'"),
    ("missing-output", edit("output: O\n", ""), 1, 1, "missing 'output:'"),
    ("description-not-text", "description: [1]\n" + BASE, 1, 14, "'description' must be text"),
    ("inputs-empty-list", edit("[I]", "[]"), 1, 9, "'inputs' must be a list"),
    ("nodes-a-list", "inputs: [I]\nnodes:\n  [h, O]\nedges: []\noutput: O\n", 3, 3, "'nodes' must be a map"),
    ("edges-empty", edit("  - [I, h, w1]\n  - [h, O, w2]\n", "  []\n"), 6, 3, "'edges' must be a list"),
    ("inputs-null", edit("[I]", ""), 1, 1, "'inputs'"),
    ("nodes-null", "inputs: [I]\nnodes:\nedges: []\noutput: O\n", 2, 1, "'nodes'"),
    ("output-null", edit("output: O", "output:"), 8, 1, "'output'"),
)


# -- names: one namespace, reserved words, syntax -----------------------------------------------
NAMES = cases("names",
    ("node-and-parameter", edit("[h, O, w2]", "[h, O, h]"), 7, 12, "'h' is used as a parameter and as a node"),
    ("parameter-then-node", edit("bias: b}", "bias: O}"), 4, 3, "'O' is used as a node and as a parameter"),
    ("input-and-node", edit("[I]", "[I, h]"), 3, 3, "'h' is used as a node and as an input"),
    ("target-and-input", BASE + "loss: {type: squared_error, target: I}\n", 9, 37, "used as a target and as an input"),
    ("target-and-node", BASE + "loss: {type: squared_error, target: h}\n", 9, 37, "used as a target and as a node"),
    ("reserved-exp", edit("[h, O, w2]", "[h, O, exp]"), 7, 12, "'exp' is reserved"),
    ("reserved-lambda", BASE.replace("h", "lambda"), 3, 3, "'lambda' is reserved"),
    ("reserved-input-sin", edit("[I, h", "[sin, h", edit("[I]", "[sin]")), 1, 10, "'sin' is reserved"),
    ("bad-name", edit("w2]", "2w]"), 7, 12, "parameter name '2w' must match"),
    ("non-ascii-name", edit("w2]", "wé]"), 7, 12, "must match [A-Za-z][A-Za-z0-9_]*"),
    ("input-twice", edit("[I]", "[I, I]"), 1, 13, "input 'I' is defined twice"),
)


# -- nodes, weights and biases: wrong keys and types --------------------------------------------
NODES_AND_VALUES = cases("nodes-and-values",
    ("unknown-activation", edit("activation: sigmoid, bias", "activation: sigmod, bias"), 3, 19,
     "unknown activation 'sigmod'; did you mean 'sigmoid'?"),
    ("activation-number", act("3"), 4, 19, "activation of node 'O' must be a name"),
    ("node-key-typo", edit(NODE_O, "  O: {activaton: sigmoid}"), 4, 7,
     "'activaton'; did you mean 'activation'?"),
    ("node-body-a-string", edit(NODE_O, "  O: sigmoid"), 4, 6, "node 'O' must be a map"),
    ("weight-map", edit("[h, O, w2]", "{from: h, to: O, weight: {a: 1}}"), 7, 30,
     "must be a number or a parameter name, not a map"),
    ("bias-true", edit("bias: b}", "bias: true}"), 3, 34,
     "bias of node 'h' must be a number or a parameter name, not true"),
    ("slope-string", act("leaky_relu, slope: big"), 4, 38, "slope must be a number, not 'big'"),
    ("slope-on-relu", act("relu, slope: 0.1"), 4, 25, "'slope' applies to leaky_relu only"),
    ("weight-nan", edit("w2]", ".nan]"), 7, 12, "must be finite"),
    ("weight-400-digits", edit("w2]", "9" * 400 + "]"), 7, 12, "out of range"),
    ("weight-list", edit("w2]", "[1, 2]]"), 7, 12, "or a parameter name, not a list"),
)


# -- edges and the graph: unknown ends, shapes, duplicates, cycles, reachability -----------------
CYCLE = "inputs: [I]\nnodes:\n  a: {}\n  b: {}\n  O: {}\nedges:\n  - [I, a, w1]\n  - [a, b, w2]\n" \
        "  - [b, a, w3]\n  - [b, O, w4]\noutput: O\n"
G = NODE_O + "\n  g: {}"  # node g on line 5; its edges follow on line 8


EDGES_AND_GRAPH = cases("edges-and-graph",
    ("unknown-from", edit("[h, O", "[hh, O"), 7, 6, "unknown node 'hh'; did you mean 'h'?"),
    ("unknown-to", edit("[h, O", "[h, O2"), 7, 9, "unknown node 'O2'; did you mean 'O'?"),
    ("from-a-number", edit("[h, O", "[1, O"), 7, 6, "'from' must be a node name, not 1"),
    ("two-items", edit("[h, O, w2]", "[h, O]"), 7, 5, "[from, to, weight]; this one has 2 items"),
    ("four-items", edit("[h, O, w2]", "[h, O, w2, 1]"), 7, 5, "this one has 4 items"),
    ("edge-a-string", edit("[h, O, w2]", "h -> O"), 7, 5, "an edge is {from: A, to: B, weight: W}"),
    ("missing-weight", edit("[h, O, w2]", "{from: h, to: O}"), 7, 5, "edge is missing 'weight'"),
    ("edge-key-typo", edit("[h, O, w2]", "{from: h, to: O, wieght: w2}"), 7, 22, "did you mean 'weight'?"),
    ("duplicate-edge", edit("  - [h, O, w2]", "  - [h, O, w2]\n  - [h, O, w3]"), 8, 5,
     "duplicate edge h -> O (first on line 7)"),
    ("edge-into-input", edit("  - [h, O, w2]", "  - [h, O, w2]\n  - [h, I, w3]"), 8, 9, "edge into input 'I'"),
    ("cycle", CYCLE, 8, 5, "cycle a -> b -> a"),
    ("self-loop", edit("[a, b, w2]\n  - [b, a", "[a, a, w2]\n  - [a, b", CYCLE), 8, 5, "cycle a -> a"),
    ("not-reached", edit("  - [h, O, w2]", "  - [h, O, w2]\n  - [g, O, w3]", edit(NODE_O, G)), 5, 3,
     "node 'g' is not reached from any input"),
    ("reaches-no-output", edit("  - [h, O, w2]", "  - [h, O, w2]\n  - [h, g, w3]", edit(NODE_O, G)), 5, 3,
     "node 'g' does not reach any output"),
    ("unknown-output", edit("output: O", "output: P"), 8, 9, "unknown output node 'P'"),
    ("output-twice", edit("output: O", "output: [O, O]"), 8, 13, "output 'O' is listed twice"),
)


# -- formula activations: the column points INSIDE the formula, at the problem -------------------
FORMULA_ACTIVATION = cases("formula-activation",
    ("import", act("\"x*__import__('os')\""), 4, 22, "unknown function '__import__'"),
    ("dunder-attribute", act('"1 + x.__class__"'), 4, 24, "attribute access is not allowed"),
    ("huge-exponent", act('"x + x**99999"'), 4, 24, "exponent larger than 256"),
    ("caret-exponent", act('"x + x^1000"'), 4, 24, "exponent larger than 256"),
    ("tower", act('"x + 10**10**10"'), 4, 24, "exponent larger than 256"),
    ("division-by-zero", act('"x + 1/0"'), 4, 24, "division by zero"),
    ("unknown-function", act('"x + sigmod(x)"'), 4, 24, "unknown function 'sigmod'; did you mean 'sigmoid'?"),
    ("unknown-name", act('"x + y"'), 4, 24, "unknown name 'y'"),
    ("unknown-name-single-quoted", act("'x + y'"), 4, 24, "unknown name 'y'"),
    ("unknown-name-plain", act("x + y"), 4, 23, "unknown name 'y'"),
    ("unknown-name-block-style", block_act('"x + y"'), 5, 22, "unknown name 'y'"),
    ("syntax-error", act('"x + * 2"'), 4, 24, "cannot read formula"),
    ("unclosed-paren", act('"(x + 2"'), 4, 20, "'(' was never closed"),
    ("lambda", act('"lambda: x"'), 4, 20, "lambda is not allowed"),
    ("string-constant", act("\"x + 'a'\""), 4, 24, "str constant is not allowed"),
    ("float-overflow", act('"x*1e999"'), 4, 22, "number out of range"),
    ("nested-200-parens", act('"' + "(" * 200 + "x" + ")" * 200 + '"'), 4, 120, "nested more than 100 deep"),
    ("3000-minus-signs", act('"' + "-" * 3000 + 'x"'), 4, 20, "too complex"),
    ("over-4000-chars", act('"' + "x+" * 2100 + 'x"'), 4, 4019, "longer than 4000 characters"),
    ("empty", act('""'), 4, 20, "empty formula"),
    ("log-of-zero", act('"x + log(0)"'), 4, 24, "undefined"),
    ("leading-spaces", act('"  x + y"'), 4, 26, "unknown name 'y'"),
    ("escape-before-error", act('"\\u0078 + y"'), 4, 29, "unknown name 'y'"),
    ("multiline-plain", block_act("x +\n      y"), 6, 7, "unknown name 'y'"),
    ("multiline-double-quoted", block_act('"x +\n      y"'), 6, 7, "unknown name 'y'"),
    ("literal-block", block_act("|\n      x + y"), 6, 11, "unknown name 'y'"),
)


# -- the loss ------------------------------------------------------------------------------------
TWO_OUT = edit("output: O", "output: [O, P]", edit("  - [h, O, w2]", "  - [h, O, w2]\n  - [h, P, w3]",
                                                   edit(NODE_O, NODE_O + "\n  P: {}")))  # 10 lines


LOSS = cases("loss",
    ("unknown-type", BASE + "loss: {type: squared_eror, target: y}\n", 9, 14, "did you mean 'squared_error'?"),
    ("missing-type", BASE + "loss: {target: y}\n", 9, 7, "loss is missing 'type'"),
    ("missing-target", BASE + "loss: {type: squared_error}\n", 9, 7, "loss is missing 'target'"),
    ("just-a-name", BASE + "loss: squared_error\n", 9, 7, "needs a target"),
    ("formula-missing", BASE + "loss: {type: formula, target: y}\n", 9, 7, "a formula loss needs 'formula'"),
    ("formula-unknown-name", BASE + 'loss: {type: formula, target: y, formula: "(o-z)**2"}\n', 9, 47,
     "unknown name 'z'"),
    ("formula-on-other-type", BASE + 'loss: {type: squared_error, target: y, formula: "o"}\n', 9, 40,
     "'formula' applies to {type: formula} only"),
    ("one-target-two-outputs", TWO_OUT + "loss: {type: squared_error, target: y}\n", 11, 37, "1 target for 2 outputs"),
    ("three-targets-two-outputs", TWO_OUT + "loss: {type: squared_error, target: [a, b, c]}\n", 11, 37,
     "3 targets for 2 outputs"),
    ("two-targets-one-output", BASE + "loss: {type: squared_error, target: [y1, y2]}\n", 9, 37,
     "2 targets for 1 output"),
)


# -- `at:` and input defaults ----------------------------------------------------------------------
AT = cases("at",
    ("unknown-name", WITH_LOSS + "at: {I: 1, w9: 2}\n", 10, 12, "unknown name in 'at' 'w9'"),
    ("typo", WITH_LOSS + "at: {I: 1, w11: 2}\n", 10, 12, "did you mean 'w1'?"),
    ("a-node", WITH_LOSS + "at: {I: 1, h: 2}\n", 10, 12, "a node's value comes from the network"),
    ("a-string", WITH_LOSS + "at: {I: 1, w1: abc}\n", 10, 16, "value of 'w1' must be a number, not 'abc'"),
    ("nan", WITH_LOSS + "at: {I: 1, w1: .nan}\n", 10, 16, "must be finite"),
    ("1e400", WITH_LOSS + "at: {I: 1, w1: 1e400}\n", 10, 16, "must be finite"),
    ("not-a-map", WITH_LOSS + "at: [1, 2]\n", 10, 5, "'at' must be a map"),
    ("input-default", edit("[I]", "{I: one}"), 1, 13, "value of input 'I' must be a number"),
)


# -- what the file says is echoed safely: one line whatever the names contain --------------------
ECHOED_TEXT = cases("echoed-text",
    ("newline-in-output-name", edit("output: O", 'output: "a\\nb"'), 8, 9, "unknown output node"),
    ("newline-in-top-key", BASE + '"a\\nb": 1\n', 9, 1, "unknown key"),
)


# -- every file case above ------------------------------------------------------------------------
@pytest.mark.parametrize("content, line, col, fragment", BYTES + YAML_SYNTAX + YAML_FEATURES + TOP_LEVEL + NAMES
                         + NODES_AND_VALUES + EDGES_AND_GRAPH + FORMULA_ACTIVATION + LOSS + AT + ECHOED_TEXT)
def test_bad_file(tmp_path, content, line, col, fragment):
    expect(tmp_path, content, line, col, fragment)


# -- the command line: `FILE: error: MESSAGE` -----------------------------------------------------
@pytest.mark.parametrize("content, args, fragment", [
    pytest.param(BASE, ["--wrt", "w3"], "--wrt: unknown name 'w3'", id="wrt-unknown"),
    pytest.param(BASE.replace("w1", "weight1"), ["--wrt", "wieght1"], "did you mean 'weight1'?", id="wrt-typo"),
    pytest.param(WITH_LOSS, ["--wrt", "y"], "'y' is a target", id="wrt-target"),
    pytest.param(BASE, ["--wrt", "W1"], "did you mean 'w1'?", id="wrt-case"),
    pytest.param(BASE, ["--wrt", "w1", "--at", "w1"], "--at expects NAME=VALUE, got 'w1'", id="at-no-equals"),
    pytest.param(BASE, ["--wrt", "w1", "--at", "=3"], "--at expects NAME=VALUE", id="at-no-name"),
    pytest.param(BASE, ["--wrt", "w1", "--at", "w1=abc"], "'abc' is not a number", id="at-not-a-number"),
    pytest.param(BASE, ["--wrt", "w1", "--at", "w1=nan"], "must be finite", id="at-nan"),
    pytest.param(BASE, ["--wrt", "w1", "--at", "w1=1e400"], "must be finite", id="at-overflow"),
    pytest.param(BASE, ["--wrt", "w1", "--at", "w3=1"], "--at: unknown name 'w3'", id="at-unknown"),
    pytest.param(BASE, ["--wrt", "w1", "--at", "h=1"], "a node's value comes from the network", id="at-node"),
    pytest.param(BASE, ["--wrt", "w1", "--of", "Oo"], "--of: unknown node 'Oo'; did you mean 'O'?", id="of-unknown"),
    pytest.param(BASE, ["--wrt", "w1", "--of", "loss"], "the file has no 'loss:'", id="of-loss-without-loss"),
    pytest.param(TWO_OUT, ["--wrt", "w1"], "choose one with --of", id="of-needed"),
    pytest.param(BASE, ["--wrt", "w1", "--check", "--at", "I=1"], "no value for b, w1, w2", id="check-missing"),
    pytest.param(BASE, ["--wrt", "w1", "--tolerance", "-1"], "--tolerance must be a positive", id="tolerance"),
])
def test_command_line(tmp_path, content, args, fragment):
    expect(tmp_path, content, None, None, fragment, *args)


def test_missing_file(tmp_path):
    path = tmp_path / "nope.yaml"
    assert_one_error(CliRunner().invoke(derive, [str(path), "--wrt", "w1"]), f"{path}: error: ", "cannot read file")


def test_directory_as_file(tmp_path):
    assert_one_error(CliRunner().invoke(derive, [str(tmp_path), "--wrt", "w1"]), f"{tmp_path}: error: ", "director")


@pytest.mark.parametrize("args, fragment", [
    (["--wrt", "w1", "--format", "htm"], "'htm'"),
    (["--wrt", "w1", "--bogus"], "--bogus"),
    (["--wrt", "w1", "--tolerance", "abc"], "'abc'"),
    (["--wrt"], "--wrt"),
    ([], "--wrt"),
], ids=["format", "unknown-option", "tolerance-not-a-number", "wrt-no-value", "wrt-missing"])
def test_usage_errors(tmp_path, args, fragment):
    path = tmp_path / "net.yaml"
    path.write_text(BASE)
    r = CliRunner().invoke(derive, [str(path), *args])
    assert_one_error(r, "", fragment)
    assert "error: " in r.stderr


# -- a valid request is no error ------------------------------------------------------------------
def test_of_hidden_node_with_values(tmp_path):
    _, r = run(tmp_path, BASE, "--wrt", "w1", "--of", "h", "--at", "I=1", "--at", "w1=1", "--at", "b=0", "--check")
    assert (r.exit_code, r.stderr) == (0, "")
