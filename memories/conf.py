"""Memory settings, each overridable in Django settings (all optional)."""

from django.conf import settings


def setting(name: str, default):
    """Read at call time so tests (and ``override_settings``) can change them."""
    return getattr(settings, name, default)


def sync_chunk_size() -> int:
    """Events rendered per chunk by ``raw_sync``: 100k events never load at once."""
    return int(setting("CLONE_MEMORY_SYNC_CHUNK", 2000))


def bundle_limits() -> dict[str, int]:
    return {
        "facts_limit": int(setting("CLONE_MEMORY_BUNDLE_FACTS", 20)),
        "episodes_limit": int(setting("CLONE_MEMORY_BUNDLE_EPISODES", 10)),
        "raw_limit": int(setting("CLONE_MEMORY_BUNDLE_RAW", 50)),
        "relevant_limit": int(setting("CLONE_MEMORY_BUNDLE_RELEVANT", 10)),
    }


def relevance_window() -> int:
    """Relevance searches the user's newest this-many answered prompts (bounded cost per input)."""
    return max(1, int(setting("CLONE_MEMORY_RELEVANCE_WINDOW", 1000)))


def episode_gap_minutes() -> float:
    """A gap longer than this between two raw rows of one session starts a new episode."""
    return float(setting("CLONE_MEMORY_EPISODE_GAP_MINUTES", 30))


def promote_max_rows() -> int:
    """Raw rows one ``promote/episodes/`` call consumes at most."""
    return int(setting("CLONE_MEMORY_PROMOTE_MAX_ROWS", 1000))


def episode_max_rows() -> int:
    """Rows summarized by one LLM call at most; a longer group is split into several episodes."""
    return int(setting("CLONE_MEMORY_EPISODE_MAX_ROWS", 200))


def promote_max_episodes() -> int:
    """Episodes one ``promote/facts/`` call distills at most."""
    return int(setting("CLONE_MEMORY_PROMOTE_MAX_EPISODES", 50))


def distill_episodes_per_call() -> int:
    """Episodes given to one LLM call when distilling facts."""
    return int(setting("CLONE_MEMORY_DISTILL_EPISODES_PER_CALL", 10))


def distill_max_existing_facts() -> int:
    """The most important existing facts shown to the LLM so it reinforces instead of repeating."""
    return int(setting("CLONE_MEMORY_DISTILL_EXISTING_FACTS", 200))


def promotion_model() -> str | None:
    """The model promotion uses; None means the gateway's default model."""
    return setting("CLONE_MEMORY_PROMOTION_MODEL", None) or None
