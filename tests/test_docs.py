"""OpenAPI schema and interactive docs: complete, both auth schemes, assets served locally."""

import io
import re

import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

_NOT_DOCUMENTED = {"/api/schema/", "/api/docs/"}


def _api_paths(patterns=None, prefix: str = "/") -> set[str]:
    """Every routed path under /api/, in OpenAPI's ``{param}`` notation."""
    paths: set[str] = set()
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            paths |= _api_paths(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and route.startswith("/api/"):
            paths.add(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route))
    return paths - _NOT_DOCUMENTED


@pytest.fixture(scope="module")
def openapi(django_db_blocker):
    with django_db_blocker.unblock():
        response = APIClient().get(reverse("schema"), {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_schema_is_openapi_3_and_needs_no_authentication(openapi):
    assert openapi["openapi"].startswith("3.")
    assert openapi["info"]["title"] == "Clone API"


def test_schema_generates_without_warnings_and_validates_against_openapi():
    # drf-spectacular warns when it has to guess (an untyped field, an unnamed parameter).
    call_command("spectacular", validate=True, fail_on_warn=True, stdout=io.StringIO())


def test_schema_declares_both_security_schemes(openapi):
    schemes = openapi["components"]["securitySchemes"]
    assert {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}.items() <= schemes[
        "jwtAuth"
    ].items()
    assert schemes["ApiKeyAuth"] == {"type": "apiKey", "in": "header", "name": "X-Clone-API-Key"}


def test_schema_documents_every_api_path(openapi):
    missing = _api_paths() - set(openapi["paths"])
    assert not missing, f"routed but not in the OpenAPI schema: {sorted(missing)}"


@pytest.mark.parametrize(
    "path",
    [
        "/api/recording/events/",
        "/api/recording/sessions/",
        "/api/recording/sessions/{session_id}/events/",
        "/api/auth/api-keys/",
        "/api/auth/api-keys/{key_id}/",
    ],
)
def test_authenticated_operations_accept_both_schemes(openapi, path):
    for operation in openapi["paths"][path].values():
        security = operation["security"]
        assert {"jwtAuth": []} in security
        assert {"ApiKeyAuth": []} in security


def test_health_is_documented_without_authentication(openapi):
    assert openapi["paths"]["/api/health/"]["get"].get("security", []) in ([], [{}])


def test_api_key_creation_documents_the_secret_once(openapi):
    created = openapi["paths"]["/api/auth/api-keys/"]["post"]["responses"]["201"]
    ref = created["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    properties = openapi["components"]["schemas"][ref]["properties"]
    assert {"id", "name", "prefix", "key", "created_at"} <= set(properties)
    assert properties["key"]["type"] == "string"


def test_docs_page_loads_its_assets_locally_and_they_are_served(anon_client):
    response = anon_client.get(reverse("docs"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger" in html.lower()
    assets = re.findall(r"""(?:src|href)=["']([^"']+\.(?:js|css))["']""", html)
    assert assets, html[:500]
    assert all(not re.match(r"(https?:)?//", url) for url in assets), assets
    asset = anon_client.get(assets[0])
    assert asset.status_code == 200
    assert b"".join(asset.streaming_content if asset.streaming else [asset.content])
