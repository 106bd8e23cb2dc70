"""ailog.services: the one write path (ingestion rules, idempotency, events out of order, prune)."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from ailog import services
from ailog.models import AiAttempt, AiRun, AiRunKey
from ailog.services import ingest, store
from profiles import services as profile_services
from rmos_site.errors import Conflict, PayloadTooLarge, ValidationFailed
from tests.factories import (
    CONTEXT,
    T0,
    attempt_event,
    attempt_item,
    candidate,
    iso,
    new_run_id,
    run_event,
    run_item,
    together,
)

pytestmark = pytest.mark.django_db
UTC = UTC


def _rule_at(exc: ValidationFailed, field: str) -> set[str]:
    return {e.rule for e in exc.errors if e.field == field}


# -- happy paths -------------------------------------------------------------------------------


def test_runs_ingest_stores_runs_and_attempts_with_every_field(default_profile):
    item = run_item(
        attempts=3,
        seed=7,
        stop_on_first_green=True,
        min_feasibility_score=80.0,
        rule_id=4,
        fallback_used=False,
        catalog_revision="2025.12-1",
        started_at=iso(T0 - timedelta(seconds=5)),
        elapsed_seconds=5.0,
        selected_attempt_index=3,
        selected_candidate=candidate(3, 1.0),
        warnings=["unknown tool"],
    )
    result = services.runs_ingest(runs=[item])

    assert (result.runs_created, result.attempts_created, result.created) == (1, 3, True)
    run = AiRun.objects.get(run_id=item["run_id"])
    assert run.timestamp == T0 and run.source == "api"
    assert (run.tool_id, run.material_id, run.machine_id, run.workflow_mode, run.geometry_engine) == tuple(
        CONTEXT.values()
    )
    assert (run.profile_name, run.profile_version) == ("default", 1)
    assert run.profile_history_id == default_profile.history.get().history_id
    assert (run.seed, run.rule_id, run.fallback_used, run.catalog_revision) == (7, 4, False, "2025.12-1")
    assert (run.attempts, run.success, run.reason, run.selected_score, run.selected_risk_bucket) == (
        3,
        True,
        "green_found",
        90.0,
        "GREEN",
    )
    assert run.selected_candidate == candidate(3, 1.0) and run.warnings == ["unknown tool"]
    attempts = list(AiAttempt.objects.filter(run_id=item["run_id"]).order_by("attempt_index"))
    assert [a.attempt_index for a in attempts] == [1, 2, 3]
    assert [a.risk_bucket for a in attempts] == ["RED", "RED", "GREEN"]
    assert all(a.profile_name == "default" and a.profile_version == 1 for a in attempts)
    assert all(a.tool_id == CONTEXT["tool_id"] and a.geometry_engine == "shapely" for a in attempts)
    assert attempts[0].candidate == candidate() and attempts[0].ring_count == 2 and attempts[0].total_width_mm == 3.0


def test_run_record_stores_an_internal_run(default_profile):
    history_id = default_profile.history.get().history_id
    now = datetime.now(UTC)
    run = services.run_record(
        context=dict(CONTEXT),
        profile="default",
        profile_version=1,
        profile_history_id=history_id,
        rule_id=None,
        fallback_used=True,
        budget={
            "max_attempts": 10,
            "time_limit_seconds": 5.0,
            "min_feasibility_score": 80.0,
            "stop_on_first_green": True,
            "seed": 3,
        },
        attempts=[
            {
                "attempt_index": 1,
                "timestamp": now,
                "score": 60.0,
                "risk_bucket": "YELLOW",
                "is_acceptable": False,
                "candidate": candidate(2),
            },
            {
                "attempt_index": 2,
                "timestamp": now,
                "score": 88.0,
                "risk_bucket": "GREEN",
                "is_acceptable": True,
                "candidate": candidate(3, 1.0),
            },
        ],
        success=True,
        reason="green_found",
        selected_score=88.0,
        selected_risk_bucket="GREEN",
        selected_candidate=candidate(3, 1.0),
        selected_attempt_index=2,
        timestamp=now,
    )
    assert run.source == "internal" and run.attempts == 2 and run.profile_history_id == history_id
    assert list(run.attempt_records.order_by("attempt_index").values_list("ring_count", flat=True)) == [2, 3]


def test_run_record_rejects_bad_data_like_ingestion(default_profile):
    with pytest.raises(ValidationFailed) as caught:
        services.run_record(
            context=dict(CONTEXT),
            profile="default",
            profile_version=None,
            profile_history_id=None,
            rule_id=None,
            fallback_used=None,
            budget={},
            attempts=[],
            success=True,
            reason="budget_exhausted",
            selected_score=None,
            selected_risk_bucket=None,
        )
    assert "consistency" in _rule_at(caught.value, "success")
    assert not AiRun.objects.exists()


def test_unknown_profile_is_kept_and_reported():
    result = services.runs_ingest(runs=[run_item(profile="never-seen")])
    assert [(w.field, w.rule, w.index) for w in result.warnings] == [("profile", "unknown_profile", 0)]
    run = AiRun.objects.get()
    assert (run.profile_name, run.profile_version, run.profile_history_id) == ("never-seen", None, None)


def test_version_in_force_is_looked_up_for_the_runs_time(default_profile):
    before_change = datetime.now(UTC)
    profile_services.profile_update(name="default", changes={"max_rings": 5}, note="fewer rings")
    after_change = datetime.now(UTC) + timedelta(seconds=1)
    early, late = run_item(at=before_change), run_item(at=after_change)
    services.runs_ingest(runs=[early, late])
    assert AiRun.objects.get(run_id=early["run_id"]).profile_version == 1
    assert AiRun.objects.get(run_id=late["run_id"]).profile_version == 2
    assert set(AiAttempt.objects.filter(run_id=late["run_id"]).values_list("profile_version", flat=True)) == {2}


def test_a_run_older_than_its_profiles_first_version_counts_under_it_with_a_warning(default_profile):
    """Seen in review: such a run was silently given version 1, as if that version had been in force."""
    result = services.runs_ingest(
        runs=[run_item(at=T0, profile_version=None), run_item(at=datetime.now(UTC), profile_version=None)]
    )
    assert [(w.field, w.rule, w.index) for w in result.warnings] == [("profile_version", "before_first_version", 0)]
    assert "counted under version 1" in result.warnings[0].message
    assert set(AiRun.objects.values_list("profile_version", flat=True)) == {1}


def test_a_reported_version_is_kept_and_its_history_record_found(default_profile):
    result = services.runs_ingest(runs=[run_item(profile_version=1), run_item(profile_version=9)])
    versions = dict(AiRun.objects.values_list("profile_version", "profile_history_id"))
    assert versions == {1: default_profile.history.get().history_id, 9: None}
    assert [(w.field, w.rule, w.index) for w in result.warnings] == [("profile_version", "unknown_profile_version", 1)]


# -- idempotency ---------------------------------------------------------------------------------


def test_identical_retry_stores_nothing_new(default_profile):
    batch = [run_item(), run_item(attempts=4)]
    services.runs_ingest(runs=copy.deepcopy(batch))
    again = services.runs_ingest(runs=copy.deepcopy(batch))
    assert (again.created, again.runs_unchanged, again.attempts_unchanged) == (False, 2, 6)
    assert sorted(again.unchanged_run_ids) == sorted(item["run_id"] for item in batch)
    assert (AiRun.objects.count(), AiAttempt.objects.count()) == (2, 6)


def test_retry_written_differently_but_equal_is_unchanged(default_profile):
    item = run_item()
    services.runs_ingest(runs=[item])
    same = copy.deepcopy(item)
    same["timestamp"] = T0.astimezone(timezone(timedelta(hours=2))).isoformat()  # same instant, other offset
    same["time_limit_seconds"] = 30  # 30 == 30.0
    del same["max_attempts"]  # an optional field left out is not a difference
    assert services.runs_ingest(runs=[same]).runs_unchanged == 1
    # RFC 3339 spellings of UTC: a lower-case "z" (and "t") is the same instant.
    lower = copy.deepcopy(item)
    lower["timestamp"] = item["timestamp"].replace("T", "t").replace("Z", "z").replace("+00:00", "z")
    assert lower["timestamp"].endswith("z")
    assert services.runs_ingest(runs=[lower]).runs_unchanged == 1


def test_a_batch_around_a_stored_run_stores_each_new_run_once_under_its_own_key(default_profile):
    """The runs of a batch go in run id order; on PostgreSQL they go by one COPY, which fails at
    the stored run and is rolled back to its savepoint. The runs before it in that order must not
    stay behind twice or keyed twice: the fallback inserts each new run once, and its attempts
    carry the key its row has."""
    stored = run_item(run_id=str(uuid.UUID(int=2**127)), attempts=2)  # the middle of the id order
    services.runs_ingest(runs=[copy.deepcopy(stored)])
    before = AiRun.objects.get().run_key
    low = run_item(run_id=str(uuid.UUID(int=1)), attempts=3)
    high = run_item(run_id=str(uuid.UUID(int=2**128 - 1)), attempts=1)
    result = services.runs_ingest(runs=[copy.deepcopy(high), copy.deepcopy(stored), copy.deepcopy(low)])
    assert (result.runs_created, result.runs_unchanged, result.attempts_created, result.attempts_unchanged) == (
        2,
        1,
        4,
        2,
    )
    assert AiRun.objects.count() == 3 and AiAttempt.objects.count() == 6
    keys = dict(AiRun.objects.values_list("run_id", "run_key"))
    assert keys[uuid.UUID(stored["run_id"])] == before and len(set(keys.values())) == 3
    for run_id, key in keys.items():
        assert set(AiAttempt.objects.filter(run_id=run_id).values_list("run_key", flat=True)) == {key}


def test_different_payload_under_a_known_run_id_is_a_conflict_naming_it(default_profile):
    item = run_item()
    services.runs_ingest(runs=[item])
    changed = copy.deepcopy(item)
    changed["selected_score"] = 91.0
    changed["attempt_records"][0]["score"] = 41.0
    fresh = run_item()
    with pytest.raises(Conflict) as caught:
        services.runs_ingest(runs=[fresh, changed])
    body = caught.value.as_dict()
    assert body["status"] == 409 and body["run_ids"] == [item["run_id"]]
    # Each differing field is named, with the run's position in the batch (and the attempt's).
    messages = {(e["field"], e["index"], e["rule"]): e["message"] for e in body["errors"]}
    assert set(messages) == {("selected_score", 1, "conflict"), ("attempt_records[0].score", 1, "conflict")}
    assert item["run_id"] in messages[("selected_score", 1, "conflict")]
    assert "already recorded with a different score" in messages[("attempt_records[0].score", 1, "conflict")]
    assert not AiRun.objects.filter(run_id=fresh["run_id"]).exists()  # nothing of the batch was written


def test_run_keys_follow_arrival_and_only_runs_known_by_their_attempts_get_a_key_row(default_profile):
    """Issue 19: a run posted with its summary takes the next key without an AiRunKey row (its
    random run_id index would cost a page per run); a run whose attempts come first gets one,
    which its later attempts and its summary find."""
    first, early, last = run_item(attempts=2), new_run_id(), run_item(attempts=1)
    services.runs_ingest(runs=[first])
    services.events_ingest(events=[attempt_event(early, 1, at=T0 - timedelta(seconds=2))])
    services.runs_ingest(runs=[last])
    assert list(AiRunKey.objects.values_list("run_id", flat=True)) == [uuid.UUID(early)]
    services.events_ingest(events=[attempt_event(early, 2, at=T0 - timedelta(seconds=1)), run_event(early, attempts=2)])
    keys = {str(r): k for r, k in AiRun.objects.values_list("run_id", "run_key")}
    assert keys[first["run_id"]] < AiRunKey.objects.get().id == keys[early] < keys[last["run_id"]]
    assert AiRunKey.objects.count() == 1  # the summary took the key; nothing else was written there
    by_run = {}
    for run_id, key in AiAttempt.objects.values_list("run_id", "run_key"):
        by_run.setdefault(str(run_id), set()).add(key)
    assert by_run == {run_id: {key} for run_id, key in keys.items()}


def test_a_retried_summary_is_unchanged_whichever_way_its_key_was_issued(default_profile):
    """A summary's key is a candidate until its insert: a retry must be told from a new run even
    when the key it finds (AiRunKey, attempts first) is the one the stored run has."""
    early = new_run_id()
    services.events_ingest(events=[attempt_event(early, 1, at=T0 - timedelta(seconds=2))])
    services.events_ingest(events=[run_event(early, attempts=1)])
    assert AiRunKey.objects.get().id == AiRun.objects.get().run_key
    posted = run_item(attempts=1)
    services.runs_ingest(runs=[posted])
    result = services.events_ingest(events=[run_event(early, attempts=1), run_event(new_run_id(), attempts=1)])
    assert (result.runs_created, result.runs_unchanged, result.unchanged_run_ids) == (1, 1, [early])
    result = services.runs_ingest(runs=[copy.deepcopy(posted), run_item(attempts=2)])
    assert (result.runs_created, result.runs_unchanged, result.attempts_unchanged, result.attempts_created) == (
        1,
        1,
        1,
        2,
    )
    assert AiRun.objects.count() == 4


def test_new_attempts_of_a_known_run_are_added():
    item = run_item(attempts=3)
    first = copy.deepcopy(item)
    first["attempt_records"] = first["attempt_records"][:1]
    services.runs_ingest(runs=[first])
    result = services.runs_ingest(runs=[item])
    assert (result.runs_unchanged, result.attempts_unchanged, result.attempts_created) == (1, 1, 2)
    assert AiAttempt.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_batches_store_one_copy():
    batch = [run_item(attempts=5) for _ in range(20)]
    results, errors = together(*[lambda: services.runs_ingest(runs=copy.deepcopy(batch))] * 3)
    assert errors == []
    assert sorted(r.runs_created for r in results) == [0, 0, 20]
    assert sorted(r.runs_unchanged for r in results) == [0, 20, 20]
    assert (AiRun.objects.count(), AiAttempt.objects.count()) == (20, 100)
    # Each writer issued keys for the new runs; the losers took the winner's, so every attempt
    # carries its stored run's key.
    keys = dict(AiRun.objects.values_list("run_id", "run_key"))
    assert all(keys[run_id] == key for run_id, key in AiAttempt.objects.values_list("run_id", "run_key"))


# -- events --------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_attempt_events_posted_at_the_same_moment_as_their_summary_are_linked_and_checked(default_profile):
    """Seen in review (PostgreSQL): the attempts' request did not see the uncommitted summary and
    the summary's request did not see the uncommitted attempts, so the attempts kept a blank
    profile for good and were never checked against their run."""
    from analytics.services import aggregates_rebuild

    mismatches = 0
    for round_ in range(12):
        run_id = new_run_id()
        # Every third round the attempts name another tool than their run: exactly one of the two
        # requests must be refused, whichever comes second.
        tool = {"tool_id": "saw:other"} if round_ % 3 == 2 else {}
        attempts = [attempt_event(run_id, i, at=T0 - timedelta(seconds=3 - i), **tool) for i in (1, 2, 3)]
        results, errors = together(
            lambda attempts=attempts: services.events_ingest(events=copy.deepcopy(attempts)),
            lambda run_id=run_id: services.events_ingest(events=[run_event(run_id, attempts=3)]),
        )
        stored = set(AiAttempt.objects.filter(run_id=run_id).values_list("profile_name", "profile_version"))
        if tool:
            mismatches += 1
            assert len(errors) == 1 and isinstance(errors[0], ValidationFailed), errors
            assert errors[0].errors[0].rule == "consistency"
            assert not (AiRun.objects.filter(run_id=run_id).exists() and stored)
        else:
            assert errors == []
            assert stored == {("default", 1)}
            # One key for the run, whichever request issued it.
            keys = set(AiAttempt.objects.filter(run_id=run_id).values_list("run_key", flat=True))
            assert keys == {AiRun.objects.get(run_id=run_id).run_key}
    assert mismatches == 4
    assert aggregates_rebuild(check_only=True) == []


def test_attempts_of_a_run_without_its_summary_share_one_context(default_profile):
    """Seen in review: attempt events of one run with two tools were both stored, and then no
    summary could ever fit them (each was refused for one attempt or the other)."""
    run_id = new_run_id()
    with pytest.raises(ValidationFailed) as caught:
        services.events_ingest(events=[attempt_event(run_id, 1), attempt_event(run_id, 2, tool_id="saw:other")])
    assert [(e.index, e.field, e.rule) for e in caught.value.errors] == [(1, "tool_id", "consistency")]
    assert "attempt 1 of run" in caught.value.errors[0].message and "posted already" in caught.value.errors[0].message
    assert not AiAttempt.objects.exists()
    services.events_ingest(events=[attempt_event(run_id, 1)])
    with pytest.raises(ValidationFailed) as caught:
        services.events_ingest(events=[attempt_event(run_id, 2, machine_id="prod:other")])
    assert [(e.index, e.field, e.rule) for e in caught.value.errors] == [(0, "machine_id", "consistency")]
    assert "stored already" in caught.value.errors[0].message
    # The summary then fits, and a re-post of attempt 1 with another tool is a conflict, not a consistency error.
    with pytest.raises(Conflict) as conflict:
        services.events_ingest(events=[attempt_event(run_id, 1, tool_id="saw:other")])
    assert [(e.field, e.rule) for e in conflict.value.errors] == [("tool_id", "conflict")]
    assert services.events_ingest(events=[attempt_event(run_id, 2), run_event(run_id, attempts=2)]).runs_created == 1


@pytest.mark.parametrize("order", ["same batch", "attempt first", "summary first"])
def test_events_check_the_selected_attempt_like_a_runs_batch(default_profile, order):
    """Seen in review: a run selected attempt 2 as GREEN 91.5 while attempt 2 was YELLOW 50;
    the runs endpoint refused it, the events endpoint stored it in any order."""
    run_id = new_run_id()
    summary = run_event(run_id, attempts=2, selected_attempt_index=2, selected_score=91.5, selected_risk_bucket="GREEN")
    attempts = [
        attempt_event(run_id, 1),
        attempt_event(run_id, 2, score=50.0, risk_bucket="YELLOW", is_acceptable=False),
    ]
    with pytest.raises(ValidationFailed) as caught:
        if order == "same batch":
            services.events_ingest(events=[*attempts, summary])
        elif order == "attempt first":
            services.events_ingest(events=attempts)
            services.events_ingest(events=[summary])
        else:
            services.events_ingest(events=[summary])
            services.events_ingest(events=attempts)
    # Named on the item that came second: the attempt's fields, or the summary's.
    expected = (
        {("selected_score", "consistency"), ("selected_risk_bucket", "consistency")}
        if order == "attempt first"
        else {("score", "consistency"), ("risk_bucket", "consistency")}
    )
    assert {(e.field, e.rule) for e in caught.value.errors} == expected
    assert "the run selected it with score 91.5" in " ".join(e.message for e in caught.value.errors)


def test_an_attempt_retry_may_leave_out_optional_fields(default_profile):
    item = run_item(attempts=2)
    item["attempt_records"][1]["warnings"] = ["aw"]
    services.runs_ingest(runs=[item])
    retry = copy.deepcopy(item)
    for record in retry["attempt_records"]:
        for optional in ("candidate", "warnings", "ring_count", "total_width_mm"):
            record.pop(optional, None)
    result = services.runs_ingest(runs=[retry])
    assert (result.runs_unchanged, result.attempts_unchanged, result.attempts_created) == (1, 2, 0)
    assert AiAttempt.objects.get(run_id=item["run_id"], attempt_index=2).warnings == ["aw"]


def test_attempt_events_before_their_summary_are_linked_when_it_arrives(default_profile):
    run_id = new_run_id()
    early = services.events_ingest(
        events=[attempt_event(run_id, 1, at=T0 - timedelta(seconds=2)), attempt_event(run_id, 2, at=T0)]
    )
    assert (early.runs_created, early.attempts_created) == (0, 2)
    assert set(AiAttempt.objects.values_list("profile_name", "profile_version")) == {("", None)}

    summary = services.events_ingest(events=[run_event(run_id, attempts=2)])
    assert (summary.runs_created, summary.attempts_created) == (1, 0)
    assert set(AiAttempt.objects.values_list("profile_name", "profile_version")) == {("default", 1)}

    late = services.events_ingest(events=[attempt_event(run_id, 2, at=T0)])  # a retried event
    assert (late.created, late.attempts_unchanged) == (False, 1)


def test_attempt_events_after_their_summary_take_its_profile(default_profile):
    run_id = new_run_id()
    services.events_ingest(events=[run_event(run_id, attempts=3)])
    services.events_ingest(events=[attempt_event(run_id, 3)])
    assert AiAttempt.objects.get().profile_version == 1


def test_events_in_one_batch_in_any_order(default_profile):
    run_id = new_run_id()
    result = services.events_ingest(
        events=[attempt_event(run_id, 2), run_event(run_id, attempts=2), attempt_event(run_id, 1)]
    )
    assert (result.runs_created, result.attempts_created) == (1, 2)
    assert set(AiAttempt.objects.values_list("profile_name", flat=True)) == {"default"}


def test_an_attempt_event_must_fit_its_run():
    run_id = new_run_id()
    services.events_ingest(events=[run_event(run_id, attempts=2)])
    with pytest.raises(ValidationFailed) as caught:
        services.events_ingest(events=[attempt_event(run_id, 3), attempt_event(run_id, 1, tool_id="saw:other")])
    assert {(e.index, e.field, e.rule) for e in caught.value.errors} == {
        (0, "attempt_index", "consistency"),
        (1, "tool_id", "consistency"),
    }
    assert not AiAttempt.objects.exists()


def test_a_summary_must_fit_attempts_recorded_before_it():
    run_id = new_run_id()
    services.events_ingest(events=[attempt_event(run_id, 3)])
    with pytest.raises(ValidationFailed) as caught:
        services.events_ingest(events=[run_event(run_id, attempts=2)])
    assert [(e.index, e.field, e.rule) for e in caught.value.errors] == [
        (0, "attempts", "consistency")
    ]  # the summary's field: it came second
    assert not AiRun.objects.exists()


def test_a_changed_attempt_event_is_a_conflict():
    run_id = new_run_id()
    services.events_ingest(events=[attempt_event(run_id, 1)])
    with pytest.raises(Conflict) as caught:
        services.events_ingest(events=[attempt_event(run_id, 1, score=12.5, risk_bucket="RED", is_acceptable=False)])
    assert caught.value.as_dict()["run_ids"] == [run_id]
    assert AiAttempt.objects.get().score == 85.0


@pytest.mark.parametrize("summary_first", [True, False])
def test_an_acceptable_attempt_event_cannot_join_a_failed_run(summary_first):
    """The rule a runs batch applies to its nested attempts holds for events too, in either order:
    an acceptable attempt makes its run a success, so a run that failed cannot have one."""
    run_id = new_run_id()
    failed = run_event(
        run_id, attempts=1, success=False, reason="budget_exhausted", selected_score=45.0, selected_risk_bucket="RED"
    )
    acceptable = attempt_event(run_id, 1, score=85.0, risk_bucket="GREEN", is_acceptable=True)
    first, second = (failed, acceptable) if summary_first else (acceptable, failed)
    services.events_ingest(events=[first])
    with pytest.raises(ValidationFailed) as caught:
        services.events_ingest(events=[second])
    # Named on the item posted second: the attempt's flag, or the summary's success.
    assert [(e.field, e.rule) for e in caught.value.errors] == [
        ("is_acceptable" if summary_first else "success", "consistency")
    ]
    assert AiAttempt.objects.count() == (0 if summary_first else 1) and AiRun.objects.count() == (
        1 if summary_first else 0
    )


def test_unknown_event_type_and_repeats_in_one_batch_are_rejected():
    run_id = new_run_id()
    with pytest.raises(ValidationFailed) as caught:
        services.events_ingest(
            events=[
                {"event_type": "something"},
                attempt_event(run_id, 1),
                attempt_event(run_id, 1),
                run_event(run_id),
                run_event(run_id),
                5,
            ]
        )
    found = {(e.index, e.field, e.rule) for e in caught.value.errors}
    assert found == {
        (0, "event_type", "choice"),
        (2, "attempt_index", "unique"),
        (4, "run_id", "unique"),
        (5, "", "type"),
    }


# -- validation ----------------------------------------------------------------------------------

BAD_RUNS = [
    # (change to the run item, field, rule)
    ({"run_id": "not-a-uuid"}, "run_id", "format"),
    ({"run_id": None}, "run_id", "required"),
    ({"timestamp": "2025-06-01T10:00:00"}, "timestamp", "timezone"),
    ({"timestamp": "yesterday"}, "timestamp", "format"),
    ({"timestamp": 1717236000}, "timestamp", "type"),
    ({"timestamp": "1999-12-31T23:00:00Z"}, "timestamp", "range"),
    ({"timestamp": "2999-01-01T00:00:00Z"}, "timestamp", "range"),
    ({"timestamp": "9999-12-31T23:59:59-12:00"}, "timestamp", "range"),  # past Python's last moment in UTC
    ({"timestamp": "0001-01-01T00:00:00+14:00"}, "timestamp", "range"),  # before its first
    ({"tool_id": ""}, "tool_id", "required"),
    ({"tool_id": "x" * 129}, "tool_id", "max_length"),
    ({"tool_id": 17}, "tool_id", "type"),
    ({"material_id": " padded "}, "material_id", "printable"),
    ({"machine_id": "tab\there"}, "machine_id", "printable"),
    ({"workflow_mode": "fast"}, "workflow_mode", "choice"),
    ({"geometry_engine": "g" * 65}, "geometry_engine", "max_length"),
    ({"profile": "p" * 65}, "profile", "max_length"),
    ({"profile_version": 0}, "profile_version", "range"),
    ({"profile_version": "2"}, "profile_version", "type"),
    ({"max_attempts": 201}, "max_attempts", "range"),
    ({"time_limit_seconds": 0.05}, "time_limit_seconds", "range"),
    ({"time_limit_seconds": True}, "time_limit_seconds", "type"),
    ({"min_feasibility_score": 101}, "min_feasibility_score", "range"),
    ({"elapsed_seconds": -1}, "elapsed_seconds", "range"),
    ({"seed": 2**64}, "seed", "range"),
    ({"attempts": -1}, "attempts", "range"),
    ({"attempts": 2.5}, "attempts", "type"),
    ({"success": "yes"}, "success", "type"),
    ({"reason": "gave_up"}, "reason", "choice"),
    ({"success": False}, "success", "consistency"),
    ({"selected_score": float("nan")}, "selected_score", "finite"),
    ({"selected_score": float("inf")}, "selected_score", "finite"),
    ({"selected_score": 100.5}, "selected_score", "range"),
    ({"selected_score": None}, "selected_score", "required"),
    ({"selected_risk_bucket": "BLUE"}, "selected_risk_bucket", "choice"),
    ({"selected_risk_bucket": "YELLOW"}, "selected_risk_bucket", "consistency"),
    ({"selected_attempt_index": 9}, "selected_attempt_index", "consistency"),
    # The selected attempt is posted with the run (attempt 1 scored 40, RED): the selection must agree.
    ({"selected_attempt_index": 1}, "selected_score", "consistency"),
    ({"selected_attempt_index": 1, "selected_score": 40.0}, "selected_risk_bucket", "consistency"),
    ({"started_at": iso(T0 + timedelta(seconds=1))}, "started_at", "consistency"),
    ({"max_attempts": 1}, "attempts", "consistency"),
    (
        {"reason": "acceptable_found", "selected_risk_bucket": "RED", "selected_score": 90.0},
        "selected_risk_bucket",
        "consistency",
    ),
    ({"attempts": 0, "attempt_records": []}, "attempts", "consistency"),  # a success with no attempt
    (
        {"attempts": 0, "attempt_records": [], "success": False, "reason": "timeout", "selected_attempt_index": None},
        "selected_score",
        "consistency",
    ),
    ({"warnings": "oops"}, "warnings", "type"),
    ({"warnings": [1]}, "warnings[0]", "type"),
    ({"warnings": ["w" * 501]}, "warnings[0]", "max_length"),
    ({"warnings": ["evil \u202elive"]}, "warnings[0]", "characters"),  # displays as other words
    # A lone surrogate breaks every JSON read of the row; PostgreSQL refuses a NUL.
    ({"warnings": ["ok", "\ud800"]}, "warnings[1]", "characters"),
    ({"warnings": ["a\x00b"]}, "warnings[0]", "characters"),
    ({"tool_id": "saw\udfff"}, "tool_id", "printable"),
    ({"colour": "red"}, "colour", "unknown_field"),
    ({"attempt_records": {}}, "attempt_records", "type"),
    ({"selected_candidate": {"rings": []}}, "selected_candidate.rings", "type"),
]


@pytest.mark.parametrize("change, field, rule", BAD_RUNS, ids=[f"{f}-{r}" for _, f, r in BAD_RUNS])
def test_each_run_rule(change, field, rule):
    good = run_item()
    bad = {**run_item(), **change}
    with pytest.raises(ValidationFailed) as caught:
        services.runs_ingest(runs=[good, bad])
    assert rule in _rule_at(caught.value, field), caught.value.errors
    assert {e.index for e in caught.value.errors} == {1}
    assert not AiRun.objects.exists() and not AiAttempt.objects.exists()


BAD_ATTEMPTS = [
    ({"attempt_index": 0}, "attempt_index", "range"),
    ({"attempt_index": "1"}, "attempt_index", "type"),
    ({"attempt_index": 3}, "attempt_index", "consistency"),
    ({"timestamp": "2025-06-01"}, "timestamp", "timezone"),
    ({"score": -0.1}, "score", "range"),
    ({"score": "85"}, "score", "type"),
    ({"score": None}, "score", "required"),
    ({"risk_bucket": "green"}, "risk_bucket", "choice"),
    ({"risk_bucket": ["GREEN"]}, "risk_bucket", "choice"),
    ({"is_acceptable": 1}, "is_acceptable", "type"),
    ({"ring_count": 0}, "ring_count", "range"),
    ({"ring_count": 3}, "ring_count", "consistency"),
    ({"total_width_mm": 0}, "total_width_mm", "range"),
    ({"total_width_mm": 3.5}, "total_width_mm", "consistency"),
    ({"candidate": "solid"}, "candidate", "type"),
    ({"candidate": {"rings": [{"width_mm": 0, "pattern": "solid"}]}}, "candidate.rings[0].width_mm", "range"),
    ({"candidate": {"rings": [{"width_mm": 1.0, "pattern": "plaid"}]}}, "candidate.rings[0].pattern", "choice"),
    ({"candidate": {"rings": [{"width_mm": 1.0, "pattern": {}}]}}, "candidate.rings[0].pattern", "choice"),
    (
        {"candidate": {"rings": [{"width_mm": 1.0, "pattern": "solid"}], "ring_count": 2}},
        "candidate.ring_count",
        "consistency",
    ),
    ({"candidate": {"shape": "round"}}, "candidate.shape", "unknown_field"),
    ({"risk_bucket": "RED", "is_acceptable": True}, "is_acceptable", "consistency"),  # RED is never acceptable
    (
        {"candidate": {"rings": [{"width_mm": 1.0, "pattern": "solid", "material_key": "\udfff"}]}},
        "candidate.rings[0].material_key",
        "printable",
    ),
    (
        {"candidate": {"rings": [{"width_mm": 1.0, "pattern": "solid", "material_key": "a\x00"}]}},
        "candidate.rings[0].material_key",
        "printable",
    ),
    # Each ring within its own limit, but 24 x 20 mm is far past the widest candidate (60 mm).
    (
        {"candidate": {"rings": [{"width_mm": 20.0, "pattern": "solid"}] * 24, "total_width_mm": 480.0}},
        "candidate.total_width_mm",
        "range",
    ),
    ({"candidate": {"rings": [{"width_mm": 20.0, "pattern": "solid"}] * 4}}, "candidate.rings", "range"),
    ({"warnings": ["\ud800"]}, "warnings[0]", "characters"),
    ({"tool_id": "saw:other"}, "tool_id", "consistency"),
    ({"colour": "red"}, "colour", "unknown_field"),
]


@pytest.mark.parametrize("change, field, rule", BAD_ATTEMPTS, ids=[f"{f}-{r}" for _, f, r in BAD_ATTEMPTS])
def test_each_attempt_rule(change, field, rule):
    bad = run_item(attempts=2)
    bad["attempt_records"][0].update(change)
    with pytest.raises(ValidationFailed) as caught:
        services.runs_ingest(runs=[run_item(), bad])
    assert rule in _rule_at(caught.value, f"attempt_records[0].{field}"), caught.value.errors
    assert {e.index for e in caught.value.errors} == {1}
    assert not AiRun.objects.exists() and not AiAttempt.objects.exists()


def test_attempt_index_is_unique_within_a_run():
    bad = run_item(attempts=3)
    bad["attempt_records"][2]["attempt_index"] = 1
    with pytest.raises(ValidationFailed) as caught:
        services.runs_ingest(runs=[bad])
    assert [(e.index, e.field, e.rule) for e in caught.value.errors] == [
        (0, "attempt_records[2].attempt_index", "unique")
    ]


def test_more_attempt_records_than_the_run_made():
    bad = run_item(attempts=2)
    bad["attempt_records"].append(attempt_item(3))
    with pytest.raises(ValidationFailed) as caught:
        services.runs_ingest(runs=[bad])
    assert "consistency" in _rule_at(caught.value, "attempt_records")


def test_every_problem_of_a_batch_is_listed_with_its_index():
    items = [run_item(), {**run_item(), "score": 1}, {**run_item(), "reason": "x", "tool_id": ""}]
    with pytest.raises(ValidationFailed) as caught:
        services.runs_ingest(runs=items)
    assert {(e.index, e.field) for e in caught.value.errors} == {(1, "score"), (2, "reason"), (2, "tool_id")}
    assert caught.value.as_dict()["error_count"] == 3


def test_errors_are_capped_but_counted():
    items = [{**run_item(), "reason": "x"} for _ in range(300)]
    with pytest.raises(ValidationFailed) as caught:
        services.runs_ingest(runs=items)
    assert len(caught.value.errors) == 200 and caught.value.as_dict()["error_count"] == 300


def test_batch_shape_and_size_limits(monkeypatch):
    with pytest.raises(ValidationFailed):
        services.runs_ingest(runs={"run_id": "x"})
    with pytest.raises(ValidationFailed):
        services.runs_ingest(runs=[])
    monkeypatch.setattr(ingest, "MAX_RUNS_PER_REQUEST", 2)
    with pytest.raises(PayloadTooLarge) as caught:
        services.runs_ingest(runs=[run_item()] * 3)
    assert caught.value.status == 413
    monkeypatch.setattr(ingest, "MAX_ATTEMPTS_PER_REQUEST", 3)
    with pytest.raises(PayloadTooLarge):
        services.runs_ingest(runs=[run_item(attempts=2), run_item(attempts=2)])
    monkeypatch.setattr(ingest, "MAX_EVENTS_PER_REQUEST", 1)
    with pytest.raises(PayloadTooLarge):
        services.events_ingest(events=[attempt_event(new_run_id()), attempt_event(new_run_id())])


def test_repeated_run_id_in_one_batch():
    item = run_item()
    with pytest.raises(ValidationFailed) as caught:
        services.runs_ingest(runs=[item, copy.deepcopy(item)])
    assert [(e.index, e.field, e.rule) for e in caught.value.errors] == [(1, "run_id", "unique")]


# -- prune -----------------------------------------------------------------------------------------


def test_prune_deletes_whole_days_before_the_cutoff():
    old, edge, new = T0 - timedelta(days=3), T0.replace(hour=0, minute=0, second=1), T0 + timedelta(days=1)
    for moment in (old, edge, new):
        services.runs_ingest(runs=[run_item(at=moment, attempts=2)])
    cutoff = T0.replace(hour=0, minute=0)
    assert services.logs_prune(before=cutoff, dry_run=True) == services.PruneResult(cutoff, 1, 3, True)
    assert AiRun.objects.count() == 3
    calls = []
    result = services.logs_prune(before=cutoff, progress=lambda done, total: calls.append((done, total)))
    assert (result.runs, result.attempts) == (1, 3)
    assert calls == [(1, 3), (2, 3), (3, 3)]
    # The run just after midnight stays; its first attempt, a second before midnight, goes.
    assert sorted(AiRun.objects.values_list("timestamp", flat=True)) == [edge, new]
    assert AiAttempt.objects.count() == 3


def test_prune_with_nothing_to_do():
    assert services.logs_prune(before=T0) == services.PruneResult(T0, 0, 0, False)
    with pytest.raises(ValidationFailed):
        services.logs_prune(before=datetime(2025, 1, 1))


def test_ids_are_uuid_objects():
    item = run_item()
    services.runs_ingest(runs=[item])
    assert AiRun.objects.get().run_id == uuid.UUID(item["run_id"])


def test_a_selection_that_matches_its_attempt_is_stored():
    result = services.runs_ingest(runs=[run_item(selected_attempt_index=2)])  # attempt 2 scored 90, GREEN, as selected
    assert result.runs_created == 1 and AiRun.objects.get().selected_attempt_index == 2


def test_ingestion_transactions_prefer_indexes_on_postgresql_and_only_inside(transactional_db):
    """A planner without statistics scanned the whole attempts table for each batch (rmos.W001)."""
    from django.db import connection, transaction

    def settings_now() -> tuple[str, str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('enable_seqscan'), current_setting('jit')")
            return cursor.fetchone()

    if connection.vendor != "postgresql":
        store._prefer_indexes()  # nothing to do on SQLite, and nothing breaks
        assert services.runs_ingest(runs=[run_item()]).runs_created == 1
        return
    before = settings_now()
    with transaction.atomic():
        store._prefer_indexes()
        assert settings_now() == ("off", "off")
    assert settings_now() == before  # SET LOCAL: gone with the transaction
    assert services.runs_ingest(runs=[run_item()]).runs_created == 1


def test_a_nested_attempt_may_repeat_a_null_engine_and_messages_show_values_as_json():
    """null means "no engine" on the run and on its attempts alike; an error shows what was sent
    the way it was sent (null, true, "text"), not as Python would print it."""
    run = run_item(attempts=1, geometry_engine=None)
    run["attempt_records"][0]["geometry_engine"] = None
    assert services.runs_ingest(runs=[run]).runs_created == 1
    assert AiAttempt.objects.get().geometry_engine == ""

    bad = run_item(attempts=1, workflow_mode=None)
    bad["attempt_records"][0]["risk_bucket"] = True
    with pytest.raises(ValidationFailed) as caught:
        services.runs_ingest(runs=[bad])
    messages = {e.field: e.message for e in caught.value.errors}
    assert messages["workflow_mode"] == "this field is required"
    assert messages["attempt_records[0].risk_bucket"].endswith("; got true")


def test_warnings_may_hold_any_text_people_write():
    """Only controls and unpaired surrogates are refused: a no-break space, French's narrow one,
    an emoji's joiner, a soft hyphen and line breaks are text."""
    text = ["pas de place\u00a0: 3\u202fmm", "👩\u200d🔧 check", "soft\u00adhyphen", "two\nlines\tand a tab"]
    run = run_item(attempts=1, warnings=text)
    run["attempt_records"][0]["warnings"] = text
    assert services.runs_ingest(runs=[run]).runs_created == 1
    assert AiRun.objects.get().warnings == text and AiAttempt.objects.get().warnings == text


@pytest.mark.parametrize(
    "run, field, rule",
    [
        # An acceptable attempt makes the run a success: the search loop would have said so.
        (
            run_item(success=False, scores=[(30.0, "RED"), (91.5, "YELLOW")]),
            "attempt_records[1].is_acceptable",
            "consistency",
        ),
        # Acceptable only at the run's own minimum score.
        (
            run_item(scores=[(91.5, "GREEN"), (97.0, "GREEN")], min_feasibility_score=95.0),
            "attempt_records[0].is_acceptable",
            "consistency",
        ),
        # A success selected a candidate at least as good as the minimum.
        (
            run_item(scores=[(91.5, "GREEN")], min_feasibility_score=95.0, attempt_records=[]),
            "selected_score",
            "consistency",
        ),
    ],
)
def test_runs_the_search_loop_cannot_produce_are_refused(run, field, rule):
    if run["attempt_records"] and run["success"] is False:
        run["attempt_records"][1]["is_acceptable"] = True
    with pytest.raises(ValidationFailed) as caught:
        services.runs_ingest(runs=[run])
    assert rule in _rule_at(caught.value, field), caught.value.errors
    assert not AiRun.objects.exists()
