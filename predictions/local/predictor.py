"""The local (offline) predictor: the person's own past replies, retrieved and voted on.

No network, no model, no numpy: pure functions over the plain dicts of Memory's context bundle.
Same input, same output (ties are broken by fixed keys, never by dict or set order).

Algorithm of :func:`replies_predict`:

1. Similarity. Each neighbour's prompt is compared with ``agent_input``. Text is normalised as
   the evaluation judge does (:func:`clone_server.text.canonical`), mapped through a few
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
candidate (no neighbour) gets a low confidence.

``manage.py evaluate`` measures it on the synthetic demo history (``recording.demo``); the
figures, and the error analysis the weekday, foreign-idiom and open-question rules came from,
are in the README's Evaluation section.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from clone_server.text import (
    PromptFeatures,
    canonical,
    parse_time,
    prompt_features,
    same_reply,
)
from predictions.local.facts import fact_reply, is_open_question
from predictions.local.neighbours import Neighbour, neighbours_find, number

FACT_WEIGHT = 1.0
EVIDENCE_PRIOR = 1.0
FACT_MIN_SIMILARITY = 0.3
Q_LOW, Q_HIGH = 0.15, 0.5
FOREIGN_REPLY_WEIGHT = 0.3
OPEN_QUESTION_FACTOR = 0.5


@dataclass(frozen=True)
class LocalCandidate:
    text: str
    reasoning: str
    confidence: float
    cited_facts: list[int]


def _smoothstep(x: float, low: float, high: float) -> float:
    t = min(1.0, max(0.0, (x - low) / (high - low)))
    return t * t * (3 - 2 * t)


@dataclass
class _Group:
    key: str  # normalised reply of the group's first (heaviest) member
    members: list[Neighbour]
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


def _group_for(groups: list[_Group], reply: str) -> _Group:
    """The group whose reply is the same as ``reply``, appended to ``groups`` if none is yet."""
    group = next((g for g in groups if same_reply(g.key, reply)), None)
    if group is None:
        group = _Group(key=canonical(reply), members=[], texts={}, newest={})
        groups.append(group)
    return group


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


def _neighbour_groups(neighbours: list[Neighbour]) -> list[_Group]:
    """Neighbours grouped by reply, heaviest first (step 3 of the module docstring)."""
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
    return groups


def _supporting_facts(
    *,
    facts: list[dict],
    agent: str,
    agent_input: str,
    query: PromptFeatures,
    now: datetime | None,
) -> list[tuple[int, str, float, float]]:
    """(fact id, reply, similarity, importance) of each fact that states a reply to this
    question, strongest first; malformed facts are skipped."""
    supporting = []
    for fact in facts:
        if not isinstance(fact, dict) or isinstance(fact.get("id"), bool):
            continue
        try:
            fact_id = int(fact["id"])
        except (KeyError, TypeError, ValueError):
            continue
        found = fact_reply(fact, agent, agent_input, query, now)
        importance = min(1.0, max(0.0, number(fact.get("importance"))))
        # A fact decayed to zero importance has been contradicted: it supports nothing.
        if found and found[1] >= FACT_MIN_SIMILARITY and importance > 0:
            supporting.append((fact_id, found[0], found[1], importance))
    supporting.sort(key=lambda f: (-f[3] * f[2], f[0]))
    return supporting


def _facts_join(groups: list[_Group], supporting: list[tuple[int, str, float, float]]) -> None:
    """Each supporting fact joins the group with its reply, or starts a fact-only group."""
    for fact_id, reply, sim, importance in supporting:
        group = _group_for(groups, reply)
        weight = FACT_WEIGHT * importance * sim
        group.fact_ids = sorted({*(group.fact_ids or []), fact_id})
        group.weight += weight
        group.evidence += importance * sim
        group.best_sim = max(group.best_sim, sim)
        if not group.members:
            group.add_text(reply, weight, -math.inf)


def _scored(groups: list[_Group], *, open_question: bool) -> list[tuple[float, _Group]]:
    """(confidence, group), best first (steps 5 and 6 of the module docstring)."""
    total_weight = sum(g.weight for g in groups)
    total_evidence = sum(g.evidence for g in groups)
    if total_weight <= 0:
        return []
    open_factor = OPEN_QUESTION_FACTOR if open_question else 1.0
    scored = []
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
    return scored


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
    query = prompt_features(agent_input or "")
    neighbours = neighbours_find(agent=agent, query=query, relevant=relevant or [], now=now)
    groups = _neighbour_groups(neighbours)
    supporting = _supporting_facts(
        facts=facts or [], agent=agent, agent_input=agent_input or "", query=query, now=now
    )
    _facts_join(groups, supporting)
    scored = _scored(groups, open_question=is_open_question(agent_input or ""))
    return [
        LocalCandidate(
            text=g.text,
            reasoning=_reasoning(g, len(neighbours)),
            confidence=confidence,
            cited_facts=list(g.fact_ids or []),
        )
        for confidence, g in scored[:k]
    ]
