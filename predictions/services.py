"""Writes of the Prediction layer: predict, batch predict, feedback."""

import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connections, transaction
from django.utils import timezone
from rest_framework.exceptions import NotFound, ValidationError

from clone_server import llm
from clone_server.errors import ApiError
from memories import decay
from memories.person_settings import PersonSettings
from memories.selectors import (
    answered_prompts_recent,
    context_bundle,
    relevant_replies,
)
from memories.services import profile_calibration_set
from predictions import confidence as gate
from predictions import local, prompts, selectors
from predictions.calibration import Calibration, platt_fit
from predictions.judge import Verdict, judge
from predictions.models import AnsweredBy, Outcome, Prediction, PredictionStatus
from predictions.structured import (
    SESSION_MINUTES,
    parse_time,
    similar_decisions,
    structured_predict,
)
from recording.models import Event, EventKind
from recording.services import event_ingest

LOCAL_MODEL = "local"
# The recording session of answers to predictions that came from no recorded prompt.
ANSWERS_SESSION = "clone-answers"


@dataclass(frozen=True)
class PredictItem:
    """One question as an agent asked it: the typed request every provider receives.

    Beyond ``agent`` and ``agent_input`` (the question's text), all optional: ``tool``
    (``{"name": "Bash", "input": {...}}``, the action asked for), ``options`` (the choices
    offered), ``cwd``, ``context`` (what the agent was doing), ``prompt_event_id`` and
    ``session_id`` (the producer's ids of the agent_prompt event it was recorded as, and of
    its session, when it came from one)."""

    agent: str
    agent_input: str
    # None: the person's threshold for this agent, else ``confidence.DEFAULT_THRESHOLD``.
    threshold: float | None = None
    k: int = 3
    tool: dict[str, Any] | None = None
    options: list[str] | None = None
    context: str | None = None
    cwd: str = ""
    prompt_event_id: str | None = None
    session_id: str | None = None


@dataclass
class Answer:
    """What a provider answered: candidates best first, with raw confidences."""

    candidates: list[dict[str, Any]]
    model: str
    usage: dict[str, int] = field(default_factory=dict)
    latency_ms: int = 0
    # Matched a never-auto pattern: escalated whatever the confidence.
    never_auto: str | None = None


def _prompt_events(*, user: User, items: list[PredictItem]) -> dict[str, Event]:
    """The user's agent_prompt events the items name, by producer id (one query, none when no
    item names one); an id that is not one of them is a 400 on that item's field."""
    wanted = {i.prompt_event_id for i in items if i.prompt_event_id}
    if not wanted:
        return {}
    found = {
        e.event_id: e
        for e in Event.objects.filter(
            user=user, event_id__in=wanted, kind=EventKind.AGENT_PROMPT
        ).select_related("session")
    }
    problems = {
        index: {"prompt_event_id": ["No agent_prompt event of yours has this id."]}
        for index, item in enumerate(items)
        if item.prompt_event_id and item.prompt_event_id not in found
    }
    if problems:
        if len(items) == 1 and 0 in problems:
            raise ValidationError(problems[0])
        raise ValidationError({"items": [problems.get(i, {}) for i in range(len(items))]})
    return found


def _linked(item: PredictItem, events: dict[str, Event]) -> tuple[PredictItem, Event | None]:
    """``item`` with the session of its prompt event filled in, and that event."""
    event = events.get(item.prompt_event_id or "")
    if event is None:
        return item, None
    return replace(item, session_id=event.session.external_id), event


def _model_for_request(model: str | None) -> str:
    """The model that will answer, checked before any work: the allow-list whatever the provider
    (a bad name never passes silently), and the API key when the provider is Anthropic."""
    resolved = llm.resolve_model(model)
    if llm.active_provider() == "local":
        return LOCAL_MODEL
    llm.require_api_key()
    return resolved


def _relevant_limit(model: str) -> int | None:
    """The local provider weighs a wide pool of neighbours itself; a model gets Memory's default."""
    return settings.CLONE_LOCAL_NEIGHBOURS if model == LOCAL_MODEL else None


# The session context a model sees: at most this many of the person's newest decisions.
SESSION_DECISIONS_READ = 50


def _session_decisions(*, decisions: list[dict], now: datetime | None) -> list[dict]:
    """The person's answers of the last ``SESSION_MINUTES`` (decisions are newest first)."""
    anchor = now or timezone.now()
    recent = []
    for decision in decisions[:SESSION_DECISIONS_READ]:
        when = parse_time(decision.get("occurred_at"))
        if when is None or not 0 <= (anchor - when).total_seconds() <= SESSION_MINUTES * 60:
            continue
        recent.append(decision)
    return recent[:10]


