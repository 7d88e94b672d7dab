from django.core.management.base import BaseCommand

from memories.management.users import active_users
from memories.promotion import episodes_promote, facts_promote
from memories.services import raw_sync


class Command(BaseCommand):
    help = (
        "Sync raw rows, then promote raw rows to episodes and episodes to facts until nothing is "
        "left (all users, or --user). For cron; each step is bounded and resumable."
    )

    def add_arguments(self, parser):
        parser.add_argument("--user", help="Only this username.")
        parser.add_argument(
            "--skip-sync", action="store_true", help="Do not create missing raw rows first."
        )

    def handle(self, *args, user=None, skip_sync=False, **options):
        users = active_users(user)
        for account in users.iterator():
            name = account.get_username()
            if not skip_sync:
                raw_sync(user=account)
            episodes = tokens = 0
            while True:
                step = episodes_promote(user=account)
                episodes += step.created
                tokens += step.usage.input_tokens + step.usage.output_tokens
                # Stop when done, or when a step made no progress (rows taken concurrently).
                if not step.remaining or step.rows == 0:
                    break
            facts = reinforced = 0
            while True:
                fact_step = facts_promote(user=account)
                facts += fact_step.created
                reinforced += fact_step.reinforced
                tokens += fact_step.usage.input_tokens + fact_step.usage.output_tokens
                if not fact_step.remaining or fact_step.episodes == 0:
                    break
            if episodes or facts or reinforced:
                self.stdout.write(
                    f"{name}: {episodes} episodes, {facts} facts created, "
                    f"{reinforced} reinforced, {tokens} tokens"
                )
        self.stdout.write(self.style.SUCCESS("Done."))
