"""Change request pages: the list and its filters, proposing, the request's page (diff, blast
radius, prediction, reviews, actions), revising, the header's count, the profile's history link."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from ailog import services as log_services
from profiles.models import ChangeRequest, ConstraintProfile
from tests.factories import form_data, make_profile, make_user, open_request, protect, review, run_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def production(db):
    make_profile("default")
    make_profile("production_machine", min_rings=3, max_rings=10)
    return protect("production_machine")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_propose_from_the_page_then_review_and_publish(production, operator, reviewer):
    author, rita = signed_in(operator), signed_in(reviewer)
    page = author.get("/rmos/change-requests/new/?profile=production_machine")
    assert page.status_code == 200 and "Propose a change to production_machine" in page.content.decode()
    response = author.post(
        "/rmos/change-requests/new/?profile=production_machine",
        form_data(production, max_rings="8", note="fewer rings on production", action="propose"),
    )
    request = ChangeRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/rmos/change-requests/{request.pk}/"
    assert (request.changes, request.base_version, request.author) == ({"max_rings": 8}, 2, operator)
    html = author.get(f"/rmos/change-requests/{request.pk}/").content.decode()
    assert "Tightens 1 bound." in html and "maximum ring count lowered (10 → 8): tightened" in html
    assert "Waiting for a reviewer other than you" in html and 'value="publish"' not in html
    # A reviewer approves on the page; the author publishes there.
    assert (
        rita.post(
            f"/rmos/change-requests/{request.pk}/", {"action": "review", "decision": "approve", "revision": 1}
        ).status_code
        == 302
    )
    html = author.get(f"/rmos/change-requests/{request.pk}/").content.decode()
    assert 'value="publish"' in html and "1 of 1 approval" in html and "(rita)" in html
    assert author.post(f"/rmos/change-requests/{request.pk}/", {"action": "publish"}).status_code == 302
    profile = ConstraintProfile.objects.get(name="production_machine")
    assert (profile.version, profile.max_rings) == (3, 8)
    html = author.get(f"/rmos/change-requests/{request.pk}/").content.decode()
    assert 'as <a href="/rmos/profiles/production_machine/#history">version 3 of production_machine</a>' in html
    assert "Outcome of version 3" in html
    assert 'verdict-not_comparable">not comparable</span>' in html  # the label, not "notcomparable"
    history = author.get("/rmos/profiles/production_machine/").content.decode()
    assert (
        f'<a class="request-link" href="/rmos/change-requests/{request.pk}/">change request #{request.pk}</a>'
        in history
    )


def test_proposal_problems_show_next_to_their_fields(production, operator_client):
    response = operator_client.post(
        "/rmos/change-requests/new/?profile=production_machine", form_data(production, max_rings="2", action="propose")
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Not proposed: 1 problem to fix" in html and "Must be at least fewest rings (3), got 2" in html
    unchanged = operator_client.post(
        "/rmos/change-requests/new/?profile=production_machine", form_data(production, action="propose")
    )
    assert unchanged.status_code == 400 and "nothing to propose" in unchanged.content.decode()
    assert ChangeRequest.objects.count() == 0


def test_the_proposal_page_says_whether_the_profile_is_protected(production, operator_client):
    protected = operator_client.get("/rmos/change-requests/new/?profile=production_machine").content.decode()
    assert "production_machine is <strong>protected</strong>" in protected
    unprotected = operator_client.get("/rmos/change-requests/new/?profile=default").content.decode()
    assert "is <strong>protected</strong>" not in unprotected
    assert (
        "default is not protected" in unprotected
        and 'href="/rmos/profiles/default/">edit it directly</a>' in unprotected
    )


def test_a_proposal_without_a_note_still_names_every_other_problem_in_form_order(production, operator_client):
    response = operator_client.post(
        "/rmos/change-requests/new/?profile=production_machine",
        form_data(production, max_total_width_mm="-3", note="", action="propose"),
    )
    assert response.status_code == 400
    summary = re.search(r'id="error-summary".*?</div>', response.content.decode(), re.S).group(0)
    assert "2 problems to fix" in summary
    assert summary.index("Widest rosette") < summary.index("Change note")
    assert 'value="-3"' in response.content.decode()
    assert ChangeRequest.objects.count() == 0


def test_proposing_needs_the_role(production, viewer_client):
    assert viewer_client.get("/rmos/change-requests/new/?profile=production_machine").status_code == 403
    assert viewer_client.get("/rmos/change-requests/new/?profile=nope").status_code == 403


def test_self_approval_is_refused_on_the_page(production, reviewer):
    request = open_request("production_machine", author=reviewer, max_rings=8)
    client = signed_in(reviewer)
    html = client.get(f"/rmos/change-requests/{request.pk}/").content.decode()
    assert 'value="approve"' not in html and 'value="comment"' in html  # the author may only comment
    response = client.post(
        f"/rmos/change-requests/{request.pk}/", {"action": "review", "decision": "approve", "revision": 1}
    )
    assert response.status_code == 403
    assert "The author never approves or rejects their own request" in response.content.decode()
    request.refresh_from_db()
    assert request.state == "open"


def test_the_author_comments_without_choosing_and_a_missing_choice_is_named(production, operator, reviewer):
    request = open_request("production_machine", author=operator, max_rings=8)
    author = signed_in(operator)
    html = author.get(f"/rmos/change-requests/{request.pk}/").content.decode()
    assert '<input type="hidden" name="decision" value="comment">' in html and 'type="radio"' not in html
    rita = signed_in(reviewer)
    response = rita.post(f"/rmos/change-requests/{request.pk}/", {"action": "review", "revision": 1, "note": "hm"})
    assert response.status_code == 400
    assert "Choose your review: approve, request changes or comment only." in response.content.decode()


def test_request_changes_needs_a_note(production, operator, reviewer):
    request = open_request("production_machine", author=operator, max_rings=8)
    response = signed_in(reviewer).post(
        f"/rmos/change-requests/{request.pk}/",
        {"action": "review", "decision": "request_changes", "note": "", "revision": 1},
    )
    assert response.status_code == 400 and "A change note is required" in response.content.decode()


def test_a_stale_request_shows_what_changed_and_revises_on_the_new_version(production, operator, reviewer):
    request = open_request("production_machine", author=operator, max_rings=8)
    review(request, by=reviewer)
    other = open_request("production_machine", author=make_user("otto", role="operator"), allow_mosaic=False)
    review(other, by=reviewer)
    from profiles import services

    services.change_request_publish(request_id=other.pk, user=reviewer)
    client = signed_in(operator)
    html = client.get(f"/rmos/change-requests/{request.pk}/").content.decode()
    assert "Stale:" in html and "Changed meanwhile" in html and "Allow mosaic rings" in html
    publish = client.post(f"/rmos/change-requests/{request.pk}/", {"action": "publish"})
    assert publish.status_code == 409
    page = client.get(f"/rmos/change-requests/{request.pk}/revise/")
    assert page.status_code == 200 and "on production_machine v3" in page.content.decode()
    # The form starts from v3 with the request's change on top: mosaic stays off as v3 has it
    # (v2's value there would quietly undo the other request).
    mosaic = re.search(r'<input type="checkbox" name="allow_mosaic"[^>]*>', page.content.decode()).group(0)
    assert "checked" not in mosaic
    assert re.search(r'name="max_rings" value="8"', page.content.decode())
    profile = ConstraintProfile.objects.get(name="production_machine")
    revised = client.post(
        f"/rmos/change-requests/{request.pk}/revise/", form_data(profile, max_rings="9", note="on v3", action="propose")
    )
    assert revised.status_code == 302
    request.refresh_from_db()
    assert (request.state, request.revision, request.base_version, request.changes) == ("open", 2, 3, {"max_rings": 9})
    assert signed_in(reviewer).get(f"/rmos/change-requests/{request.pk}/revise/").status_code == 403


def test_withdraw_on_the_page(production, operator):
    request = open_request("production_machine", author=operator, max_rings=8)
    client = signed_in(operator)
    assert client.post(f"/rmos/change-requests/{request.pk}/", {"action": "withdraw"}).status_code == 302
    request.refresh_from_db()
    assert request.state == "withdrawn"
    again = client.post(f"/rmos/change-requests/{request.pk}/", {"action": "withdraw"})
    assert again.status_code == 409 and "is withdrawn: it cannot be withdrawn" in again.content.decode()


def test_the_request_page_shows_blast_radius_and_prediction(production, operator, viewer_client):
    recent = datetime.now(UTC) - timedelta(days=1)
    log_services.runs_ingest(
        runs=[
            run_item(at=recent, profile="production_machine", tool_id="saw:slitting-0.5", material_id="wood:ebony"),
            run_item(at=recent, profile="production_machine", tool_id="saw:slitting-0.5", material_id="wood:ebony"),
            run_item(at=recent, profile="production_machine", tool_id="router:vbit-60", material_id="wood:maple-hard"),
        ]
    )
    request = open_request("production_machine", author=operator, max_rings=8)
    html = viewer_client.get(f"/rmos/change-requests/{request.pk}/").content.decode()
    assert "contexts that resolved to production_machine in the last 30 days: 3 runs" in html
    assert "<code>saw:slitting-0.5</code></td><td><code>wood:ebony</code>" in html and "67%" in html
    assert "Prediction on real traffic" in html and "Acceptable share" in html and "Per context" in html
    # The difference in percentage points beside the percents, not a raw fraction.
    difference = re.search(r'<th scope="row">Difference</th><td class="num">([^<]*)</td>', html).group(1)
    assert re.fullmatch(r"([+-]\d+\.\d|±0\.0) pp", difference), difference
    assert "Reviewing needs the reviewer role" in html


def test_list_filters_pages_and_empty_states(production, operator, reviewer, viewer_client):
    assert "No change requests yet" in viewer_client.get("/rmos/change-requests/").content.decode()
    requests = [open_request("production_machine", author=operator, max_rings=n) for n in range(4, 10)]
    review(requests[0], by=reviewer)
    html = viewer_client.get("/rmos/change-requests/?state=approved").content.decode()
    assert f'href="/rmos/change-requests/{requests[0].pk}/">#{requests[0].pk}</a>' in html and "1 request" in html
    assert "No request matches" in viewer_client.get("/rmos/change-requests/?author=nobody").content.decode()
    bad = viewer_client.get("/rmos/change-requests/?state=done")
    assert bad.status_code == 400 and "state: must be one or more of" in bad.content.decode()
    assert "Nothing waits on you" in viewer_client.get("/rmos/change-requests/?awaiting=me").content.decode()
    many = [open_request("production_machine", author=operator, max_rings=n % 6 + 4, note=f"n{n}") for n in range(20)]
    page2 = viewer_client.get("/rmos/change-requests/?profile=production_machine&page=2").content.decode()
    assert "Page 2 of 2" in page2 and 'href="?profile=production_machine&amp;page=1"' in page2
    assert f"#{requests[0].pk}</a>" in page2 and f"#{many[-1].pk}</a>" not in page2


def test_the_header_counts_what_awaits_you(production, operator, reviewer):
    open_request("production_machine", author=operator, max_rings=8)
    html = signed_in(reviewer).get("/rmos/profiles/").content.decode()
    assert 'aria-label="1 change request waiting on you">1</a>' in html
    assert "waiting on you" not in signed_in(operator).get("/rmos/profiles/").content.decode()


def test_unknown_request_is_404(viewer_client):
    assert viewer_client.get("/rmos/change-requests/999/").status_code == 404


def test_an_approval_of_a_revision_the_reviewer_did_not_see_is_refused(production, operator, reviewer):
    """The reviewer read revision 1; the author revised meanwhile: the approval is not recorded."""
    from profiles import services

    request = open_request("production_machine", author=operator, max_rings=8)
    rita = signed_in(reviewer)
    assert 'name="revision" value="1"' in rita.get(f"/rmos/change-requests/{request.pk}/").content.decode()
    services.change_request_revise(
        request_id=request.pk, base_version=2, changes={"max_rings": 4}, note="now much fewer", user=operator
    )
    response = rita.post(
        f"/rmos/change-requests/{request.pk}/", {"action": "review", "decision": "approve", "revision": 1}
    )
    assert response.status_code == 409
    assert (
        "is at revision 2, not 1" in response.content.decode()
        and 'name="revision" value="2"' in response.content.decode()
    )
    request.refresh_from_db()
    assert request.state == "open" and not request.reviews.exists()
    missing = rita.post(f"/rmos/change-requests/{request.pk}/", {"action": "review", "decision": "approve"})
    assert missing.status_code == 400 and not request.reviews.exists()


def test_a_proposal_with_a_form_error_stores_nothing(production, operator_client):
    """A field left empty beside a valid change: a 400 with the field named, and no request."""
    data = form_data(production, max_rings="8", note="fewer rings", action="propose")
    data["min_rings"] = ""
    response = operator_client.post("/rmos/change-requests/new/?profile=production_machine", data)
    assert response.status_code == 400
    assert ChangeRequest.objects.count() == 0


def test_a_revision_with_a_form_error_stores_nothing(production, operator, reviewer):
    request = open_request("production_machine", author=operator, max_rings=8)
    review(request, by=reviewer)
    data = form_data(
        ConstraintProfile.objects.get(name="production_machine"), max_rings="9", note="nine", action="propose"
    )
    data["min_rings"] = ""
    response = signed_in(operator).post(f"/rmos/change-requests/{request.pk}/revise/", data)
    assert response.status_code == 400
    request.refresh_from_db()
    assert (request.revision, request.state, request.changes) == (1, "approved", {"max_rings": 8})


def test_an_author_who_lost_the_role_neither_revises_nor_publishes(production, operator, reviewer):
    from django.contrib.auth.models import Group

    request = open_request("production_machine", author=operator, max_rings=8)
    review(request, by=reviewer)
    operator.groups.set([Group.objects.get(name="rmos-viewer")])
    client = signed_in(operator)
    assert client.post(f"/rmos/change-requests/{request.pk}/", {"action": "publish"}).status_code == 403
    data = form_data(
        ConstraintProfile.objects.get(name="production_machine"), max_rings="9", note="nine", action="propose"
    )
    assert client.post(f"/rmos/change-requests/{request.pk}/revise/", data).status_code == 403
    request.refresh_from_db()
    assert (request.state, request.revision) == ("approved", 1)
    assert ConstraintProfile.objects.get(name="production_machine").max_rings == 10
