"""A harness process that holds two sandboxes, one of them running a long command, until it is
signalled. Run as ``python hold_sandboxes.py BACKEND RUN_ID IMAGE``; it prints one line
``ready <work dir> <pid of the long command>`` when both are up. Used by test_cleanup.py."""

from __future__ import annotations

import asyncio
import signal
import sys

from paperbench.sandbox import SandboxSpec, make_sandbox


async def hold(backend: str, run_id: str, image: str) -> None:
    spec = SandboxSpec(
        image=image, run_id=run_id, stage="test", memory_mb=256, allow_unsafe_local=True
    )
    async with make_sandbox(spec, backend) as first, make_sandbox(spec, backend) as second:  # type: ignore[arg-type]
        long = asyncio.create_task(first.exec(["sh", "-c", "echo $$ > long.pid; exec sleep 300"]))
        while not (await first.exec(["test", "-s", "long.pid"])).success:
            pass
        pid = (await first.read_file("long.pid")).strip()
        await second.exec(["true"])
        print("ready", first.work_dir, pid, flush=True)
        await long


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with it ignored
    asyncio.run(hold(*sys.argv[1:4]))
