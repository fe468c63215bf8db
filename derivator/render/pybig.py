"""The generated module's second try: numbers beyond float64, where derive's mpmath goes.

`--format python` computes in float64. Where that overflows (e^800, or a product that reaches inf),
derive still has a value, since mpmath's exponents are unbounded: 0 for 0·e^800, or a finite ratio
of two huge numbers, and inf only where the result itself is beyond float64. So the module tries
once more with `decimal` (standard library, exponents up to 10^999999999999999999), at 60 digits
and more until two precisions agree, as derive's ladder does, and returns floats: inf where derive
prints inf, and the same finite numbers elsewhere. Its sums are float64's, left to right, where
derive's are exactly rounded: where terms cancel (1e30 - 1e30 + 6) finite values may differ.

`_Big` is a Decimal that also takes floats as operands (the module's constants and its helpers'
literals are floats), and `_BIG` stands in for `math` in that try. The text below is written into
the module as it is.
"""

EXTENDED = '''\
_LADDER = (60, 400, 1200)  # the second try's precisions, in decimal digits: until two agree, as derive's


def _context(digits):
    return decimal.Context(prec=digits, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN,
                           traps=[decimal.InvalidOperation, decimal.DivisionByZero])


class _Big(decimal.Decimal):
    """A decimal number that also takes floats as operands: the second try's numbers."""

    __slots__ = ()


def _big(x):
    return x if isinstance(x, _Big) else _Big(x)


def _operators():
    for name in ("add", "sub", "mul", "truediv", "pow"):
        op = getattr(decimal.Decimal, "__%s__" % name)
        setattr(_Big, "__%s__" % name, lambda a, b, op=op: _Big(op(a, _big(b))))
        setattr(_Big, "__r%s__" % name, lambda a, b, op=op: _Big(op(_big(b), a)))
    for name in ("neg", "pos", "abs"):
        op = getattr(decimal.Decimal, "__%s__" % name)
        setattr(_Big, "__%s__" % name, lambda a, op=op: _Big(op(a)))


_operators()


class _BigMath:
    """math's functions on _Big numbers: exp, log and sqrt from decimal; bounded ones through float64."""

    def exp(self, x):
        return _Big(_big(x).exp())

    def log(self, x):
        if x <= 0:
            raise ValueError("math domain error")
        return _Big(_big(x).ln())

    def sqrt(self, x):
        if x < 0:
            raise ValueError("math domain error")
        return _Big(_big(x).sqrt())

    def log1p(self, x):
        return x - x * x / 2 + x * x * x / 3 if abs(x) < 1e-17 else self.log(1 + _big(x))

    def expm1(self, x):
        return x + x * x / 2 + x * x * x / 6 if abs(x) < 1e-17 else self.exp(x) - 1

    def copysign(self, x, y):
        return _Big(_big(x).copy_abs().copy_sign(_big(y)))

    def __getattr__(self, name):  # tanh, sin, cos, ...: bounded, so float64 gives them (tanh(inf) = 1)
        f = getattr(math, name)
        return f if not callable(f) else lambda *xs: _Big(f(*[float(x) for x in xs]))


_BIG = _BigMath()


def _numbers(run, values):
    """run(values) in float64; where that overflows, again in _Big numbers at rising precision until
    two precisions agree (cancellation past float64 needs digits), returned as floats."""
    try:
        out = run(values, math)
        if all(math.isfinite(v) for v in out.values()):
            return out
    except OverflowError:
        pass
    previous = None
    for digits in _LADDER:
        with decimal.localcontext(_context(digits)):
            try:
                big = run({k: _Big(v) for k, v in values.items()}, _BIG)
            except decimal.InvalidOperation:
                raise ValueError("no finite value at this point (as derive says)") from None
            out = {k: float(v) for k, v in big.items()}
        if previous is not None and all(_agree(out[k], previous[k]) for k in out):
            break
        previous = out
    return out


def _agree(a, b):
    return a == b or abs(a - b) <= 1e-13 * max(abs(a), abs(b))
'''
