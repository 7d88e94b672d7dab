"""Memory settings, read at call time so tests (and ``override_settings``) can change them.

The defaults live in ``clone_server/settings.py`` (environment-driven), nowhere else.
"""

from django.conf import settings


def bounded(requested: int | None, cap: int) -> int:
    """What a caller asked for, never above ``cap``; ``cap`` when it asked for nothing."""
    return cap if requested is None else min(requested, cap)


def sync_chunk_size() -> int:
    """Events rendered per chunk by ``raw_sync``: 100k events never load at once."""
    return int(settings.CLONE_MEMORY_SYNC_CHUNK)


def bundle_limits() -> dict[str, int]:
    return {
        "facts_limit": int(settings.CLONE_MEMORY_BUNDLE_FACTS),
        "episodes_limit": int(settings.CLONE_MEMORY_BUNDLE_EPISODES),
        "raw_limit": int(settings.CLONE_MEMORY_BUNDLE_RAW),
        "relevant_limit": int(settings.CLONE_MEMORY_BUNDLE_RELEVANT),
    }


def relevance_window() -> int:
    """Relevance searches the user's newest this-many answered prompts (bounded cost per input)."""
    return max(1, int(settings.CLONE_MEMORY_RELEVANCE_WINDOW))


def episode_gap_minutes() -> float:
    """A gap longer than this between two raw rows of one session starts a new episode."""
    return float(settings.CLONE_MEMORY_EPISODE_GAP_MINUTES)


def promote_max_rows() -> int:
    """Raw rows one ``promote/episodes/`` call consumes at most."""
    return int(settings.CLONE_MEMORY_PROMOTE_MAX_ROWS)


def episode_max_rows() -> int:
    """Rows summarized by one LLM call at most; a longer group is split into several episodes."""
    return int(settings.CLONE_MEMORY_EPISODE_MAX_ROWS)


def promote_max_episodes() -> int:
    """Episodes one ``promote/facts/`` call distills at most."""
    return int(settings.CLONE_MEMORY_PROMOTE_MAX_EPISODES)


def distill_episodes_per_call() -> int:
    """Episodes given to one LLM call when distilling facts."""
    return int(settings.CLONE_MEMORY_DISTILL_EPISODES_PER_CALL)


def distill_max_existing_facts() -> int:
    """The most important existing facts shown to the LLM so it reinforces instead of repeating."""
    return int(settings.CLONE_MEMORY_DISTILL_EXISTING_FACTS)


def promotion_model() -> str | None:
    """The model promotion uses; None means the gateway's default model."""
    return settings.CLONE_MEMORY_PROMOTION_MODEL or None
