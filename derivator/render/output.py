"""Files a run writes (`--draw`, `--plot`), all or none: never a half-written file.

Each file is written to a temporary file in its own directory (so that the rename is on one file
system, and atomic), and renamed over its name only when the whole run has succeeded, stdout
included. On any failure before that, every temporary file is removed: a failed run leaves no file
behind, and an old file of that name as it was.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import IO

from derivator.errors import DerivatorError


class Outputs:
    """The files of one run, pending until `commit`; as a context manager, discarded on an exception."""

    def __init__(self) -> None:
        self.pending: list[tuple[str, str, str]] = []  # (temporary file, final name, flag)

    def write(self, path: str, flag: str, fill: Callable[[IO[bytes]], None]) -> None:
        """Write the file through `fill(binary_file)`, to a temporary file beside `path` for now."""
        directory = os.path.dirname(os.path.abspath(path))
        try:
            fd, tmp = tempfile.mkstemp(prefix=".derive-", suffix=".part", dir=directory)
        except OSError as e:
            raise DerivatorError(f"{flag} {path}: cannot write: {e.strerror or e}") from None
        self.pending.append((tmp, path, flag))
        try:
            with os.fdopen(fd, "wb") as f:
                fill(f)
            os.chmod(tmp, 0o666 & ~_umask())  # as open() would have made it; mkstemp makes 0600
        except OSError as e:
            self.discard()
            raise DerivatorError(f"{flag} {path}: cannot write: {e.strerror or e}") from None

    def commit(self) -> None:
        """Rename every file into place."""
        while self.pending:
            tmp, path, flag = self.pending[0]
            try:
                os.replace(tmp, path)
            except OSError as e:
                self.discard()
                raise DerivatorError(f"{flag} {path}: cannot write: {e.strerror or e}") from None
            self.pending.pop(0)

    def discard(self) -> None:
        for tmp, _, _ in self.pending:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        self.pending.clear()

    def __enter__(self) -> Outputs:
        return self

    def __exit__(self, *exc) -> None:
        self.discard()  # after a commit there is nothing left to discard


def write_now(path: str, flag: str, fill: Callable[[IO[bytes]], None]) -> None:
    """One file, written through a temporary file and renamed into place at once."""
    with Outputs() as files:
        files.write(path, flag, fill)
        files.commit()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
