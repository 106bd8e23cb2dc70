"""Who may do what: every endpoint and page against every role, asserted cell by cell.

Roles: anonymous; viewer (signed in, no permission); operator (edits profiles, runs searches, opens
change requests); reviewer (an operator who also reviews change requests); integrator (posts runs
and events); admin (superuser). API calls authenticate with a token, pages
with a session. Each cell is the status the role must get; a body that is valid for the allowed
roles makes permission the only thing that varies.
"""

from __future__ import annotations

import json
import uuid

import pytest

from profiles.models import ConstraintProfile
from tests.factories import make_user, token_for

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "viewer", "operator", "reviewer", "integrator", "admin")
SAW = {"tool_id": "saw:slitting-0.5", "material_id": "wood:ebony", "machine_id": "prod:vmc-3axis"}


def everyone(status: int) -> dict[str, int]:
    return {role: 401 if role == "anonymous" else status for role in ROLES}


def only(allowed: set[str], status: int) -> dict[str, int]:
    return {role: (401 if role == "anonymous" else status if role in allowed else 403) for role in ROLES}


def run_item() -> dict:
    return {
        "run_id": str(uuid.uuid4()),
        "timestamp": "2026-01-05T10:00:00Z",
        **SAW,
        "workflow_mode": "constraint_first",
        "profile": "thin_saw",
        "attempts": 1,
        "success": True,
        "reason": "green_found",
        "selected_score": 90.0,
        "selected_risk_bucket": "GREEN",
        "attempt_records": [
            {
                "attempt_index": 1,
                "timestamp": "2026-01-05T10:00:00Z",
                "score": 90.0,
                "risk_bucket": "GREEN",
                "is_acceptable": True,
            }
        ],
    }


def event_item() -> dict:
    return {
        "event_type": "ai_constraint_attempt",
        "run_id": str(uuid.uuid4()),
        "attempt_index": 1,
        "timestamp": "2026-01-05T10:00:00Z",
        **SAW,
        "workflow_mode": "constraint_first",
        "geometry_engine": "",
        "score": 70.0,
        "risk_bucket": "YELLOW",
        "is_acceptable": False,
        "ring_count": 2,
    }


def first_history_id() -> int:
    return ConstraintProfile.history.filter(name="thin_saw").order_by("history_id").first().history_id


