"""Shared helpers for the tests: the specs folder and quick access to symbols."""

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, seed

SPECS = Path(__file__).resolve().parent.parent / "specs"
# The formulas used in specs/, as plain float functions for the reference engine (tests/refengine.py).
SPEC_FORMULAS = {
    "x/(1+abs(x))": (lambda x: x / (1 + abs(x)), lambda x: 1 / (1 + abs(x)) ** 2),
    "(o-y)^4": (lambda o, y: (o - y) ** 4, lambda o, y: 4 * (o - y) ** 3),
}

# Property tests: derandomized so CI sees the same examples every run; DERIVATOR_PROPERTY_SEED picks
# other ones, and DERIVATOR_PROPERTY_SCALE multiplies how many (see `examples`).
SCALE = float(os.environ.get("DERIVATOR_PROPERTY_SCALE", "1"))
SEED = os.environ.get("DERIVATOR_PROPERTY_SEED")
PROPERTY_SETTINGS = {
    "deadline": None,
    "derandomize": SEED is None,
    "database": None,  # reproducible: no replay of examples saved by earlier runs
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much],
}


def examples(n: int) -> int:
    return max(1, round(n * SCALE))


def seeded(test):
    return seed(int(SEED))(test) if SEED is not None else test

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
