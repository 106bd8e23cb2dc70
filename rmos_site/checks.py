"""System checks about the database server the product runs on (``manage.py check --database``,
also run by ``migrate``)."""

from __future__ import annotations

from django.core.checks import Tags, Warning, register
from django.db import connections


@register(Tags.database)
def postgresql_keeps_statistics(app_configs, databases=None, **kwargs) -> list[Warning]:
    """Ingestion looks up a batch's run ids in the attempts' unique index. Without fresh planner
    statistics PostgreSQL scans the whole table instead, so each batch costs more as the log
    grows."""
    problems: list[Warning] = []
    for alias in databases or ():
        connection = connections[alias]
        if connection.vendor != "postgresql":
            continue
        with connection.cursor() as cursor:
            cursor.execute("SHOW autovacuum")
            (autovacuum,) = cursor.fetchone()
        if autovacuum != "on":
            problems.append(
                Warning(
                    f"autovacuum is off on the PostgreSQL server of database {alias!r}, so nothing keeps the "
                    "planner's statistics fresh: ingestion slows down as the AI log grows.",
                    hint="Turn it on (autovacuum = on in postgresql.conf, PostgreSQL's default), or run ANALYZE "
                    "after every large load; see docs/deployment.md, 'Statistics'.",
                    id="rmos.W001",
                )
            )
    return problems
