"""Settings come from the environment: checked in fresh interpreters, and through middleware."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent
_PROBE = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({name: getattr(settings, name, None) for name in %r}, default=str))
"""
_NAMES = [
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "CORS_ALLOWED_ORIGINS",
    "DATABASES",
]


def _clean_env(**env: str) -> dict[str, str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "CLONE_", "DATABASE_URL", "ANTHROPIC_"))
    }
    return {**base, **env}


def _settings_under(**env: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE % (_NAMES,)],
        cwd=ROOT,
        env=_clean_env(DJANGO_SETTINGS_MODULE="clone_server.settings", **env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_secret_key_is_required_when_debug_is_off():
    result = subprocess.run(
        [sys.executable, "-c", _PROBE % (_NAMES,)],
        cwd=ROOT,
        env=_clean_env(DJANGO_SETTINGS_MODULE="clone_server.settings", DJANGO_DEBUG="0"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_defaults_work_on_a_fresh_machine_in_debug():
    values = _settings_under(DJANGO_DEBUG="1")
    assert values["DEBUG"] is True
    assert values["SECRET_KEY"]
    assert {"127.0.0.1", "localhost"} <= set(values["ALLOWED_HOSTS"])
    assert values["DATABASES"]["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert not values["SECURE_SSL_REDIRECT"]
    assert values["CORS_ALLOWED_ORIGINS"] == []


def test_environment_configures_production():
    values = _settings_under(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="from-the-environment",
        DJANGO_ALLOWED_HOSTS="clone.example.com",
        DATABASE_URL="postgres://clone@db.internal:5432/clone",
        DJANGO_SECURE_HTTPS="1",
        CLONE_CORS_ORIGINS="https://app.clone.example,http://localhost:5173",
    )
    assert values["DEBUG"] is False
    assert values["SECRET_KEY"] == "from-the-environment"
    assert values["ALLOWED_HOSTS"] == ["clone.example.com"]
    database = values["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], database["NAME"]) == ("db.internal", "clone")
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["CORS_ALLOWED_ORIGINS"] == ["https://app.clone.example", "http://localhost:5173"]


def test_manage_py_works_without_django_settings_module():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=_clean_env(DJANGO_DEBUG="1"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_wsgi_application_imports_without_django_settings_module():
    result = subprocess.run(
        [sys.executable, "-c", "from clone_server.wsgi import application; print(application)"],
        cwd=ROOT,
        env=_clean_env(DJANGO_SECRET_KEY="x" * 50),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "WSGIHandler" in result.stdout


# --- the same switches, seen through the middleware ----------------------------------------------


@pytest.mark.django_db
def test_https_switch_redirects_plain_http_and_sends_hsts(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    client = Client()  # middleware reads the settings when the client's handler loads it
    plain = client.get(reverse("health"))
    assert plain.status_code == 301
    assert plain["Location"].startswith("https://")
    secure = client.get(reverse("health"), secure=True)
    assert secure.status_code == 200
    assert "max-age=31536000" in secure["Strict-Transport-Security"]


@pytest.mark.django_db
def test_plain_http_is_served_when_the_https_switch_is_off():
    response = Client().get(reverse("health"))
    assert response.status_code == 200
    assert not response.has_header("Strict-Transport-Security")


@pytest.mark.django_db
def test_cors_preflight_from_an_allowed_origin_may_send_the_api_key_header(settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.clone.example"]
    response = Client().options(
        reverse("recording:events"),
        HTTP_ORIGIN="https://app.clone.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="x-clone-api-key, content-type",
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "https://app.clone.example"
    allowed = {h.strip() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert {"x-clone-api-key", "content-type", "authorization"} <= allowed


@pytest.mark.django_db
def test_cors_preflight_from_an_unknown_origin_is_not_allowed(settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.clone.example"]
    response = Client().options(
        reverse("recording:events"),
        HTTP_ORIGIN="https://evil.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )
    assert not response.has_header("Access-Control-Allow-Origin")
