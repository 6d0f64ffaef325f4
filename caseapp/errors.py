"""Errors staff may see.

A :class:`UserError` carries a message written for the person at the desk and is shown
as-is (a dialog in the window, one line on stderr from the command line). Anything else
that escapes a service is a bug and is reported as one.
"""

from __future__ import annotations


class UserError(Exception):
    """Something the user can understand and act on; the message is shown verbatim."""

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.__class__.__name__


class NotFound(UserError):
    """A case, user or other item that was asked for does not exist."""


class InvalidInput(UserError):
    """A value typed in or passed on the command line is not acceptable."""


class TransitionRefused(UserError):
    """A workflow step is not allowed now; the message says why."""


class PermissionDenied(UserError):
    """The current user's role does not allow this."""


class StaleEdit(UserError):
    """Someone else changed the case since it was loaded; nothing was overwritten."""


class ConfigError(UserError):
    """A settings or rules file is malformed; the message names the file and the problem."""


class EnvironmentProblem(UserError):
    """A known failure of the machine or the network, not of the program.

    The database went away, the disk is full, the file is read-only. Nothing was saved
    by the operation that hit it; staff can retry once the cause is fixed.
    """


class DatabaseUnavailable(EnvironmentProblem):
    """The case database cannot be reached or opened."""


class DatabaseDamaged(DatabaseUnavailable):
    """The embedded database failed its integrity check: nothing is written to it; the
    message names the newest backup (caseapp.services.backup)."""

    def __init__(self, message: str, *, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


class DatabaseBeingChecked(UserError):
    """The embedded database is still being checked (a large file is checked in the
    background after the window opens): reads work, every change waits for the check."""


class DiskFull(EnvironmentProblem):
    """There is no space left to write the database or a file."""
