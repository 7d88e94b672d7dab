"""The prequential replay: a recorded history fed through the product's own services.

Events (the wire shape of ``POST /api/recording/events/``) are taken in time order (stable for
equal times). Every ``agent_prompt`` that some ``user_reply`` answers (``in_reply_to``; the
first such reply counts) is predicted from what came before it only: the events up to and
including the prompt are ingested (``recording.services.event_ingest``), memory is synced
(``raw_sync``) and the prediction is made as of the prompt's own time, with the prompt's
``tool``, ``options`` and ``context`` when it carries them. When the answering reply
comes in the stream, the top candidate is judged against it (``predictions.judge``) and the
verdict is given as feedback (``prediction_feedback``), exactly as a person would; every
``refit_every`` labels the user's calibration is refit (``calibration_refit``). Memory is
promoted (episodes, then facts) once per day of data, when the stream crosses midnight in the
events' own offset, so sessions are complete when they become episodes.

Two baselines are computed on the same stream, from the same past (the replies known before
the prompt):
- ``most_frequent``: the reply given most often so far (replies are the same when equal after
  the judge's normalisation); ties go to the most recent, and the text is the most recent
  wording of that reply;
- ``most_similar``: the reply to the past prompt with the highest token Jaccard similarity
  (sets of the judge's normalised tokens: ``|A & B| / |A | B|``); ties, including "no word in
  common", go to the most recent prompt.
With no past reply at all a baseline answers nothing (judged rejected, F1 0).
"""

from __future__ import annotations

import json
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User

from clone_server.accounts.services import user_delete
from clone_server.text import canonical, tokens
from memories.promotion import episodes_promote, facts_promote
from memories.selectors import profile_get
from memories.services import raw_sync
from memories.upkeep import automatic_promotion_paused
from predictions import judge as judging
from predictions import services
from predictions.models import Prediction
from recording.services import InvalidEvents, events_import, events_validate
from recording.validation import parse_occurred_at

BASELINES = ("most_frequent", "most_similar")


class DatasetError(ValueError):
    """The dataset cannot be replayed; the message says where and why."""


@dataclass
class Record:
    """One replayed prediction and how it (and the baselines) fared against the real reply."""

    prompt_id: str
    agent: str
    prompt: str
    occurred_at: str
    actual: str
    candidates: list[str]
    raw_confidence: float
    confidence: float
    status: str
    outcome: str
    f1: float
    topk_hit: bool
    tool: dict[str, Any] | None = None
    escalation_reason: str = ""
    baselines: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class ReplayResult:
    records: list[Record]
    events: int = 0
    refits: int = 0
    promotions: int = 0
    seconds: float = 0.0
    calibration: dict[str, Any] = field(default_factory=dict)


# --- the dataset -----------------------------------------------------------------------------


def dataset_read(*, path: str | Path) -> list[dict[str, Any]]:
    """The events of a JSONL file, validated against the event schema, in time order.

    Blank lines are skipped. Raises ``DatasetError`` naming the line (or the event's index and
    JSON path) for an unreadable file, a line that is not a JSON object, or an invalid event;
    nothing is stored by reading.
    """
    events: list[dict[str, Any]] = []
    try:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    event = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DatasetError(f"line {number}: not valid JSON ({exc.msg}).") from None
                if not isinstance(event, dict):
                    raise DatasetError(f"line {number}: expected a JSON object (one event).")
                events.append(event)
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror or exc}.") from None
    except UnicodeDecodeError:
        raise DatasetError(f"{path} is not UTF-8 text.") from None
    return events_sorted(events=events)


