"""Per-run networks for agent containers, and the egress container that is their only way out.

An agent's network policy (a paper's ``agent.network``, or ``--agent-network`` for one run):

=============  ===============================================================================
``none``       no network at all (``network_mode: none``): the host-side loops need nothing
               else, since their model calls happen on the host
``gateway``    only the run's model gateway (the default for bring-your-own agents)
``filtered``   the model gateway, plus the web through an egress proxy that enforces the
               paper's blacklist on every request, HTTPS included
``bridge``     Docker's default bridge: the internet, unfiltered (the blacklist is then only
               checked afterwards, by the transcript monitor)
=============  ===============================================================================

How ``gateway`` and ``filtered`` are built, and why this way:

- The agent container is attached to one network of its own, **internal** (Docker routes
  nothing from it anywhere) and created with ``inhibit_ipv4``, so the host has no address on it
  either: on a plain internal network the host's bridge address answers, and with it every host
  service listening on all interfaces (a model server, a database), which would let the agent
  bypass the gateway's metering. Without IPv6 (Docker gives it none) and without ``NET_RAW`` or
  ``NET_ADMIN`` (the sandbox drops every capability but file ownership), the container can send
  to exactly one other machine: the run's egress container, the only other member of the
  network, known there as ``gateway`` and ``proxy``. Containers of other runs are on other
  networks; the cloud metadata address has no route; there is not even DNS beyond Docker's names
  on this network (internal networks resolve nothing outside).
- The **egress container** is also on a second network of the run, the *uplink*: internal for
  ``gateway`` (it needs the host's bridge address there and nothing else), a NAT bridge for
  ``filtered``. It runs, as ``nobody`` with no capabilities and a read-only root, a
  standard-library TCP forwarder from ``gateway:8080`` to the model gateway, which listens on the
  host's address on the uplink (``sandbox/egress/forward.py``, on the agent image); and for
  ``filtered``, mitmproxy at ``proxy:3128`` (``sandbox/egress/egress.py``, on the egress image),
  which intercepts HTTPS with a CA it creates at start (per run; its key never leaves the egress
  container; only this run's agent container is made to trust its certificate), answers a
  blacklisted URL 403 before anything leaves, checks every address a host resolves to
  (globally routable only, unless a range is allowed for the run) and pins the connection to
  it, and logs every fetch. The egress container is ours and small; the agent reaches it only
  through the two ports it serves.
- The model gateway itself checks the run's token on every call, so even a process that reached
  another run's gateway (only the egress containers could, through the host) could not use it.

The whole set — two networks and one container, all labelled with the run id like sandboxes —
is created by :meth:`RunNetwork.create` and :meth:`RunNetwork.start_egress` and removed by
:meth:`RunNetwork.close`; :func:`remove_run_networks` removes what a killed process left.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from typing import Any, Literal

import docker
from docker.errors import DockerException, NotFound
from docker.types import LogConfig
from pydantic import BaseModel, Field

from paperbench.resources import resource_dir
from paperbench.sandbox import labels as sandbox_labels
from paperbench.sandbox.base import Sandbox
from paperbench.sandbox.egress_image import EGRESS_IMAGE
from paperbench.sandbox.errors import SandboxError, SandboxStartError
from paperbench.sandbox.images import AGENT_IMAGE, require_image
from paperbench.sandbox.threads import in_thread

#: ``open`` is the network of a ``bridge`` agent that runs in its container: an ordinary
#: bridge of its own, whose host address the model gateway listens on (no egress container).
EgressPolicy = Literal["gateway", "filtered", "open"]
GATEWAY_ALIAS = "gateway"
PROXY_ALIAS = "proxy"
GATEWAY_PORT = 8080
PROXY_PORT = 3128
EGRESS_STAGE = "egress"
CA_FILE = "/usr/local/share/ca-certificates/paperbench-egress.crt"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
READY_SECONDS = 60.0
#: The egress log kept by Docker (the last this many bytes).
LOG_BYTES = "16m"
_MARK = b"PBEGRESS "
_INHIBIT_IPV4 = "com.docker.network.bridge.inhibit_ipv4"


class Fetch(BaseModel):
    """One request through the egress proxy, as its log line said (checked, bounded)."""

    method: str = Field(max_length=16)
    url: str = Field(max_length=2000)
    status: int
    bytes: int = Field(ge=0)
    refused: str = Field(default="", max_length=400)


class BlacklistTarget(BaseModel):
    """A blacklist entry as the proxy matches it: the host and path the monitor normalises."""

    entry: str
    host: str
    path: str


class RunNetwork:
    """The networks and egress container of one run (see the module docstring)."""

    def __init__(
        self,
        policy: EgressPolicy,
        run_id: str,
        *,
        blacklist: Sequence[BlacklistTarget] = (),
        allow: Sequence[str] = (),
        upstream_ca: str | None = None,
        client: docker.DockerClient | None = None,
    ) -> None:
        self.policy = policy
        self.run_id = run_id
        self.blacklist = list(blacklist)
        self.allow = list(allow)
        self.upstream_ca = upstream_ca
        self._client = client
        tag = uuid.uuid4().hex[:8]
        self.agent_network = f"paperbench-{run_id}-{tag}-agent"
        self.uplink_network = f"paperbench-{run_id}-{tag}-uplink"
        self.egress_name = f"paperbench-{run_id}-{EGRESS_STAGE}-{tag}"
        self.uplink_host: str | None = None
        self.egress_id: str | None = None
        self.ca_pem: str | None = None
        self.gateway_url = f"http://{GATEWAY_ALIAS}:{GATEWAY_PORT}"
        self.proxy_url = f"http://{PROXY_ALIAS}:{PROXY_PORT}" if policy == "filtered" else None

    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            from paperbench.sandbox.docker_backend import shared_client

            self._client = shared_client()
        return self._client

    # -- lifecycle ------------------------------------------------------------------------------

    async def create(self) -> str:
        """Create both networks; returns the host's address on the uplink, where the model
        gateway must listen.

        Raises:
            SandboxStartError: the engine refused to create them (e.g. no address space left).
        """
        return await in_thread(self._create_sync)

    def _create_sync(self) -> str:
        tags = sandbox_labels.sandbox_labels(self.run_id, "network")
        api = self.client.api
        try:
            if self.policy == "open":
                api.create_network(self.agent_network, driver="bridge", labels=tags)
                details = api.inspect_network(self.agent_network)
                self.uplink_host = str(details["IPAM"]["Config"][0]["Gateway"])
                return self.uplink_host
            api.create_network(
                self.agent_network,
                driver="bridge",
                internal=True,
                options={_INHIBIT_IPV4: "true"},
                labels=tags,
            )
            api.create_network(
                self.uplink_network,
                driver="bridge",
                internal=self.policy == "gateway",
                labels=tags,
            )
            details = api.inspect_network(self.uplink_network)
            host = details["IPAM"]["Config"][0]["Gateway"]
        except (DockerException, KeyError, IndexError) as error:
            self._close_sync()
            raise SandboxStartError(f"cannot create the run's networks: {_line(error)}") from None
        self.uplink_host = str(host)
        return self.uplink_host

    async def start_egress(self, gateway_port: int | None) -> None:
        """Start the egress container: the forwarder to ``gateway_port`` on the host's uplink
        address (None: no gateway), and for ``filtered`` the proxy; returns once they listen.

        Raises:
            ImageMissingError: the egress image (``filtered``) is not built.
            SandboxStartError: the container did not start or did not become ready.
        """
        await in_thread(lambda: self._start_egress_sync(gateway_port))

    def _start_egress_sync(self, gateway_port: int | None) -> None:
        if self.uplink_host is None:
            raise SandboxStartError("create the run's networks before its egress container")
        api = self.client.api
        target = [self.uplink_host, gateway_port] if gateway_port else None
        environment: dict[str, str] = {}
        if self.policy == "filtered":
            image = EGRESS_IMAGE
            command = ["/opt/egress/venv/bin/python", "/opt/egress/egress.py"]
            environment["PAPERBENCH_EGRESS"] = json.dumps(
                {
                    "gateway": target,
                    "blacklist": [t.model_dump() for t in self.blacklist],
                    "allow": self.allow,
                    "upstream_ca": self.upstream_ca or "",
                }
            )
        elif target is not None and self.policy == "gateway":
            image = AGENT_IMAGE
            source = (resource_dir("sandbox") / "egress" / "forward.py").read_text("utf-8")
            command = ["python3", "-c", source, str(GATEWAY_PORT), str(target[0]), str(target[1])]
        else:
            return  # nothing to serve: the agent's network stays empty
        require_image(self.client, image)
        tags = sandbox_labels.sandbox_labels(self.run_id, EGRESS_STAGE)
        try:
            host_config = api.create_host_config(
                network_mode=self.uplink_network,
                cap_drop=["ALL"],
                security_opt=["no-new-privileges:true"],
                read_only=True,
                tmpfs={"/tmp": "rw,nosuid,nodev,size=64m,mode=1777"},
                pids_limit=256,
                mem_limit=768 * 1024 * 1024,
                nano_cpus=1_000_000_000,
                init=True,
                log_config=LogConfig(
                    type="json-file", config={"max-size": LOG_BYTES, "max-file": "1"}
                ),
            )
            created = api.create_container(
                image,
                command=command,
                name=self.egress_name,
                user="nobody",
                environment=environment,
                labels=tags,
                host_config=host_config,
                hostname="egress",
                detach=True,
            )
            self.egress_id = str(created["Id"])
            api.connect_container_to_network(
                self.egress_id, self.agent_network, aliases=[GATEWAY_ALIAS, PROXY_ALIAS]
            )
            api.start(self.egress_id)
        except DockerException as error:
            raise SandboxStartError(
                f"cannot start the run's egress container: {_line(error)}"
            ) from None
        wanted = {"gateway"} if target else set()
        if self.policy == "filtered":
            wanted.add("proxy")
        self._wait_ready(wanted)

    def _wait_ready(self, wanted: set[str]) -> None:
        assert self.egress_id is not None
        deadline = time.monotonic() + READY_SECONDS
        while True:
            ready = {}
            for event in self._events():
                if event.get("event") == "ready" and isinstance(event.get("service"), str):
                    ready[event["service"]] = event
            if wanted <= set(ready):
                ca = ready.get("proxy", {}).get("ca")
                if isinstance(ca, str) and "BEGIN CERTIFICATE" in ca and len(ca) < 20_000:
                    self.ca_pem = ca
                return
            state = self.client.api.inspect_container(self.egress_id)["State"]
            if not state.get("Running") or time.monotonic() > deadline:
                tail = self.client.api.logs(self.egress_id, stdout=False, stderr=True, tail=5)
                why = tail.decode("utf-8", "replace").strip().replace("\n", " | ")[-400:]
                raise SandboxStartError(
                    f"the run's egress container did not become ready "
                    f"({'exited' if not state.get('Running') else 'timed out'}): {why}"
                )
            time.sleep(0.1)

    def _events(self) -> list[dict[str, Any]]:
        """The PBEGRESS lines of the egress container's log, parsed; others are skipped."""
        if self.egress_id is None:
            return []
        try:
            raw = self.client.api.logs(self.egress_id, stdout=True, stderr=False)
        except DockerException:
            return []
        events = []
        for line in raw.splitlines():
            if not line.startswith(_MARK) or len(line) > 64 * 1024:
                continue
            try:
                event = json.loads(line[len(_MARK) :])
            except (ValueError, RecursionError):
                continue
            if isinstance(event, dict):
                events.append(event)
        return events

    async def close(self) -> None:
        """Remove the egress container and both networks; idempotent.

        Raises:
            SandboxError: something could not be removed (it is labelled, so ``paperbench
                sandbox cleanup`` finds it).
        """
        await in_thread(self._close_sync)

    def _close_sync(self) -> None:
        api = self.client.api
        problems = []
        if self.egress_id is not None:
            try:
                api.remove_container(self.egress_id, force=True, v=True)
            except NotFound:
                pass
            except DockerException as error:
                problems.append(f"container {self.egress_name}: {_line(error)}")
        for name in (self.agent_network, self.uplink_network):
            try:
                api.remove_network(name)
            except NotFound:
                pass
            except DockerException as error:
                problems.append(f"network {name}: {_line(error)}")
        if problems:
            raise SandboxError(f"could not remove {'; '.join(problems)}")

    async def __aenter__(self) -> RunNetwork:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- what the agent's container gets --------------------------------------------------------

    def sandbox_env(self) -> dict[str, str]:
        """The agent container's environment for this policy: for ``filtered``, the proxy and
        the CA bundle every common client reads (the CA itself is added by
        :meth:`install_ca`); nothing secret."""
        if self.proxy_url is None:
            return {}
        env = {
            name: self.proxy_url
            for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")
        }
        env.update({"NO_PROXY": GATEWAY_ALIAS, "no_proxy": GATEWAY_ALIAS})
        for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "PIP_CERT"):
            env[name] = CA_BUNDLE
        env["GIT_SSL_CAINFO"] = CA_BUNDLE
        env["NODE_EXTRA_CA_CERTS"] = CA_FILE
        return env

    async def install_ca(self, sandbox: Sandbox) -> None:
        """Make ``sandbox`` trust this run's proxy CA (and only it: the CA is made per run).

        Raises:
            SandboxError: the certificate could not be installed.
        """
        if self.ca_pem is None:
            return
        await sandbox.write_file(CA_FILE, self.ca_pem)
        result = await sandbox.exec(["update-ca-certificates"], user="root", timeout=120)
        if not result.success:
            raise SandboxError(
                f"could not install the egress CA in the agent's container: {result.stderr[-300:]}"
            )

    def fetches(self) -> list[Fetch]:
        """Every request through the proxy, in order (the last ``LOG_BYTES`` of the log)."""
        found = []
        for event in self._events():
            if event.get("event") != "fetch":
                continue
            try:
                found.append(
                    Fetch(
                        method=str(event.get("method", ""))[:16],
                        url=str(event.get("url", ""))[:2000],
                        status=int(event.get("status", 0)),
                        bytes=max(0, int(event.get("bytes", 0))),
                        refused=str(event.get("refused", ""))[:400],
                    )
                )
            except (TypeError, ValueError):
                continue
        return found


def remove_run_networks(client: docker.DockerClient, run_id: str | None = None) -> list[str]:
    """Remove the labelled networks of ``run_id`` (all runs: None) that no container uses any
    more; returns their names. Containers go first (``remove_leftovers``).

    Raises:
        docker.errors.APIError: the engine refused to list them.
    """
    removed = []
    selector = {"label": sandbox_labels.label_filter(run_id=run_id)}
    for network in client.api.networks(filters=selector):
        try:
            client.api.remove_network(network["Id"])
        except NotFound:
            continue
        except DockerException:
            continue  # still in use by something we do not own
        removed.append(str(network.get("Name", network["Id"])))
    return removed


def _line(error: BaseException) -> str:
    text = getattr(error, "explanation", None) or str(error) or type(error).__name__
    return str(text).strip().splitlines()[0][:300]
