"""`--grade`: the class's verdicts as CSV (the default) or JSON (CONTRACT section 11)."""

from __future__ import annotations

import csv
import io
import json

from derivator.answers.grading import Grade, Grades
from derivator.render.jsonout import finite

HEADER = ["id", "agrees", "value", "ratio", "diagnosis"]
JOIN = " | "  # between the diagnosis sentences in one CSV cell


def _number(x: float | None) -> str:
    """The shortest text that reads back as the same float (Python's repr, the same on every machine)."""
    x = finite(x)
    return "" if x is None else repr(x)


def _agrees(g: Grade) -> str:
    return "" if g.agrees is None else "true" if g.agrees else "false"


def render_grades_csv(grades: Grades) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for g in grades.grades:
        writer.writerow([g.id, _agrees(g), _number(g.value), _number(g.ratio), JOIN.join(g.diagnosis)])
    return out.getvalue()


def as_dict(g: Grade) -> dict:
    out = {"id": g.id, "agrees": g.agrees, "value": finite(g.value), "ratio": finite(g.ratio),
           "diagnosis": g.diagnosis, "wrt": g.wrt}
    if g.inconclusive:  # agrees is false: too few points could be compared to tell, as for --candidate
        out["inconclusive"] = True
    if g.kinds:
        out["mistakes"] = g.kinds
    return out


def render_grades_json(grades: Grades) -> str:
    return json.dumps({"grades": [as_dict(g) for g in grades.grades], "summary": grades.summary},
                      indent=2, allow_nan=False) + "\n"
