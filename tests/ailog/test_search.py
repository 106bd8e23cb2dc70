"""Constraint search through the API and the commands: resolved, searched, recorded like any run."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from ailog.models import AiAttempt, AiRun
from profiles.models import ConstraintProfile

pytestmark = pytest.mark.django_db

SEARCH = "/api/rmos/ai/constraint-search"
SAW = {"tool_id": "saw:slitting-0.5", "material_id": "wood:ebony", "machine_id": "prod:vmc-3axis"}


def post(client, body):
    return client.post(SEARCH, data=json.dumps(body), content_type="application/json")


def test_search_is_recorded_with_profile_version_and_resolution(operator_api, starter_profiles):
    response = post(operator_api, {**SAW, "max_attempts": 20, "seed": 11})
    assert response.status_code == 201, response.json()
    body = response.json()
    run = AiRun.objects.get(run_id=body["run_id"])
    thin_saw = ConstraintProfile.objects.get(name="thin_saw")
    assert (run.profile_name, run.profile_version) == ("thin_saw", thin_saw.version)
    assert run.profile_history_id == thin_saw.history.latest("history_id").history_id
    assert run.rule_id == thin_saw.rules.get(name="saw-tools").id and run.fallback_used is False
    assert run.source == "internal" and run.max_attempts == 20 and run.seed == 11
    assert run.attempts == AiAttempt.objects.filter(run_id=run.run_id).count() == len(body["attempt_records"])
    assert 1 <= run.attempts <= 20
    assert body["reason"] in {"green_found", "acceptable_found", "budget_exhausted"}
    assert body["success"] == (body["reason"] in {"green_found", "acceptable_found"})
    # Every attempt is inside the profile, and the selected one is the best recorded.
    for attempt in body["attempt_records"]:
        candidate = attempt["candidate"]
        assert 2 <= candidate["ring_count"] <= 8 and 3.0 <= candidate["total_width_mm"] <= 10.0
        assert all(r["pattern"] != "mosaic" for r in candidate["rings"])
    selected = next(a for a in body["attempt_records"] if a["attempt_index"] == body["selected_attempt_index"])
    assert (selected["score"], selected["risk_bucket"]) == (body["selected_score"], body["selected_risk_bucket"])
    assert selected["is_acceptable"] == body["success"]


def test_same_seed_same_search(operator_api, starter_profiles):
    first = post(operator_api, {**SAW, "max_attempts": 15, "seed": 5, "stop_on_first_green": False}).json()
    second = post(operator_api, {**SAW, "max_attempts": 15, "seed": 5, "stop_on_first_green": False}).json()
    assert first["run_id"] != second["run_id"]
    assert [a["candidate"] for a in first["attempt_records"]] == [a["candidate"] for a in second["attempt_records"]]


def test_a_hard_context_fails_honestly(operator_api, starter_profiles):
    body = post(
        operator_api,
        {
            "tool_id": "router:upcut-1.5",
            "material_id": "shell:abalone-paua",
            "machine_id": "proto:desktop-cnc",
            "max_attempts": 10,
            "seed": 1,
        },
    ).json()
    assert body["success"] is False and body["reason"] == "budget_exhausted" and body["attempts"] == 10
    assert body["profile"] == "premium_shell"


def test_profile_override_records_no_rule_and_the_run_page_says_so(operator_api, operator_client, starter_profiles):
    body = post(operator_api, {**SAW, "profile": "default", "max_attempts": 5, "seed": 2}).json()
    assert body["profile"] == "default"
    # The saw-tools rule would have chosen thin_saw: it did not choose this run's profile.
    run = AiRun.objects.get(run_id=body["run_id"])
    assert (run.profile_name, run.rule_id, run.fallback_used) == ("default", None, None)
    html = operator_client.get(f"/rmos/runs/{body['run_id']}/").content.decode()
    assert "<dt>Resolved by</dt><dd>named explicitly <span" in html and "saw-tools" not in html


def test_naming_the_profile_a_rule_would_choose_keeps_the_rule(operator_api, starter_profiles):
    body = post(operator_api, {**SAW, "profile": "thin_saw", "max_attempts": 5, "seed": 2}).json()
    run = AiRun.objects.get(run_id=body["run_id"])
    assert (run.profile_name, run.fallback_used) == ("thin_saw", False)
    assert run.rule_id == ConstraintProfile.objects.get(name="thin_saw").rules.get(name="saw-tools").id


@pytest.mark.parametrize(
    "extra, field",
    [
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_attempts": 201}, "max_attempts"),
        ({"time_limit_seconds": 0.05}, "time_limit_seconds"),
        ({"time_limit_seconds": 61}, "time_limit_seconds"),
        ({"min_feasibility_score": 101}, "min_feasibility_score"),
        ({"stop_on_first_green": "yes"}, "stop_on_first_green"),
        ({"seed": -1}, "seed"),
        ({"budget": 3}, "budget"),
        ({"workflow_mode": "freestyle"}, "workflow_mode"),
        ({"tool_id": ""}, "tool_id"),
        # Refused before searching (it was refused only when recording, as a batch item "[0]").
        ({"geometry_engine": "-"}, "geometry_engine"),
    ],
)
def test_bad_requests_are_400_and_record_nothing(operator_api, starter_profiles, extra, field):
    response = post(operator_api, {**SAW, **extra})
    assert response.status_code == 400
    assert field in {e["field"] for e in response.json()["errors"]}
    assert all("index" not in e for e in response.json()["errors"])
    assert not AiRun.objects.exists()


def test_unknown_profile_is_404(operator_api, starter_profiles):
    response = post(operator_api, {**SAW, "profile": "ghost"})
    assert response.status_code == 404 and not AiRun.objects.exists()


def test_only_operators_and_admins_run_searches(viewer_api, integrator_api, api_client, starter_profiles):
    assert post(viewer_api, SAW).status_code == 403
    assert post(integrator_api, SAW).status_code == 403  # integrators post their own runs
    assert post(api_client, SAW).status_code == 401
    assert not AiRun.objects.exists()


def test_run_search_command_prints_a_readable_summary(starter_profiles):
    out = StringIO()
    call_command(
        "run_search",
        "--tool",
        "saw:slitting-0.5",
        "--material",
        "wood:ebony",
        "--machine",
        "prod:vmc-3axis",
        "--max-attempts",
        "12",
        "--seed",
        "4",
        stdout=out,
    )
    text = out.getvalue()
    rule = ConstraintProfile.objects.get(name="thin_saw").rules.get(name="saw-tools")
    assert f"Profile    thin_saw v1: chosen by rule #{rule.id} saw-tools" in text
    assert "Outcome    " in text and "Recorded   run " in text
    run = AiRun.objects.get()
    assert str(run.run_id) in text and f"{run.attempts} attempts" in text


def test_run_search_json_is_the_recorded_run_as_the_api_returns_it(operator_api, starter_profiles):
    out = StringIO()
    call_command(
        "run_search",
        "--tool",
        "saw:slitting-0.5",
        "--material",
        "wood:ebony",
        "--machine",
        "prod:vmc-3axis",
        "--profile",
        "default",
        "--max-attempts",
        "6",
        "--seed",
        "4",
        "--json",
        stdout=out,
    )
    printed = json.loads(out.getvalue())
    run = AiRun.objects.get()
    assert printed == operator_api.get(f"/api/rmos/logs/ai/runs/{run.run_id}").json()
    assert (printed["profile"], printed["rule_id"], printed["fallback_used"]) == ("default", None, None)


def test_run_search_command_names_bad_options():
    with pytest.raises(CommandError) as caught:
        call_command("run_search", "--tool", "saw x", "--material", "m", "--machine", "k", "--max-attempts", "0")
    message = str(caught.value)
    assert "the search was not run" in message
    assert "tool_id: cannot contain spaces or control characters [characters]" in message
    assert not AiRun.objects.exists()


def test_simulate_traffic_drives_the_real_search_loop(starter_profiles):
    out, err = StringIO(), StringIO()
    call_command("simulate_traffic", "--runs", "12", "--seed", "3", "--days", "3", stdout=out, stderr=err)
    assert "Recorded 12 runs over 3 days" in out.getvalue()
    assert "simulating" in err.getvalue() and "12/12" in err.getvalue()
    runs = list(AiRun.objects.all())
    assert len(runs) == 12
    now = timezone.now()
    assert all(now - timedelta(days=3, minutes=1) <= r.timestamp <= now for r in runs)
    assert {r.profile_name for r in runs} <= set(ConstraintProfile.objects.values_list("name", flat=True))
    assert sum(r.attempts for r in runs) == AiAttempt.objects.count()
    # A run lasts what its stamps say (the run page showed "0.00 s" beside attempts 0.1 s apart).
    for run in runs:
        assert run.elapsed_seconds == pytest.approx((run.timestamp - run.started_at).total_seconds(), abs=1e-4)
        last = AiAttempt.objects.filter(run_id=run.run_id).order_by("-attempt_index").first()
        assert last is None or run.started_at <= last.timestamp <= run.timestamp


def test_simulate_traffic_is_reproducible(starter_profiles):
    def simulate() -> list[tuple]:
        before = set(AiRun.objects.values_list("run_id", flat=True))
        call_command("simulate_traffic", "--runs", "6", "--seed", "9", stdout=StringIO(), stderr=StringIO())
        new = AiRun.objects.exclude(run_id__in=before)
        return sorted((r.tool_id, r.material_id, r.machine_id, r.reason, r.attempts, r.selected_score) for r in new)

    first = simulate()
    assert len(first) == 6
    assert simulate() == first


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-attempts", "500"], "--max-attempts must be between 1 and 200"),  # a traceback before
        (["--max-attempts", "0"], "--max-attempts must be between 1 and 200"),  # silently the default mix before
        (["--runs", "0"], "--runs must be between 1 and 1,000,000"),
        (["--days", "-1"], "--days must be between 0 and 3650"),
    ],
)
def test_simulate_traffic_refuses_bad_arguments_before_running(starter_profiles, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("simulate_traffic", *args, stdout=StringIO(), stderr=StringIO())
    assert not AiRun.objects.exists()


def test_simulate_traffic_uses_the_budget_it_is_given(starter_profiles):
    call_command(
        "simulate_traffic", "--runs", "3", "--seed", "4", "--max-attempts", "2", stdout=StringIO(), stderr=StringIO()
    )
    assert set(AiRun.objects.values_list("max_attempts", flat=True)) == {2}
