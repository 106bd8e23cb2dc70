"""The product's roles, as Django groups with model permissions.

| group            | who                      | may                                            |
| ---------------- | ------------------------ | ---------------------------------------------- |
| rmos-viewer      | anyone who watches       | read every page and API (any signed-in user)   |
| rmos-operator    | people who tune profiles | read, change profiles, roll back, run searches, |
|                  |                          | open change requests (and publish approved own) |
| rmos-reviewer    | second pair of eyes      | what an operator may, and review (approve,      |
|                  |                          | request changes on) others' change requests    |
| rmos-integrator  | external generators      | read, post runs and events to the log          |
| (superuser)      | admins                   | everything, incl. rules and Django admin       |

Reading needs only a signed-in account; the view permissions below are what Django admin asks
for when such a user is also staff. Groups are (re)created after every ``migrate``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction

from rmos_site.errors import ApplicationError, ValidationFailed
from rmos_site.tokens import api_token_create, api_token_owner, api_token_revoke

logger = logging.getLogger("rmos.roles")

VIEW_PERMISSIONS = (
    "profiles.view_constraintprofile",
    "profiles.view_resolutionrule",
    "ailog.view_airun",
    "ailog.view_aiattempt",
    "profiles.view_changerequest",
    "profiles.view_changerequestreview",
    "tuning.view_tuningjob",
)
OPERATOR_PERMISSIONS = VIEW_PERMISSIONS + (
    "profiles.change_constraintprofile",
    "ailog.run_search",
    "profiles.add_changerequest",
    "tuning.add_tuningjob",
    "tuning.change_tuningjob",
)
ROLES: dict[str, tuple[str, ...]] = {
    "rmos-viewer": VIEW_PERMISSIONS,
    "rmos-operator": OPERATOR_PERMISSIONS,
    "rmos-reviewer": OPERATOR_PERMISSIONS + ("profiles.review_changerequest",),
    "rmos-integrator": VIEW_PERMISSIONS + ("ailog.add_airun",),
}
ROLE_NAMES = {
    "viewer": "rmos-viewer",
    "operator": "rmos-operator",
    "reviewer": "rmos-reviewer",
    "integrator": "rmos-integrator",
}


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


#: ``create_api_user --role admin``: a superuser, which no group describes.
ADMIN_ROLE = "admin"


@dataclass(frozen=True)
class ApiAccount:
    user: object
    token: str  # the key: shown to the caller once, stored only as a hash
    created: bool  # the account is new
    token_created: bool  # the token is new (``keep`` was not a live token of the account)


@transaction.atomic
def api_account_ensure(
    *, username: str, role: str, rotate: bool = False, keep: str | None = None, lifetime=None, forever: bool = False
) -> ApiAccount:
    """An account without a password that signs in with its API token, in exactly one role
    (``viewer``, ``operator``, ``reviewer``, ``integrator``, or ``admin``: a superuser).

    The token is ``keep`` when that is a live token of the account (and not ``rotate``); else a
    new one (``lifetime`` / ``forever`` as in :func:`rmos_site.tokens.api_token_create`), made
    after revoking the account's others when ``rotate``. A stored token cannot be shown again."""
    model = get_user_model()
    field = model._meta.get_field(model.USERNAME_FIELD)
    if not username or len(username) > field.max_length:
        raise ValidationFailed.single(
            "username", "length", f"must be 1 to {field.max_length} characters, got {len(username)}"
        )
    try:
        field.run_validators(username)
    except DjangoValidationError as exc:
        raise ValidationFailed.single("username", "format", " ".join(exc.messages)) from None
    ensure_roles()
    user, created = model.objects.get_or_create(username=username)
    if created:
        user.set_unusable_password()
    if role == ADMIN_ROLE:
        user.is_superuser = user.is_staff = True
        user.save()
        user.groups.clear()
    else:
        if user.is_superuser:
            raise ApplicationError(
                f"{username!r} is a superuser; pick another name for an API account (or --role admin)."
            )
        user.save()
        user.groups.set([Group.objects.get(name=ROLE_NAMES[role])])
    if keep is not None and not rotate and api_token_owner(key=keep) == username:
        return ApiAccount(user=user, token=keep, created=created, token_created=False)
    if rotate:
        api_token_revoke(username=username)
    _, key = api_token_create(user=user, lifetime=lifetime, forever=forever)
    return ApiAccount(user=user, token=key, created=created, token_created=True)


def can_open_rule_admin(user) -> bool:
    """Rules link to their admin pages for staff who may open them there."""
    return user.is_staff and (
        user.has_perm("profiles.view_resolutionrule") or user.has_perm("profiles.change_resolutionrule")
    )


def permission_refusal(*, action: str, perm: str) -> str:
    """Why an account without ``perm`` may not do ``action`` (a sentence starting the refusal,
    e.g. "Editing profiles"), naming the role that gives ``perm``, or saying that none does."""
    roles = [f"the {short} role ({group})" for short, group in ROLE_NAMES.items() if perm in ROLES[group]]
    if not roles:
        return f"{action} is for administrators (superusers) only: no role includes it."
    return f"{action} needs {' or '.join(roles)}. Ask an administrator if you need it."
