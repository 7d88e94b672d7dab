"""Promotion: raw rows -> episodes -> facts, through the Anthropic gateway or offline.

- ``episodes``: groups raw rows and stores one episode per group (``episodes_promote``);
- ``facts``: distills episodes into facts, reinforcing known ones (``facts_promote``);
- ``answers``: asks the model (``model``, ``prompts``) or the offline path (``offline``);
- ``schemas``: the one shape both answer in.

The model's answers and the offline functions' return values have the same shape, so one code
path validates and stores both. Every write happens only after the answer came, one
transaction per group or batch: a provider failure leaves the groups already stored complete
and nothing of the failed one.
"""

from memories.promotion.episodes import (
    EpisodePromotion,
    episodes_promote,
    episodes_promote_bounded,
)
from memories.promotion.facts import FactPromotion, facts_promote, facts_promote_bounded
from memories.promotion.schemas import EPISODE_SCHEMA, FACTS_SCHEMA

__all__ = [
    "EPISODE_SCHEMA",
    "FACTS_SCHEMA",
    "EpisodePromotion",
    "FactPromotion",
    "episodes_promote",
    "episodes_promote_bounded",
    "facts_promote",
    "facts_promote_bounded",
]
