"""The local (offline) predictor: the person's own past replies, retrieved and voted on.

No network, no model, no numpy: pure functions over the plain dicts of Memory's context bundle.
Same input, same output (ties are broken by fixed keys, never by dict or set order). About 1 ms
for 30 neighbours and 20 facts.

Algorithm of :func:`replies_predict`:

1. Similarity. Each neighbour's prompt is compared with ``agent_input``. Text is normalised as
   the evaluation judge does (:func:`predictions.judge.normalize`), mapped through a few
   developer synonyms ("pytest" -> "test", "execute" -> "run", ...), lightly stemmed
   ("migrations" -> "migration", "running" -> "run") and stripped of stopwords. Two bags of
   terms are compared with ``0.6 * Jaccard + 0.4 * cosine(character trigrams)``, so a paraphrase
   sharing few exact words still scores. Agents often wrap the question in context ("Done with
   api.ts. Proceed?") that unrelated questions share, so the similarity is
   ``QUESTION_WEIGHT`` times that of the asking sentences plus the rest times that of the whole
   texts. The retrieval's own ``score`` (not normalised) only nudges it:
   ``sim = own * (0.85 + 0.15 * score / max_score)``.
2. Neighbours. Those with ``sim < MIN_SIMILARITY`` or below ``RELATIVE_CUTOFF`` times the best
   similarity are dropped (they answer another question). Each kept neighbour weighs
   ``sim * agent * recency``: ``agent`` is 1 for the same agent and ``OTHER_AGENT_WEIGHT``
   otherwise; ``recency = 0.5 ** (age_days / HALF_LIFE_DAYS)`` relative to ``now`` (or, without
   ``now``, to the newest neighbour). A reply that names a weekday ("no, not on a Friday",
   "leave it for Monday") was given because of the day: with ``now``, such a neighbour from
   another weekday (in ``now``'s offset) weighs only ``OTHER_DAY_WEIGHT`` times as much.
3. Groups. Neighbours are visited heaviest first; a neighbour joins the first group whose reply
   is the same after normalisation or near-identical (token F1 >= ``NEAR_IDENTICAL_F1``), else
   it starts a group. A group's text is its heaviest original wording (ties: the most recent,
   then alphabetical). When the asking agent answered some of the neighbours itself, a group
   that only other agents gave is their idiom ("y" for aider, "apply it" for cursor), not this
   agent's answer: its weight is multiplied by ``FOREIGN_REPLY_WEIGHT`` (its evidence stays).
4. Facts. A fact supports a reply when its text states one for this kind of question: a quoted
   answer (``When asked "Run the tests?" they answer "yes".``, as local promotion writes them),
   the preferred option of an "A or B" question (``Prefers pnpm over npm.``; a negated option,
   "never npm", is not preferred), or, for a yes/no question, an always/never statement about
   the same thing (``Always writes type hints.`` -> "yes"). A fact naming weekdays ("Never
   pushes on Fridays.") applies only when ``now`` falls on one of them. A fact weighs
   ``FACT_WEIGHT * importance * sim``, joins the group with its reply (and is cited there) or
   starts a fact-only group; a fact at zero importance supports nothing.
5. Confidence, per group: ``share * n / (n + EVIDENCE_PRIOR) * smoothstep(q)``. ``share`` is the
   group's part of all the weight (how strongly and consistently the evidence agrees); ``n`` the
   amount of evidence (sum of ``sim * agent`` over kept neighbours plus ``importance * sim`` of
   supporting facts), so one neighbour can't make Clone sure; ``q`` the best similarity in the
   group, through a smoothstep from ``Q_LOW`` to ``Q_HIGH``, so an answer to a merely related
   question earns little. The confidences of all candidates sum to at most 1 and grow with
   agreement. They are raw scores for the per-user Platt calibration, monotone with the chance
   of being right rather than calibrated themselves. On an open question (it starts with
   what/which/how/..., and offers no "A or B" choice) the confidences are multiplied by
   ``OPEN_QUESTION_FACTOR``: such a question has many possible answers, so a few neighbours
   agreeing is weaker evidence than on a yes/no question.
6. Ranking: confidence, then weight, then recency, then normalised text; the first ``k`` kept.

Without any neighbour or supporting fact the result is an empty list: there is no generic
fallback, because a guess with no evidence would only add noise to calibration. A fact-only
candidate (no neighbour) gets a low confidence (about 0.3 for an important, matching fact).

Measured with ``manage.py evaluate`` on the synthetic demo history (``recording.demo``,
30 days, seed 7: every prompt predicted from the earlier ones only, 30 nearest neighbours,
calibration refit every 25 labels): see the README's Evaluation section. The three rules above
(weekday, foreign idiom, open question) were added from its error analysis, checked on seeds 8
and 9 as well.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from predictions.judge import normalize

HALF_LIFE_DAYS = 30.0
OTHER_AGENT_WEIGHT = 0.5
MIN_SIMILARITY = 0.1
RELATIVE_CUTOFF = 0.4
NEAR_IDENTICAL_F1 = 0.8
FACT_WEIGHT = 1.0
EVIDENCE_PRIOR = 1.0
FACT_MIN_SIMILARITY = 0.3
CHOICE_FACT_SIMILARITY = 0.7
Q_LOW, Q_HIGH = 0.15, 0.5
QUESTION_WEIGHT = 0.7
OTHER_DAY_WEIGHT = 0.05
FOREIGN_REPLY_WEIGHT = 0.3
OPEN_QUESTION_FACTOR = 0.5


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Words that carry no meaning for "is this the same question" (and polarity words, which
# facts use to state a preference rather than a topic).
STOPWORDS = _wordset(
    """a an the to of for in on at by with from into onto about as and or but if then so than
    is are was were be been being am do does did done doing have has had having will would shall
    should can could may might must i me my mine we us our you your yours it its this that these
    those there here what which who whom how when where why please now just also ok okay go ahead
    let lets want wanna like need yes no not never always usually often prefer prefers preferred
    person they them their he she his her avoid avoids im ive youre thats whats isnt arent cant
    didnt dont doesnt wont shouldnt wouldnt instead rather over use uses used using"""
)

# A few developer-domain synonyms, applied to whole tokens before stemming.
SYNONYMS = {
    "pytest": "test",
    "jest": "test",
    "vitest": "test",
    "unittest": "test",
    "tests": "test",
    "testing": "test",
    "suite": "test",
    "specs": "test",
    "spec": "test",
    "execute": "run",
    "exec": "run",
    "launch": "run",
    "remove": "delete",
    "rm": "delete",
    "wipe": "delete",
    "erase": "delete",
    "reinstall": "install",
    "migrate": "migration",
    "db": "database",
    "repo": "repository",
    "deps": "dependency",
    "dependencies": "dependency",
    "pr": "pull",
    "proceed": "continue",
}

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


@dataclass(frozen=True)
class LocalCandidate:
    text: str
    reasoning: str
    confidence: float
    cited_facts: list[int]


# --- text helpers (also used by memories.local_promotion) ---------------------------------
# normalize / tokens / token_f1 are the evaluation judge's, so "the same reply" means the same
# thing when grouping neighbours as when judging a prediction.


# Cached: the same prompts and replies come back in every call of a batch and across calls.
# The judge's rule for ASCII: apostrophes dropped, punctuation and symbols (P*, S*) to spaces.
_ASCII_TABLE = str.maketrans(
    {
        c: (None if c == "'" else " ")
        for c in map(chr, range(128))
        if unicodedata.category(c)[0] in "PS"
    }
)


@lru_cache(maxsize=16384)
def _norm(text: str) -> str:
    """The judge's ``normalize``, with a fast path for ASCII text (the same result)."""
    if text.isascii():
        return " ".join(text.translate(_ASCII_TABLE).lower().split())
    return normalize(text)


