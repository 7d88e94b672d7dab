"""How a fact or a question reads to the offline predictor: the kind of question asked, and
the reply a fact states for it (a quoted answer, a preferred option, an always/never rule)."""

from __future__ import annotations

import re
from datetime import datetime

from clone_server.text import (
    PromptFeatures,
    canonical,
    features_similarity,
    prompt_features,
    stem,
)

CHOICE_FACT_SIMILARITY = 0.7


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


_NEGATIONS = _wordset(
    "never not no dont doesnt didnt cant wont shouldnt isnt avoid avoids without hates dislikes"
)
_POSITIVE = _wordset("always prefer prefers preferred likes usually wants")
_WEEKDAYS = {
    day: index
    for index, day in enumerate(
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    )
}
_WH_WORDS = _wordset("what which where when who whom whose why how")

_ANSWER_QUOTE = re.compile(
    r"\b(?:answer|answers|answered|reply|replies|replied|say|says|said|respond|responds)"
    r"(?:\s+with)?\s*:?\s*[\"“](?P<reply>[^\"”]+)[\"”]",
    re.IGNORECASE,
)
_ASKED_QUOTE = re.compile(r"\bask(?:s|ed)\s*:?\s*[\"“](?P<prompt>[^\"”]+)[\"”]", re.IGNORECASE)
# "When cursor asks "Proceed?" they answer "apply it"." holds for that agent only.
_ASKING_AGENT = re.compile(r"\b(?:when|if)\s+(?P<agent>[^\s\"“]+)\s+asks\b", re.IGNORECASE)
_CHOICE = re.compile(r"([\w./@+-]+)\s+or\s+([\w./@+-]+)", re.IGNORECASE)


def choice_options(agent_input: str) -> list[str]:
    match = _CHOICE.search(agent_input or "")
    if not match:
        return []
    return [opt.strip(".,;:!?/") for opt in match.groups() if opt.strip(".,;:!?/")]


def _preferred_option(fact_text: str, options: list[str]) -> str | None:
    """The option a fact prefers: the first one it names that no negation word just precedes;
    of two options, the other one when the fact names only one, negated ("never npm")."""
    words = canonical(fact_text).split()
    stems = [stem(w) for w in words]
    best: tuple[int, str] | None = None
    negated = []
    for option in options:
        option_stems = [stem(w) for w in canonical(option).split()]
        if not option_stems:
            continue
        for i in range(len(stems) - len(option_stems) + 1):
            if stems[i : i + len(option_stems)] != option_stems:
                continue
            if any(w in _NEGATIONS for w in words[max(0, i - 3) : i]):
                negated.append(option)
                continue
            if best is None or i < best[0]:
                best = (i, option)
            break
    if best:
        return best[1]
    if len(options) == 2 and len(set(negated)) == 1:
        return next(o for o in options if o != negated[0])
    return None


def is_yes_no(agent_input: str) -> bool:
    words = canonical(agent_input).split()
    return bool(words) and words[0] not in _WH_WORDS and not _CHOICE.search(agent_input)


def fact_days(text: str) -> set[int]:
    """The weekdays a fact is limited to ("Never pushes on Fridays." -> {4}); empty: any day."""
    days: set[int] = set()
    for word in canonical(text).split():
        day = _WEEKDAYS.get(word.removesuffix("s"))
        if day is not None:
            days.add(day)
        elif word in ("weekend", "weekends"):
            days |= {5, 6}
        elif word in ("weekday", "weekdays"):
            days |= {0, 1, 2, 3, 4}
    return days


def fact_reply(
    fact: dict, agent: str, agent_input: str, query: PromptFeatures, now: datetime | None
) -> tuple[str, float] | None:
    """(reply, similarity) when the fact states how this person answers this kind of question
    (and, for a fact limited to some weekdays, ``now`` is one of them)."""
    text = str(fact.get("text") or "")
    if not text.strip():
        return None
    days = fact_days(text)
    if days and (now is None or now.weekday() not in days):
        return None
    answer = _ANSWER_QUOTE.search(text)
    if answer:
        asking_agent = _ASKING_AGENT.search(text)
        if asking_agent and asking_agent["agent"].casefold() != (agent or "").strip().casefold():
            return None
        asked = _ASKED_QUOTE.search(text)
        topic = asked.group("prompt") if asked else _ANSWER_QUOTE.sub(" ", text)
        sim = features_similarity(query, prompt_features(topic))
        return (answer.group("reply").strip(), sim) if answer.group("reply").strip() else None

    options = choice_options(agent_input)
    if options:
        preferred = _preferred_option(text, options)
        return (preferred, CHOICE_FACT_SIMILARITY) if preferred else None

    if is_yes_no(agent_input):
        words = set(canonical(text).split())
        negative, positive = bool(words & _NEGATIONS), bool(words & _POSITIVE)
        if negative == positive:
            return None
        return ("no" if negative else "yes", features_similarity(query, prompt_features(text)))
    return None


def is_open_question(agent_input: str) -> bool:
    return not is_yes_no(agent_input) and not choice_options(agent_input)
