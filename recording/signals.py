"""What the Recording layer announces to the layers above it, which it may not import."""

from django.dispatch import Signal

# Sent inside the ingest transaction, after the events were stored, with ``user`` and
# ``event_ids`` (the producer ids of the events just created, duplicates excluded). A receiver
# that raises rolls the whole ingest back: all-or-nothing holds for what it writes too.
events_recorded = Signal()
