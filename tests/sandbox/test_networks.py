"""The network policies hold against a real Docker engine.

``gateway``: the agent's container reaches the run's gateway (through its egress container) and
nothing else — not the host's other services, not the gateway's host address directly, not
another run. ``filtered``: blacklisted URLs are refused by the proxy with a 403 and logged,
allowed ones are fetched (a local HTTPS server stands in for the internet), and addresses that
are not on the internet are refused before any connection. Every target here is a container or
a host address the test created; nothing is sent beyond this machine.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import docker
import pytest

from paperbench.sandbox import DockerSandbox, Sandbox
from paperbench.sandbox.cleanup import remove_leftovers
from paperbench.sandbox.networks import BlacklistTarget, RunNetwork
from tests.support.networks import counting_server, start_website
from tests.support.sandbox import leftovers, new_run_id, run, spec

pytestmark = pytest.mark.docker

CONNECT = """
import socket, sys
s = socket.socket()
s.settimeout(3)
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    print("connected")
except OSError as error:
    print("failed", type(error).__name__)
"""
FETCH = """
import sys, urllib.request, urllib.error
try:
    with urllib.request.urlopen(sys.argv[1], timeout=20) as reply:
        print(reply.status, reply.read().decode())
except urllib.error.HTTPError as error:
    print(error.code, error.read().decode()[:200])
