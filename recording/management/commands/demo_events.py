import json
from datetime import date, datetime

from django.core.management.base import BaseCommand, CommandError

from recording.demo import DEFAULT_START, MAX_DAYS, demo_history


def _parse_start(value: str) -> date | datetime:
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"--start must be a date (2026-10-01) or an RFC 3339 date-time; got {value!r}."
        ) from None


class Command(BaseCommand):
    help = (
        "Write a synthetic, deterministic history of one developer working with coding agents "
        "as CloneEvent JSONL (the wire shape of POST /api/recording/events/, one event per line, "
        "in time order). Same --seed, same output."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=30, help="Calendar days (default 30).")
        parser.add_argument("--seed", type=int, default=7, help="Random seed (default 7).")
        parser.add_argument("--out", help="Write to this file instead of standard output.")
        parser.add_argument(
            "--start",
            help=f"The first day, e.g. 2026-10-01 (default {DEFAULT_START.isoformat()}).",
        )

    def handle(self, *args, days, seed, out=None, start=None, **options):
        if not 1 <= days <= MAX_DAYS:
            raise CommandError(f"--days must be from 1 to {MAX_DAYS}; got {days}.")
        events = demo_history(days=days, seed=seed, start=_parse_start(start) if start else None)
        lines = [json.dumps(event, ensure_ascii=False, separators=(",", ":")) for event in events]
        if out:
            try:
                with open(out, "w", encoding="utf-8", newline="\n") as handle:
                    handle.writelines(line + "\n" for line in lines)
            except OSError as exc:
                raise CommandError(f"Cannot write {out}: {exc.strerror or exc}.") from None
        else:
            for line in lines:
                self.stdout.write(line)
        prompts = sum(1 for event in events if event["kind"] == "agent_prompt")
        # The summary goes to stderr so that stdout stays pure JSONL.
        self.stderr.write(
            f"Wrote {len(events)} events ({prompts} agent prompts, {days} days, seed {seed})"
            f"{f' to {out}' if out else ''}.",
            style_func=self.style.SUCCESS,
        )
