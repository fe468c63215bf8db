"""The safe formula parser: text in, SymPy expression out, nothing executed.

Formulas (activations, losses, candidates) are parsed by Python's `ast` and walked with a whitelist:
numbers, known names, `+ - * / **` (and `^` as power), unary signs, parentheses and calls of the
listed functions. The walk builds SymPy objects itself; user text never reaches `eval`, `sympify` or
`parse_expr`, which all call `eval`. Caps on length, nesting, exponents and the digits of folded
constants, checked after every operation and every helper call, keep the work bounded. The text is
turned into a syntax tree by `formula_text`.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import mpmath
import sympy

from derivator.errors import unknown
from derivator.graph.equations import tree_size
from derivator.graph.primitives import FUNCTIONS, VARIADIC
from derivator.load.formula_text import MAX_DEPTH, MAX_LENGTH, FormulaError, syntax_tree
from derivator.numbers.evaluate import UndefinedError, value

GROWING = (sympy.exp, FUNCTIONS["sigmoid"], FUNCTIONS["softplus"])  # tiny or huge of a moderate constant

__all__ = ["FUNCTIONS", "MAX_DEPTH", "MAX_LENGTH", "FormulaError", "Helper", "define", "parse"]

MAX_EXPONENT = 256  # largest |n| in a constant exponent x**n
MAX_DIGITS = 60  # digits in one integer literal
# Digits of a folded constant's numerator and of its denominator (1e-300 is 1/10^300, 301 digits):
# products and powers of constants are exact rationals, and 1e300*1e300*... would grow without end.
MAX_FOLDED_DIGITS = 400
# Powers of sums with rational constants: SymPy's sign queries put them over one denominator, whose
# digits multiply with each nested power (see _Builder.weight).
MAX_DENOMINATOR_DIGITS = 100_000
# exp, sigmoid and softplus of a constant: its value is within 1e±MAX_FOLDED_DIGITS (e^921 = 1e400).
MAX_GROWING = MAX_FOLDED_DIGITS * math.log(10)
MAX_PARTS = 20_000  # syntax-tree nodes walked for one formula, helpers' bodies counted at each call


# Operators that continue a chain of the same precedence: a+b-c, a*b/c.
_CHAIN = {ast.Add: (ast.Add, ast.Sub), ast.Sub: (ast.Add, ast.Sub), ast.Mult: (ast.Mult, ast.Div),
          ast.Div: (ast.Mult, ast.Div)}


@dataclass(frozen=True)
class Helper:
    """A function the user defined with `--define 'd(x)=s(x)*(1-s(x))'`.

    Kept as its syntax tree and walked again at each call with the arguments bound, so every cap
    (exponents, digits, size) applies to what a call produces: d(x)=x^256 cannot fold d(d(d(2)))."""

    params: tuple[str, ...]
    body: ast.expr


def define(params: list[str], text: str, names: Mapping[str, sympy.Expr],
           helpers: Mapping[str, Helper] | None = None) -> Helper:
    """A helper from its parameters and body text; the body is checked now, with the parameters free."""
    local = {**names, **{p: sympy.Dummy(p, real=True) for p in params}}
    body, col = syntax_tree(text, "definition", True, local)
    _build(body, col, local, helpers, "definition")
    return Helper(tuple(params), body)


class _Work:
    """What one formula's walk may still do, shared with the walks of its helpers' bodies: the parts left
    to walk, and the printed sizes of the expressions built so far (memoised, so that checking each
    helper call's size costs the new parts only)."""

    def __init__(self) -> None:
        self.parts = MAX_PARTS
        self.sizes: dict[sympy.Expr, int] = {}
        self.weights: dict[sympy.Expr, float] = {}  # _Builder.weight's memo
        self.checked: set[sympy.Expr] = set()  # exp(...) and the like whose argument was looked at


def _build(body: ast.expr, col: Callable, names, helpers, what: str) -> sympy.Expr:
    builder = _Builder(names, {**FUNCTIONS, **(helpers or {})}, what, col, _Work())
    try:
        expr = builder.build(body, 0)
    except RecursionError:
        raise FormulaError(f"{what} is nested more than {MAX_DEPTH} deep", 1) from None
    if expr.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo, sympy.I):
        raise FormulaError(f"{what} is undefined (a division by zero, log(0) or the like)", 1)
    return expr


def parse(text: str, names: Mapping[str, sympy.Expr],
          helpers: Mapping[str, Helper] | None = None, what: str = "formula",
          implicit: bool = False) -> sympy.Expr:
    """Parse `text` into a SymPy expression over `names`; raise FormulaError with a column.

    With `implicit`, products may be written by juxtaposition, as by hand: `O(1-O) w4 h2`."""
    body, col = syntax_tree(text, what, implicit, names)
    return _build(body, col, names, helpers, what)


