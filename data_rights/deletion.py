"""Delete everything Clone holds about a person, keeping the account.

What counts as the person's data is discovered, not listed (``clone_server.owned_rows``): a
table added later is deleted without a change here; only the credentials and audit rows in
``KEPT`` survive a delete.
"""

from collections import Counter
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from clone_server.accounts.models import ApiKey
from clone_server.owned_rows import delete_order, rows_delete, user_owned_models, user_rows

# Rows with a user foreign key that a data delete keeps, and why (labels, as in the response).
KEPT: dict[str, str] = {
    "auth.User_groups": "part of the account, which is kept",
    "auth.User_user_permissions": "part of the account, which is kept",
    "admin.LogEntry": "the audit trail of a staff member's own admin actions",
    # Deleting these would forget which refresh tokens were revoked and make them valid again.
    "token_blacklist.OutstandingToken": "which refresh tokens exist and which are revoked",
}
KEYS_LABEL = ApiKey._meta.label


@transaction.atomic
def account_data_delete(*, user: User, include_keys: bool = False) -> dict[str, Any]:
    """Hard-delete everything Clone holds about ``user``, in one transaction.

    Every row of every user-owned table goes (events, sessions, raw rows, episodes, facts and
    their provenance links, the profile with its calibration, predictions), plus whatever
    those rows own through cascades. The account itself stays, and so do the rows in ``KEPT``
    (credentials and audit), so the caller can keep using Clone; API keys are deleted too when
    ``include_keys`` is true. Returns ``{"deleted": {label: rows}, "kept": [labels]}``, every
    user-owned table listed in one or the other (zero counts included).

    A few statements per table whatever the account's size (no row is loaded). A request still
    running while this commits (an ingest in flight) may store its rows after it; deleting
    again removes them.
    """
    kept = set(KEPT) if include_keys else {*KEPT, KEYS_LABEL}
    owned = user_owned_models()
    counts: Counter = Counter()
    for model in delete_order(owned):
        if model._meta.label in kept:
            continue
        counts.update(rows_delete(user_rows(user=user, model=model)))
    deleted = {m._meta.label: 0 for m in owned if m._meta.label not in kept}
    deleted.update(counts)
    owned_labels = {m._meta.label for m in owned}
    return {
        "deleted": dict(sorted(deleted.items())),
        "kept": sorted(kept & owned_labels),
    }
