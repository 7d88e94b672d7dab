"""Where an answer comes from: the model, or the offline functions when the provider is local.

Both answer in the same shape (``memories.promotion.schemas``), so the stores downstream do not
know which one spoke.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from clone_server import llm
from memories.promotion import model, offline
from memories.promotion.schemas import checked_offline


@dataclass(frozen=True)
class Answer:
    data: dict
    model: str
    usage: llm.Usage
    used_llm: bool


def _from_model(result: llm.StructuredResult) -> Answer:
    return Answer(result.data, result.model, result.usage, used_llm=True)


def _from_offline(kind: str, data: dict) -> Answer:
    return Answer(checked_offline(kind, data), "local", llm.Usage(), used_llm=False)


def group_summarize(*, rows: list[dict]) -> Answer:
    """``{"title", "summary"}`` for one group of raw rows (dicts with ``id, kind, text,
    occurred_at, agent, prompt_text, reply_text``)."""
    if llm.active_provider() == "local":
        return _from_offline("episode", offline.episode_summarize(rows=rows))
    return _from_model(model.episode_summarize(rows=rows))


def episodes_distill(
    *, episodes: list[dict], existing_facts: Sequence[Mapping[str, Any]]
) -> Answer:
    """``{"new": [...], "reinforce": [...]}`` (see ``FACTS_SCHEMA``) for a batch of episodes
    (dicts with ``id, title, summary, raw``) given the existing facts (``id, kind, text,
    importance``)."""
    if llm.active_provider() == "local":
        found = offline.facts_distill(episodes=episodes, existing_facts=existing_facts)
        return _from_offline("facts", found)
    return _from_model(model.facts_distill(episodes=episodes, existing_facts=existing_facts))
