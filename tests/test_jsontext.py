"""The JSON path (derivator/load/jsontext.py) against the YAML path, on the same JSON text.

A JSON file is read by Python's json module and its positions are found only when one is read.
Whatever the file, the JSON path must be invisible: the same network, field for field and position
for position, or the same error at the same line and column, as the YAML path gives for that text.
Checked on every spec and every hostile file written as JSON, on mutated networks, and on JSON that
YAML reads differently (which must not take the JSON path at all).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest
import sympy
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import derivator
from derivator.errors import DerivatorError
from derivator.graph.network import Pos
from derivator.load import jsontext, yamlfile
from derivator.load.tree import LazyPos, Map, Seq
from tests.conftest import SPECS
from tests.netgen import networks

HOSTILE = Path(__file__).resolve().parent / "hostile"
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))


def plain(x):
    if isinstance(x, Map):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, Seq):
        return [plain(v) for v in x]
    return x


def fingerprint(x, seen=None):
    """Everything a loaded network holds, as comparable plain data; positions as (line, col)."""
    seen = set() if seen is None else seen
    if isinstance(x, (Pos, LazyPos)):
        return ("pos", x.line, x.col)
    if isinstance(x, sympy.Basic):
        return ("expr", sympy.srepr(x))
    if callable(x) and not dataclasses.is_dataclass(x):
        return ("fn", getattr(x, "__qualname__", type(x).__name__))
    if id(x) in seen:
        return ("seen", type(x).__name__)
    if dataclasses.is_dataclass(x) or isinstance(x, (dict, list, tuple)):
        seen = seen | {id(x)}
    if dataclasses.is_dataclass(x):
        return (type(x).__name__, *[(f.name, fingerprint(getattr(x, f.name), seen)) for f in dataclasses.fields(x)])
    if isinstance(x, dict):
        return ("dict", *[(fingerprint(k, seen), fingerprint(v, seen)) for k, v in x.items()])
    if isinstance(x, (list, tuple)):
        return ("list", *[fingerprint(v, seen) for v in x])
    return ("value", type(x).__name__, repr(x))


def outcome(text: str, json_path: bool, monkeypatch) -> tuple:
    """The network's fingerprint, or the error's one line (with its position), by one path."""
    with monkeypatch.context() as m:
        if not json_path:
            m.setattr(jsontext, "eligible", lambda _: False)
        try:
            net = derivator.loads(text)
        except DerivatorError as e:
            return ("error", e.format("net.yaml"))
        return ("network", fingerprint(net))


def alike(text: str, monkeypatch) -> tuple:
    by_json = outcome(text, True, monkeypatch)
    assert by_json == outcome(text, False, monkeypatch)
    return by_json


def layouts(data) -> list[str]:
    return [json.dumps(data, ensure_ascii=False), json.dumps(data, indent=1),
            json.dumps(data, indent=2, separators=(",", ":"), ensure_ascii=False)]


def readable(path: Path):
    try:
        return plain(yamlfile.read(path.read_text(encoding="utf-8")).data)
    except (DerivatorError, UnicodeDecodeError):
        return None


@pytest.mark.parametrize("path", sorted(SPECS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_spec_as_json_loads_as_yaml_loads_it(path, monkeypatch):
    data = readable(path)
    for text in layouts(data):
        assert alike(text, monkeypatch)[0] == "network"


HOSTILE_DATA = [(p, d) for p in sorted(HOSTILE.glob("*.yaml")) if isinstance(d := readable(p), dict)]


@pytest.mark.parametrize(("path", "data"), HOSTILE_DATA, ids=lambda x: x.name if isinstance(x, Path) else "")
def test_every_hostile_file_as_json_fails_as_yaml_fails_it(path, data, monkeypatch):
    for text in layouts(data):
        alike(text, monkeypatch)


def test_the_corpus_takes_the_json_path(monkeypatch):
    """Not vacuous: most specs as JSON are read by json, and loading them reads no position at all."""
    texts = [json.dumps(readable(path), ensure_ascii=False) for path in sorted(SPECS.glob("*.yaml"))]
    monkeypatch.setattr(yamlfile, "_positioned", lambda text: pytest.fail("a position was read"))
    taken = 0
    for text in texts:
        if jsontext.eligible(text):
            derivator.loads(text)
            taken += 1
    assert taken >= 30


def test_an_error_has_the_yaml_position(monkeypatch):
    text = '{"inputs": ["x"],\n "nodes": {"h": {"activation": "sigmoid", "bias": "b"}},\n' \
           ' "edges": [["x", "h", "w"],\n   ["x", "q", "v"]],\n "output": "h"}'
    assert alike(text, monkeypatch) == ("error", "net.yaml:4:10: error: unknown node 'q'; known: h, x")


MUTATIONS = [
    lambda d: d.pop("output"),
    lambda d: d["edges"].append(d["edges"][0]),
    lambda d: d["edges"][0].__setitem__(1, "nowhere"),
    lambda d: d["edges"][-1].pop(),
    lambda d: d.__setitem__("edges", {"a": 1}),
    lambda d: d["nodes"].__setitem__(next(iter(d["nodes"])), {"activation": "sigmod"}),
    lambda d: d["nodes"].__setitem__(next(iter(d["nodes"])), {"activation": 3}),
    lambda d: d["nodes"].__setitem__("x1", {"activation": "tanh"}),
    lambda d: d.setdefault("at", {}).__setitem__("nobody", 1.5),
    lambda d: d.setdefault("at", {}).__setitem__(d["inputs"][0], "one"),
    lambda d: d.__setitem__("loss", {"type": "squared_error", "target": []}),
    lambda d: d.__setitem__("extra", None),
    lambda d: d.__setitem__("description", [1, 2]),
    lambda d: d["nodes"].__setitem__("lonely", {"activation": "relu"}),
    lambda d: d.__setitem__("inputs", []),
    lambda d: None,
]


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(networks(), st.sampled_from(range(len(MUTATIONS))), st.sampled_from(range(3)))
def test_mutated_networks_load_alike(monkeypatch, spec_text, mutation, layout):
    spec = json.loads(json.dumps(spec_text[0]))
    try:
        MUTATIONS[mutation](spec)
    except (KeyError, IndexError, StopIteration, TypeError, AttributeError):
        pass
    alike(layouts(spec)[layout], monkeypatch)


@pytest.mark.parametrize("text", [
    '{"a": 1, "a": 2}', '{"inputs": NaN}', '{"inputs": Infinity}', '{"k"\n: 1}', '{"k": "caf\\u00e9"}',
    '{"k": "a\\/b"}', '{"k":\t1}', '{"k": 1} # note', '{"k": 1}\n---\n{"j": 2}', '{"' + "k" * 1100 + '": 1}',
    "[1, 2]", '{"k": ' + "[" * 30 + "]" * 30 + "}", '{"k": "é"}', '{"k": 1,}', "{'k': 1}", '{"k": 1} {"j": 2}',
    '{"k": [1, 2,]}', '{"k": .5}', '{"k": 01}', '{"k": +1}', '{"k": 0x10}', '{"k": True}',
    '{"inputs"' + " " * 1020 + ': ["x"]}', '{"' + "\\u00e9" * 200 + '": 1}', '{"k"' + " " * 15 + ": 1}",
])
def test_json_that_yaml_reads_otherwise_is_read_as_yaml(text, monkeypatch):
    """Duplicate keys, NaN, a key over lines, escapes, tabs, comments, long keys, deep nesting, non-ASCII
    and not-quite-JSON: either not taken by the JSON path, or read there exactly as YAML reads them."""
    data = None
    try:
        if jsontext.eligible(text):
            data, resolve = jsontext.read(text, 200_000, 20, yamlfile._positioned)
    except jsontext.NotHere:
        data = None
    if data is not None:  # taken: then it is YAML's reading, values and positions
        resolve()
        ours = yamlfile._positioned(text).data
        assert plain(data) == plain(ours) and data.at == ours.at
    try:
        yaml_error = None
        yamlfile._positioned(text)
    except DerivatorError as e:
        yaml_error = e.format("f")
    try:
        read_error = None
        yamlfile.read(text)
    except DerivatorError as e:
        read_error = e.format("f")
    assert read_error == yaml_error


def test_too_many_items_are_said_by_the_yaml_path(monkeypatch):
    monkeypatch.setattr(yamlfile, "MAX_YAML_EVENTS", 30)
    text = json.dumps({"inputs": [f"x{i}" for i in range(40)]})
    with pytest.raises(DerivatorError, match="more than 30 YAML items"):
        yamlfile.read(text)


@pytest.mark.parametrize("cap", range(26, 44))
def test_a_file_at_the_item_cap_is_refused_as_yaml_refuses_it(cap, monkeypatch):
    """The JSON path counts items as the YAML path counts events, or more: never takes a file that
    YAML refuses as too large (caps from 26 to 43, either side of this network's 39 events)."""
    text = json.dumps({"inputs": ["x"], "nodes": {"h": {"activation": "sigmoid", "bias": "b"}},
                       "edges": [["x", "h", "w"]], "output": "h", "at": {"x": 0.5, "w": 1.0, "b": 0.1}})
    monkeypatch.setattr(yamlfile, "MAX_YAML_EVENTS", cap)
    by_json = alike(text, monkeypatch)
    assert by_json[0] == ("network" if cap >= 39 else "error")
    assert len(list(yaml.parse(text, Loader=yaml.CSafeLoader))) == 39


def test_lazy_positions_equal_and_hash_as_positions():
    text = json.dumps({"inputs": ["x"], "nodes": {"h": {"bias": "b"}}, "edges": [["x", "h", "w"]], "output": "h"})
    pos, col = derivator.loads(text).edges[0].pos, text.index('["x", "h"') + 1
    assert isinstance(pos, LazyPos) and pos == Pos(1, col) and Pos(1, col) == pos and hash(pos) == hash(Pos(1, col))
    assert pos != Pos(1, col - 1) and repr(pos) == f"Pos(line=1, col={col})"


KEYS = st.text(st.sampled_from('ab_1:#- "\\/\'{}[],!&*?|>%@`σé\n\u00e9\U0001f600'), max_size=6)
SCALAR = st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats(allow_nan=False, allow_infinity=False)
JSON = st.recursive(SCALAR | KEYS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
                    max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(KEYS, JSON, max_size=5), st.sampled_from([None, 1, 2]),
       st.sampled_from([(",", ":"), (", ", ": "), (",", ": ")]), st.booleans())
def test_random_json_reads_as_yaml_reads_it(data, indent, separators, ascii_only):
    """Any JSON object the JSON path takes is YAML's reading of the text: the same values, and once
    asked, the same positions and spans; and where YAML refuses the text, the JSON path does not take it."""
    text = json.dumps(data, indent=indent, separators=separators, ensure_ascii=ascii_only)
    try:
        yaml = yamlfile._positioned(text)
    except DerivatorError:
        yaml = None
    try:
        taken = jsontext.read(text, 200_000, 20, yamlfile._positioned) if jsontext.eligible(text) else None
    except jsontext.NotHere:
        taken = None
    if taken is None:
        return
    assert yaml is not None, "the JSON path took a text that YAML refuses"
    tree, resolve = taken
    assert resolve() == yaml.spans and plain(tree) == plain(yaml.data)
    fastish = [tree]
    while fastish:  # every map's and list's positions, as the YAML path has them
        node, *fastish = fastish
        twin = _find(yaml.data, tree, node)
        assert (node.line, node.col, node.at) == (twin.line, twin.col, twin.at)
        fastish += [v for v in (node.values() if isinstance(node, Map) else node) if isinstance(v, (Map, Seq))]


def _find(theirs, ours, node):
    """The container of `theirs` at the place `node` has in `ours`."""
    if ours is node:
        return theirs
    for key in (ours if isinstance(ours, Map) else range(len(ours))):
        if isinstance(ours[key], (Map, Seq)) and (hit := _find(theirs[key], ours[key], node)) is not None:
            return hit
    return None


def test_a_depth_past_the_recursion_limit_is_read_as_yaml(monkeypatch):
    """With the depth cap raised far, the walk's recursion must not decide the outcome (a probe found it did)."""
    monkeypatch.setattr(yamlfile, "MAX_YAML_DEPTH", 5000)
    d = 400
    text = ('{"inputs": ["x"], "description": ' + "[" * d + "]" * d
            + ', "nodes": {"h": {}}, "edges": [["x", "h", 1]], "output": "h"}')
    assert alike(text, monkeypatch) == ("error", "net.yaml:1:34: error: 'description' must be text")
