import secrets
import shlex
import time

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test import override_settings
from django.urls import reverse

from clone_server.accounts.services import api_key_create, user_delete
from clone_server.errors import ApiError
from predictions.evaluation import replay_run, report_build
from predictions.evaluation.progress import Progress
from predictions.evaluation.replay import answered_prompts, events_sorted
from recording.demo import MAX_DAYS, demo_history

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
# Accounts load_demo made: only these may be reset, even once they have a password.
DEMO_GROUP = "clone-demo"


class Command(BaseCommand):
    help = (
        "Create (or reset) the demo user and load a synthetic history through the real services: "
        "ingest, memory sync and promotion, a replay of every answered prompt with feedback, and "
        "a calibration fit. Prints a new API key and three curl commands to try. Uses the local "
        "provider unless --provider anthropic."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=30, help="Days of history (default 30).")
        parser.add_argument("--seed", type=int, default=7, help="Random seed (default 7).")
        parser.add_argument("--username", default="demo", help="The demo user (default demo).")
        parser.add_argument(
            "--base-url",
            default=DEFAULT_BASE_URL,
            help=f"Where the server listens, for the curl commands (default {DEFAULT_BASE_URL}).",
        )
        parser.add_argument("--provider", choices=("local", "anthropic"), default="local")
        parser.add_argument(
            "--set-password",
            action="store_true",
            help="Give the demo user a new random password and print it, to sign in to the web "
            "app (local use only).",
        )

    def handle(
        self, *args, days, seed, username, base_url, provider, set_password=False, **options
    ):
        if not 1 <= days <= MAX_DAYS:
            raise CommandError(f"--days must be from 1 to {MAX_DAYS}; got {days}.")
        username = username.strip()
        if not username:
            raise CommandError("--username must not be blank.")
        started = time.perf_counter()
        events = events_sorted(events=demo_history(days=days, seed=seed))
        progress = Progress(
            total=answered_prompts(events=events),
            stream=getattr(self.stderr, "_out", self.stderr),
            label="load_demo ",
        )
        try:
            # One transaction: a failed load leaves the previous state, never half a demo.
            with override_settings(CLONE_LLM_PROVIDER=provider), transaction.atomic():
                user = self._demo_user(username)
                result = replay_run(user=user, events=events, on_prediction=progress.advance)
                issued = api_key_create(user=user, name="load_demo")
                password = self._new_password(user) if set_password else None
        except ApiError as exc:
            raise CommandError(f"{exc.code}: {exc.detail}") from None
        finally:
            progress.close()
        report = report_build(records=result.records)
        seconds = time.perf_counter() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {days} days of demo history for user {username!r}: "
                f"{result.events} events, {report['predictions']} predictions replayed with "
                f"feedback (top-1 accepted {report['accuracy']['top1_accepted'] or 0:.0%}), "
                f"calibration {result.calibration.get('method', 'identity')} "
                f"(n={result.calibration.get('n', 0)}), in {seconds:.1f} s."
            )
        )
        self.stdout.write(self._way_in(key=issued.key, base_url=base_url.rstrip("/")))
        if password is not None:
            self.stdout.write(
                f"\nWeb app: {base_url.rstrip('/')}/  user {username!r}, password {password} "
                "(local use only; a new one on every run)"
            )

    def _demo_user(self, username: str):
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        demo_group, _ = Group.objects.get_or_create(name=DEMO_GROUP)
        if user is None:
            user = user_model.objects.create_user(username=username, password=None)
            user.groups.add(demo_group)
            return user
        # Re-running resets the demo; an account someone can log in to is never wiped, unless
        # load_demo made it (its password is the one --set-password printed).
        made_here = user.groups.filter(pk=demo_group.pk).exists()
        if (user.has_usable_password() and not made_here) or user.is_staff or user.is_superuser:
            raise CommandError(
                f"User {username!r} exists and is not a demo account (it has a password or staff "
                "rights); choose another --username."
            )
        user_delete(user=user)
        return user_model.objects.create_user(username=username, password=None)

    @staticmethod
    def _new_password(user) -> str:
        password = secrets.token_urlsafe(12)
        user.set_password(password)
        user.save(update_fields=["password"])
        return password

    @staticmethod
    def _way_in(*, key: str, base_url: str) -> str:
        header = shlex.quote(f"X-Clone-API-Key: {key}")
        json_header = shlex.quote("Content-Type: application/json")
        context = shlex.quote('{"agent_input": "Want me to run pytest?"}')
        predict = shlex.quote('{"agent": "claude-code", "agent_input": "Want me to run pytest?"}')
        return "\n".join(
            [
                "",
                f"API key (shown once): {key}",
                "",
                "# What Clone remembers that bears on a question:",
                f"curl -s -X POST {base_url}{reverse('memories:context')} "
                f"-H {header} -H {json_header} -d {context}",
                "# Predict the reply:",
                f"curl -s -X POST {base_url}{reverse('predictions:predict')} "
                f"-H {header} -H {json_header} -d {predict}",
                "# How often Clone was right, and how honest its confidence is:",
                f"curl -s {base_url}{reverse('predictions:stats')} -H {header}",
            ]
        )
