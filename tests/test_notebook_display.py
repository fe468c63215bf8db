"""Jupyter's displays work from `import derivator` alone, and keep their equations aligned."""

import subprocess
import sys


def test_reprs_work_after_importing_only_the_package():
    code = ("import derivator\n"
            "net = derivator.load('specs/story4_desmos_check.yaml')\n"
            "g = derivator.gradient(net)\n"
            "latex = g._repr_latex_()\n"
            "assert latex.startswith('$$\\\\begin{aligned}'), latex[:40]\n"
            "assert '\\\\intertext' not in latex\n"
            "assert '&\\\\text{Backward pass, once for every derivative below:}' in latex\n"
            "assert derivator.report(net, 'w1')._repr_markdown_().startswith('### The derivative')\n"
            "print('ok')\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(_root()))
    assert r.stdout == "ok\n", r.stderr


def _root():
    from pathlib import Path
    return Path(__file__).resolve().parent.parent
