"""`--format python`: a self-contained module computing the target and its derivatives, sharing work.

The module runs the forward pass once, then each delta once (the same recursion the derivation
prints), and every derivative asked for is a product of a delta and a value already computed: the
cheap-gradient principle, in straight-line code. It imports only `math`. `FORWARD_OPS` and
`GRADIENT_OPS` count its arithmetic (operators and function calls) in the two parts.

Every name written into the code is a validated network name behind a prefix (`v_w1`, `d_h1`), and
nothing from the file is written but names and numbers.
"""

from __future__ import annotations

import ast

import sympy
from sympy.printing.pycode import PythonCodePrinter

from derivator.errors import DerivatorError
from derivator.graph import equations
from derivator.graph.network import Network, symbol, z_symbol
from derivator.graph.plan import Link, Plan, plan
from derivator.graph.primitives import PRIMITIVES
from derivator.graph.timesteps import ident, step
from derivator.render.pybig import EXTENDED
from derivator.symbolic.printing import Forms
from derivator.version import __version__

# The primitives' helpers, and a stable log-sum-exp for softmax cross-entropy. Each takes M, the
# numbers' `math`: math itself, or the second try's stand-in for numbers beyond float64 (pybig).
LOGSUMEXP = "def _logsumexp(M, xs):\n    top = max(xs)\n    return top + M.log(sum(M.exp(x - top) for x in xs))\n"
HELPERS = "\n\n".join([*(p.python for p in PRIMITIVES.values() if p.python), LOGSUMEXP])
# A softmax group, as numbers/softmax.py computes it: shifted by the largest z (no overflow at logits of
# ±1000), log p without a log of p, and the deltas p_k (g_k (1 - p_k) - Σ_{j≠k} g_j p_j) with the sums
# over j ≠ k added up, not subtracted (no digits lost where p_k is near 1).
SOFTMAX = """def _softmax(M, zs):
    top = max(zs)
    es = [M.exp(z - top) for z in zs]
    total = sum(es)
    shift = top + M.log(total)
    return [e / total for e in es], [z - shift for z in zs]


def _others(xs):
    before, after = [0.0], [0.0]
    for x in xs[:-1]:
        before.append(before[-1] + x)
    for x in reversed(xs[1:]):
        after.append(after[-1] + x)
    return [b + a for b, a in zip(before, reversed(after))]


def _softmax_deltas(ps, gs):
    rest = _others(ps)
    flow = _others([g * p for g, p in zip(gs, ps)])
    return [p * (g * c - f) for p, g, c, f in zip(ps, gs, rest, flow)]
"""



class ModulePrinter(Forms, PythonCodePrinter):
    """Python with `math`, the network's names behind prefixes, and the primitives' helpers."""

    form_key = "python"

    def __init__(self, names: dict[str, str]):
        super().__init__({"standard": "python3", "fully_qualified_modules": True})
        self.names = names

    def _print_Symbol(self, e):
        return self.names[e.name]

    def _module_format(self, fqn, register=True):
        """math.exp is M.exp: the run's numbers' math (float64's, or the second try's)."""
        return "M." + fqn[5:] if fqn.startswith("math.") else super()._module_format(fqn, register)

    def text(self, e) -> str:
        """doprint, with a short way for a name: 20,000 of them cost nothing then."""
        return self.names[e.name] if e.is_Symbol else self.doprint(e)


def operations(code: str) -> int:
    """Arithmetic in a piece of code: binary and unary operators and function calls."""
    return sum(isinstance(n, (ast.BinOp, ast.UnaryOp, ast.Call)) for n in ast.walk(ast.parse(code)))


