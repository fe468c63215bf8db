"""The 28x28 benchmark of CONTRACT section 7: one 28x28 image, a 3x3 conv with 4 filters (relu), 2x2 max
pooling and a dense layer of 10 under softmax cross-entropy; times `--wrt all` and `--matrix --wrt K1`.

    python bench/conv_mnist.py     # writes the file to a temporary directory and times each command

CPU is the child's user and system time, which a loaded machine does not inflate; wall is the clock.
"""

from __future__ import annotations

import math
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = [["--wrt", "all"], ["--matrix", "--wrt", "K1"], ["--wrt", "K1_1_1_2_2", "--check"],
            ["--wrt", "K1"], ["--wrt", "all", "--format", "json"]]


def network(seed: int = 1) -> str:
    """The file: a smooth image (a blurred stroke, like a digit), small random weights, class 3."""
    rng = random.Random(seed)
    image = [[round(max(0.0, 1 - abs(math.hypot(r - 14, c - 14) - 7) / 2.5), 3) for c in range(28)] for r in range(28)]
    kernel = [[[round(rng.uniform(-0.5, 0.5), 3) for _ in range(3)] for _ in range(3)] for _ in range(4)]
    dense = [[round(rng.uniform(-0.1, 0.1), 4) for _ in range(4 * 13 * 13)] for _ in range(10)]
    lines = ["description: one 28x28 image, 3x3 conv with 4 filters, 2x2 max pool, dense 10",
             "inputs: {I: {shape: [28, 28]}}", "layers:",
             "  - {conv: {filters: 4, kernel: [3, 3]}, activation: relu}",
             "  - {pool: {type: max, size: 2}}",
             "  - {units: 10, activation: identity}",
             f"loss: {{type: cross_entropy, target: [{', '.join(f'y{k}' for k in range(1, 11))}]}}",
             "at:", f"  I: {image}", f"  K1: {kernel}", f"  b1: {[0.01] * 4}", f"  W3: {dense}",
             f"  b3: {[0.0] * 10}"]
    lines += [f"  y{k}: {1 if k == 3 else 0}" for k in range(1, 11)]
    return "\n".join(lines) + "\n"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "conv28.yaml"
        path.write_text(network())
        print(f"file: {path.stat().st_size:,} bytes; 784 inputs, 2,704 conv units, 676 pool units, 10 outputs")
        print(f"{'command':58} {'CPU':>8} {'wall':>8} {'output':>12}")
        for args in COMMANDS:
            start, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
            done = subprocess.run([sys.executable, "-m", "derivator", str(path), *args], capture_output=True,
                                  text=True)
            took, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            status = "ok" if done.returncode == 0 else f"exit {done.returncode}: {done.stderr.strip()[:200]}"
            print(f"derive conv28.yaml {' '.join(args):39} {cpu:6.2f} s {took:6.2f} s {len(done.stdout):>10,} B  "
                  f"{status}")


if __name__ == "__main__":
    main()
