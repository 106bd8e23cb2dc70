"""The change requests' state machine (DESIGN §10): every allowed and every refused transition,
through the services as every door calls them."""

from __future__ import annotations

import pytest

from profiles import selectors, services
from profiles.models import ChangeRequest, ChangeType, ConstraintProfile
from rmos_site.errors import Conflict, Forbidden, ValidationFailed
from tests.factories import edit_profile, make_profile, make_user, open_request, protect, review

pytestmark = pytest.mark.django_db

STATES = ("open", "approved", "published", "rejected", "withdrawn", "stale")


@pytest.fixture
def people(db):
    return {
        "author": make_user("olga", role="operator"),
        "reviewer": make_user("rita", role="reviewer"),
        "reviewer2": make_user("sam", role="reviewer"),
        "operator": make_user("otto", role="operator"),
        "viewer": make_user("victor", role="viewer"),
        "integrator": make_user("bot", role="integrator"),
    }


@pytest.fixture
def profile(db):
    make_profile("production_machine", min_rings=3, max_rings=10)
    return protect("production_machine")


def in_state(state: str, people) -> ChangeRequest:
    """A request on production_machine (max_rings 10 → 8) brought into ``state``."""
    request = open_request("production_machine", author=people["author"], max_rings=8)
    if state in ("approved", "published"):
        review(request, by=people["reviewer"])
    if state == "published":
        services.change_request_publish(request_id=request.pk, user=people["author"])
    if state == "rejected":
        review(request, by=people["reviewer"], decision="request_changes", note="too tight")
    if state == "withdrawn":
        services.change_request_withdraw(request_id=request.pk, user=people["author"])
    if state == "stale":
        services.profile_update(
            name="production_machine", changes={"min_rings": 4}, note="import", change_type="import"
        )
    request.refresh_from_db()
    assert request.state == state
    return request


def act(action: str, request: ChangeRequest, people):
    current = selectors.profile_get(name="production_machine").version
    if action == "approve":
        return review(request, by=people["reviewer2"])
    if action == "request_changes":
        return review(request, by=people["reviewer2"], decision="request_changes", note="no")
    if action == "comment":
        return review(request, by=people["reviewer2"], decision="comment", note="a thought")
    if action == "revise":
        return services.change_request_revise(
            request_id=request.pk, base_version=current, changes={"max_rings": 9}, note="revised", user=people["author"]
        )
    if action == "publish":
        return services.change_request_publish(request_id=request.pk, user=people["author"])
    if action == "withdraw":
        return services.change_request_withdraw(request_id=request.pk, user=people["author"])
    raise AssertionError(action)


# (state, action) -> the state after it, or the error it raises (a refusal changes nothing)
ALLOWED = {
    ("open", "approve"): "approved",
    ("open", "request_changes"): "rejected",
    ("open", "comment"): "open",
    ("open", "revise"): "open",
    ("open", "withdraw"): "withdrawn",
    ("approved", "approve"): "approved",
    ("approved", "request_changes"): "rejected",
    ("approved", "comment"): "approved",
    ("approved", "revise"): "open",
    ("approved", "publish"): "published",
    ("approved", "withdraw"): "withdrawn",
    ("rejected", "comment"): "rejected",
    ("rejected", "revise"): "open",
    ("rejected", "withdraw"): "withdrawn",
    ("stale", "comment"): "stale",
    ("stale", "revise"): "open",
    ("stale", "withdraw"): "withdrawn",
    ("published", "comment"): "published",
    ("withdrawn", "comment"): "withdrawn",
}
ACTIONS = ("approve", "request_changes", "comment", "revise", "publish", "withdraw")
REFUSED = [(s, a) for s in STATES for a in ACTIONS if (s, a) not in ALLOWED]


@pytest.mark.parametrize("state, action", list(ALLOWED), ids=[f"{s}-{a}" for s, a in ALLOWED])
def test_allowed_transitions(profile, people, state, action):
    request = in_state(state, people)
    act(action, request, people)
    request.refresh_from_db()
    assert request.state == ALLOWED[(state, action)]


@pytest.mark.parametrize("state, action", REFUSED, ids=[f"{s}-{a}" for s, a in REFUSED])
def test_refused_transitions_change_nothing(profile, people, state, action):
    request = in_state(state, people)
    before = (request.state, request.revision, request.reviews.count(), ConstraintProfile.objects.get().version)
    with pytest.raises(Conflict) as refused:
        act(action, request, people)
    body = refused.value.as_dict()
    assert body["status"] == 409 and body["errors"][0]["rule"] in ("state", "stale")
    request.refresh_from_db()
    assert (request.state, request.revision, request.reviews.count(), ConstraintProfile.objects.get().version) == before


def test_refusals_say_why(profile, people):
    with pytest.raises(Conflict, match="revises it on the profile's current version"):
        act("approve", in_state("stale", people), people)
    with pytest.raises(Conflict, match="published as version 4"):
        act("revise", in_state("published", people), people)


