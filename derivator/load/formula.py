"""The safe formula parser: text in, SymPy expression out, nothing executed.

Formulas (activations, losses, candidates) are parsed by Python's `ast` and walked with a whitelist:
numbers, known names, `+ - * / **` (and `^` as power), unary signs, parentheses and calls of the
listed functions. The walk builds SymPy objects itself; user text never reaches `eval`, `sympify` or
`parse_expr`, which all call `eval`. Caps on length, nesting and exponents keep the work bounded.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

import sympy

from derivator.errors import DerivatorError, unknown
from derivator.graph.equations import tree_size
from derivator.graph.primitives import FUNCTIONS, VARIADIC

MAX_LENGTH = 4000  # characters in one formula
MAX_DEPTH = 100  # nesting of parentheses and operators
MAX_EXPONENT = 256  # largest |n| in a constant exponent x**n
MAX_DIGITS = 60  # digits in one number, and in a constant the parser folds
MAX_PARTS = 20_000  # syntax-tree nodes walked for one formula, helpers' bodies counted at each call


# Characters a learner pastes from notes, and what they mean here.
UNICODE = {"σ": "sigmoid", "·": "*", "⋅": "*", "×": "*", "−": "-", "^": "**", "∗": "*"}


# Operators that continue a chain of the same precedence: a+b-c, a*b/c.
_CHAIN = {ast.Add: (ast.Add, ast.Sub), ast.Sub: (ast.Add, ast.Sub), ast.Mult: (ast.Mult, ast.Div),
          ast.Div: (ast.Mult, ast.Div)}


class FormulaError(DerivatorError):
    """A problem in a formula; `col` is the 1-based column inside the formula's text."""

    def __init__(self, message: str, col: int):
        super().__init__(message, None, col)


@dataclass(frozen=True)
class Helper:
    """A function the user defined with `--define 'd(x)=s(x)*(1-s(x))'`.

    Kept as its syntax tree and walked again at each call with the arguments bound, so every cap
    (exponents, digits, size) applies to what a call produces: d(x)=x^256 cannot fold d(d(d(2)))."""

    params: tuple[str, ...]
    body: ast.expr


def _normalise(text: str) -> tuple[str, list[int]]:
    """Replace Unicode and `^`, keeping for each new character the column it came from."""
    out, cols = [], []
    for i, ch in enumerate(text):
        rep = UNICODE.get(ch, ch)
        out.append(rep)
        cols.extend([i] * len(rep))
    cols.append(len(text))
    return "".join(out), cols


TOKEN = re.compile(r"\s+|[A-Za-z_][A-Za-z0-9_]*|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|\*\*|.", re.S)


def _juxtapose(src: str, cols: list[int], variables: Collection[str]) -> tuple[str, list[int]]:
    """Insert the '*' that handwriting leaves out: O(1-O), 2x, w4 h2, (a)(b).

    Only a known variable before '(' multiplies; any other name there is a call (f(x), or an unknown
    function that the builder then names)."""
    out, new_cols, previous = [], [], None
    for m in TOKEN.finditer(src):
        token = m.group()
        if token.isspace():
            out.append(token)
            new_cols.extend(cols[m.start():m.end()])
            continue
        kind = ("name" if token in variables else "func") if token[0].isalpha() or token[0] == "_" else \
            "num" if token[0].isdigit() or (token[0] == "." and len(token) > 1) else token
        if (previous in ("name", "num", ")") and kind in ("name", "func", "num", "(")) or \
                (previous == "func" and kind in ("name", "func", "num")):
            out.append("*")
            new_cols.append(cols[m.start()])
        out.append(token)
        new_cols.extend(cols[m.start():m.end()])
        previous = kind
    new_cols.append(cols[-1])
    return "".join(out), new_cols


