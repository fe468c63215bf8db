"""The LaTeX reader's delimited parts: groups and brackets, `\\left ... \\right` pairs, Iverson
brackets, Desmos's `\\left\\{x>0: a, b\\right\\}`, subscripts, primes and a definition's head.

A mixin of `latex_reader.Reader`, which gives it the cursor (`peek`, `take`, `at`, `fail`), the
output (`out`, `capture`, `write`) and the sums it reads inside.
"""

from __future__ import annotations

from collections.abc import Callable

from derivator.load.latex import COMPARE, GREEK, Tok

OPENERS = {"(": ")", "[": "]", "{": "}", "|": "|", r"\lvert": r"\rvert", r"\lbrack": r"\rbrack", r"\{": r"\}"}
WRITTEN = {"(": ("(", ")"), "{": ("(", ")"), "[": ("[", "]"), r"\lbrack": ("[", "]"), "|": ("abs(", ")"),
           r"\lvert": ("abs(", ")")}
CASES = r"\left\{x>0: a, b\right\}"


def key(t: Tok | None) -> str:
    """How a token is named in messages and tables: `\\left` for a command, else its kind."""
    return "" if t is None else "\\" + t.text if t.kind == "cmd" else t.kind


def comparison(t: Tok | None) -> str | None:
    """The operator a token compares with (`>=` for `\\geq`), or None."""
    if t is None:
        return None
    return COMPARE.get(t.text) if t.kind == "cmd" else t.kind if t.kind in (">", "<", ">=", "<=") else None