# (method, path, body factory or None, expected status per role)
API = [
    ("get", "/api/rmos/ai/profiles", None, everyone(200)),
    ("get", "/api/rmos/ai/profiles/thin_saw", None, everyone(200)),
    ("get", "/api/rmos/ai/rules", None, everyone(200)),
    ("get", "/api/rmos/ai/catalog", None, everyone(200)),
    (
        "get",
        "/api/rmos/ai/resolve?tool_id=saw:slitting-0.5&material_id=wood:ebony&machine_id=prod:vmc-3axis",
        None,
        everyone(200),
    ),
    (
        "get",
        "/api/rmos/ai/snapshots?tool_id=saw:slitting-0.5&material_id=wood:ebony&machine_id=prod:vmc-3axis&n_samples=20",
        None,
        everyone(200),
    ),
    (
        "post",
        "/api/rmos/ai/snapshots/preview",
        lambda: {**SAW, "changes": {"max_rings": 5}, "n_samples": 20},
        everyone(200),
    ),
    ("get", "/api/rmos/ai/profile-admin/list", None, everyone(200)),
    ("get", "/api/rmos/ai/profile-admin/thin_saw", None, everyone(200)),
    (
        "put",
        "/api/rmos/ai/profile-admin/thin_saw",
        lambda: {"max_rings": 7, "note": "matrix"},
        only({"operator", "reviewer", "admin"}, 200),
    ),
    ("get", "/api/rmos/ai/profile-admin/thin_saw/history", None, everyone(200)),
    (
        "post",
        "/api/rmos/ai/profile-admin/thin_saw/rollback",
        lambda: {"id": first_history_id(), "note": "matrix"},
        only({"operator", "reviewer", "admin"}, 200),
    ),
    ("get", "/api/rmos/logs/ai/attempts", None, everyone(200)),
    ("get", "/api/rmos/logs/ai/attempts?format=csv", None, everyone(200)),
    ("get", "/api/rmos/logs/ai/runs", None, everyone(200)),
    ("post", "/api/rmos/logs/ai/runs", lambda: {"runs": [run_item()]}, only({"integrator", "admin"}, 201)),
    ("post", "/api/rmos/logs/ai/events", lambda: {"events": [event_item()]}, only({"integrator", "admin"}, 201)),
    (
        "post",
        "/api/rmos/ai/constraint-search",
        lambda: {**SAW, "max_attempts": 3, "seed": 1},
        only({"operator", "reviewer", "admin"}, 201),
    ),
    ("get", "/api/rmos/ai/analytics/profile-stats", None, everyone(200)),
    ("get", "/api/rmos/ai/analytics/hotspots", None, everyone(200)),
    ("get", "/api/rmos/ai/analytics/profile-versions?profile=thin_saw", None, everyone(200)),
    ("get", "/api/rmos/ai/analytics/timeseries", None, everyone(200)),
    ("get", "/api/rmos/ai/analytics/profile-traffic?profile=thin_saw", None, everyone(200)),
    ("post", "/api/rmos/ai/rules/preview", lambda: {"rule": "saw-tools", "values": {"enabled": False}}, everyone(200)),
    # Change requests (DESIGN §10): everyone signed in reads; operators and reviewers open; only
    # reviewers (and admins) review another's request; the author or a reviewer publishes.
    ("get", "/api/rmos/ai/change-requests", None, everyone(200)),
    ("get", "/api/rmos/ai/change-requests/{request}", None, everyone(200)),
    (
        "post",
        "/api/rmos/ai/change-requests",
        lambda: {"profile": "production_machine", "base_version": 1, "changes": {"max_rings": 9}, "note": "m"},
        only({"operator", "reviewer", "admin"}, 201),
    ),
    (
        "post",
        "/api/rmos/ai/change-requests/{request}/reviews",
        lambda: {"decision": "approve"},
        only({"reviewer", "admin"}, 201),
    ),
    (
        "post",
        "/api/rmos/ai/change-requests/{approved}/publish",
        lambda: {},
        only({"reviewer", "admin"}, 200),
    ),
    (
        "post",
        "/api/rmos/ai/change-requests/{request}/withdraw",
        lambda: {},
        only({"admin"}, 200),
    ),
    (
        "put",
        "/api/rmos/ai/profile-admin/production_machine",
        lambda: {"max_rings": 9, "note": "direct"},
        {**only({"operator", "reviewer", "admin"}, 409)},
    ),
    # Tuning jobs (DESIGN §11): everyone signed in reads; operators and reviewers start them (a
    # profile without traffic: 400 once allowed).
    ("get", "/api/rmos/ai/tuning-jobs", None, everyone(200)),
    (
        "post",
        "/api/rmos/ai/tuning-jobs",
        lambda: {"profile": "thin_saw", "trials": 10},
        only({"operator", "reviewer", "admin"}, 400),
    ),
    ("get", "/api/schema/", None, everyone(200)),
]

LOGIN = "login"  # a 302 to the sign-in page (the site's, or the admin's for admin pages)
PAGES = [
    ("get", "/rmos/ai-ops/", {role: LOGIN if role == "anonymous" else 200 for role in ROLES}),
    ("get", "/dev/rmos-ai-ops/", {role: 302 for role in ROLES}),
    ("get", "/rmos/profiles/", {role: LOGIN if role == "anonymous" else 200 for role in ROLES}),
    ("get", "/rmos/profiles/thin_saw/", {role: LOGIN if role == "anonymous" else 200 for role in ROLES}),
    (
        "post",
        "/rmos/profiles/thin_saw/",
        {"anonymous": LOGIN, "viewer": 403, "operator": 302, "reviewer": 302, "integrator": 403, "admin": 302},
    ),
    (
        "get",
        "/rmos/profiles/thin_saw/rollback/{history}/",
        {"anonymous": LOGIN, "viewer": 403, "operator": 200, "reviewer": 200, "integrator": 403, "admin": 200},
    ),
    ("get", "/rmos/change-requests/", {role: LOGIN if role == "anonymous" else 200 for role in ROLES}),
    ("get", "/rmos/change-requests/{request}/", {role: LOGIN if role == "anonymous" else 200 for role in ROLES}),
    (
        "get",
        "/rmos/change-requests/new/?profile=production_machine",
        {"anonymous": LOGIN, "viewer": 403, "operator": 200, "reviewer": 200, "integrator": 403, "admin": 200},
    ),
    (
        "get",
        "/admin/profiles/changerequest/",
        {"anonymous": LOGIN, "viewer": LOGIN, "operator": LOGIN, "reviewer": LOGIN, "integrator": LOGIN, "admin": 200},
    ),
    ("get", "/api/docs/", {role: LOGIN if role == "anonymous" else 200 for role in ROLES}),
    ("get", "/admin/", {role: 200 if role == "admin" else LOGIN for role in ROLES}),
    ("get", "/admin/profiles/constraintprofile/", {role: 200 if role == "admin" else LOGIN for role in ROLES}),
    ("get", "/admin/ailog/airun/", {role: 200 if role == "admin" else LOGIN for role in ROLES}),
    (
        "get",
        "/admin/rmos_site/apitoken/",
        {role: 200 if role == "admin" else LOGIN for role in ROLES},
    ),
    (
        "get",
        "/admin/knox/authtoken/",
        {role: 404 if role == "admin" else LOGIN for role in ROLES},
    ),
    ("get", "/accounts/password_reset/", {role: 404 for role in ROLES}),  # no mail server configured
]


