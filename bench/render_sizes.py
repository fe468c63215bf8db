"""How large and how quick the worked derivation is on deep networks (issue 3's bound).

    python bench/render_sizes.py

For each network: the printed size of the nested form, and the time to derive with --check and to
render text, JSON and LaTeX. Times are wall-clock on this machine, side by side in one run.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from networks import dense

import derivator
from derivator.render import render_json, render_latex, render_text

CASES = [
    ("story 4 (5 edges)", None),
    ("6 layers x 4 wide (76 edges)", (2, [4, 4, 4, 4, 4, 1])),
    ("16 layers x 2 wide lattice", (2, [2] * 16 + [1])),
    ("chain of 1,000 nodes", (1, [1] * 1000)),
]


def main() -> None:
    print(f"{'network':32} {'factors':>9} {'derive+check':>13} {'text':>7} {'json':>7} {'latex':>7} {'nested?':>8}")
    for label, shape in CASES:
        if shape is None:
            net, wrt = derivator.load(Path(__file__).parent.parent / "specs/story4_desmos_check.yaml"), "w1"
        else:
            net = derivator.loads(dense(*shape))
            wrt = net.params[1]
        t0 = time.perf_counter()
        r = derivator.report(net, wrt, check=True)
        t1 = time.perf_counter()
        render_text(r)
        t2 = time.perf_counter()
        out = json.loads(render_json(r))
        t3 = time.perf_counter()
        render_latex(r, standalone=True)
        t4 = time.perf_counter()
        nested = "yes" if out["in_node_values"]["text"] is not None else "no"
        print(f"{label:32} {r.derivation.nested_size():>9} {t1 - t0:>12.2f}s {t2 - t1:>6.2f}s "
              f"{t3 - t2:>6.2f}s {t4 - t3:>6.2f}s {nested:>8}")


if __name__ == "__main__":
    main()
