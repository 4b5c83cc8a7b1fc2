"""The child process that serves a GGUF model with xllamacpp on loopback.

Run by :class:`paperbench.llm.local.LocalModelServer`, never by hand. xllamacpp runs llama.cpp's
HTTP server on a thread of the process that creates it and writes its log to that process's
stderr; running it in a child of its own keeps that log out of the caller's output (it goes to a
file) and lets the caller stop it by pid. The child writes the server's address to
``--ready-file`` once it answers, then waits for SIGTERM — or for its parent to die, so a
crashed grade never leaves a model server behind.

Threads: every core for reading the prompt; for generating tokens, every core only when the
machine is otherwise idle, else one. llama.cpp's threads wait for each other at every token, so
on a 2-core machine with other work running two generation threads ran at 1-2 tokens a second
against 15-39 for one (load 8-10), and at 6.4 against 10 with two CPU-bound processes beside
them; on an idle machine two ran at 24 against 15 for one (after a 6.5k-token prompt).
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
from pathlib import Path


def generation_threads() -> int:
    """Every core when the machine is otherwise idle, else one (see the module docstring)."""
    cores = os.cpu_count() or 1
    return cores if os.getloadavg()[0] < cores - 0.5 else 1


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m paperbench.llm.local_server")
    parser.add_argument("--model", required=True)
    parser.add_argument("--ctx", type=int, default=8192)
    parser.add_argument("--threads", type=int, default=generation_threads())
    parser.add_argument("--threads-batch", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--ready-file", required=True)
    args = parser.parse_args(argv)

    import xllamacpp  # type: ignore[import-untyped]

    params = xllamacpp.CommonParams()
    params.model.path = args.model
    params.model_alias = {Path(args.model).stem}
    params.n_ctx = args.ctx
    params.n_parallel = 1
    params.hostnames = ["127.0.0.1"]
    params.port = 0
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads_batch
    params.cache_prompt = True
    params.n_batch = params.n_ubatch = 2048  # the prompt in fewer, larger steps
    server = xllamacpp.Server(params)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    parent = os.getppid()

    ready = Path(args.ready_file)
    partial = ready.with_suffix(".partial")
    partial.write_text(server.listening_address, encoding="utf-8")
    partial.replace(ready)
    while not stop.wait(1.0):
        if os.getppid() != parent:
            break
    del server


if __name__ == "__main__":
    main()
