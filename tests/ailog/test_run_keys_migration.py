"""The migrations to time-ordered internal keys (issue 19) keep every row: each run id gets a key
in the order of its first timestamp, runs and attempts take their run's key, only the run with no
summary keeps an AiRunKey row, and the unique key of the attempts still refuses a second copy of
an attempt stored before the migration."""

from __future__ import annotations

import json

import pytest

from tests.rmos_site.test_migrations import fresh_database, manage

pytestmark = pytest.mark.django_db

A, B, C = "a" * 32, "b" * 32, "c" * 32  # run ids: A's first item is the oldest, C has no summary

_OLD_ROWS = """
from datetime import datetime, timedelta, timezone
from django.db import connection
t = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)
ctx = ["saw:x", "wood:ebony", "prod:vmc-3axis", "constraint_first", ""]
def run(run_id, at, attempts):
    cursor.execute(
        "INSERT INTO ailog_airun (run_id, timestamp, recorded_at, source, tool_id, material_id, machine_id, workflow_mode,"
        " geometry_engine, profile_name, catalog_revision, attempts, success, reason, warnings)"
        " VALUES (%s, %s, %s, 'api', %s, %s, %s, %s, %s, 'default', '', %s, false, 'budget_exhausted', '[]')",
        [run_id, at, at, *ctx, attempts])
def attempt(run_id, index, at):
    cursor.execute(
        "INSERT INTO ailog_aiattempt (run_id, attempt_index, timestamp, tool_id, material_id, machine_id, workflow_mode,"
        " geometry_engine, profile_name, score, risk_bucket, is_acceptable, warnings)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, '', 40.0, 'RED', false, '[]')",
        [run_id, index, at, *ctx])
with connection.cursor() as cursor:
    run("B", t + timedelta(minutes=2), 2)
    attempt("B", 1, t + timedelta(minutes=1))
    attempt("B", 2, t + timedelta(minutes=2))
    run("A", t + timedelta(minutes=3), 1)
    attempt("A", 1, t)  # the oldest item of all
    attempt("C", 1, t + timedelta(minutes=4))  # an attempt whose summary never came
"""

_KEYS = """
import json
from ailog.models import AiAttempt, AiRun, AiRunKey
print(json.dumps({
    "keys": sorted({(r.hex, k) for r, k in [*AiRun.objects.values_list("run_id", "run_key"),
                                            *AiRunKey.objects.values_list("run_id", "id")]}, key=lambda pair: pair[1]),
    "key_rows": [r.hex for r in AiRunKey.objects.values_list("run_id", flat=True)],
    "runs": sorted([r.hex, k] for r, k in AiRun.objects.values_list("run_id", "run_key")),
    "attempts": sorted([r.hex, i, k] for r, i, k in AiAttempt.objects.values_list("run_id", "attempt_index", "run_key")),
}))
"""

_RETRY = f"""
import json
from ailog import services
event = {{"event_type": "ai_constraint_attempt", "run_id": "{C}", "attempt_index": 1,
          "timestamp": "2025-06-01T12:04:00Z", "tool_id": "saw:x", "material_id": "wood:ebony",
          "machine_id": "prod:vmc-3axis", "workflow_mode": "constraint_first",
          "score": 40.0, "risk_bucket": "RED", "is_acceptable": False}}
again = services.events_ingest(events=[event])
more = services.events_ingest(events=[{{**event, "attempt_index": 2, "timestamp": "2025-06-01T12:04:01Z"}}])
from ailog.models import AiAttempt
print(json.dumps([again.attempts_unchanged, again.attempts_created, more.attempts_created,
                  sorted(AiAttempt.objects.filter(run_id="{C}").values_list("run_key", flat=True))]))
"""


def test_existing_runs_and_attempts_get_time_ordered_keys_and_keep_their_rows(tmp_path):
    with fresh_database(tmp_path) as url:
        for target in ([], ["ailog", "0003"]):  # everything, then the log back to before the keys
            step = manage(url, "migrate", *target, "--noinput")
            assert step.returncode == 0, step.stderr[-2000:]
        script = _OLD_ROWS.replace('"A"', f'"{A}"').replace('"B"', f'"{B}"').replace('"C"', f'"{C}"')
        filled = manage(url, "shell", "-c", script)
        assert filled.returncode == 0, filled.stderr[-2000:]
        step = manage(url, "migrate", "--noinput")
        assert step.returncode == 0, step.stderr[-2000:]
        shown = manage(url, "shell", "-c", _KEYS)
        assert shown.returncode == 0, shown.stderr[-2000:]
        facts = json.loads(shown.stdout.splitlines()[-1])
        keys = dict(facts["keys"])
        assert [run_id for run_id, _ in facts["keys"]] == [A, B, C]  # in the order each run was first seen
        assert facts["key_rows"] == [C]  # a stored run keeps its key in its row; only C needs AiRunKey's
        assert facts["runs"] == sorted([[A, keys[A]], [B, keys[B]]])
        assert facts["attempts"] == sorted([[A, 1, keys[A]], [B, 1, keys[B]], [B, 2, keys[B]], [C, 1, keys[C]]])
        retried = manage(url, "shell", "-c", _RETRY)
        assert retried.returncode == 0, retried.stderr[-2000:]
        assert json.loads(retried.stdout.splitlines()[-1]) == [1, 0, 1, [keys[C], keys[C]]]

        # 0005 back and forth: every run gets its key row again, with the key it has, then only C.
        for target, key_rows in ((["ailog", "0004"], [A, B, C]), ([], [C])):
            step = manage(url, "migrate", *target, "--noinput")
            assert step.returncode == 0, step.stderr[-2000:]
            shown = manage(url, "shell", "-c", _KEYS)
            assert shown.returncode == 0, shown.stderr[-2000:]
            facts = json.loads(shown.stdout.splitlines()[-1])
            assert sorted(facts["key_rows"]) == key_rows and dict(facts["keys"]) == keys