@pytest.fixture
def users(starter_profiles):
    return {
        "anonymous": None,
        "viewer": make_user("m-viewer", role="viewer"),
        "operator": make_user("m-operator", role="operator"),
        "reviewer": make_user("m-reviewer", role="reviewer"),
        "integrator": make_user("m-integrator", role="integrator"),
        "admin": make_user("m-admin", superuser=True),
    }


@pytest.mark.parametrize(
    "method, path, body, expected", API, ids=[f"{m.upper()} {p.split('?')[0]}" for m, p, _, _ in API]
)
def test_api_permissions(client, users, method, path, body, expected):
    got = {}
    for role in ROLES:
        user = users[role]
        headers = {"HTTP_AUTHORIZATION": f"Token {token_for(user)}"} if user else {}
        kwargs = {"data": json.dumps(body()), "content_type": "application/json"} if body else {}
        url = path.replace("{request}", str(fresh_request(users).pk)).replace(
            "{approved}", str(approved_request(users).pk)
        )
        response = getattr(client, method)(url, **kwargs, **headers)
        got[role] = response.status_code
    assert got == expected


def fresh_request(users):
    """An open request on production_machine (protected in the starter set) by a third party, so
    no role under test is its author; each cell gets its own, so one cell's action never
    changes the next one's."""
    from tests.factories import open_request

    author = users.get("_author") or users.setdefault("_author", make_user("m-author", role="operator"))
    return open_request("production_machine", author=author, max_rings=4 + ChangeRequestCount.next())


def approved_request(users):
    from tests.factories import review

    request = fresh_request(users)
    reviewer = users.get("_reviewer") or users.setdefault("_reviewer", make_user("m-reviewer2", role="reviewer"))
    review(request, by=reviewer)
    return request


class ChangeRequestCount:
    """Distinct proposals (a request must change something; 4..9 rings, round robin)."""

    n = 0

    @classmethod
    def next(cls) -> int:
        cls.n = (cls.n + 1) % 6
        return cls.n


def _profile_form(**changes) -> dict:
    profile = ConstraintProfile.objects.get(name="thin_saw")
    data = {
        f: getattr(profile, f)
        for f in (
            "description",
            "min_rings",
            "max_rings",
            "min_ring_width_mm",
            "max_ring_width_mm",
            "min_total_width_mm",
            "max_total_width_mm",
            "palette_key",
        )
    }
    data.update({f: "on" for f in ("allow_mosaic", "allow_segmented", "bias_simple") if getattr(profile, f)})
    data.update(version=profile.version, note="matrix edit", action="save", **changes)
    return data


@pytest.mark.parametrize("method, path, expected", PAGES, ids=[f"{m.upper()} {p}" for m, p, _ in PAGES])
def test_page_permissions(client, users, method, path, expected):
    got = {}
    for role in ROLES:
        client.logout()
        if users[role]:
            client.force_login(users[role])
        url = path.replace("{history}", str(first_history_id())).replace("{request}", str(fresh_request(users).pk))
        if method == "post":
            response = client.post(
                url, _profile_form(max_rings=ConstraintProfile.objects.get(name="thin_saw").max_rings % 9 + 2)
            )
        else:
            response = client.get(url)
        status = response.status_code
        if status == 302 and "login/?next=" in response["Location"]:
            status = LOGIN
        got[role] = status
    assert got == expected
