"""Who may do what: every endpoint and page against every role, asserted cell by cell.

Roles: anonymous; viewer (signed in, no permission); operator (edits profiles, runs searches);
integrator (posts runs and events); admin (superuser). API calls authenticate with a token, pages
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

ROLES = ("anonymous", "viewer", "operator", "integrator", "admin")
SAW = {"tool_id": "saw:slitting-0.5", "material_id": "wood:ebony", "machine_id": "prod:vmc-3axis"}


def everyone(status: int) -> dict[str, int]:
    return {"anonymous": 401, "viewer": status, "operator": status, "integrator": status, "admin": status}


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
        only({"operator", "admin"}, 200),
    ),
    ("get", "/api/rmos/ai/profile-admin/thin_saw/history", None, everyone(200)),
    (
        "post",
        "/api/rmos/ai/profile-admin/thin_saw/rollback",
        lambda: {"id": first_history_id(), "note": "matrix"},
        only({"operator", "admin"}, 200),
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
        only({"operator", "admin"}, 201),
    ),
    ("get", "/api/rmos/ai/analytics/profile-stats", None, everyone(200)),
    ("get", "/api/rmos/ai/analytics/hotspots", None, everyone(200)),
    ("get", "/api/rmos/ai/analytics/profile-versions?profile=thin_saw", None, everyone(200)),
    ("get", "/api/rmos/ai/analytics/timeseries", None, everyone(200)),
    ("get", "/api/schema/", None, everyone(200)),
]

LOGIN = "login"  # a 302 to the sign-in page (the site's, or the admin's for admin pages)
PAGES = [
    ("get", "/rmos/ai-ops/", {"anonymous": LOGIN, "viewer": 200, "operator": 200, "integrator": 200, "admin": 200}),
    ("get", "/dev/rmos-ai-ops/", {role: 302 for role in ROLES}),
    ("get", "/rmos/profiles/", {"anonymous": LOGIN, "viewer": 200, "operator": 200, "integrator": 200, "admin": 200}),
    (
        "get",
        "/rmos/profiles/thin_saw/",
        {"anonymous": LOGIN, "viewer": 200, "operator": 200, "integrator": 200, "admin": 200},
    ),
    (
        "post",
        "/rmos/profiles/thin_saw/",
        {"anonymous": LOGIN, "viewer": 403, "operator": 302, "integrator": 403, "admin": 302},
    ),
    (
        "get",
        "/rmos/profiles/thin_saw/rollback/{history}/",
        {"anonymous": LOGIN, "viewer": 403, "operator": 200, "integrator": 403, "admin": 200},
    ),
    ("get", "/api/docs/", {"anonymous": LOGIN, "viewer": 200, "operator": 200, "integrator": 200, "admin": 200}),
    ("get", "/admin/", {"anonymous": LOGIN, "viewer": LOGIN, "operator": LOGIN, "integrator": LOGIN, "admin": 200}),
    (
        "get",
        "/admin/profiles/constraintprofile/",
        {"anonymous": LOGIN, "viewer": LOGIN, "operator": LOGIN, "integrator": LOGIN, "admin": 200},
    ),
    (
        "get",
        "/admin/ailog/airun/",
        {"anonymous": LOGIN, "viewer": LOGIN, "operator": LOGIN, "integrator": LOGIN, "admin": 200},
    ),
    (
        "get",
        "/admin/rmos_site/apitoken/",
        {"anonymous": LOGIN, "viewer": LOGIN, "operator": LOGIN, "integrator": LOGIN, "admin": 200},
    ),
    (
        "get",
        "/admin/knox/authtoken/",
        {"anonymous": LOGIN, "viewer": LOGIN, "operator": LOGIN, "integrator": LOGIN, "admin": 404},
    ),
    ("get", "/accounts/password_reset/", {role: 404 for role in ROLES}),  # no mail server configured
]


@pytest.fixture
def users(starter_profiles):
    return {
        "anonymous": None,
        "viewer": make_user("m-viewer", role="viewer"),
        "operator": make_user("m-operator", role="operator"),
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
        response = getattr(client, method)(path, **kwargs, **headers)
        got[role] = response.status_code
    assert got == expected


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
        url = path.replace("{history}", str(first_history_id()))
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
