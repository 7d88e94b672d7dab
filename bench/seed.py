"""Fast bulk data for the benchmarks, generated inside Postgres (``INSERT ... SELECT`` over
``generate_series``): no row crosses the wire, so a million rows take seconds, not minutes.

The rows have the shapes the service itself writes: every raw row has its Recording event
(``memories_rawmemory.event_id`` is a one-to-one link), agent prompts carry the agent, the prompt
and the reply of the ``user_reply`` that follows them, and answered prompts get the same
``to_tsvector('english', prompt_text)`` that ``raw_sync`` computes. Texts are 8-14 words drawn
deterministically (``hashint4``) from a developer vocabulary, so full-text queries match a
realistic share of rows.

Per 20 events: 3 agent prompts, each answered by the user_reply three positions later,
6 terminal turns, 5 desktop frames, 2 webhooks, 1 note (15% prompts, like bench/ingest.py).

    python bench/seed.py --database clone_bench_seed --raw 100000 --facts 5000 --episodes 2000

The functions take an open psycopg connection; each commits its own work.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg

from bench.support import connect, prepare

_VOCABULARY = (
    "run migrate migrations database tests pytest suite failing flaky fixture deploy staging "
    "production rollback branch rebase merge commit push pull request review approve lint ruff "
    "format typing mypy docker compose container image build cache invalidate redis postgres "
    "index query slow latency timeout retry queue worker celery cron job schedule backup dump "
    "restore snapshot config settings environment variable secret token key rotate auth login "
    "session cookie cors header endpoint api route handler view serializer model field schema "
    "validate error exception crash bug fix patch hotfix release version bump upgrade dependency "
    "package install remove delete drop table column rename refactor cleanup rewrite module "
    "service selector payment invoice customer order cart checkout shipping email notification "
    "template frontend react component state hook style css layout mobile desktop window log "
    "metrics dashboard alert monitor trace profile memory leak cpu disk network proxy nginx "
    "gunicorn uvicorn thread process async await lock race deadlock transaction commit savepoint"
)
WORDS = tuple(_VOCABULARY.split())
AGENTS = ("claude-code", "cursor", "aider", "codex")
REPLIES = (
    "yes go ahead",
    "no wait until the review is done",
    "yes but run the tests first",
    "not on production please",
    "sure ship it",
    "no keep the old behaviour",
    "yes and open a pull request",
    "skip it for now",
)
KIND_CASE = """CASE
    WHEN mod(g, 20) IN (0, 1, 2) THEN 'agent_prompt'
    WHEN mod(g, 20) IN (3, 4, 5) THEN 'user_reply'
    WHEN mod(g, 20) BETWEEN 6 AND 11 THEN 'terminal_turn'
    WHEN mod(g, 20) BETWEEN 12 AND 16 THEN 'desktop_frame'
    WHEN mod(g, 20) IN (17, 18) THEN 'integration_webhook'
    ELSE 'note' END"""


def _pick(array: str, key: str, size: int) -> str:
    """SQL: a deterministic element of ``array`` (1-based) chosen by hashing ``key``."""
    return f"{array}[1 + mod(hashint4({key}) & 2147483647, {size})]"


def _text(key: str, words: int) -> str:
    """SQL: ``words`` vocabulary words chosen by hashing ``key`` (an integer expression)."""
    parts = [_pick("w", f"({key}) * 53 + {i}", len(WORDS)) for i in range(words)]
    return " || ' ' || ".join(parts)


def _literal_array(values: tuple[str, ...] | list[str]) -> str:
    return "(ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]::text[])"


def _skip_fk_checks(conn: psycopg.Connection) -> None:
    """For this transaction only, no foreign-key triggers: the rows made here are consistent by
    construction, and Django's deferred FK checks ran one by one at COMMIT (201 s for 2M rows)."""
    conn.execute("SET LOCAL session_replication_role = replica")


def users_create(conn: psycopg.Connection, *, prefix: str, count: int) -> list[int]:
    """``count`` users named ``{prefix}{i}`` (unusable passwords); existing ones are reused."""
    conn.execute(
        """
        INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email,
                               is_staff, is_active, date_joined)
        SELECT '!', false, %(prefix)s::text || i, '', '', '', false, true, now()
        FROM generate_series(1, %(count)s) i
        ON CONFLICT (username) DO NOTHING
        """,
        {"prefix": prefix, "count": count},
    )
    rows = conn.execute(
        "SELECT id FROM auth_user WHERE username = ANY(%s) ORDER BY id",
        [[f"{prefix}{i}" for i in range(1, count + 1)]],
    ).fetchall()
    conn.commit()
    return [r[0] for r in rows]


