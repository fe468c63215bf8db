"""The matrix form through time (CONTRACT section 6): a layers file with `steps:` and `recurrent: true`.

    Z[l]⟨t⟩ = W[l] A[l-1]⟨t⟩ + U[l] A[l]⟨t-1⟩ + b[l]        A[l]⟨0⟩ the initial state (0 unless given)
    dZ[l]⟨t⟩ = (W[l+1]ᵀ dZ[l+1]⟨t⟩ + U[l]ᵀ dZ[l]⟨t+1⟩) ⊙ g'(Z[l]⟨t⟩)      dZ[l]⟨T+1⟩ = 0
    ∂J/∂U[l] = (1/m) Σ_t dZ[l]⟨t⟩ A[l]⟨t-1⟩ᵀ    ∂J/∂W[l] = (1/m) Σ_t dZ[l]⟨t⟩ A[l-1]⟨t⟩ᵀ

The output layer's rule is the one `matrix_form` derives for a file without steps, written at step t;
every step shares the weights, so each gradient is a sum over the steps. The numbers come from the
same recursion run through time (`numbers/batch_time.py`), compared entry by entry with the scalar
delta recursion over the unrolled network.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import sympy

from derivator.answers.matrix_tokens import AVERAGE, CLOSE, HADAMARD, OPEN, PLUS, SUM, Elementwise, Eq, Mat, Op
from derivator.errors import DerivatorError
from derivator.graph.network import Network
from derivator.graph.rules import SOFTMAX

BATCH = {"A", "Z", "dZ", "dA", "Y", "P"}  # the matrices with a value per step (the weights have none)


def at_step(token, step: str = "t"):
    """A token of an equation without steps, at step t: A[2] is A[2]⟨t⟩, and so in an elementwise formula."""
    if isinstance(token, Mat):
        return dataclasses.replace(token, step=step) if token.letter in BATCH else token
    if isinstance(token, Elementwise):
        swap = {s: sympy.Symbol(f"{s.name}⟨{step}⟩", real=True) for s in token.expr.free_symbols}
        return Elementwise(token.expr.xreplace(swap))
    return token


def equations(net: Network, kind: str, layer: int, output: list[Eq], prime: Callable, why: list[tuple[str, str]],
              loss: str) -> tuple[list[Eq], list[Eq], Eq, list[tuple[str, str]], str]:
    """Forward, backward, result, the sentences and the loss line, through time."""
    rec, last = net.recurrence, len(net.layers)
    if net.layers[-1].recurrent:
        raise DerivatorError("--matrix through time: the output layer is recurrent; the matrix form here takes a "
                             "recurrent hidden layer (--wrt U1 gives each entry by the delta recursion)")
    if any(lay.activation.name == SOFTMAX for lay in net.layers):
        raise DerivatorError("--matrix through time takes element-wise activations, not a softmax layer; "
                             "--wrt W1 without --matrix gives each entry by the delta recursion")
    forward = []
    for lay in net.layers:
        n = lay.index
        z = [Mat("W", n), Mat("A", n - 1, step="t")]
        z += [PLUS, Mat("U", n), Mat("A", n, step="t-1")] if lay.recurrent else []
        z += [PLUS, Mat("b", n)] if lay.bias else []
        forward.append(Eq([Mat("Z", n, step="t")], z))
        forward.append(Eq([Mat("A", n, step="t")], [at_step(Elementwise(lay.activation.f(
            sympy.Symbol(f"Z[{n}]", real=True))))]))
    backward = [Eq([at_step(x) for x in eq.lhs], [at_step(x) for x in eq.rhs], eq.note) for eq in output]
    if rec.loss_steps == "last":
        backward[-1].note = (backward[-1].note + "; " if backward[-1].note else "") + \
            f"at t = {rec.steps} only: the loss reads the last step, so dZ[{last}]⟨t⟩ = 0 before it"
    for n in range(last - 1, layer - 1, -1):
        rhs = [OPEN, Mat("W", n + 1, t=True), Mat("dZ", n + 1, step="t")]
        if net.layers[n - 1].recurrent:
            rhs += [PLUS, Mat("U", n, t=True), Mat("dZ", n, step="t+1")]
        rhs.append(CLOSE)
        g = prime(net, n)
        if g != 1:
            rhs += [HADAMARD, *([OPEN, at_step(Elementwise(g)), CLOSE] if g.is_Add else [at_step(Elementwise(g))])]
        note = f"back through W[{n + 1}] at step t" + (f" and through U[{n}] from step t+1 (dZ[{n}]⟨{rec.steps + 1}⟩"
                                                        " = 0)" if net.layers[n - 1].recurrent else "")
        backward.append(Eq([Mat("dZ", n, step="t")], rhs, note))
    sentences = [_sentence(net, kind, layer), *(why[1:] if kind == "U" else why)]  # for U, no A[l-1] to explain
    loss = loss.replace(f"Σₛ L(A[{last}]⁽ˢ⁾, Y⁽ˢ⁾)", f"Σₛ Σ_t L(A[{last}]⟨t⟩⁽ˢ⁾, Y⟨t⟩⁽ˢ⁾)")
    return forward, backward, _result(net, kind, layer), sentences, loss


def _result(net: Network, kind: str, layer: int) -> Eq:
    steps = net.recurrence.steps
    over = Op("Σ_t ", rf"\sum_{{t=1}}^{{{steps}}} ")
    average = [AVERAGE] if net.reduction == "mean" else []
    entries = {e for row in net.matrices()[f"{kind}{layer}"] for e in row}
    penalty = [Op(f" + ∂P/∂{kind}[{layer}]", rf" + \frac{{\partial P}}{{\partial {kind}^{{[{layer}]}}}}")] \
        if any(s.name in entries for s in net.penalty.free_symbols) else []
    lhs = [Op("∂J/∂", r"\frac{\partial J}{\partial "), Mat(kind, layer), Op("", "}")]
    if kind == "b":
        return Eq(lhs, [*average, over, SUM, Mat("dZ", layer, step="t"), *penalty],
                  "the sums run over the steps and over the columns, one per sample")
    source = Mat("A", layer, t=True, step="t-1") if kind == "U" else Mat("A", layer - 1, t=True, step="t")
    return Eq(lhs, [*average, over, Mat("dZ", layer, step="t"), source, *penalty], "every step shares the weights")


def _sentence(net: Network, kind: str, layer: int) -> tuple[str, str]:
    """Why the gradient is a sum over the steps, and what multiplies dZ at each."""
    n, steps = layer, net.recurrence.steps
    if kind == "U":
        text = (f"Z[{n}]⟨t⟩ is linear in U[{n}]: entry (j, k) multiplies A[{n}]⟨t-1⟩_k, unit k of the same layer at "
                f"the step before (A[{n}]⟨0⟩ is the initial state). Every step uses the same U[{n}], so its gradient "
                f"adds one term per step, t = 1..{steps}: Σ_t dZ[{n}]⟨t⟩ A[{n}]⟨t-1⟩ᵀ.")
        tex = (rf"$Z^{{[{n}]\langle t\rangle}}$ is linear in $U^{{[{n}]}}$: entry $(j, k)$ multiplies "
               rf"$A^{{[{n}]\langle t-1\rangle}}_k$, unit $k$ of the same layer at the step before "
               rf"($A^{{[{n}]\langle 0\rangle}}$ is the initial state). Every step uses the same $U^{{[{n}]}}$, so "
               rf"its gradient adds one term per step, $t = 1, \dots, {steps}$.")
        return text, tex
    what = "W" if kind == "W" else "b"
    text = (f"Every step uses the same {what}[{n}], so its gradient adds one term per step, t = 1..{steps}; each "
            f"step's term is the one of a network without steps, at that step.")
    tex = (rf"Every step uses the same ${what}^{{[{n}]}}$, so its gradient adds one term per step, "
           rf"$t = 1, \dots, {steps}$; each step's term is the one of a network without steps, at that step.")
    return text, tex
