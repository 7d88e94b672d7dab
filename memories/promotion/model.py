"""The model-driven path: one gateway call per episode or batch of episodes."""

import json
from collections.abc import Mapping, Sequence
from typing import Any

from clone_server import llm
from memories import conf
from memories.promotion.prompts import EPISODE_SYSTEM, FACTS_SYSTEM
from memories.promotion.schemas import EPISODE_SCHEMA, FACTS_SCHEMA

# Rows of one episode shown to the model when distilling facts.
DISTILL_ROWS_PER_EPISODE = 40


def episode_summarize(*, rows: list[dict]) -> llm.StructuredResult:
    """The model's ``{"title", "summary"}`` for one group of raw rows."""
    log = "\n".join(f"[{row['occurred_at']}] {row['text']}" for row in rows)
    return llm.structured_call(
        system=EPISODE_SYSTEM,
        messages=[{"role": "user", "content": f"Session log:\n{log}"}],
        schema=EPISODE_SCHEMA,
        tool_name="record_episode",
        tool_description="Record the episode's title and summary.",
        model=conf.promotion_model(),
        cache_system=True,
    )


def facts_distill(
    *, episodes: list[dict], existing_facts: Sequence[Mapping[str, Any]]
) -> llm.StructuredResult:
    """The model's ``{"new": [...], "reinforce": [...]}`` for a batch of episodes, each shown
    with its first ``DISTILL_ROWS_PER_EPISODE`` rows, given the existing facts."""
    shown = [
        {
            "id": e["id"],
            "title": e["title"],
            "summary": e["summary"],
            "excerpt": [row["text"] for row in e["raw"][:DISTILL_ROWS_PER_EPISODE]],
        }
        for e in episodes
    ]
    content = (
        "Known facts:\n"
        + json.dumps(existing_facts, ensure_ascii=False)
        + "\n\nNew episodes:\n"
        + json.dumps(shown, ensure_ascii=False, default=str)
    )
    return llm.structured_call(
        system=FACTS_SYSTEM,
        messages=[{"role": "user", "content": content}],
        schema=FACTS_SCHEMA,
        tool_name="record_facts",
        tool_description="Record new facts and reinforcements of known facts.",
        model=conf.promotion_model(),
        cache_system=True,
    )
