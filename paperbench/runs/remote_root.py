"""A run root that is an fsspec URL (``--runs-dir s3://bucket/prefix``): each run directory is
mirrored between the URL and a folder on the machine that runs it.

Why a mirror, not stages writing to the URL: the stages (:mod:`paperbench.contracts`) write
local paths — Docker copies a submission out into a folder, the judge's cache is a file, results
are written atomically with a rename — and object stores have no rename and no appends. So the
stages keep writing a local *staging* folder, laid out exactly as a run root is, and this module
copies whole files between it and the URL at the few points where a run directory changes
meaning:

* before a (paper, seed) chain runs — on this machine or in a Ray task on any node — its folder
  is pulled from the URL into staging (whatever staging held of it before is removed first: the
  URL is the truth, another node may have moved the run on since);
* after each ``state.json`` change of the orchestrator (a stage starts, is done, failed) and when
  the run's record is written, the run's folder is pushed: its other files first, then
  ``state.json``, then the removal of keys that are no longer in the folder. A reader that sees
  a stage ``done`` in the URL's ``state.json`` therefore finds that stage's files there; a push
  cut short leaves the URL's ``state.json`` as it was (the stage is redone) and a stage that is
  redone is first marked ``running`` on the URL, before its old files are removed.

Files already pushed (or pulled) and unchanged since — same size and modification time — are
not sent again, so a stage's push sends that stage's files, not the whole run.

Consistency relied on: the store lists and reads its own writes at once (read-after-write and
list-after-write, as S3 has had since 2020, and any POSIX folder behind ``file://``), and one
run directory is written by one process at a time (the executors run each (paper, seed) once
per invocation; two invocations on the same runs at once are not supported, as for a folder).

What comes from the URL is untrusted like any other input: a pull takes regular objects only,
at most :data:`MAX_PULL_FILES` of them, and refuses the whole pull, before writing anything,
when an object's key would land outside the run's staging folder (``..``, an absolute or empty
part, a backslash) or when a folder on the way is not one the pull made. It creates no
symlinks.

Credentials are not in the URL (a URL with ``user:password@`` is refused): fsspec's backend
reads them the standard way — for ``s3://``, s3fs through botocore: ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_PROFILE`` and the AWS config files,
``AWS_ENDPOINT_URL`` for an S3-compatible server other than AWS. Every credential found is
registered with :mod:`paperbench.secrets`, so it is redacted from whatever the harness writes.

``fsspec`` (and ``s3fs`` for ``s3://``) is the optional extra ``paperbench[remote]``; this
module imports them only when a URL is used.
"""

from __future__ import annotations

import configparser
import importlib
import os
import re
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from paperbench.errors import PaperbenchError
from paperbench.secrets import redact_text, register, register_named

INSTALL_HINT = "pip install 'paperbench[remote]' (or pip install fsspec s3fs)"
STATE_FILE = "state.json"
#: The most objects one run directory may hold on the URL; a pull of more is refused.
MAX_PULL_FILES = 200_000
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+)://")
#: What a part of an object key may not be: nothing, ``.``, ``..``.
_BAD_PARTS = {"", ".", ".."}


class RemoteRootError(PaperbenchError):
    """The URL run root cannot be used: fsspec is missing, the store refused a read or a write,
    or an object under the run is not safe to pull."""


def is_url(root: str | Path) -> bool:
    """Whether ``root`` (a ``--runs-dir`` value) is a URL rather than a folder."""
    return isinstance(root, str) and _URL.match(root) is not None


def check_url(url: str) -> str:
    """``url`` if it can be a run root here; the reason otherwise (one line, for ``--runs-dir``).

    Raises:
        ValueError: fsspec (or the scheme's backend) is not installed, the scheme is unknown,
            or the URL carries credentials.
    """
    match = _URL.match(url)
    assert match is not None
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]+://[^/]*@", url):
        raise ValueError(
            "give the store's credentials in its standard environment variables or profile "
            "(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE for s3://), not in the URL"
        )
    try:
        fsspec = importlib.import_module("fsspec")
    except ImportError:
        raise ValueError(f"a URL run root needs fsspec: {INSTALL_HINT}") from None
    protocol = match.group(1).lower()
    try:
        fsspec.get_filesystem_class(protocol)
    except ImportError:
        raise ValueError(
            f"a {protocol}:// run root needs its fsspec backend: {INSTALL_HINT}"
        ) from None
    except ValueError:
        raise ValueError(f"{protocol}:// is not a storage scheme fsspec knows") from None
    if protocol == "memory":
        raise ValueError(
            "memory:// lives in one process: the stages and a later resume would not see it"
        )
    return url.rstrip("/")