@lru_cache(maxsize=16384)
def _reply_bag(text: str) -> tuple[str, Counter, int]:
    normal = _norm(text)
    words = normal.split()
    return normal, Counter(words), len(words)


def normal_form(text: str) -> str:
    """:func:`predictions.judge.normalize`, cached and fast for ASCII: the same result."""
    return _norm(text or "")


def same_reply(a: str, b: str) -> bool:
    """Equal after normalisation, or near-identical (token F1 >= NEAR_IDENTICAL_F1): the
    judge's ``token_f1``, computed from cached token bags."""
    (na, ca, la), (nb, cb, lb) = _reply_bag(a), _reply_bag(b)
    if na == nb:
        return True
    if not la or not lb:
        return False
    common = sum((ca & cb).values())
    return common > 0 and 2 * common / (la + lb) >= NEAR_IDENTICAL_F1


@lru_cache(maxsize=16384)
def stem(token: str) -> str:
    """A light suffix stripper: enough for plurals and -ing/-ed forms, never below 3 letters."""
    token = SYNONYMS.get(token, token)
    for suffix, replacement in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if not token.endswith(suffix) or len(token) - len(suffix) < 3:
            continue
        if suffix == "es" and not token.endswith(("ses", "xes", "zes", "ches", "shes")):
            continue
        if suffix == "s" and token.endswith(("ss", "us", "is")):
            continue
        token = token[: len(token) - len(suffix)] + replacement
        if suffix in ("ing", "ed") and len(token) > 3 and token[-1] == token[-2]:
            token = token[:-1]  # running -> run, committed -> commit
        break
    return SYNONYMS.get(token, token)


