"""Judge evaluation through the scripted server: a tiny paper, gold sets graded by hand, and
scripted judges that answer from the gold (or against it, or by coin).

The paper has eight leaves over the three categories. A gold set is written with the leaves'
human grades in rubric order; its submission, log and README carry a marker with the set's
name, so a scripted judge serving several sets knows which one a prompt is about. The judges
read the requirement text out of the prompt's suffix (one leaf, or a batch's ``**Lk**`` lines)
and look its gold grade up; a depth-limited item is found by its path.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import shutil
import tarfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from paperbench.grading.options import JudgeOptions
from paperbench.judge_eval.config import JudgeConfig
from paperbench.judge_eval.gold import (
    GoldNode,
    gold_score,
    load_gold_set,
    parse_expected,
    rubric_sha256,
)
from paperbench.judge_eval.result import JudgeEvalReport
from paperbench.judge_eval.runner import evaluate
from paperbench.llm.retry import RetryPolicy
from paperbench.papers import PaperBundle, load_bundle
from paperbench.reproduction.result import Attempt, FileRecord, ReproductionResult
from tests.support.grading import NoSleep
from tests.support.llm_server import RecordedRequest, Reply


def _leaf(rid: str, text: str, category: str, weight: int = 1) -> dict[str, Any]:
    return {
        "id": rid,
        "requirements": text,
        "weight": weight,
        "sub_tasks": [],
        "task_category": category,
    }


CD, CE, RA = "Code Development", "Code Execution", "Result Analysis"
RUBRIC: dict[str, Any] = {
    "id": "root",
    "requirements": "The toy optimizer study has been reproduced.",
    "weight": 1,
    "sub_tasks": [
        {
            "id": "impl",
            "requirements": "The three optimizers are implemented.",
            "weight": 2,
            "sub_tasks": [
                _leaf("sgd", "The SGD update w - eta * g is implemented.", CD),
                _leaf("momentum", "Heavy-ball momentum with beta 0.9 is implemented.", CD),
                _leaf("adam", "Adam with bias correction is implemented.", CD, 2),
            ],
        },
        {
            "id": "run",
            "requirements": "The experiments have been run.",
            "weight": 1,
            "sub_tasks": [
                _leaf("trains", "reproduce.sh trains all three optimizers.", CE),
                _leaf("logs", "Training logs a loss for every epoch.", CE),
            ],
        },
        {
            "id": "results",
            "requirements": "The results match the paper.",
            "weight": 1,
            "sub_tasks": [
                _leaf("adam-wins", "Adam reaches a lower final loss than SGD.", RA),
                _leaf("momentum-fast", "Momentum converges in fewer epochs than SGD.", RA),
                _leaf("accuracy", "Final test accuracy is at least 0.9.", RA),
            ],
        },
    ],
}
PAPER_ID = "toy-optimizers"
#: Leaf paths in rubric order; gold sets give one grade per path, in this order.
LEAF_PATHS = ("0/0", "0/1", "0/2", "1/0", "1/1", "2/0", "2/1", "2/2")
REQUIREMENT_OF = {
    path: node["requirements"]
    for path, node in (
        (f"{i}/{j}", leaf)
        for i, part in enumerate(RUBRIC["sub_tasks"])
        for j, leaf in enumerate(part["sub_tasks"])
    )
}
MARKER = "GOLD-SET-MARKER"


def make_paper(root: Path, paper_id: str = PAPER_ID) -> PaperBundle:
    root.mkdir(parents=True)
    (root / "config.yaml").write_text(f"id: {paper_id}\ntitle: A toy optimizer paper\n")
    (root / "paper.md").write_text("# Toy optimizers\n\nWe compare SGD, momentum and Adam.\n")
    (root / "rubric.json").write_text(json.dumps(RUBRIC, indent=1))
    return load_bundle(root)


def expected_tree(grades: Sequence[int], rubric: Mapping[str, Any] = RUBRIC) -> dict[str, Any]:
    """The rubric as an expected_result.json with ``grades`` on the leaves, in rubric order."""
    remaining = list(grades)

    def visit(node: Mapping[str, Any], path: str) -> dict[str, Any]:
        graded = {key: value for key, value in node.items() if key != "sub_tasks"}
        if not node["sub_tasks"]:
            score = remaining.pop(0)
            return {
                **graded,
                "sub_tasks": [],
                "score": score,
                "valid_score": True,
                "explanation": f"graded by hand: {'met' if score else 'not met'}",
                "evidence": ["submission/optim.py"],
            }
        children = [
            visit(child, f"{path}/{i}" if path else str(i))
            for i, child in enumerate(node["sub_tasks"])
        ]
        total = sum(child["weight"] for child in children)
        return {
            **graded,
            "sub_tasks": children,
            "score": sum(c["weight"] * c["score"] for c in children) / total,
            "valid_score": True,
            "task_category": None,
            "explanation": "Aggregated score from sub-tasks.",
        }

    tree = visit(rubric, "")
    assert not remaining, "more grades than leaves"
    return tree


def _reproduction_record(paper_id: str, exit_code: int) -> ReproductionResult:
    status = "succeeded" if exit_code == 0 else "failed"
    started = datetime(2025, 1, 1, tzinfo=UTC)
    return ReproductionResult(
        paper_id=paper_id,
        submission="submission",
        image="paperbench/reproducer:test",
        image_id="sha256:test",
        timeout_seconds=600,
        network="none",
        cpus=2,
        memory_mb=2048,
        status=status,
        exit_code=exit_code,
        timed_out=False,
        oom_killed=False,
        duration_seconds=3.5,
        attempts=[
            Attempt(
                number=1,
                status=status,
                exit_code=exit_code,
                duration_seconds=3.5,
                log_file="reproduce.log",
                started_at=started,
            )
        ],
        graded_attempt=1,
        files_created=[FileRecord(path="results/table.md", size=40, sha256="0" * 64)],
        executed_dir="submission",
        paperbench_version="test",
    )


def make_gold_set(
    root: Path,
    name: str,
    grades: Sequence[int],
    *,
    bundle: PaperBundle | None = None,
    paper_id: str = PAPER_ID,
    reproduction: bool = True,
    kind: str = "partial",
    tree: Mapping[str, Any] | None = None,
) -> Path:
    """A gold set in ``root/<paper>/<name>`` in our layout; returns its folder."""
    folder = root / paper_id / name
    submission = folder / "submission"
    submission.mkdir(parents=True)
    (submission / "README.md").write_text(f"# {MARKER} {name}\n\nRun reproduce.sh.\n")
    (submission / "optim.py").write_text(
        f"# {MARKER} {name}\ndef sgd(w, g, eta):\n    return w - eta * g\n"
    )
    (submission / "reproduce.sh").write_text(f"#!/bin/bash\n# {MARKER} {name}\npython optim.py\n")
    if reproduction:
        repro = folder / "reproduction"
        shutil.copytree(submission, repro / "submission")
        (repro / "submission" / "results").mkdir()
        (repro / "submission" / "results" / "table.md").write_text(
            f"| optimizer | loss |\n| adam | 0.01 |  {MARKER} {name}\n"
        )
        (repro / "reproduce.log").write_text(f"{MARKER} {name}\nepoch 1 loss 0.5\ndone\n")
        (repro / "reproduction.json").write_text(
            _reproduction_record(paper_id, 0).model_dump_json(indent=1)
        )
    (folder / "grading").mkdir()
    data = dict(tree) if tree is not None else expected_tree(grades)
    (folder / "grading" / "expected_result.json").write_text(json.dumps(data, indent=1))
    meta: dict[str, Any] = {
        "paper_id": paper_id,
        "name": name,
        "kind": kind,
        "description": f"A {kind} toy submission.",
        "graded_by": "the test suite",
        "graded_at": "2025-01-01",
    }
    if bundle is not None:
        meta["rubric_sha256"] = rubric_sha256(bundle.rubric_path)
    (folder / "gold.json").write_text(json.dumps(meta, indent=1))
    return folder


def make_paperbench_example(
    root: Path, paper: str, number: str, grades: Sequence[int], *, tar: str = "real"
) -> Path:
    """An example in PaperBench's ``data/judge_eval`` layout. ``tar``: ``real`` (a tar of a
    ``submission/`` folder), ``lfs`` (a Git LFS pointer in its place) or ``none``."""
    folder = root / "data" / "judge_eval" / paper / number
    (folder / "grading").mkdir(parents=True)
    (folder / "grading" / "expected_result.json").write_text(json.dumps(expected_tree(grades)))
    if tar == "real":
        staging = root / f".staging-{paper}-{number}" / "submission"
        staging.mkdir(parents=True)
        (staging / "main.py").write_text(f"print('{paper} {number}')\n")
        (staging / "reproduce.sh").write_text("#!/bin/bash\npython main.py\n")
        with tarfile.open(folder / "submission.tar", "w") as archive:
            archive.add(staging, arcname="submission")
    elif tar == "lfs":
        (folder / "submission.tar").write_text(
            "version https://git-lfs.github.com/spec/v1\noid sha256:" + "ab" * 32 + "\nsize 10\n"
        )
    return folder


# -- scripted judges -----------------------------------------------------------------------

_LEAF = re.compile(r"Requirement `([^`]*)` \([^)]*\):\n(.*?)\n\nScore 1", re.S)
_BATCH = re.compile(r"^\s*- \*\*(L\d+)\*\* `([^`]*)` \([^)]*\): (.*)$", re.M)
_SUBTREE = re.compile(r"Grade this part as a whole, `([^`]*)`:")
_SET = re.compile(rf"{MARKER} ([A-Za-z0-9._-]+)")

Answer = Callable[[str, str, float], float]
"""(set name, requirement or path, gold value) -> the judge's value."""


def gold_answer(set_name: str, key: str, gold: float) -> float:
    return gold


def inverse_answer(set_name: str, key: str, gold: float) -> float:
    return 1.0 - gold


def constant_answer(value: int) -> Answer:
    return lambda set_name, key, gold: float(value)


def coin(seed: int, set_name: str, requirement: str) -> int:
    """The seeded coin's flip for one leaf: the same for the same seed, set and leaf."""
    return int(random.Random(f"{seed}:{set_name}:{requirement}").random() < 0.5)


def coin_answer(seed: int) -> Answer:
    return lambda set_name, key, gold: float(coin(seed, set_name, key))


@dataclass
class GoldJudge:
    """A scripted judge: finds the set and the requirement(s) in each prompt, looks the gold
    grade up and answers ``answer(set, requirement, gold)``. Requirements in ``fail`` get a
    reply that never validates (score 7), so the grading stage leaves them invalid."""

    golds: Mapping[str, GoldNode]
    answer: Answer = gold_answer
    fail: frozenset[str] = frozenset()
    seen: list[str] = field(default_factory=list)

    def _gold(self, set_name: str) -> tuple[dict[str, int], GoldNode]:
        tree = self.golds[set_name]
        return {leaf.requirements: leaf.gold for _, leaf in tree.leaves()}, tree

    def _verdict(self, set_name: str, requirement: str, grades: Mapping[str, int]) -> Any:
        self.seen.append(requirement)
        if requirement in self.fail:
            return {"explanation": "scripted failure", "evidence": [], "score": 7}
        value = self.answer(set_name, requirement, float(grades[requirement]))
        return {"explanation": f"scripted: {requirement}", "evidence": [], "score": int(value)}

    def __call__(self, request: RecordedRequest) -> Reply:
        text = request.text
        found = _SET.search(text)
        assert found, "no gold-set marker in the prompt"
        set_name = found.group(1)
        grades, tree = self._gold(set_name)
        suffix = request.segments[-1].text
        if subtree := _SUBTREE.search(suffix):
            path = subtree.group(1)
            node = dict(tree.walk())[path]
            value = self.answer(set_name, path, gold_score(node) or 0.0)
            return Reply(json={"explanation": "scripted subtree", "evidence": [], "score": value})
        batch = _BATCH.findall(suffix)
        if batch:
            return Reply(
                json={
                    "grades": {
                        key: self._verdict(set_name, requirement.strip(), grades)
                        for key, _, requirement in batch
                    }
                }
            )
        leaf = _LEAF.search(suffix)
        assert leaf, f"no requirement in the prompt's suffix: {suffix[:200]!r}"
        return Reply(json=self._verdict(set_name, leaf.group(2).strip(), grades))


