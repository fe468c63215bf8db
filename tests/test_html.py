"""`--format html`, the explorer page (issue 21, CONTRACT section 12): its values against the reference
engine, its safety, and the page itself in a real browser (Debian's headless chromium, through
chromium-driver and Selenium), which opens it from disk, watches for requests and console errors,
and clicks edges. The browser tests are skipped where chromium, its driver or Selenium is absent."""

import json
import math
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from refengine import evaluate_batch
from ruamel.yaml import YAML

from derivator.cli import derive
from derivator.render import html
from tests.conftest import SPEC_FORMULAS, SPECS

CANDIDATE = ["--define", "s(x)=1/(1+exp(-x))", "--define", "d(x)=s(x)*(1-s(x))",
             "--candidate", "d(z_O)*(d(z_h2)*d(z_h1)*I + d(z_h3)*d(z_h1)*I)"]  # story 4's, missing w4 w2 and w5 w3

WIDE = """inputs: [x1, x2, x3, x4, x5, x6, x7, x8]
layers:
  - {units: 8, activation: sigmoid}
  - {units: 8, activation: tanh}
  - {units: 1, activation: sigmoid}
loss: {type: squared_error, target: y}
"""


def wide_point() -> str:
    """Values for WIDE: every weight (i + 2j) mod 7 / 10 - 0.3, the biases 0.1, the inputs 0.5."""
    w = lambda rows, cols: [[round((i + 2 * j) % 7 / 10 - 0.3, 1) for j in range(cols)] for i in range(rows)]  # noqa: E731
    at = {"W1": w(8, 8), "b1": [0.1] * 8, "W2": w(8, 8), "b2": [0.1] * 8, "W3": w(1, 8), "b3": [0.1],
          **{f"x{i}": 0.5 for i in range(1, 9)}, "y": 1}
    return "at: " + json.dumps(at) + "\n"


def page(*args: str) -> str:
    result = CliRunner().invoke(derive, [*args, "--format", "html"])
    assert result.exit_code in (0, 1), result.output
    return result.output


def derivations(text: str) -> dict[str, float]:
    """Each derivation's data-wrt and data-value, as the page carries them (CONTRACT section 12)."""
    return {m.group(1): float(m.group(2)) for m in
            re.finditer(r'<section class="derivation" data-wrt="([^"]+)" data-value="([^"]+)"', text)}


def reference(path: Path) -> dict[str, float]:
    spec = YAML(typ="safe").load(path.read_text())
    return evaluate_batch(spec, {}, of="loss" if "loss" in spec else None, formulas=SPEC_FORMULAS)[1]


@pytest.mark.parametrize("name", ["story2_dag_delta.yaml", "story3_matrix_form.yaml", "elman_rnn.yaml",
                                  "softmax_three_classes.yaml", "graph_sigmoid_circuit.yaml", "tied_weights.yaml"])
def test_every_derivation_on_the_page_is_the_reference_engines_value(name):
    """nodes, layers with data, recurrence, softmax, formula nodes and tied weights: every value matches."""
    text = page(str(SPECS / name), "--wrt", _first_param(SPECS / name))
    ref, shown = reference(SPECS / name), derivations(text)
    assert shown
    for wrt, value in shown.items():
        assert math.isclose(value, ref[wrt], rel_tol=1e-9, abs_tol=1e-12), (wrt, value, ref[wrt])


def _first_param(path: Path) -> str:
    import derivator
    return derivator.load(path).params[0]


