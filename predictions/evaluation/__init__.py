"""Prequential evaluation of the predictor on a recorded history (``manage.py evaluate``).

- ``replay``: the replay itself (events in time order through the real services, every answered
  prompt predicted from what came before, judged, fed back, calibration refit) and the two
  baselines computed on the same stream;
- ``report``: the figures (pure arithmetic over the replay's records) and the readable table;
- ``plot``: the reliability diagram and risk-coverage curve as a PNG (needs matplotlib, the
  optional ``plot`` extra);
- ``progress``: a tiny progress bar, drawn only on a terminal.
"""

from predictions.evaluation.replay import (
    DatasetError,
    Record,
    ReplayResult,
    dataset_read,
    evaluation_user_create,
    evaluation_user_delete,
    replay_run,
)
from predictions.evaluation.report import report_build, report_table

__all__ = [
    "DatasetError",
    "Record",
    "ReplayResult",
    "dataset_read",
    "evaluation_user_create",
    "evaluation_user_delete",
    "replay_run",
    "report_build",
    "report_table",
]
