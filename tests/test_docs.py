"""OpenAPI schema and interactive docs: complete, both auth schemes, assets served locally."""

import io
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve, reverse
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


# The README and docs/ against the code: links resolve, every configuration variable the README
# names is read by the server, every endpoint it names is routed.
_ROOT = Path(__file__).resolve().parent.parent
_DOCS = [_ROOT / "README.md", *sorted((_ROOT / "docs").glob("*.md"))]
_SERVER_SOURCE = "\n".join(
    path.read_text()
    for package in ("clone_server", "recording", "memories", "predictions", "data_rights")
    for path in (_ROOT / package).rglob("*.py")
)


@pytest.mark.parametrize("doc", _DOCS, ids=lambda path: path.name)
def test_every_relative_link_in_the_docs_resolves(doc):
    links = re.findall(r"\]\(([^)\s]+)\)", doc.read_text())
    local = [link.split("#")[0] for link in links if not re.match(r"[a-z]+:", link)]
    missing = [link for link in local if link and not (doc.parent / link).exists()]
    assert not missing, f"{doc.name} links to missing files: {missing}"


def test_every_configuration_variable_the_readme_names_is_read_by_the_server():
    names = set(re.findall(r"`((?:CLONE|DJANGO|ANTHROPIC|DATABASE)_[A-Z0-9_]+)`", _readme()))
    assert len(names) >= 20, names  # the configuration table is really there
    unread = sorted(name for name in names if f'"{name}"' not in _SERVER_SOURCE)
    assert not unread, f"named in the README but read nowhere: {unread}"


def test_every_endpoint_the_readme_names_is_routed():
    paths = set(re.findall(r"`(?:GET|POST|PUT|PATCH|DELETE) (/[^`\s]+)`", _readme()))
    assert len(paths) >= 15, paths  # the endpoint tables are really there
    unrouted = []
    for path in sorted(paths):
        concrete = ("" if path.startswith("/api/") else "/api") + re.sub(r"<\w+>", "1", path)
        try:
            resolve(concrete)
        except Resolver404:
            unrouted.append(path)
    assert not unrouted, f"named in the README but not routed: {unrouted}"


def _readme() -> str:
    return (_ROOT / "README.md").read_text()
