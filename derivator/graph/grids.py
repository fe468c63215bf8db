"""Grids (CONTRACT section 7): grid inputs, convolution and pooling layers, and their names.

A grid is channels x positions, the positions 1-D (N) or 2-D (H x W). Every entry is a name of the
one graph: input `I` of shape [H, W] has entries `I_r_c`, of shape [C, H, W] `I_c_r_c`, of [N] `I_i`;
a conv or pool layer l has nodes `a{l}_f_r_c` (`a{l}_f_i` in 1-D), counted from 1. A conv layer's
kernel weight `K{l}_f_c_i_j` links input channel c to filter f at kernel offset (i, j); it is one
parameter tied over every position the kernel visits, as `b{l}_f` is over the whole map.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Grid:
    """Channels x spatial positions, and how each entry is named."""

    prefix: str  # "I" for an input, "a2" for layer 2
    channels: int
    spatial: tuple[int, ...]  # (N,) or (H, W)
    named_channels: bool = True  # an input declared without channels is named I_r_c, not I_1_r_c

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.channels, *self.spatial)

    @property
    def size(self) -> int:
        return self.channels * _product(self.spatial)

    @property
    def declared(self) -> tuple[int, ...]:
        """The shape as the file writes it (and as `at:` gives its values)."""
        return self.shape if self.named_channels else self.spatial

    def name(self, channel: int, *position: int) -> str:
        """The entry at a 0-based channel and position."""
        idx = ((channel,) if self.named_channels else ()) + position
        return self.prefix + "".join(f"_{i + 1}" for i in idx)

    def names(self) -> list[str]:
        """Every entry in row-major order (channel, row, column): the order a dense layer flattens them in."""
        return [self.name(c, *p) for c in range(self.channels) for p in positions(self.spatial)]

    def channel(self, c: int) -> list[list[str]]:
        """One channel's entries laid out as a matrix (a 1-D grid as one row)."""
        if len(self.spatial) == 1:
            return [[self.name(c, i) for i in range(self.spatial[0])]]
        return [[self.name(c, r, q) for q in range(self.spatial[1])] for r in range(self.spatial[0])]


def positions(spatial: tuple[int, ...]):
    return itertools.product(*(range(n) for n in spatial))


@dataclass
class GridLayer:
    """A conv or pool layer of a `layers:` file, between two grids."""

    index: int
    kind: str  # "conv" or "pool"
    source: Grid
    out: Grid
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    pos: Any
    activation: Any = None  # a conv layer's activation (a rules.Activation); pooling has none
    bias: bool = True
    pool: str = ""  # "max" or "average"
    recurrent: bool = False

    @property
    def nodes(self) -> list[str]:
        return self.out.names()

    @property
    def units(self) -> int:
        return len(self.nodes)

    def size(self) -> tuple[int, int]:
        """Its nodes, and at most how many entries they read (a conv layer's edges, a pool's windows)."""
        units = self.out.channels * _product(self.out.spatial)
        return units, units * _product(self.kernel) * (self.source.channels if self.kind == "conv" else 1)

    @property
    def filters(self) -> int:
        return self.out.channels

    def kernel_names(self) -> list[list[str]]:
        """K{l} laid out as a matrix: each filter's kernel for each input channel, stacked by rows
        (F·C·kh rows of kw entries; in 1-D, F·C rows of k)."""
        n, k = self.index, self.kernel
        rows = []
        for f in range(self.filters):
            for c in range(self.source.channels):
                if len(k) == 1:
                    rows.append([f"K{n}_{f + 1}_{c + 1}_{i + 1}" for i in range(k[0])])
                else:
                    rows += [[f"K{n}_{f + 1}_{c + 1}_{i + 1}_{j + 1}" for j in range(k[1])] for i in range(k[0])]
        return rows

    def kernel_name(self, f: int, c: int, offset: tuple[int, ...]) -> str:
        return f"K{self.index}_{f + 1}_{c + 1}" + "".join(f"_{i + 1}" for i in offset)

    def reads(self, position: tuple[int, ...]) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
        """The kernel offsets and source positions that output `position` reads (padding reads nothing)."""
        out = []
        for offset in positions(self.kernel):
            src = tuple(p * s - pad + o for p, s, pad, o in zip(position, self.stride, self.padding, offset,
                                                                 strict=True))
            if all(0 <= x < n for x, n in zip(src, self.source.spatial, strict=True)):
                out.append((offset, src))
        return out


def _product(xs: tuple[int, ...]) -> int:
    out = 1
    for x in xs:
        out *= x
    return out


def out_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Positions along one axis, as PyTorch counts them (a last partial window is dropped)."""
    return (size + 2 * padding - kernel) // stride + 1
