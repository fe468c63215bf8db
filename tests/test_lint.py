"""The code stays `ruff check` clean (pyproject's settings), so CI catches what review would."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is in the test extras")
def test_ruff_check_is_clean():
    run = subprocess.run(["ruff", "check", "--no-cache", str(ROOT)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout
