"""What the Recording layer announces to the layers above it, which it may not import."""

from django.dispatch import Signal

# Sent inside the ingest transaction, after the events were stored, with ``user`` and
# ``events``: the rows just created (duplicates excluded) in time order, as mappings of ``id``,
# ``session_id``, ``event_id``, ``kind``, ``occurred_at`` and ``payload``, so a receiver need not
# read them back. A receiver that raises rolls the whole ingest back: all-or-nothing holds for
# what it writes too.
events_recorded = Signal()
