"""The fast YAML path (libyaml's events, derivator/load/fastyaml.py) against the pure one (ruamel's parser).

Wherever the pure path reads a file, the fast one must give the same maps, lists and scalars (same
types, same values) and the same positions: every map's and list's own, every key's, value's and
item's line and column, every kept scalar source span. Wherever the pure path refuses a file, the fast one must refuse
it too (then `read` runs the pure path and its message is the one shown). Checked on every spec, every
hostile file and on generated documents, both network-like and random text.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from derivator.errors import DerivatorError
from derivator.load import fastyaml, yamlfile
from derivator.load.tree import Map, Seq
from tests.conftest import SPECS

pytestmark = pytest.mark.skipif(fastyaml.CParser is None, reason="PyYAML without libyaml: only the pure path")
HOSTILE = Path(__file__).resolve().parent / "hostile"
FILES = sorted(SPECS.glob("*.yaml")) + sorted(HOSTILE.glob("*.yaml"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))


def prepared(text: str) -> str:
    """What `read` hands either path: line endings as an editor counts them, no BOM."""
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def same(a, b, where="root") -> None:
    assert type(a) is type(b), (where, type(a), type(b))
    if isinstance(a, Map):
        assert list(a) == list(b) and [type(k) for k in a] == [type(k) for k in b], where
        assert (a.line, a.col) == (b.line, b.col) and a.at == b.at, where
        for key in a:
            same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, Seq):
        assert len(a) == len(b) and (a.line, a.col) == (b.line, b.col) and a.at == b.at, where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{where}[{i}]")
    else:
        assert a == b or (a != a and b != b), (where, a, b)  # NaN equals itself here
        assert repr(a) == repr(b) and getattr(a, "__dict__", {}) == getattr(b, "__dict__", {}), (where, a, b)


def agree(text: str) -> str:
    """'same' when both paths read the text alike, 'refused' when both refuse it."""
    text = prepared(text)
    try:
        pure = yamlfile._pure(text)
    except DerivatorError:
        pure = None
    if not fastyaml.usable(text):
        return "pure only"
    try:
        fast = yamlfile._fast(text)
    except Exception:  # any refusal sends `read` to the pure path
        fast = None
    if pure is None:
        assert fast is None, "the fast path read a file that the pure path refuses"
        return "refused"
    if fast is None:
        return "fast refused"  # allowed: the pure path then reads it, only slower
    same(fast.data, pure.data)
    assert fast.spans == pure.spans
    return "same"


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_file_reads_alike(path):
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        pytest.skip("not UTF-8: refused before either parser")
    agree(text)


def test_the_corpus_is_read_by_the_fast_path():
    """The comparison is not vacuous: the specs are read fast, identically, and not sent back."""
    outcomes = [agree(p.read_text(encoding="utf-8")) for p in sorted(SPECS.glob("*.yaml"))]
    assert outcomes.count("same") == len(outcomes), outcomes


def test_the_benchmark_networks_read_alike():
    from networks import dense
    for layers, width in [(2, 2), (3, 5)]:
        text = dense(width, [width] * (layers - 1) + [1], activation=["sigmoid", "tanh"], seed=3,
                     loss="squared_error")
        assert agree(text) == "same"
        block = "\n".join(f"{k}: {json.dumps(v)}" for k, v in json.loads(text).items())  # block map, flow values
        assert agree(block) == "same"


SCALARS = st.sampled_from([
    "1", "-2", "0x1F", "0o17", "017", "1_000", "1.5", "-.5", "1e3", "1E-3", ".inf", "-.Inf", ".nan", "null", "~",
    "Null", "true", "False", "yes", "no", "on", "2001-12-14", "12:30", "x1", "W1_2", "σ(z)", "a b", "0.",
    '"q\\n\\u00e9\\x41"', "'it''s'", '"\\t"', "''", '""', "x: y", "-", "--", "a#b", "3 # note",
])
NAMES = st.from_regex(r"\A[a-zA-Z_][a-zA-Z0-9_]{0,6}\Z")


@st.composite
def documents(draw) -> str:
    """A network-like YAML document: block maps, block and flow lists, mixed scalar styles, comments."""
    def value(depth: int) -> str:
        kind = draw(st.sampled_from(["scalar", "flow", "block", "map"] if depth < 3 else ["scalar"]))
        if kind == "scalar":
            return " " + draw(SCALARS)
        if kind == "flow":
            items = draw(st.lists(SCALARS.filter(lambda s: ":" not in s and "#" not in s and s != "-"), max_size=4))
            return " [" + ", ".join(items) + "]"
        indent = "  " * (depth + 1)
        if kind == "block":
            return "".join(f"\n{indent}-{value(depth + 1)}" for _ in range(draw(st.integers(1, 3))))
        keys = draw(st.lists(NAMES, min_size=1, max_size=3, unique=True))
        return "".join(f"\n{indent}{k}:{value(depth + 1)}" for k in keys)

    keys = draw(st.lists(NAMES, min_size=1, max_size=5, unique=True))
    lines = [f"{k}:{value(0)}" + draw(st.sampled_from(["", "  # why"])) for k in keys]
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\n\n"]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_generated_documents_read_alike(text):
    assert agree(text) in ("same", "refused", "fast refused")


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ab1.e:- \n\t[]{},\"'#|>&*!%@`?\\", max_size=40))
def test_random_text_is_never_read_differently(text):
    agree(text)  # whatever libyaml makes of it, it is the pure path's reading or a fallback


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.from_regex(r"\A[-+]?[0-9]{0,4}(\.[0-9]{0,3})?([eE][-+]?[0-9]{1,3})?\Z"),
                 st.from_regex(r"\A[A-Za-z_~][A-Za-z0-9_]{0,5}\Z")))
def test_plain_scalars_resolve_as_ruamel_resolves_them(value):
    """The names and decimal numbers the fast path resolves itself are what ruamel makes of them
    (`same` compares types as well as values), in a map and in a flow list."""
    for text in (f"k: {value}\n", f"k: [{value}, 1]\n"):
        assert agree(text) in (("same", "refused") if value.strip() else ("fast refused", "refused")), text


def test_names_and_numbers_never_reach_ruamel():
    """The common scalars are resolved without importing ruamel's constructor (the point of the path)."""
    scalars = fastyaml._Scalars()
    assert [scalars(v, None) for v in ["x1", "W1_2_3", "true", "Null", "~", "0", "-12", "0.5", "1e-3", "2."]] == \
        ["x1", "W1_2_3", True, None, None, 0, -12, 0.5, 1e-3, 2.0]
    assert scalars._ruamel is None
    assert scalars("0x1F", None) == 31 and scalars._ruamel is not None


