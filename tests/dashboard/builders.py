"""Small data builders for the page tests (shared with tests/browser)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from engine.profile import DEFAULTS
from profiles import services
from profiles.models import ConstraintProfile
from rmos_site.roles import ROLE_NAMES, ensure_roles

PASSWORD = "correct-horse-battery-staple-42"


def make_user(username: str, *, role: str | None = None, **extra: Any):
    """A user with the password above; ``role`` is viewer, operator or integrator."""
    user = get_user_model().objects.create_user(username=username, password=PASSWORD, **extra)
    if role is not None:
        ensure_roles()
        user.groups.add(Group.objects.get(name=ROLE_NAMES[role]))
    return user


def make_profile(
    name: str = "default", *, note: str = "created for a test", user=None, **values: Any
) -> ConstraintProfile:
    return services.profile_create(name=name, values={**DEFAULTS, **values}, note=note, user=user)


def edit_profile(name: str, *, note: str = "edited for a test", user=None, **changes: Any) -> ConstraintProfile:
    return services.profile_update(name=name, changes=changes, note=note, user=user).profile


def form_data(profile: ConstraintProfile, *, note: str = "a reason", **overrides: Any) -> dict[str, Any]:
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


def log_runs(*items: dict[str, Any]) -> list[dict[str, Any]]:
    """Store runs (built with ``tests.ailog.factories.run_item``) through the ingestion service."""
    from ailog import services as log_services

    log_services.runs_ingest(runs=list(items))
    return list(items)
