"""URLs and hosts as the blacklist monitor compares them.

A blacklisted resource can be written many ways: ``https://github.com/o/r``,
``http://www.GitHub.com/o/r/``, ``github.com/o/r.git``, ``git@github.com:o/r.git``,
``git+https://github.com/o/r@v1#egg=r``, ``https://raw.githubusercontent.com/o/r/main/x.py``.
:func:`normalise` reduces each to a :class:`Target` — a host and a path — by dropping the
scheme, user info, port, query and fragment, a leading ``www.``, trailing slashes, ``.git`` at
the end of any path segment (``o/r.git/info/refs`` is what ``git clone`` of ``o/r.git`` fetches),
pip's ``@ref``, and percent-encoding, and by lower-casing the host *and the path* (GitHub's
owner and repository names are case-insensitive; for other sites a false match on case is the
safer error for a monitor). GitHub's other hosts for a repository's content
(``raw.githubusercontent.com``, ``codeload.github.com``, ``api.github.com/repos/...``) map to
the repository on ``github.com``, and a blacklist entry naming a page inside a GitHub
repository covers the whole repository.

An entry with no path (``example.org``) covers the host and its subdomains; an entry with a
path covers that path and everything under it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

#: URL-like strings in free text: with a scheme, scp-like git remotes, and bare hosts.
URL_PATTERN = re.compile(
    r"""
    (?:git\+)?[a-z][a-z0-9+.-]*://[^\s'"<>`()\[\]{}\\,;|]+
    | [\w.-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+:[^\s'"<>`()\[\]{}\\,;|]+
    | (?<![\w@/.:-])(?:[a-z0-9-]+\.)+[a-z]{2,}(?::\d+)?(?:/[^\s'"<>`()\[\]{}\\,;|]*)?
    """,
    re.IGNORECASE | re.VERBOSE,
)
_SCP = re.compile(r"^[\w.-]+@(?P<host>[a-z0-9.-]+):(?P<path>(?!\d+(?:/|$)).*)$", re.IGNORECASE)
_TRAILING = ".,;:!?)]}>'\"`"


@dataclass(frozen=True)
class Target:
    """A normalised URL: lower-case host without ``www.``, and a path ("" or "/a/b")."""

    host: str
    path: str

    def covers(self, other: Target) -> bool:
        """Whether this (blacklist) target includes ``other`` (a URL seen in a transcript)."""
        if other.host != self.host and not other.host.endswith("." + self.host):
            return False
        return not self.path or other.path == self.path or other.path.startswith(self.path + "/")

    def __str__(self) -> str:
        return self.host + self.path


def _clean_path(path: str, *, strip_ref: bool) -> str:
    path = unquote(path).lower()
    path = re.sub(r"/{2,}", "/", path)
    path = re.sub(r"\.git(?=/)", "", path)  # what git requests: owner/repo.git/info/refs
    if path and not path.startswith("/"):
        path = "/" + path
    if strip_ref:
        head, _, last = path.rpartition("/")
        path = head + "/" + last.split("@", 1)[0] if last else path
    while True:
        trimmed = path.rstrip("/")
        trimmed = trimmed.removesuffix(".git")
        if trimmed == path:
            return path
        path = trimmed


def _github(host: str, path: str) -> tuple[str, str]:
    """Map GitHub's content hosts to the repository page on github.com."""
    parts = [p for p in path.split("/") if p]
    if host in ("raw.githubusercontent.com", "codeload.github.com") and len(parts) >= 2:
        return "github.com", "/" + "/".join(parts[:2])
    if host == "api.github.com" and len(parts) >= 3 and parts[0] == "repos":
        return "github.com", "/" + "/".join(parts[1:3])
    return host, path


def normalise(text: str) -> Target | None:
    """The :class:`Target` of a URL or host as written, or ``None`` when it has no host."""
    url = text.strip().strip(_TRAILING)
    strip_ref = False
    if url.lower().startswith("git+"):
        url, strip_ref = url[4:], True
    scp = _SCP.match(url) if "://" not in url else None
    if scp is not None:
        host, path, strip_ref = scp.group("host"), scp.group("path"), True
    else:
        try:
            parts = urlsplit(url if "://" in url else "//" + url)
            host = parts.hostname or ""
        except ValueError:
            return None
        path = parts.path
    host = host.lower().rstrip(".").removeprefix("www.")
    if not host or "." not in host:
        return None
    host, path = _github(host, _clean_path(path, strip_ref=strip_ref))
    return Target(host, path)


def blacklist_target(entry: str) -> Target | None:
    """A blacklist entry as a :class:`Target`; inside a GitHub repository, the repository."""
    target = normalise(entry)
    if target is not None and target.host == "github.com":
        parts = [p for p in target.path.split("/") if p]
        if len(parts) > 2:
            target = Target("github.com", "/" + "/".join(parts[:2]))
    return target


def find_urls(text: str) -> list[tuple[str, int, Target]]:
    """Every URL-like string in ``text``: as written, its offset, and its :class:`Target`."""
    found = []
    for match in URL_PATTERN.finditer(text):
        target = normalise(match.group(0))
        if target is not None:
            found.append((match.group(0).rstrip(_TRAILING), match.start(), target))
    return found