"""


def labelled_networks(client: docker.DockerClient, run_id: str) -> list[str]:
    found = client.api.networks(filters={"label": f"org.paperbench.run-id={run_id}"})
    return [str(network["Name"]) for network in found]


@pytest.fixture
def net_run(docker_engine: docker.DockerClient, agent_image: str) -> Iterator[str]:
    """A run id; afterwards none of its containers, volumes or networks may remain."""
    run_id = new_run_id("net")
    yield run_id
    assert leftovers(docker_engine, run_id) == []
    assert labelled_networks(docker_engine, run_id) == []


async def connect(sandbox: Sandbox, host: str, port: int) -> str:
    result = await sandbox.exec(["python3", "-c", CONNECT, host, str(port)], timeout=30)
    return result.stdout.strip()


def host_ipv4_on_bridge(client: docker.DockerClient, network: str) -> str:
    bridge = "br-" + str(client.api.inspect_network(network)["Id"])[:12]
    shown = subprocess.run(
        ["ip", "-o", "-4", "addr", "show", "dev", bridge], capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr
    return shown.stdout.strip()


def test_a_gateway_container_reaches_the_gateway_and_no_other_address(
    net_run: str, agent_image: str, docker_engine: docker.DockerClient
) -> None:
    async def scenario() -> dict[str, object]:
        async with RunNetwork("gateway", net_run) as network:
            host = await network.create()
            async with counting_server(host) as gateway, counting_server(host) as other:
                await network.start_egress(gateway.port)
                sandbox_spec = spec(agent_image, net_run, network=network.agent_network)
                async with DockerSandbox(sandbox_spec) as sandbox:
                    through = await sandbox.exec(
                        ["python3", "-c", FETCH, f"{network.gateway_url}/v1/models"], timeout=30
                    )
                    layout = await sandbox.exec(
                        ["sh", "-c", "ls /sys/class/net; cat /proc/net/if_inet6; "
                         "awk 'NR>1 {print $1}' /proc/net/route | sort -u"],
                        timeout=30,
                    )  # fmt: skip
                    return {
                        "through": through.stdout.strip(),
                        "gateway_hits": list(gateway.hits),
                        "direct_gateway": await connect(sandbox, host, gateway.port),
                        "host_service": await connect(sandbox, host, other.port),
                        "other_hits": list(other.hits),
                        "layout": layout.stdout.split(),
                        "bridge_ipv4": host_ipv4_on_bridge(docker_engine, network.agent_network),
                    }

    seen = run(scenario())
    assert seen["through"] == "200 reached the host" and seen["gateway_hits"] == ["/v1/models"]
    assert seen["direct_gateway"].startswith("failed")  # type: ignore[union-attr]
    assert seen["host_service"].startswith("failed") and seen["other_hits"] == []  # type: ignore[union-attr]
    # Interfaces: eth0 and lo only, no IPv6 address; every route leaves through eth0, and the
    # host holds no IPv4 address on the agent's network, so the default route leads nowhere.
    assert seen["layout"] == ["eth0", "lo", "eth0"]
    assert seen["bridge_ipv4"] == ""


def test_two_runs_cannot_reach_each_other(
    agent_image: str, docker_engine: docker.DockerClient
) -> None:
    runs = [new_run_id("net-a"), new_run_id("net-b")]
    serve = "python3 -m http.server 8000 --bind 0.0.0.0 >/dev/null 2>&1 &"
    address = "hostname -I"

    async def scenario() -> dict[str, str]:
        async with (
            RunNetwork("gateway", runs[0]) as first,
            RunNetwork("gateway", runs[1]) as second,
        ):
            for network in (first, second):
                host = await network.create()
                await network.start_egress(1)  # a forwarder to a closed port is enough here
            spec_a = spec(agent_image, runs[0], network=first.agent_network)
            spec_b = spec(agent_image, runs[1], network=second.agent_network)
            async with DockerSandbox(spec_a) as a, DockerSandbox(spec_b) as b:
                await b.exec(["sh", "-c", serve], timeout=30)
                b_address = (await b.exec(["sh", "-c", address], timeout=30)).stdout.split()[0]
                egress_b = docker_engine.api.inspect_container(str(second.egress_id))
                egress_b_address = egress_b["NetworkSettings"]["Networks"][second.agent_network][
                    "IPAddress"
                ]
                return {
                    "b_itself": await connect(b, "127.0.0.1", 8000),
                    "a_to_b": await connect(a, b_address, 8000),
                    "a_to_b_gateway": await connect(a, egress_b_address, 8080),
                    "host": host,
                }

    seen = run(scenario())
    assert seen["b_itself"] == "connected"  # the listener is up...
    assert seen["a_to_b"].startswith("failed")  # ...and out of the other run's reach
    assert seen["a_to_b_gateway"].startswith("failed")
    for run_id in runs:
        assert leftovers(docker_engine, run_id) == []
        assert labelled_networks(docker_engine, run_id) == []


def test_the_filtered_proxy_refuses_and_logs_blacklisted_urls_and_fetches_allowed_ones(
    net_run: str, agent_image: str, docker_engine: docker.DockerClient
) -> None:
    blocked = BlacklistTarget(
        entry="code.test/owner/blocked", host="code.test", path="/owner/blocked"
    )

    async def scenario() -> tuple[dict[str, str], list[str], list[object]]:
        async with RunNetwork("filtered", net_run, blacklist=[blocked]) as network:
            host = await network.create()
            site = start_website(docker_engine, net_run, network.uplink_network, "code.test")
            try:
                network.allow = [f"{site.address}/32"]
                network.upstream_ca = site.ca_pem
                async with counting_server(host) as private:
                    await network.start_egress(None)
                    sandbox_spec = spec(
                        agent_image,
                        net_run,
                        network=network.agent_network,
                        env=network.sandbox_env(),
                        output_limit_bytes=65536,
                    )
                    async with DockerSandbox(sandbox_spec) as sandbox:
                        await network.install_ca(sandbox)
                        urls = {
                            "allowed": "https://code.test/owner/allowed/data.txt",
                            "blocked": "https://code.test/owner/blocked/raw/main/train.py",
                            "blocked_git": "https://code.test/OWNER/blocked.git/info/refs",
                            "private": f"http://{host}:{private.port}/secret",
                        }
                        seen = {}
                        for name, url in urls.items():
                            fetched = await sandbox.exec(["python3", "-c", FETCH, url], timeout=60)
                            seen[name] = fetched.stdout.strip()
                    return seen, list(private.hits), list(network.fetches())
            finally:
                docker_engine.api.remove_container(site.container, force=True)

    seen, private_hits, fetches = run(scenario())
    assert seen["allowed"] == "200 served /owner/allowed/data.txt"
    assert seen["blocked"].startswith("403 paperbench:") and "blacklisted" in seen["blocked"]
    assert seen["blocked_git"].startswith("403")
    assert seen["private"].startswith("502") and private_hits == []
    logged = {(f.method, f.url, f.status, bool(f.refused)) for f in fetches}  # type: ignore[attr-defined]
    assert ("GET", "https://code.test/owner/allowed/data.txt", 200, False) in logged
    assert ("GET", "https://code.test/owner/blocked/raw/main/train.py", 403, True) in logged
    allowed = next(f for f in fetches if f.status == 200)  # type: ignore[attr-defined]
    assert allowed.bytes == len("served /owner/allowed/data.txt")  # type: ignore[attr-defined]
    refused = [f.refused for f in fetches if f.status == 403]  # type: ignore[attr-defined]
    assert refused and all(reason == "blacklist: code.test/owner/blocked" for reason in refused)


def test_the_proxy_ca_is_made_per_run(net_run: str, docker_engine: docker.DockerClient) -> None:
    second_run = new_run_id("net")

    async def scenario() -> tuple[str | None, str | None]:
        async with (
            RunNetwork("filtered", net_run) as one,
            RunNetwork("filtered", second_run) as two,
        ):
            for network in (one, two):
                await network.create()
                await network.start_egress(None)
            return one.ca_pem, two.ca_pem

    first, second = run(scenario())
    assert first and second and "BEGIN CERTIFICATE" in first and first != second
    assert labelled_networks(docker_engine, second_run) == []


def test_networks_a_killed_run_left_are_removed_by_the_leftover_cleanup(
    net_run: str, docker_engine: docker.DockerClient
) -> None:
    network = RunNetwork("gateway", net_run)

    async def start() -> None:
        await network.create()
        await network.start_egress(1)

    run(start())  # and never closed, as after a SIGKILL
    assert len(labelled_networks(docker_engine, net_run)) == 2
    removed = remove_leftovers(docker_engine, net_run)
    assert [item.kind for item in removed] == ["container"]
    assert labelled_networks(docker_engine, net_run) == []
