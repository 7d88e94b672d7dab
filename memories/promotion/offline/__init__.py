"""Promotion without a model: pure, deterministic functions over plain dicts (no database, no
clock, no network), answering in the model path's shapes (``memories.promotion.schemas``)."""

from memories.promotion.offline.episodes import episode_summarize
from memories.promotion.offline.facts import facts_distill

__all__ = ["episode_summarize", "facts_distill"]
