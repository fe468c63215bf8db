"""The safe formula parser: what it reads, what it builds, and what it refuses (with a column)."""

import pytest
import sympy

from derivator.graph.primitives import relu, sigmoid, softplus
from derivator.load.formula import MAX_DEPTH, MAX_LENGTH, FormulaError, define, parse

x, y, o = (sympy.Symbol(n, real=True) for n in "xyo")
NAMES = {"x": x, "y": y, "o": o}


# -- what it reads --------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("x/(1+abs(x))", x / (1 + sympy.Abs(x))),
    ("x^2", x**2),
    ("-x^2", -(x**2)),  # power binds tighter than unary minus, as in mathematics
    ("2^-1", sympy.Rational(1, 2)),
    ("(o-y)**4", (o - y) ** 4),
    ("exp(x) + log(x) + sqrt(x) + tanh(x) + sin(x) + cos(x)",
     sympy.exp(x) + sympy.log(x) + sympy.sqrt(x) + sympy.tanh(x) + sympy.sin(x) + sympy.cos(x)),
    ("sigmoid(x) + relu(x) + softplus(x)", sigmoid(x) + relu(x) + softplus(x)),
    ("0.1*x", sympy.Rational(1, 10) * x),  # decimals are exact
    ("1e-3", sympy.Rational(1, 1000)),
    ("σ(x)·(1 − σ(x))", sigmoid(x) * (1 - sigmoid(x))),  # Unicode a learner pastes
    ("x×y ⋅ 2", 2 * x * y),
    ("  x  ", x),
])
def test_reads(text, expected):
    assert parse(text, NAMES) == expected


def test_symbols_are_real():
    assert parse("x", {"x": sympy.Symbol("x", real=True)}).is_real


def test_helpers_substitute_their_arguments():
    d = define(["x"], "sigmoid(x) (1 - sigmoid(x))", {})
    assert parse("d(2*y)", NAMES, {"d": d}) == sigmoid(2 * y) * (1 - sigmoid(2 * y))


def test_helpers_cannot_get_around_the_caps():
    cube = define(["x"], "x^256", {})
    with pytest.raises(FormulaError, match="number out of range"):
        parse("d(d(d(2)))", NAMES, {"d": cube})
    helpers = {"a0": define(["x"], "(x+1)*(x+2)", {})}
    with pytest.raises(FormulaError, match="too large: its helpers expand past"):
        for i in range(1, 40):  # each level doubles the tree; a definition already stops it
            helpers[f"a{i}"] = define(["x"], f"a{i - 1}(a{i - 1}(x))", {}, helpers)


# -- what it refuses, and where -------------------------------------------------------------------
@pytest.mark.parametrize("text, fragment, col", [
    ("__import__('os')", "unknown function '__import__'", 1),
    ("__import__('os').system('ls')", "only named functions can be called", 1),
    ("x.__class__", "attribute access is not allowed", 1),
    ("x[0]", "indexing is not allowed", 1),
    ("lambda: 1", "lambda is not allowed", 1),
    ("x if x else y", "if-expression is not allowed", 1),
    ("x < y", "comparison is not allowed", 1),
    ("'text'", "str constant is not allowed", 1),
    ("x % 2", "'%'", 1),
    ("x // 2", "'//'", 1),
    ("1j", "complex constant", 1),
    ("x ** 1000", "exponent larger than 256", 1),
    ("10 ** 200 ** 2", "exponent larger", 1),  # 200**2 folds first, then 10**40000 is refused
    ("9" * 80, "more than 60 digits", 1),
    ("1e400", "out of range", 1),
    ("1/0", "division by zero", 1),
    ("log(0)", "undefined", 1),
    ("sqrt(-1)", "undefined", 1),
    ("x + q", "unknown name 'q'", 5),
    ("x + sigmod(x)", "did you mean 'sigmoid'?", 5),
    ("exp", "'exp' is a function", 1),
    ("exp(x, y)", "takes 1 argument, got 2", 1),
    ("exp(x=1)", "plain arguments only", 1),
    ("x +", "cannot read formula", 4),
    ("x + * y", "cannot read formula", 5),
    ("", "empty formula", 1),
    ("x\x00", "NUL character", 2),
    ("(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1), f"nested more than {MAX_DEPTH} deep", MAX_DEPTH + 1),
    ("x+" * (MAX_LENGTH // 2) + "x", f"longer than {MAX_LENGTH}", MAX_LENGTH),
    ("(x := 1)", "assignment (:=) is not allowed", 2),
    ("[x for x in y]", "is not allowed", 1),
])
def test_refuses(text, fragment, col):
    with pytest.raises(FormulaError) as e:
        parse(text, NAMES)
    assert fragment in e.value.message
    assert e.value.col == col


def test_deep_operator_chain_is_refused_cleanly():
    # 150 nested unary minuses: no parentheses, but too deep to walk safely.
    with pytest.raises(FormulaError, match="nested more than"):
        parse("-" * 150 + "x", NAMES)


def test_column_counts_the_original_unicode_text():
    # '−' is one character that becomes '-'; 'σ' becomes 'sigmoid' (7 characters).
    with pytest.raises(FormulaError) as e:
        parse("σ(x) − q", NAMES)
    assert e.value.col == 8
