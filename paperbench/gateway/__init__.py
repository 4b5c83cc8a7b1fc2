"""The model gateway: how an agent running in its own container calls a model without ever
holding an API key, and within the run's limits.

For a bring-your-own agent (:mod:`paperbench.agents.container`), each run gets a gateway on the
host that speaks the OpenAI Chat Completions, OpenAI Responses and Anthropic Messages APIs and
forwards every call, translated, to the run's provider (any of :mod:`paperbench.llm`), with the
real key, which never leaves the host. In the order a call goes through it:

- :mod:`~paperbench.gateway.server` — the HTTP server: the per-run token, body and concurrency
  bounds, routing, errors in each API's shape, streaming;
- :mod:`~paperbench.gateway.chat`, :mod:`~paperbench.gateway.responses`,
  :mod:`~paperbench.gateway.messages` — each API's requests into a
  :class:`~paperbench.llm.types.GenerateRequest` and a completion back into its replies and
  server-sent events (:mod:`~paperbench.gateway.wire` holds what they share);
- :mod:`~paperbench.gateway.session` — the run's side: limits, metering with the price table,
  the clock, and the transcript in the format our own loops write.

How the container reaches the gateway, and nothing else, is :mod:`paperbench.sandbox.networks`.
"""

from __future__ import annotations

from paperbench.gateway.server import ModelGateway, new_token
from paperbench.gateway.session import CallRefused, GatewaySession

__all__ = ["CallRefused", "GatewaySession", "ModelGateway", "new_token"]
