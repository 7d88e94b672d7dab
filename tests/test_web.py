"""The web app served by Django: its routes fall back to index.html, never shadowing the API,
and every response carries the security headers the app is built to work under."""

import pytest
from django.urls import reverse

from tests.helpers import assert_api_error

pytestmark = pytest.mark.django_db

INDEX = (
    b'<!doctype html><html><head><script type="module" src="/assets/app.js"></script></head></html>'
)


@pytest.fixture
def built(settings, tmp_path):
    (tmp_path / "index.html").write_bytes(INDEX)
    settings.CLONE_WEB_DIST = tmp_path
    return tmp_path


@pytest.mark.parametrize("path", ["/", "/inbox", "/predictions/12", "/memory/facts/"])
def test_client_routes_get_the_index(anon_client, built, path):
    response = anon_client.get(path)
    assert response.status_code == 200
    assert response.content == INDEX
    assert response["Content-Type"].startswith("text/html")
    assert response["Cache-Control"] == "no-cache"


@pytest.mark.parametrize(
    "path", ["/api/nothing/", "/api", "/admin/nothing/", "/static/x.css", "/favicon.ico"]
)
def test_the_index_never_shadows_the_api_admin_static_or_files(anon_client, built, path):
    response = anon_client.get(path)
    assert response.status_code in (301, 302, 404)
    assert response.content != INDEX


def test_api_404_stays_json(anon_client, built):
    response = anon_client.get("/api/nothing/")
    assert_api_error(response, 404, "not_found")


def test_a_missing_build_says_how_to_build_it(anon_client, settings, tmp_path):
    settings.CLONE_WEB_DIST = tmp_path / "absent"
    response = anon_client.get("/inbox")
    assert response.status_code == 503
    assert b"make web" in response.content


def test_the_index_only_answers_reads(anon_client, built):
    assert anon_client.post("/inbox").status_code == 405


@pytest.mark.parametrize("path", ["/", "/api/health/"])
def test_security_headers_are_on_every_response(anon_client, built, path):
    response = anon_client.get(path)
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_docs_page_has_no_inline_script(anon_client):
    response = anon_client.get(reverse("docs"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<script>" not in html.replace(" ", "")