def terms(text: str) -> list[str]:
    """Stemmed content words, in order; all stemmed words if every word is a stopword."""
    words = _norm(text).split()
    content = [stem(w) for w in words if w not in STOPWORDS]
    return content or [stem(w) for w in words]


@dataclass(frozen=True)
class _Bag:
    terms: frozenset[str]
    trigrams: Counter
    norm: float


@dataclass(frozen=True)
class _Features:
    whole: _Bag
    question: _Bag  # the last sentence that asks something; the whole text if only one


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _bag(text: str) -> _Bag:
    words = terms(text)
    padded = f" {' '.join(words)} "
    grams = Counter(padded[i : i + 3] for i in range(len(padded) - 2))
    return _Bag(frozenset(words), grams, math.sqrt(sum(c * c for c in grams.values())))


def asking_sentence(text: str) -> str:
    """The sentence of a prompt that asks: the last one ending in "?", else the last one."""
    sentences = [s for s in _SENTENCE_END.split((text or "").strip()) if s]
    asking = [s for s in sentences if s.rstrip().endswith("?")]
    return (asking or sentences or [""])[-1]


@lru_cache(maxsize=16384)
def _features(text: str) -> _Features:
    # Agents often wrap the question in context ("Done with api.ts. Proceed?"); the context is
    # shared by unrelated questions, so the asking sentence counts most.
    question = asking_sentence(text)
    whole = _bag(text)
    return _Features(whole, whole if question == text.strip() else _bag(question))


def _jaccard(a: _Bag, b: _Bag) -> float:
    if not a.terms or not b.terms:
        return 0.0
    return len(a.terms & b.terms) / len(a.terms | b.terms)


def _bag_similarity(a: _Bag, b: _Bag) -> float:
    if not a.terms or not b.terms:
        return 0.0
    if a.norm and b.norm:
        small, large = sorted((a.trigrams, b.trigrams), key=len)
        dot = sum(count * large.get(gram, 0) for gram, count in small.items())
        cosine = dot / (a.norm * b.norm)
    else:
        cosine = 0.0
    return min(1.0, 0.6 * _jaccard(a, b) + 0.4 * cosine)


