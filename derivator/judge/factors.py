"""The chain rule's factors as atoms: one symbol for each weight-free factor a path multiplies.

A path's product is weights, activation derivatives (`h2(1 - h2)` whatever the learner called it) and
the loss's derivative. Each of the latter two becomes one atom, so a candidate and the derivative can
be compared factor by factor.
"""

from __future__ import annotations

import sympy

from derivator.graph import equations
from derivator.graph.network import symbol, z_symbol
from derivator.judge.candidate import node_values
from derivator.symbolic.derive import Derivation
from derivator.symbolic.printing import teacher


class Atoms:
    """One symbol per chain-rule factor, and the rewriting of expressions into them."""

    def __init__(self, d: Derivation):
        self.d, self.names, self.coeffs, self.rewrites = d, {}, {}, []
        self.prime: dict[str, sympy.Dummy] = {}  # node -> the atom of its activation's derivative
        self.wrong: dict[sympy.Dummy, str] = {}  # atom of another activation's derivative -> its node
        self.loss: dict[str, sympy.Dummy] = {}  # output -> the atom of the loss's derivative there
        net = d.net
        for v in d.steps:
            act = net.nodes[v].activation
            if act is None:  # a formula node: its local derivatives are factors as they stand
                continue
            o, z = symbol(v), z_symbol(v)
            self.rewrites.append((equations.preactivation(net, v), z))
            if net.nodes[v].group is not None:  # a softmax unit's local derivatives are factors as they stand
                continue
            prime = act.prime(o, z)
            if prime != 1:
                self.prime[v] = self.add(prime, f"the derivative of {v}'s {act.name}", f"D_{v}")
            for name, other in (("sigmoid", o * (1 - o)), ("tanh", 1 - o**2)):
                if name != act.name and other != prime:
                    atom = self.add(other, f"a {name}'s derivative, but {v}'s activation is {act.name}",
                                    f"W_{v}_{name}")
                    self.wrong[atom] = v
        for i, (o, g) in enumerate(self.loss_factors().items()):
            self.loss[o] = self.add(g, f"the loss's derivative at {o}", f"L_{i}")

    def add(self, expr: sympy.Expr, meaning: str, label: str) -> sympy.Dummy:
        """One atom for a factor; a numeric coefficient (the 2 of 2(o - y)) stays outside it.

        The atom is a Dummy: distinct from every name of the network, whatever the label says."""
        atom = sympy.Dummy(label, real=True)
        content, primitive = sympy.factor_terms(expr).as_content_primitive()
        self.names[atom] = (primitive, meaning)
        self.coeffs[atom] = content
        return atom

    def loss_factors(self) -> dict[str, sympy.Expr]:
        """dL/do (or the fused output delta) for each output, as the derivation writes it."""
        out = {}
        for v, step in self.d.steps.items():
            if step.fused is not None:
                out[v] = step.fused
            elif step.loss_grad is not None and step.loss_grad != 1:
                out[v] = step.loss_grad
        return out

    def rewrite(self, expr: sympy.Expr) -> sympy.Expr:
        """Functions of z as node values, pre-activations as z_v, then chain-rule factors as atoms."""
        expr = node_values(self.d, expr)
        for old, new in self.rewrites:
            expr = expr.xreplace({old: new})
        expr = sympy.factor_terms(expr)
        for atom, (form, _) in self.names.items():
            expr = expr.subs(form, atom)
        return expr

    def weighted(self, atom: sympy.Expr) -> sympy.Expr:
        """The atom with its coefficient, as it enters a path's product."""
        return self.coeffs.get(atom, 1) * atom

    def form(self, atom: sympy.Expr) -> sympy.Expr:
        """The factor as the derivation writes it: atoms, even inside a larger factor, replaced."""
        if atom in self.names:
            return self.names[atom][0]
        return atom.xreplace({a: f for a, (f, _) in self.names.items()})

    def describe(self, atom: sympy.Symbol) -> str:
        if atom in self.names:
            form, meaning = self.names[atom]
            return f"{teacher(form)} ({meaning})"
        return teacher(self.form(atom))
