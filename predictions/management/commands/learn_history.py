from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from predictions.integrations.history import history_learn


class Command(BaseCommand):
    help = (
        "Learn from a person's recorded history (after an import): replay their prompts and "
        "replies in time order, keep the labelled predictions, refit their calibration. "
        "Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="The username.")
        parser.add_argument("--limit", type=int, default=5000, help="Newest events to replay.")

    def handle(self, *args, user, limit, **options):
        person = get_user_model().objects.filter(username=user).first()
        if person is None:
            raise CommandError(f"No user named {user!r}.")
        if limit < 1:
            raise CommandError("--limit must be at least 1.")
        result = history_learn(user=person, limit=limit)
        calibration = result.calibration
        self.stdout.write(
            f"{user}: replayed {result.replayed}, labelled {result.labelled} "
            f"(already {result.already_labelled}); calibration {calibration.get('method')} "
            f"n={calibration.get('n')}"
        )
