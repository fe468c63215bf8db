"""Grading a class of 1,000 answers with `derive --grade`: seconds, with the derivative compiled once.

    python bench/grading.py             # the figures in the README
    python bench/grading.py --rows 200  # a smaller class

Three classes on story 4's network (`--wrt w1`), each graded in this process after a warm-up:

- a class as classes are: 1,000 answers drawn (fixed seed) from 24 distinct ones, right ones in
  several notations and the typical mistakes, spelled with varying spaces and `*`; those that parse to
  the same expression are judged once;
- the worst case: 1,000 answers that are all different expressions (a constant factor k = 1..1000,
  each judged in full);
- for comparison, the same worst case answer by answer as `--candidate` judges one (`report` per
  answer, the derivative derived anew each time), on the first 50 and scaled to the class.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import derivator
from derivator.answers.grading import Row, grade

SPEC = Path(__file__).resolve().parent.parent / "specs" / "story4_desmos_check.yaml"
RIGHT = "O(1-O)(w4 h2(1-h2) w2 + w5 h3(1-h3) w3) h1(1-h1) I"
POOL = [
    RIGHT, "O*(1-O)*(w4*h2*(1-h2)*w2 + w5*h3*(1-h3)*w3)*h1*(1-h1)*I",
    "σ(z_O)(1-σ(z_O))(w4 σ(z_h2)(1-σ(z_h2)) w2 + w5 σ(z_h3)(1-σ(z_h3)) w3) σ(z_h1)(1-σ(z_h1)) I",
    "I*h1*(1-h1)*(w2*w4*h2*(1-h2) + w3*w5*h3*(1-h3))*O*(1-O)",
    "O(1-O) w4 h2(1-h2) w2 h1(1-h1) I + O(1-O) w5 h3(1-h3) w3 h1(1-h1) I",
    "O(1-O)(h2(1-h2) + h3(1-h3)) h1(1-h1) I",  # story 4's hand answer: the weights missed
    "O(1-O)(w4 h2(1-h2) w2) h1(1-h1) I",  # a path missed
    "-O(1-O)(w4 h2(1-h2) w2 + w5 h3(1-h3) w3) h1(1-h1) I",
    "2 O(1-O)(w4 h2(1-h2) w2 + w5 h3(1-h3) w3) h1(1-h1) I",
    "O(1-O)(w4 h2(1-h2) w2 + w5 h3(1-h3) w3) I",  # h1's derivative missed
    "(1-O^2)(w4 h2(1-h2) w2 + w5 h3(1-h3) w3) h1(1-h1) I",  # tanh's derivative for a sigmoid
    "O(1-O)(w4 h2 w2 + w5 h3 w3) h1 I",  # the outputs for the derivatives
    "I h1", "O(1-O)(w4 w2 + w5 w3) I", "w4 w2 + w5 w3", "O(1-O) I",
    "O(1-O)(w4 h2(1-h2) w2 + w5 h3(1-h3) w3) h1(1-h1)",  # the input missed
    "O(1-O)(w4 h2(1-h2) w2 + w5 h3(1-h3) w3) h1(1-h1) I/2",
    "O(1-O)(w2 h2(1-h2) w4 + w3 h3(1-h3) w5) h1(1-h1) I",
    "O(1-O)(w4 h2(1-h2) w2 + w5 h3(1-h3) w3) h1(1-h1) I + 0",
    "O(1-O)(w4 h2(1-h2) w2 + w5 h3(1-h3) w3) h1(1-h1) I w1",
    "O(1-O)(w4 h2(1-h2) w2 + w5 h3(1-h3) w3) h1(1-h1) x",  # unreadable: no x
    "O(1-O)(w4 h2(1-h2) w2 + w5 h3(1-h3) w3 h1(1-h1) I",  # unreadable: a parenthesis open
    "O(1-O)(w5 h2(1-h2) w2 + w4 h3(1-h3) w3) h1(1-h1) I",  # weights swapped
]


def spelled(text: str, rng: random.Random) -> str:
    """The same answer as another learner types it: spaces here and there."""
    if rng.random() < 0.5:
        return text
    times = rng.choice(["  ", " * ", "*", "·"])
    return " + ".join(term.replace(" ", times) for term in text.split(" + "))


def timed(net, rows: list[Row]) -> tuple[float, object]:
    start = time.perf_counter()
    result = grade(net, "w1", rows)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    n = parser.parse_args().rows
    net = derivator.load(SPEC)
    grade(net, "w1", [Row("warm", RIGHT, None, 2)])  # imports and first compilations
    rng = random.Random(20)
    usual = [Row(str(i), spelled(rng.choice(POOL), rng), None, i + 2) for i in range(n)]
    seconds, result = timed(net, usual)
    s = result.summary
    print(f"{n} answers drawn from {len(POOL)} distinct ones: {seconds:.2f} s "
          f"({s['right']} right, {s['wrong']} wrong, {s['unreadable']} unreadable)")
    distinct = [Row(str(k), f"{k} {RIGHT}", None, k + 1) for k in range(1, n + 1)]
    seconds, result = timed(net, distinct)
    print(f"{n} answers, all different expressions: {seconds:.2f} s ({1000 * seconds / n:.1f} ms an answer)")
    few = min(50, n)
    start = time.perf_counter()
    for row in distinct[:few]:
        derivator.report(net, "w1", candidate=row.candidate)
    each = (time.perf_counter() - start) / few
    print(f"answer by answer as --candidate (report each time), on {few}: {1000 * each:.1f} ms an answer, "
          f"{each * n:.1f} s for {n}")


if __name__ == "__main__":
    main()
