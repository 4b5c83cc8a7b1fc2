"""The agent stage: one agent, one paper, one sandbox, from an empty container to a captured
submission with its transcript, snapshots and blacklist verdict.

Its contract (:mod:`paperbench.contracts`): :class:`AgentInputs` in — the paper's settings and
a digest of the files the agent sees, the agent's spec (prompts included), its model, limits,
image id and snapshot settings — and :class:`AgentStageResult` (``agent.json``) out.
:func:`run_agent_stage` makes the sandbox from the inputs and closes it whatever happens;
:func:`run_agent_in` does the work in a sandbox the caller started. In order:

0. for the ``gateway`` and ``filtered`` network policies, open the run's networks, its model
   gateway (for an agent that runs in its container) and its egress container
   (:mod:`paperbench.agents.environment`), and build a bring-your-own agent's image if needed;
1. upload the agent-visible paper files and write the instructions (``instructions.md``);
2. start the clock, the transcript (``transcript.jsonl``) and periodic snapshots;
3. run the agent; an exception from the agent is recorded as ``end_reason="error"`` and the
   stage goes on, except a :class:`~paperbench.errors.PaperbenchError` (a setup problem such as
   a missing API key), which is re-raised once the transcript is closed;
4. capture the final submission (``submission.tar``, ``manifest.json``), which is also the last
   snapshot: the capture is the end of this stage, not a stage of its own;
5. run the blacklist monitor on the transcript (``monitor.json``); any violation marks the
   stage ``disqualified``; with ``--agent-env``, replace its values wherever the agent put them
   in the archives and the transcript (:mod:`paperbench.agents.agent_env`);
6. write the proxy's fetch log (``egress.jsonl``, ``filtered`` only) and the whole record as
   ``agent.json``.

Everything is written inside ``out_dir``; paths in the record are relative to it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from pydantic import Field

from paperbench import __version__
from paperbench.agents.agent_env import AgentEnvError, load_agent_env, scrub_files
from paperbench.agents.capture import ARCHIVE_NAME, MANIFEST_NAME, MiB
from paperbench.agents.clock import RunClock
from paperbench.agents.definitions import ensure_image, resolve_image
from paperbench.agents.environment import AgentEnvironment, NetworkRecord, agent_environment
from paperbench.agents.monitor import MONITOR_FILE, MonitorReport, monitor_transcript
from paperbench.agents.options import AgentOptions
from paperbench.agents.prepare import (
    prepare_agent_sandbox,
    render_instructions,
    sandbox_dirs,
    sandbox_spec_for,
)
from paperbench.agents.protocol import Agent, AgentContext, AgentLimits, AgentResult
from paperbench.agents.snapshots import Snapshotter
from paperbench.agents.specs import AgentSpec, build_agent, limits_for, load_agent_spec
from paperbench.agents.transcript import Transcript
from paperbench.contracts import (
    Failure,
    StageInputs,
    StageResult,
    file_sha256,
    located,
    tree_sha256,
)
from paperbench.errors import PaperbenchError
from paperbench.papers import (
    AgentNetworkPolicy,
    AgentSettings,
    PaperBundle,
    ReproductionSettings,
    Resources,
    load_bundle,
)
from paperbench.resources import resource_dir
from paperbench.sandbox.base import Sandbox, SandboxSpec
from paperbench.sandbox.errors import SandboxError
from paperbench.sandbox.images import AGENT_IMAGE
from paperbench.sandbox.threads import in_thread
from paperbench.secrets import redact_text

RESULT_FILE = "agent.json"
TRANSCRIPT_FILE = "transcript.jsonl"
INSTRUCTIONS_FILE = "instructions.md"
SandboxFactory = Callable[[SandboxSpec], Sandbox]
#: How an agent run can end that makes it an ``agent_error``: the agent crashed, or its model's
#: API kept failing after the provider's retries. The submission it left is still graded.
AGENT_ERRORS = frozenset({"error", "model_error"})


def default_instructions_template() -> Path:
    return resource_dir("agents") / "instructions.md"


def code_dev_instructions_template() -> Path:
    """The task as PaperBench's Code-Dev variant sets it: write the code, which is graded
    without being run (no reproduction stage)."""
    return resource_dir("agents") / "instructions_code_dev.md"


class AgentInputs(StageInputs):
    """Everything the agent stage's result depends on, resolved (see :meth:`resolve`).

    Of the paper's ``config.yaml`` it holds what decides the agent's work: the title, the
    agent's network and time limit, the resources. The reproduction's limits are shown to the
    agent as guidance but left out, so raising a reproduction time limit after a day-long agent
    run redoes the reproduction and the grade, not the agent.
    """

    paper_id: str
    paper_root: Path = located(help="the paper bundle (its content is hashed below)")
    paper_title: str
    agent_settings: AgentSettings = Field(description="the paper's network and time limit")
    resources: Resources
    reproduction_guidance: ReproductionSettings | None = Field(
        default=None,
        description="the reproduction's limits as the instructions state them (not hashed)",
        json_schema_extra={"fingerprint": False},
    )
    paper_files_sha256: str = Field(description="the files the agent is shown")
    network: AgentNetworkPolicy = Field("none", description="the policy this run uses")
    egress_allow: tuple[str, ...] = Field((), description="ranges the filtered proxy may reach")
    egress_ca: str | None = Field(None, description="PEM the filtered proxy trusts upstream")
    spec: AgentSpec
    model: str | None = None
    context_window: int | None = None
    base_url: str | None = None
    replay_script: Path | None = located(None)
    replay_script_sha256: str | None = None
    limits: AgentLimits
    image: str = AGENT_IMAGE
    image_id: str = ""
    gpus: tuple[str, ...] = ()
    env_names: tuple[str, ...] = Field(default=(), description="--agent-env's variable names")
    env_file: Path | None = located(None, help="the --agent-env file (values never recorded)")
    snapshot_interval_seconds: float | None = Field(default=None, gt=0)
    max_file_bytes: int = Field(default=100 * MiB, gt=0)
    max_total_bytes: int = Field(default=1024 * MiB, gt=0)
    instructions_template: Path | None = located(None)
    instructions_sha256: str = ""
    run_id: str = located("adhoc")

    @classmethod
    def resolve(
        cls,
        paper: PaperBundle,
        options: AgentOptions,
        *,
        image: str = AGENT_IMAGE,
        image_id: str = "",
        run_id: str = "adhoc",
        gpus: tuple[str, ...] = (),
        instructions_template: Path | None = None,
    ) -> AgentInputs:
        """The inputs of ``options`` on ``paper``.

        Raises:
            AgentSpecError: the agent spec cannot be found or read.
            AgentEnvError: the ``--agent-env`` file cannot be used.
            PaperbenchError: a limit is invalid, or the replay script does not exist.
        """
        spec = load_agent_spec(options.agent)
        env_names = load_agent_env(options.agent_env).names if options.agent_env else ()
        limits = limits_for(paper, spec, working_time_seconds=options.agent_time_limit)
        script = options.replay_script
        if script is not None and spec.kind != "replay":
            raise PaperbenchError(
                f"--replay-script is for the replay agent; agent {options.agent} is {spec.kind}"
            )
        if script is None and spec.kind == "replay" and spec.script:
            script = Path(spec.script)
        if script is not None and not script.is_file():
            raise PaperbenchError(f"{script}: no such replay script")
        template = instructions_template or default_instructions_template()
        model_agent = spec.kind in ("basic", "iterative", "container")
        model = (options.agent_model or spec.model) if model_agent else None
        network = options.agent_network or paper.config.agent.network
        if spec.kind == "container":
            if options.agent_network is None and network == "none":
                network = "gateway"  # the model endpoint is not the internet
            assert spec.container is not None
            from paperbench.sandbox.docker_backend import shared_client

            image, image_id = resolve_image(shared_client(), spec.name, spec.container)
        return cls(
            paper_id=paper.id,
            paper_root=paper.root,
            paper_title=paper.title,
            agent_settings=paper.config.agent,
            resources=paper.config.resources,
            reproduction_guidance=paper.config.reproduction,
            paper_files_sha256=_agent_files_sha256(paper),
            network=network,
            egress_allow=_cidrs(options.egress_allow),
            egress_ca=_pem(options.egress_ca),
            spec=spec,
            model=model,
            context_window=options.agent_context_window,
            base_url=options.agent_base_url,
            replay_script=script,
            replay_script_sha256=file_sha256(script) if script else None,
            limits=limits,
            image=image,
            image_id=image_id,
            gpus=gpus,
            env_names=env_names,
            env_file=options.agent_env,
            snapshot_interval_seconds=options.snapshot_interval,
            instructions_template=instructions_template,
            instructions_sha256=file_sha256(template),
            run_id=run_id,
        )

    def paper(self) -> PaperBundle:
        """The bundle, with the settings these inputs were resolved under."""
        bundle = load_bundle(self.paper_root)
        settings: dict[str, object] = {"agent": self.agent_settings, "resources": self.resources}
        if self.reproduction_guidance is not None:
            settings["reproduction"] = self.reproduction_guidance
        return dataclasses.replace(bundle, config=bundle.config.model_copy(update=settings))

    def sandbox_spec(
        self, network: str | None = None, env: dict[str, str] | None = None
    ) -> SandboxSpec:
        """The agent's sandbox: the paper's resources, the GPUs named in ``gpus`` (never
        "all"), and an environment with nothing but ``env`` (the proxy settings of a
        ``filtered`` run) and the ``--agent-env`` variables; attached to ``network`` (the run's
        own, from :func:`~paperbench.agents.environment.agent_environment`), by default
        Docker's ``none`` or ``bridge`` as the policy says.

        Raises:
            AgentEnvError: the ``--agent-env`` file is gone, unusable, or now names other
                variables than when the inputs were resolved.
        """
        default = self.network if self.network in ("none", "bridge") else "none"
        spec = sandbox_spec_for(
            self.resources,
            network or default,
            run_id=self.run_id,
            image=self.image,
            gpus=self.gpus,
            env=env,
        )
        if self.env_file is None:
            return spec
        agent_env = load_agent_env(self.env_file)
        if agent_env.names != self.env_names:
            raise AgentEnvError(
                f"--agent-env {self.env_file}: names changed since the run was planned "
                f"({', '.join(self.env_names)} then, {', '.join(agent_env.names)} now)"
            )
        return spec.model_copy(update={"env": {**spec.env, **agent_env.values}})


def _cidrs(text: str | None) -> tuple[str, ...]:
    """Raises: PaperbenchError: an entry is not an address range."""
    ranges = []
    for item in (text or "").split(","):
        if item.strip():
            try:
                ranges.append(str(ipaddress.ip_network(item.strip(), strict=False)))
            except ValueError:
                raise PaperbenchError(
                    f"--egress-allow: {item.strip()!r} is not an address range (e.g. 10.1.2.0/24)"
                ) from None
    return tuple(ranges)


def _pem(path: Path | None) -> str | None:
    """Raises: PaperbenchError: the file is missing or holds no certificate."""
    if path is None:
        return None
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as error:
        raise PaperbenchError(f"--egress-ca {path}: cannot read it ({error})") from None
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise PaperbenchError(f"--egress-ca {path}: no PEM certificate in it")
    return text


def _agent_files_sha256(paper: PaperBundle) -> str:
    digest = hashlib.sha256()
    for path in paper.agent_files():
        digest.update(path.name.encode() + b"\0" + tree_sha256(path).encode() + b"\0")
    return digest.hexdigest()


class AgentStageResult(StageResult):
    """The record of one agent stage (``agent.json``)."""

    FILE: ClassVar[str] = RESULT_FILE

    harness_version: str = __version__
    paper_id: str
    agent: AgentResult
    sandbox: dict[str, str] = Field(default_factory=dict)
    instructions: str = INSTRUCTIONS_FILE
    submission: str | None = Field(description="the final archive, or None if capture failed")
    manifest: str | None = None
    capture_error: str | None = None
    excluded_files: int = 0
    monitor: MonitorReport
    disqualified: bool
    network: NetworkRecord | None = None
    agent_env_scrubbed: list[str] = Field(
        default_factory=list,
        description="files (and archive members) in which --agent-env values were replaced",
    )

    def failures(self) -> list[Failure]:
        """``disqualified`` (a blacklisted access), ``infrastructure_error`` (the sandbox died
        under the agent: the stage is not done), ``agent_error`` (the agent crashed, its model
        kept failing, or nothing could be captured)."""
        found: list[Failure] = []
        if self.disqualified:
            hit = self.monitor.violations[0] if self.monitor.violations else None
            reason = f"blacklisted {hit.url} at transcript line {hit.line}" if hit else ""
            found.append(Failure(kind="disqualified", stage="agent", reason=reason))
        if self.agent.end_reason == "sandbox_error":
            found.append(
                Failure(
                    kind="infrastructure_error",
                    stage="agent",
                    reason=f"the sandbox failed during the agent's run: {self.agent.detail}",
                )
            )
        elif self.agent.end_reason in AGENT_ERRORS:
            why = self.agent.error or self.agent.detail or self.agent.end_reason
            found.append(Failure(kind="agent_error", stage="agent", reason=why))
        if self.submission is None:
            found.append(
                Failure(
                    kind="agent_error",
                    stage="agent",
                    reason=f"no submission captured: {self.capture_error or 'capture failed'}",
                )
            )
        return found

    def submission_archive(self, stage_dir: Path) -> Path | None:
        return stage_dir / self.submission if self.submission else None


async def run_agent_stage(
    inputs: AgentInputs,
    out_dir: Path,
    sandboxes: SandboxFactory,
    *,
    agent: Agent | None = None,
) -> AgentStageResult:
    """Run the agent of ``inputs`` in a new sandbox made by ``sandboxes`` (e.g.
    :class:`~paperbench.sandbox.DockerSandbox`) and save its record; see the module docstring.
    ``agent`` replaces the one the spec names (for embedding and tests).

    Raises:
        DockerUnavailableError, ImageMissingError, SandboxStartError: no sandbox could start.
        PaperbenchError: the agent cannot run as configured (e.g. a missing API key).
    """
    paper = inputs.paper()
    chosen = agent or build_agent(
        inputs.spec,
        paper,
        model=inputs.model,
        script=inputs.replay_script,
        context_window=inputs.context_window,
        base_url=inputs.base_url,
    )
    spec = inputs.spec
    if spec.kind == "container" and spec.container is not None:
        from paperbench.sandbox.docker_backend import shared_client

        definition = spec.container
        await in_thread(lambda: ensure_image(shared_client(), spec.name, definition))
    async with agent_environment(
        inputs.network,
        inputs.run_id,
        blacklist=paper.blacklist,
        needs_gateway=bool(getattr(chosen, "uses_gateway", False)),
        allow=inputs.egress_allow,
        upstream_ca=inputs.egress_ca,
        backend=str(getattr(sandboxes, "backend", "docker")),
    ) as environment:
        sandbox_spec = inputs.sandbox_spec(environment.sandbox_network, environment.sandbox_env)
        async with sandboxes(sandbox_spec) as sandbox:
            if environment.network is not None:
                await environment.network.install_ca(sandbox)
            return await run_agent_in(
                chosen, paper, sandbox, out_dir, inputs, environment=environment
            )


async def run_agent_in(
    agent: Agent,
    paper: PaperBundle,
    sandbox: Sandbox,
    out_dir: Path,
    options: AgentInputs,
    *,
    environment: AgentEnvironment | None = None,
) -> AgentStageResult:
    """Run ``agent`` on ``paper`` in ``sandbox``, which the caller started and will close;
    ``environment`` is the run's network and gateway, when it has them.

    Raises:
        PaperbenchError: the agent cannot run as configured, or the paper cannot be shown.
        SandboxGoneError: the sandbox was gone before the agent started.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    view = await prepare_agent_sandbox(sandbox, paper)
    _, submission_dir = sandbox_dirs(sandbox)
    instructions = render_instructions(
        paper,
        options.limits,
        max_file_bytes=options.max_file_bytes,
        gpus=len(options.gpus),
        agent_env=options.env_names,
        template=options.instructions_template,
        paper_dir=view.paper_dir,
        submission_dir=submission_dir,
        agent_network=options.network,
    )
    (out_dir / INSTRUCTIONS_FILE).write_text(instructions, encoding="utf-8")
    clock = RunClock()
    transcript = Transcript(out_dir / TRANSCRIPT_FILE, clock)
    snapshots = Snapshotter(
        sandbox,
        out_dir,
        clock,
        interval_seconds=options.snapshot_interval_seconds,
        source=submission_dir,
        max_file_bytes=options.max_file_bytes,
        max_total_bytes=options.max_total_bytes,
        transcript=transcript,
    )
    context = AgentContext(
        sandbox=sandbox,
        paper=view,
        instructions=instructions,
        limits=options.limits,
        transcript=transcript,
        clock=clock,
        submission_dir=submission_dir,
        network_policy=options.network,
        gateway=environment.gateway if environment else None,
        gateway_url=environment.gateway_url if environment else None,
    )
    clock.start()
    started_at = datetime.now(UTC)
    try:
        snapshots.start()
        try:
            result = await agent.run(context)
        except PaperbenchError:
            raise
        except Exception as error:
            transcript.write("error", error=repr(error), traceback=traceback.format_exc())
            result = _failed(agent, context, error, started_at)
        finally:
            await snapshots.stop()
        submission: str | None = ARCHIVE_NAME
        manifest_name: str | None = MANIFEST_NAME
        capture_error = None
        excluded = 0
        try:
            excluded = (await snapshots.take("final")).excluded
        except (SandboxError, OSError) as error:
            submission = manifest_name = None
            capture_error = str(error)
    finally:
        transcript.close()
    report = monitor_transcript(transcript.path, list(view.blacklist))
    network = environment.record(out_dir) if environment else NetworkRecord(policy=options.network)
    (out_dir / MONITOR_FILE).write_text(
        redact_text(report.model_dump_json(indent=2)), encoding="utf-8"
    )
    scrubbed: list[str] = []
    if options.env_file is not None:
        taken = snapshots.snapshots
        archives = [out_dir / s.archive for s in taken if s.archive is not None]
        texts = [transcript.path, *(out_dir / s.manifest for s in taken if s.manifest)]
        scrubbed = scrub_files(load_agent_env(options.env_file), out_dir, archives, texts)
    stage = AgentStageResult(
        paper_id=paper.id,
        agent=result.model_copy(
            update={"snapshots": snapshots.snapshots, "transcript": TRANSCRIPT_FILE}
        ),
        sandbox=sandbox.describe(),
        submission=submission,
        manifest=manifest_name,
        capture_error=capture_error,
        excluded_files=excluded,
        monitor=report,
        disqualified=report.disqualified,
        network=network,
        agent_env_scrubbed=scrubbed,
    )
    stage.save(out_dir)
    return stage


def _failed(
    agent: Agent, context: AgentContext, error: Exception, started_at: datetime
) -> AgentResult:
    clock = context.clock
    wall, working = clock.read()
    return AgentResult(
        agent=getattr(agent, "name", type(agent).__name__),
        end_reason="error",
        error=f"{type(error).__name__}: {error}",
        started_at=started_at,
        ended_at=datetime.now(UTC),
        wall_seconds=round(wall, 3),
        working_seconds=round(working, 3),
        api_wait_seconds=round(clock.api_wait(), 3),
        transcript=TRANSCRIPT_FILE,
    )
