"""The Celery application: background memory upkeep and the daily calibration refit.

Workers: ``celery -A clone_server worker``; the schedule: ``celery -A clone_server beat``.
Configuration comes from Django's settings (``CELERY_*``, read from the environment). With no
``CLONE_BROKER_URL`` the tasks run in-process, after the request that queued them commits.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clone_server.settings")

app = Celery("clone_server")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
