"""The exceptions that are part of the sandbox contract.

A command's own behaviour (a non-zero exit, a timeout, an OOM kill, output past the cap) is not
an exception: :meth:`Sandbox.exec` reports it in :class:`ExecResult`, and
:meth:`ExecResult.check` turns it into :class:`CommandFailedError` or
:class:`CommandTimedOutError` for callers who want to stop there. Exceptions are kept for what
the caller must react to differently: the sandbox is gone, it could not start, a user or a
file does not exist, a file or archive is too big, an archive tries to escape.

File problems inside a sandbox raise the built-in ``FileNotFoundError``, ``PermissionError``,
``IsADirectoryError`` and ``NotADirectoryError`` so that code written against Python's own file
API reads the same against a sandbox.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paperbench.errors import PaperbenchError

if TYPE_CHECKING:
    from paperbench.sandbox.models import ExecResult


class SandboxError(PaperbenchError):
    """Something went wrong with a sandbox itself (not with the command it ran)."""


class SandboxStartError(SandboxError):
    """The sandbox could not be created or started; nothing of it is left behind."""


class SandboxGoneError(SandboxError):
    """The sandbox was closed, or its container stopped or vanished; it cannot run anything."""


class UnknownUserError(SandboxError):
    """A command was asked to run as a user the sandbox does not have."""


class UnsafeLocalSandboxError(SandboxError):
    """The local backend was asked for without the explicit opt-in it needs (it isolates
    nothing)."""


class FileTooLargeError(SandboxError):
    """A file read or an archive downloaded from a sandbox is over its size limit."""


class CommandFailedError(SandboxError):
    """Raised by :meth:`ExecResult.check` for a command that exited non-zero."""

    def __init__(self, message: str, result: ExecResult) -> None:
        super().__init__(message)
        self.result = result


class CommandTimedOutError(CommandFailedError):
    """Raised by :meth:`ExecResult.check` for a command killed at its timeout (never retried)."""


class ArchiveError(PaperbenchError):
    """An archive cannot be extracted safely; the message names the archive and the member."""


class UnsafeArchiveError(ArchiveError):
    """A member would land outside the destination (absolute path, ``..``, a link pointing
    out) or is a device or other special file."""


class ArchiveLimitError(ArchiveError):
    """An archive holds more bytes or more members than its limits allow."""