def golds_of(*folders: Path) -> dict[str, GoldNode]:
    """The expected trees of gold-set folders, by set name (for :class:`GoldJudge`)."""
    return {
        folder.name: parse_expected(
            json.loads((folder / "grading" / "expected_result.json").read_text()), str(folder)
        )
        for folder in folders
    }


def o3_mini(server_url: str, out: Path, label: str | None = None, **options: Any) -> JudgeConfig:
    """o3-mini served by the scripted server at ``server_url``, its reply cache under ``out``."""
    return JudgeConfig(
        label=label,
        options=JudgeOptions(
            judge="openai/o3-mini",
            judge_base_url=server_url,
            cache_path=out / "cache.sqlite",
            **options,
        ),
    )


def evaluate_sets(
    folders: Sequence[Path],
    paper: PaperBundle,
    server_url: str,
    out: Path,
    *,
    configs: Sequence[JudgeConfig] | None = None,
    repeats: int = 1,
    **config: Any,
) -> JudgeEvalReport:
    """Evaluate judge configurations (default: o3-mini at ``server_url`` with the judge options
    ``config``) on the gold sets in ``folders``, through the real OpenAI client, with no real
    waiting."""
    golds = [load_gold_set(folder) for folder in folders]
    chosen = list(configs or [o3_mini(server_url, out, **config)])
    return asyncio.run(
        evaluate(
            golds,
            chosen,
            repeats=repeats,
            bundles={paper.id: paper},
            out_dir=out,
            retry=RetryPolicy(sleep=NoSleep()),
        )
    )


