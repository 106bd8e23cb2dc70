"""Two edits of the same version at once: exactly one wins, on SQLite and PostgreSQL alike.

Each thread has its own database connection, so this exercises the real locking: on
PostgreSQL the row lock (SELECT ... FOR UPDATE), on SQLite the write lock that an IMMEDIATE
transaction takes when it begins.
"""

from __future__ import annotations

import pytest

from profiles import selectors, services
from profiles.models import ConstraintProfile
from rmos_site.errors import Conflict
from tests.factories import make_profile, together

pytestmark = pytest.mark.django_db(transaction=True)


def _edit_concurrently(n_writers: int) -> list[str]:
    # Every writer asks for a different value that also differs from the current one (6), so
    # none of them is a no-op save.
    def writer(i: int):
        def edit() -> str:
            try:
                services.profile_update(name="default", changes={"max_rings": 7 + i}, note=f"writer {i}", version=1)
            except Conflict:
                return "conflict"
            return "ok"

        return edit

    outcomes, errors = together(*[writer(i) for i in range(n_writers)])
    assert errors == []  # any failure but a conflict is a finding
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
