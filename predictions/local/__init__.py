"""The local (offline) predictor: the person's own past replies, retrieved and voted on.

No network, no model: pure functions over the plain dicts of Memory's context bundle (the
algorithm is described in :mod:`predictions.local.predictor`).
"""

from predictions.local.predictor import LocalCandidate, replies_predict

__all__ = ["LocalCandidate", "replies_predict"]
