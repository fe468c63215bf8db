"""The network's graph: topological order, cycles, reachability, and the paths between two nodes."""

from __future__ import annotations

from derivator.errors import DerivatorError
from derivator.graph.network import Network


def check(net: Network) -> Network:
    """Order the nodes topologically; reject cycles and nodes off every input-to-output path."""
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


def topological(net: Network) -> list[str]:
    """Kahn's algorithm over nodes; what is left over contains a cycle, reported as its path."""
    indegree = {n: sum(s in net.nodes for s in net.sources[n]) for n in net.nodes}
    ready = [n for n in net.nodes if indegree[n] == 0]
    order = []
    while ready:
        n = ready.pop(0)
        order.append(n)
        for user in net.users[n]:
            indegree[user] -= 1
            if indegree[user] == 0:
                ready.append(user)
    if len(order) < len(net.nodes):
        cycle = _find_cycle(net, [n for n in net.nodes if indegree[n] > 0])
        edge = next((e for e in net.parents[cycle[1]] if e.src == cycle[0]), None)
        pos = edge.pos if edge is not None else net.nodes[cycle[1]].pos  # a formula node reads its parent
        raise DerivatorError("cycle " + " -> ".join(cycle), pos.line, pos.col)
    return order


def _find_cycle(net: Network, left: list[str]) -> list[str]:
    """Walk parents among the leftover nodes until one repeats; every leftover node has one."""
    remaining = set(left)
    path, index = [left[0]], {left[0]: 0}
    while True:
        parent = next(s for s in net.sources[path[-1]] if s in remaining)
        if parent in index:
            cycle = [*path[index[parent]:], parent]
            return cycle[::-1]
        index[parent] = len(path)
        path.append(parent)


def descendants(net: Network, start: list[str]) -> set[str]:
    """Every name reachable from `start` along edges, `start` included."""
    seen, stack = set(start), list(start)
    while stack:
        for user in net.users.get(stack.pop(), []):
            if user not in seen:
                seen.add(user)
                stack.append(user)
    return seen


def ancestors(net: Network, start: list[str]) -> set[str]:
    """Every name from which `start` is reachable, `start` included."""
    seen, stack = set(start), list(start)
    while stack:
        for source in net.sources.get(stack.pop(), []):
            if source not in seen:
                seen.add(source)
                stack.append(source)
    return seen


def between(net: Network, sources: list[str], sinks: list[str]) -> set[str]:
    """Names on some path from a source to a sink (both ends included)."""
    return descendants(net, sources) & ancestors(net, sinks)
