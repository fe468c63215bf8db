"""The click layer's own parts: one-line errors and exit statuses, single-value options, `--at` and
`--tolerance` parsing, and writing the answer to stdout. Shared by `derive` and `derive-sheet`."""

from __future__ import annotations

import io
import math
import os
import sys

import click

from derivator.errors import DerivatorError, long_name, shown
from derivator.load.fields import fraction, positive

EXIT_DISAGREES = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3  # a bug in the tool


def parse_at(items: tuple[str, ...]) -> dict[str, float]:
    """`--at NAME=VALUE`, repeatable; the last one for a name wins."""
    values = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise DerivatorError(f"--at expects NAME=VALUE, got '{shown(item)}'")
        if long_name(name.strip()):
            raise DerivatorError(f"--at: {long_name(name.strip())}")
        try:
            exact = fraction(text)
            v = float(exact) if exact is not None else float(text)
        except DerivatorError as e:
            raise DerivatorError(f"--at {name.strip()}: {e.message}") from None
        except (ValueError, OverflowError):
            raise DerivatorError(f"--at {name.strip()}: '{shown(text)}' is not a number") from None
        if not math.isfinite(v):
            raise DerivatorError(f"--at {name.strip()}: the value must be finite, not '{shown(text)}'")
        values[name.strip()] = v
    return values


class OneLineErrors(click.Command):
    """Every bad input is one line on stderr and exit status 2, never a usage block or a traceback;
    a bug of ours is one line saying so, with exit status 3."""

    def main(self, args=None, prog_name=None, **extra):
        extra.pop("standalone_mode", None)
        try:
            result = super().main(args, prog_name, standalone_mode=False, **extra)
        except click.ClickException as e:
            click.echo(e.format_message() if isinstance(e, BadInput) else f"{self.name}: error: {e.format_message()}",
                       err=True)
            sys.exit(EXIT_BAD_INPUT)
        except click.exceptions.Abort:
            click.echo(f"{self.name}: error: aborted", err=True)
            sys.exit(EXIT_BAD_INPUT)
        except Exception as e:  # a bug of ours: still one line, and no traceback for the user
            what = _one_line(f"{type(e).__name__}: {e}")
            click.echo(f"{self.name}: error: internal error ({what}); please report it", err=True)
            sys.exit(EXIT_INTERNAL)
        sys.exit(result if isinstance(result, int) else 0)


def console(command: click.Command, argv: list[str] | None, prog_name: str) -> None:
    """Run a console script. Started as one (`argv` None), it leaves by `os._exit` once its output is
    flushed: Python's finalisation, which tears down every module and cached expression one by one,
    took 0.1 to 0.3 s of each `derive` run here, longer than the derivation, and has nothing to finish
    (files are written and renamed into place before the command returns). Called with arguments
    (a test, a notebook), it exits as any click command does."""
    if argv is not None:
        command.main(argv, prog_name=prog_name)
        return
    try:
        command.main(None, prog_name=prog_name)
        status = 0
    except SystemExit as e:
        if e.code is None or isinstance(e.code, int):
            status = e.code or 0
        else:
            sys.stderr.write(f"{e.code}\n")
            status = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: emit has said so where it could
            pass
    os._exit(status)


class Once(click.Option):
    """An option that takes one value: given twice it is a usage error, not silently the last one."""

    def __init__(self, *args, **kwargs):
        self.single_default = kwargs.pop("default", None)
        if self.single_default is not None and kwargs.get("help"):
            kwargs["help"] += f"  [default: {self.single_default}]"
        super().__init__(*args, multiple=True, **kwargs)

    def process_value(self, ctx, value):
        value = super().process_value(ctx, value)
        if len(value) > 1:
            flag = self.opts[0]
            if flag == "--wrt" and len(value) == 2:
                return tuple(value)  # two --wrt: a second derivative (CONTRACT section 8)
            if flag == "--wrt":
                raise click.UsageError(f"--wrt is given {len(value)} times; give it once, or twice for a second "
                                       "derivative")
            raise click.UsageError(f"{flag} is given {len(value)} times; give it once")
        return value[0] if value else self.single_default
def _one_line(text: str, limit: int = 300) -> str:
    """An exception's message on one line, cut short: the error stays one line on stderr."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


class BadInput(click.ClickException):
    """A DerivatorError, already formatted as `FILE:LINE:COL: error: MESSAGE`."""

    exit_code = EXIT_BAD_INPUT


def parse_tolerance(text: str) -> float:
    value = positive(text)
    if value is None:
        raise DerivatorError(f"--tolerance must be a positive number, not '{text}'")
    return value


def emit(text: str) -> None:
    """Print the answer. A write that fails (a full disk, a closed pipe) is one error line, exit status 2:
    the output is lost, which the user must hear of, and no bug of ours."""
    try:
        click.echo(text, nl=False)
        sys.stdout.flush()
    except OSError as e:
        _drop_stdout()
        raise DerivatorError(f"cannot write the output to stdout: {e.strerror or e}") from None


def _drop_stdout() -> None:
    """Point stdout at /dev/null, so that Python's own flush at exit does not fail again with a traceback."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass  # not a real file (a test's runner): nothing is flushed at exit
