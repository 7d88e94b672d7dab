"""The life of an agent's permission request, shared by every hook adapter.

An adapter turns its agent's hook into calls of these services and turns the result back into
its agent's answer format; nothing here knows any agent's wire format, and nothing here
predicts: the prediction is ``predictions.services.prediction_create``'s, the feedback
``prediction_feedback``'s.

A request goes ``seen`` (the agent announced the tool call) -> ``asked`` (it is a question for
the person; the ``agent_prompt`` is recorded and predicted) -> ``decided`` (the prediction was
automatic and mapped to allow/deny) or stays ``asked`` (the person decides) -> ``answered`` (the
person's ``yes``/``no`` is recorded as a ``user_reply`` and judged against the prediction) or
``closed`` (settled with no reply of the person's).

Safety: the state is ``asked`` before any prediction is made, so an error, a timeout or a crash
anywhere after the prompt is recorded leaves the person being asked. Only an ``auto``
prediction whose answer reads as a plain yes or no is ever turned into allow/deny.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, TypedDict

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from clone_server.text import canonical
from predictions import services
from predictions.integrations.settings import threshold_for
from predictions.models import AgentRequest, AgentRequestState, Prediction, PredictionStatus
from recording.services import event_ingest

logger = logging.getLogger(__name__)

ALLOW = "allow"
DENY = "deny"
OPTIONS = ["yes", "no"]
_YES = {"yes", "y", "allow", "approve", "approved", "ok", "okay", "sure", "go ahead", "yes please"}
_NO = {"no", "n", "deny", "denied", "reject", "rejected", "refuse", "dont", "do not", "no thanks"}

# Model calls that outlive the hook's deadline finish here and link their Prediction later.
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="clone-hook")
_pool_lock = threading.Lock()


class RequestScope(TypedDict):
    """The arguments that place a request (every service here takes them): whose, which agent,
    which session."""

    user: User
    agent: str
    session_key: str


@dataclass(frozen=True)
class Verdict:
    """What Clone answers the agent: ``decision`` allow/deny, or None to let the person decide."""

    decision: str | None
    reason: str
    request: AgentRequest | None = None


def digest(*parts: Any) -> str:
    """A short stable hash of JSON-able parts (ids derived from hook fields)."""
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def fingerprint(tool: dict[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(
            [tool.get("name"), tool.get("input")],
            sort_keys=True,
            separators=(",", ":"),
            default=str,
        ).encode("utf-8")
    ).hexdigest()


def recording_session(agent: str, session_key: str) -> str:
    return f"{agent}:{session_key}"[:128]


def _now_iso() -> str:
    return timezone.now().isoformat().replace("+00:00", "Z")


def decision_for(text: str) -> str | None:
    """allow/deny for a reply that plainly says yes or no; None for anything else."""
    said = canonical(text)
    if said in _YES:
        return ALLOW
    if said in _NO:
        return DENY
    return None


def _reason(prediction: Prediction) -> str:
    top = prediction.candidates[0] if prediction.candidates else {}
    why = str(top.get("reasoning") or "").strip() or "your past answers"
    return f"Clone: {why} ({prediction.confidence:.2f})"


# --- Announce ------------------------------------------------------------------------------


def request_announce(
    *,
    user: User,
    agent: str,
    session_key: str,
    tool_use_id: str,
    turn_key: str,
    tool: dict[str, Any],
) -> AgentRequest:
    """Note that the agent is about to call a tool (idempotent on the tool call's id)."""
    prompt_event_id = f"{agent}-{digest(session_key, tool_use_id)}"
    request, _ = _request_get_or_create(
        user=user,
        prompt_event_id=prompt_event_id,
        defaults={
            "agent": agent,
            "session_key": session_key,
            "tool_use_id": tool_use_id,
            "turn_key": turn_key,
            "fingerprint": fingerprint(tool),
            "tool": tool,
        },
    )
    return request


def _request_get_or_create(
    *, user: User, prompt_event_id: str, defaults: dict[str, Any]
) -> tuple[AgentRequest, bool]:
    try:
        with transaction.atomic():
            return AgentRequest.objects.get_or_create(
                user=user, prompt_event_id=prompt_event_id, defaults=defaults
            )
    except IntegrityError:  # the same hook, retried concurrently
        return AgentRequest.objects.get(user=user, prompt_event_id=prompt_event_id), False


def _request_find(
    *,
    user: User,
    agent: str,
    session_key: str,
    tool_use_id: str,
    tool: dict,
    turn_key: str | None = None,
    open_only: bool = False,
) -> AgentRequest | None:
    """The request a later event names: by the tool call's id, else the newest with the same
    tool and input (in the same turn, when given; still open, when ``open_only``)."""
    requests = AgentRequest.objects.filter(user=user, agent=agent, session_key=session_key)
    if tool_use_id:
        found = requests.filter(tool_use_id=tool_use_id).first()
        if found is not None:
            return found
    requests = requests.filter(fingerprint=fingerprint(tool))
    if turn_key is not None:
        requests = requests.filter(turn_key=turn_key)
    if open_only:
        requests = requests.exclude(
            state__in=[AgentRequestState.ANSWERED, AgentRequestState.CLOSED]
        )
    return requests.order_by("-id").first()


# --- Ask -----------------------------------------------------------------------------------


def request_ask(
    *,
    user: User,
    agent: str,
    session_key: str,
    turn_key: str,
    tool_use_id: str,
    tool: dict[str, Any],
    text: str,
    cwd: str = "",
    context: str = "",
    options: list[str] | None = None,
    shown: bool = True,
    started: float | None = None,
) -> Verdict:
    """The agent asks permission: record the question once, predict once, decide.

    Idempotent: a retried hook (the same fields) finds its request and gets the same answer
    without recording or predicting anything again. The answer is allow/deny only when the
    prediction is ``auto`` and its reply is a plain yes/no; otherwise (escalated, an error, a
    model slower than ``CLONE_HOOK_DEADLINE_MS``) it is no decision, and the person is asked.
    The deadline counts from ``started`` (``time.monotonic()`` when the hook arrived; default:
    this call), recording included. No row lock is held while the model is asked: a hook of the
    same session never waits for another request's model call.
    """
    started = time.monotonic() if started is None else started
    request = _request_find(
        user=user,
        agent=agent,
        session_key=session_key,
        tool_use_id=tool_use_id,
        tool=tool,
        turn_key=turn_key,
        open_only=True,
    )
    if request is None:
        # Settled already in this turn with no new announcement: the same hook, sent again.
        settled = _request_find(
            user=user,
            agent=agent,
            session_key=session_key,
            tool_use_id="",
            tool=tool,
            turn_key=turn_key,
        )
        if settled is not None:
            return _verdict_of(settled)
        request, _ = _request_get_or_create(
            user=user,
            prompt_event_id=f"{agent}-{digest(session_key, turn_key, fingerprint(tool))}",
            defaults={
                "agent": agent,
                "session_key": session_key,
                "tool_use_id": tool_use_id,
                "turn_key": turn_key,
                "fingerprint": fingerprint(tool),
                "tool": tool,
            },
        )
    if not _prompt_record(
        user=user,
        request=request,
        text=text,
        cwd=cwd,
        context=context,
        options=options or OPTIONS,
        shown=shown,
    ):
        return _verdict_of(request)

    prediction = _predict_within_deadline(
        user=user,
        request=request,
        text=text,
        options=options or OPTIONS,
        context=context,
        cwd=cwd,
        started=started,
    )
    if prediction is None:
        return Verdict(None, "Clone: no prediction in time; asking you.", request)
    return _decide(request=request, prediction=prediction)


@transaction.atomic
def _prompt_record(
    *,
    user: User,
    request: AgentRequest,
    text: str,
    cwd: str,
    context: str,
    options: list[str],
    shown: bool = True,
) -> bool:
    """Record the request's ``agent_prompt`` and mark it asked; False if it already was."""
    locked = AgentRequest.objects.select_for_update().get(pk=request.pk)
    if locked.prompt_recorded or locked.state != AgentRequestState.SEEN:
        return False
    payload: dict[str, Any] = {
        "agent": locked.agent,
        "text": text[:100_000],
        "tool": locked.tool,
        "options": options,
    }
    if cwd:
        payload["cwd"] = cwd[:4096]
    if context:
        payload["context"] = context[:4000]
    event_ingest(
        user=user,
        events=[
            {
                "id": locked.prompt_event_id,
                "session_id": recording_session(locked.agent, locked.session_key),
                "kind": "agent_prompt",
                "occurred_at": _now_iso(),
                "source": locked.agent,
                "payload": payload,
            }
        ],
    )
    locked.prompt_recorded = True
    locked.state = AgentRequestState.ASKED
    locked.shown = shown
    locked.save(update_fields=["prompt_recorded", "state", "shown"])
    request.prompt_recorded, request.state = True, locked.state
    return True


def _predict(
    *,
    user: User,
    request_id: int,
    agent: str,
    text: str,
    tool: dict[str, Any],
    options: list[str],
    context: str,
    cwd: str,
) -> Prediction:
    request = AgentRequest.objects.get(pk=request_id)
    prediction = services.prediction_create(
        user=user,
        agent=agent,
        agent_input=text,
        threshold=threshold_for(user=user, agent=agent),
        tool=tool or None,
        options=options,
        context=context or None,
        cwd=cwd,
        prompt_event_id=request.prompt_event_id,
    )
    _prediction_link(user=user, request_id=request_id, prediction=prediction)
    return prediction


@transaction.atomic
def _prediction_link(*, user: User, request_id: int, prediction: Prediction) -> None:
    """Link the request's prediction (once). A prediction that arrives after the person's reply
    was recorded (a model slower than the hook's deadline) is judged by that reply now."""
    locked = AgentRequest.objects.select_for_update().get(pk=request_id)
    if locked.prediction_id is not None:
        return
    locked.prediction = prediction
    locked.save(update_fields=["prediction"])
    if locked.state == AgentRequestState.ANSWERED and locked.reply:
        services.prediction_answer(
            user=user,
            prediction_id=prediction.pk,
            reply=locked.reply,
            reply_event=_reply_event(request=locked, reply=locked.reply),
        )


def _predict_in_thread(**kwargs: Any) -> Prediction:
    try:
        return _predict(**kwargs)
    finally:
        connections.close_all()


def _predict_within_deadline(
    *,
    user: User,
    request: AgentRequest,
    text: str,
    options: list[str],
    context: str,
    cwd: str,
    started: float,
) -> Prediction | None:
    """The prediction, or None when it failed or the model was slower than the deadline."""
    kwargs = {
        "user": user,
        "request_id": request.pk,
        "agent": request.agent,
        "text": text,
        "tool": request.tool,
        "options": options,
        "context": context,
        "cwd": cwd,
    }
    try:
        if settings.CLONE_LLM_PROVIDER == "local":
            return _predict(**kwargs)
        deadline_s = settings.CLONE_HOOK_DEADLINE_MS / 1000
        with _pool_lock:
            future = _pool.submit(_predict_in_thread, **kwargs)
        try:
            return future.result(timeout=max(0.01, deadline_s - (time.monotonic() - started)))
        except FutureTimeout:
            logger.info(
                "hook prediction for request %s passed the %.0f ms deadline after %.0f ms",
                request.pk,
                deadline_s * 1000,
                (time.monotonic() - started) * 1000,
            )
            return None
    except Exception:  # fail safe: any failure means the person is asked
        logger.exception("hook prediction failed for request %s", request.pk)
        return None


@transaction.atomic
def _decide(*, request: AgentRequest, prediction: Prediction) -> Verdict:
    locked = AgentRequest.objects.select_for_update().get(pk=request.pk)
    if locked.prediction_id is None:
        locked.prediction = prediction
    decision = None
    if prediction.status == PredictionStatus.AUTO and prediction.candidates:
        decision = decision_for(str(prediction.candidates[0].get("text") or ""))
    if decision is not None and locked.state == AgentRequestState.ASKED:
        locked.state = AgentRequestState.DECIDED
        locked.decision = decision
    locked.save(update_fields=["prediction", "state", "decision"])
    return _verdict_of(locked, prediction=prediction)


def _verdict_of(request: AgentRequest, prediction: Prediction | None = None) -> Verdict:
    if request.state == AgentRequestState.DECIDED and request.decision in (ALLOW, DENY):
        prediction = prediction or request.prediction
        reason = _reason(prediction) if prediction is not None else "Clone"
        return Verdict(request.decision, reason, request)
    if prediction is not None:
        return Verdict(
            None, f"Clone is not sure ({prediction.confidence:.2f}); asking you.", request
        )
    return Verdict(None, "Clone: asking you.", request)


# --- Outcomes ------------------------------------------------------------------------------


def request_ran(
    *, user: User, agent: str, session_key: str, tool_use_id: str, tool: dict
) -> AgentRequest | None:
    """The tool ran. For a request the person was asked about, that is their "yes"."""
    request = _request_find(
        user=user,
        agent=agent,
        session_key=session_key,
        tool_use_id=tool_use_id,
        tool=tool,
        open_only=True,
    )
    if request is None:
        return None
    if request.state == AgentRequestState.ASKED and request.shown:
        _reply_record(user=user, request_id=request.pk, reply="yes")
    elif request.state in (AgentRequestState.SEEN, AgentRequestState.ASKED):
        _close(request_id=request.pk)  # the agent's own rules allowed it: nobody was asked
    request.refresh_from_db()
    return request


def requests_settle(
    *,
    user: User,
    agent: str,
    session_key: str,
    keep_turn: str | None = None,
    next_prompt: str = "",
) -> int:
    """Settle the session's open requests: one the person was asked about that never ran was
    refused ("no", with their next prompt as context when given); one only announced is closed.
    With ``keep_turn``, requests of that turn stay open (parallel calls may still run). A
    request another hook is settling at this moment is left to it (no waiting on its row).
    Returns how many "no" replies were recorded."""
    open_requests = AgentRequest.objects.filter(
        user=user,
        agent=agent,
        session_key=session_key,
        state__in=[AgentRequestState.SEEN, AgentRequestState.ASKED],
    ).order_by("id")
    if keep_turn is not None:
        open_requests = open_requests.exclude(turn_key=keep_turn)
    refused = 0
    for request in open_requests:
        if request.state == AgentRequestState.ASKED and request.shown:
            refused += _reply_record(
                user=user, request_id=request.pk, reply="no", context=next_prompt, skip_locked=True
            )
        else:
            _close(request_id=request.pk)
    return refused


def request_shown(
    *, user: User, agent: str, session_key: str, tool: dict | None = None
) -> AgentRequest | None:
    """The agent says its dialog opened (for ``tool``, else its newest open question): the
    request's outcome is the person's."""
    requests = AgentRequest.objects.filter(
        user=user,
        agent=agent,
        session_key=session_key,
        state=AgentRequestState.ASKED,
        shown=False,
    )
    if tool is not None:
        requests = requests.filter(fingerprint=fingerprint(tool))
    request = requests.order_by("-id").first()
    if request is not None:
        AgentRequest.objects.filter(pk=request.pk).update(shown=True)
        request.shown = True
    return request


def _close(*, request_id: int) -> None:
    AgentRequest.objects.filter(
        pk=request_id, state__in=[AgentRequestState.SEEN, AgentRequestState.ASKED]
    ).update(state=AgentRequestState.CLOSED, settled_at=timezone.now())


def _reply_event(*, request: AgentRequest, reply: str, context: str = "") -> dict[str, Any]:
    """The person's reply as a ``user_reply`` CloneEvent, its id derived from the request's
    prompt (as the transcript import derives it), so it is stored once however it arrives."""
    payload: dict[str, Any] = {
        "text": reply,
        "choice": reply,
        "in_reply_to": request.prompt_event_id,
    }
    if context:
        payload["context"] = context[:4000]
    return {
        "id": f"{request.prompt_event_id}-reply",
        "session_id": recording_session(request.agent, request.session_key),
        "kind": "user_reply",
        "occurred_at": _now_iso(),
        "source": request.agent,
        "payload": payload,
    }


@transaction.atomic
def _reply_record(
    *,
    user: User,
    request_id: int,
    reply: str,
    context: str = "",
    skip_locked: bool = False,
) -> int:
    """Record the person's reply to an asked request, once. With a prediction, through the
    answer service (``prediction_answer``: the reply judged against it as feedback,
    ``answered_by`` the person); without one yet, as the event alone (the prediction, when it
    comes, is judged by it). With ``skip_locked``, a request whose row another request holds
    is left alone (0)."""
    request = (
        AgentRequest.objects.select_for_update(skip_locked=skip_locked)
        .filter(pk=request_id)
        .first()
    )
    if request is None or request.state != AgentRequestState.ASKED:
        return 0
    event = _reply_event(request=request, reply=reply, context=context)
    if request.prediction_id is not None:
        services.prediction_answer(
            user=user, prediction_id=request.prediction_id, reply=reply, reply_event=event
        )
    else:
        event_ingest(user=user, events=[event])
    request.state = AgentRequestState.ANSWERED
    request.reply = reply
    request.settled_at = timezone.now()
    request.save(update_fields=["state", "reply", "settled_at"])
    return 1