class Groups:
    """Delimited constructs, read by the methods of `Reader` they call back."""

    def enclosed(self, contents: Callable, as_call: bool = False) -> None:
        """`( )`, `[ ]`, `{ }`, `| |` with or without `\\left`/`\\right`; written as ( ), [ ] or abs( ).

        A bracket may hold a comparison (an Iverson bracket), unless it holds a function's arguments."""
        first = self.take()
        left = first if key(first) == r"\left" else None
        delim = first
        if left is not None:
            if self.peek() is None:
                self.fail("\\left needs a delimiter, as \\left(", left)
            delim = self.take()
        k = key(delim)
        if k == r"\{":
            return self.piecewise(left, delim)
        if k not in WRITTEN:
            self.fail(f"'{k}' cannot be read after \\left", delim)
        opened, closed = WRITTEN[k]
        if as_call:
            opened, closed = ("(", ")") if opened in "([" else ("(" + opened, closed + ")")
        elif opened == "[":
            contents = self.bracket_content
        self.out.add(opened, delim.col)
        bar = k == "|" and left is None
        self.bars += bar
        self.nest(contents)
        self.bars -= bar
        self.out.add(closed, self.close(left, delim, OPENERS[k]).col)

    def close(self, left: Tok | None, delim: Tok, wanted: str) -> Tok:
        """The closing delimiter, `\\right)` for a `\\left(`; an error at the opening one if it is not there."""
        t = self.peek()
        k = key(delim)
        if left is None:
            if key(t) != wanted:
                self.fail(f"'{k}' was never closed{self.why(t)}", delim)
            return self.take()
        if key(t) != r"\right":
            self.fail(f"\\left{k} is never closed by \\right{wanted}{self.why(t)}", left)
        self.take()
        d = self.peek()
        if d is None or key(d) != wanted:
            self.fail(f"\\right{key(d)} does not close the \\left{k} at column {left.col + 1}", d or t)
        return self.take()

    def why(self, t: Tok | None) -> str:
        if comparison(t):
            return "; a comparison is read only in an Iverson bracket, as [x > 0] or \\left[x > 0\\right]"
        if key(t) == ",":
            return "; a comma separates a function's arguments only"
        return ""

    def bracket_content(self) -> str | None:
        """A sum, or one comparison of two: `[x > 0]` is an Iverson bracket."""
        self.sum()
        op = comparison(self.peek())
        if op is not None:
            self.out.add(op, self.take().col)
            self.sum()
            if comparison(self.peek()):
                self.fail("an Iverson bracket holds one comparison, such as [x > 0]", self.peek())
        return op

    def piecewise(self, left: Tok | None, delim: Tok) -> None:
        """Desmos's `\\left\\{x>0: a, b\\right\\}`: a where x > 0, else b, as [x>0] a + (1 - [x>0]) b."""
        ops: list[str | None] = []
        cond = self.capture(lambda: ops.append(self.bracket_content()))
        if ops[0] is None:
            self.fail(f"a condition compares two values: {CASES}", delim)
        parts = [cond]
        for sep in (":", ","):
            if not self.at(sep):
                self.fail(f"expected '{sep}' here, as in {CASES}", self.peek())
            self.take()
            parts.append(self.capture(self.sum))
        end = self.close(left, delim, r"\}")
        for text, part in (("([", cond), ("]*(", parts[1]), (")+(1-[", cond), ("])*(", parts[2]), ("))", None)):
            self.out.add(text, end.col if part is None else delim.col)
            if part is not None:
                self.write(part)

    def subscript(self) -> tuple[str, str]:
        """`_1`, `_{h_1}`: the subscript's text with its inner underscores kept and dropped (h_1, h1)."""
        us = self.take()
        self.split_first()
        t = self.peek()
        if t is None:
            self.fail("'_' needs a subscript, as w_1", us)
        if t.kind != "{":
            if not (t.kind in ("word", "num") or (t.kind == "cmd" and t.text in GREEK)):
                self.fail("a subscript is a name or a number, as w_1 or z_{h_1}", t)
            self.take()
            return t.text, t.text
        kept, depth = [], 0
        while True:
            t = self.peek()
            if t is None:
                self.fail("'{' was never closed", us)
            self.take()
            depth += (t.kind == "{") - (t.kind == "}")
            if depth == 0:
                break
            if t.kind in ("word", "num", "_", ",") or (t.kind == "cmd" and t.text in GREEK):
                kept.append("_" if t.kind == "," else t.text)
            elif t.kind not in ("{", "}"):
                self.fail("a subscript is a name or a number, as w_1 or z_{h_1}", t)
        text = "".join(kept)
        return text, text.replace("_", "")

    def primes(self) -> int:
        """`'`, `^{\\prime}` and `^\\prime` after a function's name: how many."""
        n = 0
        while True:
            if self.at("'"):
                self.take()
                n += 1
            elif self.at("^") and key(self.peek(1)) == r"\prime":
                self.i += 2
                n += 1
            elif self.at("^") and key(self.peek(1)) == "{" and key(self.peek(2)) == r"\prime":
                self.i += 2
                while self.at(r"\prime"):
                    self.take()
                    n += 1
                if not self.at("}"):
                    self.fail("^{\\prime} holds primes only", self.peek())
                self.take()
            else:
                return n

    def head(self) -> list[str]:
        """A definition's `s\\left(x\\right)` or `f(a, b)`: writes `s(x)`, returns the parameters."""
        t = self.take()
        self.out.add(t.text + (self.subscript()[1] if self.at("_") else ""), t.col)
        if not self.at("(", r"\left"):
            self.fail("expects 'f(x)=EXPR', as s\\left(x\\right)=\\frac{1}{1+e^{-x}}", self.peek())
        params: list[str] = []
        opener = self.take()
        left = opener if key(opener) == r"\left" else None
        delim = self.take() if left is not None and self.peek() is not None else opener
        if key(delim) != "(":
            self.fail("a definition's parameters go in parentheses: s\\left(x\\right)=...", delim)
        self.out.add("(", delim.col)
        while (p := self.peek()) is not None and (p.kind == "word" or (p.kind == "cmd" and p.text in GREEK)):
            self.take()
            params.append(p.text + (self.subscript()[1] if self.at("_") else ""))
            self.out.add(params[-1], p.col)
            if not self.at(","):
                break
            self.out.add(",", self.take().col)
        self.out.add(")", self.close(left, delim, ")").col)
        return params
