"""Small data builders shared by the tests. Everything is created through the services."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from rest_framework.authtoken.models import Token

from engine.profile import DEFAULTS
from profiles import services
from rmos_site.roles import ROLE_NAMES, ensure_roles


def profile_values(**overrides: Any) -> dict[str, Any]:
    values = dict(DEFAULTS)
    values.update(overrides)
    return values


def make_profile(name: str = "default", *, note: str = "test setup", **overrides: Any):
    return services.profile_create(name=name, values=profile_values(**overrides), note=note)


def make_rule(
    name: str, *, profile: str, note: str = "test setup", priority: int = 100, enabled: bool = True, **match: str
):
    return services.rule_create(
        values={"name": name, "match": match, "profile": profile, "priority": priority, "enabled": enabled, "note": ""},
        note=note,
    )


def make_user(
    username: str = "someone", *, role: str | None = None, superuser: bool = False, password: str = "pw-123456"
):
    User = get_user_model()
    if superuser:
        return User.objects.create_superuser(username=username, email="", password=password)
    user = User.objects.create_user(username=username, password=password)
    if role is not None:
        ensure_roles()
        user.groups.add(Group.objects.get(name=ROLE_NAMES[role]))
    return user


def token_for(user) -> str:
    return Token.objects.get_or_create(user=user)[0].key


def mm(value: str) -> Decimal:
    return Decimal(value)


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


def token_auth_queries() -> int:
    """Queries token authentication makes per request: the address's failed-token counter and
    the token; on PostgreSQL also the per-address lock (in a test's transaction a savepoint, the
    lock and its release; in production the lock alone)."""
    from django.db import connection

    return 2 if connection.vendor == "sqlite" else 5
