"""AiRunKey keeps only the keys of runs whose attempts arrived before their summary (issue 19).

A stored run carries its key in its own row; ingestion now issues the key of a run posted with
its summary from AiRunKey's id sequence without writing an AiRunKey row (the row's random
``run_id`` index cost a page per run). The rows of runs that have a summary are redundant and
go; the sequence is untouched, so keys keep growing.
"""

from django.db import migrations

DROP_REDUNDANT = "DELETE FROM ailog_airunkey WHERE run_id IN (SELECT run_id FROM ailog_airun)"
# Back: every run gets its AiRunKey row again, with the key it has, and so do the attempts of
# runs since pruned.
# NOT EXISTS, not NOT IN: PostgreSQL runs a NOT IN whose subquery outgrows work_mem as a scan of
# the subquery per row (a 2M-attempt log took over ten minutes); NOT EXISTS is an anti-join.
RESTORE = [
    "INSERT INTO ailog_airunkey (id, run_id) SELECT run_key, run_id FROM ailog_airun r "
    "WHERE NOT EXISTS (SELECT 1 FROM ailog_airunkey k WHERE k.run_id = r.run_id)",
    "INSERT INTO ailog_airunkey (id, run_id) SELECT DISTINCT run_key, run_id FROM ailog_aiattempt a "
    "WHERE NOT EXISTS (SELECT 1 FROM ailog_airunkey k WHERE k.run_id = a.run_id)",
]


class Migration(migrations.Migration):
    dependencies = [
        ("ailog", "0004_time_ordered_run_keys"),
    ]

    operations = [
        migrations.RunSQL(DROP_REDUNDANT, reverse_sql=RESTORE),
    ]
