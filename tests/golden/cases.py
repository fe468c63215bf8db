"""The golden outputs: each file under tests/golden/ and the command that writes it.

Regenerate every one, after reviewing the change by eye, with

    python tests/golden/cases.py
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPECS = HERE.parent.parent / "specs"
STORY4, STORY5 = "story4_desmos_check.yaml", "story5_tanh_squared_error.yaml"
COURSE5 = "story5_course_notation.yaml"
CANDIDATE = ["--define", "s(x)=1/(1+exp(-x))", "--define", "d(x)=s(x)*(1-s(x))",
             "--candidate", "d(z_O) * (d(z_h2) * d(z_h1) * I + d(z_h3) * d(z_h1) * I)"]

CASES: dict[str, tuple[str, list[str]]] = {
    "story4_w1.txt": (STORY4, ["--wrt", "w1", "--check"]),
    "story4_w1.tex": (STORY4, ["--wrt", "w1", "--format", "latex"]),
    "story4_w1.md": (STORY4, ["--wrt", "w1", "--format", "markdown"]),
    "story4_w1.json": (STORY4, ["--wrt", "w1", "--check", "--format", "json"]),
    "story4_w1.desmos": (STORY4, ["--wrt", "w1", "--format", "desmos"]),
    "story4_candidate.txt": (STORY4, ["--wrt", "w1", *CANDIDATE]),
    "story4_all.txt": (STORY4, ["--wrt", "all"]),
    "story4_all.json": (STORY4, ["--wrt", "all", "--format", "json"]),
    "story4_all.py": (STORY4, ["--wrt", "all", "--format", "python"]),
    "story3_W2_matrix.tex": ("story3_matrix_form.yaml", ["--wrt", "W2", "--matrix", "--format", "latex"]),
    "story5_z_x.txt": (STORY5, ["--wrt", "z_x", "--check"]),
    "story5_u.txt": (STORY5, ["--wrt", "u", "--check"]),
    "story5_u.tex": (STORY5, ["--wrt", "u", "--format", "latex"]),
    "story5_u.md": (STORY5, ["--wrt", "u", "--format", "markdown"]),
    "story5_u.json": (STORY5, ["--wrt", "u", "--check", "--format", "json"]),
    "story5_u.desmos": (STORY5, ["--wrt", "u", "--format", "desmos"]),
    # the learner's notation (CONTRACT section 10): the candidate in the calculator, story 5 in the course's letters
    "story4_candidate.desmos": (STORY4, ["--wrt", "w1", *CANDIDATE, "--format", "desmos"]),
    "story5_course_z_x.txt": (COURSE5, ["--wrt", "z_x", "--check"]),
    "story5_course_u.tex": (COURSE5, ["--wrt", "u", "--format", "latex"]),
    "story5_course_u.md": (COURSE5, ["--wrt", "u", "--format", "markdown"]),
}


def output(name: str) -> str:
    """What the command prints for a golden case, run in-process with the spec's path as written."""
    from click.testing import CliRunner

    from derivator.cli import derive
    spec, args = CASES[name]
    r = CliRunner().invoke(derive, [f"specs/{spec}", *args], catch_exceptions=False)
    return r.stdout


if __name__ == "__main__":
    import os
    os.chdir(SPECS.parent)
    sys.path.insert(0, str(SPECS.parent))
    for name in CASES:
        (HERE / name).write_text(output(name))
        print("wrote", HERE / name)