def _answer_with_model(
    *,
    relevant: Callable[[], list[dict]],
    item: PredictItem,
    model: str,
    shared: str,
    deadline: float | None = None,
    decisions: list[dict] | None = None,
    now: datetime | None = None,
) -> Answer:
    history = decisions or []
    similar = (
        similar_decisions(agent=item.agent, text=item.agent_input, tool=item.tool, history=history)
        if item.tool or item.options
        else []
    )
    # As for the local provider: a request with a tool or options is answered from the person's
    # decisions on like requests; the replies to similarly worded prompts (a query of their own)
    # only when none bears on it.
    neighbours = [] if similar else relevant()
    result = llm.structured_call(
        system=prompts.SYSTEM_PROMPT,
        cached_context=shared,
        messages=[
            {
                "role": "user",
                "content": prompts.question_message(
                    agent=item.agent,
                    agent_input=item.agent_input,
                    relevant=neighbours,
                    k=item.k,
                    tool=item.tool,
                    options=item.options,
                    context=item.context,
                    decisions=similar,
                    session=_session_decisions(decisions=history, now=now),
                ),
            }
        ],
        schema=prompts.ANSWER_SCHEMA,
        tool_name="predict_replies",
        tool_description="Return the person's most likely replies, best first.",
        model=model,
        deadline=deadline,
    )
    candidates = [
        {
            "text": c["text"],
            "reasoning": c["reasoning"],
            "raw_confidence": float(c["confidence"]),
            "cited_facts": list(c["cited_facts"]),
        }
        for c in result.data["candidates"][: item.k]
    ]
    return Answer(candidates, result.model, result.usage.as_dict(), result.latency_ms)


def _answer_structured(
    *, item: PredictItem, decisions: list[dict], now: datetime | None
) -> list[dict[str, Any]]:
    """Candidates from the person's past decisions on this kind of request (``structured``),
    each with its evidence cap; empty when the request carries neither a tool nor options (a free
    question: the text predictor's), or nothing bears on it."""
    if not item.tool and not item.options:
        return []
    found = structured_predict(
        agent=item.agent,
        text=item.agent_input,
        tool=item.tool,
        options=item.options,
        history=decisions,
        now=now or timezone.now(),
        k=item.k,
    )
    return [
        {
            "text": c.text,
            "reasoning": c.reasoning,
            "raw_confidence": float(c.confidence),
            "cited_facts": [],
            "evidence_cap": float(c.evidence_cap),
        }
        for c in found
    ]


def _answer_locally(
    *,
    bundle: dict[str, Any],
    relevant: Callable[[], list[dict]],
    item: PredictItem,
    now: datetime | None,
    decisions: list[dict] | None = None,
) -> Answer:
    started = time.perf_counter()
    structured = _answer_structured(item=item, decisions=decisions or [], now=now)
    if structured:
        latency = int((time.perf_counter() - started) * 1000)
        return Answer(structured, LOCAL_MODEL, {"input_tokens": 0, "output_tokens": 0}, latency)
    found = local.replies_predict(
        agent=item.agent,
        agent_input=item.agent_input,
        relevant=relevant(),
        facts=bundle["facts"],
        k=item.k,
        now=now,
    )
    candidates = [
        {
            "text": c.text,
            "reasoning": c.reasoning,
            "raw_confidence": float(c.confidence),
            "cited_facts": list(c.cited_facts),
        }
        for c in found
    ]
    latency = int((time.perf_counter() - started) * 1000)
    return Answer(candidates, LOCAL_MODEL, {"input_tokens": 0, "output_tokens": 0}, latency)


def _answer(
    *,
    bundle: dict[str, Any],
    relevant: Callable[[], list[dict]],
    item: PredictItem,
    model: str,
    shared: str,
    deadline: float | None = None,
    now: datetime | None = None,
    decisions: list[dict] | None = None,
    rules: PersonSettings,
) -> Answer:
    never = gate.never_auto_match(patterns=rules.never_auto, text=item.agent_input, tool=item.tool)
    if model == LOCAL_MODEL:
        answer = _answer_locally(
            bundle=bundle, relevant=relevant, item=item, now=now, decisions=decisions
        )
        answer.never_auto = never
        return answer
    if never:
        # Checked before any model is asked: the person decides, and no tokens are spent.
        return Answer([], model, {"input_tokens": 0, "output_tokens": 0}, 0, never_auto=never)
    return _answer_with_model(
        relevant=relevant,
        item=item,
        model=model,
        shared=shared,
        deadline=deadline,
        decisions=decisions,
        now=now,
    )


