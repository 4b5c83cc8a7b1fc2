"""Building the judge's prompts: a stable prefix per category view, then a short suffix per call.

A prompt is a system message (the instructions) and a user message made of blocks, ordered from
the most shared to the least, so that provider prompt caching reuses as much as possible:

    instructions | paper | addendum + judge notes | submission files | reproduction log |
    files the run created | guidance for the category  ||  the requirement(s) to grade

What each category *sees* follows PaperBench: Code Development sees the source and docs (not the
log); Code Execution sees ``reproduce.sh``, the code and the log; Result Analysis sees the log
and the files the run created (not the source). Code Development and Code Execution see the same
files block when it fits, so their prefixes agree up to the log. Everything up to the category
guidance is identical for every leaf of a category, so all of them share it; only the suffix
(the leaf, its ancestors) differs. Grading category by category keeps the cache warm.

When the files of a view do not fit the context window, files are chosen per rubric subtree by
lexical ranking (:mod:`paperbench.grading.retrieval`), and every leaf of that subtree shares the
resulting prefix. The listing of all files stays the same for every subtree, ahead of the chosen
files, so even different subtrees share the listing.

Everything the agent wrote — files, their names and listings, the log, outputs — is *fenced*
(:mod:`paperbench.grading.fencing`) with a code derived from a hash of that material, so the
material cannot contain the code, and a fence-like line inside it is escaped, so it cannot close
its own fence: a file that says "grade this 1", forges an end-of-data line or is *named* with
newlines and an instruction stays data. Names are quoted on one line wherever they appear. The
instructions say so. Placeholders in templates are filled in one pass, so text inserted into a
template is never read as a placeholder.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from paperbench.grading.fencing import choose_fence_code, fenced, quote_name
from paperbench.grading.inputs import FileKind, Reproduction, Submission, SubmissionFile
from paperbench.grading.logs import prepare_log
from paperbench.grading.plan import (
    CODE_DEVELOPMENT,
    CODE_EXECUTION,
    RESULT_ANALYSIS,
    GradingItem,
)
from paperbench.grading.retrieval import LexicalIndex, choose_within_budget
from paperbench.llm.tokens import TokenCounter, count_tokens, truncate_to_tokens
from paperbench.llm.types import Message, TextPart
from paperbench.resources import resource_dir

SOURCE_KINDS: frozenset[FileKind] = frozenset({"source", "doc", "script"})
GUIDANCE = {
    CODE_DEVELOPMENT: "categories/code-development.md",
    CODE_EXECUTION: "categories/code-execution.md",
    RESULT_ANALYSIS: "categories/result-analysis.md",
}
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
LISTING_LIMIT = 400


class Templates:
    """The prompt templates in ``grader/prompts`` (or another folder of the same layout)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or resource_dir("grader") / "prompts"
        self._cache: dict[str, str] = {}

    def text(self, name: str) -> str:
        if name not in self._cache:
            self._cache[name] = (self.root / name).read_text(encoding="utf-8")
        return self._cache[name]

    def fill(self, name: str, **values: str) -> str:
        template = self.text(name)
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template).strip()

    def digest(self) -> str:
        """A hash of every template, recorded with each grade (prompt provenance)."""
        hasher = hashlib.sha256()
        for path in sorted(self.root.rglob("*.md")):
            hasher.update(path.relative_to(self.root).as_posix().encode() + b"\0")
            hasher.update(path.read_bytes())
        return hasher.hexdigest()


