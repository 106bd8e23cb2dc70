"""Tuning pages: Tune from a profile page or a hotspot, the job page, cancel, and a proposal's
way into the editor (an unprotected profile) or a change request (a protected one)."""

from __future__ import annotations

import html
import re

import pytest

from profiles.presentation import display_value, field_label
from tests.factories import edit_profile
from tests.tuning.conftest import ROUTER
from tuning import services
from tuning.models import TuningJob

pytestmark = pytest.mark.django_db
START = "/rmos/tuning/start/"


def test_tune_on_a_profile_page_starts_a_job_and_opens_its_page(tuned_profile, operator_client):
    page = operator_client.get("/rmos/profiles/tuned/")
    assert b'action="/rmos/tuning/start/"' in page.content
    response = operator_client.post(START, {"profile": "tuned", "trials": "30", "next": "/rmos/profiles/tuned/"})
    job = TuningJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/rmos/tuning/{job.pk}/"
    assert (job.state, job.trials, job.focus) == ("queued", 30, None)
    page = operator_client.get(f"/rmos/tuning/{job.pk}/")
    assert page.status_code == 200
    assert b'http-equiv="refresh"' in page.content and b"Waiting for a worker" in page.content


def test_tune_on_a_hotspot_focuses_the_profile_whose_traffic_has_it(tuned_profile, operator_client):
    fields = {**ROUTER, "geometry_engine": "shapely", "next": "/rmos/ai-ops/"}
    response = operator_client.post(START, fields)
    job = TuningJob.objects.get()
    assert response["Location"] == f"/rmos/tuning/{job.pk}/"
    assert job.profile_name == "tuned" and job.trials == 200
    assert job.focus == {**ROUTER, "workflow_mode": "constraint_first", "geometry_engine": "shapely"}


def test_a_context_no_traffic_has_goes_back_with_why(tuned_profile, operator_client):
    response = operator_client.post(
        START, {**ROUTER, "machine_id": "prod:laser-cell", "next": "/rmos/ai-ops/"}, follow=True
    )
    assert not TuningJob.objects.exists()
    assert b"No profile has this context in its traffic" in response.content


def test_bad_trials_go_back_with_why(tuned_profile, operator_client):
    response = operator_client.post(START, {"profile": "tuned", "trials": "5", "next": "/rmos/profiles/tuned/"})
    assert response.status_code == 302 and response["Location"] == "/rmos/profiles/tuned/"
    assert not TuningJob.objects.exists()


def test_viewers_read_jobs_but_may_not_start_cancel_or_propose(tuned_profile, viewer_client):
    assert viewer_client.post(START, {"profile": "tuned"}).status_code == 403
    job = services.tuning_job_create(profile="tuned", trials=10, seed=2, enqueue=False)
    services.tuning_job_run(job_id=job.pk)
    page = viewer_client.get(f"/rmos/tuning/{job.pk}/")
    assert page.status_code == 200 and b"Proposal 1" in page.content
    assert b"Propose this change" not in page.content and b"refresh" not in page.content
    assert viewer_client.post(f"/rmos/tuning/{job.pk}/cancel/").status_code == 403
    assert b'action="/rmos/tuning/start/"' not in viewer_client.get("/rmos/profiles/tuned/").content


