"""Four eyes in a browser: an operator proposes a change to a protected profile, a reviewer
approves it, the operator publishes it, and the profile page shows the new version linked to the
request; at a laptop's and a phone's width, with no sideways scroll and no JavaScript error."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from profiles.models import ChangeRequest, ConstraintProfile
from tests.factories import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _fits(page, width: int) -> None:
    scroll = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll <= width, scroll


@pytest.mark.parametrize("width", [1366, 390])
def test_propose_approve_publish(page, shot, sign_in, starter_profiles, width):
    operator = make_user("olga", role="operator")
    reviewer = make_user("rita", role="reviewer")
    page.set_viewport_size({"width": width, "height": 900})

    # The operator opens the protected profile: its editor proposes instead of saving.
    sign_in(operator)
    page.goto("/rmos/profiles/production_machine/")
    expect(page.get_by_role("heading", name="Propose a change")).to_be_visible()
    expect(page.locator("#propose-notice")).to_contain_text("production_machine is protected")
    _fits(page, width)
    page.get_by_label("Most rings").fill("8")
    page.get_by_label(re.compile("^Change note")).fill("Ten rings crowd the production saw; eight is plenty")
    shot(f"propose-{width}")
    page.get_by_role("button", name="Propose change").click()
    expect(page).to_have_url(re.compile(r"/rmos/change-requests/\d+/$"))
    request = ChangeRequest.objects.get()
    expect(page.get_by_role("heading", name=re.compile(f"Change request #{request.pk}"))).to_be_visible()
    expect(page.locator(".diff-semantic")).to_contain_text("maximum ring count lowered (10 → 8): tightened")
    expect(page.locator("#actions")).to_contain_text("Waiting for a reviewer other than you")
    _fits(page, width)
    shot(f"request-open-{width}")

    # The reviewer sees it waiting in the header, and approves.
    page.context.clear_cookies()
    sign_in(reviewer)
    page.goto("/rmos/profiles/")
    badge = page.locator(".count-badge")
    expect(badge).to_have_text("1")
    badge.click()
    expect(page).to_have_url(re.compile(r"/rmos/change-requests/\?awaiting=me$"))
    page.get_by_role("link", name=f"#{request.pk}").click()
    page.get_by_label("Approve").check()
    page.get_by_label("Note").fill("Checked against last month's chipping reports")
    page.get_by_role("button", name="Submit").click()
    expect(page.locator(".state-tag").first).to_have_text("approved")
    shot(f"request-approved-{width}")

    # The operator publishes.
    page.context.clear_cookies()
    sign_in(operator)
    page.goto(f"/rmos/change-requests/{request.pk}/")
    page.get_by_role("button", name="Publish").click()
    expect(page.locator("#published-notice")).to_contain_text("as version 2 of production_machine")
    _fits(page, width)
    shot(f"request-published-{width}")
    assert ConstraintProfile.objects.get(name="production_machine").max_rings == 8

    # The profile page shows the new version, linked to the request.
    page.locator("#published-notice").get_by_role("link").click()
    entry = page.locator("#history .history-entry").first
    expect(entry).to_contain_text("v2")
    link = entry.get_by_role("link", name=f"change request #{request.pk}")
    expect(link).to_be_visible()
    _fits(page, width)
    shot(f"profile-history-{width}")
    link.click()
    expect(page).to_have_url(re.compile(rf"/rmos/change-requests/{request.pk}/$"))
