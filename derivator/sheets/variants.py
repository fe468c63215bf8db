"""The variants of an exercise: one network (from `--shape` or a template file) at many round-number points.

Every number is drawn from SHA-256 of the seed, the variant's number, the attempt and the name, so a
variant depends on nothing else: not on Python's hash seed, the order of a set, the platform or how
many variants are asked for (the first ten of `--count 30` are those of `--count 10`). A variant is
drawn again while an asked derivative has no value, is 0 or sits at a kink (relu at exactly 0, which
round numbers reach), or while it repeats an earlier variant's point.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass, field
from fractions import Fraction

from derivator.answers.report import Report, derivation, report
from derivator.errors import DerivatorError, unknown
from derivator.graph.equations import resolve_of
from derivator.graph.network import Network
from derivator.graph.rules import ACTIVATIONS, ALIASES, LOSSES, OPTIONS, SOFTMAX, SOFTMAX_LOSS
from derivator.load.files import loads

MAX_UNITS = 12  # in one layer: a sheet's network is drawn and derived by hand
MAX_LAYERS = 6  # counting the inputs
MAX_COUNT = 500
MAX_DECIMALS = 4
MAX_TITLE = 70  # characters of a template's description kept as the sheet's title (up to its first stop)
ATTEMPTS = 200  # draws of one variant before giving up on it
SHAPE_ACTIVATIONS = sorted({*ACTIVATIONS, *OPTIONS, *ALIASES} - {SOFTMAX})
SHAPE_LOSSES = sorted([*LOSSES.keys() - {"categorical_cross_entropy"}, SOFTMAX_LOSS])
TOP_KEY = re.compile(r"[^\s#]")  # a line that starts a top-level key of the file (or ends the document)


@dataclass
class Variant:
    number: int
    text: str  # the network file, as written to exercise-N.yaml
    net: Network
    values: dict[str, str]  # the point as the file writes it: name -> decimal text
    reports: dict[str, Report] = field(default_factory=dict)  # by asked name


@dataclass
class Exercise:
    """What every variant shares: the network's file without its point, and the names asked for."""

    head: str  # the file's text before `at:`
    drawn: dict[str, str]  # the names given a value, each with its kind: input, parameter or target
    ask: list[str]
    title: str
    of: str  # "loss", or the one output of a network without a loss
    samples: int = 0  # with data: the target is J over this many samples
    one_hot: list[list[str]] = field(default_factory=list)  # targets that must sum to 1: one of them is 1


def names(text: str, what: str) -> list[str]:
    items = [s.strip() for s in text.split(",")]
    if not text.strip() or not all(items):
        raise DerivatorError(f"{what} expects names separated by commas, got '{text}'")
    return items


def layer_sizes(shape: str) -> list[int]:
    """`2-2-1`: the inputs, the hidden layers, the outputs."""
    parts = shape.split("-")
    if len(parts) < 2 or not all(p.isdigit() for p in parts):
        raise DerivatorError(f"--shape expects layer sizes such as 2-2-1 (inputs-hidden-outputs), got '{shape}'")
    sizes = [int(p) for p in parts]
    if len(sizes) > MAX_LAYERS or not all(1 <= n <= MAX_UNITS for n in sizes):
        raise DerivatorError(f"--shape: at most {MAX_LAYERS} layers of 1 to {MAX_UNITS} units each, got '{shape}'")
    return sizes


def shape_file(shape: str, activation: str, loss: str) -> tuple[str, list[str]]:
    """The network file of a dense shape (names as in Mazur's worked example: x1.., h1.., o1.., w1.., b1..)
    without its point, and the names it needs values for."""
    sizes = layer_sizes(shape)
    acts = names(activation, "--activation")
    if len(acts) == 1:
        acts *= len(sizes) - 1
    if len(acts) != len(sizes) - 1:
        raise DerivatorError(f"--activation: give one activation, or one for each of the {len(sizes) - 1} layers "
                             f"after the inputs; got {len(acts)}")
    for a in acts:
        if a not in SHAPE_ACTIVATIONS:
            raise DerivatorError("--activation: " + unknown("activation", a, SHAPE_ACTIVATIONS))
    if loss not in SHAPE_LOSSES:
        raise DerivatorError("--loss: " + unknown("loss", loss, SHAPE_LOSSES))
    hidden = len(sizes) - 2
    layers = [[f"x{j}" for j in range(1, sizes[0] + 1)]]
    for i, n in enumerate(sizes[1:-1], 1):
        layers.append([f"h{j}" if hidden == 1 else f"h{i}_{j}" for j in range(1, n + 1)])
    layers.append([f"o{j}" for j in range(1, sizes[-1] + 1)])
    targets = ["y"] if sizes[-1] == 1 else [f"y{j}" for j in range(1, sizes[-1] + 1)]
    lines = ["inputs: [" + ", ".join(layers[0]) + "]", "nodes:"]
    biases, weights, edges = [], [], []
    for act, layer in zip(acts, layers[1:], strict=True):
        for node in layer:
            biases.append(f"b{len(biases) + 1}")
            lines.append(f"  {node}: {{activation: {act}, bias: {biases[-1]}}}")
    for before, layer in itertools.pairwise(layers):
        for node in layer:
            for source in before:
                weights.append(f"w{len(weights) + 1}")
                edges.append(f"  - [{source}, {node}, {weights[-1]}]")
    output = layers[-1][0] if len(layers[-1]) == 1 else "[" + ", ".join(layers[-1]) + "]"
    target = targets[0] if len(targets) == 1 else "[" + ", ".join(targets) + "]"
    lines += ["edges:", *edges, f"output: {output}", f"loss: {{type: {loss}, target: {target}}}"]
    return "\n".join(lines) + "\n", [*layers[0], *weights, *biases, *targets]


