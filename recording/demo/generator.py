"""The generator: lays out each day's sessions and emits the events in wire shape."""

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from math import log
from typing import Any

from recording.demo.habits import AGENTS, INTENTS, MIDDLE_WEIGHTS
from recording.demo.world import (
    CODE_SNIPPETS,
    DOCS,
    NOTES,
    OPTIONS,
    PACKAGES,
    PROJECT_WEIGHTS,
    PROJECTS,
    SERVICES,
    SLACK,
    TEAMMATES,
    THING_KINDS,
    THINGS,
    Project,
    Task,
)

DEMO_TZ = timezone(timedelta(hours=1))  # the person's local time (CET); habits use local time
DEFAULT_START = date(2026, 10, 1)
MAX_DAYS = 3660


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _ulid(at: datetime, rng: random.Random) -> str:
    """A ULID (48-bit millisecond time, 80 random bits) drawn from the seeded generator."""
    millis = int(at.timestamp()) * 1000 + rng.randrange(1000)
    value = (millis << 80) | rng.getrandbits(80)
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def _camel(words: Sequence[str]) -> str:
    return "".join(word.capitalize() for word in words)


@dataclass
class DemoHistory:
    """The generated events (wire shape, time order) and, for each prompt id, its intent."""

    events: list[dict[str, Any]]
    intents: dict[str, str]


