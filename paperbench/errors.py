"""Errors a user can cause and fix.

Every exception derived from :class:`PaperbenchError` carries a message that names the file,
node path or setting at fault and says what to do; the command line prints it as one line,
never as a traceback.
"""


class PaperbenchError(Exception):
    """A problem the user can fix; ``str(error)`` is the whole, one-line explanation."""


class RubricError(PaperbenchError):
    """A rubric file is missing, is not JSON, or does not have the shape of a rubric tree."""


class PaperError(PaperbenchError):
    """A paper bundle is missing, incomplete or malformed, or a paper id is unknown."""


class DockerUnavailableError(PaperbenchError):
    """No Docker engine answers; the message says how to start one."""


class ImageMissingError(PaperbenchError):
    """A sandbox image is not built; the message says how to build it."""
