"""Archives an attacker would write, for the archive tests and ``benchmarks/archive_memory.py``.

Each builder writes raw tar bytes where ``tarfile``'s writer would refuse or fix what we need
broken (a 200 MB PAX header, a 1 MB GNU long name), so the tests see exactly the bytes an
attacker could hand us.
"""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import BinaryIO

BLOCK = 512


def _header(name: bytes, kind: bytes, size: int, linkname: bytes = b"") -> bytes:
    """One ustar header block (name and link name cut to their 100-byte fields)."""
    block = bytearray(BLOCK)
    block[0:100] = name[:100].ljust(100, b"\0")
    block[100:108] = b"0000644\0"
    block[108:116] = b"0000000\0"
    block[116:124] = b"0000000\0"
    block[124:136] = f"{size:011o}\0".encode()
    block[136:148] = b"00000000000\0"
    block[148:156] = b" " * 8
    block[156:157] = kind
    block[157:257] = linkname[:100].ljust(100, b"\0")
    block[257:265] = b"ustar\x0000"
    checksum = sum(block)
    block[148:156] = f"{checksum:06o}\0 ".encode()
    return bytes(block)


def _padded(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % BLOCK)


def pax_record(key: str, value: bytes) -> bytes:
    """One PAX record, ``"<length> <key>=<value>\\n"`` with the length counting itself."""
    body = f" {key}=".encode() + value + b"\n"
    length = len(body) + 1
    while len(str(length).encode()) + len(body) != length:
        length += 1
    return str(length).encode() + body


def write_stream(target: BinaryIO, chunks: list[bytes]) -> None:
    for chunk in chunks:
        target.write(chunk)
    target.write(b"\0" * BLOCK * 2)


def pax_header_bomb(path: Path, header_bytes: int = 200 * 1024 * 1024) -> Path:
    """A .tar.gz whose single PAX header is ``header_bytes`` long (one ``path`` record of
    ``a``s): about 200 KiB compressed, 200 MB for a reader that takes the header whole."""
    head = f"{header_bytes} path=".encode()
    filler = header_bytes - len(head) - 1
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(_header(b"PaxHeader/bomb", tarfile.XHDTYPE, header_bytes))
        out.write(head)
        block = b"a" * (1024 * 1024)
        while filler > 0:
            out.write(block[: min(filler, len(block))])
            filler -= min(filler, len(block))
        out.write(b"\n")
        out.write(b"\0" * (-header_bytes % BLOCK))
        out.write(_header(b"bomb", tarfile.REGTYPE, 0))
        out.write(b"\0" * BLOCK * 2)
    return path


def long_name_archive(path: Path, name_bytes: int = 1024 * 1024) -> Path:
    """A tar whose one member has a GNU long name of ``name_bytes`` bytes."""
    name = b"n" * name_bytes
    with path.open("wb") as out:
        write_stream(
            out,
            [
                _header(b"././@LongLink", tarfile.GNUTYPE_LONGNAME, len(name) + 1),
                _padded(name + b"\0"),
                _header(b"placeholder", tarfile.REGTYPE, 0),
            ],
        )
    return path


def many_pax_headers(path: Path, members: int, header_bytes: int) -> Path:
    """A .tar.gz of ``members`` empty files, each behind a PAX header of about
    ``header_bytes`` (a long comment): the headers add up though each one is small."""
    with gzip.open(path, "wb", compresslevel=6) as out:
        for index in range(members):
            record = pax_record("comment", b"c" * (header_bytes - 40))
            out.write(_header(f"PaxHeader/{index}".encode(), tarfile.XHDTYPE, len(record)))
            out.write(_padded(record))
            out.write(_header(f"f{index}".encode(), tarfile.REGTYPE, 0))
        out.write(b"\0" * BLOCK * 2)
    return path


def cve_2025_4517_chain(path: Path, payload: bytes = b"pwned\n") -> Path:
    """The symlink chain of CVE-2025-4517: sixteen long folder names, each reached through a
    one-letter link, so that the link ``escape``'s resolved path passes ``PATH_MAX`` and
    ``os.path.realpath`` (hence the ``data`` filter) stops resolving before the kernel does;
    ``escape/outside.txt`` then lands two levels above the destination."""
    component = "d" * 247
    steps = "abcdefghijklmnop"
    folder = ""
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for step in steps:
            directory = tarfile.TarInfo(os.path.join(folder, component))
            directory.type = tarfile.DIRTYPE
            tar.addfile(directory)
            link = tarfile.TarInfo(os.path.join(folder, step))
            link.type = tarfile.SYMTYPE
            link.linkname = component
            tar.addfile(link)
            folder = os.path.join(folder, component)
        deep = os.path.join(*steps, "l" * 254)
        climb = tarfile.TarInfo(deep)
        climb.type = tarfile.SYMTYPE
        climb.linkname = os.path.join(*[".."] * len(steps))
        tar.addfile(climb)
        escape = tarfile.TarInfo("escape")
        escape.type = tarfile.SYMTYPE
        escape.linkname = deep + "/../.."
        tar.addfile(escape)
        outside = tarfile.TarInfo("escape/outside.txt")
        outside.size = len(payload)
        tar.addfile(outside, io.BytesIO(payload))
    return path


#: Run as ``python -c MEASURE ARCHIVE DEST``: extract with safe_extract, then print the
#: outcome and, on the last line, the process's own peak resident memory in KiB (``VmHWM``:
#: ``ru_maxrss`` would include the parent's, which Linux carries over a vfork and exec).
MEASURE = """
import sys
from pathlib import Path
from paperbench.sandbox.archives import safe_extract
from paperbench.sandbox.errors import ArchiveError
try:
    safe_extract(Path(sys.argv[1]), Path(sys.argv[2]))
    print("extracted")
except ArchiveError as error:
    print("refused:", error)
print(next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:")))
"""


def extract_in_subprocess(archive: Path, dest: Path, code: str = MEASURE) -> tuple[str, float]:
    """Run ``code`` (by default :data:`MEASURE`) on ``archive`` and ``dest`` in a fresh
    interpreter; its output but the last line, and its peak RSS in MB (the last line)."""
    done = subprocess.run(
        [sys.executable, "-c", code, str(archive), str(dest)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the extraction process failed: {done.stderr[-2000:]}")
    *output, peak = done.stdout.strip().splitlines()
    return "\n".join(output), int(peak) / 1024
