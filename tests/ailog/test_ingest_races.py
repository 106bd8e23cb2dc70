"""Identical retries racing each other (issue 15, item 1): real HTTP requests at once against a
live server, each on its own database connection. The loser's unique-key failure (raised by the
driver's COPY on PostgreSQL) is retried and finds the winner's rows: no 5xx, each attempt stored
once, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from ailog.models import AiAttempt, AiRun
from ailog.records import Checker, Problems
from ailog.services.rows import AttemptRows
from ailog.services.store import _lost_a_race
from tests.factories import T0, attempt_event, run_item, together, token_for

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 20
CLIENTS = 3
RUNS_PER_BATCH = 10
ATTEMPTS_PER_RUN = 20


def post(base: str, token: str, path: str, body: dict) -> int:
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        exc.read()
        return exc.code


def batches() -> list[list[dict]]:
    """ROUNDS batches of runs with their attempts, each run's summary first posted on its own."""
    return [
        [run_item(at=T0 + timedelta(minutes=r, seconds=n), attempts=ATTEMPTS_PER_RUN) for n in range(RUNS_PER_BATCH)]
        for r in range(ROUNDS)
    ]


def post_summaries(base: str, token: str, rounds: list[list[dict]]) -> None:
    summaries = [
        {**{k: v for k, v in run.items() if k != "attempt_records"}, "event_type": "ai_constraint_run_summary"}
        for batch in rounds
        for run in batch
    ]
    assert post(base, token, "/api/rmos/logs/ai/events", {"events": summaries}) == 201


def race(base: str, token: str, path: str, body: dict) -> list[int]:
    results, errors = together(*(lambda: post(base, token, path, body) for _ in range(CLIENTS)))
    assert not errors, errors
    return results


def assert_each_attempt_once(rounds: list[list[dict]], statuses: list[int]) -> None:
    assert not [s for s in statuses if s >= 500], statuses
    assert statuses.count(201) == ROUNDS, statuses  # one winner a round; the others found its rows
    assert statuses.count(200) == ROUNDS * (CLIENTS - 1), statuses
    run_ids = [run["run_id"] for batch in rounds for run in batch]
    assert AiRun.objects.filter(run_id__in=run_ids).count() == len(run_ids)
    assert AiAttempt.objects.filter(run_id__in=run_ids).count() == len(run_ids) * ATTEMPTS_PER_RUN


def test_identical_attempt_events_posted_at_once_after_the_summaries(live_server, integrator, default_profile):
    token = token_for(integrator)
    rounds = batches()
    post_summaries(live_server.url, token, rounds)
    statuses: list[int] = []
    for batch in rounds:
        events = [
            {
                **attempt_event(run["run_id"]),
                **{k: run[k] for k in ("tool_id", "material_id", "machine_id", "workflow_mode", "geometry_engine")},
                **attempt,
            }
            for run in batch
            for attempt in run["attempt_records"]
        ]
        statuses += race(live_server.url, token, "/api/rmos/logs/ai/events", {"events": events})
    assert_each_attempt_once(rounds, statuses)


def test_identical_runs_posted_at_once_after_their_summaries(live_server, integrator, default_profile):
    token = token_for(integrator)
    rounds = batches()
    post_summaries(live_server.url, token, rounds)
    statuses: list[int] = []
    for batch in rounds:
        statuses += race(live_server.url, token, "/api/rmos/logs/ai/runs", {"runs": batch})
    assert_each_attempt_once(rounds, statuses)


def test_a_unique_key_taken_under_the_raw_insert_is_djangos_integrity_error(integrator, default_profile):
    """What store_batch retries: the driver's own error (COPY on PostgreSQL) wrapped as Django's,
    as its cursor wraps every other statement's."""
    item = run_item(attempts=2)
    run = Checker(now=timezone.now(), problems=Problems()).run_item(item, 0, nested=True)
    rows = AttemptRows({run.run_id: 1})
    rows.add_nested({**run.values, "profile_version": 1}, run.attempts)
    rows.insert()
    with pytest.raises(IntegrityError) as raised, transaction.atomic():
        rows.insert()
    assert _lost_a_race(raised.value)  # so store_batch retries it
