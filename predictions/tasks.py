"""Celery tasks of the Prediction layer: the daily calibration refit, one task per person."""

from django.contrib.auth.models import User

from clone_server.celery import app
from predictions import selectors, services


@app.task(name="predictions.tasks.calibration_refit_all")
def calibration_refit_all() -> int:
    """Fan out one refit per person with labels (from beat, daily); how many were queued."""
    user_ids = selectors.calibration_user_ids()
    for user_id in user_ids:
        calibration_refit_user.delay(user_id)
    return len(user_ids)


@app.task(name="predictions.tasks.calibration_refit_user")
def calibration_refit_user(user_id: int) -> str:
    """Refit one person's calibration (the service ``fit_calibration`` uses too). Idempotent:
    a second run fits the same labels to the same curve."""
    person = User.objects.filter(pk=user_id).first()
    if person is None:  # deleted since the fan-out
        return "gone"
    return services.calibration_refit(user=person).method
