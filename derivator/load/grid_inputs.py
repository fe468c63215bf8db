"""Grid inputs in the file's reader (CONTRACT section 7): their entries, and their values given whole.

A mixin of `spec.Reader`, which holds the names (`declare`), the document and the layers."""

from __future__ import annotations

from typing import Any

from derivator.graph.network import Pos
from derivator.load import conv, layers
from derivator.load.fields import fail
from derivator.load.tree import Map
from derivator.load.yamlfile import value_pos


class GridInputs:
    """Needs the reader's `doc`, `declare`, `steps`, `grids` and `layers`."""

    def grid(self, name: str, body: Map, pos: Pos) -> list[str]:
        """A grid input's entries, each an input of its own; the grid's name gives them values in `at:` and data."""
        self.declare(name, "grid input", pos)
        self.grids[name] = grid = conv.grid_input(name, body, value_pos(self.doc["inputs"], name))
        if self.steps is not None:
            fail("grid inputs and 'steps:' do not go together in this version", pos)
        return [self.declare(n, "input", pos) for n in grid.names()]

    def ungridded(self, inputs: list[str]) -> list[str]:
        """The inputs as a sample gives them: a grid input by its name, not entry by entry."""
        entries = {e: g for g, grid in self.grids.items() for e in grid.names()}
        return list(dict.fromkeys(entries.get(n, n) for n in inputs))

    def whole(self, name: str, raw: Any, matrices: dict, pos: Pos) -> dict[str, float]:
        """A whole matrix, kernel or grid input given at once."""
        if name in self.grids:
            grid = self.grids[name]
            return conv.values(raw, grid.declared, grid.names(), name, pos)
        lay = next((lay for lay in self.layers if f"K{lay.index}" == name), None)
        if lay is not None:  # a kernel: [F][C][kh][kw], leading sizes of 1 may be left out
            return conv.values(raw, (lay.filters, lay.source.channels, *lay.kernel),
                               [e for row in matrices[name] for e in row], name, pos)
        return layers.matrix(raw, matrices[name], name, pos)

