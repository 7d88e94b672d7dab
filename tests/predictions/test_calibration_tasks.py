"""The daily calibration refit on Celery: one task per person, the command's own service."""

import pytest
from django.conf import settings

from clone_server.celery import app as celery_app
from memories.selectors import profile_get
from predictions import tasks
from predictions.selectors import calibration_user_ids
from tests.predictions.helpers import labelled_predictions

pytestmark = pytest.mark.django_db


def _labelled(user, fake_anthropic, outcomes):
    labelled_predictions(user, fake_anthropic, [(0.8, outcome) for outcome in outcomes])


def test_beat_schedules_the_refit_daily():
    entry = settings.CELERY_BEAT_SCHEDULE["calibration-refit-daily"]
    assert entry["task"] == tasks.calibration_refit_all.name
    assert entry["schedule"] == 24 * 3600.0
    assert entry["task"] in celery_app.tasks


def test_the_fan_out_refits_each_person_with_labels_once(
    user, other_user, make_user, fake_anthropic
):
    _labelled(user, fake_anthropic, ["accepted", "rejected"] * 4)
    _labelled(other_user, fake_anthropic, ["accepted", "rejected"] * 2)
    make_user("carol")  # no labels: nothing to fit
    assert calibration_user_ids() == sorted([user.pk, other_user.pk])
    assert tasks.calibration_refit_all.delay().get() == 2
    assert profile_get(user=user).calibration["method"] == "platt"
    assert profile_get(user=user).calibration["n"] == 8
    # Too few labels for a fit: the identity, stored all the same.
    assert profile_get(user=other_user).calibration["method"] == "identity"
    assert profile_get(user=other_user).calibration_updated_at is not None


def test_a_person_deleted_after_the_fan_out_is_skipped(user):
    pk = user.pk
    user.delete()
    assert tasks.calibration_refit_user.delay(pk).get() == "gone"
