"""The JSON Schema of a rubric file, generated from :class:`RubricNode`.

``rubrics/rubric.schema.json`` is this schema written out; a test regenerates it and fails on
any difference, so the model and the published schema cannot drift. Regenerate it with
``paperbench rubric schema --write``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from paperbench.resources import resource_dir
from paperbench.rubric.model import RubricNode

SCHEMA_ID = "https://paperbench.dev/schemas/rubric.schema.json"


def rubric_schema() -> dict[str, Any]:
    schema = RubricNode.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
    }


def schema_text() -> str:
    return json.dumps(rubric_schema(), indent=2, ensure_ascii=False) + "\n"


def committed_schema_path() -> Path:
    return resource_dir("rubrics") / "rubric.schema.json"
