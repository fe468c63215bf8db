"""Grading a class: every row of ANSWERS.csv judged as `--candidate` judges one (CONTRACT section 11).

The derivative is derived once per `--wrt` name, and a candidate that parses to an expression already
judged (`2(o-y)` and `2*(o - y)`) gets that verdict again: judging is a function of the derivative,
the expression and the point, with a fixed seed for the points around it. The forward passes at those
points are run once for the whole class (`numbers/remember.py`). A row that cannot be read (a bad
name, a syntax error, an unknown `wrt`) gets its error as its diagnosis and the others go on.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from derivator.answers.report import derivation, judged
from derivator.errors import DerivatorError, shown
from derivator.graph.network import Network
from derivator.judge.candidate import Verdict, parse
from derivator.load.files import read_bytes
from derivator.numbers import checking, remember
from derivator.symbolic.derive import Derivation

MAX_ROWS = 10_000  # a class, or every class of a course; more is refused rather than left running for hours
MAX_BYTES = 10_000_000
MAX_ID = 200  # characters of an id kept in the output

# The kinds of mistake the diagnosis names, for the summary: (kind, a pattern of its sentences).
# Each sentence is written by judge/diagnose.py; tests/test_grading.py has one of each.
KINDS = [
    ("inconclusive", re.compile(r"could be compared at only")),
    ("no value", re.compile(r"has no finite value")),
    ("equal only at the point", re.compile(r"equal at this point only by coincidence")),
    ("wrong sign", re.compile(r"^The sign is wrong")),
    ("zero", re.compile(r"^The candidate is 0 where")),
    ("constant factor", re.compile(r"times the derivative at every point: a constant factor")),
    ("missing path", re.compile(r"^The path .* is missing: its term is")),
    ("extra term", re.compile(r"^The term .* is extra: it matches no path")),
    ("wrong activation derivative", re.compile(r" uses .* where it needs |(^|, )has \S.*\(the derivative of ")),
    ("missing weight", re.compile(r" lacks the weights? ")),
    ("missing factor", re.compile(r" lacks (?:the weights? [^ ,]+(?: \(= [^)]*\))? and )?(?!the weights? )\S")),
    ("extra factor", re.compile(r" has an extra ")),
    ("wrong coefficient", re.compile(r" has the coefficient ")),
]


@dataclass
class Row:
    id: str
    candidate: str
    wrt: str | None  # the row's own, overriding --wrt
    line: int  # in ANSWERS.csv


@dataclass
class Grade:
    id: str
    wrt: str
    agrees: bool | None  # None: the row could not be read
    value: float | None = None
    ratio: float | None = None
    diagnosis: list[str] = field(default_factory=list)
    inconclusive: bool = False

    @property
    def kinds(self) -> list[str]:
        """The kinds of mistake its diagnosis names, each once, in KINDS order."""
        if self.agrees is not False:
            return []
        return [kind for kind, pattern in KINDS if any(pattern.search(s) for s in self.diagnosis)]


@dataclass
class Grades:
    grades: list[Grade]

    @property
    def summary(self) -> dict:
        """How many were right, wrong, unreadable (and inconclusive), and how many answers made each mistake."""
        mistakes = Counter(k for g in self.grades for k in g.kinds if k != "inconclusive")
        return {"right": sum(g.agrees is True for g in self.grades),
                "wrong": sum(g.agrees is False and not g.inconclusive for g in self.grades),
                "unreadable": sum(g.agrees is None for g in self.grades),
                "inconclusive": sum(g.inconclusive for g in self.grades),
                "mistakes": {k: mistakes[k] for k, _ in KINDS if mistakes[k]}}

    @property
    def failed(self) -> bool:
        """Some row could not be judged (unreadable, or inconclusive): exit status 1."""
        return any(g.agrees is None or g.inconclusive for g in self.grades)


def read(path: str | Path) -> list[Row]:
    """The rows of ANSWERS.csv: a header naming `id` and `candidate` (and optionally `wrt`), in any order."""
    data = read_bytes(path, MAX_BYTES, "the answers file")
    try:
        text = data.decode("utf-8-sig")  # a spreadsheet's export often starts with a byte-order mark
    except UnicodeDecodeError as e:
        raise DerivatorError("the answers file is not UTF-8 text", data.count(b"\n", 0, e.start) + 1, 1) from None
    return rows(text)


def rows(text: str) -> list[Row]:
    """Rows from the CSV text (see `read`)."""
    first = text.split("\n", 1)[0]
    # A spreadsheet set to a decimal comma exports with semicolons; some exports use tabs.
    delimiter = next((d for d in (",", ";", "\t") if d in first), ",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
        if header is None:
            raise DerivatorError("the answers file is empty; it needs a header with 'id' and 'candidate'", 1, 1)
        names = [h.strip().lower() for h in header]
        for needed in ("id", "candidate"):
            if needed not in names:
                raise DerivatorError(f"the header has no '{needed}' column; it has: "
                                     f"{', '.join(shown(h, 24) for h in header)}", 1, 1)
        at = {n: names.index(n) for n in ("id", "candidate", "wrt") if n in names}
        out = []
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue  # a blank line, often the last one
            if len(out) >= MAX_ROWS:
                raise DerivatorError(f"more than {MAX_ROWS:,} answers; grade them in parts", reader.line_num, 1)
            got = {n: cells[i] if i < len(cells) else "" for n, i in at.items()}
            out.append(Row(got["id"].strip()[:MAX_ID], got["candidate"], got.get("wrt", "").strip() or None,
                           reader.line_num))
    except csv.Error as e:
        raise DerivatorError(f"the answers file is not CSV: {e}", reader.line_num or 1, 1) from None
    return out


def grade(net: Network, wrt: str | None, answers: Sequence[Row], of: str | None = None,
          at: Mapping[str, float] | None = None, definitions: Sequence[str] = ()) -> Grades:
    """Judge every row; `wrt` for the rows that do not name their own."""
    values = checking.point(net, at)
    first = checking.samples(net, values)[0]  # as --candidate: one sample's derivative, with data
    derivations: dict[str, Derivation | DerivatorError] = {}
    verdicts: dict[tuple, Verdict | DerivatorError] = {}
    out = []
    with remember.remembering():
        for row in answers:
            name = row.wrt or wrt
            if name is None:
                out.append(Grade(row.id, "", None, diagnosis=["no --wrt, and the row has no wrt of its own"]))
                continue
            if name not in derivations:
                derivations[name] = _attempt(lambda n=name: derivation(net, n, of))
            d = derivations[name]
            result = d if isinstance(d, DerivatorError) else _verdict(d, row, definitions, first, verdicts)
            out.append(_grade(row, name, result))
    return Grades(out)


def _verdict(d: Derivation, row: Row, definitions: Sequence[str], first: dict[str, float],
             verdicts: dict) -> Verdict | DerivatorError:
    if not row.candidate.strip():
        return DerivatorError("the candidate is empty")
    expr = _attempt(lambda: parse(d.net, row.candidate, list(definitions)))
    if isinstance(expr, DerivatorError):
        return expr
    key = (d.wrt, expr)
    if key not in verdicts:
        verdicts[key] = _attempt(lambda: judged(d, row.candidate, list(definitions), first, expr))
    return verdicts[key]


def _attempt(fn):
    """fn(), or the DerivatorError it raised (Python's recursion limit counts as one)."""
    try:
        return fn()
    except DerivatorError as e:
        return e
    except RecursionError:
        return DerivatorError("too deeply nested to judge here")


def _grade(row: Row, wrt: str, result: Verdict | DerivatorError) -> Grade:
    if isinstance(result, DerivatorError):
        return Grade(row.id, wrt, None, diagnosis=[result.message.removeprefix("--candidate: ")])
    return Grade(row.id, wrt, result.agrees, result.value, result.ratio, list(result.diagnosis), result.inconclusive)
