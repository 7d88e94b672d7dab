import multiprocessing

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from predictions.selectors import calibration_user_ids
from predictions.services import calibration_refit


def _shard(value: str) -> tuple[int, int]:
    try:
        index, count = (int(part) for part in value.split("/"))
    except ValueError:
        raise CommandError(f"--shard must look like i/n (e.g. 0/4), not {value!r}.") from None
    if count < 1 or not 0 <= index < count:
        raise CommandError(f"--shard {value!r}: need n >= 1 and 0 <= i < n.")
    return index, count


def _refit_all(user_ids: list[int]) -> tuple[dict[str, int], list[str]]:
    """Refit these users in this process; the counts per method and one line per user."""
    users = get_user_model().objects.filter(pk__in=user_ids).order_by("pk")
    counts = {"platt": 0, "identity": 0}
    lines = []
    for person in users.iterator(chunk_size=200):
        calibration = calibration_refit(user=person)
        counts[calibration.method] = counts.get(calibration.method, 0) + 1
        lines.append(
            f"{person.get_username()}: {calibration.method} "
            f"a={calibration.a:.6f} b={calibration.b:.6f} n={calibration.n}"
        )
    return counts, lines


def _refit_in_child(user_ids: list[int]) -> tuple[dict[str, int], list[str]]:
    try:
        return _refit_all(user_ids)
    finally:
        connections.close_all()


class Command(BaseCommand):
    help = (
        "Refit every user's Platt calibration from their labelled predictions (Celery beat "
        "does it daily; or run it from cron). Safe to run while the service serves. --shard i/n splits the users between n "
        "cron jobs (by user id); --jobs N uses N processes on this machine."
    )

    def add_arguments(self, parser):
        parser.add_argument("--user", help="Refit only this username.")
        parser.add_argument(
            "--shard", help="i/n: only users whose id %% n == i (one cron job per shard)."
        )
        parser.add_argument(
            "--jobs", type=int, default=1, help="Worker processes on this machine (default 1)."
        )

    def handle(self, *args, user=None, shard=None, jobs=1, **options):
        if jobs < 1:
            raise CommandError("--jobs must be at least 1.")
        if user is not None:
            user_ids = list(
                get_user_model().objects.filter(username=user).values_list("pk", flat=True)
            )
            if not user_ids:
                raise CommandError(f"No user named {user!r}.")
        else:
            user_ids = calibration_user_ids()
        if shard is not None:
            index, count = _shard(shard)
            user_ids = [pk for pk in user_ids if pk % count == index]
        jobs = max(1, min(jobs, len(user_ids)))
        if jobs == 1:
            results = [_refit_all(user_ids)]
        else:
            # Children must not share the parent's database connection: close it before forking.
            connections.close_all()
            parts = [user_ids[i::jobs] for i in range(jobs)]
            with multiprocessing.get_context("fork").Pool(jobs) as pool:
                results = pool.map(_refit_in_child, parts)
        counts = {"platt": 0, "identity": 0}
        for part_counts, lines in results:
            for method, n in part_counts.items():
                counts[method] = counts.get(method, 0) + n
            for line in lines:
                self.stdout.write(line)
        total = sum(counts.values())
        self.stdout.write(
            self.style.SUCCESS(
                f"Refitted {total} user(s): {counts['platt']} platt, {counts['identity']} identity."
            )
        )
