"""``migrate`` alone leaves a working database, on the database the suite runs on."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.db import connection

pytestmark = pytest.mark.django_db


@contextmanager
def fresh_database(tmp_path) -> Iterator[str]:
    """The URL of an empty database of the kind the suite runs on (dropped afterwards)."""
    if connection.vendor != "postgresql":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    import psycopg

    params = connection.settings_dict
    name = f"{params['NAME']}_fresh"
    server = {"host": params["HOST"] or None, "port": params["PORT"] or None, "user": params["USER"] or None}
    if params["PASSWORD"]:
        server["password"] = params["PASSWORD"]
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        auth = f"{params['USER']}:{params['PASSWORD']}@" if params["PASSWORD"] else f"{params['USER']}@"
        yield f"postgres://{auth}{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/{name}"
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(database_url: str, *args: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "RMOS_", "DATABASE_"))}
    environment.update(DJANGO_DEBUG="true", DATABASE_URL=database_url)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_migrate_alone_makes_the_cache_table_the_throttles_need(tmp_path):
    """Before, every API call was a 500 (no such table: rmos_cache) until createcachetable ran."""
    with fresh_database(tmp_path) as url:
        migrated = manage(url, "migrate", "--noinput")
        assert migrated.returncode == 0, migrated.stderr
        probe = manage(
            url, "shell", "-c", "from django.core.cache import cache; cache.set('probe', 7); print(cache.get('probe'))"
        )
        assert probe.returncode == 0 and probe.stdout.splitlines()[-1] == "7", probe.stderr[-2000:]


OLD_KEY = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"  # a DRF authtoken key: 40 hex digits

_MAKE_DRF_TOKEN = f"""
from django.contrib.auth import get_user_model
from django.db import connection
user = get_user_model().objects.create(username="old-bot")
with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamp with time zone NOT NULL, user_id integer NOT NULL UNIQUE)")
    cursor.execute("INSERT INTO authtoken_token VALUES (%s, %s, %s)", ["{OLD_KEY}", "2026-01-02 03:04:05+00:00", user.id])
    cursor.execute("INSERT INTO django_migrations (app, name, applied) VALUES ('authtoken', '0001_initial', '2026-01-02 03:04:05+00:00')")
"""

_CHECK = f"""
from django.db import connection
from rmos_site.tokens import api_token_list, api_token_owner
with connection.cursor() as cursor:
    cursor.execute("SELECT count(*) FROM django_migrations WHERE app = 'authtoken'")
    print(api_token_owner(key="{OLD_KEY}"), "authtoken_token" in connection.introspection.table_names(), cursor.fetchone()[0], api_token_list()[0].prefix, api_token_list()[0].created.year)
"""


def test_existing_drf_tokens_keep_working_after_the_migration_to_hashed_tokens(tmp_path):
    """A database from before hashed tokens: DRF's authtoken table with a key in the clear. After
    ``migrate`` the key authenticates as before, and no key is left in the clear."""
    with fresh_database(tmp_path) as url:
        assert manage(url, "migrate", "--noinput").returncode == 0
        # Back to the state before this change: DRF's table and its migration record, no hashed tokens.
        made = manage(url, "shell", "-c", _MAKE_DRF_TOKEN)
        assert made.returncode == 0, made.stderr[-2000:]
        assert manage(url, "migrate", "rmos_site", "0001", "--noinput").returncode == 0
        migrated = manage(url, "migrate", "--noinput")
        assert migrated.returncode == 0, migrated.stderr[-2000:]
        assert "Moved 1 API token(s) to hashed storage" in migrated.stdout
        checked = manage(url, "shell", "-c", _CHECK)
        assert checked.stdout.splitlines()[-1] == f"old-bot False 0 {OLD_KEY[:15]} 2026", checked.stderr[-2000:]
