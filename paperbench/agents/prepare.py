"""Setting up the agent's sandbox: its spec, the paper files it may see, its instructions.

The agent sees an explicit allow-list of the bundle (:data:`paperbench.papers.AGENT_VISIBLE`:
``paper.md``, ``paper.pdf``, ``addendum.md``, ``assets/``, ``blacklist.txt``) under
``/home/paper``, and nothing else of it: the rubric, the judge's addendum and the reference
solution never enter the container. The files are copied to a staging folder first, with
symbolic links kept as links, so a link inside ``assets/`` cannot smuggle in a file from
elsewhere on the host (the upload refuses links that point outside ``/home/paper``).

The sandbox gets the paper's network policy and resources and an empty environment: nothing of
the host's environment, API keys included, is passed in.

The instructions are ``agents/instructions.md`` (``agents/instructions_code_dev.md`` for
PaperBench's Code-Dev variant, where nothing is run), a :class:`string.Template` filled with the
paper's title and files, the time limit, the hardware, both network policies, the names of the
``--agent-env`` variables, the reproduction's time limit, the size limit of submitted files and
the blacklist rule.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from string import Template

from paperbench.agents.protocol import AgentLimits, AgentPaper
from paperbench.errors import PaperError
from paperbench.papers import PaperBundle, Resources
from paperbench.resources import resource_dir
from paperbench.sandbox.base import Sandbox, SandboxSpec
from paperbench.sandbox.errors import ArchiveError
from paperbench.sandbox.images import AGENT_IMAGE

PAPER_DIR = "/home/paper"
SUBMISSION_DIR = "/home/submission"
AGENT_STAGE = "agent"


def agent_sandbox_spec(
    paper: PaperBundle,
    *,
    run_id: str = "adhoc",
    image: str = AGENT_IMAGE,
    gpus: tuple[str, ...] = (),
) -> SandboxSpec:
    """The spec of an agent sandbox for ``paper`` (see :func:`sandbox_spec_for`)."""
    config = paper.config
    network = config.agent.network if config.agent.network in ("none", "bridge") else "none"
    return sandbox_spec_for(config.resources, network, run_id=run_id, image=image, gpus=gpus)


def sandbox_spec_for(
    resources: Resources,
    network: str,
    *,
    run_id: str = "adhoc",
    image: str = AGENT_IMAGE,
    gpus: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> SandboxSpec:
    """An agent sandbox: ``network`` (``none``, ``bridge`` or a run's own network), the paper's
    CPUs, memory and disk, the GPUs named in ``gpus``, and an environment holding only ``env``.

    The paper's ``resources.gpus`` is only a count; which devices to give is the caller's
    choice (sandboxes never get "all" GPUs), and the instructions state what was given.
    """
    return SandboxSpec(
        image=image,
        run_id=run_id,
        stage=AGENT_STAGE,
        cpus=resources.cpus,
        memory_mb=resources.memory_mb,
        disk_mb=resources.disk_mb,
        gpus=gpus,
        network=network,
        env=dict(env or {}),
    )


def agent_paper(paper: PaperBundle, paper_dir: str = PAPER_DIR) -> AgentPaper:
    """The agent's view of ``paper``: the allow-listed names only."""
    return AgentPaper(
        id=paper.id,
        title=paper.title,
        files=tuple(path.name for path in paper.agent_files()),
        blacklist=tuple(paper.blacklist),
        paper_dir=paper_dir,
    )


def sandbox_dirs(sandbox: Sandbox) -> tuple[str, str]:
    """Where the paper and the submission go: ``paper`` and ``submission`` in the sandbox's
    work folder — ``/home/paper`` and ``/home/submission`` in paperbench's images, and a
    private folder (never the host's ``/home``) on the local backend."""
    return sandbox.resolve("paper"), sandbox.resolve("submission")


async def prepare_agent_sandbox(sandbox: Sandbox, paper: PaperBundle) -> AgentPaper:
    """Upload the agent-visible files of ``paper`` to ``/home/paper`` and create an empty
    ``/home/submission`` (see :func:`sandbox_dirs`); returns what the agent was shown.

    Raises:
        PaperError: a file of the bundle cannot be uploaded safely (e.g. a link in ``assets/``
            pointing outside it).
        SandboxGoneError: the sandbox is closed or gone.
    """
    paper_dir, submission_dir = sandbox_dirs(sandbox)
    view = agent_paper(paper, paper_dir)
    with tempfile.TemporaryDirectory(prefix="paperbench-paper-") as staging:
        root = Path(staging)
        for source in paper.agent_files():
            if source.is_dir():
                shutil.copytree(source, root / source.name, symlinks=True)
            else:
                shutil.copy2(source, root / source.name, follow_symlinks=False)
        try:
            await sandbox.exec(["mkdir", "-p", paper_dir, submission_dir], timeout=60)
            await sandbox.upload(root, paper_dir)
        except ArchiveError as error:
            raise PaperError(f"{paper.root}: cannot show the paper to the agent: {error}") from None
    return view


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    if hours and minutes:
        return f"{hours} h {minutes} min"
    if hours:
        return f"{hours} hour{'s' if hours > 1 else ''}"
    if minutes:
        return f"{minutes} minutes"
    return f"{seconds} seconds"


def _size(limit: int) -> str:
    return f"{limit / 1024 / 1024:g} MB" if limit >= 1024 * 1024 else f"{limit} bytes"


def render_instructions(
    paper: PaperBundle,
    limits: AgentLimits,
    *,
    max_file_bytes: int,
    gpus: int = 0,
    agent_env: tuple[str, ...] = (),
    template: Path | None = None,
    paper_dir: str = PAPER_DIR,
    submission_dir: str = SUBMISSION_DIR,
    agent_network: str | None = None,
) -> str:
    """The task as the agent reads it (see the module docstring); ``gpus`` is the number of
    GPUs the sandbox really has, ``agent_env`` the names of the ``--agent-env`` variables set
    in it.

    Raises:
        PaperError: the template names a placeholder that does not exist.
    """
    path = template or resource_dir("agents") / "instructions.md"
    view = agent_paper(paper)
    config = paper.config
    resources = config.resources
    gpu_text = f"{gpus} GPU(s)" if gpus else "no GPU"
    working = limits.working_time_seconds or limits.wall_time_seconds
    time_limit = f"you have {_duration(working)} of working time" if working else "no time limit"
    if limits.wall_time_seconds and limits.working_time_seconds:
        time_limit += f" (and at most {_duration(limits.wall_time_seconds)} in all)"
    networks = {
        "none": "no network access",
        "gateway": "no network access except the model API you were given",
        "filtered": (
            "web access through a proxy (already configured) that refuses blacklisted sites, "
            "and the model API you were given"
        ),
        "bridge": "network access (to the internet, subject to the blacklist)",
    }
    if view.blacklist:
        blacklist_rule = (
            f"- `{paper_dir}/blacklist.txt` lists websites and repositories (such as the "
            "authors' own code) you must not use in any way: do not clone, download, install, "
            "fetch or browse them, directly or through code you write. Every command you run is "
            "checked afterwards, and any access to a blacklisted resource disqualifies the run."
        )
    else:
        blacklist_rule = "- No websites or repositories are blacklisted for this paper."
    if agent_env:
        names = ", ".join(f"`{name}`" for name in agent_env)
        env_text = (
            f"{names} {'is' if len(agent_env) == 1 else 'are'} set in this container's "
            "environment for your code to use (for example to download a gated model or "
            "dataset, or to call an API). They are not set when reproduce.sh is run, and "
            "must not be written into your submission."
        )
    else:
        env_text = "no API keys or tokens are set for you."
    values = {
        "paper_title": paper.title,
        "agent_env": env_text,
        "paper_dir": paper_dir,
        "paper_files": ", ".join(f"`{name}`" for name in view.files),
        "submission_dir": submission_dir,
        "hardware": f"{resources.cpus:g} CPU(s), {resources.memory_mb} MB of memory, {gpu_text}",
        "agent_network": networks[agent_network or config.agent.network],
        "time_limit": time_limit,
        "reproduction_network": networks[config.reproduction.network],
        "reproduction_time_limit": _duration(config.reproduction.time_limit_seconds),
        "max_file_size": _size(max_file_bytes),
        "blacklist_rule": blacklist_rule,
    }
    try:
        return Template(path.read_text(encoding="utf-8")).substitute(values)
    except (KeyError, ValueError) as error:
        raise PaperError(f"{path}: unknown or malformed placeholder {error}") from None
