"""Find the person's earlier answers to prompts like a new one.

Postgres: one query for any number of inputs. Each input becomes an OR-ed ``tsquery`` on the
english configuration (stemming: "migrations" finds "migrate"), widened by a small synonym
table (``clone_server.text``). The match is
computed once per query over the user's newest ``relevance_window()`` answered prompts (read
by a backward scan of a small partial btree), so the work per input is bounded by the window,
not by the history (``bench/bundle.py`` measures it). The best
``RERANK_CANDIDATES`` by ``ts_rank`` (length-normalized) are re-scored with the ``pg_trgm``
similarity of the whole texts added, which favours prompts worded like the input; ties go to
the most recent. (Trigram similarity as a
second match condition was tried and dropped: it cannot use an index selectively.)
Other databases (the SQLite first-run default): a token-overlap score over the user's most
recent answered prompts, also one query.
"""

import re
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import connection

from clone_server.text import WIDER_WORDS
from memories import conf
from memories.models import RawMemory
from recording.models import EventKind

MAX_TERMS = 48
# Best full-text matches per input re-scored with trigram similarity.
RERANK_CANDIDATES = 50
MAX_INPUT_CHARS = 4000
# The SQLite fallback scores this many of the user's latest answered prompts.
FALLBACK_CANDIDATES = 5000

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)


def query_terms(text: str) -> list[str]:
    """Lower-cased word tokens of ``text`` plus their synonyms, de-duplicated, bounded."""
    terms: dict[str, None] = {}
    for token in _TOKEN.findall(text[:MAX_INPUT_CHARS].lower()):
        if len(token) < 2:
            continue
        terms.setdefault(token, None)
        for synonym in WIDER_WORDS.get(token, ()):
            terms.setdefault(synonym, None)
    return list(terms)[:MAX_TERMS]


def _tsquery_source(text: str) -> str:
    """Raw ``to_tsquery`` text: the terms OR-ed (stemmed by Postgres). No prefix matching: it
    made matching the window much slower and changed no figure of the demo evaluation. Tokens are letters and digits only, so nothing in the input
    can alter the query syntax."""
    return " | ".join(query_terms(text))


def _row(
    *, key: str, agent: str, prompt: str | None, reply: str | None, at: datetime, score: float
) -> dict[str, Any]:
    return {
        "prompt_event_id": key,
        "agent": agent,
        "prompt": prompt,
        "reply": reply,
        "occurred_at": at.isoformat(),
        "score": round(float(score), 6),
    }


def _postgres(*, user: User, inputs: list[str], limit: int) -> list[list[dict]]:
    table = connection.ops.quote_name(RawMemory._meta.db_table)
    # The tsquery is parsed once per input here, not once per candidate row.
    values = ", ".join(["(%s::int, to_tsquery('english', %s), %s::text)"] * len(inputs))
    params: list[Any] = [user.pk, conf.relevance_window()]
    for index, text in enumerate(inputs):
        params.extend([index, _tsquery_source(text), text[:MAX_INPUT_CHARS]])
    params.extend([max(limit, RERANK_CANDIDATES), limit])
    # The window, read once per query whatever the number of inputs: the user's newest answered
    # prompts, by a backward scan of a small partial btree (W heap reads), keeping only what the
    # match needs; the texts are fetched by id for the RERANK_CANDIDATES survivors alone. Each
    # input then scans the window in memory, so the cost per input is bounded by W, not by the
    # history. Two stages per input: the cheap ts_rank keeps the best RERANK_CANDIDATES; only
    # those pay for trigram similarity, which costs several times more a row than ts_rank.
    # SQL built as a string: the table name is the model's, quoted; values are bound parameters.
    sql = f"""
        WITH win AS MATERIALIZED (
            SELECT a.id, a.occurred_at, a.search
            FROM {table} a
            WHERE a.user_id = %s AND a.kind = 'agent_prompt' AND a.reply_text IS NOT NULL
            ORDER BY a.id DESC
            LIMIT %s
        )
        SELECT q.idx, r.event_key, r.agent, r.prompt_text, r.reply_text, r.occurred_at, r.score
        FROM (VALUES {values}) AS q(idx, tsq, input)
        CROSS JOIN LATERAL (
            SELECT c.id, t.event_key, t.agent, t.prompt_text, t.reply_text, c.occurred_at,
                   c.rank + similarity(t.prompt_text, q.input) AS score
            FROM (
                SELECT m.id, m.occurred_at, ts_rank(m.search, q.tsq, 1) AS rank
                FROM win m
                WHERE m.search @@ q.tsq
                ORDER BY rank DESC, m.occurred_at DESC, m.id DESC
                LIMIT %s
            ) c
            JOIN {table} t ON t.id = c.id
            ORDER BY score DESC, c.occurred_at DESC, c.id DESC
            LIMIT %s
        ) r
        ORDER BY q.idx, r.score DESC, r.occurred_at DESC, r.id DESC
    """  # noqa: S608
    results: list[list[dict]] = [[] for _ in inputs]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for idx, key, agent, prompt, reply, at, score in cursor.fetchall():
            results[idx].append(
                _row(key=key, agent=agent, prompt=prompt, reply=reply, at=at, score=score)
            )
    return results


