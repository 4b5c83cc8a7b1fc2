"""What one ``paperbench run`` asks for: its own options and the stages' option models.

:class:`RunSettings` holds the stages' own option models (:class:`AgentOptions`,
:class:`ReproductionOptions`, :class:`JudgeOptions`) rather than a flattened copy of them, so an
option is declared once (:mod:`paperbench.options`) and reaches its stage unchanged.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

from paperbench.agents.options import AgentOptions
from paperbench.agents.specs import load_agent_spec
from paperbench.grading.options import JudgeOptions
from paperbench.options import opt
from paperbench.reproduction.options import ReproductionOptions
from paperbench.runs.presets import PresetName
from paperbench.runs.remote_root import check_url, is_url
from paperbench.secrets import strip_userinfo
from paperbench.splits import SplitName


class RunOptions(BaseModel):
    """The run command's own options: which papers, how many seeds, where, how many at once."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    papers: list[str] = opt(
        [], "Paper ids or bundle folders (repeat, or a,b).", default_help="the --split's"
    )
    split: SplitName | None = opt(
        None, "PaperBench's paper split (brought in by `paperbench papers import`)."
    )
    preset: PresetName | None = opt(
        None,
        "Run conditions of another benchmark for every paper: `paperbench` gives internet, "
        "an NVIDIA GPU and PaperBench's time limits (a paper's config.yaml and explicit "
        "options still win).",
    )
    allow_cpu_fallback: bool = opt(
        False,
        "Run a paper that needs a GPU without one when the host has none (else refused).",
        fingerprint=False,
    )
    dry_run: bool = opt(
        False,
        "Print each run's image, limits, GPUs, network, env names, judge and estimated judge "
        "cost, then exit without starting anything.",
        fingerprint=False,
    )
    seeds: int = opt(1, "Runs per paper.", ge=1)
    first_seed: int = opt(0, "Number of the first seed.", ge=0)
    concurrency: int = opt(1, "Runs at once (each run's stages go one after another).", ge=1)
    runs_dir: str = opt(
        "runs",
        "Where run directories go: a folder, or an fsspec URL (s3://bucket/prefix, needs pip "
        "install 'paperbench[remote]'; credentials from the store's standard environment, "
        "e.g. AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL).",
    )
    papers_dir: list[Path] | None = opt(None, "Extra folders of paper bundles.")
    executor: Literal["local", "ray"] = opt(
        "local",
        "Where runs go: local (this machine, --concurrency at once) or ray (one task per run "
        "on a Ray cluster, whose nodes' `docker` resources say how many at once; needs "
        "pip install 'paperbench[ray]').",
        fingerprint=False,
    )
    ray_address: str | None = opt(
        None,
        "With --executor ray: the cluster, HOST:PORT or auto (the one `ray start` began on "
        "this machine).",
        fingerprint=False,
        default_help="a private Ray on this machine, --concurrency sandboxes",
    )
    live: bool | None = opt(
        None,
        "Show the live table; without it, one line per stage change.",
        negative=True,
        default_help="when stdout is a terminal",
    )

    @field_validator("runs_dir", mode="before")
    @classmethod
    def _a_folder_or_url(cls, value: object) -> object:
        """A folder (a path) or a URL fsspec can write (:mod:`paperbench.runs.remote_root`)."""
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, str) and is_url(value):
            return check_url(value)
        if isinstance(value, str) and re.match(r"^[A-Za-z][A-Za-z0-9+.-]+:/", value):
            raise ValueError(
                f"{value}: looks like a URL with one slash; a URL run root is SCHEME://..."
            )
        return value

    def runs_url(self) -> str | None:
        """The run root when it is a URL, else None."""
        return self.runs_dir if is_url(self.runs_dir) else None

    def paper_names(self) -> list[str]:
        return [name for item in self.papers for name in item.split(",") if name]


class RunSettings(BaseModel):
    """Everything one ``paperbench run`` asks for, grouped by the stage that uses it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run: RunOptions
    agent: AgentOptions
    reproduction: ReproductionOptions = ReproductionOptions()
    judge: JudgeOptions = JudgeOptions()

    def agent_label(self) -> str:
        """The agent configuration's name in run directories and the leaderboard, e.g.
        ``basic/openai/gpt-4o``.

        Raises:
            AgentSpecError: the agent spec cannot be found or read.
        """
        spec = load_agent_spec(self.agent.agent)
        model = self.agent.agent_model or spec.model
        if model and spec.kind in ("basic", "iterative"):
            return f"{self.agent.agent}/{strip_userinfo(model)}"
        return self.agent.agent
