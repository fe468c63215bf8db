"""derivator: derive, explain and check the gradients of small neural networks.

    import derivator
    net = derivator.load("specs/story4_desmos_check.yaml")
    r = derivator.report(net, "w1", check=True)
    r.value, r.check.agrees

The names below are imported when first used, so that `derive` and a notebook pay only for the
stages they run (the renderers alone take longer to import than a small network takes to derive).
"""

from importlib import import_module

from derivator.errors import DerivatorError
from derivator.load.files import load, loads  # after the sub-package `load`, so the name is the function
from derivator.version import __version__

_PUBLIC = {
    "derive": "derivator.symbolic.derive",
    "gradient": "derivator.answers.gradient",
    "hessian": "derivator.answers.second",
    "matrix_form": "derivator.answers.matrix_form",
    "report": "derivator.answers.report",
    "second": "derivator.answers.second",
}

__all__ = ["DerivatorError", "__version__", "derive", "gradient", "hessian", "load", "loads", "matrix_form", "report",
           "second"]


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'derivator' has no attribute {name!r}")
    value = getattr(import_module(_PUBLIC[name]), name)
    import_module("derivator.render.notebook")  # the answers' Jupyter forms (_repr_latex_, ...)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])