class _Builder:
    """Walks an `ast` tree, admitting only the whitelisted node types."""

    def __init__(self, names, functions, what, col, work: _Work):
        self.names, self.functions, self.what, self.col = names, functions, what, col
        self.work = work  # shared with the walks of helpers' bodies

    def fail(self, node: ast.AST, message: str):
        raise FormulaError(message, self.col(node))

    def build(self, node: ast.AST, depth: int) -> sympy.Expr:
        if depth > MAX_DEPTH:
            self.fail(node, f"{self.what} is nested more than {MAX_DEPTH} deep")
        self.work.parts -= 1
        if self.work.parts < 0:
            self.fail(node, f"{self.what} is too large: its helpers expand past {MAX_PARTS} parts")
        if isinstance(node, ast.Constant):
            return self.number(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = self.build(node.operand, depth + 1)
            return self.bounded(node, -value) if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp):
            return self.binop(node, depth)
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        self.fail(node, f"{_describe(node)} is not allowed in a {self.what}")

    def number(self, node: ast.Constant) -> sympy.Expr:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(node, f"{type(value).__name__} constant is not allowed in a {self.what}")
        if isinstance(value, int):
            if len(str(value)) > MAX_DIGITS:
                self.fail(node, f"number with more than {MAX_DIGITS} digits")
            return sympy.Integer(value)
        if not math.isfinite(value):
            self.fail(node, "number out of range")
        return sympy.Rational(repr(value))

    def name(self, node: ast.Name) -> sympy.Expr:
        if node.id in self.names:
            return self.names[node.id]
        if node.id in self.functions:
            self.fail(node, f"'{node.id}' is a function; call it as {node.id}(...)")
        self.fail(node, unknown("name", node.id, self.names))

    def binop(self, node: ast.BinOp, depth: int) -> sympy.Expr:
        # A long sum or product (x+x+...+x) is a deep left spine in the AST, not real nesting:
        # walk it in a loop so that only parentheses and function calls count towards the depth.
        family = _CHAIN.get(type(node.op))
        if family is None:
            return self.pair(node, self.build(node.left, depth + 1), self.build(node.right, depth + 1))
        spine = []
        while isinstance(node, ast.BinOp) and isinstance(node.op, family):
            spine.append(node)
            node = node.left
        value = self.build(node, depth + 1)
        for parent in reversed(spine):
            value = self.pair(parent, value, self.build(parent.right, depth + 1))
        return value

    def pair(self, node: ast.BinOp, left: sympy.Expr, right: sympy.Expr) -> sympy.Expr:
        return self.bounded(node, self.combine(node, left, right))

    def combine(self, node: ast.BinOp, left: sympy.Expr, right: sympy.Expr) -> sympy.Expr:
        op = node.op
        if isinstance(op, ast.Add):
            return left + right
        if isinstance(op, ast.Sub):
            return left - right
        if isinstance(op, ast.Mult):
            return left * right
        if isinstance(op, ast.Div):
            if right == 0:  # structurally: `is_zero` asks SymPy's assumptions, slow on a large divisor
                self.fail(node, "division by zero")
            return left / right
        if isinstance(op, ast.Pow):
            return self.power(node, left, right)
        self.fail(node, f"operator {_describe(op)} is not allowed in a {self.what}")

    def power(self, node: ast.BinOp, base: sympy.Expr, exponent: sympy.Expr) -> sympy.Expr:
        if exponent.is_Number and abs(exponent) > MAX_EXPONENT:
            self.fail(node, f"exponent larger than {MAX_EXPONENT}")
        if exponent.is_Number:
            # SymPy folds a constant's power, and a product's constant factor's: (1+1e-300)**256 has 77,000
            # digits. Refuse before computing it: its digits are about those of the base times the exponent.
            factors = base.args if base.is_Mul else (base,)
            if any(f.is_Rational and _magnitude(f) * abs(float(exponent)) >= MAX_FOLDED_DIGITS for f in factors):
                self.fail(node, FOLDED)
        if exponent.is_Number and self.weight(base) * abs(float(exponent)) > MAX_DENOMINATOR_DIGITS:
            self.fail(node, TOWER)
        if base == 0 and exponent.is_Number and exponent < 0:
            self.fail(node, "division by zero")
        return self.defined(node, sympy.Pow(base, exponent))

    def bounded(self, node: ast.AST, value: sympy.Expr) -> sympy.Expr:
        """Refuse a combination whose folded constants or merged exponents pass the caps.

        SymPy makes new numbers and exponents only near the top of the expression it returns (a
        product's coefficient, collected terms, a constant distributed over a sum, x**a * x**b merged),
        so the new expression and two levels below it are looked at, not the whole tree."""
        if self.weight(value) > MAX_DENOMINATOR_DIGITS:
            self.fail(node, TOWER)
        for e in (value, *value.args, *(a for arg in value.args for a in arg.args)):
            if e.is_Rational and _magnitude(e) >= MAX_FOLDED_DIGITS:
                self.fail(node, FOLDED)
            if e.is_Pow and e.exp.is_Number and abs(e.exp) > MAX_EXPONENT:  # (x**200)**200, x**200*x**200
                self.fail(node, f"exponent larger than {MAX_EXPONENT}")
            if e.func in GROWING and e not in self.work.checked:
                self.work.checked.add(e)
                if e.args[0].is_number and not _moderate(e.args[0]):
                    self.fail(node, f"number out of range: {e.func.__name__} of a constant past ±{MAX_GROWING:.0f} "
                                    f"(its value would pass 1e±{MAX_FOLDED_DIGITS})")
        return value

    def weight(self, e: sympy.Expr) -> float:
        """An upper bound on the digits of the denominator SymPy's sign queries (as_numer_denom) would build:
        ((x + 1e-17)**8 + 1e-17)**8 ... nested seven deep takes it seconds, an eighth level hours."""
        memo = self.work.weights
        if e not in memo:
            if e.is_Rational:
                memo[e] = math.log10(e.q)
            elif e.is_Pow and e.exp.is_Number:
                memo[e] = self.weight(e.base) * max(1.0, abs(float(e.exp)))
            else:
                memo[e] = math.fsum(self.weight(a) for a in e.args)
        return memo[e]

    def defined(self, node: ast.AST, value: sympy.Expr) -> sympy.Expr:
        """Refuse log(0), sqrt(-1) and the like where they are written, not at the end."""
        if value.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo, sympy.I):
            self.fail(node, "undefined value (a division by zero, log(0), the root of a negative number, ...)")
        return value

    def call(self, node: ast.Call, depth: int) -> sympy.Expr:
        if not isinstance(node.func, ast.Name):
            self.fail(node, f"only named functions can be called in a {self.what}")
        name = node.func.id
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            self.fail(node, f"{name}(...) takes plain arguments only")
        if name not in self.functions:
            self.fail(node.func, unknown("function", name, self.functions))
        fn = self.functions[name]
        wanted = len(fn.params) if isinstance(fn, Helper) else 1
        if name in VARIADIC and not isinstance(fn, Helper):
            if len(node.args) < 2:
                self.fail(node, f"{name}() takes two or more arguments, got {len(node.args)}")
        elif len(node.args) != wanted:
            self.fail(node, f"{name}() takes {wanted} argument{'s' * (wanted != 1)}, got {len(node.args)}")
        args = [self.build(a, depth + 1) for a in node.args]
        if isinstance(fn, Helper):
            # The helper's body, walked with its parameters bound; its errors point at this call.
            inner = _Builder({**self.names, **dict(zip(fn.params, args, strict=True))}, self.functions, self.what,
                             lambda _: self.col(node), self.work)
            result = inner.build(fn.body, depth + 1)
            # Nested helpers double a tree at each level while it stays small as a DAG; SymPy's own
            # comparisons walk the tree, so stop before it grows past what can be handled.
            if tree_size(result, memo=self.work.sizes) > MAX_PARTS:
                self.fail(node, f"{self.what} is too large: its helpers expand past {MAX_PARTS} parts")
            return self.defined(node, result)
        return self.bounded(node, self.defined(node, fn(*args)))