def _similarity(a: _Features, b: _Features, floor: float = 0.0) -> float:
    if floor > 0:
        # An upper bound from the cheap part (cosine <= 1): skip the trigrams when it can't reach.
        bound = QUESTION_WEIGHT * (0.6 * _jaccard(a.question, b.question) + 0.4) + (
            1 - QUESTION_WEIGHT
        ) * (0.6 * _jaccard(a.whole, b.whole) + 0.4)
        if bound < floor:
            return 0.0
    return QUESTION_WEIGHT * _bag_similarity(a.question, b.question) + (
        1 - QUESTION_WEIGHT
    ) * _bag_similarity(a.whole, b.whole)


def prompt_similarity(a: str, b: str, *, floor: float = 0.0) -> float:
    """How much two prompts ask the same thing, in [0, 1] (1 for the same content words).
    With ``floor``, any value below it may be returned as 0.0 (faster when only "is it at least
    ``floor``?" matters)."""
    return _similarity(_features(a), _features(b), floor)


# --- the predictor ---------------------------------------------------------------------------


def parse_time(value: Any) -> datetime | None:
    """An aware datetime from a datetime or an ISO string (naive means UTC); None if unusable."""
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, str) and value:
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _number(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) else 0.0


def _smoothstep(x: float, low: float, high: float) -> float:
    t = min(1.0, max(0.0, (x - low) / (high - low)))
    return t * t * (3 - 2 * t)


@dataclass
class _Neighbour:
    key: str
    reply: str
    sim: float
    agent_factor: float
    weight: float
    when: datetime | None


@dataclass
class _Group:
    key: str  # normalised reply of the group's first (heaviest) member
    members: list[_Neighbour]
    texts: dict[str, float]  # original reply -> weight
    newest: dict[str, float]  # original reply -> newest timestamp
    weight: float = 0.0
    evidence: float = 0.0
    best_sim: float = 0.0
    fact_ids: list[int] | None = None

    def add_text(self, text: str, weight: float, stamp: float) -> None:
        self.texts[text] = self.texts.get(text, 0.0) + weight
        self.newest[text] = max(self.newest.get(text, -math.inf), stamp)

    @property
    def text(self) -> str:
        return min(self.texts, key=lambda t: (-self.texts[t], -self.newest[t], t))

    @property
    def newest_stamp(self) -> float:
        return max(self.newest.values())


def _neighbours(
    *, agent: str, query: _Features, relevant: list[dict], now: datetime | None
) -> list[_Neighbour]:
    seen: set[str] = set()
    rows = []
    for index, item in enumerate(relevant):
        if not isinstance(item, dict):
            continue
        reply = str(item.get("reply") or "").strip()
        key = str(item.get("prompt_event_id") or f"#{index}")
        if not reply or not _norm(reply) or key in seen:
            continue
        seen.add(key)
        rows.append((key, item, reply))
    if not rows:
        return []

    max_score = max(_number(item.get("score")) for _, item, _ in rows)
    times = {key: parse_time(item.get("occurred_at")) for key, item, _ in rows}
    known = [t for t in times.values() if t is not None]
    anchor = now or (max(known) if known else None)
    wanted_agent = (agent or "").strip().casefold()

    found = []
    for key, item, reply in rows:
        own = _similarity(query, _features(str(item.get("prompt") or "")))
        boost = _number(item.get("score")) / max_score if max_score > 0 else 0.0
        sim = own * (0.85 + 0.15 * max(0.0, boost))
        if sim < MIN_SIMILARITY:
            continue
        same_agent = str(item.get("agent") or "").strip().casefold() == wanted_agent
        agent_factor = 1.0 if same_agent else OTHER_AGENT_WEIGHT
        when = times[key]
        recency = 1.0
        if when is not None and anchor is not None:
            age_days = max(0.0, (anchor - when).total_seconds() / 86400)
            recency = 0.5 ** (age_days / HALF_LIFE_DAYS)
        weight = sim * agent_factor * recency
        found.append(_Neighbour(key, reply, sim, agent_factor, weight, when))
    if not found:
        return []
    best = max(n.sim for n in found)
    kept = [n for n in found if n.sim >= RELATIVE_CUTOFF * best]
    if now is not None:
        _day_scoped(kept, now)
    kept.sort(key=lambda n: (-n.weight, -(n.when.timestamp() if n.when else 0.0), n.key))
    return kept


