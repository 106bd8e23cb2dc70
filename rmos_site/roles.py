"""The product's roles, as Django groups with model permissions.

| group            | who                      | may                                            |
| ---------------- | ------------------------ | ---------------------------------------------- |
| rmos-viewer      | anyone who watches       | read every page and API (any signed-in user)   |
| rmos-operator    | people who tune profiles | + change profiles, roll them back, run searches |
| rmos-integrator  | external generators      | + post runs and events to the log              |
| (superuser)      | admins                   | everything, incl. rules and Django admin       |

Reading needs only a signed-in account; the view permissions below are what Django admin asks
for when such a user is also staff. Groups are (re)created after every ``migrate``.
"""
from __future__ import annotations

import logging

from django.contrib.auth.models import Group, Permission

logger = logging.getLogger("rmos.roles")

VIEW_PERMISSIONS = (
    "profiles.view_constraintprofile",
    "profiles.view_resolutionrule",
    "ailog.view_airun",
    "ailog.view_aiattempt",
)
ROLES: dict[str, tuple[str, ...]] = {
    "rmos-viewer": VIEW_PERMISSIONS,
    "rmos-operator": VIEW_PERMISSIONS + ("profiles.change_constraintprofile", "ailog.run_search"),
    "rmos-integrator": VIEW_PERMISSIONS + ("ailog.add_airun",),
}
ROLE_NAMES = {"viewer": "rmos-viewer", "operator": "rmos-operator", "integrator": "rmos-integrator"}


def ensure_roles() -> dict[str, list[str]]:
    """Create the groups and give them exactly their permissions; return what is missing."""
    missing: dict[str, list[str]] = {}
    for group_name, codes in ROLES.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        perms = []
        for code in codes:
            app_label, codename = code.split(".", 1)
            perm = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if perm is None:
                missing.setdefault(group_name, []).append(code)
            else:
                perms.append(perm)
        group.permissions.set(perms)
    return missing


def ensure_roles_after_migrate(sender, **kwargs) -> None:
    # post_migrate fires once per app; the groups are complete after the last one.
    ensure_roles()