def test_story2_holds_every_parameter_and_node_and_w_au_by_hand():
    text = page(str(SPECS / "story2_dag_delta.yaml"), "--wrt", "w_au")
    shown = derivations(text)
    assert set(shown) == {"w_au", "w_bu", "w_bv", "w_uv", "w_up", "w_vp", "w_ap", "b_u", "b_v", "b_pred",
                          "u", "v", "pred"}
    # By hand: u = σ(0.98), v = σ(z_v), pred = σ(z_pred); δ_pred = pred(1 - pred), δ_v = v(1 - v) w_vp δ_pred,
    # δ_u = u(1 - u)(w_uv δ_v + w_up δ_pred), and ∂pred/∂w_au = δ_u a.
    s = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    u = s(0.5 * 0.8 - 1.2 * -0.4 + 0.1)
    v = s(0.7 * -0.4 + 1.1 * u - 0.2)
    p = s(-0.6 * u + 0.9 * v + 0.3 * 0.8 + 0.05)
    d_p = p * (1 - p)
    d_v = v * (1 - v) * 0.9 * d_p
    d_u = u * (1 - u) * (1.1 * d_v - 0.6 * d_p)
    assert math.isclose(shown["w_au"], d_u * 0.8, rel_tol=1e-12)
    assert math.isclose(shown["pred"], 1.0)


def test_a_network_too_large_holds_the_marked_paths_and_says_so(tmp_path):
    f = tmp_path / "wide.yaml"
    f.write_text(WIDE + wide_point())
    text = page(str(f), "--wrt", "W2_3_1")
    shown, ref = derivations(text), reference(f)
    # Of 8*8 + 8*8 + 8 weights, 17 biases and 17 nodes, the marked paths of W2_3_1: a1_1 -> a2_3 -> a3_1.
    assert set(shown) == {"W2_3_1", "W3_1_3", "b2_3", "b3_1", "a1_1", "a2_3", "a3_1"}
    assert 'class="notice"' in text and "170 parameters and nodes" in text and "marked paths of W2_3_1" in text
    assert len(text) < html.PAGE_BUDGET + 1_000_000
    for wrt, value in shown.items():
        assert math.isclose(value, ref[wrt], rel_tol=1e-9, abs_tol=1e-12), (wrt, value, ref[wrt])


def test_the_page_is_self_contained_and_its_script_is_pinned():
    text = page(str(SPECS / "story4_desmos_check.yaml"), "--wrt", "w1", *CANDIDATE)
    assert text.count("<script") == 2 and '<script type="application/json" id="explorer-data">' in text
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', text).group(1)
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp
    script = re.search(r"<script>(.*?)</script>", text, re.S).group(1)
    assert html._hash(script) in csp
    # Nothing to fetch: no src or href, no url(...); the one address is the SVG namespace's name.
    assert not re.search(r"\b(src|href)=|url\((?!#)|@import", text)  # url(#arrow): a marker in the page itself
    assert re.findall(r"https?://[^\"' ]+", text) == ["http://www.w3.org/2000/svg"]
    assert 'class="candidate" data-agrees="false"' in text and "lacks the weights w4*w2" in text


def test_the_data_block_cannot_be_closed_by_what_it_holds():
    hostile = "</script><script>window.pwned = 1</script><!--"
    block = html.data_block({"focus": hostile})
    assert block.count("</script>") == 1 and "<!--" not in block
    inner = block[block.index(">") + 1:-len("</script>")]
    assert json.loads(inner)["focus"] == hostile


# ---- in a real browser ------------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
        pytest.skip("Debian's chromium and chromium-driver are not installed")
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="derivator-chromium-")
    for a in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--no-first-run", f"--user-data-dir={profile}", "--window-size=1200,1400"]:
        options.add_argument(a)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.get("about:blank")
    driver.get_log("performance")  # the browser's own start-up pages are not the page's
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def opened(browser, tmp_path: Path, text: str) -> str:
    f = tmp_path / "page.html"
    f.write_text(text, encoding="utf-8")
    url = f.resolve().as_uri()
    browser.get_log("browser")
    browser.get_log("performance")
    browser.get(url)
    return url


def requests(browser, url: str) -> list[str]:
    """Every request that the page made: its own load is the only one allowed."""
    out = []
    for entry in browser.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent" and not msg["params"]["request"]["url"].startswith("chrome"):
            out.append(msg["params"]["request"]["url"])
    return [u for u in out if u != url]


def errors(browser) -> list[str]:
    return [e["message"] for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]


