"""Blank the signed refresh tokens simplejwt stored before ``accounts.tokens`` took over:
revocation needs only the jti, and a stored token is a working credential in a dump."""

from django.db import migrations


def redact(apps, schema_editor):
    OutstandingToken = apps.get_model("token_blacklist", "OutstandingToken")
    OutstandingToken.objects.exclude(token="").update(token="")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("token_blacklist", "0013_alter_blacklistedtoken_options_and_more"),
    ]

    operations = [migrations.RunPython(redact, migrations.RunPython.noop)]
