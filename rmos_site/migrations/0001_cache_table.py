"""The database cache's table (the throttles' counters, shared by every app process), made by
``migrate`` itself: with a separate ``createcachetable`` step forgotten, every API call was a 500
(``no such table: rmos_cache``)."""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor) -> None:
    # The same table `createcachetable` makes for the caches in settings; it skips one that exists.
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies: list = []

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
