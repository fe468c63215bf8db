"""Shared helpers for the tests: the specs folder and quick access to symbols."""

from pathlib import Path

import pytest

SPECS = Path(__file__).resolve().parent.parent / "specs"

# A small network that error tests edit. Lines: 1 inputs, 3 h, 4 O, 6-7 the edges, 8 output.
SMALL_NET = """\
inputs: [I]
nodes:
  h: {activation: sigmoid, bias: b}
  O: {activation: sigmoid}
edges:
  - [I, h, w1]
  - [h, O, w2]
output: O
"""


@pytest.fixture
def spec_path():
    return lambda name: SPECS / name
