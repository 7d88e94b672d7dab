"""Agent prompts' raw rows carry the request's structure (``tool``, ``options``) their event
carried, so that a predict reads the person's decisions without one event lookup per decision.
Existing rows are backfilled from their events (one UPDATE on Postgres)."""

from django.db import migrations, models

BATCH = 2000


def backfill(apps, schema_editor):
    RawMemory = apps.get_model("memories", "RawMemory")
    if schema_editor.connection.vendor == "postgresql":
        raw = schema_editor.quote_name(RawMemory._meta.db_table)
        event = schema_editor.quote_name(apps.get_model("recording", "Event")._meta.db_table)
        schema_editor.execute(
            f"""
            UPDATE {raw} r SET
                tool = CASE WHEN jsonb_typeof(e.payload -> 'tool') = 'object'
                            THEN e.payload -> 'tool' END,
                options = CASE WHEN jsonb_typeof(e.payload -> 'options') = 'array'
                               THEN e.payload -> 'options' END
            FROM {event} e
            WHERE e.id = r.event_id AND r.kind = 'agent_prompt'
              AND (e.payload ? 'tool' OR e.payload ? 'options')
            """
        )
        return
    rows = RawMemory.objects.filter(kind="agent_prompt").select_related("event").order_by("id")
    changed = []
    for row in rows.iterator(chunk_size=BATCH):
        payload = row.event.payload if isinstance(row.event.payload, dict) else {}
        tool, options = payload.get("tool"), payload.get("options")
        row.tool = tool if isinstance(tool, dict) else None
        row.options = options if isinstance(options, list) else None
        if row.tool is not None or row.options is not None:
            changed.append(row)
    RawMemory.objects.bulk_update(changed, ["tool", "options"], batch_size=BATCH)


class Migration(migrations.Migration):

    dependencies = [
        ('memories', '0007_memory_upkeep'),
        ('recording', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='rawmemory',
            name='options',
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='rawmemory',
            name='tool',
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]