def test_propose_fills_the_editor_of_an_unprotected_profile(tuned_profile, operator_client):
    job = services.tuning_job_create(profile="tuned", trials=10, seed=2, enqueue=False)
    job = services.tuning_job_run(job_id=job.pk)
    page = operator_client.get(f"/rmos/tuning/{job.pk}/").content.decode()
    link = f"/rmos/profiles/tuned/?tuning_job={job.pk}&amp;proposal=1#edit-heading"
    assert link in page
    # The difference row in percentage points, as the shares above it are in percent.
    gain = job.result["proposals"][0]["prediction"]["overall"]["difference"]["acceptable_share"]
    row = re.search(r"<th scope=\"row\">Difference</th><td class=\"num\">([^<]*)</td>", page).group(1)
    assert row == f"{gain * 100:+.1f} pp".replace("+0.0 pp", "±0.0 pp").replace("-0.0 pp", "±0.0 pp")
    editor = operator_client.get(f"/rmos/profiles/tuned/?tuning_job={job.pk}&proposal=1").content.decode()
    proposal = job.result["proposals"][0]
    for change in proposal["changes"]:
        if isinstance(change["after"], int) and not isinstance(change["after"], bool):
            assert re.search(rf'name="{change["field"]}" value="{change["after"]}"', editor), change
    assert f"Tuning job #{job.pk}, proposal 1" in editor and "it is now at v" not in editor
    edit_profile("tuned", description="changed after the job", note="a save since")
    later = operator_client.get(f"/rmos/profiles/tuned/?tuning_job={job.pk}&proposal=1").content.decode()
    assert (
        f"Tuning job #{job.pk} searched tuned v{job.profile_version}; it is now at v{job.profile_version + 1}" in later
    )
    assert operator_client.get(f"/rmos/profiles/tuned/?tuning_job={job.pk}&proposal=9").status_code == 404


def test_a_proposal_that_would_undo_a_later_change_says_which(tuned_profile, operator_client):
    """The proposal's changes go over the current values: a field it changes that a version
    saved since the job changed too is named, with its three values, and the job page's link
    lands at the top of the editor's page, where that is said."""
    job = services.tuning_job_create(profile="tuned", trials=10, seed=2, enqueue=False)
    job = services.tuning_job_run(job_id=job.pk)
    changes = {c["field"]: c for c in job.result["proposals"][0]["changes"]}
    assert "max_total_width_mm" in changes and "max_rings" in changes  # what seed 2 proposes
    edit_profile("tuned", max_total_width_mm="10.00", note="narrower rosettes, after the job")
    page = operator_client.get(f"/rmos/tuning/{job.pk}/").content.decode()
    assert f'/rmos/profiles/tuned/?tuning_job={job.pk}&amp;proposal=1"' in page  # no #edit-heading
    editor = operator_client.get(f"/rmos/profiles/tuned/?tuning_job={job.pk}&proposal=1").content.decode()
    widest = changes["max_total_width_mm"]
    named = (
        f"{field_label('max_total_width_mm')} (v{job.profile_version} {display_value('max_total_width_mm', widest['before'])}, "
        f"now {display_value('max_total_width_mm', 10.0)}, proposed {display_value('max_total_width_mm', widest['after'])})"
    )
    assert html.escape(named) in editor and "would undo it" in editor
    assert html.escape(field_label("max_rings")) + " (" not in editor  # changed by the proposal only


def test_cancel_from_the_page(tuned_profile, operator_client):
    job = services.tuning_job_create(profile="tuned", trials=10, seed=2)
    response = operator_client.post(f"/rmos/tuning/{job.pk}/cancel/", follow=True)
    assert b"cancelled" in response.content
    job.refresh_from_db()
    assert job.state == "cancelled"


def test_a_stalled_job_page_says_its_worker_stopped_and_a_cancel_ends_it(tuned_profile, operator, operator_client):
    from datetime import timedelta

    from django.utils import timezone

    job = services.tuning_job_create(profile="tuned", trials=50, seed=1, user=operator, enqueue=False)
    long_ago = timezone.now() - timedelta(minutes=30)
    TuningJob.objects.filter(pk=job.pk).update(state="running", started_at=long_ago, heartbeat_at=long_ago)
    page = operator_client.get(f"/rmos/tuning/{job.pk}/").content.decode()
    assert "the worker running this job has stopped" in page
    operator_client.post(f"/rmos/tuning/{job.pk}/cancel/")
    page = operator_client.get(f"/rmos/tuning/{job.pk}/").content.decode()
    assert "Cancelled after 0 trials" in page and "Its worker stopped" in page
    assert "the worker running this job has stopped" not in page
