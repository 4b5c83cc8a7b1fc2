"""``paperbench rubric draft``: a model drafts a rubric from the paper, through the provider layer.

One structured-output call (:mod:`paperbench.llm`): the system prompt states PaperBench's rubric
conventions and the rules ``paperbench rubric lint`` checks; the user turn carries the paper,
its addendum and the outline ``rubric new`` reads (stated contributions, main sections), so the
model starts from the same skeleton an author would. The reply must follow a JSON schema of the
tree; the schema is unrolled to :data:`MAX_DRAFT_DEPTH` levels rather than recursive, because
not every provider's structured output accepts recursive schemas, and a draft deeper than that
is more than an author wants to review at once.

What happens to the reply, in order:

1. it is parsed as JSON; each node gets a fresh UUID, as PaperBench's rubrics have;
2. a category the model put on an inner node is dropped — inner nodes carry none in
   PaperBench's format, and the label says nothing the leaves below do not — and that is the
   only repair made;
3. it is validated. If it is not a valid rubric, the model is asked once more
   (``attempts``), shown its reply and the exact problems; if the last reply is still not
   valid, :class:`DraftError` says so in one line, and the reply is kept for inspection;
4. the valid tree is linted, and the advice is returned with it for the author to act on.

Nothing is written here; the command writes the tree and prints the advice.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from paperbench.errors import RubricError
from paperbench.llm import (
    GenerateRequest,
    GenerateSettings,
    LLMError,
    Message,
    OutputSchema,
    Provider,
    TextPart,
    Usage,
)
from paperbench.rubric.io import RubricLimitError, check_limits
from paperbench.rubric.lint import Advice, LintConfig, lint_tree
from paperbench.rubric.model import FINEGRAINED_TASK_CATEGORIES, TASK_CATEGORIES, RubricNode
from paperbench.rubric.problems import Problem
from paperbench.rubric.scaffold import PaperOutline
from paperbench.rubric.validate import validate_data

MAX_DRAFT_DEPTH = 4
DEFAULT_MAX_OUTPUT_TOKENS = 16384

SYSTEM_PROMPT = f"""\
You write grading rubrics for PaperBench, a benchmark in which AI agents try to replicate a \
machine-learning paper from scratch and a judge grades each replication against the rubric.

A rubric is a tree. The root says that the paper's core contributions have been reproduced. \
Below it, one subtree per main contribution of the paper; below those, finer requirements. \
Each node has:
- requirements: one sentence saying what must hold in the replication;
- weight: a positive integer, the node's importance relative to its siblings (1 to 10);
- sub_tasks: its children; empty for a leaf;
- task_category: for leaves only, one of {", ".join(TASK_CATEGORIES)}; null on inner nodes;
- finegrained_task_category: for leaves, one of {", ".join(FINEGRAINED_TASK_CATEGORIES)}; \
null on inner nodes.

The judge scores every leaf 0 or 1 and scores roll up as weighted means. Write leaves that a \
judge can check without guessing:
- Code Development leaves say what code must implement, naming the equation, algorithm, \
setting or value from the paper ("Code has been written that updates the parameters as in \
Equation 3").
- Code Execution leaves say what must have been run, with which settings ("The training script \
has been run with learning rates 0.1 and 0.01, 5 seeds each").
- Result Analysis leaves say what the recorded results must show, with the number or \
comparison to match ("The recorded test accuracy of Adam is higher than that of SGD, as in \
Table 1").
- One requirement per leaf: split a leaf that asks for several things into siblings.
- No vague words (correctly, appropriate, good, reasonable) without saying what exactly holds.
- No two siblings asking for the same thing.
- Weigh each node by how much of the paper's contribution it carries.
- At most {MAX_DRAFT_DEPTH} levels below the root.

Reply with the rubric only, as JSON that follows the given schema.
"""


class DraftError(RubricError):
    """The model could not be called, or its last reply was not a valid rubric.

    ``reply`` is the model's last reply (empty when no call succeeded), kept so the author can
    inspect or repair it.
    """

    def __init__(self, message: str, reply: str = "") -> None:
        super().__init__(message)
        self.reply = reply


@dataclass
class Draft:
    """A valid drafted tree, its lint advice, and what the drafting cost."""

    tree: RubricNode
    advice: list[Advice]
    attempts: int
    usage: Usage
    model_version: str
    replies: list[str] = field(default_factory=list)


def draft_schema() -> OutputSchema:
    """The reply's JSON schema: the tree unrolled to :data:`MAX_DRAFT_DEPTH` levels, strict
    (every property required, no others), categories nullable."""

    def nullable(values: tuple[str, ...]) -> dict[str, Any]:
        return {"anyOf": [{"type": "string", "enum": list(values)}, {"type": "null"}]}

    def level(depth: int) -> dict[str, Any]:
        properties: dict[str, Any] = {
            "requirements": {"type": "string"},
            "weight": {"type": "integer"},
            "task_category": nullable(TASK_CATEGORIES),
            "finegrained_task_category": nullable(FINEGRAINED_TASK_CATEGORIES),
        }
        if depth < MAX_DRAFT_DEPTH:
            properties["sub_tasks"] = {"type": "array", "items": level(depth + 1)}
        return {
            "type": "object",
            "properties": properties,
            "required": list(properties),
            "additionalProperties": False,
        }

    root = {
        "type": "object",
        "properties": {
            "requirements": {"type": "string"},
            "sub_tasks": {"type": "array", "items": level(1)},
        },
        "required": ["requirements", "sub_tasks"],
        "additionalProperties": False,
    }
    return OutputSchema(name="rubric", json_schema=root)


def draft_messages(paper: str, outline: PaperOutline, addendum: str = "") -> list[Message]:
    """The system prompt and the user turn (paper, addendum, outline); the paper ends a cached
    prefix so a second attempt re-reads it from the provider's cache."""
    hints = [f'Title: "{outline.title}"']
    if outline.contributions:
        listed = "; ".join(f"({i + 1}) {text}" for i, text in enumerate(outline.contributions))
        hints.append(f"Contributions the paper states: {listed}")
    if outline.sections:
        hints.append("Main sections: " + "; ".join(s.heading for s in outline.sections))
    paper_part = f"<paper>\n{paper.strip()}\n</paper>\n"
    if addendum.strip():
        paper_part += f"<addendum>\n{addendum.strip()}\n</addendum>\n"
    return [
        Message.text("system", SYSTEM_PROMPT),
        Message(
            role="user",
            content=(
                TextPart(text=paper_part, cache=True),
                TextPart(text="\n".join(hints) + "\n\nWrite the rubric for this paper."),
            ),
        ),
    ]


