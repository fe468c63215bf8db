"""The code stays `ruff check` clean (pyproject's settings), so CI catches what review would."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUFF = [sys.executable, "-m", "ruff"]  # the test extras' ruff, whether or not a `ruff` is on PATH


def ruff_missing() -> str | None:
    """Why this Python cannot run ruff, or None when it can."""
    try:
        done = subprocess.run([*RUFF, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"{' '.join(RUFF)} --version failed: {e}"
    if done.returncode != 0:
        return f"{' '.join(RUFF)} --version failed ({(done.stderr or done.stdout).strip()[-200:]}); " \
               "ruff is in the test extras: pip install '.[test]'"
    return None


MISSING = ruff_missing()


# On CI (CI set), which installs the test extras, a missing ruff fails the test instead.
@pytest.mark.skipif(MISSING is not None and not os.environ.get("CI"), reason=str(MISSING))
def test_ruff_check_is_clean():
    run = subprocess.run([*RUFF, "check", "--no-cache", str(ROOT)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


def test_ruff_runs_without_a_ruff_on_path(monkeypatch, tmp_path):
    # ruff installed with the test extras but its script not on PATH (a venv not activated): it still runs.
    if MISSING is not None:
        pytest.skip(MISSING)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert ruff_missing() is None
