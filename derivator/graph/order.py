"""The network's graph: topological order, cycles, reachability, and the paths between two nodes."""

from __future__ import annotations

from derivator.errors import DerivatorError
from derivator.graph.network import Network


def check(net: Network) -> Network:
    """Order the nodes topologically; reject cycles and nodes off every input-to-output path."""
    _check_groups(net)
    order = topological(net)
    net.nodes = {n: net.nodes[n] for n in order}
    net.__post_init__()
    fed = descendants(net, net.inputs)
    for name, node in net.nodes.items():
        if name not in fed:
            raise DerivatorError(f"node '{name}' is not reached from any input", node.pos.line, node.pos.col)
    useful = ancestors(net, net.outputs)
    for name, node in net.nodes.items():
        if name not in useful:
            raise DerivatorError(f"node '{name}' does not reach any output", node.pos.line, node.pos.col)
    return net


def _check_groups(net: Network) -> None:
    """No softmax unit may depend on a member of its own group: each member's output needs every
    member's pre-activation first."""
    for group, members in net.groups.items():
        for m in members:
            reached = descendants(net, [m], groups=False) - {m}
            other = next((k for k in members if k in reached), None)
            if other is not None:
                edge = next((e for e in net.parents[other] if e.src == m), None)
                pos = edge.pos if edge is not None else net.nodes[other].pos
                raise DerivatorError(f"softmax node '{other}' depends on '{m}' of its own group '{group}': a "
                                     "group's outputs need all its pre-activations first; put them in different "
                                     "groups", pos.line, pos.col)


def topological(net: Network) -> list[str]:
    """Kahn's algorithm over nodes, a softmax group placed whole once all its members are ready;
    what is left over contains a cycle, reported as its path."""
    indegree = {n: sum(s in net.nodes for s in net.sources[n]) for n in net.nodes}
    ready = [n for n in net.nodes if indegree[n] == 0]
    order: list[str] = []
    placed: set[str] = set()
    while ready:
        n = ready.pop(0)
        unit = [n, *net.siblings(n)]
        if n in placed or any(indegree[m] > 0 for m in unit):
            continue  # the group's last member to be ready places it
        members = [m for m in net.nodes if m in unit]  # in the file's order
        order += members
        placed.update(members)
        for m in members:
            for user in net.users[m]:
                indegree[user] -= 1
                if indegree[user] == 0:
                    ready.append(user)
    if len(order) < len(net.nodes):
        cycle = _find_cycle(net, [n for n in net.nodes if indegree[n] > 0], [n for n in net.nodes if n not in placed])
        edge = next((e for e in net.parents[cycle[1]] if e.src == cycle[0]), None)
        pos = edge.pos if edge is not None else net.nodes[cycle[1]].pos  # a formula node reads its parent
        raise DerivatorError("cycle " + " -> ".join(cycle), pos.line, pos.col)
    return order


def _find_cycle(net: Network, left: list[str], unplaced: list[str]) -> list[str]:
    """Walk parents among the nodes not placed until one repeats; each has one, or a group member
    waiting has one (a member is placed with its group)."""
    remaining = set(unplaced)
    path, index = [left[0]], {left[0]: 0}
    while True:
        n = path[-1]
        parent = next(s for m in [n, *net.siblings(n)] for s in net.sources[m] if s in remaining)
        if parent in index:
            cycle = [*path[index[parent]:], parent]
            return cycle[::-1]
        index[parent] = len(path)
        path.append(parent)


def descendants(net: Network, start: list[str], groups: bool = True) -> set[str]:
    """Every name reachable from `start` along edges, `start` included; a softmax unit reaches its
    group's other members (its z enters their outputs) unless `groups` is False."""
    seen, stack = set(start), list(start)
    while stack:
        n = stack.pop()
        for user in [*net.users.get(n, []), *(net.siblings(n) if groups else [])]:
            if user not in seen:
                seen.add(user)
                stack.append(user)
    return seen


def ancestors(net: Network, start: list[str]) -> set[str]:
    """Every name from which `start` is reachable, `start` included (a softmax unit's group with it)."""
    seen, stack = set(start), list(start)
    while stack:
        n = stack.pop()
        for source in [*net.sources.get(n, []), *net.siblings(n)]:
            if source not in seen:
                seen.add(source)
                stack.append(source)
    return seen


def between(net: Network, sources: list[str], sinks: list[str]) -> set[str]:
    """Names on some path from a source to a sink (both ends included)."""
    return descendants(net, sources) & ancestors(net, sinks)
