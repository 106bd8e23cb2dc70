"""Two edits of the same version at once: exactly one wins, on SQLite and PostgreSQL alike.

Each thread has its own database connection, so this exercises the real locking: on
PostgreSQL the row lock (SELECT ... FOR UPDATE), on SQLite the write lock that an IMMEDIATE
transaction takes when it begins.
"""
from __future__ import annotations

import threading

import pytest
from django.db import connection

from profiles import selectors, services
from profiles.models import ConstraintProfile
from rmos_site.errors import Conflict
from tests.factories import make_profile

pytestmark = pytest.mark.django_db(transaction=True)


def _edit_concurrently(n_writers: int) -> list[str]:
    # Every writer asks for a different value that also differs from the current one (6), so
    # none of them is a no-op save.
    barrier = threading.Barrier(n_writers)
    outcomes: list[str] = []
    lock = threading.Lock()

    def writer(i: int) -> None:
        try:
            barrier.wait()
            services.profile_update(name="default", changes={"max_rings": 7 + i}, note=f"writer {i}", version=1)
            result = "ok"
        except Conflict:
            result = "conflict"
        except Exception as exc:  # any other failure is a finding
            result = f"error: {exc!r}"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(n_writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


@pytest.mark.parametrize("round_", range(3))
def test_simultaneous_edits_of_one_version_let_exactly_one_through(round_):
    make_profile("default")
    outcomes = _edit_concurrently(6)
    assert sorted(outcomes) == ["conflict"] * 5 + ["ok"], outcomes
    profile = selectors.profile_get(name="default")
    assert profile.version == 2
    assert ConstraintProfile.history.count() == 2  # created + the one winning change


def test_concurrent_edits_leave_the_yaml_equal_to_the_database(settings):
    from pathlib import Path

    from profiles import canonical

    make_profile("default")
    outcomes = _edit_concurrently(4)
    assert outcomes.count("ok") == 1
    profiles, rules = selectors.canonical_state()
    assert Path(settings.RMOS_PROFILE_YAML_PATH).read_text() == canonical.render(profiles, rules)
