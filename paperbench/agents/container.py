"""The bring-your-own agent: the user's command, run in the agent's container, calling its
model through the run's gateway (:mod:`paperbench.gateway`).

:class:`ContainerAgent` is an :class:`~paperbench.agents.protocol.Agent` like our loops: the
stage gives it a started sandbox (on the run's own network, :mod:`paperbench.sandbox.networks`)
and the run's gateway, and it

1. writes the task to ``/home/agent/instructions.md`` and opens the provider on the host (the
   real key stays in this process) behind the gateway, armed with the run's limits, clock and
   transcript (:class:`~paperbench.gateway.GatewaySession`);
2. starts the definition's command with the standard variables (the gateway's URL and the
   run's token as the OpenAI and Anthropic base URL and key) and its ``env``, its output going
   to ``/home/logs/agent.log``;
3. waits for the first of: the command exits (``finished``, or ``error`` with a non-zero
   status), the end file appears (``submitted``, its first line the submit message), a time
   limit passes (the wall-time limit bounds the command itself; working time is wall time minus
   the gateway's API waits), or the gateway refuses a call over a token, step or dollar limit
   (that limit) — and then kills every process the command started, those that left its process
   group included (they are found by a marker in their environment);
4. keeps the tail of the agent's log as ``agent-output.log`` in the stage folder (bounded:
   it is the agent's text).

A provider that refuses the key or model ends the run and is raised afterwards, as for our
loops, so the user sees one clear line.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from paperbench.agents.definitions import (
    ContainerDefinition,
    describe,
    render_env,
)
from paperbench.agents.limits import check_limits_enforceable, end_run
from paperbench.agents.protocol import AgentContext, AgentResult, EndReason
from paperbench.gateway import GatewaySession, ModelGateway
from paperbench.llm import open_provider
from paperbench.llm.catalog import ModelSpec
from paperbench.llm.provider import Provider
from paperbench.llm.retry import RetryPolicy
from paperbench.sandbox.errors import SandboxError, SandboxGoneError
from paperbench.sandbox.models import ExecResult

ProviderFactory = Callable[[ModelSpec, RetryPolicy | None], Provider]
INSTRUCTIONS_PATH = "/home/agent/instructions.md"
LOG_PATH = "/home/logs/agent.log"
OUTPUT_FILE = "agent-output.log"
#: How much of the agent's own log is kept in the stage folder.
OUTPUT_TAIL_BYTES = 1024 * 1024
RUN_MARK = "PAPERBENCH_AGENT_RUN"
_SWEEP = f"""
n=0
for d in /proc/[0-9]*; do
  if grep -qzx "{RUN_MARK}=$1" "$d/environ" 2>/dev/null; then
    kill -9 "${{d#/proc/}}" 2>/dev/null && n=$((n+1))
  fi
