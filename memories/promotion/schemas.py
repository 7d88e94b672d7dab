"""The shapes both paths answer in: the model's tool input and the offline functions' return
values are held to the same JSON schemas, so one code path stores both."""

from typing import Any

from jsonschema import Draft202012Validator

from clone_server import llm
from memories.services import MAX_FACT_CHARS, MAX_TAG_CHARS, MAX_TAGS

MAX_NEW_FACTS = 50
MAX_REINFORCED = 100
MAX_SOURCE_IDS = 100

EPISODE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["title", "summary"],
    "properties": {
        "title": {"type": "string", "minLength": 1, "maxLength": 200},
        "summary": {"type": "string", "minLength": 1, "maxLength": 4000},
    },
}

_IDS = {"type": "array", "maxItems": MAX_SOURCE_IDS, "items": {"type": "integer"}}
_TAGS = {
    "type": "array",
    "maxItems": MAX_TAGS,
    "items": {"type": "string", "maxLength": MAX_TAG_CHARS},
}
_FACT_TEXT = {"type": "string", "minLength": 1, "maxLength": MAX_FACT_CHARS}

FACTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["new", "reinforce"],
    "properties": {
        "new": {
            "type": "array",
            "maxItems": MAX_NEW_FACTS,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["kind", "text", "importance", "tags", "source_episode_ids"],
                "properties": {
                    "kind": {"type": "string", "minLength": 1, "maxLength": 32},
                    "text": _FACT_TEXT,
                    "importance": {"type": "number", "minimum": 0, "maximum": 1},
                    "tags": _TAGS,
                    "source_episode_ids": _IDS,
                },
            },
        },
        "reinforce": {
            "type": "array",
            "maxItems": MAX_REINFORCED,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "importance_delta", "source_episode_ids"],
                "properties": {
                    "id": {"type": "integer"},
                    "importance_delta": {"type": "number", "minimum": -1, "maximum": 1},
                    "source_episode_ids": _IDS,
                    # Optional refinement: a better wording; the old one goes to revisions.
                    "text": _FACT_TEXT,
                    "tags": _TAGS,
                },
            },
        },
    },
}


_validators = {
    "episode": Draft202012Validator(EPISODE_SCHEMA),
    "facts": Draft202012Validator(FACTS_SCHEMA),
}


def checked_offline(kind: str, data: Any) -> dict:
    """The offline functions promise the schemas' shape; hold them to it like the model."""
    errors = list(_validators[kind].iter_errors(data))
    if errors:
        raise llm.LLMBadOutput(
            "The local promoter's answer did not match the expected format.",
            details=[{"field": e.json_path, "message": e.message[:200]} for e in errors[:5]],
        )
    return data
