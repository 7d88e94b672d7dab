"""Reads about the caller's own account, across the apps."""

from typing import Any

from django.contrib.auth.models import User

from clone_server.accounts.models import ApiKey
from memories.selectors import memory_counts
from predictions.selectors import calibration_state, prediction_counts
from recording.selectors import recording_counts


def account_status(*, user: User, api_key: ApiKey | None = None) -> dict[str, Any]:
    """Who the caller is and what Clone holds about them: ``username``; ``api_key`` (id, name,
    prefix) when the request was authenticated by one, else None; ``counts`` of sessions,
    events, facts, episodes, predictions, predictions awaiting the person's answer and labelled
    ones; ``calibration`` (see ``calibration_state``). A fixed number of count queries,
    whatever the amount of data."""
    predictions = prediction_counts(user=user)
    return {
        "username": user.get_username(),
        "api_key": None
        if api_key is None
        else {"id": api_key.pk, "name": api_key.name, "prefix": api_key.prefix},
        "counts": {
            **recording_counts(user=user),
            **memory_counts(user=user),
            **predictions,
        },
        "calibration": calibration_state(user=user, labelled=predictions["labelled"]),
    }
