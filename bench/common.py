"""Shared helpers for Clone's benchmarks: a dedicated Postgres database, gunicorn on a free port,
a user with an API key, and a persistent HTTP client. Nothing here reaches beyond loopback."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SERVER_URL = "postgres://postgres@127.0.0.1:5432/clone"
BENCH_SECRET_KEY = "bench-only-secret-key-not-for-production-0123456789"  # noqa: S105


def bench_database_url(name: str) -> str:
    """$DATABASE_URL (or ``DEFAULT_SERVER_URL``) with its database name replaced by ``name``."""
    parts = urlsplit(os.environ.get("DATABASE_URL") or DEFAULT_SERVER_URL)
    return urlunsplit(parts._replace(path=f"/{name}"))


def psycopg_url(database_url: str) -> str:
    return database_url.replace("postgres://", "postgresql://", 1)


def admin_url(database_url: str) -> str:
    """The ``postgres`` maintenance database on ``database_url``'s server, for psycopg."""
    return psycopg_url(urlunsplit(urlsplit(database_url)._replace(path="/postgres")))


def ensure_database(database_url: str) -> None:
    """Create the database named in ``database_url`` when it does not exist yet."""
    name = urlsplit(database_url).path.lstrip("/")
    with psycopg.connect(admin_url(database_url), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": BENCH_SECRET_KEY,
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(extra)
    return env


def migrate(database_url: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=server_env(database_url),
        check=True,
    )


def django_setup(database_url: str) -> None:
    """Configure Django in this process against ``database_url`` (for creating users and keys)."""
    os.environ.update(
        {"DATABASE_URL": database_url, "DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": BENCH_SECRET_KEY}
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clone_server.settings")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


@dataclass(frozen=True)
class BenchUser:
    id: int
    username: str
    api_key: str


def user_create(username: str) -> BenchUser:
    """A fresh user (any previous one of that name is deleted with its data) and an API key."""
    from django.contrib.auth import get_user_model

    from clone_server.accounts.services import api_key_create

    user_model = get_user_model()
    user_model.objects.filter(username=username).delete()
    user = user_model.objects.create_user(username=username, password=None)
    issued = api_key_create(user=user, name="bench")
    return BenchUser(id=user.pk, username=username, api_key=issued.key)


def user_delete(username: str) -> None:
    from django.contrib.auth import get_user_model

    get_user_model().objects.filter(username=username).delete()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn serving ``clone_server.wsgi`` on loopback; stops its whole process group."""

    def __init__(
        self, database_url: str, *, workers: int = 2, threads: int = 1, **env: str
    ) -> None:
        self.port = free_port()
        self.database_url = database_url
        self.workers = workers
        # More than one thread makes gunicorn use its gthread workers.
        self.threads = threads
        self.env = env
        # Lives as long as the server; closed in __exit__.
        self.log = tempfile.NamedTemporaryFile(prefix="clone-bench-gunicorn-", suffix=".log")  # noqa: SIM115
        self.process: subprocess.Popen | None = None

    @property
    def host(self) -> str:
        return "127.0.0.1"

    def start(self, timeout: float = 30.0) -> Server:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "clone_server.wsgi:application",
                "--bind",
                f"{self.host}:{self.port}",
                "--workers",
                str(self.workers),
                "--threads",
                str(self.threads),
                "--timeout",
                "120",
                "--access-logfile",
                "-" if os.environ.get("BENCH_ACCESS_LOG") else "/dev/null",
            ],
            cwd=ROOT,
            env=server_env(self.database_url, **self.env),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited early:\n{self.log_tail()}")
            with contextlib.suppress(OSError):
                status, _ = Client(self.host, self.port).request("GET", "/api/health/")
                if status == 200:
                    return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not become healthy:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        self.log.flush()
        text = Path(self.log.name).read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        self.log.close()


class Client:
    """One persistent HTTP/1.1 connection (reconnects once if the server closed it)."""

    def __init__(self, host: str, port: int, headers: dict[str, str] | None = None) -> None:
        self.host, self.port = host, port
        self.headers = headers or {}
        self.conn = http.client.HTTPConnection(host, port, timeout=120)

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> tuple[int, bytes]:
        all_headers = {**self.headers, **(headers or {})}
        if body is not None:
            all_headers.setdefault("Content-Type", "application/json")
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=all_headers)
                response = self.conn.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.conn.close()
