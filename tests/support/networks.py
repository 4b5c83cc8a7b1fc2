"""Helpers for the network tests: a local HTTPS server that stands in for the internet (a
container we create on a run's uplink network, with its own throwaway CA), and a counting HTTP
server on a host address we own. Nothing here sends a packet beyond this machine."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import docker
from aiohttp import web

from paperbench.sandbox import labels
from paperbench.sandbox.images import AGENT_IMAGE

WEB_SCRIPT = r"""
set -e
cd /tmp
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
  -subj /CN=paperbench-test-ca 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr -subj "/CN=$1" 2>/dev/null
printf "subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n" "$1" > ext
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 2 \
  -extfile ext 2>/dev/null
echo CA-BEGIN; cat ca.pem; echo CA-END
exec python3 -c '
import http.server, ssl
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("served " + self.path).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("0.0.0.0", 443), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain("/tmp/leaf.pem", "/tmp/leaf.key")
server.socket = context.wrap_socket(server.socket, server_side=True)
print("READY", flush=True)
server.serve_forever()
'
"""


@dataclass
class Website:
    container: str
    address: str
    ca_pem: str


def start_website(client: docker.DockerClient, run_id: str, network: str, hostname: str) -> Website:
    """An HTTPS server for ``hostname`` (a ``.test`` name: it resolves nowhere else) on
    ``network``, labelled with ``run_id`` so leftover checks find it."""
    api = client.api
    created = api.create_container(
        AGENT_IMAGE,
        command=["sh", "-c", WEB_SCRIPT, "sh", hostname],
        labels=labels.sandbox_labels(run_id, "website"),
        host_config=api.create_host_config(network_mode=network),
        networking_config=api.create_networking_config(
            {network: api.create_endpoint_config(aliases=[hostname])}
        ),
        detach=True,
    )
    container = str(created["Id"])
    api.start(container)
    deadline = time.monotonic() + 60
    while b"READY" not in (logs := api.logs(container)):
        if time.monotonic() > deadline:
            raise AssertionError(f"the test website did not start: {logs[-500:]!r}")
        time.sleep(0.1)
    text = logs.decode()
    ca = text.split("CA-BEGIN\n", 1)[1].split("CA-END", 1)[0]
    details = api.inspect_container(container)["NetworkSettings"]["Networks"][network]
    return Website(container, str(details["IPAddress"]), ca)


@dataclass
class CountingServer:
    """An HTTP server on a host address; ``hits`` counts the requests that reached it."""

    host: str
    port: int = 0
    hits: list[str] = field(default_factory=list)


@asynccontextmanager
async def counting_server(host: str) -> AsyncIterator[CountingServer]:
    server = CountingServer(host)

    async def hit(request: web.Request) -> web.Response:
        server.hits.append(request.path)
        return web.Response(text="reached the host")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", hit)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    server.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield server
    finally:
        await runner.cleanup()
        await asyncio.sleep(0)
