"""The REST API client: one place that knows URLs, auth headers, timeouts, retries and errors."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from typing import Any

import httpx

from clone_cli import __version__
from clone_cli.config import Config

# Exit codes, documented in docs/cli.md.
EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_UNREACHABLE = 4

RETRY_STATUSES = {429, 502, 503, 504}


class CloneError(Exception):
    """Anything the user is told about: a code, a message and the exit code it maps to."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        exit_code: int,
        status: int | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.exit_code = exit_code
        self.status = status
        self.details = details

    def as_json(self) -> dict:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.status is not None:
            error["status"] = self.status
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}


class Unreachable(CloneError):
    def __init__(self, url: str, reason: str) -> None:
        super().__init__(
            "server_unreachable",
            f"Cannot reach the Clone server at {url}: {reason}",
            exit_code=EXIT_UNREACHABLE,
        )


def not_logged_in() -> CloneError:
    return CloneError(
        "not_logged_in",
        "Not logged in: run `clone login` or set CLONE_API_KEY.",
        exit_code=EXIT_AUTH,
    )


def error_from_response(response: httpx.Response) -> CloneError:
    code, message, details = f"http_{response.status_code}", response.reason_phrase, None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        code = str(err.get("code") or code)
        message = str(err.get("message") or message)
        details = err.get("details")
    elif isinstance(body, dict) and "detail" in body:
        message = str(body["detail"])
    exit_code = EXIT_AUTH if response.status_code in (401, 403) else EXIT_REFUSED
    return CloneError(
        code, message, exit_code=exit_code, status=response.status_code, details=details
    )


def retry_after_seconds(response: httpx.Response, attempt: int, *, cap: float) -> float:
    """The server's Retry-After when it gives one (seconds), else exponential backoff with jitter."""
    header = response.headers.get("Retry-After", "")
    try:
        wait = float(header)
    except ValueError:
        wait = min(cap, 0.5 * 2**attempt) * (0.5 + random.random() / 2)
    return max(0.0, min(wait, cap))


class Api:
    def __init__(
        self,
        config: Config,
        *,
        timeout: float = 30.0,
        retries: int = 4,
        max_wait: float = 30.0,
        require_key: bool = True,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if require_key and not config.api_key:
            raise not_logged_in()
        self.config = config
        self.url = config.url
        self.retries = retries
        self.max_wait = max_wait
        headers = {"User-Agent": f"clone-cli/{__version__}", "Accept": "application/json"}
        if config.api_key:
            headers["X-Clone-API-Key"] = config.api_key
        self.http = httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout, transport=transport
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, *, retry: bool = True, **kwargs: Any) -> Any:
        """Send one request; JSON body back (None for 204). 429 and 502-504 are retried with
        backoff, honouring Retry-After, when ``retry`` (every write the CLI sends is idempotent
        or harmless to repeat: events keep their ids)."""
        attempts = self.retries + 1 if retry else 1
        for attempt in range(attempts):
            try:
                response = self.http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                raise Unreachable(self.url, _reason(exc)) from None
            if response.status_code in RETRY_STATUSES and attempt + 1 < attempts:
                time.sleep(retry_after_seconds(response, attempt, cap=self.max_wait))
                continue
            if response.status_code >= 400:
                raise error_from_response(response)
            if response.status_code == 204 or not response.content:
                return None
            try:
                return response.json()
            except ValueError:
                raise CloneError(
                    "bad_response",
                    "The server's answer is not JSON.",
                    exit_code=EXIT_REFUSED,
                    status=response.status_code,
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, json=json, **kwargs)

    def pages(
        self, path: str, params: dict | None = None, *, limit: int | None = None
    ) -> Iterator[dict]:
        """Every result of a paginated list, following the server's pages."""
        query = {"page_size": 500, **(params or {})}
        page, seen = 1, 0
        while True:
            body = self.get(path, params={**query, "page": page})
            for item in body.get("results", []):
                yield item
                seen += 1
                if limit is not None and seen >= limit:
                    return
            if not body.get("next"):
                return
            page += 1

    def stream_to(self, path: str, fh: Any) -> int:
        try:
            with self.http.stream("GET", path) as response:
                if response.status_code >= 400:
                    response.read()
                    raise error_from_response(response)
                written = 0
                for chunk in response.iter_bytes():
                    fh.write(chunk)
                    written += len(chunk)
                return written
        except httpx.TransportError as exc:
            raise Unreachable(self.url, _reason(exc)) from None


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
