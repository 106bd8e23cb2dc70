"""The tests' data builders, in one place: accounts, profiles and rules, log items, engine values.

Everything that touches the database goes through the services, as the product does.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from rest_framework.test import APIClient

from engine.catalog import load_catalog
from engine.context import Context
from engine.generator import Candidate
from engine.profile import DEFAULTS, ProfileSpec, parse_profile
from profiles import services
from rmos_site.roles import ROLE_NAMES, ensure_roles
from rmos_site.tokens import api_token_create

#: Every test account's password (browser tests sign in with it).
PASSWORD = "correct-horse-battery-staple-42"


# -- accounts ---------------------------------------------------------------------------------------


def make_user(
    username: str = "someone",
    *,
    role: str | None = None,
    superuser: bool = False,
    password: str = PASSWORD,
    **extra: Any,
):
    """A user; ``role`` is viewer, operator, reviewer or integrator."""
    User = get_user_model()
    if superuser:
        return User.objects.create_superuser(username=username, email="", password=password, **extra)
    user = User.objects.create_user(username=username, password=password, **extra)
    if role is not None:
        ensure_roles()
        user.groups.add(Group.objects.get(name=ROLE_NAMES[role]))
    return user


def token_for(user) -> str:
    """A new API token of ``user`` (the key: only its hash is stored)."""
    return api_token_create(user=user)[1]


def api_client_for(user) -> APIClient:
    """An API client that sends ``user``'s token."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


def token_auth_queries() -> int:
    """Queries token authentication makes per request: the address's failed-token counter, the
    token with its user, and the user's other tokens (knox deletes expired ones); on PostgreSQL
    also the per-address lock (in a test's transaction a savepoint, the lock and its release; in
    production the lock alone)."""
    return 3 if connection.vendor == "sqlite" else 6


# -- profiles and rules -----------------------------------------------------------------------------


def profile_values(**overrides: Any) -> dict[str, Any]:
    return {**DEFAULTS, **overrides}


def make_profile(name: str = "default", *, note: str = "created for a test", user=None, **values: Any):
    return services.profile_create(name=name, values=profile_values(**values), note=note, user=user)


def edit_profile(name: str, *, note: str = "edited for a test", user=None, **changes: Any):
    return services.profile_update(name=name, changes=changes, note=note, user=user).profile


def make_rule(
    name: str, *, profile: str, note: str = "test setup", priority: int = 100, enabled: bool = True, **match: str
):
    return services.rule_create(
        values={"name": name, "match": match, "profile": profile, "priority": priority, "enabled": enabled, "note": ""},
        note=note,
    )


def protect(name: str, *, required_approvals: int = 1, note: str = "protect for a test"):
    """Protect a profile the way an administrator does (here as a command would: no user)."""
    return services.profile_update(
        name=name, changes={"protected": True, "required_approvals": required_approvals}, note=note
    ).profile


def open_request(
    profile: str, *, author, note: str = "a proposal for a test", base_version: int | None = None, **changes
):
    """A change request on ``profile`` from its current version (or ``base_version``)."""
    from profiles import selectors

    version = base_version if base_version is not None else selectors.profile_get(name=profile).version
    return services.change_request_create(
        profile_name=profile, base_version=version, changes=changes, note=note, user=author
    )


def review(request, *, by, decision: str = "approve", note: str = ""):
    return services.change_request_review(request_id=request.pk, decision=decision, note=note, user=by)


def mm(value: str) -> Decimal:
    return Decimal(value)


def form_data(profile, *, note: str = "a reason", **overrides: Any) -> dict[str, Any]:
    """What a browser posts for the editor of ``profile`` unchanged, with ``overrides``.

    Checkboxes follow HTML: a False box is left out of the post.
    """
    data: dict[str, Any] = {
        "description": profile.description,
        "min_rings": str(profile.min_rings),
        "max_rings": str(profile.max_rings),
        "min_ring_width_mm": str(profile.min_ring_width_mm),
        "max_ring_width_mm": str(profile.max_ring_width_mm),
        "min_total_width_mm": str(profile.min_total_width_mm),
        "max_total_width_mm": str(profile.max_total_width_mm),
        "palette_key": profile.palette_key,
        "note": note,
        "version": str(profile.version),
        "action": "save",
    }
    for flag in ("allow_mosaic", "allow_segmented", "bias_simple"):
        if getattr(profile, flag):
            data[flag] = "on"
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


# -- log items, in the shapes the API takes (plain JSON-ready dicts) --------------------------------


T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
CONTEXT = {
    "tool_id": "saw:jeweler-0.25",
    "material_id": "wood:ebony",
    "machine_id": "prod:vmc-3axis",
    "workflow_mode": "constraint_first",
    "geometry_engine": "shapely",
}
_counter = itertools.count(1)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def new_run_id() -> str:
    return str(uuid.uuid4())


def candidate(rings: int = 2, width: float = 1.5) -> dict[str, Any]:
    return {
        "rings": [{"width_mm": width, "pattern": "solid", "material_key": "wood:ebony"} for _ in range(rings)],
        "ring_count": rings,
        "total_width_mm": round(rings * width, 2),
    }


