"""derivator: derive, explain and check the gradients of small neural networks.

    import derivator
    net = derivator.load("specs/story4_desmos_check.yaml")
    r = derivator.report(net, "w1", check=True)
    r.value, r.check.agrees
"""

from derivator import render  # noqa: F401 - registers the answers' Jupyter forms (_repr_latex_)
from derivator.answers.gradient import gradient
from derivator.answers.matrix_form import matrix_form
from derivator.answers.report import report
from derivator.answers.second import hessian, second
from derivator.errors import DerivatorError
from derivator.load.files import load, loads
from derivator.render import notebook  # noqa: F401 - the answers' Jupyter forms (_repr_latex_, ...)
from derivator.symbolic.derive import derive

__all__ = ["DerivatorError", "__version__", "derive", "gradient", "hessian", "load", "loads", "matrix_form", "report",
           "second"]
from derivator.version import __version__
