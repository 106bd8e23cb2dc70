"""The dashboard's benchmark rows run against a small log (the timings themselves are the
benchmark command's business): every page and API call it measures answers 200."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest

from bench.core import Bench
from bench.pages import dashboard_pages
from tests.factories import log_runs, run_item

pytestmark = pytest.mark.django_db


def test_the_dashboard_rows_measure_every_page_against_its_api_calls(starter_profiles):
    now = datetime.now(UTC)
    context = {
        "tool_id": "saw:slitting-0.5",
        "material_id": "wood:ebony",
        "machine_id": "prod:vmc-3axis",
        "geometry_engine": "",
    }
    log_runs(*[run_item(at=now - timedelta(hours=i), profile="thin_saw", **context) for i in range(6)])
    bench = Bench(
        database_url="",
        vendor="sqlite",
        dataset={"span": [(now - timedelta(days=30)).isoformat(), now.isoformat()]},
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        quick=True,
    )
    rows = dashboard_pages(bench)
    assert [r.metric.split(",")[0] for r in rows] == [
        "page: /rmos/ai-ops/",
        "page: /rmos/ai-ops/",
        "page: /rmos/ai-ops/",
        "page: /rmos/ai-ops/",
        "page: /rmos/profiles/thin_saw/",
        "page: /rmos/runs/<newest run>/",
    ]
    assert all(r.unit == "ms" and r.value > 0 and r.baseline > 0 and r.target == "p50 <= 200 ms" for r in rows)