def _with_threshold(item: PredictItem, rules: PersonSettings) -> PredictItem:
    """``item`` with the threshold that applies: its own, else the person's for its agent,
    else the default."""
    if item.threshold is not None:
        return item
    return replace(item, threshold=rules.threshold_for(item.agent, gate.DEFAULT_THRESHOLD))


def _decisions_limit(*, items: list[PredictItem], rules: PersonSettings) -> int:
    """How many of the person's newest decisions a predict reads: all the structured predictor
    weighs (``CLONE_LOCAL_DECISIONS``, 300) when a request carries a tool or options; for free
    questions, the session context and enough to count toward the label minimum (so that
    :func:`_labels_known` decides as it would on all of them)."""
    wide = int(getattr(settings, "CLONE_LOCAL_DECISIONS", 300))
    if any(item.tool or item.options for item in items):
        return wide
    return min(wide, max(SESSION_DECISIONS_READ, rules.min_labels_for_auto))


def _relevant_on_demand(*, user: User, item: PredictItem, model: str) -> Callable[[], list[dict]]:
    """The item's relevant past replies, read on first use and once: either provider answers a
    request with a tool or options from the person's decisions and reads no neighbours unless
    those say nothing (one query fewer on the common path)."""
    return cache(
        lambda: relevant_replies(
            user=user, agent_inputs=[item.agent_input], limit=_relevant_limit(model)
        )[0]
    )


def _prediction_build(
    *,
    user: User,
    item: PredictItem,
    answer: Answer,
    calibration: Calibration,
    known_fact_ids: set[int],
    labels: int = 0,
    min_labels: int,
    prompt_event: Event | None = None,
) -> Prediction:
    """Calibrate every candidate (shrunk toward the prior on few labels, capped at its evidence),
    rank by calibrated confidence, decide auto vs escalated and why (``predictions.confidence``).
    ``labels``: how many labelled answers the person has (imported history counts);
    ``min_labels``: how many the person needs before anything is automatic. ``item`` carries
    the threshold that applies (:func:`_with_threshold`)."""
    threshold = gate.DEFAULT_THRESHOLD if item.threshold is None else item.threshold
    candidates = []
    uncapped_top = None
    for candidate in answer.candidates:
        raw = min(1.0, max(0.0, candidate["raw_confidence"]))
        cap = candidate.get("evidence_cap")
        calibrated = gate.calibrated(calibration=calibration, raw=raw, cap=cap)
        uncapped = gate.calibrated(calibration=calibration, raw=raw)
        candidates.append(
            {
                "text": candidate["text"],
                "reasoning": candidate["reasoning"],
                "confidence": calibrated,
                "raw_confidence": raw,
                "_uncapped": uncapped,
                # Ids the provider made up, or another user's, are dropped, never trusted.
                "cited_facts": [
                    i for i in dict.fromkeys(candidate["cited_facts"]) if i in known_fact_ids
                ],
            }
        )
    # Stable: equal calibrated confidences keep the provider's order (then raw as tie-break).
    candidates.sort(key=lambda c: (-c["confidence"], -c["raw_confidence"]))
    for candidate in candidates:
        uncapped = candidate.pop("_uncapped")
        if uncapped_top is None:
            uncapped_top = uncapped
    top = candidates[0] if candidates else None
    confidence = top["confidence"] if top else 0.0
    decision = gate.auto_decision(
        has_candidate=top is not None,
        confidence=confidence,
        threshold=threshold,
        labels=labels,
        min_labels=min_labels,
        uncapped=uncapped_top,
        never_auto=answer.never_auto,
    )
    automatic = decision.status == gate.AUTO
    prediction = Prediction(
        user=user,
        agent=item.agent,
        agent_input=item.agent_input,
        tool=None if item.tool is None else {**item.tool, "input": item.tool.get("input") or {}},
        options=item.options,
        cwd=item.cwd,
        context=item.context or "",
        prompt_event=prompt_event,
        answered_by=AnsweredBy.CLONE if automatic else "",
        answered_at=timezone.now() if automatic else None,
        threshold=threshold,
        k=item.k,
        status=PredictionStatus.AUTO
        if decision.status == gate.AUTO
        else PredictionStatus.ESCALATED,
        confidence=confidence,
        raw_confidence=top["raw_confidence"] if top else 0.0,
        candidates=candidates,
        cited_facts=top["cited_facts"] if top else [],
        model=answer.model,
        usage=answer.usage,
        latency_ms=answer.latency_ms,
    )
    prediction.escalation_reason = decision.reason or ""
    return prediction


