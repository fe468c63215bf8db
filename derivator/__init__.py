"""derivator: derive, explain and check the gradients of small neural networks.

    import derivator
    net = derivator.load("specs/story4_desmos_check.yaml")
    r = derivator.report(net, "w1", check=True)
    r.value, r.check.agrees
"""

from .derive import derive
from .errors import DerivatorError
from .every import gradient
from .matrix import matrix_form
from .report import report
from .spec import load, loads

__all__ = ["DerivatorError", "derive", "gradient", "load", "loads", "matrix_form", "report"]
__version__ = "0.1.0"