FOLDED = f"number out of range: the constants here fold to more than {MAX_FOLDED_DIGITS} digits"


TOWER = (f"number out of range: the powers of constants here would make a denominator of more than "
         f"{MAX_DENOMINATOR_DIGITS:,} digits")


def _moderate(constant: sympy.Expr) -> bool:
    """Whether exp, sigmoid or softplus of this constant stays within 1e±MAX_FOLDED_DIGITS. Its value
    is computed in mpmath at 15 digits, which is quick: every constant already built is within the caps.
    Past them SymPy's own comparisons evaluate exp(exp(1e300)) and never finish."""
    try:
        with mpmath.workdps(15):
            return abs(value(constant, {}, precise=True)) <= MAX_GROWING
    except (UndefinedError, KeyError, TypeError, ValueError):
        return False


def _magnitude(r: sympy.Rational) -> float:
    """log10 of the larger of a rational's numerator and denominator: it has that many digits, less one
    (taken without a decimal string, which Python refuses past 4,300 digits)."""
    return math.log10(max(abs(r.p), r.q))


def _describe(node: ast.AST) -> str:
    """A readable name for an AST node type, for error messages."""
    names = {ast.Attribute: "attribute access", ast.Subscript: "indexing", ast.Lambda: "lambda",
             ast.Compare: "comparison", ast.BoolOp: "boolean operator", ast.Mod: "'%'",
             ast.FloorDiv: "'//'", ast.BitXor: "'^'", ast.BitAnd: "'&'", ast.BitOr: "'|'",
             ast.MatMult: "'@'", ast.LShift: "'<<'", ast.RShift: "'>>'", ast.IfExp: "if-expression",
             ast.Tuple: "a tuple", ast.List: "a list", ast.Dict: "a dict", ast.JoinedStr: "an f-string",
             ast.NamedExpr: "assignment (:=)", ast.Await: "await", ast.Starred: "unpacking",
             ast.ListComp: "a comprehension", ast.GeneratorExp: "a comprehension", ast.Set: "a set"}
    return names.get(type(node), type(node).__name__)
