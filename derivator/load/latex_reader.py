"""LaTeX into the tool's notation: a small recursive-descent reader over `latex.tokens`.

It writes the notation `notation.rewrite` reads (`[x>0]` for an Iverson bracket, `f'(x)` for a
prime), with every product explicit, so the formula parser has nothing left to guess. Names follow
the network: `w_1` and `w_{1}` are `w1` when the network has `w1` (`w_1` when it has that),
`z_{h_1}` is `z_h1`, and a run of letters (`Iw_1`) is split into the network's names, longest
first, when the whole run splits. Each character written keeps the LaTeX column it came from.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from derivator.load.formula import MAX_DEPTH, FormulaError
from derivator.load.latex import FRACTIONS, FUNCTIONS, GREEK, TIMES, Tok, split_run, tokens, variants
from derivator.load.latex_groups import OPENERS, Groups, comparison, key
from derivator.load.notation import Mapped, Out

STARTS = {"left", "sqrt", "lvert", "lbrack", *FRACTIONS, *FUNCTIONS, *GREEK}


def translate(text: str, variables: Collection[str], functions: Collection[str]) -> Mapped:
    """A LaTeX candidate in the tool's notation."""
    reader = Reader(tokens(text), variables, functions, len(text))
    reader.whole(reader.sum)
    return reader.out.done(len(text))


def definition(text: str, variables: Collection[str], functions: Collection[str]) -> Mapped:
    """`s\\left(x\\right)=\\frac{1}{1+e^{-x}}` as `s(x)=((1)/(1+exp(1)**(-x)))`."""
    toks = tokens(text)
    equals = next((i for i, t in enumerate(toks) if t.kind == "="), None)
    if equals is None or equals == 0 or toks[0].kind != "word":
        raise FormulaError("expects 'f(x)=EXPR', as s\\left(x\\right)=\\frac{1}{1+e^{-x}}", 1)
    head = Reader(toks[:equals], (), (), toks[equals].col)
    params = head.whole(head.head)
    head.out.add("=", toks[equals].col)
    body = Reader(toks[equals + 1:], {*variables, *params}, functions, len(text), head.out)
    body.whole(body.sum)
    return body.out.done(len(text))


