"""Behavioural decay: a prediction's outcome confirms or contradicts the facts it cited.

Asymmetric: +0.04 per confirmation (accepted), -0.08 per contradiction (rejected), nothing for
an edit; importance stays in [0, 1]. Flip-aware and exact: the caller keeps the deltas actually
applied last time (after clamping) and passes them back, so a reversal takes back exactly what
was applied and clamping never leaves drift behind. Facts at zero are kept, never deleted; they
sort last in every bundle.
"""

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from memories.models import SemanticMemory

CONFIRM_DELTA = 0.04
CONTRADICT_DELTA = -0.08
OUTCOME_DELTAS: dict[str, float] = {
    "accepted": CONFIRM_DELTA,
    "rejected": CONTRADICT_DELTA,
    "edited": 0.0,
}
# Importances are rounded so that +0.04 then -0.04 returns exactly to where it started.
_PLACES = 9


def clamp_importance(value: float) -> float:
    """``value`` within [0, 1], rounded to the places every importance is stored with."""
    return round(min(1.0, max(0.0, value)), _PLACES)


def _delta(outcome: str | None) -> float:
    if outcome is None:
        return 0.0
    if outcome not in OUTCOME_DELTAS:
        raise ValueError(f"unknown outcome {outcome!r}; expected one of {sorted(OUTCOME_DELTAS)}")
    return OUTCOME_DELTAS[outcome]


@transaction.atomic
def apply_outcome(
    *,
    user: User,
    fact_ids: list[int],
    previous: str | None,
    outcome: str | None,
    applied: dict[str, float] | None = None,
) -> dict[str, float]:
    """Move the cited facts' importance from ``previous`` outcome to ``outcome``.

    ``applied`` maps ``str(fact_id)`` to the change applied for ``previous`` (what this
    function returned last time; store it with the prediction). Returns the changes applied for
    ``outcome``, to store in its place. For each of the user's facts among ``fact_ids`` (other
    users' ids and deleted facts are ignored): take back exactly the previously applied change,
    then apply the new outcome's delta clamped to [0, 1], recording the change actually made.
    Same outcome as before: nothing changes and ``applied`` comes back as it was. ``outcome``
    None (feedback withdrawn) only reverses. When ``applied`` is missing but ``previous`` is
    set, the nominal delta of ``previous`` is assumed.

    Atomic; the fact rows are locked (``select_for_update``, in id order so concurrent calls
    cannot deadlock) for the read-modify-write.
    """
    new_delta = _delta(outcome)
    old_nominal = _delta(previous)
    if previous == outcome:
        return dict(applied or {})
    ids = sorted({int(i) for i in fact_ids})
    if not ids:
        return {}
    facts = list(
        SemanticMemory.objects.select_for_update()
        .filter(user=user, id__in=ids)
        .order_by("id")
        .only("id", "importance")
    )
    result: dict[str, float] = {}
    changed = []
    now = timezone.now()
    for fact in facts:
        key = str(fact.id)
        taken_back = applied.get(key, 0.0) if applied is not None else old_nominal
        base = clamp_importance(fact.importance - taken_back)
        target = clamp_importance(base + new_delta)
        result[key] = round(target - base, _PLACES)
        if target != fact.importance:
            fact.importance = target
            fact.updated_at = now
            changed.append(fact)
    SemanticMemory.objects.bulk_update(changed, ["importance", "updated_at"])
    return result
