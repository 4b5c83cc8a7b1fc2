"""Asking a self-hosted model server how long its context is, so the user need not say.

Servers that speak the Chat Completions API report their context window in their own ways:

* vLLM: ``GET {base}/models`` lists each model with ``max_model_len``;
* llama.cpp's server: ``GET {root}/props`` gives ``n_ctx`` under
  ``default_generation_settings`` (older builds: at the top level);
* Ollama: ``POST {root}/api/show`` gives ``model_info`` with ``<arch>.context_length``.

Each is tried with a short timeout; an answer that is not a positive integer below 100 million
tokens is ignored (the server is not trusted to be sane). ``None`` means no server said.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

TIMEOUT_SECONDS = 3.0
MAX_WINDOW = 100_000_000
MAX_REPLY_BYTES = 1 << 20


def _root(base_url: str) -> str:
    trimmed = base_url.rstrip("/")
    return trimmed[: -len("/v1")] if trimmed.endswith("/v1") else trimmed


def _window(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < MAX_WINDOW:
        return value
    return None


def _json(url: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json"} if data else {}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            if response.status != 200:
                return None
            raw = response.read(MAX_REPLY_BYTES + 1)
    except (urllib.error.URLError, OSError, ValueError):
        return None
    if len(raw) > MAX_REPLY_BYTES:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def server_context_window(base_url: str, model: str) -> int | None:
    """The context window the server at ``base_url`` reports for ``model``, or None."""
    if not base_url.startswith(("http://", "https://")):
        return None
    root = _root(base_url)
    listing = _json(base_url.rstrip("/") + "/models")
    if isinstance(listing, dict) and isinstance(listing.get("data"), list):
        entries = [entry for entry in listing["data"] if isinstance(entry, dict)]
        chosen = [entry for entry in entries if entry.get("id") == model] or entries[:1]
        for entry in chosen:
            if (found := _window(entry.get("max_model_len"))) is not None:
                return found
    props = _json(root + "/props")
    if isinstance(props, dict):
        settings = props.get("default_generation_settings")
        nested = settings.get("n_ctx") if isinstance(settings, dict) else None
        if (found := _window(nested) or _window(props.get("n_ctx"))) is not None:
            return found
    shown = _json(root + "/api/show", {"model": model})
    if isinstance(shown, dict) and isinstance(shown.get("model_info"), dict):
        for key, value in shown["model_info"].items():
            if str(key).endswith(".context_length") and (found := _window(value)):
                return found
    return None