def _choice_options(agent_input: str) -> list[str]:
    match = _CHOICE.search(agent_input or "")
    if not match:
        return []
    return [opt.strip(".,;:!?/") for opt in match.groups() if opt.strip(".,;:!?/")]


def _preferred_option(fact_text: str, options: list[str]) -> str | None:
    """The option a fact prefers: the first one it names that no negation word just precedes;
    of two options, the other one when the fact names only one, negated ("never npm")."""
    words = _norm(fact_text).split()
    stems = [stem(w) for w in words]
    best: tuple[int, str] | None = None
    negated = []
    for option in options:
        option_stems = [stem(w) for w in _norm(option).split()]
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


def _is_yes_no(agent_input: str) -> bool:
    words = _norm(agent_input).split()
    return bool(words) and words[0] not in _WH_WORDS and not _CHOICE.search(agent_input)


def _fact_days(text: str) -> set[int]:
    """The weekdays a fact is limited to ("Never pushes on Fridays." -> {4}); empty: any day."""
    days: set[int] = set()
    for word in _norm(text).split():
        day = _WEEKDAYS.get(word.removesuffix("s"))
        if day is not None:
            days.add(day)
        elif word in ("weekend", "weekends"):
            days |= {5, 6}
        elif word in ("weekday", "weekdays"):
            days |= {0, 1, 2, 3, 4}
    return days


def _fact_reply(
    fact: dict, agent: str, agent_input: str, query: _Features, now: datetime | None
) -> tuple[str, float] | None:
    """(reply, similarity) when the fact states how this person answers this kind of question
    (and, for a fact limited to some weekdays, ``now`` is one of them)."""
    text = str(fact.get("text") or "")
    if not text.strip():
        return None
    days = _fact_days(text)
    if days and (now is None or now.weekday() not in days):
        return None
    answer = _ANSWER_QUOTE.search(text)
    if answer:
        asking_agent = _ASKING_AGENT.search(text)
        if asking_agent and asking_agent["agent"].casefold() != (agent or "").strip().casefold():
            return None
        asked = _ASKED_QUOTE.search(text)
        topic = asked.group("prompt") if asked else _ANSWER_QUOTE.sub(" ", text)
        sim = _similarity(query, _features(topic))
        return (answer.group("reply").strip(), sim) if answer.group("reply").strip() else None

    options = _choice_options(agent_input)
    if options:
        preferred = _preferred_option(text, options)
        return (preferred, CHOICE_FACT_SIMILARITY) if preferred else None

    if _is_yes_no(agent_input):
        words = set(_norm(text).split())
        negative, positive = bool(words & _NEGATIONS), bool(words & _POSITIVE)
        if negative == positive:
            return None
        return ("no" if negative else "yes", _similarity(query, _features(text)))
    return None


def _group_for(groups: list[_Group], reply: str) -> _Group:
    """The group whose reply is the same as ``reply``, appended to ``groups`` if none is yet."""
    group = next((g for g in groups if same_reply(g.key, reply)), None)
    if group is None:
        group = _Group(key=_norm(reply), members=[], texts={}, newest={})
        groups.append(group)
    return group


def _day_scoped(neighbours: list[_Neighbour], now: datetime) -> None:
    """Down-weight neighbours whose reply names a weekday and that were given on another one."""
    for n in neighbours:
        if (
            n.when is not None
            and _fact_days(n.reply)
            and n.when.astimezone(now.tzinfo).weekday() != now.weekday()
        ):
            n.weight *= OTHER_DAY_WEIGHT


def _is_open_question(agent_input: str) -> bool:
    return not _is_yes_no(agent_input) and not _choice_options(agent_input)


