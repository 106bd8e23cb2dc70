"""System checks about the database server."""

from __future__ import annotations

import pytest
from django.db import connection

from rmos_site.checks import postgresql_keeps_statistics

pytestmark = pytest.mark.django_db


def test_a_postgresql_server_without_autovacuum_is_reported_and_sqlite_never():
    found = postgresql_keeps_statistics(None, databases=["default"])
    if connection.vendor != "postgresql":
        assert found == []
        return
    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        (autovacuum,) = cursor.fetchone()
    assert [w.id for w in found] == ([] if autovacuum == "on" else ["rmos.W001"])
    assert all("ANALYZE" in w.hint for w in found)


def test_the_check_reads_no_database_it_was_not_asked_about():
    assert postgresql_keeps_statistics(None, databases=None) == []
