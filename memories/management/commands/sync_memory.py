from django.core.management.base import BaseCommand

from memories.management.users import active_users
from memories.services import raw_sync


class Command(BaseCommand):
    help = "Create the RawMemory rows for events that have none (all users, or --user). For cron."

    def add_arguments(self, parser):
        parser.add_argument("--user", help="Only this username.")

    def handle(self, *args, user=None, **options):
        users = active_users(user)
        total = 0
        for account in users.iterator():
            created = raw_sync(user=account)
            total += created
            if created:
                self.stdout.write(f"{account.get_username()}: {created} raw rows created")
        self.stdout.write(self.style.SUCCESS(f"Done: {total} raw rows created."))
