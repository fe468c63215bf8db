"""The version, in one place: the package, the CLI and generated modules read it."""

__version__ = "0.1.0"