def _tree(text: str, what: str, implicit: bool, variables: Collection[str]) -> tuple[ast.expr, Callable]:
    """Normalise and parse `text`; return the expression's AST and a column finder for its nodes."""
    if not isinstance(text, str):
        raise FormulaError(f"a {what} must be a string", 1)
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"{what} is longer than {MAX_LENGTH} characters", MAX_LENGTH)
    if "\x00" in text:
        raise FormulaError(f"NUL character in {what}", text.index("\x00") + 1)
    src, cols = _normalise(text)
    if implicit:
        src, cols = _juxtapose(src, cols, variables)
    depth = 0
    for i, ch in enumerate(src):
        depth += (ch == "(") - (ch == ")")
        if depth > MAX_DEPTH:
            raise FormulaError(f"{what} is nested more than {MAX_DEPTH} deep", cols[i] + 1)
    if not src.strip():
        raise FormulaError(f"empty {what}", 1)
    lead = len(src) - len(src.lstrip())
    stripped = src.strip()
    starts = [0] + [i + 1 for i, ch in enumerate(stripped) if ch == "\n"]  # a formula may span lines

    def at(line: int | None, offset: int) -> int:
        """The column in `text` of Python's (line, offset) in the stripped source."""
        index = lead + starts[min(max((line or 1) - 1, 0), len(starts) - 1)] + offset
        return cols[min(max(index, 0), len(src))] + 1

    try:
        tree = ast.parse(stripped, mode="eval")
    except SyntaxError as e:
        if not e.offset:  # Python reports offset 0 for an unexpected end: point just past the text
            raise FormulaError(f"cannot read {what}: {e.msg}", cols[min(len(src.rstrip()), len(src))] + 1) from None
        raise FormulaError(f"cannot read {what}: {e.msg}", at(e.lineno, e.offset - 1)) from None
    except (RecursionError, MemoryError, ValueError):
        raise FormulaError(f"{what} is too complex to read", 1) from None
    return tree.body, lambda node: at(node.lineno, node.col_offset)


def define(params: list[str], text: str, names: Mapping[str, sympy.Expr],
           helpers: Mapping[str, Helper] | None = None) -> Helper:
    """A helper from its parameters and body text; the body is checked now, with the parameters free."""
    local = {**names, **{p: sympy.Dummy(p, real=True) for p in params}}
    body, col = _tree(text, "definition", True, local)
    _build(body, col, local, helpers, "definition")
    return Helper(tuple(params), body)


def _build(body: ast.expr, col: Callable, names, helpers, what: str) -> sympy.Expr:
    builder = _Builder(names, {**FUNCTIONS, **(helpers or {})}, what, col, [MAX_PARTS])
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
    body, col = _tree(text, what, implicit, names)
    return _build(body, col, names, helpers, what)


class _Builder:
    """Walks an `ast` tree, admitting only the whitelisted node types."""

    def __init__(self, names, functions, what, col, budget: list[int]):
        self.names, self.functions, self.what, self.col = names, functions, what, col
        self.budget = budget  # shared with the walks of helpers' bodies

    def fail(self, node: ast.AST, message: str):
        raise FormulaError(message, self.col(node))

    def build(self, node: ast.AST, depth: int) -> sympy.Expr:
        if depth > MAX_DEPTH:
            self.fail(node, f"{self.what} is nested more than {MAX_DEPTH} deep")
        self.budget[0] -= 1
        if self.budget[0] < 0:
            self.fail(node, f"{self.what} is too large: its helpers expand past {MAX_PARTS} parts")
        if isinstance(node, ast.Constant):
            return self.number(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = self.build(node.operand, depth + 1)
            return -value if isinstance(node.op, ast.USub) else value
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
        op = node.op
        if isinstance(op, ast.Add):
            return left + right
        if isinstance(op, ast.Sub):
            return left - right
        if isinstance(op, ast.Mult):
            return left * right
        if isinstance(op, ast.Div):
            if right.is_zero:
                self.fail(node, "division by zero")
            return left / right
        if isinstance(op, ast.Pow):
            return self.power(node, left, right)
        self.fail(node, f"operator {_describe(op)} is not allowed in a {self.what}")

    def power(self, node: ast.BinOp, base: sympy.Expr, exponent: sympy.Expr) -> sympy.Expr:
        if exponent.is_Number and abs(exponent) > MAX_EXPONENT:
            self.fail(node, f"exponent larger than {MAX_EXPONENT}")
        if base.is_Number and exponent.is_Number and base != 0:
            # Exact powers of constants are folded; keep their size bounded.
            if abs(math.log10(abs(float(base))) * float(exponent)) > MAX_DIGITS * 5:
                self.fail(node, "number out of range")
        if base.is_zero and exponent.is_Number and exponent.is_negative:
            self.fail(node, "division by zero")
        result = self.defined(node, sympy.Pow(base, exponent))
        if result.is_Pow and result.exp.is_Number and abs(result.exp) > MAX_EXPONENT:  # (x**200)**200
            self.fail(node, f"exponent larger than {MAX_EXPONENT}")
        return result

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
                             lambda _: self.col(node), self.budget)
            result = inner.build(fn.body, depth + 1)
            # Nested helpers double a tree at each level while it stays small as a DAG; SymPy's own
            # comparisons walk the tree, so stop before it grows past what can be handled.
            if tree_size(result) > MAX_PARTS:
                self.fail(node, f"{self.what} is too large: its helpers expand past {MAX_PARTS} parts")
            return self.defined(node, result)
        return self.defined(node, fn(*args))


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
