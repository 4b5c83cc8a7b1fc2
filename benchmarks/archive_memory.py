"""Peak memory and time of refusing hostile archives: ``safe_extract`` against the standard
library's own wall (``tarfile`` ``extractall`` with the ``data`` filter, what safe_extract relied
on before), each in a fresh interpreter on the same archive in the same run.

    .venv/bin/python benchmarks/archive_memory.py

Archives (tests/support/hostile_archives.py): a 200 MB PAX header in a ~200 KiB .tar.gz, a 1 MB
GNU long name, 20,000 and 4,000 members behind 15 KB PAX headers each (300 MB and 60 MB of
headers: over and under the 64 MiB budget), and the CVE-2025-4517 symlink chain. For each: what
happened (refused / extracted / wrote outside), peak RSS in MB, seconds. The first lines give
what an interpreter takes with tarfile alone and with paperbench imported: the floor of each
column.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.hostile_archives import (
    MEASURE,
    cve_2025_4517_chain,
    long_name_archive,
    many_pax_headers,
    pax_header_bomb,
)

#: The standard library's wall alone, as safe_extract used it before.
BASELINE = """
import sys, tarfile
try:
    with tarfile.open(sys.argv[1]) as tar:
        tar.extractall(sys.argv[2], filter="data")
    print("extracted")
except Exception as error:
    print("refused:", type(error).__name__, str(error)[:80])
print(next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:")))
"""

CASES: dict[str, Callable[[Path], Path]] = {
    "PAX header of 200 MB (.tar.gz)": lambda d: pax_header_bomb(d / "bomb.tar.gz"),
    "GNU long name of 1 MB": lambda d: long_name_archive(d / "long.tar"),
    "20,000 PAX headers of 15 KB": lambda d: many_pax_headers(d / "many.tar.gz", 20_000, 15_000),
    "4,000 PAX headers of 15 KB": lambda d: many_pax_headers(d / "some.tar.gz", 4_000, 15_000),
    "CVE-2025-4517 symlink chain": lambda d: cve_2025_4517_chain(d / "chain.tar"),
}


def measure(code: str, archive: Path, work: Path) -> tuple[str, float, float, bool]:
    """Outcome, peak RSS (MB), seconds, and whether anything was written outside ``dest``."""
    dest = work / "box" / "dest"
    dest.parent.mkdir(parents=True)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, str(archive), str(dest)],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
        cwd=Path(__file__).resolve().parents[1],
    )
    seconds = time.perf_counter() - started
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return f"crashed: {done.stderr.strip().splitlines()[-1:]}", 0.0, seconds, False
    # The chain writes two levels above the destination; anything next to "box" or "dest"
    # was written outside it.
    outside = {e.name for e in os.scandir(work)} - {"box"}
    outside |= {e.name for e in os.scandir(work / "box")} - {"dest"}
    return lines[0][:60], int(lines[-1]) / 1024, seconds, bool(outside)


IMPORTS = """
import sys, tarfile
if sys.argv[1] == "paperbench":
    import paperbench.sandbox.archives
print(next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:")))
"""


def main() -> None:
    for what in ("tarfile", "paperbench"):
        done = subprocess.run(
            [sys.executable, "-c", IMPORTS, what], capture_output=True, text=True, check=True
        )
        print(f"an interpreter with {what} imported: {int(done.stdout) / 1024:.0f} MB")
    print(f"{'archive':34} {'extractor':12} {'outcome':62} {'MB':>7} {'s':>6} outside")
    for name, build in CASES.items():
        with tempfile.TemporaryDirectory() as folder:
            archive = build(Path(folder))
            figures = {}
            for label, code in (("safe_extract", MEASURE), ("stdlib data", BASELINE)):
                with tempfile.TemporaryDirectory() as work:
                    outcome, peak, seconds, outside = measure(code, archive, Path(work))
                figures[label] = peak
                print(
                    f"{name:34} {label:12} {outcome:62} {peak:7.0f} {seconds:6.2f} "
                    f"{'YES' if outside else 'no'}"
                )
            if figures["safe_extract"]:
                ratio = figures["stdlib data"] / figures["safe_extract"]
                print(f"{'':34} peak memory, stdlib / safe_extract: {ratio:.1f}x")


if __name__ == "__main__":
    main()