def events_sorted(*, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Validate (``DatasetError`` listing the first problems) and sort by time, stably."""
    try:
        events_validate(events=events)
    except InvalidEvents as exc:
        problems = "; ".join(
            f"event {p.get('index')}: {p.get('path') or p.get('field') or ''} {p.get('message')}"
            for p in (exc.details or [])[:5]
        )
        raise DatasetError(f"invalid events: {problems}") from None
    ids = Counter(event["id"] for event in events)
    repeated = [event_id for event_id, count in ids.items() if count > 1]
    if repeated:
        raise DatasetError(f"event id {repeated[0]!r} appears more than once.")
    return sorted(events, key=_occurred_at)


def _occurred_at(event: dict[str, Any]) -> datetime:
    when = parse_occurred_at(event["occurred_at"])
    assert when is not None  # validated above
    return when


def _first_replies(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Prompt id -> the first ``user_reply`` event answering it."""
    first_reply: dict[str, dict[str, Any]] = {}
    for event in events:
        if event["kind"] == "user_reply":
            prompt_id = str(event["payload"].get("in_reply_to") or "")
            if prompt_id and prompt_id not in first_reply:
                first_reply[prompt_id] = event
    return first_reply


def answered_prompts(*, events: list[dict[str, Any]]) -> int:
    """How many prompts in ``events`` some reply answers: what a full replay predicts."""
    answered = _first_replies(events)
    return sum(1 for e in events if e["kind"] == "agent_prompt" and e["id"] in answered)


# --- the throwaway user ----------------------------------------------------------------------


def evaluation_user_create(*, prefix: str = "eval") -> User:
    """A fresh user ``<prefix>-<random hex>`` with no usable password: nobody can log in."""
    user_model = get_user_model()
    while True:
        username = f"{prefix}-{secrets.token_hex(4)}"
        if not user_model.objects.filter(username=username).exists():
            return user_model.objects.create_user(username=username, password=None)


def evaluation_user_delete(*, user: User) -> None:
    """Delete the user and every row Clone holds about it."""
    user_delete(user=user)


# --- baselines -------------------------------------------------------------------------------


class _Baselines:
    """The two baselines' memory of past (prompt, reply) pairs, oldest first."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.last_seen: dict[str, int] = {}
        self.wording: dict[str, str] = {}
        self.prompts: list[tuple[frozenset[str], str]] = []

    def learn(self, *, prompt: str, reply: str) -> None:
        key = canonical(reply)
        self.counts[key] += 1
        self.last_seen[key] = len(self.prompts)
        self.wording[key] = reply
        self.prompts.append((frozenset(tokens(prompt)), reply))

    def most_frequent(self) -> str:
        if not self.counts:
            return ""
        key = max(self.counts, key=lambda k: (self.counts[k], self.last_seen[k]))
        return self.wording[key]

    def most_similar(self, prompt: str) -> str:
        query = frozenset(tokens(prompt))
        best, best_score = "", -1.0
        for words, reply in self.prompts:  # oldest first: ">=" lets the most recent win ties
            union = len(query | words)
            score = len(query & words) / union if union else 0.0
            if score >= best_score:
                best, best_score = reply, score
        return best


# --- the replay ------------------------------------------------------------------------------


def _promote(user: User) -> None:
    while episodes_promote(user=user).remaining:
        pass
    while facts_promote(user=user).remaining:
        pass


# The replay promotes itself, once per day of data; promotion after each ingest would differ.
@automatic_promotion_paused()
def replay_run(
    *,
    user: User,
    events: list[dict[str, Any]],
    threshold: float = 0.8,
    k: int = 3,
    refit_every: int = 25,
    accept_f1: float = judging.DEFAULT_ACCEPT_F1,
    edit_f1: float = judging.DEFAULT_EDIT_F1,
    limit: int | None = None,
    on_prediction: Callable[[], None] | None = None,
) -> ReplayResult:
    """Replay ``events`` (validated, in time order: see ``dataset_read``) into ``user``.

    Promises: each prediction sees only events up to and including its prompt (and memory
    derived from them), and only earlier replies; predictions are labelled in reply order and
    the calibration refit after every ``refit_every`` labels (0: never) and once at the end
    (when there are new labels since the last fit). With ``limit``, only the first ``limit``
    answered prompts are predicted and the replay stops once they are judged; otherwise every
    event is ingested, synced and promoted, so the user ends up with the whole history.
    ``on_prediction`` is called after each judged prediction (for a progress bar).
    """
    judging.judge(predicted="", actual="", accept_f1=accept_f1, edit_f1=edit_f1)  # checks them
    started = time.perf_counter()
    first_reply = _first_replies(events)
    targets = [e["id"] for e in events if e["kind"] == "agent_prompt" and e["id"] in first_reply]
    if limit is not None:
        targets = targets[: max(0, limit)]
    replay = _Replay(
        user=user,
        threshold=threshold,
        k=k,
        refit_every=refit_every,
        accept_f1=accept_f1,
        edit_f1=edit_f1,
        wanted=set(targets),
        on_prediction=on_prediction,
    )
    prompt_ids = {e["id"] for e in events if e["kind"] == "agent_prompt"}
    day: str | None = None
    for event in events:
        # The event's own offset: "a day of data" is the person's day, not the server's.
        event_day = event["occurred_at"][:10]
        if day is not None and event_day != day:
            replay.day_end()
        day = event_day
        replay.buffered.append(event)
        if event["kind"] == "agent_prompt":
            replay.prompt_seen(event)
            continue
        if event["kind"] != "user_reply":
            continue
        prompt_id = str(event["payload"].get("in_reply_to") or "")
        if first_reply.get(prompt_id) is not event:
            continue
        judged = replay.reply_seen(event, prompt_id=prompt_id, known_prompt=prompt_id in prompt_ids)
        if judged and limit is not None and len(replay.result.records) >= len(targets):
            break
    result = replay.finish(promote=limit is None)
    result.seconds = time.perf_counter() - started
    return result


class _Replay:
    """The state of one replay: events not yet ingested, predictions waiting for their reply,
    the baselines' memory and the labels since the last calibration fit."""

    def __init__(
        self,
        *,
        user: User,
        threshold: float,
        k: int,
        refit_every: int,
        accept_f1: float,
        edit_f1: float,
        wanted: set[str],
        on_prediction: Callable[[], None] | None,
    ) -> None:
        self.user = user
        self.threshold, self.k, self.refit_every = threshold, k, refit_every
        self.accept_f1, self.edit_f1 = accept_f1, edit_f1
        self.wanted = wanted
        self.on_prediction = on_prediction
        self.result = ReplayResult(records=[])
        self.baselines = _Baselines()
        self.buffered: list[dict[str, Any]] = []
        self.open_predictions: dict[str, tuple[Prediction, dict[str, Any], dict[str, str]]] = {}
        self.prompt_texts: dict[str, str] = {}
        self.labels_since_fit = 0

    def flush(self) -> None:
        """Ingest the buffered events and sync memory, so a prediction sees them."""
        events_import(user=self.user, events=self.buffered)
        self.result.events += len(self.buffered)
        self.buffered.clear()
        raw_sync(user=self.user)

    def day_end(self) -> None:
        self.flush()
        _promote(self.user)
        self.result.promotions += 1

    def prompt_seen(self, event: dict[str, Any]) -> None:
        """Remember the prompt; predict it (as of its own time) when a reply will judge it."""
        payload = event["payload"]
        text = str(payload.get("text") or "")
        self.prompt_texts[event["id"]] = text
        if event["id"] not in self.wanted:
            return
        self.flush()
        prediction = services.prediction_create(
            user=self.user,
            agent=str(payload.get("agent") or ""),
            agent_input=text,
            threshold=self.threshold,
            k=self.k,
            now=parse_occurred_at(event["occurred_at"]),
            tool=payload.get("tool") if isinstance(payload.get("tool"), dict) else None,
            options=_options(payload.get("options")),
            context=payload.get("context") if isinstance(payload.get("context"), str) else None,
            # Linked as a live prediction of a recorded prompt is: a later learn of this history
            # sees the prompt labelled and does not label it again.
            prompt_event_id=event["id"],
        )
        guesses = {
            "most_frequent": self.baselines.most_frequent(),
            "most_similar": self.baselines.most_similar(text),
        }
        self.open_predictions[event["id"]] = (prediction, event, guesses)

    def reply_seen(self, event: dict[str, Any], *, prompt_id: str, known_prompt: bool) -> bool:
        """The first reply to ``prompt_id``: judge its prediction, give the verdict as feedback,
        refit when due, and let the baselines learn the pair. True when a prediction was
        judged."""
        actual = str(event["payload"].get("text") or "")
        judged = prompt_id in self.open_predictions
        if judged:
            prediction, prompt, guesses = self.open_predictions.pop(prompt_id)
            record = _judged(
                prediction=prediction,
                prompt=prompt,
                actual=actual,
                guesses=guesses,
                accept_f1=self.accept_f1,
                edit_f1=self.edit_f1,
            )
            services.prediction_feedback(
                user=self.user,
                prediction_id=prediction.id,
                outcome=record.outcome,
                actual_reply=actual,
            )
            self.result.records.append(record)
            self.labels_since_fit += 1
            if self.refit_every and self.labels_since_fit >= self.refit_every:
                self.refit()
            if self.on_prediction is not None:
                self.on_prediction()
        if known_prompt:
            self.baselines.learn(prompt=self.prompt_texts.get(prompt_id, ""), reply=actual)
        return judged

    def refit(self) -> None:
        services.calibration_refit(user=self.user)
        self.result.refits += 1
        self.labels_since_fit = 0

    def finish(self, *, promote: bool) -> ReplayResult:
        self.flush()
        if promote:
            _promote(self.user)
            self.result.promotions += 1
        if self.labels_since_fit:
            self.refit()
        self.result.calibration = profile_get(user=self.user).calibration or {}
        return self.result


def _judged(
    *,
    prediction: Prediction,
    prompt: dict[str, Any],
    actual: str,
    guesses: dict[str, str],
    accept_f1: float,
    edit_f1: float,
) -> Record:
    def verdict(text: str) -> judging.Verdict:
        return judging.judge(predicted=text, actual=actual, accept_f1=accept_f1, edit_f1=edit_f1)

    texts = [c["text"] for c in prediction.candidates]
    verdicts = [verdict(text) for text in texts]
    # No candidate at all is a wrong answer (confidence 0), never a skipped one.
    top = verdicts[0] if verdicts else judging.Verdict(judging.REJECTED, 0.0, False)
    baselines = {}
    for name, text in guesses.items():
        v = verdict(text) if text else judging.Verdict(judging.REJECTED, 0.0, False)
        baselines[name] = {"text": text, "outcome": v.outcome, "f1": v.f1}
    return Record(
        prompt_id=prompt["id"],
        agent=str(prompt["payload"].get("agent") or ""),
        prompt=str(prompt["payload"].get("text") or ""),
        occurred_at=prompt["occurred_at"],
        actual=actual,
        candidates=texts,
        raw_confidence=float(prediction.raw_confidence),
        confidence=float(prediction.confidence),
        status=str(prediction.status),
        outcome=top.outcome,
        f1=top.f1,
        topk_hit=any(v.outcome == judging.ACCEPTED for v in verdicts),
        tool=prompt["payload"].get("tool")
        if isinstance(prompt["payload"].get("tool"), dict)
        else None,
        escalation_reason=str(prediction.escalation_reason or ""),
        baselines=baselines,
    )


def _options(value: Any) -> list[str] | None:
    """The prompt's options when it carried a list of strings, else None."""
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return value
    return None


def records_as_dicts(records: Iterable[Record]) -> list[dict[str, Any]]:
    return [asdict(record) for record in records]
