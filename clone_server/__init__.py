# The Celery app loads with Django, so ``@shared_task`` binds to it and ``celery -A`` finds it.
from clone_server.celery import app as celery_app

__all__ = ["celery_app"]
