"""A retry of a run racing a prune of that run (review of issue 19's keys, h-review).

Ingestion looks up a run's key (AiRunKey) before it touches the runs table; a prune that
commits in between deletes the run and moves its key to AiRunKey. The retry must not then
store the run again under a new key beside its surviving attempts (each attempt stored twice,
the old ones no longer found by the run id)."""

from __future__ import annotations

import copy
import threading
from datetime import timedelta

import pytest
from django.db import connection

from ailog import selectors, services
from ailog.models import AiAttempt, AiRun
from tests.factories import T0, attempt_event, attempt_item, run_item

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_retry_racing_a_prune_of_its_run_stores_no_attempt_twice(default_profile):
    gone = run_item(attempts=1, at=T0)
    gone["attempt_records"] = [attempt_item(1, at=T0 + timedelta(minutes=1))]  # outlives the prune
    services.runs_ingest(runs=[copy.deepcopy(gone)])

    pruned = []

    def prune() -> None:
        try:
            pruned.append(services.logs_prune(before=T0 + timedelta(seconds=30)).runs)
        except BaseException as exc:  # reported below
            pruned.append(exc)
        finally:
            connection.close()

    pruner = threading.Thread(target=prune)

    def let_a_prune_in_once_keys_are_issued(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        # The statement that issues the batch's new keys (nextval, or SQLite's counter).
        if ("nextval" in sql or "sqlite_sequence" in sql) and pruner.ident is None:
            pruner.start()
            pruner.join(timeout=3)  # the prune commits here unless ingestion keeps it out
        return result

    with connection.execute_wrapper(let_a_prune_in_once_keys_are_issued):
        services.runs_ingest(runs=[copy.deepcopy(gone)])  # the integrator retries the batch
    pruner.join(timeout=30)
    assert not pruner.is_alive()
    assert pruned == [1]

    assert AiAttempt.objects.filter(run_id=gone["run_id"], attempt_index=1).count() == 1
    run = AiRun.objects.filter(run_id=gone["run_id"]).first()
    if run is not None:  # the retry came after the prune: the run is back under its old key
        assert run.run_key == AiAttempt.objects.get(run_id=gone["run_id"]).run_key


def test_attempts_posted_while_their_run_is_pruned_keep_the_key_its_summary_takes(default_profile):
    """A batch of attempts of a stored run found the run stored, then waited at ingestion's gate
    for a prune day that deleted the run: it went on as a writer of orphans under the shared
    lock, so a summary of the run posted meanwhile issued the run another key than the one its
    attempts were stored under, and the run showed none of them."""
    if connection.vendor != "postgresql":
        # SQLite has one writer at a time: a prune and two batches cannot interleave (every
        # write transaction begins IMMEDIATE, taking the database's write lock first).
        assert connection.settings_dict["OPTIONS"].get("transaction_mode") == "IMMEDIATE"
        return
    run = run_item(attempts=1, at=T0)
    services.runs_ingest(runs=[copy.deepcopy(run)])
    summary = {k: v for k, v in run.items() if k != "attempt_records"} | {"event_type": "ai_constraint_run_summary"}
    attempt = attempt_event(run["run_id"], 1, at=T0, score=run["selected_score"], risk_bucket="GREEN")

    def in_a_thread(call):
        def body() -> None:
            try:
                call()
            finally:
                connection.close()

        thread = threading.Thread(target=body)
        thread.start()
        thread.join(timeout=3)  # each completes here unless the batch keeps it out
        return thread

    others = []

    def interleave(execute, sql, params, many, context):
        if "pg_advisory_xact_lock" in sql and not others:  # the batch is at the gate
            others.append(in_a_thread(lambda: services.logs_prune(before=T0 + timedelta(seconds=30))))
        elif "INSERT INTO" in sql and "airunkey" in sql and len(others) == 1:  # an orphan's key
            others.append(in_a_thread(lambda: services.events_ingest(events=[copy.deepcopy(summary)])))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(interleave):
        services.events_ingest(events=[copy.deepcopy(attempt)])  # a retry of the run's attempt event
    for thread in others:
        thread.join(timeout=30)
        assert not thread.is_alive()

    assert len(others) == 2
    stored = AiRun.objects.get(run_id=run["run_id"])
    assert [a.run_key for a in AiAttempt.objects.filter(run_id=run["run_id"])] == [stored.run_key]
    assert len(selectors.run_get(run_id=run["run_id"]).attempts) == 1
