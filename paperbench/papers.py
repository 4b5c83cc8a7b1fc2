"""Paper bundles and the registry that finds them.

A paper bundle is a folder::

    config.yaml         id, title, and our settings (network policy, time limits, resources)
    paper.md            the paper as text (required)
    paper.pdf           optional
    addendum.md         clarifications for the agent (optional)
    judge.addendum.md   notes for the judge only (optional)
    blacklist.txt       URLs the agent must not use; the single word `none` means empty
    rubric.json         the rubric tree (required)
    assets/             figures and other files the agent may read (optional)
    solution/           a reference solution with reproduce.sh (optional; never shown to agents)

What an agent may see is an explicit allow-list (:data:`AGENT_VISIBLE`); everything else in the
folder — the rubric, the judge addendum, the reference solution — stays on the host.

The registry looks, in this order, at the bundled papers, at user folders (``--papers-dir`` or
``PAPERBENCH_PAPERS_DIR``, several joined by ``os.pathsep``) and at the folder that ``paperbench
papers import`` fills (``$PAPERBENCH_HOME/papers``, by default ``~/.paperbench/papers``). A
bundle found earlier shadows a later one with the same id.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from paperbench.errors import PaperError
from paperbench.resources import resource_dir
from paperbench.rubric import RubricNode, load_rubric

NetworkPolicy = Literal["none", "bridge"]
#: An agent's network (paperbench.sandbox.networks): nothing, the model gateway only, the
#: gateway and the web through the blacklist-enforcing proxy, or the unfiltered internet. The
#: reproduction keeps the two policies it had: its script has no model to call.
AgentNetworkPolicy = Literal["none", "gateway", "filtered", "bridge"]
AGENT_VISIBLE = ("paper.md", "paper.pdf", "addendum.md", "assets", "blacklist.txt")
PAPERS_DIR_ENV = "PAPERBENCH_PAPERS_DIR"
HOME_ENV = "PAPERBENCH_HOME"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AgentSettings(_Strict):
    network: AgentNetworkPolicy = "none"
    time_limit_seconds: int = Field(default=3600, gt=0)


class ReproductionSettings(_Strict):
    network: NetworkPolicy = "none"
    time_limit_seconds: int = Field(default=3600, gt=0)


class GpuRequest(_Strict):
    """The GPUs a paper's containers need: a count, optionally which host devices (index or
    UUID, as ``nvidia-smi`` lists them) or a kind (a part of the device's name, such as
    ``A10``). In ``config.yaml`` a plain number is a count: ``gpus: 1``, or
    ``gpus: {count: 1, kind: A10}``, or ``gpus: {device_ids: ["0", "1"]}``."""

    count: int = Field(default=0, ge=0)
    device_ids: tuple[str, ...] = ()
    kind: str | None = Field(default=None, min_length=1)

    @field_validator("device_ids")
    @classmethod
    def _device_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for device in value:
            if not re.fullmatch(r"[0-9]+|GPU-[0-9a-fA-F-]+|MIG-[0-9a-fA-F-]+", device):
                raise ValueError(f"{device!r} is not a GPU index or UUID")
        return value

    @model_validator(mode="after")
    def _count_matches_ids(self) -> Self:
        if self.device_ids and self.count not in (0, len(self.device_ids)):
            raise ValueError(f"count {self.count} but {len(self.device_ids)} device_ids")
        if self.device_ids and not self.count:
            object.__setattr__(self, "count", len(self.device_ids))
        return self

    def describe(self) -> str:
        if not self.count:
            return "no GPU"
        what = f"{self.count} GPU{'s' if self.count > 1 else ''}"
        if self.kind:
            what += f" ({self.kind})"
        if self.device_ids:
            what += f" (devices {', '.join(self.device_ids)})"
        return what


class Resources(_Strict):
    cpus: float = Field(default=2, gt=0)
    memory_mb: int = Field(default=4096, gt=0)
    gpus: GpuRequest = GpuRequest()
    disk_mb: int = Field(
        default=10240, ge=64, description="disk each sandbox may fill: work folder and root"
    )

    @field_validator("gpus", mode="before")
    @classmethod
    def _count_alone(cls, value: Any) -> Any:
        """``gpus: 2`` is ``gpus: {count: 2}``."""
        if isinstance(value, int) and not isinstance(value, bool):
            return {"count": value}
        return value


class PaperConfig(_Strict):
    """``config.yaml`` of a bundle: PaperBench's ``id`` and ``title`` plus our settings."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    title: str
    agent: AgentSettings = AgentSettings()
    reproduction: ReproductionSettings = ReproductionSettings()
    resources: Resources = Resources()


