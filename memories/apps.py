from django.apps import AppConfig


class MemoriesConfig(AppConfig):
    name = "memories"
    verbose_name = "Memories"

    def ready(self) -> None:
        # Recording may not import Memory; it announces new events and Memory remembers them.
        from memories.upkeep import on_events_recorded
        from recording.models import Event
        from recording.signals import events_recorded

        events_recorded.connect(on_events_recorded, sender=Event, dispatch_uid="memories.raw")
