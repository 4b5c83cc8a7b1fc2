"""The judge's structured replies: their JSON schemas (sent to the provider) and their pydantic
validation (applied to whatever comes back).

One leaf: ``{explanation, evidence, score}`` with ``score`` 0 or 1 and ``evidence`` the paths
of the files the judgement rests on. A depth-limited subtree: the same with a score in [0, 1].
A batch of K leaves: ``{"grades": {"L1": {...}, ..., "LK": {...}}}`` — each leaf still gets its
own explanation, evidence and score; entries are validated one by one, so one bad entry costs
one single-leaf regrade, not the whole batch. The explanation comes first so the model reasons
before it commits to a score.

Schemas are strict (every property required, no extra properties) and use only keywords both
OpenAI's and Anthropic's structured outputs accept; the score range of a subtree is checked here
rather than in the schema for that reason. For a provider with ``bounded_output`` (the small
local model, whose constrained decoder honours them) the schema also bounds the explanation to
one short sentence and asks for no evidence: a 135M model otherwise rambles until the output
limit cuts its JSON, its citations are noise, and on two busy CPU cores, after a 6k-token
prompt, each token of its reply takes a tenth of a second.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from paperbench.llm.types import OutputSchema


class LeafVerdict(BaseModel):
    model_config = ConfigDict(extra="ignore")

    explanation: str
    evidence: list[str] = Field(default_factory=list)
    score: Literal[0, 1]


class SubtreeVerdict(BaseModel):
    model_config = ConfigDict(extra="ignore")

    explanation: str
    evidence: list[str] = Field(default_factory=list)
    score: float = Field(ge=0.0, le=1.0)


Verdict = LeafVerdict | SubtreeVerdict


def _verdict_schema(continuous: bool, bounded: bool = False) -> dict[str, Any]:
    score: dict[str, Any] = (
        {"type": "number", "description": "between 0 and 1"}
        if continuous
        else {"type": "integer", "enum": [0, 1]}
    )
    explanation: dict[str, Any] = {"type": "string"}
    evidence: dict[str, Any] = {"type": "array", "items": {"type": "string"}}
    if bounded:
        if continuous:
            score.update(minimum=0, maximum=1)
        explanation["maxLength"] = 80
        evidence.update(maxItems=0)
    return {
        "type": "object",
        "properties": {"explanation": explanation, "evidence": evidence, "score": score},
        "required": ["explanation", "evidence", "score"],
        "additionalProperties": False,
    }


def leaf_schema(bounded: bool = False) -> OutputSchema:
    return OutputSchema(name="grade", json_schema=_verdict_schema(False, bounded))


def subtree_schema(bounded: bool = False) -> OutputSchema:
    return OutputSchema(name="subtree_grade", json_schema=_verdict_schema(True, bounded))


def batch_keys(count: int) -> list[str]:
    return [f"L{index + 1}" for index in range(count)]


def batch_schema(count: int, bounded: bool = False) -> OutputSchema:
    keys = batch_keys(count)
    return OutputSchema(
        name="grades",
        json_schema={
            "type": "object",
            "properties": {
                "grades": {
                    "type": "object",
                    "properties": {key: _verdict_schema(False, bounded) for key in keys},
                    "required": keys,
                    "additionalProperties": False,
                }
            },
            "required": ["grades"],
            "additionalProperties": False,
        },
    )


def reply_format_sha256(bounded: bool, decoding: dict[str, Any] | None = None) -> str:
    """A digest of what the judge is asked to answer in — the schemas of a leaf, a subtree and
    a batch, with or without bounds, and any decoding options of the provider — so that a grade
    is redone when the reply format changes, as when a prompt template does."""
    shapes = {
        "leaf": leaf_schema(bounded).json_schema,
        "subtree": subtree_schema(bounded).json_schema,
        "batch": batch_schema(2, bounded).json_schema,
        "decoding": decoding or {},
    }
    return hashlib.sha256(json.dumps(shapes, sort_keys=True).encode()).hexdigest()


class ReplyProblem(ValueError):
    """A reply that cannot be used; ``str()`` says why in one line."""


def _load(text: str) -> Any:
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.strip("`")
        stripped = stripped[stripped.find("{") :] if "{" in stripped else stripped
    try:
        return json.loads(stripped)
    except json.JSONDecodeError as error:
        raise ReplyProblem(f"not valid JSON ({error.msg} at char {error.pos})") from None


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "(reply)"
    return f"{where}: {first['msg']}"


def parse_single(text: str, *, continuous: bool) -> Verdict:
    """Validate a one-item reply.

    Raises:
        ReplyProblem: not JSON, or not of the schema's shape.
    """
    model: type[LeafVerdict] | type[SubtreeVerdict] = SubtreeVerdict if continuous else LeafVerdict
    try:
        return model.model_validate(_load(text))
    except ValidationError as error:
        raise ReplyProblem(_first_error(error)) from None


def parse_batch(text: str, count: int) -> dict[str, LeafVerdict | str]:
    """Validate a batch reply entry by entry: each key maps to its verdict or to the problem.

    Raises:
        ReplyProblem: the reply as a whole is not JSON or has no ``grades`` object.
    """
    data = _load(text)
    grades = data.get("grades") if isinstance(data, dict) else None
    if not isinstance(grades, dict):
        raise ReplyProblem("no `grades` object")
    results: dict[str, LeafVerdict | str] = {}
    for key in batch_keys(count):
        if key not in grades:
            results[key] = f"entry {key} missing from the batch reply"
            continue
        try:
            results[key] = LeafVerdict.model_validate(grades[key])
        except ValidationError as error:
            results[key] = f"entry {key}: {_first_error(error)}"
    return results
