"""`--wrt A --wrt B` and `--hessian` for the command line: check the flags, derive, and write the answer.

The click layer (`cli.py`) parses the point and the tolerance, calls `answer` and prints what it
returns; this keeps the second derivatives' flag rules in one place, beside their writers.
"""

from __future__ import annotations

from collections.abc import Mapping

from derivator.answers import second
from derivator.errors import DerivatorError
from derivator.graph.equations import resolve_of
from derivator.load.files import load
from derivator.render import FORMATS, choose, render, require

EXIT_DISAGREES = 1


def answer(file: str, wrt, of: str | None, at: Mapping[str, float], check: bool, tolerance: float, fmt: str,
           standalone: bool, hessian: bool, others: dict[str, bool]) -> tuple[str, int]:
    """(the text to print, the exit status) for two --wrt (one second derivative) or --hessian (the matrix,
    or with --format python the module computing it)."""
    choose(fmt, standalone)
    code = FORMATS[fmt].code
    flag = "--hessian" if hessian else "--wrt twice"
    bad = [o for o, given in {**others, "--check": check and code}.items() if given]
    if bad:
        raise DerivatorError(f"{flag} gives second derivatives{' as code' if code else ''}; "
                             f"{bad[0]} does not apply to it")
    require(fmt, "Hessian" if hessian else "Second", flag=flag)
    net = load(file)
    names = second.hessian_names(net, wrt) if hessian else list(wrt)
    if hessian and code:
        from derivator.render import python_hessian
        return python_hessian.module(net, names, resolve_of(net, of), file), 0
    got = (second.hessian if hessian else second.pair)(net, names, of, at, check, tolerance)
    return render(got, fmt, standalone), EXIT_DISAGREES if got.failed else 0
