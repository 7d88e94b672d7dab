"""`clone import claude-code|aider`: send history files to the server's import endpoints.

The parsing is the server's (every client shares one parser); the client finds the files,
sends them in chunks within the body limit, shows progress and adds up the server's counts.
The server derives ids from the files' own ids, so importing again adds nothing.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from clone_cli.api import EXIT_USAGE, Api, CloneError
from clone_cli.output import emit, json_mode, say, stdout

CHUNK_BYTES = 3 * 1024 * 1024
CLAUDE_ENDPOINT = "/api/integrations/claude-code/transcripts/"
AIDER_ENDPOINT = "/api/integrations/aider/history/"


def _files(paths: list[Path], pattern: str) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        path = path.expanduser()
        if path.is_dir():
            found += sorted(p for p in path.rglob(pattern) if p.is_file())
        elif path.is_file():
            found.append(path)
        else:
            raise CloneError("usage", f"No such file or folder: {path}", exit_code=EXIT_USAGE)
    return found


def _line_chunks(path: Path) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    size = 0
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        for raw in fh:
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
            except ValueError:
                continue  # a torn last line of a transcript still being written
            if chunk and size + len(raw) > CHUNK_BYTES:
                yield chunk
                chunk, size = [], 0
            chunk.append(line)
            size += len(raw)
    if chunk:
        yield chunk


def _add(total: dict[str, Any], body: Any) -> None:
    if not isinstance(body, dict):
        return
    for key, value in body.items():
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            total[key] = total.get(key, 0) + value
        elif isinstance(value, list) and key in ("created", "duplicates"):
            total[key] = total.get(key, 0) + len(value)
        elif isinstance(value, dict):
            sub = total.setdefault(key, {})
            if isinstance(sub, dict):
                _add(sub, value)


def _run(api: Api, files: list[Path], send: Any, label: str) -> None:
    total: dict[str, Any] = {}
    show = not json_mode() and sys.stderr.isatty()
    progress = None
    if show:
        from rich.progress import Progress

        progress = Progress(transient=True)
        progress.start()
        task = progress.add_task(label, total=sum(f.stat().st_size for f in files) or 1)
    try:
        for path in files:
            for body in send(path):
                _add(total, body)
            if progress is not None:
                progress.advance(task, path.stat().st_size)
    finally:
        if progress is not None:
            progress.stop()
    summary = {"files": len(files), **total}

    def human() -> None:
        parts = [f"{k} {v}" for k, v in summary.items() if not isinstance(v, dict)]
        say(f"Imported: {', '.join(parts)}.")
        for key, value in summary.items():
            if isinstance(value, dict):
                stdout.print(f"  {key}: " + ", ".join(f"{k} {v}" for k, v in value.items()))

    emit(summary, human)


def import_claude_code(api: Api, paths: list[Path]) -> None:
    files = _files(paths, "*.jsonl")

    def send(path: Path) -> Iterator[Any]:
        for chunk in _line_chunks(path):
            yield api.post(CLAUDE_ENDPOINT, json={"lines": chunk})

    _run(api, files, send, "transcripts")


def import_aider(api: Api, paths: list[Path]) -> None:
    files = _files(paths, ".aider.chat.history.md")

    def send(path: Path) -> Iterator[Any]:
        text = path.read_text("utf-8", errors="replace")
        yield api.post(AIDER_ENDPOINT, json={"text": text, "name": str(path)})

    _run(api, files, send, "aider histories")