def attempt_item(
    index: int = 1,
    *,
    at: datetime = T0,
    score: float = 85.0,
    bucket: str = "GREEN",
    acceptable: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    item = {
        "attempt_index": index,
        "timestamp": iso(at),
        "score": score,
        "risk_bucket": bucket,
        "is_acceptable": acceptable,
        "candidate": candidate(),
    }
    item.update(extra)
    return item


def run_item(
    *,
    run_id: str | None = None,
    at: datetime = T0,
    attempts: int = 2,
    success: bool = True,
    reason: str | None = None,
    scores: list[tuple[float, str]] | None = None,
    with_attempts: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    """A run with ``attempts`` attempt records; by default the last one is GREEN and selected."""
    reason = reason or ("green_found" if success else "budget_exhausted")
    if scores is None:
        scores = [(40.0, "RED")] * (attempts - 1) + [(90.0, "GREEN") if success else (45.0, "RED")]
    start = at - timedelta(seconds=len(scores))
    item: dict[str, Any] = {
        "run_id": run_id or new_run_id(),
        "timestamp": iso(at),
        **CONTEXT,
        "profile": "default",
        "max_attempts": 50,
        "time_limit_seconds": 30.0,
        "attempts": len(scores),
        "success": success,
        "reason": reason,
        "selected_score": scores[-1][0] if scores else None,
        "selected_risk_bucket": scores[-1][1] if scores else None,
    }
    if with_attempts:
        item["attempt_records"] = [
            attempt_item(
                i,
                at=start + timedelta(seconds=i - 1),
                score=score,
                bucket=bucket,
                acceptable=score >= 80 and bucket != "RED",
            )
            for i, (score, bucket) in enumerate(scores, start=1)
        ]
    item.update(extra)
    return item


def attempt_event(run_id: str, index: int = 1, *, at: datetime = T0, **extra: Any) -> dict[str, Any]:
    item = {"event_type": "ai_constraint_attempt", "run_id": run_id, **CONTEXT, **attempt_item(index, at=at)}
    item.pop("candidate")
    item["ring_count"] = 2
    item.update(extra)
    return item


def run_event(run_id: str, *, at: datetime = T0, attempts: int = 1, **extra: Any) -> dict[str, Any]:
    item = run_item(
        run_id=run_id, at=at, with_attempts=False, scores=[(40.0, "RED")] * (attempts - 1) + [(90.0, "GREEN")]
    )
    item["event_type"] = "ai_constraint_run_summary"
    item.update(extra)
    return item


def log_runs(*items: dict[str, Any]) -> list[dict[str, Any]]:
    """Store runs (built with :func:`run_item`) through the ingestion service."""
    from ailog import services as log_services

    log_services.runs_ingest(runs=list(items))
    return list(items)


# -- engine values (no database) --------------------------------------------------------------------


def make_spec(name: str = "test", **overrides: Any) -> ProfileSpec:
    """A spec built through ``parse_profile`` (so it is valid), from the defaults plus overrides."""
    spec, problems = parse_profile(name, {**DEFAULTS, **overrides}, palette_keys=load_catalog().palette_keys())
    assert spec is not None, problems
    return spec


def make_context(
    tool_id: str = "saw:jeweler-0.25",
    material_id: str = "wood:maple-hard",
    machine_id: str = "prod:vmc-3axis",
    **rest: str,
) -> Context:
    return Context(tool_id, material_id, machine_id, **rest)


def make_candidate(*rings: tuple[float, str, str]) -> Candidate:
    """A candidate from ``(width_mm, pattern, material_key)`` rings."""
    widths = tuple(round(width * 100) for width, _, _ in rings)
    return Candidate(widths, tuple(r[1] for r in rings), tuple(r[2] for r in rings), sum(widths))


def assert_satisfies(candidate: Candidate, spec: ProfileSpec, palette: tuple[str, ...]) -> None:
    """The generator's promise: every bound and flag of ``spec`` holds for ``candidate``."""
    min_w, max_w, min_t, max_t = spec.units
    n = len(candidate.widths)
    assert spec.min_rings <= n <= spec.max_rings, candidate
    assert len(candidate.patterns) == len(candidate.materials) == n, candidate
    assert all(isinstance(w, int) and min_w <= w <= max_w for w in candidate.widths), candidate
    assert candidate.total == sum(candidate.widths), candidate
    assert min_t <= candidate.total <= max_t, candidate
    allowed = {"solid"}
    if spec.allow_mosaic:
        allowed.add("mosaic")
    if spec.allow_segmented:
        allowed.add("segmented")
    assert set(candidate.patterns) <= allowed, candidate
    assert set(candidate.materials) <= set(palette), candidate


# -- concurrency ------------------------------------------------------------------------------------


def together(*calls: Callable[[], Any]) -> tuple[list[Any], list[BaseException]]:
    """Run each call in its own thread, all released at once; return their results (in call order,
    None where one raised) and the exceptions raised. Each thread closes its database connection."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(position: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[position] = call()
        except BaseException as exc:  # reported to the caller
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results, errors


def run_task_worker() -> None:
    """django-tasks-db's worker, as ``manage.py db_worker --batch`` runs it: every queued task, then stop."""
    from django_tasks_db.management.commands.db_worker import Worker

    Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    ).run()