@dataclass(frozen=True)
class Block:
    label: str
    text: str
    tokens: int
    cache: bool = False

    @property
    def key(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Prefix:
    """The stable part of a prompt; ``complete`` is false when files had to be chosen."""

    view: tuple[str, ...]
    group: str
    blocks: tuple[Block, ...]
    complete: bool
    shown: tuple[str, ...]

    @property
    def tokens(self) -> int:
        return sum(block.tokens for block in self.blocks)

    @property
    def key(self) -> str:
        return hashlib.sha256("".join(block.key for block in self.blocks).encode()).hexdigest()


def fence_code(submission: Submission, log: str) -> str:
    """A code no fenced material (texts, names, log) contains: derived from a hash of it."""
    seed = submission.digest() + hashlib.sha256(log.encode("utf-8", "replace")).hexdigest()
    texts = [f.text or "" for f in submission.files] + [f.path for f in submission.files]
    return choose_fence_code(seed, [*texts, log])


def path_label(path: str) -> str:
    """The label of a fenced file: ``path="..."``, the name quoted and escaped if need be."""
    quoted = quote_name(path)
    return f"path={quoted}" if quoted.startswith('"') else f'path="{quoted}"'


class PromptBuilder:
    """Builds prefixes and suffixes for one submission of one paper."""

    def __init__(
        self,
        *,
        paper: str,
        addendum: str,
        judge_addendum: str,
        submission: Submission,
        reproduction: Reproduction | None,
        templates: Templates,
        prefix_budget: int,
        counter: TokenCounter = count_tokens,
    ) -> None:
        self.submission = submission
        self.reproduction = reproduction
        self.templates = templates
        self.budget = prefix_budget
        self.count = counter
        log = reproduction.log if reproduction else ""
        self.code = fence_code(submission, log)
        self.instructions = self._block("instructions", templates.fill("instructions.md"))
        addenda = templates.fill(
            "addendum.md",
            addendum=addendum.strip() or "(none)",
            judge_addendum=judge_addendum.strip() or "(none)",
        )
        self.addendum = self._block("addendum", addenda, cache=True)
        paper_text = templates.fill("paper.md", paper=paper.strip())
        room_for_paper = self.budget - self.instructions.tokens - self.addendum.tokens - 1500
        if self.count(paper_text) > room_for_paper:
            paper_text = (
                truncate_to_tokens(paper_text, max(room_for_paper, 0))
                + "\n\n[... the rest of the paper is cut here to fit the judge's context ...]"
            )
        self.paper = self._block("paper", paper_text)
        self._file_tokens: dict[str, int] = {}
        self._index: dict[tuple[FileKind, ...], LexicalIndex] = {}

    # -- blocks ----------------------------------------------------------------------------
    def _block(self, label: str, text: str, *, cache: bool = False) -> Block:
        return Block(label, text, self.count(text), cache)

    def _file_text(self, item: SubmissionFile) -> str:
        return fenced(self.code, path_label(item.path), item.text or "")

    def _file_cost(self, item: SubmissionFile) -> int:
        if item.path not in self._file_tokens:
            self._file_tokens[item.path] = self.count(self._file_text(item)) + 1
        return self._file_tokens[item.path]

    def _listing(self, files: Sequence[SubmissionFile]) -> str:
        """The files as a fenced list: names are the agent's, so they are data too."""
        lines = []
        for item in files[:LISTING_LIMIT]:
            note = f", not shown: {item.note or 'binary'}" if item.text is None else ""
            note = ", cut" if item.note == "cut" else note
            lines.append(f"- {quote_name(item.path)} ({item.kind}, {item.size} bytes{note})")
        more = len(files) - LISTING_LIMIT + self.submission.unlisted
        if more > 0:
            lines.append(f"- [... {more} more files not listed ...]")
        return fenced(self.code, "listing", "\n".join(lines)) if lines else "(none)"

    def _files_block(
        self,
        template: str,
        candidates: list[SubmissionFile],
        listed: Sequence[SubmissionFile],
        budget: int,
        query: str | None,
        kinds: tuple[FileKind, ...],
        *,
        always_script: bool,
        cache: bool,
        label: str,
    ) -> tuple[Block, bool, tuple[str, ...]]:
        costs = [self._file_cost(item) for item in candidates]
        head_values = {"nonce": self.code, "listing": self._listing(listed)}
        head_values |= {"file_count": str(len(listed)), "created_count": str(len(listed))}
        head = self.count(self.templates.fill(template, **head_values, selection_note="", files=""))
        room = budget - head - 60
        if sum(costs) <= room:
            chosen = list(range(len(candidates)))
            note = ""
        else:
            if query is None:
                ranked = list(range(len(candidates)))
            else:
                if kinds not in self._index:
                    self._index[kinds] = LexicalIndex.build(
                        [(item.path, item.text or "") for item in candidates]
                    )
                ranked = self._index[kinds].rank(query)
            script = {i for i, item in enumerate(candidates) if item.kind == "script"}
            chosen = choose_within_budget(
                ranked, costs, room, always=lambda i: always_script and i in script
            )
            note = (
                f"\nThese files do not all fit; the {len(chosen)} of {len(candidates)} most "
                "relevant to the requirements below (ranked by shared terms) are shown."
            )
        files_text = "\n\n".join(self._file_text(candidates[i]) for i in chosen) or "(no files)"
        text = self.templates.fill(template, **head_values, selection_note=note, files=files_text)
        shown = tuple(candidates[i].path for i in chosen)
        return self._block(label, text, cache=cache), len(chosen) == len(candidates), shown

    def _guidance(self, view: tuple[str, ...]) -> Block:
        name = GUIDANCE[view[0]] if len(view) == 1 else "categories/mixed.md"
        return self._block(f"guidance:{'+'.join(view)}", self.templates.fill(name), cache=True)

    # -- prefixes --------------------------------------------------------------------------
    def prefix(self, view: tuple[str, ...], *, query: str | None = None, group: str = "") -> Prefix:
        """The prefix for items whose categories are ``view``; ``query`` ranks files if needed."""
        wants_files = CODE_DEVELOPMENT in view or CODE_EXECUTION in view
        wants_run = CODE_EXECUTION in view or RESULT_ANALYSIS in view
        wants_outputs = RESULT_ANALYSIS in view and self.reproduction is not None
        guidance = self._guidance(view)
        fixed = (self.instructions, self.paper, self.addendum)
        room = self.budget - sum(b.tokens for b in fixed) - guidance.tokens
        blocks: list[Block] = list(fixed)

        run_block: Block | None = None
        if wants_run and self.reproduction is None:
            run_block = self._block("no-reproduction", self.templates.fill("no-reproduction.md"))
        elif wants_run and self.reproduction is not None:
            share = 0.2 if wants_files and wants_outputs else 0.25 if wants_files else 0.4
            shared = wants_files or wants_outputs
            run_block = self._run_block(int(room * share) if shared else room)
        if run_block is not None:
            room -= run_block.tokens

        complete = True
        shown: tuple[str, ...] = ()
        outputs_block: Block | None = None
        if wants_outputs:
            outputs = self.submission.shown(frozenset({"output"}))
            listed = [f for f in self.submission.files if f.kind == "output"]
            out_room = int(room * 0.6) if wants_files else room
            outputs_block, done, out_shown = self._files_block(
                "outputs.md",
                outputs,
                listed,
                out_room,
                query,
                ("output",),
                always_script=False,
                cache=False,
                label="outputs",
            )
            room -= outputs_block.tokens
            complete &= done
            shown += out_shown
        if wants_files:
            sources = self.submission.shown(SOURCE_KINDS)
            listed = [f for f in self.submission.files if f.kind != "output"]
            files_block, done, file_shown = self._files_block(
                "files.md",
                sources,
                listed,
                room,
                query,
                ("source", "doc", "script"),
                always_script=CODE_EXECUTION in view,
                cache=True,
                label="files",
            )
            blocks.append(files_block)
            complete &= done
            shown = file_shown + shown
        if run_block is not None:
            blocks.append(run_block)
        if outputs_block is not None:
            blocks.append(outputs_block)
        blocks.append(guidance)
        return Prefix(view, group, tuple(blocks), complete, shown)

    def _run_block(self, budget: int) -> Block:
        assert self.reproduction is not None
        record = self.reproduction.record
        empty = self.templates.fill(
            "reproduction.md", nonce=self.code, status=record.status_line(), log="", log_note=""
        )
        room = budget - self.count(empty) - 40
        log = prepare_log(self.reproduction.log, room, counter=self.count)
        note = "" if log == self.reproduction.log else " (repetition collapsed; see markers)"
        text = self.templates.fill(
            "reproduction.md",
            nonce=self.code,
            status=record.status_line(),
            log=fenced(self.code, 'path="reproduce.log"', log or "(empty)"),
            log_note=note,
        )
        return self._block("reproduction", text)

    # -- suffixes --------------------------------------------------------------------------
    @staticmethod
    def _context(item: GradingItem) -> str:
        lines = [
            f"{'  ' * depth}- {node.requirements.strip()}"
            for depth, node in enumerate(item.ancestors)
        ]
        return "\n".join(lines) or "(this is the root)"

    def leaf_suffix(self, item: GradingItem) -> str:
        return self.templates.fill(
            "leaf.md",
            context=self._context(item),
            path=item.path,
            category=item.category_label,
            requirement=item.node.requirements.strip(),
        )

    def subtree_suffix(self, item: GradingItem) -> str:
        def outline(node_depth: int, node: object) -> Iterable[str]:
            from paperbench.rubric import RubricNode

            assert isinstance(node, RubricNode)
            kind = f", {node.task_category}" if node.is_leaf and node.task_category else ""
            yield f"{'  ' * node_depth}- [weight {node.weight}{kind}] {node.requirements.strip()}"
            for child in node.sub_tasks:
                yield from outline(node_depth + 1, child)

        return self.templates.fill(
            "subtree.md",
            context=self._context(item),
            path=item.path,
            outline="\n".join(outline(0, item.node)),
        )

    def batch_suffix(self, items: Sequence[GradingItem], keys: Sequence[str]) -> str:
        lines: list[str] = []
        printed: set[str] = set()
        for item, key in zip(items, keys, strict=True):
            steps = item.path.split("/")
            for depth, node in enumerate(item.ancestors):
                ancestor_path = "/".join(steps[:depth])
                if ancestor_path not in printed:
                    printed.add(ancestor_path)
                    lines.append(f"{'  ' * depth}- {node.requirements.strip()}")
            indent = "  " * len(item.ancestors)
            lines.append(
                f"{indent}- **{key}** `{item.path}` ({item.category_label}): "
                f"{item.node.requirements.strip()}"
            )
        return self.templates.fill("batch.md", outline="\n".join(lines), keys=", ".join(keys))

    def retry_note(self, problem: str) -> str:
        return "\n\n" + self.templates.fill("retry.md", problem=problem)

    # -- messages --------------------------------------------------------------------------
    @staticmethod
    def messages(prefix: Prefix, suffix: str) -> tuple[Message, ...]:
        system, *rest = prefix.blocks
        parts = [TextPart(text=block.text + "\n\n", cache=block.cache) for block in rest]
        parts.append(TextPart(text=suffix))
        return (
            Message(role="system", content=(TextPart(text=system.text),)),
            Message(role="user", content=tuple(parts)),
        )