def _reasoning(group: _Group, total_neighbours: int) -> str:
    parts = []
    if group.members:
        same_agent = sum(1 for m in group.members if m.agent_factor == 1.0)
        newest = max((m.when for m in group.members if m.when), default=None)
        parts.append(
            f"{len(group.members)} of {total_neighbours} similar past prompts were answered "
            f"this way (best match {group.best_sim:.2f}, {same_agent} from the same agent"
            + (f", latest {newest.date().isoformat()}" if newest else "")
            + ")."
        )
    if group.fact_ids:
        cited = ", ".join(f"#{i}" for i in group.fact_ids)
        parts.append(f"Supported by fact{'s' if len(group.fact_ids) > 1 else ''} {cited}.")
    return " ".join(parts)


def replies_predict(
    *,
    agent: str,
    agent_input: str,
    relevant: list[dict],
    facts: list[dict],
    k: int,
    now: datetime | None = None,
) -> list[LocalCandidate]:
    """Up to ``k`` candidate replies, best first, by retrieval over the person's own history.

    Promises: no network, deterministic for the same arguments (input order only breaks exact
    ties through ids), confidences in [0, 1] summing to at most 1, each candidate's
    ``cited_facts`` only ids from ``facts`` that state that reply. May return an empty list
    when nothing in the history or facts bears on ``agent_input``. Malformed items are skipped,
    never raised on. See the module docstring for the algorithm.
    """
    if k <= 0:
        return []
    now = parse_time(now)
    query = _features(agent_input or "")
    neighbours = _neighbours(agent=agent, query=query, relevant=relevant or [], now=now)

    groups: list[_Group] = []
    for n in neighbours:
        stamp = n.when.timestamp() if n.when else -math.inf
        group = _group_for(groups, n.reply)
        group.members.append(n)
        group.add_text(n.reply, n.weight, stamp)
        group.weight += n.weight
        group.evidence += n.sim * n.agent_factor
        group.best_sim = max(group.best_sim, n.sim)
    if any(n.agent_factor == 1.0 for n in neighbours):
        for group in groups:
            if all(m.agent_factor != 1.0 for m in group.members):
                group.weight *= FOREIGN_REPLY_WEIGHT

    supporting = []
    for fact in facts or []:
        if not isinstance(fact, dict) or isinstance(fact.get("id"), bool):
            continue
        try:
            fact_id = int(fact["id"])
        except (KeyError, TypeError, ValueError):
            continue
        found = _fact_reply(fact, agent, agent_input or "", query, now)
        importance = min(1.0, max(0.0, _number(fact.get("importance"))))
        # A fact decayed to zero importance has been contradicted: it supports nothing.
        if found and found[1] >= FACT_MIN_SIMILARITY and importance > 0:
            supporting.append((fact_id, found[0], found[1], importance))
    supporting.sort(key=lambda f: (-f[3] * f[2], f[0]))
    for fact_id, reply, sim, importance in supporting:
        group = _group_for(groups, reply)
        weight = FACT_WEIGHT * importance * sim
        group.fact_ids = sorted({*(group.fact_ids or []), fact_id})
        group.weight += weight
        group.evidence += importance * sim
        group.best_sim = max(group.best_sim, sim)
        if not group.members:
            group.add_text(reply, weight, -math.inf)

    total_weight = sum(g.weight for g in groups)
    total_evidence = sum(g.evidence for g in groups)
    if total_weight <= 0:
        return []
    scored = []
    open_factor = OPEN_QUESTION_FACTOR if _is_open_question(agent_input or "") else 1.0
    for g in groups:
        share = g.weight / total_weight
        confidence = (
            share
            * total_evidence
            / (total_evidence + EVIDENCE_PRIOR)
            * _smoothstep(g.best_sim, Q_LOW, Q_HIGH)
            * open_factor
        )
        scored.append((round(min(1.0, max(0.0, confidence)), 4), g))
    scored.sort(key=lambda s: (-s[0], -s[1].weight, -s[1].newest_stamp, s[1].key))
    return [
        LocalCandidate(
            text=g.text,
            reasoning=_reasoning(g, len(neighbours)),
            confidence=confidence,
            cited_facts=list(g.fact_ids or []),
        )
        for confidence, g in scored[:k]
    ]
