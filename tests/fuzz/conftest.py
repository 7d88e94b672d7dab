"""Fixtures for fuzzing the whole API through its OpenAPI schema."""

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from memories.promotion import episodes_promote, facts_promote
from memories.services import fact_create, raw_sync
from predictions.services import prediction_create, prediction_feedback
from recording.demo.generator import demo_history
from recording.services import event_ingest

# Filled by the fuzz tests, reported once at the end of the run (the issue note needs it).
FUZZ_TALLY: dict[str, int] = {}


def pytest_terminal_summary(terminalreporter):
    if FUZZ_TALLY:
        parts = ", ".join(f"{key}={value}" for key, value in sorted(FUZZ_TALLY.items()))
        terminalreporter.write_line(f"schemathesis: {parts}")


@pytest.fixture
def wsgi_in_test_transaction():
    """Serve WSGI requests inside the test's transaction, as Django's own test client does:
    without this, request_finished would close the connection that holds the transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def lived_in_account(user, settings):
    """A user with a real history in every tier, so list and detail responses are validated
    against the schema with real rows, not just empty pages."""
    settings.CLONE_LLM_PROVIDER = "local"
    event_ingest(user=user, events=demo_history(days=3, seed=7))
    raw_sync(user=user)
    episodes_promote(user=user, max_rows=200)
    facts_promote(user=user, max_episodes=10)
    fact_create(user=user, text="Prefers pnpm over npm.", importance=0.7)
    predicted = prediction_create(user=user, agent="claude-code", agent_input="Run the tests?")
    prediction_feedback(user=user, prediction_id=predicted.id, outcome="accepted")
    prediction_create(user=user, agent="cursor", agent_input="Commit these changes?")
    return user