def _stem(word: str) -> str:
    """A crude suffix stripper for the fallback: running -> run, migrations -> migr."""
    for suffix in ("ations", "ation", "ings", "ing", "ies", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)]
            if len(stem) >= 4 and stem[-1] == stem[-2] and stem[-1] not in "aeiouls":
                stem = stem[:-1]  # running -> runn -> run
            return stem
    return word


def _wanted_stems(query: str) -> set[str]:
    return {_stem(t) for t in _TOKEN.findall(query.lower()) if len(t) >= 2}


def _present_stems(prompt: str) -> set[str]:
    return {_stem(t) for t in query_terms(prompt)}


def overlap_score(query: str, prompt: str) -> float:
    """Share of the query's (stemmed, synonym-widened) terms found in the prompt, in [0, 1]."""
    return _overlap(_wanted_stems(query), _present_stems(prompt))


def _overlap(wanted: set[str], have: set[str]) -> float:
    if not wanted:
        return 0.0
    hits = sum(
        1
        for word in wanted
        if word in have or any(_stem(s) in have for s in WIDER_WORDS.get(word, ()))
    )
    return hits / len(wanted)


def _fallback(*, user: User, inputs: list[str], limit: int) -> list[list[dict]]:
    candidates = list(
        RawMemory.objects.filter(user=user, kind=EventKind.AGENT_PROMPT, reply_text__isnull=False)
        .order_by("-occurred_at", "-id")
        .values_list("event_key", "agent", "prompt_text", "reply_text", "occurred_at")[
            : min(FALLBACK_CANDIDATES, conf.relevance_window())
        ]
    )
    # Each prompt's stems once, not once per input.
    present = [_present_stems(row[2] or "") for row in candidates]
    results = []
    for text in inputs:
        wanted = _wanted_stems(text)
        scored = [
            (_overlap(wanted, have), position, row)
            for position, (have, row) in enumerate(zip(present, candidates, strict=True))
        ]
        best = sorted((s for s in scored if s[0] > 0), key=lambda s: (-s[0], s[1]))[:limit]
        results.append(
            [
                _row(key=k, agent=a, prompt=p, reply=r, at=at, score=score)
                for score, _, (k, a, p, r, at) in best
            ]
        )
    return results


def relevant_search(*, user: User, inputs: list[str], limit: int) -> list[list[dict]]:
    """For each input, up to ``limit`` answered prompts ranked by similarity. One query in all
    (none when every input is blank or ``limit`` is 0)."""
    results: list[list[dict]] = [[] for _ in inputs]
    live = [(i, text) for i, text in enumerate(inputs) if text and text.strip()]
    if not live or limit <= 0:
        return results
    search = _postgres if connection.vendor == "postgresql" else _fallback
    found = search(user=user, inputs=[text for _, text in live], limit=limit)
    for (index, _), rows in zip(live, found, strict=True):
        results[index] = rows
    return results