def module(net: Network, names: list[str], of: str | None = None, source: str = "") -> str:
    """The module's text: `gradient(values)` returns {"target": ..., name: derivative for each name}."""
    of = equations.resolve_of(net, of)
    for n in names:
        if net.kind(n) not in ("parameter", "input", "node", "preactivation"):
            raise DerivatorError(f"--format python: cannot differentiate by '{n}'")
    var = {n: "v_" + ident(n) for n in [*net.names, *net.nodes]} | {"z_" + n: "v_z_" + ident(n) for n in net.nodes}
    var |= {"log:" + n: "l_" + ident(n) for n in net.nodes}  # a softmax unit's log p, for a loss that takes it
    p = ModulePrinter(var)
    bp = plan(net, of)
    stable = complements(net)
    forward, backward = _forward(net, bp, p, stable), _backward(net, bp, p, stable)
    apart = bool(net.samples)  # with data the penalty is added once, after the average, in gradient()
    results = {n: _result(net, bp, n, p, not apart, stable) for n in names}
    returned = "    return {\"target\": target, " + ", ".join(f"{n!r}: {e}" for n, e in results.items()) + "}"
    initial = {n for n in net.inputs if step(n) == 0}  # h@0, the initial state: 0 unless given (CONTRACT section 6)
    reads = [f"    {var[n]} = values.get({n!r}, {float(net.at.get(n, 0.0))!r})" if n in initial else
             f"    {var[n]} = values[{n!r}]" for n in net.names if _read(net, bp, n)]
    body_forward = "\n".join(forward)
    body_backward = "\n".join([*backward, returned])
    counts = (operations(_dedent(body_forward)), operations(_dedent(body_backward)))
    lines = [f'"""Generated by derivator {__version__} from {_clean(source)}: the {_what(of)} and its '
             f'derivatives by {", ".join(names)[:200]}{"..." if len(", ".join(names)) > 200 else ""}.',
             "",
             "gradient(values) takes a dict of every input, parameter and target value and returns a dict",
             'with the target\'s value under "target" and each derivative under its name. The forward',
             "pass runs once; each delta once; every derivative is a delta times a value already computed.",
             *(["With data, the values are averaged over DATA, the file's samples; give the parameters."]
               if net.samples else []),
             "Where float64 overflows, it computes again with decimal, as derive's mpmath would: inf only",
             "where the value itself is beyond float64 (0 for 0 times e^800).",
             '"""', "", "import decimal", "import math", "", "M = math  # the numbers' functions: float64's", "",
             f"FORWARD_OPS = {counts[0]}  # arithmetic operations and calls in the forward pass",
             f"GRADIENT_OPS = {counts[1]}  # in the backward pass, for every derivative together", ""]
    if net.samples:
        lines.append("DATA = [" + ",\n        ".join("{" + ", ".join(f"{k!r}: {v!r}" for k, v in s.items()) + "}"
                                                     for s in net.samples) + "]")
        lines.append("")
    helpers = [HELPERS, *(["", SOFTMAX] if bp.groups else [])]  # the softmax's only where a group needs it
    lines += ["", *helpers, "", EXTENDED, "", "def _run(values, M):", *reads, "    # forward pass", body_forward,
              "    # backward pass: each delta once, shared by every derivative", body_backward, "", ""]
    one = "_one" if net.samples else "gradient"
    lines += [f"def {one}(values):", "    return _numbers(_run, values)"]
    if net.samples:
        m = "len(DATA)" if net.reduction == "mean" else "1"
        lines += ["", "", "def gradient(values):",
                  "    totals = {}",
                  "    for sample in DATA:",
                  "        for name, value in _one({**values, **sample}).items():",
                  "            totals[name] = totals.get(name, 0.0) + value",
                  f"    out = {{name: total / {m} for name, total in totals.items()}}",
                  *_penalty_lines(net, bp, names, p), "    return out"]
    return "\n".join(lines) + "\n"


def _penalty_lines(net: Network, bp: Plan, names: list[str], p: ModulePrinter) -> list[str]:
    """With data: the penalty and its derivatives, added once to the averaged target and gradient."""
    if net.penalty == 0 or bp.of != "loss":
        return []
    reads = [f"    {p.doprint(s)} = values[{s.name!r}]" for s in sorted(net.penalty.free_symbols, key=str)]
    lines = [*reads, f"    out['target'] += {p.doprint(net.penalty)}"]
    return lines + [f"    out[{n!r}] += {p.doprint(bp.penalty[n])}" for n in names if bp.penalty.get(n, 0) != 0]


def _dedent(code: str) -> str:
    return "\n".join(line[4:] for line in code.splitlines())


def _clean(source: str) -> str:
    """A file name in the docstring: printable, no quotes or backslashes."""
    return "".join(c for c in source if c.isprintable() and c not in "\"\\") or "a network file"


def _what(of: str) -> str:
    return "loss" if of == "loss" else f"value of node {of}"


def _read(net: Network, bp: Plan, name: str) -> bool:
    """Whether the module reads `name` from `values` (inputs, parameters and targets it uses)."""
    if name in net.inputs:
        return True
    if name in net.targets:
        return bp.of == "loss"
    return bool(bp.links.get(name)) or (bp.of == "loss" and not net.samples and name in bp.penalty)


def complements(net: Network) -> dict[sympy.Expr, sympy.Expr]:
    """Each unit's cancelling part (1 - o of a sigmoid) with its value from z (σ(-z)), as derive's numbers
    take it: at z = 300, 1 - o is 5e-131, not 0, and log(1 - O) stays finite."""
    table = {}
    for n, node in net.nodes.items():
        if not node.is_formula and node.group is None:
            table.update(node.activation.complements(symbol(n), z_symbol(n)))
    return table


def _linear(net: Network, n: str, p: ModulePrinter) -> str:
    """z_n = Σ w o_u + b, printed term by term (SymPy's Add of 20,000 terms would be sorted first)."""
    terms = [*((e.weight, p.names[e.src]) for e in net.parents[n]), (net.nodes[n].bias, "")]
    out = []
    for w, src in terms:
        if w == 0:
            continue
        text = p.text(w) if w.is_Symbol or w == 1 or not src else f"({p.doprint(w)})"
        out.append(src if w == 1 and src else f"{text}*{src}" if src else text)
    return " + ".join(out) or "0.0"


