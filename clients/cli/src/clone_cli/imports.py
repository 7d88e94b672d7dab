"""`clone import claude-code|aider`: send history files to the server's import endpoints.

The parsing is the server's (every client shares one parser); the client finds the files,
sends them in chunks within the body limit, shows progress and adds up the server's counts.
The server derives ids from the files' own ids, so importing again adds nothing.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from clone_cli.api import EXIT_USAGE, Api, CloneError
from clone_cli.output import emit, json_mode, say, stderr, stdout

# Under the server's default body limit (CLONE_MAX_BODY_BYTES, 5 MiB) with room for a long turn.
CHUNK_BYTES = 2 * 1024 * 1024
CLAUDE_ENDPOINT = "/api/integrations/claude-code/transcripts/"
AIDER_ENDPOINT = "/api/integrations/aider/history/"
LEARN_ENDPOINT = "/api/integrations/history/learn/"
# Learning replays the person's history on the server: minutes for thousands of prompts.
LEARN_TIMEOUT_S = 900.0


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


def _is_person_message(line: Any) -> bool:
    """A message the person typed: a ``user`` line that is not a tool result nor Claude
    Code's own meta text. A chunk starts only there, so no tool call is cut from its result
    (the server pairs a ``tool_use`` with the ``tool_result`` of a later line of the same
    request body)."""
    if not isinstance(line, dict) or line.get("type") != "user" or line.get("isMeta"):
        return False
    message = line.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        return True
    if isinstance(content, list):
        return not any(isinstance(b, dict) and b.get("type") == "tool_result" for b in content)
    return False


def _transcript_lines(path: Path) -> list[tuple[Any, int]]:
    """The file's JSON lines with their sizes, or a usage error naming the first line that is
    not JSON (a torn last line of a transcript still being written is skipped)."""
    try:
        raw_lines = path.read_bytes().decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise CloneError(
            "invalid_transcript",
            f"{path} is not a Claude Code transcript (not UTF-8 text); nothing was sent.",
            exit_code=EXIT_USAGE,
        ) from None
    except OSError as exc:
        raise CloneError(
            "usage", f"Cannot read {path}: {exc.strerror}", exit_code=EXIT_USAGE
        ) from None
    numbered = [(n, raw) for n, raw in enumerate(raw_lines, 1) if raw.strip()]
    lines: list[tuple[Any, int]] = []
    for index, (number, raw) in enumerate(numbered):
        try:
            lines.append((json.loads(raw), len(raw.encode("utf-8")) + 1))
        except ValueError:
            if index == len(numbered) - 1 and index > 0:
                continue
            raise CloneError(
                "invalid_transcript",
                f"{path} is not a Claude Code transcript (JSONL): line {number} is not JSON; "
                "nothing was sent.",
                exit_code=EXIT_USAGE,
                details=[{"line": number, "message": "not JSON"}],
            ) from None
    return lines


def _line_chunks(lines: list[tuple[Any, int]], limit: int = CHUNK_BYTES) -> Iterator[list[Any]]:
    """The lines in chunks of about ``limit`` bytes, each starting at a message of the
    person's. A single turn larger than ``limit`` stays whole (the server's body limit is
    above ``limit``); it is cut at ``2 * limit`` only, the one case where a call and its
    result can land in two chunks (the server counts it in ``skipped.unpaired``)."""
    chunk: list[Any] = []
    size = 0
    for line, length in lines:
        cut = size + length > limit and _is_person_message(line)
        if chunk and (cut or size + length > 2 * limit):
            yield chunk
            chunk, size = [], 0
        chunk.append(line)
        size += length
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
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            seen = total.setdefault(key, [])
            seen += [v for v in value if v not in seen]  # the server's `next` steps, once
        elif isinstance(value, dict):
            sub = total.setdefault(key, {})
            if isinstance(sub, dict):
                _add(sub, value)


def learn(api: Api) -> dict[str, Any]:
    """Ask the server to learn from the recorded history (labels and calibration)."""
    show = not json_mode() and sys.stderr.isatty()
    with stderr.status("Learning from your answers...") if show else contextlib.nullcontext():
        body = api.post(LEARN_ENDPOINT, json={}, timeout=LEARN_TIMEOUT_S)
    return body if isinstance(body, dict) else {}


def learned_line(body: dict[str, Any]) -> str:
    calibration = body.get("calibration") or {}
    fitted = (
        f"calibration {calibration['method']} on {calibration.get('n')} labels"
        if calibration.get("method") not in (None, "identity")
        else "too few labels to calibrate yet"
    )
    return (
        f"Learned from {body.get('replayed', 0)} answered prompt(s): "
        f"{body.get('labelled', 0)} new label(s), {body.get('already_labelled', 0)} already "
        f"labelled; {fitted}."
    )


def _anything_new(total: dict[str, Any]) -> bool:
    created = total.get("created")
    return isinstance(created, dict) and any(created.get(kind) for kind in ("prompts", "replies"))


def _run(api: Api, files: list[Path], send: Any, label: str, *, learn_after: bool) -> None:
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
    if learn_after and _anything_new(total):
        summary["learned"] = learn(api)
        # Done here: the server's step for it is not the person's to take.
        summary["next"] = [s for s in summary.get("next") or [] if LEARN_ENDPOINT not in s]

    def counts(value: Any) -> str:
        if not isinstance(value, dict) or not value:
            return "nothing"
        return ", ".join(f"{v} {k}" for k, v in value.items())

    def human() -> None:
        say(
            f"Imported {len(files)} file(s): created {counts(summary.get('created'))}; "
            f"duplicates (already there) {counts(summary.get('duplicates'))}."
        )
        if summary.get("skipped"):
            stdout.print(f"  skipped: {counts(summary['skipped'])}")
        if "learned" in summary:
            stdout.print(learned_line(summary["learned"]))
        for step in summary.get("next") or []:
            stdout.print(f"  next: {step}")

    emit(summary, human)


def import_claude_code(api: Api, paths: list[Path], *, learn_after: bool = True) -> None:
    files = _files(paths, "*.jsonl")
    # Every file is checked before anything is sent (and read again when sent, so only one
    # file is held in memory at a time): a bad file stops the import with nothing sent.
    for path in files:
        _transcript_lines(path)

    def send(path: Path) -> Iterator[Any]:
        for chunk in _line_chunks(_transcript_lines(path)):
            yield api.post(CLAUDE_ENDPOINT, json={"lines": chunk})

    _run(api, files, send, "transcripts", learn_after=learn_after)


def _aider_text(path: Path) -> str:
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise CloneError(
            "invalid_history",
            f"{path} is not an Aider chat history (not UTF-8 text); nothing was sent.",
            exit_code=EXIT_USAGE,
        ) from None
    except OSError as exc:
        raise CloneError(
            "usage", f"Cannot read {path}: {exc.strerror}", exit_code=EXIT_USAGE
        ) from None
    if not text.strip():
        raise CloneError(
            "invalid_history",
            f"{path} is empty: not an Aider chat history; nothing was sent.",
            exit_code=EXIT_USAGE,
        )
    return text


def aider_namespace(path: Path) -> str:
    """The name of the folder holding the history (Aider writes it at the repository's root):
    keeps two repositories' sessions that started in the same second apart, and stays the same
    when the folder moves, so a re-import finds its duplicates."""
    return path.resolve().parent.name[:200]


def import_aider(api: Api, paths: list[Path], *, learn_after: bool = True) -> None:
    files = _files(paths, ".aider.chat.history.md")
    for path in files:
        _aider_text(path)

    def send(path: Path) -> Iterator[Any]:
        yield api.post(
            AIDER_ENDPOINT, json={"text": _aider_text(path), "namespace": aider_namespace(path)}
        )

    _run(api, files, send, "aider histories", learn_after=learn_after)