def _audit(predictions: list[Prediction], *, rate: float) -> None:
    """Escalate the audit sample (a share ``rate``, the person's audit rate) of the automatic
    answers just stored, so that the precision of automatic answers stays measured on answers
    the person gave."""
    sampled = [
        p
        for p in predictions
        if p.pk is not None
        and p.status == PredictionStatus.AUTO
        and gate.audit_selected(prediction_id=p.pk, rate=rate)
    ]
    for prediction in sampled:
        prediction.status = PredictionStatus.ESCALATED
        prediction.escalation_reason = gate.AUDIT
        prediction.answered_by, prediction.answered_at = "", None
    if sampled:
        # One UPDATE (no transaction of its own): an audited prediction costs one query more.
        Prediction.objects.filter(pk__in=[p.pk for p in sampled]).update(
            status=PredictionStatus.ESCALATED,
            escalation_reason=gate.AUDIT,
            answered_by="",
            answered_at=None,
        )


def _labels_known(*, decisions: list[dict], labelled: int) -> int:
    """How many labelled answers the person has, as far as the label minimum is concerned:
    labelled predictions (``labelled``, counted up to the minimum), or answered prompts in
    memory (imported history), whichever is more."""
    return max(len(decisions), labelled)


def prediction_create(
    *,
    user: User,
    agent: str,
    agent_input: str,
    threshold: float | None = None,
    k: int = 3,
    model: str | None = None,
    now: datetime | None = None,
    tool: dict[str, Any] | None = None,
    options: list[str] | None = None,
    context: str | None = None,
    cwd: str = "",
    prompt_event_id: str | None = None,
) -> Prediction:
    """Predict the user's reply to one agent prompt and store it.

    ``tool``, ``options``, ``cwd`` and ``context`` are the request's structure (stored as
    given); ``prompt_event_id`` links the prediction to the user's agent_prompt event it
    answers (a 400 when there is no such event).

    With a ``tool`` (and ``options``), the local provider predicts from the person's past
    decisions on the same kind of request (``predictions.structured``). Automatic only as
    ``predictions.confidence`` allows (threshold, labels, never-auto, audit sample); otherwise
    escalated with the reason. Those rules are the person's own settings
    (``predictions.selectors.answering_rules``, read once), the server's where they set none;
    ``threshold`` None means the person's threshold for ``agent``, else 0.8.

    The provider is called outside any transaction; the row is written only once the answer is
    complete, so a provider failure leaves nothing behind. ``now`` is the moment the question is
    asked (default: the present); a replay of past events passes the prompt's own time.
    """
    resolved = _model_for_request(model)
    item = PredictItem(
        agent=agent,
        agent_input=agent_input,
        threshold=threshold,
        k=k,
        tool=tool,
        options=options,
        context=context,
        cwd=cwd,
        prompt_event_id=prompt_event_id,
    )
    rules, labelled = selectors.answering_rules(user=user)
    item = _with_threshold(item, rules)
    item, prompt_event = _linked(item, _prompt_events(user=user, items=[item]))
    bundle = context_bundle(user=user)
    decisions = answered_prompts_recent(
        user=user, limit=_decisions_limit(items=[item], rules=rules)
    )
    calibration = Calibration.from_dict(bundle["profile"]["calibration"])
    shared = "" if resolved == LOCAL_MODEL else prompts.shared_context(bundle)
    answer = _answer(
        bundle=bundle,
        relevant=_relevant_on_demand(user=user, item=item, model=resolved),
        item=item,
        model=resolved,
        shared=shared,
        now=now,
        decisions=decisions,
        rules=rules,
    )
    prediction = _prediction_build(
        user=user,
        item=item,
        answer=answer,
        calibration=calibration,
        known_fact_ids={f["id"] for f in bundle["facts"]},
        labels=_labels_known(decisions=decisions, labelled=labelled),
        min_labels=rules.min_labels_for_auto,
        prompt_event=prompt_event,
    )
    prediction.save()
    _audit([prediction], rate=rules.audit_rate)
    return prediction