@pytest.mark.parametrize("text", [
    "inputs: [" + "a, " * 40 + "a]\n",
    "at:\n" + "".join(f"  w{i}: {i}\n" for i in range(40)),
    "edges:\n" + "".join(f"  - [x{i}, h, w{i}]\n" for i in range(20)),
])
def test_too_many_items_is_said_at_once_as_the_pure_path_says_it(monkeypatch, text):
    """Past the item cap the fast path stops at the first item too many, with the pure path's line."""
    monkeypatch.setattr(yamlfile, "MAX_YAML_EVENTS", 30)
    with pytest.raises(DerivatorError) as pure:
        yamlfile._pure(prepared(text))
    with pytest.raises(fastyaml.TooManyError):
        yamlfile._fast(prepared(text))
    with pytest.raises(DerivatorError) as read:
        yamlfile.read(text)
    assert read.value.format("f.yaml") == pure.value.format("f.yaml") and "more than 30 YAML items" in str(read.value)


@pytest.mark.parametrize("text", ["null: 1\nb: 2\n", "~: [1]\nb: 2\n", "false: x\nb: y\n", "k: {false: 1, true: 2}\n",
                                  "k: {null: 1, 0: 2}\n"])
def test_null_and_false_keys_read_as_the_pure_path_reads_them(text):
    assert agree(text) == "same"
    assert yamlfile.read(text).data == yamlfile._pure(prepared(text)).data
