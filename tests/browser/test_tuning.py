"""The tuning assistant in a browser (DESIGN §11): an operator presses "Tune" on a protected
profile, the job runs on django-tasks' worker while its page shows progress, and "Propose this
change" opens a change request prefilled with the proposal; at a laptop's and a phone's width."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from profiles.models import ChangeRequest
from tests.factories import log_runs, make_user, run_item, run_task_worker
from tuning.models import TuningJob

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ROUTER = {"tool_id": "router:vbit-60", "material_id": "wood:maple-hard", "machine_id": "prod:vmc-3axis"}


def _fits(page, width: int) -> None:
    scroll = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll <= width, scroll


@pytest.mark.parametrize("width", [1366, 390])
def test_tune_to_a_prefilled_change_request(page, shot, sign_in, starter_profiles, width):
    at = datetime.now(UTC) - timedelta(days=1)
    log_runs(*[run_item(**ROUTER, profile="production_machine", at=at + timedelta(seconds=i)) for i in range(12)])
    operator = make_user("olga", role="operator")
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(operator)

    page.goto("/rmos/profiles/production_machine/")
    page.get_by_label("Trials").fill("20")
    page.get_by_role("button", name="Tune").click()
    expect(page).to_have_url(re.compile(r"/rmos/tuning/\d+/$"))
    job = TuningJob.objects.get()
    expect(page.locator(".tuning-state").first).to_have_text("queued")
    expect(page.locator("meta[http-equiv=refresh]")).to_have_count(1)
    _fits(page, width)
    shot(f"queued-{width}")

    run_task_worker()  # the page reloads itself while the job is queued or running
    expect(page.locator(".tuning-state").first).to_have_text("done", timeout=15_000)
    expect(page.locator("meta[http-equiv=refresh]")).to_have_count(0)
    expect(page.locator("progress")).to_have_attribute("value", "20")
    expect(page.get_by_role("heading", name=re.compile("^Proposal 1"))).to_be_visible()
    expect(page.locator("#tuning-trials-title")).to_have_text("Objective per trial")
    _fits(page, width)
    shot(f"done-{width}")

    job.refresh_from_db()
    proposal = job.result["proposals"][0]
    page.get_by_role("link", name="Propose this change").first.click()
    expect(page).to_have_url(re.compile(r"/rmos/change-requests/new/\?profile=production_machine&tuning_job="))
    note = page.get_by_label(re.compile("^Change note"))
    expect(note).to_have_value(re.compile(rf"^Tuning job #{job.pk}, proposal 1: predicted acceptable share"))
    expect(page.get_by_label("Most rings")).to_have_value(str(proposal["values"]["max_rings"]))
    _fits(page, width)
    shot(f"propose-{width}")
    page.get_by_role("button", name="Propose change").click()
    expect(page).to_have_url(re.compile(r"/rmos/change-requests/\d+/$"))
    request = ChangeRequest.objects.get()
    assert request.author == operator
    expected = {c["field"]: c["after"] for c in proposal["changes"]}
    assert {k: (float(v) if isinstance(v, str) and "." in v else v) for k, v in request.changes.items()} == expected
    shot(f"request-{width}")
