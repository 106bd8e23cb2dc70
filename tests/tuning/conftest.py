"""A profile with traffic to tune on: two contexts of the last day's runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import log_runs, make_profile, run_item

ROUTER = {"tool_id": "router:vbit-60", "material_id": "wood:maple-hard", "machine_id": "prod:vmc-3axis"}
SLITTING = {"tool_id": "saw:slitting-0.5", "material_id": "wood:maple-hard", "machine_id": "prod:laser-cell"}


@pytest.fixture
def tuned_profile(db):
    """'tuned': narrow rings that the router and the slitting saw often cannot cut, with runs."""
    profile = make_profile("tuned", min_ring_width_mm="0.30", max_ring_width_mm="1.20", allow_segmented=False)
    at = datetime.now(UTC) - timedelta(days=1)
    log_runs(
        *[run_item(**ROUTER, profile="tuned", at=at + timedelta(seconds=i)) for i in range(20)],
        *[run_item(**SLITTING, profile="tuned", at=at + timedelta(seconds=i)) for i in range(10)],
    )
    return profile