class Reader(Groups):
    """One pass over the tokens; each method reads one construct and writes it to `out`."""

    def __init__(self, toks: list[Tok], variables, functions, end: int, out: Out | None = None):
        self.toks, self.i, self.end = toks, 0, end
        self.variables = set(variables)
        self.functions = {*functions, *({"ln"} - self.variables)}
        self.out = out or Out()
        self.depth = 0
        self.bars = 0  # open |...| pairs: inside one, a | closes rather than starts a value

    # -- tokens -----------------------------------------------------------------------------------
    def peek(self, k: int = 0) -> Tok | None:
        return self.toks[self.i + k] if self.i + k < len(self.toks) else None

    def take(self) -> Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def at(self, *kinds: str) -> bool:
        return key(self.peek()) in kinds

    def fail(self, message: str, t: Tok | None = None):
        raise FormulaError(message, (t.col if t is not None else self.end) + 1)

    def split_first(self) -> None:
        """TeX takes one character as a script or a fraction's argument: x^23 is x^{2}3."""
        t = self.peek()
        if t is not None and t.kind in ("num", "word") and len(t.text) > 1:
            self.toks[self.i:self.i + 1] = [Tok(t.kind, t.text[0], t.col), Tok(t.kind, t.text[1:], t.col + 1)]

    def whole(self, read: Callable):
        try:
            result = read()
        except RecursionError:
            self.fail(f"nested more than {MAX_DEPTH} deep", None)
        t = self.peek()
        if t is not None:
            self.fail(self.leftover(t), t)
        return result

    def leftover(self, t: Tok) -> str:
        k = key(t)
        if k in (")", "]", "}", "|", r"\rvert", r"\rbrack", r"\}"):
            return f"unmatched '{k}'"
        if k == r"\right":
            return "\\right without a \\left before it"
        if k == "=":
            return "'=' cannot be read here; give the right-hand side only"
        if comparison(t):
            return "a comparison is read only in an Iverson bracket, as [x > 0] or \\left[x > 0\\right]"
        return f"unexpected '{k}'"

    def nest(self, read: Callable, *args):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.fail(f"nested more than {MAX_DEPTH} deep", self.peek())
        try:
            return read(*args)
        finally:
            self.depth -= 1

    def capture(self, read: Callable, *args) -> Out:
        """What `read` writes, kept aside to be written later (or twice)."""
        saved, self.out = self.out, Out()
        try:
            read(*args)
            return self.out
        finally:
            self.out, captured = saved, self.out
            del captured

    def write(self, part: Out) -> None:
        self.out.parts.extend(part.parts)
        self.out.cols.extend(part.cols)

    # -- sums, products, powers -------------------------------------------------------------------
    def sum(self) -> None:
        self.factor()
        self.products()
        while self.at("+", "-"):
            t = self.take()
            self.out.add(t.kind, t.col)
            self.factor()
            self.products()

    def products(self) -> None:
        while (t := self.peek()) is not None:
            k = key(t)
            if k == "*" or (t.kind == "cmd" and t.text in TIMES) or k in ("/", r"\div"):
                self.take()
                self.out.add("/" if k in ("/", r"\div") else "*", t.col)
                self.factor()
            elif self.starts_value(t):
                self.out.add("*", t.col)  # juxtaposition: a product, as written by hand
                self.power()
            else:
                return

    def starts_value(self, t: Tok) -> bool:
        if t.kind == "cmd":
            return t.text in STARTS
        return t.kind in ("num", "word", "(", "[", "{") or (t.kind == "|" and self.bars == 0)

    def factor(self) -> None:
        if self.at("+", "-"):
            t = self.take()
            self.out.add(t.kind, t.col)
            self.nest(self.factor)
        else:
            self.power()

    def power(self) -> None:
        self.nest(self.value)
        self.exponent()

    def exponent(self) -> None:
        if not self.at("^"):
            return
        caret = self.take()
        self.out.add("**(", caret.col)
        t = self.peek()
        if t is None:
            self.fail("'^' needs an exponent", caret)
        if t.kind == "{":
            self.enclosed(self.sum)
        else:
            if t.kind in ("+", "-"):  # e^-x: TeX would raise only the sign, but the meaning is plain
                self.out.add(self.take().kind, t.col)
            self.single(caret)
        self.out.add(")", caret.col)
        if self.at("^"):
            self.fail("double superscript: write x^{ab} or {(x^a)}^b", self.peek())
        if self.at("_"):
            self.fail("a subscript after a superscript is read only for a layer's entry of the network, as "
                      "a^{[2]}_1; write the subscript first, x_1^2", self.peek())

    def single(self, owner: Tok) -> None:
        """One token as a script or an argument: a digit, a letter, a Greek name, or a group."""
        self.split_first()
        t = self.peek()
        if t is None:
            self.fail(f"'{key(owner)}' needs an argument", owner)
        if t.kind == "{":
            self.enclosed(self.sum)
        elif t.kind == "num":
            self.out.add(self.take().text, t.col)
        elif t.kind == "word" or (t.kind == "cmd" and t.text in GREEK):
            self.name()
        else:
            self.fail(f"'{key(owner)}' needs an argument here, not '{key(t)}'", t)

    # -- values -----------------------------------------------------------------------------------
    def value(self) -> None:
        t = self.peek()
        if t is None:
            self.fail("a value is missing at the end")
        k = key(t)
        if t.kind == "num":
            self.out.add(self.take().text, t.col)
        elif t.kind == "word" or k[1:] in GREEK:
            self.name()
        elif k in OPENERS or k == r"\left":
            self.enclosed(self.sum)
        elif k[1:] in FRACTIONS:
            self.fraction()
        elif k == r"\sqrt":
            self.root()
        elif k[1:] in FUNCTIONS:
            self.take()
            self.call(FUNCTIONS[t.text], t)
        else:
            self.fail(f"a value is missing before '{k}'" if k in (")", "]", "}", "+", "*", "/", "^") or
                      k == r"\right" else f"'{k}' cannot start a value", t)

    def fraction(self) -> None:
        t = self.take()
        self.out.add("((", t.col)
        self.single(t)
        self.out.add(")/(", t.col)
        self.single(t)
        self.out.add("))", t.col)

    def root(self) -> None:
        t = self.take()
        index = self.capture(self.enclosed, self.sum) if self.at("[") else None
        self.out.add("sqrt(" if index is None else "((", t.col)
        self.single(t)
        if index is None:
            self.out.add(")", t.col)
        else:
            self.out.add(")**(1/", t.col)
            self.write(index)
            self.out.add("))", t.col)

    def name(self) -> None:
        """A letter run or a Greek letter, with its subscript: the network's names, or a call."""
        t = self.take()
        text = t.text
        layered = self.layered(text)
        if layered is not None:
            self.out.add(layered, t.col)
            return
        sub = self.subscript() if self.at("_") else None
        pieces = split_run(text, sub, self.variables, self.functions, t.kind == "word")
        if pieces is None:  # no such name: written whole, so that the parser names it
            whole = text + (sub[1] if sub else "")
            pieces = [(whole, 0)]
            if self.at("(", r"\left", "[", "{"):
                self.call(whole, t)
                return
        for n, (piece, offset) in enumerate(pieces):
            last = n == len(pieces) - 1
            if last and piece in self.functions and piece not in self.variables:
                self.call({"ln": "log"}.get(piece, piece), Tok("word", piece, t.col + offset))
                return
            if n:
                self.out.add("*", t.col + offset)
            self.out.add("exp(1)" if piece == "e" and "e" not in self.variables else piece, t.col + offset)
        if self.at("'"):
            self.fail(f"a prime is the derivative of a function, and '{pieces[-1][0]}' is a name", self.peek())

    def layered(self, base: str) -> str | None:
        """A layer's entry as courses write it, `a^{[2]}_1`, `W^{[2]}_{12}`, `z^{(1)}_{3}`: the
        network's name (a2_1, W2_1_2, z_a1_3 is not written so), or None, the caret then a power."""
        kinds = [key(self.peek(k)) for k in range(5)]
        if kinds[0] != "^" or kinds[1] != "{" or (kinds[2], kinds[4]) not in (("[", "]"), ("(", ")")) or \
                self.peek(3).kind != "num" or key(self.peek(5)) != "}":
            return None
        layer, start = self.peek(3).text, self.i
        self.i += 6
        sub = self.subscript() if self.at("_") else None
        names = variants(base + layer, sub)
        if sub is not None and sub[1].isdigit() and len(sub[1]) == 2:  # W_{12}: row 1, column 2
            names.append(f"{base}{layer}_{sub[1][0]}_{sub[1][1]}")
        found = next((n for n in names if n in self.variables), None)
        if found is None:
            self.i = start
        return found

    def call(self, fn: str, t: Tok) -> None:
        """A function applied: `f(a, b)`, `\\sigma'(z)`, `\\tanh^2(z)` (the value squared), `\\ln x`."""
        primes = self.primes()
        power = self.capture(self.exponent) if self.at("^") else None
        if power is not None:
            self.out.add("(", t.col)
        self.out.add(fn + "'" * primes, t.col)
        nxt = self.peek()
        if self.at("(", "[", "{", r"\left", r"\lbrack"):
            self.enclosed(self.arguments, True)
        elif nxt is not None and self.starts_value(nxt) and not primes:
            self.out.add("(", nxt.col)  # \ln x, \sigma z: the argument is the next value
            self.power()
            self.out.add(")", nxt.col)
        else:
            shown = f"\\{t.text}" if t.text in FUNCTIONS and fn != t.text else fn
            self.fail(f"{shown} is a function: write {shown}{chr(39) * primes}(...)", t)
        if power is not None:
            self.out.add(")", t.col)
            self.write(power)

    def arguments(self) -> None:
        self.sum()
        while self.at(","):
            self.out.add(",", self.take().col)
            self.sum()
