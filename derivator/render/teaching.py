"""The rules a derivation applies, written once where they are used, the way a teacher states them.

The recursion in general, the output's delta split into the loss's derivative times the
activation's, `∂/∂w(u,v) = δ_v o_u`, each activation's derivative in the form a learner knows
(`σ'(z) = σ(z)(1 - σ(z)) = o(1 - o)`), and story 2's two answers: how `∂T/∂o_v` decomposes through
the deltas, and that the output's activation enters only the output's delta. Each rule is a pair of
the same statement in text and in LaTeX, with the remark that says when it applies.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from derivator.graph.rules import X
from derivator.symbolic.derive import Derivation
from derivator.symbolic.printing import Label, teacher, tex, tex_name

# How each activation's derivative is named in the rules: σ' for the sigmoid, f' for a formula.
NAMES = {"sigmoid": ("σ", r"\sigma"), "formula": ("f", "f")}
OUT, Z = sympy.Symbol("o", real=True), sympy.Symbol("z", real=True)
TEX_BRACKETS = r"\left({}\right)"


@dataclass(frozen=True)
class Rule:
    text: str
    tex: str
    note: str = ""


def name(activation) -> tuple[str, str]:
    """The activation's name as a function: σ, tanh, relu, ..."""
    return NAMES.get(activation.name, (activation.name, rf"\operatorname{{{activation.name}}}"))


def output_split(d: Derivation, v: str) -> tuple[Label, Label] | None:
    """δ_v of an output of the loss as `∂L/∂o · f'(z)`, in names and in node values; None where
    nothing is split (an identity output, a formula node, the target node itself)."""
    step, node = d.steps[v], d.net.nodes[v]
    if d.of != "loss" or step.loss_grad is None or step.children or node.is_formula or step.group:
        return None
    if step.prime == 1 and step.fused is None:
        return None
    f, f_tex = name(node.activation)
    o, z = tex_name(v), tex_name("z_" + v)
    names = Label(f"∂loss/∂{v} · {f}'(z_{v})",
                  rf"\frac{{\partial \mathcal{{L}}}}{{\partial {o}}} \cdot {f_tex}'\left({z}\right)")
    text = [_factor(e, teacher, "({})") for e in (step.loss_grad, step.prime)]
    latex = [_factor(e, tex, TEX_BRACKETS) for e in (step.loss_grad, step.prime)]
    return names, Label(" · ".join(text), r" \cdot ".join(latex))


def _factor(e: sympy.Expr, printer, brackets: str) -> str:
    """A factor of the split product, bracketed when it is a sum: (O - y) · O(1 - O)."""
    return brackets.format(printer(e)) if e.is_Add else printer(e)


def rules(d: Derivation) -> list[Rule]:
    """The recursion this derivation applies, once, with the activations' derivatives it uses."""
    target = "loss" if d.of == "loss" else d.of
    t_tex = r"\mathcal{L}" if d.of == "loss" else tex_name(d.of)
    hidden = any(step.children for step in d.steps.values())
    out = [Rule("δ_v = f'(z_v) Σ_k w_vk δ_k", r"\delta_v = f'(z_v) \sum_k w_{vk}\, \delta_k",
                "a neuron: each node it feeds passes back its delta times the weight to it")] if hidden else []
    if any(step.formula for step in d.steps.values()) or any(
            d.net.nodes[k].is_formula for step in d.steps.values() for _, k in step.children):
        out.append(Rule("δ_v = Σ_k δ_k ∂k/∂v", r"\delta_v = \sum_k \delta_k\, \partial k / \partial v",
                        "a node a formula node reads: the upstream delta times the local derivative"))
    if any(step.group for step in d.steps.values()):
        out.append(softmax_rule(target, t_tex))
    if d.of == "loss" and any(not d.steps[o].group for o in d.net.outputs if o in d.steps):
        out.append(Rule("δ_o = ∂loss/∂o · f'(z_o)",
                        r"\delta_o = \frac{\partial \mathcal{L}}{\partial o}\, f'(z_o)",
                        "an output of the loss: its own activation enters only here"))
    elif d.of != "loss" and not getattr(d.steps.get(d.of), "group", ()):
        out.append(Rule(f"δ_{target} = f'(z_{target})", rf"\delta_{{{t_tex}}} = f'(z_{{{t_tex}}})",
                        "the target node: its own activation enters only here"))
    out.append(Rule(f"∂{target}/∂w(u,v) = δ_v o_u,   ∂{target}/∂b_v = δ_v",
                    rf"\frac{{\partial {t_tex}}}{{\partial w_{{uv}}}} = \delta_v\, o_u, \quad "
                    rf"\frac{{\partial {t_tex}}}{{\partial b_v}} = \delta_v",
                    "z_v is linear in each weight, with the weight's input as its coefficient"))
    return out + activation_rules(d)


def softmax_rule(target: str, t_tex: str) -> Rule:
    """A softmax group's delta: every output of the group passes back through every z."""
    return Rule(f"δ_k = p_k(∂{target}/∂p_k - Σ_j p_j ∂{target}/∂p_j)",
                rf"\delta_k = p_k\Bigl(\frac{{\partial {t_tex}}}{{\partial p_k}} - \sum_j p_j "
                rf"\frac{{\partial {t_tex}}}{{\partial p_j}}\Bigr)",
                "a softmax group, p_j = exp(z_j) / Σ_k exp(z_k): ∂p_j/∂z_k = p_j(δ_jk - p_k)")


def activation_rules(d: Derivation) -> list[Rule]:
    """Each activation's derivative once, in z and in the node's output o."""
    seen, out = set(), []
    for v in d.steps:
        act = d.net.nodes[v].activation
        if act is None or act.name in ("identity", "softmax", *seen) or act.formula in seen:
            continue
        seen.add(act.formula or act.name)
        f, f_tex = name(act)
        in_z = sympy.diff(act.f(X), X).xreplace({X: Z})
        if in_z.is_Mul:  # σ(z)(1 - σ(z)), as it is taught: the plain factors first
            in_z = sympy.Mul(*sorted(in_z.args, key=lambda a: a.is_Add), evaluate=False)
        in_o = act.prime(OUT, Z)
        text = f"{f}'(z) = {teacher(in_z)}" + (f" = {teacher(in_o)}" if in_o != in_z else "")
        latex = rf"{f_tex}'(z) = {tex(in_z)}" + (f" = {tex(in_o)}" if in_o != in_z else "")
        out.append(Rule(text, latex, "with the node's output o" if in_o != in_z else ""))
    return out


def sentences(d: Derivation) -> list[str]:
    """Story 2's answers, where the derivation has hidden deltas to carry back."""
    hidden = [v for v, step in d.steps.items() if step.children]
    if not hidden:
        return []
    target = "loss" if d.of == "loss" else d.of
    return [f"∂{target}/∂o_v decomposes through the deltas: ∂{target}/∂o_v = Σ_k w_vk δ_k, so each delta "
            "needs only the deltas of the nodes it feeds, computed once from the output back.",
            "The output's own activation enters only the output's delta; every other delta reaches it "
            "through that one."]
