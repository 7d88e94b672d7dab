"""A synthetic, deterministic history of one developer working with coding agents.

``demo_history(days=30, seed=7)`` returns CloneEvents in the exact wire shape of
``POST /api/recording/events/``, sorted by time: terminal turns, desktop frames, GitHub and
Linear webhooks, a few notes, and agent prompts each answered (seconds to minutes later, in the
same session) by a ``user_reply`` whose ``in_reply_to`` is the prompt's id.

The person ("Sam", at Acme) has habits a good predictor can learn from history, stated once in
``INTENTS`` with the probability of each answer: pnpm over npm, a PR instead of pushing to main,
a database backup before migrations, ``feat/<topic>`` branch names, spaces, type hints, and no
commits late on Friday (no pushes on Fridays at all). Each question comes in several wordings, so
retrieval has to generalise, and about a quarter of the prompts are open questions whose answers
vary (``Intent.predictable`` is False). Same seed, same output; nothing depends on the clock.

Modules: ``habits`` (the questions and how Sam answers), ``world`` (projects, tickets, screens),
``generator`` (the day-by-day layout and the wire shape).
"""

from recording.demo.generator import (
    DEFAULT_START,
    DEMO_TZ,
    MAX_DAYS,
    DemoHistory,
    demo_generate,
    demo_history,
)
from recording.demo.habits import INTENTS, Intent

__all__ = [
    "DEFAULT_START",
    "DEMO_TZ",
    "INTENTS",
    "MAX_DAYS",
    "DemoHistory",
    "Intent",
    "demo_generate",
    "demo_history",
]
