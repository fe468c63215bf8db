"""A hang guard for tests that run the command on hostile input, and the checks every run must pass.

`run(args)` runs `derive` in-process through click's CliRunner under a bound on the CPU time it
uses, not on wall time, so that a loaded machine (other jobs, a parallel test run) cannot fail it: a
SIGPROF (where the platform has one) interrupts Python code that has used the bound's CPU seconds,
and the CPU time is checked afterwards in any case. A block that waits without computing (a read
that never returns) uses no CPU; a wall-time alarm at WALL_FACTOR times the bound ends it. The
bound is a guard against hangs, not a measure of speed: every run is expected to take a small
fraction of it.
"""

from __future__ import annotations

import json
import re
import signal
import threading
import time
from contextlib import contextmanager

from click.testing import CliRunner, Result

from derivator.cli import derive

BOUND = 10.0  # CPU seconds for one run of the command
WALL_FACTOR = 10  # the wall-time backstop, for waits that use no CPU: this many times the bound
ERROR_LINE = re.compile(r"^.+: error: .+$")


class Hang(BaseException):
    """Raised in the running command when it passes the bound; a BaseException, so that neither click nor
    the tool's own catch-all (`except Exception`) can swallow it."""


@contextmanager
def bounded(seconds: float = BOUND, what: str = "the command"):
    """Fail (raise Hang) when the block uses more than `seconds` of CPU time (or waits, using none,
    for WALL_FACTOR times that)."""
    start = time.process_time()
    alarm = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if alarm:
        def on_cpu(signum, frame):
            raise Hang(f"{what} used more than {seconds} s of CPU time")

        def on_wall(signum, frame):
            raise Hang(f"{what} waited past {WALL_FACTOR * seconds} s (wall time)")

        previous = signal.signal(signal.SIGPROF, on_cpu), signal.signal(signal.SIGALRM, on_wall)
        signal.setitimer(signal.ITIMER_PROF, seconds)  # counts the process's CPU time, user and system
        signal.setitimer(signal.ITIMER_REAL, WALL_FACTOR * seconds)
    try:
        yield
    finally:
        if alarm:
            signal.setitimer(signal.ITIMER_PROF, 0)
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGPROF, previous[0])
            signal.signal(signal.SIGALRM, previous[1])
    used = time.process_time() - start
    if used > seconds:
        raise Hang(f"{what} used {used:.1f} s of CPU time, past the bound of {seconds} s")


def run(args: list[str], seconds: float = BOUND) -> Result:
    """`derive ARGS` in-process, under the hang guard."""
    with bounded(seconds, "derive " + " ".join(repr(a)[:80] for a in args)):
        return CliRunner().invoke(derive, args)


def describe(r: Result) -> str:
    return f"exit {r.exit_code}\n--- stderr:\n{r.stderr[:2000]}\n--- stdout:\n{r.stdout[:2000]}"


def assert_clean(r: Result, fmt: str = "text") -> None:
    """Exit 0, 1 or 2; a 2 is exactly one error line and nothing else; a 0 or 1 prints a result (JSON for
    `--format json`, a module that compiles for `--format python`)."""
    assert r.exit_code in (0, 1, 2), describe(r)
    assert r.exception is None or isinstance(r.exception, SystemExit), (repr(r.exception), describe(r))
    assert "Traceback" not in r.stdout + r.stderr, describe(r)
    assert "internal error" not in r.stderr, describe(r)
    if r.exit_code == 2:
        assert r.stdout == "", describe(r)
        assert r.stderr.endswith("\n") and r.stderr.count("\n") == 1, describe(r)
        assert ERROR_LINE.match(r.stderr.rstrip("\n")), describe(r)
    else:
        assert r.stdout.strip(), describe(r)
        if fmt == "json":
            assert isinstance(json.loads(r.stdout), dict), describe(r)  # one JSON object
        if fmt == "python":
            compile(r.stdout, "<derive --format python>", "exec")  # a module that at least compiles
