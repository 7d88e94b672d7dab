"""Reads from the Recording layer. Every selector takes the user and filters on it."""

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from recording.models import Event, RecordingSession


def session_list(*, user: User) -> QuerySet[RecordingSession]:
    """The user's sessions, most recently active first."""
    return RecordingSession.objects.filter(user=user).order_by("-last_event_at", "-id")


def session_events(*, user: User, session_external_id: str) -> QuerySet[Event]:
    """One of the user's sessions' events in ``occurred_at`` order; 404 when not theirs."""
    if "\x00" in session_external_id:
        # No session id holds a NUL (ingest refuses them) and Postgres cannot compare one.
        raise Http404
    session = get_object_or_404(RecordingSession, user=user, external_id=session_external_id)
    return Event.objects.filter(user=user, session=session).order_by("occurred_at", "id")


def recording_counts(*, user: User) -> dict[str, int]:
    """How many sessions and events the user has recorded (two counts, no rows read)."""
    return {
        "sessions": RecordingSession.objects.filter(user=user).count(),
        "events": Event.objects.filter(user=user).count(),
    }
