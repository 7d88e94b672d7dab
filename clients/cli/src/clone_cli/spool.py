"""The offline spool: events that could not be sent wait in a JSONL file in the user data dir.

Every read-modify-write holds an exclusive ``flock`` on a lock file beside it, so concurrent
``clone`` processes neither lose an append nor send the same events at the same time. A flush
removes a batch from the file only after the server has accepted it; if the process dies in
between, the batch is sent again and the server's idempotency on event ids stores it once.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from clone_cli import config


def spool_path() -> Path:
    return config.data_dir() / "spool.jsonl"


def rejected_path() -> Path:
    return config.data_dir() / "spool.rejected.jsonl"


@contextlib.contextmanager
def locked() -> Iterator[Path]:
    path = spool_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield path
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def append(events: list[dict], path: Path | None = None) -> None:
    data = "".join(json.dumps(e, ensure_ascii=False, separators=(",", ":")) + "\n" for e in events)
    with locked() as spool:
        target = path or spool
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, data.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)


def _read(path: Path) -> list[dict]:
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return []
    events = []
    for line in text.splitlines():
        # A line cut short by a crash mid-write is the only way a line can be bad; skip it.
        with contextlib.suppress(ValueError):
            events.append(json.loads(line))
    return events


def _rewrite(path: Path, events: list[dict]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        for event in events:
            fh.write(json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def pending() -> int:
    path = spool_path()
    if not path.exists() or path.stat().st_size == 0:
        return 0
    with locked():
        return len(_read(path))


def has_pending() -> bool:
    """Cheap check (no lock): is there anything to flush?"""
    try:
        return spool_path().stat().st_size > 0
    except OSError:
        return False


def flush(api: Any) -> dict:
    """Send the spool in batches. Stops at the first unreachable error (the rest stays);
    a batch the server refuses (4xx) is moved to spool.rejected.jsonl so it cannot block the
    spool forever, and reported."""
    from clone_cli.api import CloneError, Unreachable
    from clone_cli.events import batches, post_batch

    sent = duplicates = rejected = 0
    error: dict | None = None
    with locked() as path:
        events = _read(path)
        remaining = list(events)
        for batch in batches(events):
            try:
                body = post_batch(api, batch)
            except Unreachable as exc:
                error = exc.as_json()["error"]
                break
            except CloneError as exc:
                if exc.status is None or exc.status >= 500 or exc.exit_code == 3:
                    error = exc.as_json()["error"]
                    break
                rejected += len(batch)
                fd = os.open(rejected_path(), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                with os.fdopen(fd, "a", encoding="utf-8") as fh:
                    for event in batch:
                        fh.write(json.dumps(event, ensure_ascii=False) + "\n")
                error = exc.as_json()["error"]
            else:
                sent += len(body.get("created", []))
                duplicates += len(body.get("duplicates", []))
            remaining = remaining[len(batch) :]
            _rewrite(path, remaining)
    return {
        "sent": sent,
        "duplicates": duplicates,
        "rejected": rejected,
        "remaining": len(remaining),
        "error": error,
    }
