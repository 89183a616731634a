"""The exception every "bad input" error can derive from, so the ``coterie`` command can tell bad input (exit 2)
from a run that failed (exit 1) without knowing every module's own error class."""

from __future__ import annotations


class InputError(ValueError):
    """Bad input found before (or instead of) doing the work: a file, an option or data that cannot be used.

    The message is one line naming what is wrong and what is allowed; ``coterie`` prints it and exits with 2.
    """


class MissingFileError(InputError, FileNotFoundError):
    """A file the user named (a data file, a dataset's folder) does not exist: bad input (exit 2), and still a
    ``FileNotFoundError`` for callers that catch that."""
