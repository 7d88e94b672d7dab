"""Helpers shared by the API tests: Clone's one error shape
(``{"error": {"code", "message", "details"?}}``) asserted, an API-key client."""

import json
from typing import Any

from rest_framework.test import APIClient


def api_error(response) -> dict[str, Any]:
    """The ``error`` object of a JSON error response, asserting the shape on the way."""
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = json.loads(response.content)
    assert set(body) == {"error"}, body
    error = body["error"]
    assert {"code", "message"} <= set(error) <= {"code", "message", "details"}, error
    assert isinstance(error["code"], str) and isinstance(error["message"], str), error
    return error


def assert_api_error(response, status: int, code: str) -> dict[str, Any]:
    """``response`` is an error in the one shape with this HTTP status and machine code.
    Returns the error object, for further checks (``details``, the message)."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    error = api_error(response)
    assert error["code"] == code, error
    return error


def keyed_client(key: str) -> APIClient:
    """A client that authenticates with the API key ``key``."""
    client = APIClient()
    client.credentials(HTTP_X_CLONE_API_KEY=key)
    return client
