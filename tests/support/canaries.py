"""A whole run in which a canary secret arrives by every door the harness knows, for the test
that greps everything the run wrote.

The run goes through the library (:class:`paperbench.runs.orchestrator.Orchestrator`) on the
local sandbox backend, so it needs no Docker: an in-process agent that leaks canaries into its
transcript and dies with the provider key in its error message, the real reproduction stage,
and the scripted judge, whose every reply repeats the ``Authorization`` header it received and
every canary, as a provider echoing a key or a judge quoting one would. Everything that sets the
run up lives here, so the test reads as what it checks.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from paperbench import secrets
from paperbench.agents.options import AgentOptions
from paperbench.agents.protocol import AgentContext, AgentResult
from paperbench.agents.specs import AgentSpec
from paperbench.grading.options import JudgeOptions
from paperbench.papers import PaperBundle, load_bundle
from paperbench.runs import provenance
from paperbench.runs.orchestrator import Orchestrator
from paperbench.runs.record import RunRecord
from paperbench.runs.settings import RunOptions, RunSettings
from tests.support.inprocess import local
from tests.support.llm_server import RecordedRequest, Reply, ScriptedLLMServer, fill_schema
from tests.support.runs import write_paper

#: How each canary reaches the harness, and its value. None is shaped like a known key, so
#: only redaction by value catches them — except ``key-shaped``, which only the patterns can.
CANARIES = {
    "provider key from the environment": "canary-provider-key-4f1c9e",
    "password in the judge URL": "canary-url-pass-8d2b",
    "password in OPENAI_BASE_URL": "canary-env-url-pass-5e17",
    "value in a --secrets file": "canary-secrets-file-71aa",
    "bare line in a --secrets file": "canary-bare-secret-line-09",
    "config value of a secret-named key": "canary-config-value-3e5d",
    "command-line --api-key": "canary-command-line-6c40",
    "key-shaped, never registered": "hf_CanaryNeverRegisteredButKeyShaped0123",
}


@dataclass
class CanaryRun:
    runs_dir: Path
    home: Path
    record: RunRecord
    server: ScriptedLLMServer


def echo_everything(request: RecordedRequest) -> Reply:
    """A judge's reply that repeats its credentials and every canary."""
    leaked = " ".join(CANARIES.values())
    said = f"auth {request.headers.get('authorization', '')} then {leaked}"
    return Reply(json=fill_schema(request.schema or {}, {"explanation": said, "score": 1}))


class LeakingAgent:
    """Writes a working reproduce.sh, writes canaries into its transcript (host side, as a
    model reply quoting a key would), then dies with the provider key in its message."""

    name = "leaking"

    async def run(self, context: AgentContext) -> AgentResult:
        await context.sandbox.write_file(
            f"{context.submission_dir}/reproduce.sh", "mkdir -p results\necho 1 > results/x\n"
        )
        context.transcript.write("model_reply", text=" ".join(CANARIES.values()))
        raise RuntimeError(f"401 for key {CANARIES['provider key from the environment']}")


@contextmanager
def canary_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CanaryRun]:
    """Run one paper end to end with every canary in play; the registry is emptied after."""
    home = tmp_path / "home"
    monkeypatch.setenv("PAPERBENCH_HOME", str(home))
    monkeypatch.setenv("OPENAI_COMPATIBLE_API_KEY", CANARIES["provider key from the environment"])
    monkeypatch.setenv(
        "OPENAI_BASE_URL", f"http://ops:{CANARIES['password in OPENAI_BASE_URL']}@127.0.0.1:9/v1"
    )
    secrets_file = tmp_path / "secrets.env"
    secrets_file.write_text(
        f"HF_TOKEN={CANARIES['value in a --secrets file']}\n"
        f"{CANARIES['bare line in a --secrets file']}\n"
    )
    secrets.load_secrets_file(secrets_file)
    paper = load_bundle(write_paper(tmp_path / "papers", "toy-a", (1, 1, 1)))
    try:
        with ScriptedLLMServer(default=echo_everything) as server:
            password = CANARIES["password in the judge URL"]
            url = re.sub(r"^http://", f"http://bench:{password}@", server.openai_url)
            judge = f"openai-compatible/judge@{url}"
            settings = RunSettings(
                run=RunOptions(papers=["toy-a"], runs_dir=tmp_path / "runs"),
                agent=AgentOptions(agent="replay"),
                judge=JudgeOptions(judge=judge, judge_context_window=32000),
            )

            def record_provenance(bundle: PaperBundle) -> dict[str, object]:
                return provenance.collect(
                    rubric=bundle.rubric_path,
                    judge={"model": judge},
                    options={
                        "judge": judge,
                        "judge-api-key": CANARIES["config value of a secret-named key"],
                    },
                    command_line=[
                        "paperbench",
                        "run",
                        "--judge",
                        judge,
                        "--api-key",
                        CANARIES["command-line --api-key"],
                    ],
                ).model_dump(mode="json")

            def leaking(spec: AgentSpec, bundle: PaperBundle) -> LeakingAgent:
                return LeakingAgent()

            orchestrator = Orchestrator(
                settings, [paper], local, record_provenance, agent_factory=leaking
            )
            [record] = asyncio.run(orchestrator.run_all())
            yield CanaryRun(Path(settings.run.runs_dir), home, record, server)
    finally:
        secrets.forget_all()


def files_holding(roots: list[Path], needle: str) -> list[str]:
    """Every file under ``roots`` whose bytes or path contain ``needle``."""
    found = []
    for root in roots:
        for path in [root, *root.rglob("*")]:
            if needle in str(path) or (path.is_file() and needle.encode() in path.read_bytes()):
                found.append(str(path))
    return found
