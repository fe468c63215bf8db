"""Load: the network file read with positions, checked, and expanded (layers, samples, whole matrices)."""
