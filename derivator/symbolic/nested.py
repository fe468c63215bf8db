"""The derivative nested as a teacher writes it, not as SymPy orders it.

SymPy sorts the factors of a product; a teacher writes the chain from the target back to the
variable: `O(1-O)(w4 h2(1-h2) w2 + w5 h3(1-h3) w3) h1(1-h1) I`. A `Prod` keeps its factors in that
order and a `Sum` its terms; a factor shared at the front of every term of a sum is pulled out, which
is how the recursion's common output delta ends up in front. Nothing is expanded or simplified.

Structures are shared between deltas (a delta is a prefix of its parents'), so building is linear in
the network; `size` tells how large printing would be before anyone prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy

Expr = sympy.Expr


@dataclass(frozen=True)
class Sum:
    terms: tuple[Prod, ...]


@dataclass(frozen=True)
class Prod:
    factors: tuple[Expr | Sum, ...]  # target first; an empty product is 1
    is_zero: bool = field(default=False, compare=False)  # has a literal 0 factor (a weight of 0)

    def then(self, *factors: Expr | Sum) -> Prod:
        """This product followed by more factors (factors equal to 1 are left out)."""
        new = tuple(sympy.Integer(f) if isinstance(f, int) else f for f in factors)
        # A number is compared as one; anything else is not 1 or 0 (SymPy's == on a symbol is slow).
        new = tuple(f for f in new if isinstance(f, Sum) or not f.is_Number or f != 1)
        zero = any(not isinstance(f, Sum) and f.is_Number and f == 0 for f in new)
        return Prod(self.factors + new, self.is_zero or zero)


ONE = Prod(())
ZERO = Prod((sympy.S.Zero,), True)


def total(terms: list[Prod]) -> Prod:
    """The sum of products as one product: common leading factors pulled out, one term spliced in."""
    terms = [t for t in terms if not t.is_zero]
    if not terms:
        return ZERO
    if len(terms) == 1:
        return terms[0]
    common = []
    while all(len(t.factors) > len(common) for t in terms):
        head = terms[0].factors[len(common)]
        if any(t.factors[len(common)] != head for t in terms[1:]):
            break
        common.append(head)
    rest = tuple(Prod(t.factors[len(common):]) for t in terms)
    return Prod((*common, Sum(rest)))


def minus(p: Prod) -> Prod:
    """-p, written with a leading -1 that the printers show as a minus sign."""
    return Prod((sympy.S.NegativeOne, *p.factors))


def to_sympy(p: Prod | Sum | Expr, memo: dict | None = None) -> Expr:
    """The ordinary (evaluated) SymPy expression, for values and comparisons."""
    memo = {} if memo is None else memo
    key = id(p)
    if key in memo:
        return memo[key][1]
    if isinstance(p, Prod):
        value = sympy.Mul(*[to_sympy(f, memo) for f in p.factors])
    elif isinstance(p, Sum):
        value = sympy.Add(*[to_sympy(t, memo) for t in p.terms])
    else:
        value = p
    memo[key] = (p, value)  # keep p alive so its id is not reused
    return value


def size(p: Prod | Sum | Expr, memo: dict | None = None) -> int:
    """How many factors printing would write, counting shared parts every time they appear."""
    memo = {} if memo is None else memo
    key = id(p)
    if key not in memo:
        if isinstance(p, Prod):
            n = sum(size(f, memo) for f in p.factors) or 1
        elif isinstance(p, Sum):
            n = sum(size(t, memo) for t in p.terms)
        else:
            n = 1
        memo[key] = (p, n)
    return memo[key][1]
