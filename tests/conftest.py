"""Shared helpers for the tests: the specs folder and quick access to symbols."""

from pathlib import Path

import pytest

SPECS = Path(__file__).resolve().parent.parent / "specs"


@pytest.fixture
def spec_path():
    return lambda name: SPECS / name