def visible(browser) -> list:
    return [s for s in browser.find_elements("css selector", "section.derivation") if s.is_displayed()]


def test_story4_in_chromium_click_each_marked_edge(browser, tmp_path):
    """No request, no console error; a click on each marked weight shows its derivation with its value."""
    text = page(str(SPECS / "story4_desmos_check.yaml"), "--wrt", "w1", *CANDIDATE)
    url = opened(browser, tmp_path, text)
    ref = reference(SPECS / "story4_desmos_check.yaml")
    [shown] = visible(browser)
    assert shown.get_attribute("data-wrt") == "w1" and "Verdict: the candidate does NOT agree" in shown.text
    marked = browser.find_elements("css selector", "#network line.edge.lit")
    assert len(marked) == 5  # I-h1, h1-h2, h1-h3, h2-O, h3-O
    for weight in ["w5", "w2", "w1"]:
        edge = next(e for e in browser.find_elements("css selector", "#network text.weight") if e.text == weight)
        edge.click()
        [shown] = visible(browser)
        assert shown.get_attribute("data-wrt") == weight
        assert math.isclose(float(shown.get_attribute("data-value")), ref[weight], rel_tol=1e-12)
        assert f"{ref[weight]:.15g}" in shown.text  # the value as the learner reads it
    lit = {e.get_attribute("data-from") + ">" + e.get_attribute("data-to")
           for e in browser.find_elements("css selector", "#network line.edge.lit")}
    assert lit == {"I>h1", "h1>h2", "h1>h3", "h2>O", "h3>O"}
    browser.find_element("css selector", '#network circle[data-name="h3"]').click()
    [shown] = visible(browser)
    assert shown.get_attribute("data-wrt") == "h3"
    lit = {e.get_attribute("data-from") + ">" + e.get_attribute("data-to")
           for e in browser.find_elements("css selector", "#network line.edge.lit")}
    assert lit == {"h3>O"}
    assert errors(browser) == [] and requests(browser, url) == []


def test_a_layers_file_with_data_in_chromium(browser, tmp_path):
    text = page(str(SPECS / "story3_matrix_form.yaml"), "--wrt", "W1_1_1")
    url = opened(browser, tmp_path, text)
    ref = reference(SPECS / "story3_matrix_form.yaml")
    browser.find_element("css selector", 'button[data-show="W2_1_2"]').click()
    [shown] = visible(browser)
    assert math.isclose(float(shown.get_attribute("data-value")), ref["W2_1_2"], rel_tol=1e-12)
    assert "Matrix form" in browser.find_element("id", "matrices").text
    assert errors(browser) == [] and requests(browser, url) == []


def test_a_hostile_page_runs_nothing_of_its_own(browser, tmp_path):
    """Text from a file, wherever it lands (a name, a message, the data block), is text: nothing runs."""
    hostile = "</script><script>window.pwned=1</script><img src=x onerror=window.pwned=2><svg onload=window.pwned=3>"
    sections = [html._unavailable(hostile, hostile)]
    data = {"focus": hostile, "paths": {hostile: {"edges": [hostile], "nodes": [hostile]}}, "edges": {}}
    text = html.page(_net(), "loss", hostile, "<svg></svg>", sections, data, hostile, None)
    url = opened(browser, tmp_path, text)
    assert browser.execute_script("return window.pwned === undefined")
    assert browser.find_elements("tag name", "img") == []
    assert hostile in browser.find_element("id", "notice").text
    assert errors(browser) == [] and requests(browser, url) == []


def _net():
    import derivator
    return derivator.load(SPECS / "story4_desmos_check.yaml")


def test_step_and_matrix_are_refused_in_one_line():
    f = str(SPECS / "explorer_layers_3_4_2.yaml")
    for args in ([f, "--wrt", "W1_1_1", "--step", "0.5"], [f, "--wrt", "W1", "--matrix"]):
        result = CliRunner().invoke(derive, [*args, "--format", "html"])
        assert result.exit_code == 2 and "not html" in result.output, result.output