@dataclass(frozen=True)
class PaperBundle:
    """A loaded, checked paper bundle. Construct with :func:`load_bundle`."""

    root: Path
    config: PaperConfig

    @property
    def id(self) -> str:
        return self.config.id

    @property
    def title(self) -> str:
        return self.config.title

    @property
    def paper_md(self) -> Path:
        return self.root / "paper.md"

    @property
    def rubric_path(self) -> Path:
        return self.root / "rubric.json"

    @property
    def solution_dir(self) -> Path | None:
        path = self.root / "solution"
        return path if (path / "reproduce.sh").is_file() else None

    def optional_text(self, name: str) -> str:
        """The text of an optional file (``addendum.md``, ...), or ``""`` when absent."""
        path = self.root / name
        return path.read_text(encoding="utf-8") if path.is_file() else ""

    @cached_property
    def rubric(self) -> RubricNode:
        """The rubric tree. Raises :class:`paperbench.errors.RubricError` when malformed."""
        return load_rubric(self.rubric_path)

    @cached_property
    def blacklist(self) -> list[str]:
        return parse_blacklist(self.optional_text("blacklist.txt"))

    def agent_files(self) -> list[Path]:
        """The files and folders an agent may be shown, as they exist in this bundle."""
        return [self.root / name for name in AGENT_VISIBLE if (self.root / name).exists()]


def parse_blacklist(text: str) -> list[str]:
    """One entry per line; blank lines and ``#`` comments ignored; ``none`` alone means empty."""
    entries = [
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    ]
    return [] if entries == ["none"] else entries


def load_bundle(root: Path) -> PaperBundle:
    """Load and check the bundle at ``root``.

    Raises:
        PaperError: the folder, ``config.yaml``, ``paper.md`` or ``rubric.json`` is missing, or
            ``config.yaml`` is not valid; the message names the file and the field.
    """
    if not root.is_dir():
        raise PaperError(f"{root}: no such paper folder")
    config_path = root / "config.yaml"
    if not config_path.is_file():
        raise PaperError(f"{config_path}: missing; a paper bundle needs config.yaml with id, title")
    try:
        raw = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        raise PaperError(f"{config_path}{where}: not valid YAML") from None
    if not isinstance(raw, dict):
        raise PaperError(f"{config_path}: expected a mapping with id and title, got {raw!r:.60}")
    try:
        config = PaperConfig.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        field_name = ".".join(str(part) for part in first["loc"]) or "(file)"
        raise PaperError(f"{config_path}: {field_name}: {first['msg']}") from None
    for required in ("paper.md", "rubric.json"):
        if not (root / required).is_file():
            raise PaperError(f"{root / required}: missing; every paper bundle needs {required}")
    return PaperBundle(root=root, config=config)


@dataclass(frozen=True)
class RegistryEntry:
    """A bundle folder the registry found: loaded, or the reason it could not be."""

    root: Path
    source: str
    bundle: PaperBundle | None = None
    error: str | None = None

    @property
    def id(self) -> str:
        return self.bundle.id if self.bundle else self.root.name


def home_dir() -> Path:
    return Path(os.environ.get(HOME_ENV) or Path.home() / ".paperbench")


def imported_papers_dir() -> Path:
    return home_dir() / "papers"


@dataclass
class PaperRegistry:
    """Finds paper bundles in the bundled, user and imported folders (in that order)."""

    user_dirs: list[Path] = field(default_factory=list)
    include_bundled: bool = True
    include_imported: bool = True

    @classmethod
    def from_environment(cls, papers_dir: list[Path] | None = None) -> PaperRegistry:
        dirs = list(papers_dir or [])
        from_env = os.environ.get(PAPERS_DIR_ENV, "")
        dirs += [Path(part) for part in from_env.split(os.pathsep) if part]
        return cls(user_dirs=dirs)

    def sources(self) -> list[tuple[str, Path]]:
        found: list[tuple[str, Path]] = []
        if self.include_bundled:
            found.append(("bundled", resource_dir("papers")))
        found += [("user", directory) for directory in self.user_dirs]
        if self.include_imported:
            found.append(("imported", imported_papers_dir()))
        return found

    def entries(self) -> list[RegistryEntry]:
        """Every bundle folder, loaded or with its error, first occurrence of an id winning."""
        result: dict[str, RegistryEntry] = {}
        for source, directory in self.sources():
            if not directory.is_dir():
                continue
            for child in sorted(directory.iterdir()):
                if not child.is_dir() or child.name.startswith((".", "_")):
                    continue
                try:
                    entry = RegistryEntry(child, source, bundle=load_bundle(child))
                except PaperError as error:
                    entry = RegistryEntry(child, source, error=str(error))
                result.setdefault(entry.id, entry)
        return list(result.values())

    def get(self, paper_id: str) -> PaperBundle:
        """Return the bundle with id ``paper_id``, or a folder path given instead of an id.

        Raises:
            PaperError: no such paper (the message lists the known ids), or it is broken.
        """
        candidate = Path(paper_id)
        if os.sep in paper_id or (candidate.is_dir() and (candidate / "config.yaml").exists()):
            return load_bundle(candidate)
        entries = self.entries()
        for entry in entries:
            if entry.id == paper_id:
                if entry.bundle is None:
                    raise PaperError(entry.error or f"paper {paper_id} is broken")
                return entry.bundle
        known = ", ".join(sorted(entry.id for entry in entries)) or "none"
        raise PaperError(
            f"unknown paper {paper_id!r}; known: {known} (add folders with --papers-dir or "
            f"{PAPERS_DIR_ENV})"
        )
