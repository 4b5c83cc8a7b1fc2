"""List a submission's files (size and SHA-256) inside the sandbox, and compare two lists.

The listing runs in the sandbox with the image's ``python3`` so that nothing of the untrusted
submission is read on the host before it has been packed and checked. Symbolic links are listed
by their target text, never followed, so a link to ``/etc`` cannot pull the image into the
manifest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from paperbench.reproduction.result import FileRecord

#: Run as ``python3 -c SCRIPT ROOT OUT``; writes ``{path: [size, sha256]}`` as JSON to OUT.
INVENTORY_SCRIPT = r"""
import hashlib, json, os, sys
root, out = sys.argv[1], sys.argv[2]
files = {}
for folder, dirs, names in os.walk(root):
    dirs.sort()
    for name in names:
        full = os.path.join(folder, name)
        rel = os.path.relpath(full, root)
        try:
            if os.path.islink(full):
                target = os.readlink(full).encode("utf-8", "surrogateescape")
                files[rel] = [len(target), "link:" + hashlib.sha256(target).hexdigest()]
                continue
            if not os.path.isfile(full):
                continue
            digest = hashlib.sha256()
            with open(full, "rb") as stream:
                for block in iter(lambda: stream.read(1 << 20), b""):
                    digest.update(block)
            files[rel] = [os.path.getsize(full), digest.hexdigest()]
        except OSError as error:
            files[rel] = [-1, "unreadable: " + error.strerror]
with open(out, "w", encoding="utf-8", errors="surrogateescape") as stream:
    json.dump(files, stream, ensure_ascii=True)
"""

Inventory = dict[str, tuple[int, str]]


def parse_inventory(text: str) -> Inventory:
    raw = json.loads(text)
    return {path: (int(entry[0]), str(entry[1])) for path, entry in raw.items()}


@dataclass(frozen=True)
class Changes:
    created: list[FileRecord]
    changed: list[FileRecord]
    deleted: list[str]


def compare(before: Inventory, after: Inventory, *, ignore_prefix: str = ".git/") -> Changes:
    """Files created, changed (other content) and deleted between two listings. Git's own
    bookkeeping under ``.git/`` is left out: it changes on every commit and says nothing."""

    def kept(path: str) -> bool:
        return not path.startswith(ignore_prefix)

    created = [
        FileRecord(path=path, size=size, sha256=digest)
        for path, (size, digest) in sorted(after.items())
        if path not in before and kept(path)
    ]
    changed = [
        FileRecord(path=path, size=size, sha256=digest)
        for path, (size, digest) in sorted(after.items())
        if path in before and before[path][1] != digest and kept(path)
    ]
    deleted = sorted(path for path in before if path not in after and kept(path))
    return Changes(created, changed, deleted)
