"""A TCP forwarder in the standard library: the run's egress container listens on the agent's
network (as "gateway", port 8080) and passes every connection's bytes, unread, to the model
gateway on the host. It runs on any image with python3; the agent container cannot reach the
host at all, so this is its only way to the gateway, and the gateway's token is what it must
show there.

Usage: python3 forward.py LISTEN_PORT TARGET_HOST TARGET_PORT
Prints one line "PBEGRESS {...ready...}" once it listens.
"""

from __future__ import annotations

import asyncio
import json
import sys


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            data = await reader.read(256 * 1024)
            if not data:
                break
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (OSError, asyncio.IncompleteReadError):
        pass


async def serve(listen_port: int, target_host: str, target_port: int) -> asyncio.Server:
    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            upstream_r, upstream_w = await asyncio.wait_for(
                asyncio.open_connection(target_host, target_port), timeout=10
            )
        except (OSError, asyncio.TimeoutError):
            client_w.close()
            return
        try:
            await asyncio.gather(_pipe(client_r, upstream_w), _pipe(upstream_r, client_w))
        finally:
            for writer in (client_w, upstream_w):
                writer.close()

    server = await asyncio.start_server(handle, "0.0.0.0", listen_port, backlog=256)
    print("PBEGRESS " + json.dumps({"event": "ready", "service": "gateway"}), flush=True)
    return server


async def _main() -> None:
    port, host, target = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    server = await serve(port, host, target)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(_main())
