"""The graph: the network's nodes, their order, the primitives and rules, and the one backward plan."""
