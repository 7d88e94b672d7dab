from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from predictions.models import Prediction
from predictions.services import calibration_refit


class Command(BaseCommand):
    help = (
        "Refit every user's Platt calibration from their labelled predictions (run daily from "
        "cron). Safe to run while the service serves."
    )

    def add_arguments(self, parser):
        parser.add_argument("--user", help="Refit only this username.")

    def handle(self, *args, user=None, **options):
        User = get_user_model()
        if user is not None:
            users = User.objects.filter(username=user)
            if not users.exists():
                raise CommandError(f"No user named {user!r}.")
        else:
            users = User.objects.filter(
                pk__in=Prediction.objects.filter(outcome__isnull=False).values("user_id")
            )
        counts = {"platt": 0, "identity": 0}
        for person in users.order_by("pk").iterator(chunk_size=200):
            calibration = calibration_refit(user=person)
            counts[calibration.method] = counts.get(calibration.method, 0) + 1
            self.stdout.write(
                f"{person.get_username()}: {calibration.method} "
                f"a={calibration.a:.6f} b={calibration.b:.6f} n={calibration.n}"
            )
        total = sum(counts.values())
        self.stdout.write(
            self.style.SUCCESS(
                f"Refitted {total} user(s): {counts['platt']} platt, {counts['identity']} identity."
            )
        )
