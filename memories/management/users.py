"""What the memory commands share: which accounts a run covers."""

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.db.models import QuerySet


def active_users(username: str | None) -> QuerySet:
    """Every active user by id, or only ``username``; a CommandError when that one is not an
    active user."""
    users = get_user_model().objects.filter(is_active=True).order_by("pk")
    if username is not None:
        users = users.filter(username=username)
        if not users.exists():
            raise CommandError(f"No active user named {username!r}.")
    return users
