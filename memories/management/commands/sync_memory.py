from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from memories.services import raw_sync


class Command(BaseCommand):
    help = "Create the RawMemory rows for events that have none (all users, or --user). For cron."

    def add_arguments(self, parser):
        parser.add_argument("--user", help="Only this username.")

    def handle(self, *args, user=None, **options):
        users = get_user_model().objects.filter(is_active=True).order_by("pk")
        if user is not None:
            users = users.filter(username=user)
            if not users.exists():
                raise CommandError(f"No active user named {user!r}.")
        total = 0
        for account in users.iterator():
            created = raw_sync(user=account)
            total += created
            if created:
                self.stdout.write(f"{account.get_username()}: {created} raw rows created")
        self.stdout.write(self.style.SUCCESS(f"Done: {total} raw rows created."))