done
echo "$n"
"""


def _default_factory(spec: ModelSpec, retry: RetryPolicy | None) -> Provider:
    return open_provider(spec, retry=retry)


class ContainerAgent:
    """A user's agent from an ``agent.yaml`` (see the module docstring)."""

    uses_gateway = True

    def __init__(
        self,
        name: str,
        definition: ContainerDefinition,
        model: ModelSpec,
        *,
        retry: RetryPolicy | None = None,
        provider_factory: ProviderFactory = _default_factory,
        output_dir: Path | None = None,
    ) -> None:
        self.name = name
        self.definition = definition
        self.model = model
        self.retry = retry
        self.provider_factory = provider_factory
        self.output_dir = output_dir

    async def run(self, context: AgentContext) -> AgentResult:
        """Run the command until it ends or a limit ends it.

        Raises:
            ProviderSetupError: the provider refused the key or model (after the run ended).
            PaperbenchError: a dollar limit is set for a model without a price.
        """
        check_limits_enforceable(context.limits, self.model.name, self.model.price)
        started_at = datetime.now(UTC)
        context.clock.start()
        context.transcript.write(
            "start",
            agent=self.name,
            model=self.model.name,
            context_window=self.model.context_window,
            limits=context.limits.model_dump(),
            settings=describe(self.definition),
            network=context.network_policy,
        )
        async with self.provider_factory(self.model, self.retry) as provider:
            session = GatewaySession(provider, context.limits, context.clock, context.transcript)
            if context.gateway is not None:
                context.gateway.arm(session)
            try:
                reason, detail, code = await self._run_command(context, session)
            except SandboxGoneError as error:
                reason, detail, code = "sandbox_error", str(error), None
        await self._keep_output(context)
        tracker = session.tracker
        result = end_run(
            self.name,
            context,
            started_at,
            reason,
            detail,
            tracker,
            session.tool_calls,
            detail if reason == "submitted" else None,
            model=self.model.name,
            model_versions=session.versions,
            usage=tracker.usage,
            cost_usd=tracker.cost_usd,
            failed_api_attempts=session.failed_attempts,
            error=f"the agent's command exited {code}" if reason == "error" else None,
        )
        if session.setup_error is not None:
            raise session.setup_error
        return result

    def _environment(self, context: AgentContext, gateway: ModelGateway | None) -> dict[str, str]:
        paper_dir, submission_dir = context.paper.paper_dir, context.submission_dir
        url = gateway_url = ""
        token = ""
        if gateway is not None and context.gateway_url:
            url, token = context.gateway_url, gateway.token
            gateway_url = url
        values = {
            "model": self.model.model,
            "gateway_url": gateway_url,
            "openai_base_url": f"{url}/v1" if url else "",
            "anthropic_base_url": url,
            "token": token,
            "instructions": INSTRUCTIONS_PATH,
            "paper_dir": paper_dir,
            "submission_dir": submission_dir,
        }
        env = {
            "PAPERBENCH_MODEL": self.model.model,
            "PAPERBENCH_INSTRUCTIONS": INSTRUCTIONS_PATH,
            "PAPERBENCH_PAPER_DIR": paper_dir,
            "PAPERBENCH_SUBMISSION_DIR": submission_dir,
        }
        if url:
            env.update(
                {
                    "PAPERBENCH_GATEWAY_URL": url,
                    "OPENAI_BASE_URL": f"{url}/v1",
                    "OPENAI_API_KEY": token,
                    "ANTHROPIC_BASE_URL": url,
                    "ANTHROPIC_API_KEY": token,
                }
            )
        if self.definition.end.when == "file" and self.definition.end.file:
            env["PAPERBENCH_END_FILE"] = self.definition.end.file
        env.update(render_env(self.definition, values))
        return env

    async def _run_command(
        self, context: AgentContext, session: GatewaySession
    ) -> tuple[EndReason, str, int | None]:
        sandbox, definition, tracker = context.sandbox, self.definition, session.tracker
        await sandbox.exec(
            ["mkdir", "-p", "/home/agent", "/home/logs", definition.workdir], timeout=60
        )
        await sandbox.write_file(INSTRUCTIONS_PATH, context.instructions)
        mark = uuid.uuid4().hex
        env = {**self._environment(context, context.gateway), RUN_MARK: mark}
        wrapped = ["sh", "-c", f'exec "$@" >>{LOG_PATH} 2>&1', "sh", *definition.command]
        context.transcript.write("action", action="command", argv=list(definition.command))
        command = asyncio.create_task(
            sandbox.exec(wrapped, env=env, cwd=definition.workdir, timeout=tracker.wall_left())
        )
        ended = asyncio.create_task(session.ended.wait())
        try:
            return await self._watch(context, session, command, ended)
        finally:
            ended.cancel()
            if not command.done():
                command.cancel()
                with contextlib.suppress(asyncio.CancelledError, SandboxError):
                    await command
            await self._kill(context, mark)

    async def _watch(
        self,
        context: AgentContext,
        session: GatewaySession,
        command: asyncio.Task[ExecResult],
        ended: asyncio.Task[bool],
    ) -> tuple[EndReason, str, int | None]:
        tracker, end = session.tracker, self.definition.end
        while True:
            left = tracker.time_left()
            wait = end.poll_seconds if end.when == "file" else None
            if left is not None:
                wait = min(wait, left) if wait is not None else left
            done, _ = await asyncio.wait(
                {command, ended}, timeout=wait, return_when="FIRST_COMPLETED"
            )
            if ended in done or session.end_reason is not None:
                reason = session.end_reason or "error"
                return reason, session.end_detail, None
            if command in done:
                result = command.result()
                if result.timed_out:
                    return tracker.time_reached() or "wall_time_limit", tracker.describe(), None
                submitted = await self._end_file(context)
                if submitted is not None:
                    return "submitted", submitted, result.exit_code
                if result.exit_code == 0:
                    return "finished", "the agent's command exited 0", 0
                return "error", f"the agent's command exited {result.exit_code}", result.exit_code
            late = tracker.time_reached()
            if late is not None:
                session.end(late, tracker.describe())
                return late, tracker.describe(), None
            submitted = await self._end_file(context)
            if submitted is not None:
                return "submitted", submitted, None

    async def _end_file(self, context: AgentContext) -> str | None:
        """The end file's first line (bounded) when the definition ends on one and it exists."""
        end = self.definition.end
        if end.when != "file" or not end.file:
            return None
        probe = await context.sandbox.exec(
            ["sh", "-c", 'test -e "$1" && head -c 2000 "$1"', "sh", end.file], timeout=30
        )
        if probe.exit_code != 0:
            return None
        first = probe.stdout.splitlines()[0] if probe.stdout.strip() else ""
        return first.strip()[:2000] or "the agent wrote its end file"

    async def _kill(self, context: AgentContext, mark: str) -> None:
        """Kill every process of the agent's command (a second pass catches late forks)."""
        for _ in range(3):
            try:
                swept = await context.sandbox.exec(
                    ["sh", "-c", _SWEEP, "sh", mark], user="root", timeout=60
                )
            except SandboxError:
                return
            if swept.stdout.strip() in ("", "0"):
                return

    async def _keep_output(self, context: AgentContext) -> None:
        folder = self.output_dir or context.transcript.path.parent
        try:
            tail = await context.sandbox.exec(
                ["tail", "-c", str(OUTPUT_TAIL_BYTES), LOG_PATH], timeout=60
            )
        except SandboxError:
            return
        (folder / OUTPUT_FILE).write_text(tail.stdout, encoding="utf-8", errors="replace")
