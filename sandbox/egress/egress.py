"""The egress container of a `filtered` run: the forwarder to the model gateway (forward.py)
and an HTTP(S) proxy, mitmproxy, that enforces the paper's blacklist at the network level.

The policy comes as JSON in $PAPERBENCH_EGRESS: {"gateway": [host, port] or null,
"blacklist": [{"entry", "host", "path"}, ...], "allow": [CIDR, ...], "upstream_ca": PEM or ""}.

- Every request, HTTPS included, is intercepted (mitmproxy makes a certificate per site with a
  CA it creates at start in /tmp: each run has its own, whose private key never leaves this
  container; only the agent's container trusts it), so a path-level entry such as
  github.com/owner/repo is matched against the full URL. A blacklisted URL is answered 403 here
  and never leaves the container.
- Before any upstream connection the host is resolved here, every address it resolves to is
  checked (globally routable only, unless the run allows a range), and the connection is pinned
  to the checked address, so a name that resolves differently the second time cannot reach the
  cloud metadata address, the host or another run.
- Every fetch is printed as one line "PBEGRESS {json}" with method, URL, status, bytes, and
  what refused it; the harness reads these lines from the container's log.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from forward import serve  # noqa: E402
from mitmproxy import http  # noqa: E402
from mitmproxy.options import Options  # noqa: E402
from mitmproxy.proxy.server_hooks import ServerConnectionHookData  # noqa: E402
from mitmproxy.tools.dump import DumpMaster  # noqa: E402
from policy import address_allowed, blacklisted  # noqa: E402

PROXY_PORT = 3128
GATEWAY_PORT = 8080
CONFDIR = "/tmp/mitmproxy"
URL_CHARS = 2000


def say(**event: object) -> None:
    print("PBEGRESS " + json.dumps(event), flush=True)


class Egress:
    def __init__(self, policy: dict) -> None:
        self.targets = policy.get("blacklist") or []
        self.allowed = policy.get("allow") or []

    def request(self, flow: http.HTTPFlow) -> None:
        entry = blacklisted(flow.request.pretty_url, self.targets)
        if entry is not None:
            flow.metadata["pb_refused"] = f"blacklist: {entry}"
            flow.response = http.Response.make(
                403,
                f"paperbench: {flow.request.pretty_url} is blacklisted for this paper "
                f"({entry}); the request was refused and recorded.\n",
                {"content-type": "text/plain; charset=utf-8"},
            )

    async def server_connect(self, data: ServerConnectionHookData) -> None:
        host, port = data.server.address
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except OSError as error:
            data.server.error = f"cannot resolve {host}: {error}"
            return
        addresses = [info[4][0] for info in infos]
        refused = [address for address in addresses if not address_allowed(address, self.allowed)]
        if refused or not addresses:
            data.server.error = f"address {refused[0] if refused else '?'} is not allowed"
            say(event="refused-address", host=str(host)[:255], address=refused[:1])
            return
        data.server.address = (addresses[0], port)

    def response(self, flow: http.HTTPFlow) -> None:
        self._log(flow, flow.response.status_code if flow.response else 0)

    def error(self, flow: http.HTTPFlow) -> None:
        self._log(flow, 502, error=str(flow.error)[:300] if flow.error else "")

    def _log(self, flow: http.HTTPFlow, status: int, error: str = "") -> None:
        response = flow.response
        size = len(response.raw_content or b"") if response is not None else 0
        say(
            event="fetch",
            method=flow.request.method[:16],
            url=flow.request.pretty_url[:URL_CHARS],
            status=status,
            bytes=size,
            refused=flow.metadata.get("pb_refused") or (error if status == 502 else ""),
        )


async def main() -> None:
    policy = json.loads(os.environ.get("PAPERBENCH_EGRESS", "{}"))
    gateway = policy.get("gateway")
    if gateway:
        await serve(GATEWAY_PORT, str(gateway[0]), int(gateway[1]))
    os.makedirs(CONFDIR, exist_ok=True)
    options = Options(listen_host="0.0.0.0", listen_port=PROXY_PORT, confdir=CONFDIR)
    master = DumpMaster(options, with_termlog=False, with_dumper=False)
    master.addons.add(Egress(policy))
    update: dict[str, object] = {"connection_strategy": "lazy", "http2": True}
    if policy.get("upstream_ca"):
        path = os.path.join(CONFDIR, "upstream-ca.pem")
        with open(path, "w", encoding="ascii") as handle:
            handle.write(policy["upstream_ca"])
        update["ssl_verify_upstream_trusted_ca"] = path
    options.update(**update)
    running = asyncio.ensure_future(master.run())
    for _ in range(200):
        if os.path.exists(os.path.join(CONFDIR, "mitmproxy-ca-cert.pem")):
            break
        await asyncio.sleep(0.05)
    with open(os.path.join(CONFDIR, "mitmproxy-ca-cert.pem"), encoding="ascii") as handle:
        say(event="ready", service="proxy", ca=handle.read())
    await running


if __name__ == "__main__":
    asyncio.run(main())