def shape_exercise(shape: str, activation: str, loss: str, ask: list[str]) -> Exercise:
    body, needed = shape_file(shape, activation, loss)
    acts = activation.replace(",", ", ")
    title = f"a {shape} network, {acts} units, {loss.replace('_', ' ')}"
    head = f"description: Exercise VARIANT, {title}\n" + body
    net = loads(head)
    return _exercise(net, head, ask, title, needed)


def template_exercise(text: str, ask: list[str]) -> Exercise:
    """A template file: its structure kept, every value of its point drawn anew (data stays as it is)."""
    net = loads(text)
    if net.recurrence is not None:
        raise DerivatorError("--template: a network through time (steps:) cannot be varied yet; "
                             "give a network without delayed edges")
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(r"at\s*:", line)), None)
    if start is not None:
        end = next((j for j in range(start + 1, len(lines)) if TOP_KEY.match(lines[j])), len(lines))
        lines = lines[:start] + lines[end:]
    head = "".join(lines)
    head += "" if head.endswith("\n") or not head else "\n"
    needed = [*([] if net.samples else net.inputs), *net.params, *([] if net.samples else net.targets)]
    title = re.split(r"[:.;(]", net.description.strip(), maxsplit=1)[0].strip()[:MAX_TITLE] or "the template's network"
    return _exercise(net, head, ask, title, needed)


def _exercise(net: Network, head: str, ask: list[str], title: str, needed: list[str]) -> Exercise:
    for name in ask:
        if net.kind(name) is None:
            raise DerivatorError("--ask: " + unknown("name", name, [*net.params, *net.inputs, *net.nodes]))
        try:
            derivation(net, name)  # what no point can mend (an input's derivative with data) is said at once
        except DerivatorError as e:
            raise DerivatorError(f"--ask {name}: {e.message.removeprefix(f'--wrt {name}: ')}") from None
    drawn = {n: net.kind(n) for n in needed}
    groups = [[str(t) for t in g if str(t) in drawn] for g in net.target_groups()]
    return Exercise(head, drawn, ask, title, resolve_of(net, None), len(net.samples), [g for g in groups if g])


def decimal(units: int, decimals: int) -> str:
    """units / 10^decimals as the shortest decimal text: 3, 0.5, -0.25 (never 0.30000000000000004)."""
    x = Fraction(units, 10**decimals)
    sign, whole, rest = "-" if x < 0 else "", abs(x).numerator // abs(x).denominator, abs(x) % 1
    digits = f"{int(rest * 10**decimals):0{decimals}d}".rstrip("0") if decimals else ""
    return f"{sign}{whole}{'.' + digits if digits else ''}"


def draw(seed: int, number: int, attempt: int, name: str, choices: int) -> int:
    """A number in 0..choices-1 from the seed, the variant, the attempt and the name alone."""
    digest = hashlib.sha256(f"derive-sheet/{seed}/{number}/{attempt}/{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % choices


def point(ex: Exercise, seed: int, number: int, attempt: int, decimals: int) -> dict[str, str]:
    """One round-number point: inputs and parameters in [-1, 1] without 0, targets in [0, 1], one-hot
    targets where they must sum to 1."""
    scale = 10**decimals
    values = {}
    for name, kind in ex.drawn.items():
        if kind == "target":
            k = draw(seed, number, attempt, name, scale + 1)
        else:  # ±1..scale: a 0 would cut a path or leave a weight's derivative trivially 0
            k = draw(seed, number, attempt, name, 2 * scale)
            k = k - scale if k < scale else k - scale + 1
        values[name] = decimal(k, decimals)
    for group in ex.one_hot:
        hot = group[draw(seed, number, attempt, "one-hot " + " ".join(group), len(group))]
        values.update({t: "1" if t == hot else "0" for t in group})
    return values


def variants(ex: Exercise, count: int, seed: int, decimals: int) -> list[Variant]:
    if not 1 <= count <= MAX_COUNT:
        raise DerivatorError(f"--count must be 1 to {MAX_COUNT}, not {count}")
    if not 0 <= decimals <= MAX_DECIMALS:
        raise DerivatorError(f"--decimals must be 0 to {MAX_DECIMALS}, not {decimals}")
    out: list[Variant] = []
    seen: set[tuple] = set()
    for number in range(1, count + 1):
        for attempt in range(ATTEMPTS):
            values = point(ex, seed, number, attempt, decimals)
            key = tuple(values.items())
            if key in seen:
                continue
            v = _variant(ex, number, values)
            if v is not None:
                seen.add(key)
                out.append(v)
                break
        else:
            raise DerivatorError(f"no point for exercise {number} in {ATTEMPTS} draws gives every asked derivative "
                                 "a value other than 0, away from a kink; ask for other names or more --decimals")
    return out


def _variant(ex: Exercise, number: int, values: dict[str, str]) -> Variant | None:
    text = ex.head.replace("Exercise VARIANT", f"Exercise {number}", 1)
    text += "at:\n" + "".join(f"  {k}: {v}\n" for k, v in values.items()) if values else ""
    net = loads(text)
    v = Variant(number, text, net, values)
    for name in ex.ask:
        try:
            r = report(net, name, check=True)
        except DerivatorError:
            return None  # no finite value at this point (a log of 0, an overflow): draw again
        if r.value is None or r.value == 0 or r.check is None or r.check.kinks:
            return None
        v.reports[name] = report(net, name)  # as `derive FILE --wrt NAME` prints it, without --check
    return v
