"""The command set (typer). Each command parses its arguments, makes REST calls through
``clone_cli.api`` and shapes the answer; none decides anything the server should."""

from __future__ import annotations

import getpass
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from clone_cli import __version__, config, events, spool
from clone_cli.api import (
    EXIT_AUTH,
    EXIT_REFUSED,
    EXIT_USAGE,
    Api,
    CloneError,
    Unreachable,
)
from clone_cli.output import emit, error, json_mode, say, stdout, warn

app = typer.Typer(
    name="clone",
    help="Clone from the command line: record your working life, import agent history, "
    "ask how you would answer, answer what Clone asked you. Add --json to any command for "
    "machine-readable output. Exit codes: 0 ok, 1 the server said no, 2 usage, "
    "3 not logged in or key refused, 4 server unreachable.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
record_app = typer.Typer(
    help="Record events: notes, event files, terminal turns, the desktop.", no_args_is_help=True
)
import_app = typer.Typer(
    help="Import agent history (Claude Code transcripts, Aider).", no_args_is_help=True
)
facts_app = typer.Typer(help="The facts Clone holds about you.", invoke_without_command=True)
profile_app = typer.Typer(help="Your profile text.", invoke_without_command=True)
keys_app = typer.Typer(help="Your API keys.", invoke_without_command=True)
hooks_app = typer.Typer(help="Wire agents to Clone.", no_args_is_help=True)
app.add_typer(record_app, name="record")
app.add_typer(import_app, name="import")
app.add_typer(facts_app, name="facts")
app.add_typer(profile_app, name="profile")
app.add_typer(keys_app, name="keys")
app.add_typer(hooks_app, name="hooks")


def usage(message: str) -> CloneError:
    return CloneError("usage", message, exit_code=EXIT_USAGE)


def connect(*, flush: bool = True, timeout: float = 30.0) -> Api:
    """An API client for the configured server; first sends what the spool holds, if anything
    (quietly: a failure there leaves the spool for later and does not stop the command)."""
    api = Api(config.load(), timeout=timeout)
    if flush and spool.has_pending():
        try:
            result = spool.flush(api)
        except CloneError:
            return api
        if result["sent"] or result["duplicates"]:
            warn(f"Sent {result['sent']} spooled event(s) to the server.")
        if result["rejected"]:
            warn(
                f"The server refused {result['rejected']} spooled event(s); kept in "
                f"{spool.rejected_path()}."
            )
    return api


# ---------------------------------------------------------------------------------- account


@app.command()
def login(
    url: Annotated[
        str | None, typer.Option(help="Server URL (default: CLONE_URL or the saved one)")
    ] = None,
    username: Annotated[str | None, typer.Option("--username", "-u")] = None,
    password_stdin: Annotated[bool, typer.Option(help="Read the password from stdin")] = False,
) -> None:
    """Log in once: asks for your password, creates an API key for this machine and saves it
    (config.toml, mode 0600). The password itself is never stored."""
    cfg = config.load()
    server = (url or cfg.url).rstrip("/")
    if not username:
        username = input("Username: ").strip() if sys.stdin.isatty() else ""
    if not username:
        raise usage("Give --username (or run it on a terminal to be asked).")
    if password_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
    if not password:
        raise usage("No password given.")
    anon = config.Config(url=server)
    with Api(anon, require_key=False, retries=1) as api:
        tokens = api.post(
            "/api/auth/token/", json={"username": username, "password": password}, retry=False
        )
        api.http.headers["Authorization"] = f"Bearer {tokens['access']}"
        key = api.post(
            "/api/auth/api-keys/", json={"name": f"clone cli on {events.hostname()}"}, retry=False
        )
        old = cfg.api_key if cfg.key_source == "config" and cfg.url == server else ""
        if old and old != key["key"]:
            _revoke_own(api, old)
    path = config.save_server(
        url=server, api_key=key["key"], key_id=key.get("id"), username=username
    )
    emit(
        {
            "url": server,
            "username": username,
            "key": {"id": key.get("id"), "name": key.get("name"), "prefix": key.get("prefix")},
            "config": str(path),
        },
        lambda: say(
            f"Logged in to {escape(server)} as [bold]{escape(username)}[/bold]; key "
            f"{escape(str(key.get('prefix')))} saved in {escape(str(path))}."
        ),
    )


def _key_id(api: Api, key: str) -> int | None:
    parts = key.split("_")
    prefix = parts[1] if len(parts) >= 3 else ""
    for item in api.pages("/api/auth/api-keys/"):
        if item.get("prefix") == prefix:
            return item.get("id")
    return None


def _revoke_own(api: Api, key: str) -> None:
    try:
        key_id = _key_id(api, key)
        if key_id is not None:
            api.request("DELETE", f"/api/auth/api-keys/{key_id}/", retry=False)
    except CloneError:
        pass  # the old key may be gone already; the new one works either way


@app.command()
def logout() -> None:
    """Revoke this machine's API key on the server and forget it."""
    cfg = config.load()
    if cfg.key_source != "config":
        raise CloneError(
            "not_logged_in", "Not logged in (nothing saved to forget).", exit_code=EXIT_AUTH
        )
    revoked = False
    try:
        with Api(cfg, retries=1) as api:
            key_id = _key_id(api, cfg.api_key)
            if key_id is not None:
                api.request("DELETE", f"/api/auth/api-keys/{key_id}/", retry=False)
                revoked = True
    except CloneError as exc:
        if exc.exit_code != EXIT_AUTH:
            # Keep the key so a later logout can revoke it: forgetting it would leave it live.
            raise
    config.forget_server()
    emit(
        {"revoked": revoked, "forgotten": True},
        lambda: say(
            "Logged out: key revoked and forgotten."
            if revoked
            else "Logged out: the server no longer knew the key; forgotten."
        ),
    )


@app.command()
def status() -> None:
    """Server, health, who you are, and counts (events, facts, predictions, calibration)."""
    cfg = config.load()
    data: dict[str, Any] = {
        "url": cfg.url,
        "url_from": cfg.url_source,
        "version": __version__,
        "spooled": spool.pending(),
    }
    with Api(cfg, require_key=False, retries=0, timeout=10) as anon:
        try:
            data["health"] = anon.get("/api/health/")
        except Unreachable:
            raise
        except CloneError as exc:
            data["health"] = exc.as_json()["error"]
    data["user"] = None
    if cfg.api_key:
        with connect(timeout=10) as api:
            # Who the key belongs to and the counts, as the server counts them.
            account = api.get("/api/account/")
        data["user"] = {
            "username": account.get("username"),
            "key": account.get("api_key"),
            "key_from": cfg.key_source,
        }
        data["counts"] = account.get("counts") or {}
        data["calibration"] = account.get("calibration") or {}
        data["spooled"] = spool.pending()

    def human() -> None:
        health = data["health"].get("status", data["health"].get("code"))
        say(f"Server   {escape(cfg.url)} ({escape(str(health))}), clone-cli {__version__}")
        if data["user"] is None:
            say("User     not logged in: run [bold]clone login[/bold]")
            return
        key = data["user"]["key"] or {}
        say(
            f"User     [bold]{escape(str(data['user']['username']))}[/bold], key "
            f"{escape(str(key.get('name', '?')))} ({escape(str(key.get('prefix', '')))}, "
            f"from {escape(str(data['user']['key_from']))})"
        )
        n = data["counts"]
        say(
            f"Data     {n.get('events', 0)} events in {n.get('sessions', 0)} sessions, "
            f"{n.get('facts', 0)} facts, {n.get('episodes', 0)} episodes"
        )
        say(
            f"Predict  {n.get('predictions', 0)} predictions, {n.get('awaiting_answer', 0)} "
            f"awaiting your answer, {n.get('labelled', 0)} with feedback"
        )
        cal = data["calibration"]
        fitted = f", fitted {escape(str(cal['fitted_at']))}" if cal.get("fitted_at") else ""
        say(
            f"Calib.   {escape(str(cal.get('method', '?')))} (n={cal.get('n', 0)}{fitted}); "
            f"Clone answers alone from {cal.get('min_labels_for_auto', '?')} labelled answers"
        )
        if data["spooled"]:
            say(f"Spool    {data['spooled']} event(s) waiting to be sent")

    emit(data, human)


@app.command()
def sync() -> None:
    """Send the events waiting in the offline spool."""
    api = connect(flush=False)
    result = spool.flush(api)
    if result["error"] and result["remaining"] and result["error"]["code"] == "server_unreachable":
        raise Unreachable(api.url, result["error"]["message"])
    emit(
        result,
        lambda: say(
            f"Sent {result['sent']} event(s) ({result['duplicates']} already "
            f"there); {result['remaining']} left, {result['rejected']} refused."
        ),
    )
    if result["rejected"]:
        raise typer.Exit(EXIT_REFUSED)


# ---------------------------------------------------------------------------------- recording


def _send_or_spool(evts: list[dict], *, progress: bool = False) -> events.SendResult:
    try:
        api: Api | None = connect()
    except CloneError as exc:
        if exc.exit_code == EXIT_AUTH:
            raise
        api = None
    bar = None
    if progress and not json_mode() and sys.stderr.isatty() and len(evts) > events.BATCH_EVENTS:
        from rich.progress import Progress

        bar = Progress(transient=True)
    if bar is None:
        return events.send(api, evts)
    with bar:
        task = bar.add_task("sending", total=len(evts))
        return events.send(api, evts, progress=lambda n: bar.advance(task, n))


def _report_send(result: events.SendResult) -> None:
    def human() -> None:
        if result.spooled:
            say(
                f"Server unreachable: {result.spooled} event(s) kept in the spool; the next "
                "command that reaches the server sends them (or run [bold]clone sync[/bold])."
            )
        if result.created or result.duplicates or not result.spooled:
            say(f"Recorded {len(result.created)} event(s), {len(result.duplicates)} duplicate(s).")

    emit(result.as_json(), human)


@record_app.command("note")
def record_note(
    text: Annotated[str, typer.Argument(help="What to keep in mind (- reads stdin)")],
    session: Annotated[str | None, typer.Option(help="Session id (default notes-<host>)")] = None,
) -> None:
    """Record a note: something you want Clone to know."""
    if text == "-":
        text = sys.stdin.read()
    if not text.strip():
        raise usage("The note is empty.")
    event = events.note_event(text, session=session)
    events.load_and_validate(json.dumps(event))
    _report_send(_send_or_spool([event]))


@record_app.command("events")
def record_events(
    file: Annotated[str, typer.Argument(help="JSONL or a JSON array of CloneEvents; - for stdin")],
) -> None:
    """Send events from a file: validated locally first (a bad line is reported with its line
    number and nothing is sent), then sent in batches; unreachable -> spooled."""
    if file == "-":
        text = sys.stdin.read()
    else:
        try:
            text = Path(file).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise usage(f"Cannot read {file}: {exc}") from None
    evts = events.load_and_validate(text)
    if not evts:
        raise usage("No events in the input.")
    _report_send(_send_or_spool(evts, progress=True))


@record_app.command("turn", hidden=True)
def record_turn(
    session: Annotated[str, typer.Option()],
    seq: Annotated[int, typer.Option()],
    exit_code: Annotated[int | None, typer.Option()] = None,
    cwd: Annotated[str | None, typer.Option()] = None,
    duration_ms: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Record one terminal turn; the command is read on stdin (used by `clone shell-init`).
    `clone_cli.turn` runs it without this command set unless the spool holds events."""
    from clone_cli.turn import recorded_turn

    recorded = recorded_turn(
        session=session, seq=seq, exit_code=exit_code, cwd=cwd, duration_ms=duration_ms
    )
    if recorded is None:
        return
    _, event = recorded
    try:
        events.load_and_validate(json.dumps(event))
    except CloneError:
        return
    _send_or_spool([event])


@record_app.command("desktop")
def record_desktop(
    interval: Annotated[float, typer.Option(min=0.2, help="Seconds between looks")] = 5.0,
    once: Annotated[bool, typer.Option(help="Record the active window once and exit")] = False,
) -> None:
    """Record the active window (app and title; no screenshots, no keystrokes) as desktop_frame
    events, skipping repeats and excluded apps. X11 (python-xlib or xdotool)."""
    from clone_cli.desktop import record

    record(interval=interval, once=once, send=_send_or_spool)


@app.command("shell-init")
def shell_init(shell: Annotated[str, typer.Argument(help="bash, zsh or fish")]) -> None:
    """Print the terminal recorder for your shell: eval "$(clone shell-init bash)"."""
    from clone_cli.shell import SHELLS, snippet

    if shell not in SHELLS:
        raise usage(f"Unknown shell {shell!r}: use one of {', '.join(SHELLS)}.")
    sys.stdout.write(snippet(shell, config.load().secret_patterns))


# ---------------------------------------------------------------------------------- imports


LearnOption = Annotated[
    bool,
    typer.Option(
        "--learn/--no-learn",
        help="Then learn from the new answers (labels and calibration; `clone learn` later).",
    ),
]


@import_app.command("claude-code")
def import_claude_code(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Transcripts or folders (default ~/.claude/projects)"),
    ] = None,
    learn: LearnOption = True,
) -> None:
    """Import Claude Code transcripts (*.jsonl); running it again imports nothing new."""
    from clone_cli.imports import import_claude_code as run

    run(connect(), paths or [Path.home() / ".claude" / "projects"], learn_after=learn)


@import_app.command("aider")
def import_aider(
    paths: Annotated[list[Path], typer.Argument(help=".aider.chat.history.md files or folders")],
    learn: LearnOption = True,
) -> None:
    """Import Aider chat histories; running it again imports nothing new."""
    from clone_cli.imports import import_aider as run

    run(connect(), paths, learn_after=learn)


@app.command("learn")
def learn_history() -> None:
    """Learn from your recorded answers: each past prompt is predicted from what came before
    it and judged against your reply; the labels count toward automatic answers."""
    from clone_cli.imports import learn, learned_line

    body = learn(connect())
    emit(body, lambda: say(learned_line(body)))


# ---------------------------------------------------------------------------------- predictions


def _candidates_table(prediction: dict) -> Table:
    table = Table(show_edge=False)
    table.add_column("#", justify="right")
    table.add_column("confidence", justify="right")
    table.add_column("reply")
    for i, c in enumerate(prediction.get("candidates") or [], start=1):
        table.add_row(str(i), f"{c.get('confidence', 0):.2f}", escape(str(c.get("text", ""))))
    return table


def _json_option(value: str | None, name: str) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError as exc:
        raise usage(f"--{name} is not JSON: {exc}") from None


@app.command()
def predict(
    question: Annotated[str, typer.Argument(help="What the agent asks you")],
    agent: Annotated[str, typer.Option(help="Which agent asks")] = "cli",
    k: Annotated[int | None, typer.Option(help="Candidates (1-10)")] = None,
    threshold: Annotated[
        float | None, typer.Option(help="Answer automatically at or above (0-1)")
    ] = None,
    tool: Annotated[
        str | None,
        typer.Option(
            help='The tool call as JSON, e.g. {"name": "Bash", "input": {"command": "make"}}'
        ),
    ] = None,
    option: Annotated[
        list[str] | None, typer.Option("--option", help="A choice offered (repeat)")
    ] = None,
    cwd: Annotated[str | None, typer.Option(help="Working directory of the request")] = None,
    context: Annotated[str | None, typer.Option(help="Text around the question")] = None,
) -> None:
    """How would you answer? Shows the candidates, their confidences and the status."""
    body: dict[str, Any] = {"agent": agent, "agent_input": question}
    for name, value in (("k", k), ("threshold", threshold), ("cwd", cwd), ("context", context)):
        if value is not None:
            body[name] = value
    if tool is not None:
        body["tool"] = _json_option(tool, "tool")
    if option:
        body["options"] = option
    with connect() as api:
        prediction = api.post("/api/predictions/predict/", json=body)

    def human() -> None:
        status_ = prediction.get("status")
        colour = "green" if status_ == "auto" else "yellow"
        say(
            f"[{colour}]{escape(str(status_))}[/{colour}]  prediction {prediction.get('id')}  "
            f"confidence {prediction.get('confidence', 0):.2f} (threshold "
            f"{prediction.get('threshold')})"
        )
        stdout.print(_candidates_table(prediction))

    emit(prediction, human)


@app.command()
def inbox(
    agent: Annotated[str | None, typer.Option(help="Only this agent's questions")] = None,
    limit: Annotated[int, typer.Option(help="At most this many")] = 50,
) -> None:
    """Questions Clone escalated to you that are still waiting for your answer, oldest first."""
    params = {"agent": agent} if agent else {}
    with connect() as api:
        items = list(api.pages("/api/predictions/inbox/", params, limit=limit))

    def human() -> None:
        if not items:
            say("Nothing waiting for you.")
            return
        table = Table(show_edge=False)
        for col in ("id", "agent", "asked", "question", "best guess"):
            table.add_column(col)
        for p in items:
            top = (p.get("candidates") or [{}])[0]
            table.add_row(
                str(p.get("id")),
                escape(str(p.get("agent", ""))),
                escape(str(p.get("created_at", ""))[:16]),
                escape(str(p.get("agent_input", ""))[:80]),
                escape(f"{top.get('text', '')} ({top.get('confidence', 0):.2f})"),
            )
        stdout.print(table)

    emit({"results": items}, human)


@app.command()
def answer(
    prediction_id: Annotated[int, typer.Argument(metavar="ID")],
    reply: Annotated[str, typer.Argument(help="Your actual reply")],
) -> None:
    """Answer a question Clone escalated to you (it learns from the reply)."""
    if not reply.strip():
        raise usage("The reply is empty.")
    with connect() as api:
        result = api.post(f"/api/predictions/{prediction_id}/answer/", json={"reply": reply})
    emit(
        result,
        lambda: say(f"Answered {prediction_id}: labelled {escape(str(result.get('outcome')))}."),
    )


@app.command()
def feedback(
    prediction_id: Annotated[int, typer.Argument(metavar="ID")],
    outcome: Annotated[str, typer.Argument(help="accepted, edited or rejected")],
    reply: Annotated[str | None, typer.Option(help="What you actually answered")] = None,
) -> None:
    """Label a prediction: accepted, edited or rejected (with --reply)."""
    if outcome not in ("accepted", "edited", "rejected"):
        raise usage("OUTCOME is one of accepted, edited, rejected.")
    body: dict[str, Any] = {"outcome": outcome}
    if reply is not None:
        body["actual_reply"] = reply
    with connect() as api:
        result = api.post(f"/api/predictions/{prediction_id}/feedback/", json=body)
    emit(result, lambda: say(f"Prediction {prediction_id}: {escape(outcome)}."))


@app.command()
def stats() -> None:
    """Acceptance, automatic precision, calibration, ECE and a reliability table."""
    with connect() as api:
        data = api.get("/api/predictions/stats/")

    def fmt(value: Any) -> str:
        return f"{value:.3f}" if isinstance(value, float) else escape(str(value))

    def human() -> None:
        for key in ("total", "labelled", "auto", "escalated", "acceptance_rate", "auto_precision"):
            if key in data:
                say(f"{key:<16} {fmt(data[key])}")
        for key in ("brier", "ece"):
            if isinstance(data.get(key), dict):
                say(f"{key:<16} " + "  ".join(f"{k} {fmt(v)}" for k, v in data[key].items()))
        cal = data.get("calibration") or {}
        say(f"{'calibration':<16} " + "  ".join(f"{k} {fmt(v)}" for k, v in cal.items()))
        bins = data.get("reliability")
        if isinstance(bins, dict):
            bins = bins.get("calibrated") or next(iter(bins.values()), [])
        if bins:
            table = Table(title="reliability", show_edge=False)
            for col in ("bin", "n", "mean confidence", "accuracy", ""):
                table.add_column(col)
            for b in bins:
                acc = b.get("accuracy", b.get("observed"))
                bar = "#" * round((acc or 0) * 20)
                lo, hi = b.get("lower", b.get("lo")), b.get("upper", b.get("hi"))
                table.add_row(
                    f"{fmt(lo)}-{fmt(hi)}",
                    fmt(b.get("count", b.get("n"))),
                    fmt(b.get("mean_confidence", b.get("confidence"))),
                    fmt(acc),
                    bar,
                )
            stdout.print(table)

    emit(data, human)


# ---------------------------------------------------------------------------------- memory


def _facts_table(items: list[dict]) -> Table:
    table = Table(show_edge=False)
    for col in ("id", "kind", "importance", "text"):
        table.add_column(col)
    for f in items:
        table.add_row(
            str(f.get("id")),
            escape(str(f.get("kind", ""))),
            f"{f.get('importance', 0):.2f}",
            escape(str(f.get("text", ""))),
        )
    return table


@facts_app.callback()
def facts_default(ctx: typer.Context) -> None:
    """The facts Clone holds about you (list by default)."""
    if ctx.invoked_subcommand is None:
        facts_list()


@facts_app.command("list")
def facts_list(limit: Annotated[int, typer.Option()] = 100) -> None:
    """Facts by importance."""
    with connect() as api:
        items = list(api.pages("/api/memory/facts/", limit=limit))
    emit(
        {"results": items},
        lambda: stdout.print(_facts_table(items)) if items else say("No facts yet."),
    )


@facts_app.command("add")
def facts_add(
    text: Annotated[str, typer.Argument()],
    kind: Annotated[str | None, typer.Option()] = None,
    importance: Annotated[float | None, typer.Option(min=0, max=1)] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag")] = None,
) -> None:
    """State a fact yourself."""
    body: dict[str, Any] = {"text": text}
    if kind:
        body["kind"] = kind
    if importance is not None:
        body["importance"] = importance
    if tag:
        body["tags"] = tag
    with connect() as api:
        fact = api.post("/api/memory/facts/", json=body)
    emit(fact, lambda: say(f"Added fact {fact.get('id')}."))


@facts_app.command("edit")
def facts_edit(
    fact_id: Annotated[int, typer.Argument(metavar="ID")],
    text: Annotated[str | None, typer.Option()] = None,
    kind: Annotated[str | None, typer.Option()] = None,
    importance: Annotated[float | None, typer.Option(min=0, max=1)] = None,
) -> None:
    """Correct a fact."""
    body = {
        k: v
        for k, v in (("text", text), ("kind", kind), ("importance", importance))
        if v is not None
    }
    if not body:
        raise usage("Give --text, --kind or --importance.")
    with connect() as api:
        fact = api.request("PATCH", f"/api/memory/facts/{fact_id}/", json=body)
    emit(fact, lambda: say(f"Updated fact {fact_id}."))


@facts_app.command("rm")
def facts_rm(fact_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """Delete a fact (it never appears in a later context bundle)."""
    with connect() as api:
        api.request("DELETE", f"/api/memory/facts/{fact_id}/")
    emit({"deleted": fact_id}, lambda: say(f"Deleted fact {fact_id}."))


@profile_app.callback()
def profile_default(ctx: typer.Context) -> None:
    """Your profile text (show by default)."""
    if ctx.invoked_subcommand is None:
        profile_show()


@profile_app.command("show")
def profile_show() -> None:
    """Print the profile."""
    with connect() as api:
        profile = api.get("/api/memory/profile/")
    emit(profile, lambda: stdout.print(escape(profile.get("body") or "(empty)"), markup=True))


@profile_app.command("edit")
def profile_edit(
    file: Annotated[
        str | None,
        typer.Option(help="Take the text from this file (- for stdin) instead of $EDITOR"),
    ] = None,
) -> None:
    """Edit the profile in $EDITOR (or set it from a file)."""
    with connect() as api:
        profile = api.get("/api/memory/profile/")
        current = profile.get("body") or ""
        if file == "-":
            body = sys.stdin.read()
        elif file:
            body = Path(file).read_text("utf-8")
        else:
            body = _edit(current)
        if body == current:
            emit({"changed": False}, lambda: say("Unchanged."))
            return
        updated = api.request("PUT", "/api/memory/profile/", json={"body": body})
    emit(updated, lambda: say("Profile saved."))


def _edit(text: str) -> str:
    import shlex
    import subprocess
    import tempfile

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "profile.md"
        path.write_text(text, "utf-8")
        if subprocess.run([*shlex.split(editor), str(path)]).returncode != 0:
            raise CloneError(
                "editor_failed",
                f"{editor} exited with an error; nothing saved.",
                exit_code=EXIT_REFUSED,
            )
        return path.read_text("utf-8")


@app.command()
def export(
    file: Annotated[Path, typer.Argument(help="Where to write the JSON (- for stdout)")],
) -> None:
    """Everything Clone holds about you, as JSON."""
    with connect() as api:
        if str(file) == "-":
            api.stream_to("/api/account/export/", sys.stdout.buffer)
            return
        tmp = file.with_name(file.name + ".part")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                size = api.stream_to("/api/account/export/", fh)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        tmp.replace(file)
    emit(
        {"file": str(file), "bytes": size},
        lambda: say(f"Exported {size} bytes to {escape(str(file))}."),
    )


@app.command()
def forget(
    all_: Annotated[bool, typer.Option("--all", help="Delete all your data on the server")] = False,
    include_keys: Annotated[
        bool, typer.Option(help="Also delete your API keys (logs out everywhere)")
    ] = False,
    confirm: Annotated[
        str | None, typer.Option(help="Your username, to confirm without a prompt")
    ] = None,
) -> None:
    """Delete all your data on the server, after you type your username to confirm."""
    if not all_:
        raise usage(
            "`clone forget --all` deletes everything; there is no partial forget here "
            "(delete single facts with `clone facts rm`)."
        )
    cfg = config.load()
    expected = cfg.username
    if confirm is None:
        if not sys.stdin.isatty():
            raise usage("Give --confirm USERNAME (no terminal to ask on).")
        confirm = input("This deletes all your data on the server. Type your username: ").strip()
    if not expected:
        raise usage("The username is not known on this machine: run `clone login` first.")
    if confirm != expected:
        raise usage("The username typed does not match; nothing was deleted.")
    with connect(flush=False) as api:
        params = {"include_keys": "1"} if include_keys else {}
        result = api.request("DELETE", "/api/account/data/", params=params, retry=False)
    if include_keys:
        config.forget_server()
    emit(
        result,
        lambda: say(
            "Deleted: "
            + ", ".join(f"{k} {v}" for k, v in (result or {}).items() if isinstance(v, int))
        ),
    )


@keys_app.callback()
def keys_default(ctx: typer.Context) -> None:
    """Your API keys (list by default)."""
    if ctx.invoked_subcommand is None:
        keys_list()


@keys_app.command("list")
def keys_list() -> None:
    """Your keys (never their secrets)."""
    with connect() as api:
        items = list(api.pages("/api/auth/api-keys/"))

    def human() -> None:
        table = Table(show_edge=False)
        for col in ("id", "name", "prefix", "created", "last used"):
            table.add_column(col)
        for k in items:
            table.add_row(
                str(k.get("id")),
                escape(str(k.get("name"))),
                escape(str(k.get("prefix"))),
                escape(str(k.get("created_at", ""))[:16]),
                escape(str(k.get("last_used_at") or "")[:16]),
            )
        stdout.print(table)

    emit({"results": items}, human)


@keys_app.command("create")
def keys_create(name: Annotated[str, typer.Argument()]) -> None:
    """Create a key (shown once)."""
    with connect() as api:
        key = api.post("/api/auth/api-keys/", json={"name": name}, retry=False)
    emit(
        key,
        lambda: say(
            f"Key {key.get('id')} ({escape(name)}): {escape(key.get('key', ''))}\n"
            "Shown once: store it now."
        ),
    )


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """Revoke a key."""
    with connect() as api:
        api.request("DELETE", f"/api/auth/api-keys/{key_id}/", retry=False)
    emit({"revoked": key_id}, lambda: say(f"Revoked key {key_id}."))


# ---------------------------------------------------------------------------------- agents


_AGENTS_HELP = "claude-code, codex, gemini or cursor"


@hooks_app.command("install")
def hooks_install(
    agent: Annotated[str, typer.Argument(help=_AGENTS_HELP)],
    user: Annotated[
        bool, typer.Option("--user", help="Your own hooks file, in HOME (default)")
    ] = False,
    project: Annotated[
        bool, typer.Option("--project", help="This project's (claude-code, gemini, cursor)")
    ] = False,
    local: Annotated[
        bool, typer.Option("--local", help="./.claude/settings.local.json (claude-code)")
    ] = False,
    form: Annotated[
        str | None,
        typer.Option(
            help="http (claude-code's default: the agent posts to the server), curl (the "
            "others' default: a command posting with curl) or command (`clone hook AGENT`, "
            "with this machine's login)"
        ),
    ] = None,
) -> None:
    """Merge Clone's hooks, as the server configures them, into the agent's hooks file
    (everything else kept, backup written, idempotent)."""
    from clone_cli import agent_hooks

    path = agent_hooks.settings_path(agent, user=user, project=project, local=local)

    def setup() -> Any:
        with connect() as api:
            try:
                return api.get(
                    agent_hooks.SETUP.format(agent=agent), params=agent_hooks.setup_params(form)
                )
            except CloneError as exc:
                if exc.status == 400:
                    # The server says which forms this agent's hooks come in.
                    raise CloneError(
                        "usage", exc.message, exit_code=EXIT_USAGE, details=exc.details
                    ) from None
                raise

    result = agent_hooks.install(agent, path, setup=setup)
    emit(result, lambda: say(escape(agent_hooks.describe(result))))


@hooks_app.command("uninstall")
def hooks_uninstall(
    agent: Annotated[str, typer.Argument(help=_AGENTS_HELP)],
    user: Annotated[bool, typer.Option("--user")] = False,
    project: Annotated[bool, typer.Option("--project")] = False,
    local: Annotated[bool, typer.Option("--local")] = False,
) -> None:
    """Remove exactly the hooks `clone hooks install` added (no server needed)."""
    from clone_cli import agent_hooks

    path = agent_hooks.settings_path(agent, user=user, project=project, local=local)
    result = agent_hooks.uninstall(agent, path)
    emit(result, lambda: say(escape(agent_hooks.describe(result))))


@app.command("hook", context_settings={"ignore_unknown_options": True})
def hook(
    agent: Annotated[str, typer.Argument(help="codex, gemini, cursor, claude-code, ...")],
    timeout: Annotated[float, typer.Option(help="Hard deadline, seconds")] = 1.5,
) -> None:
    """Command-hook form: reads the hook JSON on stdin, prints the server's answer; on any
    failure prints nothing and exits 0 (the agent asks you)."""
    from clone_cli.hook import run

    raise typer.Exit(run([agent, "--timeout", str(timeout)]))


@app.command("mcp")
def mcp_command(
    http: Annotated[
        bool, typer.Option("--http", help="Serve streamable HTTP instead of stdio")
    ] = False,
    host: Annotated[str, typer.Option(help="HTTP bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="HTTP port")] = 8766,
) -> None:
    """Run Clone's MCP server (stdio by default): claude mcp add clone -- clone mcp"""
    try:
        from clone_cli.mcp_server import serve
    except ImportError:
        raise CloneError(
            "mcp_not_installed",
            "The MCP server needs the extra: pip install 'clone-cli[mcp]'",
            exit_code=EXIT_USAGE,
        ) from None
    serve(http=http, host=host, port=port)


@app.command()
def version() -> None:
    """Print the client's version."""
    emit({"version": __version__}, lambda: say(__version__))


# ---------------------------------------------------------------------------------- running


def _split_json_flag(args: list[str]) -> list[str]:
    if "--" in args:
        cut = args.index("--")
        head, tail = args[:cut], args[cut:]
    else:
        head, tail = args, []
    if "--json" in head:
        from clone_cli import output

        output.state["json"] = True
        head = [a for a in head if a != "--json"]
    return head + tail


def run_app(args: list[str]) -> int:
    args = _split_json_flag(args)
    try:
        code = app(args=args, prog_name="clone", standalone_mode=False)
    except CloneError as exc:
        error(exc.code, exc.message, exc.details)
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except typer.TyperException as exc:
        # typer's usage errors (unknown command, bad option, missing argument).
        if json_mode() or not hasattr(exc, "show"):
            error("usage", exc.format_message())
        else:
            exc.show()
        return EXIT_USAGE
    except typer.Abort:
        error("aborted", "Aborted.")
        return EXIT_REFUSED
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_REFUSED
    except Exception as exc:
        # A bug in the client: one line, no traceback (CLONE_DEBUG=1 shows it).
        if os.environ.get("CLONE_DEBUG"):
            raise
        error("client_error", f"{type(exc).__name__}: {exc}")
        return EXIT_REFUSED
    return code if isinstance(code, int) else 0