def memory_seed(
    conn: psycopg.Connection,
    *,
    user_id: int,
    raw: int,
    facts: int = 0,
    episodes: int = 0,
    events_per_session: int = 500,
) -> dict[str, float]:
    """Give ``user_id`` ``raw`` events and raw rows (oldest first, 10 s apart, ending now),
    ``facts`` facts, ``episodes`` episodes and a profile. Returns seconds per step."""
    w = _literal_array(list(WORDS))
    agents = _literal_array(AGENTS)
    replies = _literal_array(REPLIES)
    sessions = max(1, -(-raw // events_per_session))
    times: dict[str, float] = {}
    started = time.perf_counter()
    _skip_fk_checks(conn)
    key = f"seed-{user_id}-"
    conn.execute(
        """
        INSERT INTO recording_recordingsession
            (external_id, started_at, last_event_at, event_count, created_at, user_id)
        SELECT %(key)s::text || s, now() - make_interval(secs => 10 * %(raw)s), now(), %(per)s, now(),
               %(user)s
        FROM generate_series(0, %(sessions)s - 1) s
        ON CONFLICT DO NOTHING
        """,
        {"key": key, "raw": raw, "per": events_per_session, "sessions": sessions, "user": user_id},
    )
    first_session = conn.execute(
        "SELECT min(id) FROM recording_recordingsession WHERE user_id = %s AND external_id LIKE %s",
        [user_id, key + "%"],
    ).fetchone()[0]
    # Prompt g is answered by the reply g + 3 (same position in the next triple).
    prompt_text = _text("g", 10)
    reply_text = f"{replies}[1 + mod(hashint4(g * 7) & 2147483647, {len(REPLIES)})]"
    # The reply that answers prompt g is event g + 3: its text, computed without a self-join.
    reply_next = reply_text.replace("g * 7", "(n.g + 3) * 7")
    # SQL built as a string: only this script's constants are interpolated; values are bound.
    conn.execute(
        f"""
        INSERT INTO recording_event
            (event_id, kind, occurred_at, source, payload, received_at, user_id, session_id)
        SELECT %(key)s::text || g, k.kind,
               now() - make_interval(secs => 10 * (%(raw)s - g)), 'seed',
               CASE k.kind
                 WHEN 'agent_prompt' THEN jsonb_build_object(
                     'agent', {_pick(agents, "g", len(AGENTS))}, 'text', {prompt_text})
                 WHEN 'user_reply' THEN jsonb_build_object(
                     'text', {reply_text}, 'in_reply_to', %(key)s::text || (g - 3))
                 WHEN 'terminal_turn' THEN jsonb_build_object(
                     'command', {_text("g", 3)}, 'exit_code', mod(g, 3), 'cwd', '~/src/shop')
                 WHEN 'desktop_frame' THEN jsonb_build_object(
                     'app', 'Code', 'window_title', {_text("g", 4)})
                 WHEN 'integration_webhook' THEN jsonb_build_object(
                     'integration', 'github', 'event', 'pull_request',
                     'data', jsonb_build_object('title', {_text("g", 6)}))
                 ELSE jsonb_build_object('text', {_text("g", 12)})
               END,
               now(), %(user)s, %(first)s + g / %(per)s
        FROM generate_series(0, %(raw)s - 1) g,
             LATERAL (SELECT {KIND_CASE} AS kind) k,
             (SELECT {w} AS w) v
        ON CONFLICT DO NOTHING
        """,  # noqa: S608
        {
            "key": key,
            "raw": raw,
            "user": user_id,
            "first": first_session,
            "per": events_per_session,
        },
    )
    times["events_s"] = time.perf_counter() - started
    step = time.perf_counter()
    # The raw rows event_sentence would write, with the reply linked and the search vector set.
    # SQL built as a string: only this script's constants are interpolated; values are bound.
    conn.execute(
        f"""
        INSERT INTO memories_rawmemory
            (event_key, kind, text, occurred_at, agent, prompt_text, reply_text, in_reply_to,
             search, created_at, episode_id, event_id, session_id, user_id)
        SELECT e.event_id, e.kind,
               CASE e.kind
                 WHEN 'agent_prompt' THEN (e.payload->>'agent') || ' asked: "'
                                          || (e.payload->>'text') || '"'
                 WHEN 'user_reply' THEN 'Replied: "' || (e.payload->>'text') || '"'
                 WHEN 'terminal_turn' THEN 'Ran "' || (e.payload->>'command')
                                           || '" in ~/src/shop.'
                 WHEN 'desktop_frame' THEN 'Looked at "' || (e.payload->>'window_title')
                                           || '" in Code.'
                 WHEN 'integration_webhook' THEN 'github reported "pull_request".'
                 ELSE 'Noted: "' || (e.payload->>'text') || '"'
               END,
               e.occurred_at,
               coalesce(e.payload->>'agent', ''),
               CASE WHEN e.kind = 'agent_prompt' THEN e.payload->>'text' END,
               CASE WHEN e.kind = 'user_reply' THEN e.payload->>'text'
                    WHEN e.kind = 'agent_prompt' AND n.g + 3 < %(raw)s THEN {reply_next} END,
               coalesce(e.payload->>'in_reply_to', ''),
               CASE WHEN e.kind = 'agent_prompt' AND n.g + 3 < %(raw)s
                    THEN to_tsvector('english'::regconfig, e.payload->>'text') END,
               now(), NULL, e.id, e.session_id, e.user_id
        FROM recording_event e,
             LATERAL (SELECT split_part(e.event_id, '-', 3)::int AS g) n
        WHERE e.user_id = %(user)s AND e.event_id LIKE %(like)s
        ON CONFLICT DO NOTHING
        """,  # noqa: S608
        {"raw": raw, "user": user_id, "like": key + "%"},
    )
    times["raw_s"] = time.perf_counter() - step
    step = time.perf_counter()
    if facts:
        # SQL built as a string: only this script's constants are interpolated; values are bound.
        conn.execute(
            f"""
            INSERT INTO memories_semanticmemory
                (kind, text, importance, tags, revisions, reinforced_count, created_at,
                 updated_at, user_id)
            SELECT 'stated', 'Prefers to ' || {_text("g + 7919", 8)},
                   mod(hashint4(g * 13) & 2147483647, 1001) / 1000.0,
                   '["seed"]'::jsonb, '[]'::jsonb, 0,
                   now() - make_interval(secs => g), now() - make_interval(secs => g), %(user)s
            FROM generate_series(1, %(facts)s) g, (SELECT {w} AS w) v
            """,  # noqa: S608
            {"user": user_id, "facts": facts},
        )
    if episodes:
        # SQL built as a string: only this script's constants are interpolated; values are bound.
        conn.execute(
            f"""
            INSERT INTO memories_episodicmemory
                (started_at, ended_at, title, summary, distilled_at, model, created_at,
                 session_id, user_id)
            SELECT now() - make_interval(secs => 600 * g + 300),
                   now() - make_interval(secs => 600 * g),
                   'Worked on ' || {_text("g + 104729", 4)},
                   'The person ' || {_text("g + 1299709", 14)},
                   now(), 'seed', now(), %(first)s, %(user)s
            FROM generate_series(1, %(episodes)s) g, (SELECT {w} AS w) v
            """,  # noqa: S608
            {"user": user_id, "episodes": episodes, "first": first_session},
        )
    conn.execute(
        """
        INSERT INTO memories_userprofile
            (body, calibration, created_at, updated_at, user_id, agent_thresholds,
             headless_answering)
        VALUES ('A backend developer who runs the tests before every push and never deploys on
                 Fridays.', '{}'::jsonb, now(), now(), %s, '{}'::jsonb, false)
        ON CONFLICT (user_id) DO NOTHING
        """,
        [user_id],
    )
    conn.commit()
    times["facts_episodes_s"] = time.perf_counter() - step
    return times


def memory_user_ensure(
    conn: psycopg.Connection, *, username: str, raw: int, facts: int = 0, episodes: int = 0
) -> tuple[int, dict[str, float]]:
    """The id of user ``username`` holding exactly this data, seeded unless already there (a
    re-run of one module reuses the rows; a user with other counts is rebuilt)."""
    found = conn.execute("SELECT id FROM auth_user WHERE username = %s", [username]).fetchone()
    if found:
        have = conn.execute(
            """SELECT (SELECT count(*) FROM memories_rawmemory WHERE user_id = %(u)s),
                      (SELECT count(*) FROM memories_semanticmemory WHERE user_id = %(u)s),
                      (SELECT count(*) FROM memories_episodicmemory WHERE user_id = %(u)s)""",
            {"u": found[0]},
        ).fetchone()
        if tuple(have) == (raw, facts, episodes):
            return found[0], {}
        user_delete_sql(conn, found[0])
    conn.execute(
        """INSERT INTO auth_user (password, is_superuser, username, first_name, last_name,
                                  email, is_staff, is_active, date_joined)
           VALUES ('!', false, %s, '', '', '', false, true, now())""",
        [username],
    )
    user_id = conn.execute("SELECT id FROM auth_user WHERE username = %s", [username]).fetchone()[0]
    conn.commit()
    return user_id, memory_seed(conn, user_id=user_id, raw=raw, facts=facts, episodes=episodes)


def user_delete_sql(conn: psycopg.Connection, user_id: int) -> None:
    """Delete a user's rows from every table the suite fills, children first."""
    for table in (
        "memories_semanticmemory_source_episodes",
        "memories_rawmemory",
        "memories_semanticmemory",
        "memories_episodicmemory",
        "memories_userprofile",
        "memories_memoryupkeep",
        "predictions_agentrequest",
        "predictions_prediction",
        "recording_event",
        "recording_recordingsession",
        "accounts_apikey",
        "auth_user",
    ):
        if table == "memories_semanticmemory_source_episodes":
            # SQL built as a string: only this script's constants are interpolated; values are bound.
            conn.execute(
                f"DELETE FROM {table} WHERE semanticmemory_id IN "  # noqa: S608
                "(SELECT id FROM memories_semanticmemory WHERE user_id = %s)",
                [user_id],
            )
        else:
            column = "id" if table == "auth_user" else "user_id"
            # SQL built as a string: only this script's constants are interpolated; values are bound.
            conn.execute(f"DELETE FROM {table} WHERE {column} = %s", [user_id])  # noqa: S608
    conn.commit()


def labels_seed(conn: psycopg.Connection, *, user_ids: list[int], labels: int) -> float:
    """``labels`` labelled predictions for each user (accepted/edited/rejected, raw confidence
    with two decimals that predicts acceptance), plus a few unlabelled ones. Seconds.

    Rows as the service leaves them: automatic ones answered by Clone when made; escalated ones
    with feedback answered by the person at ``feedback_at`` (``prediction_feedback``); escalated
    ones without feedback still waiting (no ``answered_by``, no ``answered_at``, no
    ``feedback_at``). No tool, options or prompt event; blank cwd and context."""
    started = time.perf_counter()
    _skip_fk_checks(conn)
    conn.execute(
        """
        INSERT INTO predictions_prediction
            (agent, agent_input, threshold, k, status, confidence, raw_confidence, candidates,
             cited_facts, model, usage, latency_ms, outcome, actual_reply, feedback_at,
             decay_applied, created_at, user_id, escalation_reason, tool, options, cwd, context,
             prompt_event_id, answered_by, answered_at)
        SELECT 'claude-code', 'Run the migrations?', 0.8, 3, s.status, x, x, '[]'::jsonb,
               '[]'::jsonb, 'seed', '{}'::jsonb, 0, o.outcome, '', o.feedback_at,
               '{}'::jsonb, t.created_at, u,
               CASE WHEN s.status = 'auto' THEN '' ELSE 'below_threshold' END,
               NULL, NULL, '', '', NULL,
               CASE WHEN s.status = 'auto' THEN 'clone'
                    WHEN o.outcome IS NOT NULL THEN 'person'
                    ELSE '' END,
               CASE WHEN s.status = 'auto' THEN t.created_at
                    ELSE o.feedback_at END
        FROM unnest(%(users)s::int[]) u,
             generate_series(1, %(labels)s + 20) g,
             LATERAL (SELECT round(((mod(hashint4(u * 100003 + g) & 2147483647, 100)) / 100.0
                                    + 0.005)::numeric, 2)::float8 AS x,
                             mod(hashint4(u * 7919 + g * 31) & 2147483647, 10000) / 10000.0 AS y,
                             now() - make_interval(secs => g) AS created_at
                     ) t,
             LATERAL (SELECT CASE WHEN x >= 0.8 THEN 'auto' ELSE 'escalated' END AS status) s,
             LATERAL (SELECT CASE WHEN g > %(labels)s THEN NULL
                                  WHEN y < 0.85 * x * x THEN 'accepted'
                                  WHEN y < x * x THEN 'edited'
                                  ELSE 'rejected' END AS outcome) oc,
             LATERAL (SELECT oc.outcome,
                             CASE WHEN oc.outcome IS NULL THEN NULL
                                  ELSE least(now(), t.created_at + interval '30 seconds')
                             END AS feedback_at
                     ) o
        """,
        {"users": user_ids, "labels": labels},
    )
    conn.commit()
    return time.perf_counter() - started


def analyze(conn: psycopg.Connection) -> None:
    """Fresh planner statistics (autovacuum may not have run yet after a bulk load)."""
    conn.commit()  # VACUUM runs outside a transaction; a read may have opened one
    conn.autocommit = True
    try:
        conn.execute("VACUUM ANALYZE")
    finally:
        conn.autocommit = False


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="clone_bench_seed")
    parser.add_argument("--username", default="seed_user")
    parser.add_argument("--raw", type=int, default=100_000)
    parser.add_argument("--facts", type=int, default=5_000)
    parser.add_argument("--episodes", type=int, default=2_000)
    args = parser.parse_args(argv)
    database_url = prepare(args.database)
    with connect(database_url) as conn:
        (user_id,) = users_create(conn, prefix=args.username, count=1)
        times = memory_seed(
            conn, user_id=user_id, raw=args.raw, facts=args.facts, episodes=args.episodes
        )
        analyze(conn)
    print({k: round(v, 2) for k, v in times.items()})


if __name__ == "__main__":
    main()
