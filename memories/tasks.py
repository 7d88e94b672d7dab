"""Celery tasks of the Memory layer: thin wrappers over ``memories.upkeep``."""

from django.conf import settings

from clone_server import llm
from clone_server.celery import app
from memories import upkeep


@app.task(bind=True, name="memories.tasks.memory_promote", max_retries=None)
def memory_promote(self, user_id: int, token: str) -> str:
    """One promotion step for the person; queues the next while work remains (in-process,
    carries on in this call). Provider failures that pass with time retry with backoff and
    jitter; the others, and a failure that outlasts the retries, are recorded and held."""
    try:
        step = upkeep.promotion_step(user_id=user_id, token=token)
        while self.request.is_eager and step.outcome is upkeep.StepOutcome.MORE:
            step = upkeep.promotion_step(user_id=user_id, token=token)
    except upkeep.RETRYABLE_ERRORS as error:
        failures = upkeep.failures_in_a_row(user_id=user_id) + 1
        delay = None
        if not self.request.is_eager and failures <= settings.CLONE_PROMOTE_MAX_RETRIES:
            delay = upkeep.retry_delay(
                failures=failures, retry_after=getattr(error, "retry_after", None)
            )
        upkeep.promotion_failed(user_id=user_id, token=token, error=error, retry_in=delay)
        if delay is None:
            return error.code
        raise self.retry(countdown=delay, exc=error) from error
    except llm.LLMError as error:
        upkeep.promotion_failed(user_id=user_id, token=token, error=error, retry_in=None)
        return error.code
    if step.next_at is not None and not self.request.is_eager:
        memory_promote.apply_async((user_id, token), eta=step.next_at)
    return step.outcome.value