# -- reviewed runs --------------------------------------------------------------------------


def make_reviewed_run(
    folder: Path,
    paper: PaperBundle,
    judge_url: str,
    reviews: Mapping[str, int],
    *,
    reviewer: str = "alice",
    **judge: Any,
) -> Path:
    """A run of ``paper`` made by the whole pipeline in-process (a scripted agent, a real
    reproduction on the local backend, grading by the scripted judge at ``judge_url``), then
    reviewed: ``reviews`` maps leaf paths to the reviewer's scores, set through the viewer's own
    :func:`~paperbench.grading.overrides.set_override`. Returns the run directory."""
    from paperbench.grading.overrides import set_override
    from tests.support.inprocess import WritingAgent, orchestrate
    from tests.support.runs import run_settings

    settings = run_settings(folder / "runs", judge_url, **judge)
    agent = WritingAgent(
        files={
            "reproduce.sh": "mkdir -p results\necho 'adam 0.01' > results/table.md\n",
            "optim.py": "def sgd(w, g, eta):\n    return w - eta * g\n",
        }
    )
    orchestrator, _ = orchestrate(settings, [paper], agent=agent)
    run_dir = orchestrator.statuses[0].paths.root
    for path, score in reviews.items():
        set_override(run_dir, path, score, f"read optim.py for {path}", reviewer)
    return run_dir