def reply_to_rubric(reply: Any) -> Any:
    """PaperBench JSON from a parsed reply: fresh UUIDs, empty ``sub_tasks`` on leaves, and
    categories dropped from inner nodes. Anything else malformed is passed through, so that
    validation names it."""
    if not isinstance(reply, dict):
        return reply
    raw_children = reply.get("sub_tasks")
    children = raw_children if isinstance(raw_children, list) else []
    node: dict[str, Any] = {"id": str(uuid.uuid4())}
    for key in ("requirements", "weight"):
        if key in reply:
            node[key] = reply[key]
    node["sub_tasks"] = [reply_to_rubric(child) for child in children]
    inner = bool(children)
    for key in ("task_category", "finegrained_task_category"):
        node[key] = None if inner else reply.get(key)
    return node


def _check(text: str) -> tuple[RubricNode | None, list[str]]:
    """The tree of a reply, or the problems that keep it from being a valid rubric."""
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as error:
        return None, [f"not JSON: {error.msg} at line {error.lineno}, column {error.colno}"]
    except RecursionError:
        return None, ["JSON nested too deeply to read"]
    try:
        check_limits(parsed, "the draft")
    except RubricLimitError as error:
        return None, [str(error).removeprefix("the draft: ")]
    data = reply_to_rubric(parsed)
    if isinstance(data, dict):
        data["weight"] = 1  # the root's weight is not the model's to choose
    tree, problems = validate_data(data, "the draft")
    errors = [_line(problem) for problem in problems if problem.severity == "error"]
    return (tree if not errors else None), errors


def _line(problem: Problem) -> str:
    """A problem by path only: the ids are ours, fresh UUIDs that mean nothing to the model."""
    return replace(problem, node_id=None).describe(with_source=False).removeprefix("error: ")


async def draft_rubric(
    provider: Provider,
    paper: str,
    outline: PaperOutline,
    *,
    addendum: str = "",
    attempts: int = 2,
    settings: GenerateSettings | None = None,
    lint_config: LintConfig | None = None,
) -> Draft:
    """Ask the model for a rubric (see the module docstring).

    Raises:
        DraftError: the prompt does not fit the model's context window, a call failed after
            the provider's retries, or the last reply is still not a valid rubric.
    """
    settings = settings or GenerateSettings(max_output_tokens=DEFAULT_MAX_OUTPUT_TOKENS)
    messages = draft_messages(paper, outline, addendum)
    prompt_tokens = sum(
        provider.token_counter()(part.text) for message in messages for part in message.content
    )
    room = provider.spec.context_window - settings.max_output_tokens
    if prompt_tokens > room:
        raise DraftError(
            f"the paper and instructions take {prompt_tokens} tokens, but {provider.spec.name} "
            f"leaves {max(room, 0)} of its {provider.spec.context_window}-token window after "
            f"{settings.max_output_tokens} output tokens; use a model with a larger context "
            "window or lower --max-output-tokens"
        )
    usage = Usage()
    replies: list[str] = []
    errors: list[str] = []
    version = ""
    for attempt in range(1, max(attempts, 1) + 1):
        request = GenerateRequest(
            messages=tuple(messages), output_schema=draft_schema(), settings=settings
        )
        try:
            completion = await provider.generate(request)
        except LLMError as error:
            raise DraftError(
                f"{provider.spec.name} failed to draft the rubric: {error}",
                replies[-1] if replies else "",
            ) from None
        usage += completion.usage
        version = completion.model_version or version
        replies.append(completion.text)
        tree, errors = _check(completion.text)
        if tree is not None:
            advice = lint_tree(tree, "the draft", lint_config)
            return Draft(tree, advice, attempt, usage, version, replies)
        messages += [
            Message.text("assistant", completion.text),
            Message.text(
                "user",
                "That reply is not a valid rubric:\n- "
                + "\n- ".join(errors[:20])
                + "\nReply with the whole corrected rubric.",
            ),
        ]
    shown = "; ".join(errors[:3]) + (f" (and {len(errors) - 3} more)" if len(errors) > 3 else "")
    raise DraftError(
        f"{provider.spec.name}'s reply is not a valid rubric after {attempts} attempts: {shown}",
        replies[-1] if replies else "",
    )


def run_draft(provider: Provider, paper: str, outline: PaperOutline, **options: Any) -> Draft:
    """:func:`draft_rubric` from synchronous code, closing the provider afterwards."""

    async def run() -> Draft:
        async with provider:
            return await draft_rubric(provider, paper, outline, **options)

    return asyncio.run(run())
