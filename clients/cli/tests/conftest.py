"""A live Clone server for the CLI's tests: gunicorn on Postgres on a free port, started once
per session, and helpers that run the real `clone` command as a subprocess.

The database is ``<name of DATABASE_URL's database>_cli_live`` (dropped and re-created), so runs
of the server's suite and of this one never share one. Nothing here imports Django: the server
is driven through manage.py and HTTP, as a user's machine would.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
CLONE = str(BIN / "clone")
PASSWORD = "correct-horse-battery"
CREATE_USERS = f"""
from django.contrib.auth import get_user_model
for name in ("alice", "bob"):
    get_user_model().objects.create_user(username=name, password={PASSWORD!r})
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database_urls() -> tuple[str, str]:
    base = os.environ.get("CLONE_CLI_TEST_DATABASE_URL") or os.environ.get(
        "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/clone_cli"
    )
    parts = urlsplit(base)
    name = parts.path.lstrip("/") or "clone"
    live = f"{name}_cli_live"
    admin = urlunsplit(parts._replace(path="/postgres"))
    return admin, urlunsplit(parts._replace(path=f"/{live}"))


def _migrations_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(REPO.glob("*/migrations/*.py")) + sorted(REPO.glob("*/*/migrations/*.py")):
        digest.update(str(path.relative_to(REPO)).encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def _recreate_database(admin_url: str, url: str, env: dict) -> None:
    """A fresh database, copied from a migrated template that is rebuilt only when the
    migrations change (migrating takes most of a session's start-up otherwise)."""
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    template = f"{name}_tpl"
    digest = _migrations_digest()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            (template,),
        ).fetchone()
        if not row or row[0] != digest:
            conn.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{template}"')
            tpl_url = urlunsplit(urlsplit(url)._replace(path=f"/{template}"))
            _manage({**env, "DATABASE_URL": tpl_url}, "migrate", "--noinput")
            conn.execute(f"COMMENT ON DATABASE \"{template}\" IS '{digest}'")
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


def _manage(env: dict, *args: str) -> None:
    subprocess.run(
        [sys.executable, str(REPO / "manage.py"), *args],
        env=env,
        check=True,
        cwd=REPO,
        capture_output=True,
        timeout=300,
    )


@dataclass
class Server:
    url: str
    env: dict
    process: subprocess.Popen

    def token(self, username: str = "alice") -> str:
        r = httpx.post(
            f"{self.url}/api/auth/token/", json={"username": username, "password": PASSWORD}
        )
        r.raise_for_status()
        return r.json()["access"]

    def key(self, username: str = "alice", name: str = "test") -> str:
        r = httpx.post(
            f"{self.url}/api/auth/api-keys/",
            json={"name": name},
            headers={"Authorization": f"Bearer {self.token(username)}"},
        )
        r.raise_for_status()
        return r.json()["key"]

    def api(self, key: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-Clone-API-Key": key}, timeout=30)


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Server:
    admin_url, db_url = _database_urls()
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "DJANGO_SECRET_KEY": "cli-tests-only-not-a-secret",
        "DJANGO_DEBUG": "0",
        "CLONE_LLM_PROVIDER": "local",
        "ANTHROPIC_API_KEY": "",
        "CLONE_THROTTLE_INGEST": "100000/min",
        "CLONE_THROTTLE_PREDICT": "100000/min",
        "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
    }
    _recreate_database(admin_url, db_url, env)
    _manage(env, "shell", "-c", CREATE_USERS)
    port = free_port()
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    process = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "clone_server.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--worker-class",
            "gthread",
            "--threads",
            "4",
            "--timeout",
            "60",
            "--error-logfile",
            str(log),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/api/health/", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"gunicorn did not start: {log.read_text()[-2000:]}")
        time.sleep(0.2)
    yield Server(url=url, env=env, process=process)
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def json(self):
        return json.loads(self.stdout)


class Cli:
    """Runs the installed `clone` with its own HOME, config and data dirs."""

    def __init__(self, home: Path, url: str, key: str | None = None) -> None:
        self.home = home
        self.url = url
        self.key = key
        self.config_dir = home / "config"
        self.data_dir = home / "data"

    def env(self, **extra: str) -> dict:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("CLONE_") and k not in ("DATABASE_URL",)
        }
        env.update(
            HOME=str(self.home),
            CLONE_CONFIG_DIR=str(self.config_dir),
            CLONE_DATA_DIR=str(self.data_dir),
            CLONE_URL=self.url,
            NO_COLOR="1",
            COLUMNS="200",
        )
        if self.key:
            env["CLONE_API_KEY"] = self.key
        env.update(extra)
        return {k: v for k, v in env.items() if v is not None}

    def __call__(
        self,
        *args: str,
        input: str | None = None,
        timeout: float = 60,
        cwd: Path | None = None,
        **extra: str,
    ) -> Result:
        start = time.monotonic()
        done = subprocess.run(
            [CLONE, *args],
            input=input,
            capture_output=True,
            text=True,
            env=self.env(**extra),
            timeout=timeout,
            cwd=cwd or self.home,
        )
        return Result(done.returncode, done.stdout, done.stderr, time.monotonic() - start)

    def popen(self, *args: str, **extra: str) -> subprocess.Popen:
        return subprocess.Popen(
            [CLONE, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env(**extra),
            cwd=self.home,
        )


@pytest.fixture(scope="session")
def alice_key(server) -> str:
    return server.key("alice", "cli tests")


@pytest.fixture
def cli(tmp_path, server, alice_key) -> Cli:
    """`clone` as alice (key from CLONE_API_KEY) against the live server."""
    return Cli(tmp_path, server.url, alice_key)


@pytest.fixture
def anon_cli(tmp_path, server) -> Cli:
    """`clone` with no key at all."""
    return Cli(tmp_path, server.url)


@pytest.fixture
def dead_url() -> str:
    """A loopback URL where nothing listens."""
    return f"http://127.0.0.1:{free_port()}"


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def has_program(name: str) -> bool:
    return shutil.which(name) is not None
