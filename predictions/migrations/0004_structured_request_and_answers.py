"""The request's structure (tool, options, cwd, context), the prompt event it came from, and who
answered. Existing rows are backfilled: an automatic prediction was
answered by Clone when it was made, an escalated one escalated below its threshold (the only
reason there was), and one with feedback was answered by the person then."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def backfill(apps, schema_editor):
    Prediction = apps.get_model("predictions", "Prediction")
    Prediction.objects.filter(status="auto").update(
        answered_by="clone", answered_at=models.F("created_at")
    )
    Prediction.objects.filter(status="escalated", escalation_reason="").update(
        escalation_reason="below_threshold"
    )
    Prediction.objects.filter(status="escalated", outcome__isnull=False).update(
        answered_by="person", answered_at=models.F("feedback_at")
    )


class Migration(migrations.Migration):

    dependencies = [
        ('predictions', '0003_prediction_escalation_reason'),
        ('recording', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='prediction',
            name='answered_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='prediction',
            name='answered_by',
            field=models.CharField(blank=True, choices=[('clone', 'Clone'), ('person', 'Person')], default='', max_length=16),
        ),
        migrations.AddField(
            model_name='prediction',
            name='context',
            field=models.TextField(blank=True, default=''),
        ),
        migrations.AddField(
            model_name='prediction',
            name='cwd',
            field=models.TextField(blank=True, default=''),
        ),
        migrations.AddField(
            model_name='prediction',
            name='options',
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='prediction',
            name='prompt_event',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='recording.event'),
        ),
        migrations.AddField(
            model_name='prediction',
            name='tool',
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name='prediction',
            index=models.Index(condition=models.Q(('outcome__isnull', True), ('status', 'escalated')), fields=['user', 'created_at', 'id'], name='prediction_user_inbox'),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]
