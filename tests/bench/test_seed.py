"""bench/seed.py writes predictions the way the service leaves them, on the current schema."""

import psycopg
import pytest
from django.db import connection
from django.urls import reverse

from bench import seed
from predictions.models import Prediction
from predictions.selectors import calibration_training_set
from predictions.services import prediction_feedback

LABELS = 30
UNLABELLED = 20  # labels_seed adds these to every user


def _seed(prefix: str, users: int) -> list[int]:
    db = connection.settings_dict
    with psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"] or None,
        host=db["HOST"] or None,
        port=db["PORT"] or None,
    ) as conn:
        ids = seed.users_create(conn, prefix=prefix, count=users)
        seed.labels_seed(conn, user_ids=ids, labels=LABELS)
    return ids


@pytest.mark.django_db(transaction=True)
def test_labelled_predictions_are_answered_like_the_services_answer_them(
    django_user_model, client_for
):
    ids = _seed("seeded_", 2)
    rows = Prediction.objects.filter(user_id__in=ids)
    assert rows.count() == 2 * (LABELS + UNLABELLED)
    assert rows.filter(outcome__isnull=False).count() == 2 * LABELS

    for p in rows:
        if p.status == "auto":
            assert (p.answered_by, p.answered_at) == ("clone", p.created_at)
            assert p.escalation_reason == ""
        elif p.outcome is not None:
            assert (p.answered_by, p.answered_at) == ("person", p.feedback_at)
            assert p.created_at <= p.feedback_at
        else:
            assert (p.answered_by, p.answered_at, p.feedback_at) == ("", None, None)

    user = django_user_model.objects.get(pk=ids[0])
    waiting = rows.filter(user=user, status="escalated", outcome__isnull=True)
    body = client_for(user, "api_key").get(reverse("predictions:inbox")).json()
    assert body["count"] == waiting.count() > 0
    scores, labels = calibration_training_set(user=user)
    assert len(scores) == len(labels) == LABELS

    # What the service does to one of the waiting ones is what the seed wrote for the others.
    answered = prediction_feedback(user=user, prediction_id=waiting.first().pk, outcome="accepted")
    assert answered.answered_by == "person"
    assert answered.answered_at == answered.feedback_at