def test_the_author_never_approves_or_rejects_their_own_request(profile, people):
    author = make_user("rosa", role="reviewer")  # a reviewer, but the author
    request = open_request("production_machine", author=author, max_rings=8)
    for decision in ("approve", "request_changes"):
        with pytest.raises(Forbidden) as refused:
            review(request, by=author, decision=decision, note="mine")
        assert refused.value.errors[0].rule == "self_review"
    review(request, by=author, decision="comment", note="answering the reviewers")  # comments are fine
    request.refresh_from_db()
    assert request.state == "open" and selectors.approvers(request) == []


def test_a_new_revision_withdraws_earlier_approvals(profile, people):
    services.profile_update(name="production_machine", changes={"required_approvals": 2}, note="two pairs of eyes")
    request = open_request("production_machine", author=people["author"], max_rings=8)
    review(request, by=people["reviewer"])
    request.refresh_from_db()
    assert request.state == "open" and selectors.approvers(request) == ["rita"]  # 1 of 2
    act("revise", request, people)
    request.refresh_from_db()
    assert request.revision == 2 and selectors.approvers(request) == []
    detail = selectors.change_request_to_dict(selectors.change_request_get(request_id=request.pk), detail=True)
    assert [(r["reviewer"], r["revision"], r["counts"]) for r in detail["reviews"]] == [("rita", 1, False)]
    review(request, by=people["reviewer"])
    review(request, by=people["reviewer2"])
    request.refresh_from_db()
    assert request.state == "approved" and selectors.approvers(request) == ["rita", "sam"]


def test_one_reviewer_approves_a_revision_once(profile, people):
    request = open_request("production_machine", author=people["author"], max_rings=8)
    services.profile_update(name="production_machine", changes={"required_approvals": 2}, note="two", version=2)
    request.refresh_from_db()
    assert request.state == "stale"  # the protection moved the profile: it goes stale too
    act("revise", request, people)
    review(request, by=people["reviewer"])
    with pytest.raises(Conflict) as refused:
        review(request, by=people["reviewer"])
    assert refused.value.errors[0].rule == "already_approved"
    request.refresh_from_db()
    assert request.state == "open"


def test_publishing_applies_one_version_whose_journal_names_request_author_and_approvers(profile, people):
    request = in_state("approved", people)
    published = services.change_request_publish(request_id=request.pk, user=people["reviewer"])
    profile = ConstraintProfile.objects.get()
    assert (profile.version, profile.max_rings, published.published_version) == (3, 8, 3)
    record = profile.history.order_by("-history_id").first()
    assert record.change_type == ChangeType.REQUEST and record.change_request == request.pk
    assert record.history_user == people["reviewer"]
    assert record.history_change_reason == (
        f"change request #{request.pk} (revision 1) by olga, approved by rita: a proposal for a test"
    )
    (entry,) = selectors.profile_history(name="production_machine", limit=1)
    assert entry["change_request"] == request.pk and entry["type"] == "request"
    assert entry["changes"] == [{"field": "max_rings", "before": 10, "after": 8}]
    assert published.published_history_id == record.history_id and published.published_by == people["reviewer"]


def test_publishing_on_a_moved_base_is_refused_and_the_request_turns_stale(profile, people):
    request = in_state("approved", people)
    # A second request, approved and published first, moves the profile on.
    other = open_request("production_machine", author=people["operator"], min_rings=4)
    review(other, by=people["reviewer"])
    services.change_request_publish(request_id=other.pk, user=people["operator"])
    request.refresh_from_db()
    assert request.state == "stale"  # marked as the profile moved, before anyone tried to publish
    with pytest.raises(Conflict) as refused:
        services.change_request_publish(request_id=request.pk, user=people["author"])
    body = refused.value.as_dict()
    assert body["errors"][0] == {
        "field": "base_version",
        "rule": "stale",
        "message": f"request #{request.pk} starts from version 2, but production_machine is at version 3; "
        "its author revises it on the new version",
    }
    assert [(m["field"], m["kind"]) for m in body["moved"]] == [("min_rings", "tightened")]
    assert ConstraintProfile.objects.get().max_rings == 10  # nothing of it applied
    detail = selectors.change_request_to_dict(selectors.change_request_get(request_id=request.pk), detail=True)
    assert [m["field"] for m in detail["moved_meanwhile"]] == ["min_rings"]
    # Revised on the new base, it goes through review again and publishes.
    act("revise", request, people)
    review(request, by=people["reviewer"])
    services.change_request_publish(request_id=request.pk, user=people["author"])
    assert (ConstraintProfile.objects.get().min_rings, ConstraintProfile.objects.get().max_rings) == (4, 9)


