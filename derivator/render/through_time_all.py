"""`--wrt all` (or a whole matrix) through time: the delta recursion once per node of the file, at step t,
and each parameter's derivative as a sum over the steps (`render/through_time.py` does the same for one
derivative). The table writers (`render/table.py`) print these in place of the unrolled lines."""

from __future__ import annotations

from types import SimpleNamespace

from derivator.render.steps import delta_symbol, recursion
from derivator.render.through_time import _general_delta, _groups, summed
from derivator.symbolic.printing import nested_text, teacher


def recursion_lines(g) -> list[tuple[object, object, str | None]] | None:
    """(δ symbol, its recursion, a note) for each node of the file, in general where it has several steps;
    None when the network has no steps."""
    rec = g.net.recurrence
    if rec is None:
        return None
    shim = SimpleNamespace(steps=g.steps, net=g.net, of=g.of)
    out = []
    for copies in _groups(g.steps).values():
        if len(copies) == 1:
            v = copies[0][1]
            out.append((delta_symbol(v), recursion(g.steps[v]), None))
            continue
        eq = _general_delta(shim, rec, copies)
        out.append((eq.lhs, eq.rhs[-1], eq.fused_note))
    return out


def text_lines(g) -> list[str] | None:
    lines = recursion_lines(g)
    if lines is None:
        return None
    return [f"  {lhs} = {nested_text(rhs)}" + (f"    ({note})" if note else "") for lhs, rhs, note in lines]


def row_form(g, row):
    """A row's derivative as a sum over the steps (Σ_t δ_h@t h@t-1), or None when the network has no steps."""
    if g.net.recurrence is None:
        return None
    uses = [SimpleNamespace(node=v, factor=local) for v, local in row.uses]
    return summed(uses, g.net.recurrence.steps)[0]


def row_text(g, row) -> str | None:
    form = row_form(g, row)
    return None if form is None else teacher(form)
