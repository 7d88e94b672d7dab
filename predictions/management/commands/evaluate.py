import json
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test import override_settings

from clone_server.errors import ApiError
from predictions import judge
from predictions.evaluation import (
    DatasetError,
    dataset_read,
    evaluation_user_create,
    evaluation_user_delete,
    replay_run,
    report_build,
    report_table,
)
from predictions.evaluation.plot import PlotUnavailable, plot_check, plot_write
from predictions.evaluation.progress import Progress
from predictions.evaluation.replay import answered_prompts, records_as_dicts


def _unit(value: str) -> float:
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise ValueError
    return number


class Command(BaseCommand):
    help = (
        "Replay a JSONL file of CloneEvents (the wire shape of POST /api/recording/events/) into "
        "a fresh, isolated user, predicting every answered agent prompt from what came before "
        "it only, judging it against the real reply and feeding the verdict back; print how "
        "often Clone answers right and how honest its confidence is. The user and its data are "
        "deleted afterwards unless --keep-user."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dataset", required=True, help="JSONL file of CloneEvents.")
        parser.add_argument(
            "--provider",
            choices=("local", "anthropic"),
            help="Prediction provider (default: CLONE_LLM_PROVIDER).",
        )
        parser.add_argument("--threshold", type=_unit, default=0.8, help="Auto-answer threshold.")
        parser.add_argument(
            "--refit-every",
            type=int,
            default=25,
            help="Refit calibration every N labels (0: at the end only).",
        )
        parser.add_argument("--k", type=int, default=3, help="Candidates per prediction (1-10).")
        parser.add_argument("--accept-f1", type=_unit, default=judge.DEFAULT_ACCEPT_F1)
        parser.add_argument("--edit-f1", type=_unit, default=judge.DEFAULT_EDIT_F1)
        parser.add_argument("--limit", type=int, help="Predict only the first N answered prompts.")
        parser.add_argument("--json", dest="json_out", help="Write the report (and records) here.")
        parser.add_argument("--plot", dest="plot_out", help="Write the PNG plot here.")
        parser.add_argument(
            "--keep-user", action="store_true", help="Keep the evaluation user and its data."
        )

    def handle(self, *args, **options):
        refit_every, k, limit = options["refit_every"], options["k"], options["limit"]
        if refit_every < 0:
            raise CommandError("--refit-every must be 0 or more.")
        if not 1 <= k <= 10:
            raise CommandError("--k must be from 1 to 10.")
        if limit is not None and limit < 1:
            raise CommandError("--limit must be at least 1.")
        if options["edit_f1"] > options["accept_f1"]:
            raise CommandError("--edit-f1 must not exceed --accept-f1.")
        provider = options["provider"] or settings.CLONE_LLM_PROVIDER
        if provider == "anthropic" and not settings.ANTHROPIC_API_KEY:
            raise CommandError("--provider anthropic needs ANTHROPIC_API_KEY.")
        if options["plot_out"]:
            try:
                plot_check()  # fail before a long replay, not after it
            except PlotUnavailable as exc:
                raise CommandError(str(exc)) from None
        try:
            events = dataset_read(path=options["dataset"])
        except DatasetError as exc:
            raise CommandError(f"--dataset: {exc}") from None

        with override_settings(CLONE_LLM_PROVIDER=provider):
            report, records, seconds, username = self._run(events=events, **options)

        self.stdout.write(report_table(report))
        self.stdout.write(
            f"\n{len(events)} events, {report['predictions']} predictions in {seconds:.1f} s "
            f"(provider {provider}); user {username} "
            + ("kept." if options["keep_user"] else "and its data deleted.")
        )
        if options["json_out"]:
            body = {"provider": provider, "seconds": round(seconds, 3), **report}
            body["records"] = records_as_dicts(records)
            try:
                with open(options["json_out"], "w", encoding="utf-8") as handle:
                    json.dump(body, handle, indent=2, ensure_ascii=False)
            except OSError as exc:
                raise CommandError(f"Cannot write {options['json_out']}: {exc}.") from None
        if options["plot_out"]:
            try:
                plot_write(
                    report=report,
                    path=options["plot_out"],
                    title=f"Clone, {provider} provider: {report['predictions']} predictions",
                )
            except OSError as exc:
                raise CommandError(f"Cannot write {options['plot_out']}: {exc}.") from None

    def _run(self, *, events, **options):
        started = time.perf_counter()
        user = evaluation_user_create()
        username = user.get_username()
        answered = answered_prompts(events=events)
        total = min(answered, options["limit"] or answered)
        # The raw stream: Django's OutputWrapper would end every redraw with a newline.
        progress = Progress(
            total=total, stream=getattr(self.stderr, "_out", self.stderr), label="evaluate "
        )
        try:
            result = replay_run(
                user=user,
                events=events,
                threshold=options["threshold"],
                k=options["k"],
                refit_every=options["refit_every"],
                accept_f1=options["accept_f1"],
                edit_f1=options["edit_f1"],
                limit=options["limit"],
                on_prediction=progress.advance,
            )
        except ApiError as exc:
            raise CommandError(f"{exc.code}: {exc.detail}") from None
        finally:
            progress.close()
            if not options["keep_user"]:
                evaluation_user_delete(user=user)
        report = report_build(records=result.records, threshold=options["threshold"])
        return report, result.records, time.perf_counter() - started, username
