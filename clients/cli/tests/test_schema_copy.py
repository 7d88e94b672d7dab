"""The schema shipped in the package is the repository's schema."""

import json
from importlib import resources

from conftest import REPO


def test_packaged_schema_matches_the_repository_schema():
    packaged = resources.files("clone_cli").joinpath("schema/events.schema.json").read_text()
    repo = (REPO / "schema" / "events.schema.json").read_text()
    assert json.loads(packaged) == json.loads(repo), (
        "clients/cli/src/clone_cli/schema/events.schema.json has drifted from "
        "schema/events.schema.json: copy it over"
    )


def test_every_schema_example_passes_local_validation():
    from clone_cli import events

    for path in sorted((REPO / "schema" / "examples").glob("*.json")):
        assert events.load_and_validate(path.read_text()), path
