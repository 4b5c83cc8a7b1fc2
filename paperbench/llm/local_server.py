"""The child process that serves a GGUF model with xllamacpp on loopback.

Run by :class:`paperbench.llm.local.LocalModelServer`, never by hand. xllamacpp runs llama.cpp's
HTTP server on a thread of the process that creates it and writes its log to that process's
stderr; running it in a child of its own keeps that log out of the caller's output (it goes to a
file) and lets the caller stop it by pid. The child writes the server's address to
``--ready-file`` once it answers, then waits for SIGTERM — or for its parent to die, so a
crashed grade never leaves a model server behind.

Threads: one for generating tokens, every core for reading the prompt. Generation of a 135M
model is bound by memory, not arithmetic, and llama.cpp's threads wait for each other at every
token: on a 2-core machine with other work running, two generation threads ran at 1-2 tokens a
second against 15-39 for one (measured side by side, load 8-10), while reading the prompt was
no slower with two.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m paperbench.llm.local_server")
    parser.add_argument("--model", required=True)
    parser.add_argument("--ctx", type=int, default=8192)
    parser.add_argument("--threads", type=int, default=1)
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
