"""One error shape for every failure, including Django's own (404, 500, body too large)."""

import io
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import OperationalError
from django.test import RequestFactory
from django.urls import reverse
from rest_framework.test import APIClient

from clone_server import errors
from clone_server.errors import MalformedJson, PayloadTooLarge
from clone_server.parsers import LimitedJSONParser, check_json_depth
from tests.helpers import assert_api_error

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.mark.parametrize(
    "path",
    ["/api/nothing-here/", "/api/recording/nope/", "/static/nothing.css", "/nothing.js"],
    ids=["api", "app", "static", "root-file"],
)
def test_unknown_url_is_404_json_not_found(anon_client, path, settings):
    assert settings.DEBUG is False  # handler404 only answers with DEBUG off, as in production
    response = anon_client.get(path)
    assert_api_error(response, 404, "not_found")


@pytest.mark.parametrize(
    ("method", "name"),
    [("get", "recording:events"), ("delete", "recording:sessions"), ("put", "accounts:api-keys")],
    ids=["get-ingest", "delete-sessions", "put-keys"],
)
def test_wrong_method_is_405_json(api, method, name):
    response = getattr(api, method)(reverse(name))
    assert_api_error(response, 405, "method_not_allowed")


def test_health_is_200_without_authentication(anon_client):
    response = anon_client.get(reverse("health"))
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_health_is_503_json_when_the_database_is_unreachable(anon_client):
    with mock.patch(
        "clone_server.health.connection.cursor",
        side_effect=OperationalError("connection refused"),
    ):
        response = anon_client.get(reverse("health"))
    assert_api_error(response, 503, "database_unavailable")


def test_unexpected_exception_is_500_json_server_error(user, client_for):
    client = client_for(user, "jwt")
    client.raise_request_exception = False
    with mock.patch("recording.views.session_list", side_effect=RuntimeError("boom")):
        response = client.get(reverse("recording:sessions"))
    error = assert_api_error(response, 500, "server_error")
    assert "boom" not in error["message"]


def test_django_body_too_large_is_413_json(settings):
    # Django's own limit fires for form bodies it parses itself (here the admin login form).
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    client = APIClient()
    response = client.post("/admin/login/", {"username": "x" * 500, "password": "y"})
    assert_api_error(response, 413, "payload_too_large")


@pytest.mark.parametrize(
    ("handler", "exception", "status", "code"),
    [
        (errors.handler400, RequestDataTooBig(), 413, "payload_too_large"),
        (errors.handler400, None, 400, "bad_request"),
        (errors.handler403, PermissionDenied(), 403, "permission_denied"),
        (errors.handler404, None, 404, "not_found"),
    ],
    ids=["400-too-big", "400", "403", "404"],
)
def test_django_error_handlers_answer_in_the_error_shape(handler, exception, status, code):
    response = handler(RequestFactory().get("/"), exception)
    assert_api_error(response, status, code)


def test_handler500_answers_in_the_error_shape():
    response = errors.handler500(RequestFactory().get("/"))
    assert_api_error(response, 500, "server_error")


def test_validation_errors_are_flattened_with_field_paths():
    details = errors._validation_details({"a": ["bad"], "b": {"c": ["worse"]}, "d": [{"e": ["x"]}]})
    assert [d["field"] for d in details] == ["a", "b.c", "d[0].e"]


# --- the JSON parser on its own -----------------------------------------------------------------


class _Request:
    def __init__(self, content_length: str | None) -> None:
        self.META = {} if content_length is None else {"CONTENT_LENGTH": content_length}


def _parse(body: bytes, content_length: str | None = "auto"):
    declared = str(len(body)) if content_length == "auto" else content_length
    return LimitedJSONParser().parse(
        io.BytesIO(body), parser_context={"request": _Request(declared)}
    )


def test_parser_stops_reading_at_the_limit_when_no_length_is_declared(settings):
    settings.CLONE_MAX_BODY_BYTES = 50
    with pytest.raises(PayloadTooLarge):
        _parse(b'{"text": "' + b"x" * 100 + b'"}', content_length=None)


def test_parser_rejects_a_declared_length_over_the_limit_before_reading(settings):
    settings.CLONE_MAX_BODY_BYTES = 50
    with pytest.raises(PayloadTooLarge):
        _parse(b"{}", content_length="51")


def test_parser_rejects_a_non_numeric_content_length():
    with pytest.raises(MalformedJson):
        _parse(b"{}", content_length="lots")


def test_parser_accepts_nesting_up_to_the_limit(settings):
    settings.CLONE_MAX_JSON_DEPTH = 5
    assert _parse(b"[[[[[1]]]]]") == [[[[[1]]]]]
    with pytest.raises(MalformedJson):
        _parse(b"[[[[[[1]]]]]]")


def test_depth_check_counts_objects_and_arrays_alike():
    check_json_depth({"a": [{"b": 1}]}, 3)
    with pytest.raises(MalformedJson):
        check_json_depth({"a": [{"b": []}]}, 3)


def test_json_bodies_are_read_from_the_stream_not_buffered_by_django(api, settings):
    # Were DRF to buffer the body through request.body (it does for JSONParser subclasses),
    # Django's own limit would fire first and an oversized upload would see a broken pipe.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10
    response = api.post(reverse("recording:events"), [], format="json")
    assert response.status_code == 200


def test_parser_drains_a_moderately_oversized_body_so_the_client_can_read_the_413(settings):
    settings.CLONE_MAX_BODY_BYTES = 50
    stream = io.BytesIO(b"x" * 150)
    with pytest.raises(PayloadTooLarge):
        LimitedJSONParser().parse(stream, parser_context={"request": _Request("150")})
    assert stream.read() == b""


def test_parser_does_not_read_a_body_far_over_the_limit(settings):
    settings.CLONE_MAX_BODY_BYTES = 50
    stream = io.BytesIO(b"x" * 1000)
    with pytest.raises(PayloadTooLarge):
        LimitedJSONParser().parse(stream, parser_context={"request": _Request("1000")})
    assert stream.tell() == 0