class _Generator:
    def __init__(self, *, seed: int, tz: timezone) -> None:
        self.rng = random.Random(seed)
        self.tz = tz
        self.rows: list[tuple[datetime, int, dict[str, Any]]] = []
        self.intents: dict[str, str] = {}

    # --- events -----------------------------------------------------------------------------
    def emit(
        self, kind: str, *, at: datetime, session: str, source: str, payload: dict[str, Any]
    ) -> str:
        event_id = _ulid(at, self.rng)
        event = {
            "id": event_id,
            "session_id": session,
            "kind": kind,
            "occurred_at": at.isoformat(timespec="seconds"),
            "source": source,
            "payload": payload,
        }
        self.rows.append((at.replace(microsecond=0), len(self.rows), event))
        return event_id

    def weighted(self, pairs: Sequence[tuple[Any, float]]) -> Any:
        values, weights = zip(*pairs, strict=True)
        return self.rng.choices(values, weights=weights)[0]

    def typed(self, reply: str) -> str:
        """The reply as typed: now and then capitalised, with a full stop or without the comma.
        ``clone_server.text.canonical`` maps every variant back to the same text."""
        roll = self.rng.random()
        if roll < 0.1:
            return reply[:1].upper() + reply[1:]
        if roll < 0.17:
            return reply + "."
        if roll < 0.22:
            return reply.replace(", ", " ", 1)
        return reply

    def minutes(self, low: float, high: float) -> timedelta:
        return timedelta(seconds=round(self.rng.uniform(low, high) * 60))

    # --- a day --------------------------------------------------------------------------------
    def day(self, index: int, day: date) -> None:
        opening = datetime.combine(day, time(9, 0), self.tz)
        for note_day, text in NOTES:
            if note_day == index:
                at = opening - self.minutes(5, 40)
                self.emit("note", at=at, session="notes", source="web", payload={"text": text})
        weekend = day.weekday() >= 5
        if weekend and self.rng.random() > 0.2:
            return
        stamp = f"{day:%Y%m%d}"
        start = opening + self.minutes(-30, 45) if not weekend else opening + self.minutes(60, 240)
        end = (
            datetime.combine(day, time(18, 0), self.tz) + self.minutes(-30, 60)
            if not weekend
            else start + self.minutes(60, 150)
        )

        n_prompts = self.rng.randint(15, 40) if not weekend else self.rng.randint(2, 6)
        n_sessions = self.rng.randint(3, 6) if not weekend else 1
        cuts = sorted(self.rng.sample(range(1, n_prompts), n_sessions - 1))
        sizes = [b - a for a, b in zip([0, *cuts], [*cuts, n_prompts], strict=True)]
        span = (end - start) - timedelta(minutes=50)
        projects_today: dict[str, Project] = {}
        for number, size in enumerate(sizes, start=1):
            at = start + span * (number - 1) / len(sizes) + self.minutes(0, 25)
            # Friday afternoons end with a wrap-up session that wants to commit.
            wrap_up = day.weekday() == 4 and number == len(sizes)
            if wrap_up:
                at = datetime.combine(day, time(16, 0), self.tz) + self.minutes(0, 45)
            project = self.rng.choices(PROJECTS, weights=PROJECT_WEIGHTS)[0]
            projects_today[project.name] = project
            agent = self.weighted(AGENTS)
            self.agent_session(
                session=f"{agent}-{stamp}-{number}",
                agent=agent,
                project=project,
                task=self.rng.choice(project.tasks),
                at=at,
                size=size,
                stamp=stamp,
                wrap_up=wrap_up,
            )
        for project in projects_today.values():
            self.terminal_ambient(project=project, start=start, end=end, stamp=stamp)
        self.desktop(start=start, end=end, stamp=stamp, projects=list(projects_today.values()))

    # --- agent sessions -------------------------------------------------------------------------
    def plan(self, *, agent: str, project: Project, size: int, wrap_up: bool) -> list[str]:
        """The intents of one session: maybe a branch first, work in the middle, and often
        tests, a commit and a push at the end (always a commit when ``wrap_up``); never the
        same question twice in a row."""
        head = ["branch_name"] if size >= 4 and self.rng.random() < 0.35 else []
        tail: list[str] = []
        if self.rng.random() < 0.55:
            tail.append("run_tests")
        if wrap_up or self.rng.random() < 0.6:
            tail.append("commit")
            if self.rng.random() < 0.6:
                tail.append(self.rng.choice(("push_main", "push_branch")))
        while len(head) + len(tail) > size:
            (tail if tail else head).pop(0)
        if wrap_up and "commit" not in tail:
            tail = [*tail[:-1], "commit"]
        stacks = {
            "",
            *(("python",) if project.python else ()),
            *(("node",) if project.node else ()),
        }
        choices = [
            (name, weight)
            for name, weight in MIDDLE_WEIGHTS.items()
            if (not INTENTS[name].agents or agent in INTENTS[name].agents)
            and INTENTS[name].stack in stacks
        ]
        middle: list[str] = []
        previous = head[-1] if head else None
        for _ in range(size - len(head) - len(tail)):
            name = self.weighted([(n, w) for n, w in choices if n != previous])
            middle.append(name)
            previous = name
        if tail and middle and middle[-1] == tail[0]:
            middle[-1] = self.weighted([(n, w) for n, w in choices if n != tail[0]])
        return head + middle + tail

    def slots(self, *, project: Project, task: Task) -> dict[str, str]:
        package, version = self.rng.choice(PACKAGES)
        option_a, option_b = self.rng.choice(OPTIONS)
        thing_kind = self.rng.choice(THING_KINDS)
        thing = self.rng.choice(THINGS)
        words = task.slug.split("-")
        test_cmd = "pytest -q" if project.python else "pnpm test"
        return {
            "ticket": task.ticket,
            "ticket_lower": task.ticket.lower(),
            "slug": task.slug,
            "slug_snake": "_".join(words),
            "slug_camel": _camel(words),
            "title_lower": task.title[0].lower() + task.title[1:],
            "branch": f"feat/{task.slug}",
            "file": self.rng.choice(project.files),
            "package": package,
            "version": version,
            "command": self.rng.choice((test_cmd, "git status", "ruff check .", "make lint")),
            "service": self.rng.choice(SERVICES),
            "thing": thing,
            "thing_title": thing[0].upper() + thing[1:],
            "thing_kind": thing_kind,
            "thing_kind_camel": thing_kind.capitalize(),
            "option_a": option_a,
            "option_b": option_b,
        }

    def agent_session(
        self,
        *,
        session: str,
        agent: str,
        project: Project,
        task: Task,
        at: datetime,
        size: int,
        stamp: str,
        wrap_up: bool = False,
    ) -> None:
        if self.rng.random() < 0.6:
            self.webhook(
                "linear",
                "Issue",
                at=at - self.minutes(0.5, 3),
                stamp=stamp,
                data={
                    "action": "update",
                    "identifier": task.ticket,
                    "title": task.title,
                    "state": "In Progress",
                    "assignee": "sam",
                },
            )
        for name in self.plan(agent=agent, project=project, size=size, wrap_up=wrap_up):
            intent = INTENTS[name]
            slots = self.slots(project=project, task=task)
            text = self.rng.choice(intent.wordings).format(**slots)
            if intent.predictable and not intent.agents and self.rng.random() < 0.25:
                lead = self.rng.choice(
                    (
                        "I've updated {file}. ",
                        "Done with the change to {file}. ",
                        "All edits for {ticket} are in place. ",
                        "The tests I added for {slug_snake} pass locally. ",
                    )
                )
                text = lead.format(**slots) + text
            prompt_id = self.emit(
                "agent_prompt",
                at=at,
                session=session,
                source=agent,
                payload={"agent": agent, "text": text},
            )
            self.intents[prompt_id] = name
            reply = self.typed(
                self.weighted(intent.answers_for(agent=agent, at=at)).format(**slots)
            )
            # Mostly a quick answer; now and then the person is away for minutes.
            delay = min(900.0, max(2.0, self.rng.lognormvariate(log(20), 1.1)))
            at += timedelta(seconds=round(delay))
            self.emit(
                "user_reply",
                at=at,
                session=session,
                source=agent,
                payload={"text": reply, "in_reply_to": prompt_id},
            )
            self.consequences(
                name=name, reply=reply, project=project, task=task, at=at, stamp=stamp
            )
            at += self.minutes(0.5, 12)

    def consequences(
        self, *, name: str, reply: str, project: Project, task: Task, at: datetime, stamp: str
    ) -> None:
        """What follows an answer in the terminal and the integrations, so the streams agree."""
        session = f"term-{stamp}-{project.name}"
        at += self.minutes(0.2, 1.5)
        if name == "migrations":
            self.terminal(
                f"pg_dump -Fc {project.name} > ~/backups/{project.name}-{stamp}.dump",
                "",
                0,
                project=project,
                at=at,
                session=session,
            )
            self.terminal(
                "python manage.py migrate",
                "Operations to perform:\n  Apply all migrations: orders, payments\n"
                "Running migrations:\n  Applying orders.0042_auto... OK",
                0,
                project=project,
                at=at + self.minutes(0.5, 2),
                session=session,
            )
        elif name == "reinstall" and reply.startswith("yes"):
            self.terminal(
                "rm -rf node_modules && pnpm install",
                "Packages: +812\nProgress: resolved 812, reused 790, downloaded 22, added 812, "
                "done\nDone in 14.2s",
                0,
                project=project,
                at=at,
                session=session,
            )
        elif name == "push_main":
            number = self.rng.randint(300, 999)
            self.terminal(
                "gh pr create --fill",
                f"https://github.com/{project.repo}/pull/{number}",
                0,
                project=project,
                at=at,
                session=session,
            )
            self.pull_request(project=project, task=task, number=number, at=at, stamp=stamp)
        elif name == "push_branch" and reply.startswith("yes"):
            self.terminal(
                f"git push -u origin feat/{task.slug}",
                f"To github.com:{project.repo}.git\n * [new branch]      feat/{task.slug} -> "
                f"feat/{task.slug}",
                0,
                project=project,
                at=at,
                session=session,
            )
            number = self.rng.randint(300, 999)
            self.pull_request(project=project, task=task, number=number, at=at, stamp=stamp)

    # --- other streams ----------------------------------------------------------------------------
    def terminal(
        self,
        command: str,
        output: str,
        exit_code: int,
        *,
        project: Project,
        at: datetime,
        session: str,
    ) -> None:
        self.emit(
            "terminal_turn",
            at=at,
            session=session,
            source="cli",
            payload={
                "command": command,
                "output": output,
                "exit_code": exit_code,
                "cwd": project.cwd,
            },
        )

    def terminal_ambient(
        self, *, project: Project, start: datetime, end: datetime, stamp: str
    ) -> None:
        at = start + self.minutes(0, 10)
        while at < end:
            command, output, code = self.rng.choice(self.commands(project))
            self.terminal(
                command,
                output,
                code,
                project=project,
                at=at,
                session=f"term-{stamp}-{project.name}",
            )
            at += self.minutes(5, 45)

    def commands(self, project: Project) -> list[tuple[str, str, int]]:
        passed = self.rng.randint(120, 480)
        rows = [
            ("git status", "On branch main\nChanges not staged for commit:\n  modified: ...", 0),
            ("git pull --rebase", "Successfully rebased and updated refs/heads/main.", 0),
            ("git log --oneline -5", "a1b2c3d Merge pull request #412\n9f8e7d6 Fix totals", 0),
            ("git diff --stat", " 3 files changed, 48 insertions(+), 12 deletions(-)", 0),
            ("docker compose up -d", f"[+] Running 3/3\n ✔ Container {project.name}-db-1", 0),
            ("docker compose ps", f"{project.name}-db-1   postgres:17   Up 2 hours", 0),
        ]
        if project.python:
            failed = self.rng.random() < 0.2
            rows += [
                (
                    "pytest -q",
                    "FAILED tests/test_checkout.py::test_retry - AssertionError\n"
                    f"1 failed, {passed} passed in 9.4s"
                    if failed
                    else f"{passed} passed in 8.9s",
                    1 if failed else 0,
                ),
                ("ruff check .", "All checks passed!", 0),
                ("make lint", "ruff check . && ruff format --check .\nAll checks passed!", 0),
                ("make test", f"{passed} passed in 9.1s", 0),
            ]
        if project.node:
            rows += [
                ("pnpm install", "Lockfile is up to date\nDone in 1.8s", 0),
                ("pnpm test", f"Test Files  14 passed (14)\n     Tests  {passed} passed", 0),
                ("pnpm run build", "vite building for production...\n✓ built in 3.21s", 0),
                ("pnpm lint", "✔ No problems found", 0),
            ]
        return rows

    def webhook(
        self, integration: str, event: str, *, at: datetime, stamp: str, data: dict[str, Any]
    ) -> None:
        self.emit(
            "integration_webhook",
            at=at,
            session=f"{integration}-{stamp}",
            source=integration,
            payload={"integration": integration, "event": event, "data": data},
        )

    def pull_request(
        self, *, project: Project, task: Task, number: int, at: datetime, stamp: str
    ) -> None:
        title = f"{task.ticket}: {task.title}"
        pr = {"number": number, "title": title, "head": f"feat/{task.slug}", "base": "main"}
        self.webhook(
            "github",
            "pull_request",
            at=at + self.minutes(0.2, 1),
            stamp=stamp,
            data={"action": "opened", "repository": project.repo, "sender": "sam", **pr},
        )
        failed = self.rng.random() < 0.2
        self.webhook(
            "github",
            "check_suite",
            at=at + self.minutes(4, 12),
            stamp=stamp,
            data={
                "action": "completed",
                "repository": project.repo,
                "pull_request": number,
                "conclusion": "failure" if failed else "success",
            },
        )
        if not failed and self.rng.random() < 0.6:
            self.webhook(
                "github",
                "pull_request_review",
                at=at + self.minutes(15, 90),
                stamp=stamp,
                data={
                    "action": "submitted",
                    "repository": project.repo,
                    "pull_request": number,
                    "reviewer": self.rng.choice(TEAMMATES),
                    "state": self.rng.choice(("approved", "approved", "changes_requested")),
                },
            )
        self.webhook(
            "linear",
            "Issue",
            at=at + self.minutes(1, 3),
            stamp=stamp,
            data={"action": "update", "identifier": task.ticket, "state": "In Review"},
        )

    def desktop(
        self, *, start: datetime, end: datetime, stamp: str, projects: list[Project]
    ) -> None:
        at = start + self.minutes(0, 5)
        while at < end:
            project = self.rng.choice(projects)
            roll = self.rng.random()
            if roll < 0.45:
                path = self.rng.choice(project.files)
                payload = {
                    "app": "Code",
                    "window_title": f"{path.rsplit('/', 1)[-1]} — {project.name}",
                    "text": f"# {path}\n" + self.rng.choice(CODE_SNIPPETS),
                }
            elif roll < 0.7:
                title, text = self.rng.choice(DOCS)
                payload = {"app": "Google Chrome", "window_title": title, "text": text}
            elif roll < 0.9:
                channel, text = self.rng.choice(SLACK)
                payload = {
                    "app": "Slack",
                    "window_title": f"Slack | {channel} | Acme",
                    "text": text,
                }
            else:
                task = self.rng.choice(project.tasks)
                payload = {
                    "app": "Linear",
                    "window_title": f"{task.ticket} {task.title}",
                    "text": f"{task.title}\nStatus: In Progress\nAssignee: sam",
                }
            self.emit(
                "desktop_frame",
                at=at,
                session=f"desktop-{stamp}",
                source="desktop",
                payload=payload,
            )
            at += self.minutes(8, 30)


