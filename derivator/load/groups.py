"""Softmax groups in a network file (CONTRACT section 5): which nodes share one softmax, and the loss
on probabilities that needs one.

A node with `activation: softmax` belongs to the group its `group:` names (one default group when it
names none); a softmax layer is one group. Each member's output is exp(z_j) / Σ_k exp(z_k) over
the group's pre-activations.
"""

from __future__ import annotations

import re

from derivator.graph import rules
from derivator.graph.network import Loss, Node
from derivator.load.fields import fail, show
from derivator.load.tree import Map
from derivator.load.yamlfile import key_pos, value_pos

DEFAULT_GROUP = "softmax"
NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


def group(who: str, body: Map, activation: rules.Activation) -> str | None:
    """A node's group: its `group:` (softmax nodes only), the default group for a softmax node, else None."""
    if activation.name != rules.SOFTMAX:
        if "group" in body:
            fail(f"'group' applies to softmax nodes only; {who} has activation {activation.name}",
                 key_pos(body, "group"))
        return None
    name = body.get("group", DEFAULT_GROUP)
    if not isinstance(name, str) or not NAME.match(name):
        fail(f"the group of {who} must be a name such as g1, not {show(name)}", value_pos(body, "group"))
    return name


def check(nodes: dict[str, Node], outputs: list[str], loss: Loss | None) -> None:
    """Every group has two or more members, and categorical cross-entropy sits on one whole group.

    A group of one would be the constant 1 with derivative 0: almost surely a slip (a missing or
    misspelt `group:`), so it is refused rather than derived."""
    groups: dict[str, list[str]] = {}
    for n, node in nodes.items():
        if node.group is not None:
            groups.setdefault(node.group, []).append(n)
    for name, members in groups.items():
        if len(members) == 1:
            fail(f"softmax group '{name}' has one node, '{members[0]}': its output would be the constant 1; give "
                 "the group two or more nodes (one probability is a sigmoid)", nodes[members[0]].pos)
    if loss is None or loss.type != "categorical_cross_entropy":
        return
    for o in outputs:
        if nodes[o].group is None:
            what = "a formula node" if nodes[o].is_formula else f"activation {nodes[o].activation.name}"
            fail(f"categorical_cross_entropy takes probabilities, the outputs of one softmax group, but output '{o}' "
                 f"has {what}; give the outputs activation: softmax, or use cross_entropy, which applies the "
                 "softmax to logits itself", loss.pos)
    used = list(dict.fromkeys(nodes[o].group for o in outputs))
    if len(used) > 1:
        fail(f"categorical_cross_entropy's outputs must be one softmax group; they are in {len(used)}: "
             f"{', '.join(used)}", loss.pos)
    missing = [m for m in groups[used[0]] if m not in outputs]
    if missing:
        fail(f"categorical_cross_entropy's outputs must be the whole softmax group '{used[0]}', whose probabilities "
             f"sum to 1; {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not in 'output'", loss.pos)
