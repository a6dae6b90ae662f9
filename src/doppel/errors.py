"""User-facing errors: raised anywhere, shown by the CLI as one paragraph with exit code 2."""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix (bad config, bad file, missing path).

    The message names the key, file or line and says how to fix it; the CLI prints it
    without a traceback and exits with code 2.
    """


class StageFailed(Exception):
    """A stage could not finish for a reason that is not the user's input."""


class TrainingStopped(Exception):
    """Training was stopped on request (Ctrl-C) after saving a checkpoint; the CLI exits 130."""