def _forward(net: Network, bp: Plan, p: ModulePrinter, stable: dict) -> list[str]:
    lines = []
    for n in bp.order:
        if net.nodes[n].is_formula:
            lines.append(f"    {p.text(symbol(n))} = {p.doprint(net.nodes[n].formula)}")
            continue
        lines.append(f"    {p.text(z_symbol(n))} = {_linear(net, n, p)}")
        group = bp.groups.get(n)
        if group is None:
            lines.append(f"    {p.text(symbol(n))} = {p.doprint(equations.activation(net, n))}")
        elif n == group.members[-1]:  # every z of the group is known: its outputs, stably
            ps, logs = (", ".join(p.text(f(m)) for m in group.members) for f in (symbol, _log))
            zs = ", ".join(p.text(z_symbol(m)) for m in group.members)
            lines.append(f"    ({ps},), ({logs},) = _softmax(M, [{zs}])")
    if bp.of == "loss" and net.loss.rule is None:  # softmax cross-entropy, stable: log-sum-exp once
        outs = [p.text(symbol(o)) for o in net.outputs]
        lines.append(f"    lse = _logsumexp(M, [{', '.join(outs)}])")
        ys = [p.text(t) for t in net.loss.targets]
        lines.append("    target = -(" + " + ".join(f"{y}*({o} - lse)" for o, y in zip(outs, ys, strict=True)) + ")")
    else:  # log p of a softmax unit from its z's: finite where p itself underflows
        logs = {sympy.log(symbol(n)): _log(n) for n in bp.groups}
        lines.append(f"    target = {p.doprint(equations.target(net, bp.of).xreplace(stable).xreplace(logs))}")
    if bp.of == "loss" and net.penalty != 0 and not net.samples:
        lines.append(f"    target += {p.doprint(net.penalty)}")
    return lines


def _log(node: str) -> sympy.Symbol:
    return sympy.Symbol("log:" + node)


def _term(link: Link, p: ModulePrinter) -> str:
    """δ_k times the link's local derivative."""
    local = link.local
    if local == 1:
        return f"d_{ident(link.node)}"
    text = p.text(local)
    return f"d_{ident(link.node)}*{text}" if local.is_Atom and not local.could_extract_minus_sign() else \
        f"d_{ident(link.node)}*({text})"


def _backward(net: Network, bp: Plan, p: ModulePrinter, stable: dict) -> list[str]:
    """b_v = dT/do_v and d_v (the gate's delta) for every node the target depends on, output first."""
    softmax = bp.of == "loss" and net.loss.rule is None
    lines = []
    for v in reversed(bp.order):
        if v in bp.fused:
            lines.append(f"    d_{ident(v)} = {p.doprint(bp.fused[v].xreplace(stable))}")
            continue  # b_v (dT/do_v) is written out only if asked for: it divides by o(1 - o)
        terms = [_term(link, p) for link in bp.children(v)]
        if v in bp.direct:
            if softmax:
                i = net.outputs.index(v)
                terms.insert(0, f"(M.exp({p.text(symbol(v))} - lse) - {p.text(net.loss.targets[i])})")
            else:
                terms.insert(0, f"({p.doprint(bp.direct[v].xreplace(stable))})" if bp.direct[v] != 1 else "1.0")
        lines.append(f"    b_{ident(v)} = {' + '.join(terms) if terms else '0.0'}")
        group = bp.groups.get(v)
        if group is not None:
            if v == group.members[0]:  # the group's last unit backwards: every b_j = dT/dp_j is known
                ds, ps, bs = (", ".join(f"{pre}{ident(m)}" for m in group.members) for pre in ("d_", "v_", "b_"))
                lines.append(f"    ({ds},) = _softmax_deltas([{ps}], [{bs}])")
            continue
        prime = bp.prime.get(v, 1)
        prime = prime.xreplace(stable) if prime != 1 else prime
        if terms == ["1.0"] and prime != 1:  # the target node itself: its delta is f'(z)
            lines.append(f"    d_{ident(v)} = {p.doprint(prime)}")
        else:
            lines.append(f"    d_{ident(v)} = b_{ident(v)}" + ("" if prime == 1 else f"*({p.doprint(prime)})"))
    return lines


def _result(net: Network, bp: Plan, name: str, p: ModulePrinter, penalty: bool, stable: dict) -> str:
    """A derivative as the sum over its links of a delta times a local derivative."""
    kind = net.kind(name)
    if kind == "preactivation":
        return f"d_{ident(name[2:])}" if name[2:] in bp.order else "0.0"
    if kind == "node":
        if name not in bp.order:
            return "0.0"
        if name in bp.fused:
            grad = net.loss.rule.grad(symbol(name), net.loss.targets[net.outputs.index(name)])
            return f"({p.doprint(grad.xreplace(stable))})"
        return f"b_{ident(name)}"
    terms = [_term(link, p) for link in bp.links.get(name, []) if link.node in bp.order]
    if penalty and bp.penalty.get(name, 0) != 0:
        terms.append(f"({p.doprint(bp.penalty[name])})")
    return " + ".join(terms) or "0.0"
