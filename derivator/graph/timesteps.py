"""Names through time (CONTRACT section 6): node `h` at step t is `h@t`, input `x` at step t is `x@t`.

A file with `steps:` and delayed edges is unrolled when it is read (`load/recurrence.py`) into an
ordinary acyclic network whose names carry their step. What the file itself says, the folded
network with its delayed edges, is kept beside it (`Recurrence`), for the picture and for the
derivation written through time (`render/through_time.py`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

SEP = "@"
# A name at a step: a number, or in general t, t-1, t+1 (the derivation through time writes those).
AT = re.compile(r"(.+)@(\d+|t(?:[+-]\d+)?)\Z")


def at(base: str, step: int | str) -> str:
    return f"{base}{SEP}{step}"


def split(name: str) -> tuple[str, str | None]:
    """`h@2` -> ('h', '2'); `z_h@t-1` -> ('z_h', 't-1'); a name without a step -> (name, None)."""
    m = AT.match(name)
    return (m.group(1), m.group(2)) if m else (name, None)


def step(name: str) -> int | None:
    """The step of an unrolled name as a number, or None."""
    _, s = split(name)
    return int(s) if s is not None and s.isdigit() else None


def base(name: str) -> str:
    return split(name)[0]


def ident(name: str) -> str:
    """A name as a Python and SymPy identifier: `@` is Python's matrix product, so h@2 is written h__2; a
    sample's copy under batch_norm, h#2 (load/batchnorm.py), is h__s2."""
    return name.replace(SEP, "__").replace("#", "__s")


def relative(name: str, t: int) -> str:
    """`h@3` seen from step t = 2 is `h@t+1`: the general form of a step's names."""
    b, s = split(name)
    if s is None or not s.isdigit():
        return name
    offset = int(s) - t
    return at(b, "t" if offset == 0 else f"t{offset:+d}")


@dataclass
class Recurrence:
    """What the file says before unrolling: its folded network and how it was unrolled."""

    steps: int
    folded: Any  # the file's Network, without its delayed edges (those are `delayed`)
    delayed: list = field(default_factory=list)  # the edges with `delay: 1`, as Edge objects
    loss_steps: str = "all"  # the loss summed over every step ("all") or the last step only ("last")
    initial: list[str] = field(default_factory=list)  # names whose value at step 0 a delayed edge reads