def demo_generate(*, days: int, seed: int, start: date | datetime | None = None) -> DemoHistory:
    """The demo history with, for each agent prompt id, the name of its ``INTENTS`` entry.

    ``start`` is the first day (default ``DEFAULT_START``); an aware datetime also sets the
    time zone, otherwise the person lives in ``DEMO_TZ``. Deterministic for a seed.
    Raises ``ValueError`` unless ``1 <= days <= MAX_DAYS``.
    """
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be an integer from 1 to {MAX_DAYS}; got {days!r}.")
    tz, first = DEMO_TZ, start or DEFAULT_START
    if isinstance(start, datetime):
        offset = start.utcoffset()
        tz = DEMO_TZ if offset is None else timezone(offset)
        first = start.date()
    generator = _Generator(seed=seed, tz=tz)
    for index in range(days):
        generator.day(index, first + timedelta(days=index))
    generator.rows.sort(key=lambda row: (row[0], row[1]))
    return DemoHistory(events=[row[2] for row in generator.rows], intents=generator.intents)


def demo_history(*, days: int, seed: int, start: date | datetime | None = None) -> list[dict]:
    """CloneEvents for ``days`` days of one developer's work, in time order (see module doc).

    Every event validates against ``schema/events.schema.json``; every ``user_reply`` answers
    an earlier ``agent_prompt`` of the same session. Same arguments, same events.
    """
    return demo_generate(days=days, seed=seed, start=start).events
