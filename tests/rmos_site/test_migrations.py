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
