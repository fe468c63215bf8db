"""Judging a candidate written out in inputs and parameters: reading, recognition, the verdict.

    python bench/candidates.py

For story 4's hand derivation pasted as LaTeX, and for dense networks of growing width, the right
derivative written out in inputs and parameters (`d.expanded()`, the form a learner copies from a
calculator) is judged: the seconds of CPU time to read it, to recognise its node values
(judge/recognise.py), and for the whole verdict, with the verdict's method.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from networks import dense

import derivator
from derivator.judge.candidate import judge, parse
from derivator.judge.recognise import recognise
from derivator.numbers import checking
from derivator.symbolic.printing import CodePrinter

SPECS = Path(__file__).resolve().parent.parent / "specs"
HELPERS = [r"s\left(x\right)=\frac{1}{1+e^{-x}}", r"d\left(x\right)=s\left(x\right)\left(1-s\left(x\right)\right)"]


def timed(f):
    t = time.process_time()
    out = f()
    return out, time.process_time() - t


def row(name: str, net, wrt: str, text: str, helpers: list[str]) -> str:
    d = derivator.derive(net, wrt)
    point = checking.point(net)
    try:
        expr, read = timed(lambda: parse(net, text, helpers))
    except derivator.DerivatorError as e:
        return f"| {name} | {len(text):,} | refused | | | {e.message} |"
    _, rec = timed(lambda: recognise(d, expr, point))
    v, whole = timed(lambda: judge(d, expr, point))
    return f"| {name} | {len(text):,} | {read:.2f} | {rec:.2f} | {whole:.2f} | {v.word}, {v.method} |"


def main() -> None:
    print("| candidate | characters | read (s) | recognise (s) | verdict (s) | verdict |")
    print("|---|---|---|---|---|---|")
    story4 = derivator.load(SPECS / "story4_desmos_check.yaml")
    pasted = (SPECS / "story4_hand_derivation.tex").read_text().replace("\n", "")
    print(row("story 4, the hand derivation pasted", story4, "w1", pasted, HELPERS))
    for width in (2, 3, 4):
        net = derivator.loads(dense(2, [width, width, 1]))
        d = derivator.derive(net, net.params[0])
        text = CodePrinter().doprint(d.expanded())
        print(row(f"2-{width}-{width}-1 network, written out", net, net.params[0], text, []))


if __name__ == "__main__":
    main()