def register_credentials() -> None:
    """Register the credentials an S3 backend reads with :mod:`paperbench.secrets`: the AWS
    variables, and every secret-named value (``aws_secret_access_key``, ``aws_session_token``,
    ...) of the AWS credentials and config files. Only files are read: asking botocore for its
    credentials could go on to the network (an instance's metadata service)."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        register(os.environ.get(name), name)
    home = Path.home() / ".aws"
    for variable, default in (
        ("AWS_SHARED_CREDENTIALS_FILE", home / "credentials"),
        ("AWS_CONFIG_FILE", home / "config"),
    ):
        parser = configparser.RawConfigParser()
        try:
            parser.read(os.path.expanduser(os.environ.get(variable) or str(default)))
        except (configparser.Error, OSError, UnicodeDecodeError):
            continue  # s3fs will say what is wrong with it
        for section in parser.sections():
            register_named(dict(parser.items(section)), source=variable)


def _reason(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return redact_text(text)[:200]


@dataclass
class RemoteRoot:
    """The run root ``url`` mirrored into the local folder ``staging`` (see the module
    docstring). ``staging`` is created when first needed and removed by :meth:`close`."""

    url: str
    staging: Path
    fs: Any = None
    base: str = ""
    #: What the URL is known to hold of each staged file (relative path -> size, mtime_ns).
    _synced: dict[str, tuple[int, int]] = field(default_factory=dict)

    @classmethod
    def open(cls, url: str, staging: Path | None = None) -> RemoteRoot:
        """The mirror of ``url``; ``staging`` defaults to a new folder under the system's
        temporary folder.

        Raises:
            RemoteRootError: fsspec or the scheme's backend is missing.
        """
        try:
            url = check_url(url)
        except ValueError as error:
            raise RemoteRootError(f"--runs-dir {url}: {error}") from None
        fsspec_core = importlib.import_module("fsspec.core")
        if url.lower().startswith(("s3://", "s3a://")):
            register_credentials()
        try:
            fs, base = fsspec_core.url_to_fs(url, skip_instance_cache=True)
        except Exception as error:
            raise RemoteRootError(f"--runs-dir {url}: {_reason(error)}") from None
        where = staging or Path(tempfile.gettempdir()) / f"paperbench-staging-{uuid.uuid4().hex}"
        return cls(url, where, fs, str(base).rstrip("/"))

    def close(self) -> None:
        """Remove the staging folder (everything in it has been pushed)."""
        shutil.rmtree(self.staging, ignore_errors=True)

    def check(self) -> None:
        """Fail before any run starts when the URL cannot be used: its bucket cannot be listed
        (object stores), or its folder cannot be made (others).

        Raises:
            RemoteRootError: the store refused (no such bucket, no credentials, no answer).
        """
        try:
            if self._object_store():
                bucket = self.fs.split_path(self.base)[0]
                try:
                    self.fs.ls(bucket, detail=False)
                except FileNotFoundError:
                    raise RemoteRootError(
                        f"--runs-dir {self.url}: there is no bucket {bucket} (create it first)"
                    ) from None
            else:
                self.fs.makedirs(self.base, exist_ok=True)
        except RemoteRootError:
            raise
        except Exception as error:
            raise RemoteRootError(f"--runs-dir {self.url}: {_reason(error)}") from None

    def _object_store(self) -> bool:
        """Whether the store has buckets and keys (s3fs, gcsfs: ``split_path``) rather than
        folders that must exist before a file is written in them."""
        return callable(getattr(self.fs, "split_path", None))

    def _key(self, relative: str) -> str:
        return f"{self.base}/{relative}" if relative else self.base

    def _relative(self, folder: Path) -> str:
        return folder.relative_to(self.staging).as_posix()

    # -- pull ------------------------------------------------------------------------------

    def pull(self, folder: Path) -> int:
        """Make the staged run folder ``folder`` what the URL holds under it; how many files
        came. Whatever ``folder`` held before is removed.

        Raises:
            RemoteRootError: the store could not be read, or an object under the run is not
                safe to pull (nothing is written then).
        """
        run = self._relative(folder)
        prefix = self._key(run)
        try:
            found = self.fs.find(prefix, detail=True)
        except FileNotFoundError:
            found = {}
        except Exception as error:
            raise RemoteRootError(
                f"--runs-dir {self.url}: cannot list {run}: {_reason(error)}"
            ) from None
        # Only this run's objects: a backend that matched the prefix as a string (seed-1 and
        # seed-10) must not bring another run's.
        files = {
            key: info
            for key, info in found.items()
            if info.get("type") == "file" and key.startswith(prefix + "/")
        }
        if len(files) > MAX_PULL_FILES:
            raise RemoteRootError(
                f"--runs-dir {self.url}: {run} holds {len(files)} objects, more than the "
                f"{MAX_PULL_FILES} a run directory may have"
            )
        plan = [(key, self._target(folder, run, prefix, key)) for key in sorted(files)]
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        self._forget_synced(run)
        for key, relative in plan:
            target = folder.joinpath(*relative.parts)
            self._make_parents(folder, target)
            try:
                self.fs.get_file(key, str(target))
            except Exception as error:
                raise RemoteRootError(
                    f"--runs-dir {self.url}: cannot read {run}/{relative}: {_reason(error)}"
                ) from None
            if target.is_symlink() or not target.is_file():
                raise RemoteRootError(f"--runs-dir {self.url}: {run}/{relative} is not a file")
            stat = target.stat()
            self._synced[f"{run}/{relative.as_posix()}"] = (stat.st_size, stat.st_mtime_ns)
        return len(plan)

    def _forget_synced(self, run: str) -> None:
        for name in [name for name in self._synced if name.startswith(f"{run}/")]:
            del self._synced[name]

    def _target(self, folder: Path, run: str, prefix: str, key: str) -> PurePosixPath:
        """The path under the run's folder that the object ``key`` is pulled to.

        Raises:
            RemoteRootError: the key would land outside ``folder``.
        """
        refused = RemoteRootError(
            f"--runs-dir {self.url}: refusing to pull {run}: the object key {key!r} would land "
            "outside the run's folder"
        )
        rest = key[len(prefix) + 1 :]
        parts = rest.split("/")
        if "\\" in rest or "\x00" in rest or any(part in _BAD_PARTS for part in parts):
            raise refused
        relative = PurePosixPath(*parts)
        if relative.is_absolute() or re.match(r"^[A-Za-z]:", parts[0]):
            raise refused
        resolved = Path(os.path.normpath(folder.joinpath(*parts)))
        if not resolved.is_relative_to(Path(os.path.normpath(folder))):
            raise refused
        return relative

    def _make_parents(self, folder: Path, target: Path) -> None:
        """Create ``target``'s folders under ``folder``, refusing any that is not a real folder
        (a symlink, a file)."""
        current = folder
        for part in target.relative_to(folder).parts[:-1]:
            current = current / part
            if current.is_symlink() or (current.exists() and not current.is_dir()):
                raise RemoteRootError(
                    f"--runs-dir {self.url}: refusing to pull into {current}: not a folder"
                )
            current.mkdir(exist_ok=True)

    # -- push ------------------------------------------------------------------------------

    def push(self, folder: Path) -> list[str]:
        """Send the staged run folder ``folder`` to the URL: changed files first, ``state.json``
        last among them, then remove the keys of files no longer in ``folder``. The relative
        paths sent, in order.

        Raises:
            RemoteRootError: the store refused a write (``state.json`` is not sent then).
        """
        run = self._relative(folder)
        present: dict[str, Path] = {}
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.is_symlink():
                present[path.relative_to(folder).as_posix()] = path
        # Every state.json (the run's, and a --grade-at snapshot's under at/) after the files
        # it speaks of; the run's own last of all.
        order = sorted(
            present,
            key=lambda name: (name.rsplit("/", 1)[-1] == STATE_FILE, name == STATE_FILE),
        )
        sent: list[str] = []
        for name in order:
            path = present[name]
            stat = path.stat()
            known = f"{run}/{name}"
            if self._synced.get(known) == (stat.st_size, stat.st_mtime_ns):
                continue
            try:
                if not self._object_store():  # a filesystem with folders (file://, sftp://)
                    self.fs.makedirs(self._key(known).rsplit("/", 1)[0], exist_ok=True)
                self.fs.put_file(str(path), self._key(known))
            except Exception as error:
                raise RemoteRootError(
                    f"--runs-dir {self.url}: cannot write {known}: {_reason(error)}"
                ) from None
            self._synced[known] = (stat.st_size, stat.st_mtime_ns)
            sent.append(known)
        self._remove_stale(run, present)
        return sent

    def _remove_stale(self, run: str, present: dict[str, Path]) -> None:
        prefix = self._key(run)
        try:
            found = self.fs.find(prefix, detail=False)
        except FileNotFoundError:
            return
        except Exception as error:
            raise RemoteRootError(
                f"--runs-dir {self.url}: cannot list {run}: {_reason(error)}"
            ) from None
        for key in found:
            rest = key[len(prefix) + 1 :] if key.startswith(prefix + "/") else ""
            if not rest or rest in present or any(p in _BAD_PARTS for p in rest.split("/")):
                continue  # kept: a key a pull refuses is left for a person to look at
            try:
                self.fs.rm_file(key)
            except FileNotFoundError:
                continue
            except Exception as error:
                raise RemoteRootError(
                    f"--runs-dir {self.url}: cannot remove {run}/{rest}: {_reason(error)}"
                ) from None
            self._synced.pop(f"{run}/{rest}", None)
