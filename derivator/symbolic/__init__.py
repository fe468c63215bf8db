"""The derivation in node values: the backward pass as the plan gives it, nested as a teacher writes it."""