def test_a_direct_edit_of_an_unprotected_profile_makes_its_requests_stale(people):
    make_profile("default")
    request = open_request("default", author=people["author"], max_rings=5)
    edit_profile("default", max_rings=7)
    request.refresh_from_db()
    assert request.state == "stale"
    assert request.history.first().history_change_reason == "profile moved to version 2"


def test_proposals_are_validated_exactly_as_edits(profile, people):
    cases = [
        ({"max_rings": 2}, "changes.max_rings", "min_le_max"),
        ({"max_rings": 30}, "changes.max_rings", "range"),
        ({"min_rings": 10, "min_ring_width_mm": 1.5}, "changes.max_total_width_mm", "admits_design"),
        ({"palette_key": "nope"}, "changes.palette_key", "unknown_palette"),
        ({"colour": "red"}, "changes.colour", "unknown_field"),
        ({"protected": False}, "changes.protected", "not_proposable"),
        ({"max_rings": 10}, "changes", "no_change"),
        ({}, "changes", "no_change"),
    ]
    for changes, field, rule in cases:
        with pytest.raises(ValidationFailed) as refused:
            services.change_request_create(
                profile_name="production_machine", base_version=2, changes=changes, note="n", user=people["author"]
            )
        assert (refused.value.errors[0].field, refused.value.errors[0].rule) == (field, rule), changes
    with pytest.raises(ValidationFailed, match="note"):
        services.change_request_create(
            profile_name="production_machine", base_version=2, changes={"max_rings": 8}, note=" ", user=people["author"]
        )
    with pytest.raises(Conflict) as stale:
        services.change_request_create(
            profile_name="production_machine", base_version=1, changes={"max_rings": 8}, note="n", user=people["author"]
        )
    assert stale.value.errors[0].field == "base_version" and stale.value.errors[0].rule == "stale"
    assert ChangeRequest.objects.count() == 0


def test_only_the_values_that_change_are_kept(profile, people):
    request = open_request("production_machine", author=people["author"], max_rings=8, min_rings=3, allow_mosaic=True)
    assert request.changes == {"max_rings": 8}


@pytest.mark.parametrize("who", ["viewer", "integrator"])
def test_viewers_and_integrators_cannot_open_review_or_publish(profile, people, who):
    with pytest.raises(Forbidden):
        open_request("production_machine", author=people[who], max_rings=8)
    request = in_state("approved", people)
    for decision in ("approve", "request_changes", "comment"):
        with pytest.raises(Forbidden):
            review(request, by=people[who], decision=decision, note="n")
    with pytest.raises(Forbidden):
        services.change_request_publish(request_id=request.pk, user=people[who])


def test_operators_open_and_publish_their_own_but_do_not_review_or_publish_others(profile, people):
    request = open_request("production_machine", author=people["author"], max_rings=8)
    with pytest.raises(Forbidden):
        review(request, by=people["operator"])
    review(request, by=people["reviewer"])
    with pytest.raises(Forbidden):
        services.change_request_publish(request_id=request.pk, user=people["operator"])
    for call in (
        lambda: services.change_request_withdraw(request_id=request.pk, user=people["operator"]),
        lambda: services.change_request_revise(
            request_id=request.pk, base_version=2, changes={"max_rings": 7}, note="n", user=people["operator"]
        ),
    ):
        with pytest.raises(Forbidden) as refused:
            call()
        assert refused.value.errors[0].rule == "author_only"
    services.change_request_publish(request_id=request.pk, user=people["author"])


def test_awaiting_counts_what_waits_on_each_person(profile, people):
    first = open_request("production_machine", author=people["author"], max_rings=8)
    second = open_request("production_machine", author=people["reviewer2"], max_rings=9)
    count = selectors.change_request_awaiting_count
    assert count(user=people["reviewer"]) == 2  # both open, neither reviewed by rita
    assert count(user=people["reviewer2"]) == 1  # not their own
    assert count(user=people["author"]) == 0  # operators do not review; nothing of theirs waits on them
    review(first, by=people["reviewer"])
    assert count(user=people["reviewer"]) == 1
    assert count(user=people["author"]) == 1  # approved: theirs to publish
    review(second, by=people["reviewer"], decision="request_changes", note="why 9?")
    assert count(user=people["reviewer"]) == 0 and count(user=people["reviewer2"]) == 1  # sam revises now
    services.change_request_publish(request_id=first.pk, user=people["author"])
    assert count(user=people["author"]) == 0


def test_deleting_a_profile_waits_for_its_requests(people):
    make_profile("default")
    make_profile("spare")
    request = open_request("spare", author=people["author"], max_rings=5)
    with pytest.raises(ValidationFailed, match="publish or withdraw them first"):
        services.profile_delete(name="spare", note="gone")
    services.change_request_withdraw(request_id=request.pk, user=people["author"])
    services.profile_delete(name="spare", note="gone")
    assert not ConstraintProfile.objects.filter(name="spare").exists()
    assert ChangeRequest.history.filter(id=request.pk).exists()  # the request's own history stays
