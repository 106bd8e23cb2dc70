"""API tokens move from DRF's authtoken table (keys in the clear) to django-rest-knox (SHA-512).

Every existing 40-digit token keeps working: its hash is what knox compares, its first 15
characters its prefix. It expires ``RMOS_API_TOKEN_DAYS`` after this migration (0: never). The
old table is then dropped, and with it every key in the clear; ``manage.py api_tokens list``
lists the moved tokens by prefix. There is no way back: the keys are gone (reversing keeps the
hashed tokens).
"""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

OLD_TABLE = "authtoken_token"


def move_drf_tokens(apps, schema_editor) -> None:
    from knox.crypto import hash_token

    connection = schema_editor.connection
    if OLD_TABLE not in connection.introspection.table_names():
        return  # a database made after DRF's tokens were dropped
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, user_id, created FROM {OLD_TABLE}")
        rows = cursor.fetchall()
    lifetime = settings.REST_KNOX["TOKEN_TTL"]
    expiry = timezone.now() + lifetime if lifetime else None
    token_model = apps.get_model("knox", "AuthToken")
    for key, user_id, created in rows:
        digest = hash_token(key)
        token_model.objects.create(digest=digest, token_key=key[:15], user_id=user_id, expiry=expiry)
        token_model.objects.filter(digest=digest).update(created=created)  # not "now" (auto_now_add)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {OLD_TABLE}")
        # The app is no longer installed: forget its migrations, as on a database that never had it.
        cursor.execute("DELETE FROM django_migrations WHERE app = %s", ["authtoken"])
    if rows:
        until = f"until {expiry:%Y-%m-%d}" if expiry else "without expiry"
        print(
            f"\n  Moved {len(rows)} API token(s) to hashed storage; they keep working {until} "
            "(RMOS_API_TOKEN_DAYS). 'manage.py api_tokens list' shows them by prefix."
        )


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("knox", "0009_extend_authtoken_field"),
        ("rmos_site", "0001_cache_table"),
    ]

    operations = [
        migrations.CreateModel(
            name="ApiToken",
            fields=[],
            options={"verbose_name": "API token", "proxy": True, "indexes": [], "constraints": []},
            bases=("knox.authtoken",),
        ),
        migrations.RunPython(move_drf_tokens, migrations.RunPython.noop),
    ]
