"""Schemathesis fuzzes every operation in the OpenAPI schema, as each auth scheme.

Each operation gets ``CLONE_FUZZ_EXAMPLES`` generated requests (schema-valid and schema-invalid
bodies, parameters and headers) through the WSGI app on the test Postgres, with the LLM offline
(the local provider). Every response must be a non-5xx whose status, content type, headers and
body are all documented in the schema. Run more locally with e.g.
``CLONE_FUZZ_EXAMPLES=200 pytest tests/fuzz/test_schemathesis.py`` (10x the cases, 10x the time).
"""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from clone_server.wsgi import application
from tests.fuzz.conftest import FUZZ_TALLY

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("CLONE_FUZZ_EXAMPLES", "20"))

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    # Schema-invalid input must be refused with a 4xx, not stored.
    negative_data_rejection,
]


REFUSALS = [400, 401, 403, 404, 405, 406, 409, 411, 413, 415, 422, 428, 429, "5xx"]

# Loaded once at collection from the served schema view (no database needed).
schema = schemathesis.openapi.from_wsgi(
    "/api/schema/",
    application,
    config=schemathesis.Config.from_dict(
        {
            "checks": {
                "negative_data_rejection": {
                    # Refusals: schemathesis' defaults plus 411 and 413 (too large, too many).
                    "expected-statuses": REFUSALS,
                }
            }
        }
    ),
)


@pytest.fixture(autouse=True)
def _fuzz_settings(wsgi_in_test_transaction, settings, unthrottled):
    # Fuzzing is not a flood test: the throttles are tested in tests/test_throttling.py.
    settings.CLONE_LLM_PROVIDER = "local"


def _headers(client) -> dict[str, str]:
    # APIClient keeps credentials as WSGI environ keys; send them as HTTP headers instead.
    return {
        key.removeprefix("HTTP_").replace("_", "-").title(): value
        for key, value in client._credentials.items()
    }


@pytest.fixture
def credentials(lived_in_account, client_for) -> list[dict[str, str]]:
    """Headers for each auth scheme; the cases alternate between them."""
    return [_headers(client_for(lived_in_account, scheme)) for scheme in ("jwt", "api_key")]


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_response_is_documented_and_never_a_server_error(case, credentials):
    FUZZ_TALLY["cases"] = FUZZ_TALLY.get("cases", 0) + 1
    headers = credentials[FUZZ_TALLY["cases"] % 2]
    # Schemathesis also fills the documented auth headers with generated values; send exactly
    # one real credential instead (auth failures are tested in tests/accounts).
    case.headers = {
        name: value
        for name, value in (case.headers or {}).items()
        if name.lower() not in ("authorization", "x-clone-api-key")
    }
    response = case.call_and_validate(headers=headers, checks=CHECKS)
    FUZZ_TALLY[f"status_{response.status_code}"] = (
        FUZZ_TALLY.get(f"status_{response.status_code}", 0) + 1
    )
