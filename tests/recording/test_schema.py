"""The event schema as a contract: the README's examples are valid, and both compiled validators
(the fast one that gates ingest and the reference one that explains) agree on it."""

import json
from pathlib import Path

import jsonschema_rs
import pytest
from django.conf import settings
from jsonschema import Draft202012Validator

from recording.models import EventKind
from recording.validation import EVENT_SCHEMA, event_problems, parse_occurred_at
from tests.factories import event

EXAMPLES_DIR = Path(settings.BASE_DIR) / "schema" / "examples"
EXAMPLES = {path.stem: json.loads(path.read_text()) for path in sorted(EXAMPLES_DIR.glob("*.json"))}


def test_schema_is_valid_json_schema_2020_12():
    Draft202012Validator.check_schema(EVENT_SCHEMA)
    assert EVENT_SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_kinds_match_the_model_choices():
    assert EVENT_SCHEMA["properties"]["kind"]["enum"] == list(EventKind.values)


def test_there_is_one_example_per_kind():
    assert sorted(EXAMPLES) == sorted(EventKind.values)
    assert all(example["kind"] == name for name, example in EXAMPLES.items())


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_is_valid(name):
    example = EXAMPLES[name]
    assert event_problems(example) == []
    reference = Draft202012Validator(
        EVENT_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    assert list(reference.iter_errors(example)) == []
    assert jsonschema_rs.validator_for(EVENT_SCHEMA, validate_formats=True).is_valid(example)


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("2026-11-20T09:00:00Z", True),
        ("2026-11-20t09:00:00z", True),
        ("2026-11-20T09:00:00.123456789+05:30", True),
        ("2026-11-20T09:00:00", False),
        ("2026-12-31T23:59:60Z", False),
        ("0001-01-01T00:00:00+01:00", False),
        ("9999-12-31T23:59:59-01:00", False),
    ],
    ids=[
        "utc",
        "lowercase",
        "nanoseconds",
        "no-offset",
        "leap-second",
        "before-year-1",
        "after-9999",
    ],
)
def test_parse_occurred_at(value, valid):
    assert (parse_occurred_at(value) is not None) is valid


def test_valid_event_of_every_kind_from_the_factory_has_no_problems():
    for kind in EventKind.values:
        assert event_problems(event(kind)) == [], kind


def test_identifier_with_trailing_newline_is_rejected_although_python_re_would_match():
    # Python's "$" matches before a final newline; the stricter validator's verdict stands.
    problems = event_problems(event(id="abc\n"), index=3)
    assert [(p.index, p.path) for p in problems] == [(3, "$.id")]


def test_problem_messages_do_not_echo_huge_values():
    problems = event_problems(event("note", payload={"text": 5}), index=0)
    assert [p.path for p in problems] == ["$.payload.text"]
    huge = event(id="x" * 100_000)
    assert all(len(p.message) <= 300 for p in event_problems(huge))


STRUCTURED_PROMPT = {
    "agent": "claude-code",
    "text": "Bash: npm test",
    "tool": {"name": "Bash", "input": {"command": "npm test"}},
    "options": ["yes", "no", "always"],
    "cwd": "/home/ada/shop",
    "context": "I updated the reports.",
}


def test_an_agent_prompt_may_carry_its_structure():
    assert event_problems(event("agent_prompt", payload=STRUCTURED_PROMPT)) == []


def test_an_agent_prompt_without_structure_stays_valid():
    assert event_problems(event("agent_prompt", payload={"agent": "a", "text": "t"})) == []


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"tool": "Bash"}, "$.payload.tool"),
        ({"tool": {"input": {}}}, "$.payload.tool.name"),
        ({"tool": {"name": "Bash", "input": "ls"}}, "$.payload.tool.input"),
        ({"options": "yes"}, "$.payload.options"),
        ({"options": [""]}, "$.payload.options[0]"),
        ({"options": ["o"] * 21}, "$.payload.options"),
        ({"cwd": 5}, "$.payload.cwd"),
        ({"context": "x" * 20_001}, "$.payload.context"),
    ],
    ids=[
        "tool-text",
        "tool-no-name",
        "input-text",
        "options-text",
        "option-empty",
        "too-many",
        "cwd-number",
        "context-long",
    ],
)
def test_a_malformed_structure_is_refused_by_both_validators(change, path):
    bad = event("agent_prompt", payload={**STRUCTURED_PROMPT, **change})
    assert [p.path for p in event_problems(bad)] == [path]
    assert not jsonschema_rs.validator_for(EVENT_SCHEMA, validate_formats=True).is_valid(bad)
