"""Shared helpers for the tests: the specs folder and quick access to symbols."""

import os
import shutil
import subprocess
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


def tex_missing(*packages: str) -> str | None:
    """Why LaTeX tests cannot run here (pdflatex, or a package such as tikz.sty that `kpsewhich`
    does not find), or None when they can."""
    if shutil.which("pdflatex") is None:
        return "pdflatex is not installed"
    for name in packages:
        try:
            done = subprocess.run(["kpsewhich", name], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return f"{name} is not installed (kpsewhich cannot run)"
        if done.returncode != 0 or not done.stdout.strip():
            return f"{name} is not installed (kpsewhich finds nothing)"
    return None


def skip_without_tex(*packages: str, ci_installs: str) -> pytest.MarkDecorator:
    """Skip where TeX or a package is missing, except on CI (CI set), which installs them (.ci/run):
    there the test runs, and fails if they are missing."""
    missing = None if os.environ.get("CI") else tex_missing(*packages)
    return pytest.mark.skipif(missing is not None, reason=f"{missing} (CI installs {ci_installs})")


needs_pdflatex = skip_without_tex(ci_installs="texlive-latex-base")
needs_tikz = skip_without_tex("tikz.sty", ci_installs="texlive-pictures")
# --draw's .tex is a standalone-class document (Debian's texlive-latex-extra).
needs_standalone = skip_without_tex("tikz.sty", "standalone.cls", ci_installs="texlive-pictures texlive-latex-extra")


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
