"""Time-ordered internal keys for runs and attempts (issue 19), keeping every row.

Each run id gets a key in the order of its first timestamp (of its summary or of its earliest
attempt); runs and attempts take their run's key, and the unique (run_id, attempt_index) of the
attempts becomes (run_key, attempt_index). The public run_id is unchanged.
"""

from django.db import migrations, models

FILL = [
    # One key per run id, runs and attempts alike, in time order.
    """
    INSERT INTO ailog_airunkey (run_id)
    SELECT run_id FROM (
        SELECT run_id, MIN(timestamp) AS first_seen FROM (
            SELECT run_id, timestamp FROM ailog_airun
            UNION ALL
            SELECT run_id, timestamp FROM ailog_aiattempt
        ) AS items GROUP BY run_id
    ) AS firsts ORDER BY first_seen, run_id
    """,
    "UPDATE ailog_airun SET run_key = (SELECT k.id FROM ailog_airunkey k WHERE k.run_id = ailog_airun.run_id)",
    "UPDATE ailog_aiattempt SET run_key = (SELECT k.id FROM ailog_airunkey k WHERE k.run_id = ailog_aiattempt.run_id)",
]


class Migration(migrations.Migration):
    dependencies = [
        ("ailog", "0003_fallback_help_text"),
    ]

    operations = [
        migrations.CreateModel(
            name="AiRunKey",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("run_id", models.UUIDField(unique=True)),
            ],
            options={"verbose_name": "AI run key"},
        ),
        migrations.AddField(
            model_name="airun",
            name="run_key",
            field=models.BigIntegerField(null=True, help_text="internal, time-ordered (AiRunKey)"),
        ),
        migrations.AddField(
            model_name="aiattempt",
            name="run_key",
            field=models.BigIntegerField(null=True, help_text="internal, time-ordered: the run's AiRunKey"),
        ),
        migrations.RunSQL(FILL, reverse_sql=migrations.RunSQL.noop),
        migrations.AlterField(
            model_name="airun",
            name="run_key",
            field=models.BigIntegerField(unique=True, help_text="internal, time-ordered (AiRunKey)"),
        ),
        migrations.AlterField(
            model_name="aiattempt",
            name="run_key",
            field=models.BigIntegerField(help_text="internal, time-ordered: the run's AiRunKey"),
        ),
        migrations.RemoveConstraint(model_name="aiattempt", name="ailog_attempt_once_per_run"),
        migrations.AddConstraint(
            model_name="aiattempt",
            constraint=models.UniqueConstraint(fields=("run_key", "attempt_index"), name="ailog_attempt_once_per_run"),
        ),
    ]
