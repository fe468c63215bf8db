"""Numbers: the tree-walk evaluator, the compiled sweep (float64 and mpmath), the point and the check."""