def _in_worker(fn, /, **kwargs):
    """Run in a pool thread; such threads must never keep a database connection open."""
    try:
        return fn(**kwargs)
    except ApiError as exc:
        return exc
    finally:
        connections.close_all()


def prediction_batch_create(
    *, user: User, items: list[PredictItem], model: str | None = None
) -> list[Prediction | ApiError]:
    """Predict up to 100 prompts that share one context bundle.

    The bundle (and every item's relevant past replies) is read once, with a number of queries
    that does not depend on ``len(items)``; model calls run concurrently in a bounded pool with
    the shared context marked for prompt caching. Results are in item order; an item whose call
    failed is its error (not raised), the others are stored predictions. ``llm_not_configured`` and
    ``unsupported_model`` fail the whole request. The person's settings are read once for the
    whole batch and apply to every item as in :func:`prediction_create`.
    """
    resolved = _model_for_request(model)
    rules, labelled = selectors.answering_rules(user=user)
    items = [_with_threshold(item, rules) for item in items]
    prompt_events = _prompt_events(user=user, items=items)
    linked = [_linked(item, prompt_events) for item in items]
    items = [item for item, _ in linked]
    bundle = context_bundle(user=user, agent_input=None)
    decisions = answered_prompts_recent(user=user, limit=_decisions_limit(items=items, rules=rules))
    labels = _labels_known(decisions=decisions, labelled=labelled)
    relevant_per_item = relevant_replies(
        user=user, agent_inputs=[i.agent_input for i in items], limit=_relevant_limit(resolved)
    )
    calibration = Calibration.from_dict(bundle["profile"]["calibration"])
    known_fact_ids = {f["id"] for f in bundle["facts"]}
    shared = "" if resolved == LOCAL_MODEL else prompts.shared_context(bundle)
    # One time budget for the whole batch, so it ends inside the server's worker timeout; an
    # item that runs out of time fails alone as llm_timeout.
    deadline = time.monotonic() + llm.call_budget_s()

    def answer_one(index: int) -> Answer:
        return _answer(
            bundle=bundle,
            relevant=lambda: relevant_per_item[index],
            item=items[index],
            model=resolved,
            shared=shared,
            deadline=deadline,
            decisions=decisions,
            rules=rules,
        )

    if resolved == LOCAL_MODEL:
        answers: list[Answer | ApiError] = [answer_one(i) for i in range(len(items))]
    else:
        workers = max(1, min(settings.CLONE_BATCH_CONCURRENCY, len(items)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="clone-batch") as pool:
            answers = list(pool.map(lambda i: _in_worker(answer_one, index=i), range(len(items))))

    to_store: list[Prediction] = []
    results: list[Prediction | ApiError] = []
    for (item, prompt_event), answer in zip(linked, answers, strict=True):
        if isinstance(answer, ApiError):
            results.append(answer)
            continue
        prediction = _prediction_build(
            user=user,
            item=item,
            answer=answer,
            calibration=calibration,
            known_fact_ids=known_fact_ids,
            labels=labels,
            min_labels=rules.min_labels_for_auto,
            prompt_event=prompt_event,
        )
        to_store.append(prediction)
        results.append(prediction)
    Prediction.objects.bulk_create(to_store)
    _audit(to_store, rate=rules.audit_rate)
    return results


@transaction.atomic
def prediction_feedback(
    *, user: User, prediction_id: int, outcome: str, actual_reply: str = ""
) -> Prediction:
    """Record the person's verdict on a prediction and let Memory's decay learn from it.

    Flip-aware and idempotent: the row is locked, the previous outcome's importance change is taken
    back exactly and the new one applied; the same outcome again changes no importance.
    Concurrent posts on one prediction serialise on the row lock, so none is applied twice.
    """
    prediction = Prediction.objects.select_for_update().filter(user=user, pk=prediction_id).first()
    if prediction is None:
        raise NotFound("No such prediction.")
    if outcome != prediction.outcome:
        prediction.decay_applied = decay.apply_outcome(
            user=user,
            fact_ids=list(prediction.cited_facts),
            previous=prediction.outcome,
            outcome=outcome,
            applied=prediction.decay_applied or None,
        )
        prediction.outcome = outcome
    if actual_reply or outcome == Outcome.ACCEPTED:
        prediction.actual_reply = actual_reply
    prediction.feedback_at = timezone.now()
    fields = ["outcome", "actual_reply", "feedback_at", "decay_applied"]
    if prediction.status == PredictionStatus.ESCALATED:
        # The person's verdict on a question Clone escalated is their answer to it.
        prediction.answered_by = AnsweredBy.PERSON
        prediction.answered_at = prediction.feedback_at
        fields += ["answered_by", "answered_at"]
    prediction.save(update_fields=fields)
    return prediction


def _prompt_event_for(prediction: Prediction) -> dict[str, Any]:
    """An agent_prompt CloneEvent standing for a prediction that came from none, so the person's
    answer has a prompt to reply to in Memory. Its id derives from the prediction: answering
    again reuses it."""
    payload: dict[str, Any] = {"agent": prediction.agent, "text": prediction.agent_input}
    if prediction.tool is not None:
        payload["tool"] = prediction.tool
    if prediction.options is not None:
        payload["options"] = prediction.options
    if prediction.cwd:
        payload["cwd"] = prediction.cwd
    if prediction.context:
        payload["context"] = prediction.context
    return {
        "id": f"clone-prediction-{prediction.pk}",
        "session_id": ANSWERS_SESSION,
        "kind": EventKind.AGENT_PROMPT,
        "occurred_at": prediction.created_at.isoformat(),
        "source": "clone",
        "payload": payload,
    }


@transaction.atomic
def prediction_answer(
    *, user: User, prediction_id: int, reply: str, reply_event: dict[str, Any] | None = None
) -> tuple[Prediction, Verdict]:
    """Record the person's actual reply to one of their predictions.

    The reply is labelled with the judge ``evaluate`` uses (accepted / edited / rejected against
    the top candidate), stored through :func:`prediction_feedback` (decay, calibration set, flip
    rules: answering again is a flip like any feedback) and recorded as a ``user_reply`` event
    through the recording service, ``in_reply_to`` the prediction's prompt event (or, for a
    prediction that came from none, an ``agent_prompt`` event recorded for it once), so Memory
    learns from it. ``answered_by`` becomes ``person``, ``answered_at`` now. All or nothing;
    another user's id is a 404.

    ``reply_event``: the caller's own ``user_reply`` CloneEvent for this answer (an agent
    hook's, whose id derives from the agent's ids), recorded instead of one with a fresh id, so
    the same answer recorded again (a retried hook, a later import) is stored once.
    """
    if not isinstance(reply, str) or not reply.strip():
        raise ValidationError({"reply": ["This field may not be blank."]})
    prediction = (
        Prediction.objects.select_for_update(of=("self",))
        .select_related("prompt_event__session")
        .filter(user=user, pk=prediction_id)
        .first()
    )
    if prediction is None:
        raise NotFound("No such prediction.")
    top = str(prediction.candidates[0]["text"]) if prediction.candidates else ""
    verdict = judge(predicted=top, actual=reply)

    now = timezone.now()
    events = []
    if prediction.prompt_event is not None:
        prompt_id = prediction.prompt_event.event_id
        session_id = prediction.prompt_event.session.external_id
    else:
        prompt = _prompt_event_for(prediction)
        prompt_id, session_id = prompt["id"], prompt["session_id"]
        events.append(prompt)
    events.append(
        reply_event
        or {
            "id": f"clone-answer-{prediction.pk}-{uuid.uuid4().hex[:16]}",
            "session_id": session_id,
            "kind": EventKind.USER_REPLY,
            "occurred_at": now.isoformat(),
            "source": "clone",
            "payload": {"text": reply, "in_reply_to": prompt_id},
        }
    )
    event_ingest(user=user, events=events)

    prediction = prediction_feedback(
        user=user, prediction_id=prediction.pk, outcome=verdict.outcome, actual_reply=reply
    )
    prediction.answered_by = AnsweredBy.PERSON
    prediction.answered_at = now
    prediction.save(update_fields=["answered_by", "answered_at"])
    return prediction, verdict


def calibration_refit(*, user: User) -> Calibration:
    """Fit the user's Platt calibration on their most recent labels and store it on the profile.

    One read and one small write; safe while predictions are being served (predict reads the
    stored calibration on every call, so the new one takes effect at the next call).
    """
    scores, labels = selectors.calibration_training_set(user=user)
    calibration = platt_fit(scores=scores, labels=labels)
    profile_calibration_set(user=user, calibration=calibration.as_dict(fitted_at=timezone.now()))
    return calibration
