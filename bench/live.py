"""Benchmark rows of the dashboard's live refreshes (issue 18, DESIGN §12; ``--only live``).

While ``live=on`` an open dashboard asks every few seconds for the log tail (one indexed probe
for a row newer than the newest shown: 204 when none, the first page again when some) and the
overview strip (one read of the aggregates, the open alerts and change requests). One refresh
is those two requests; the target is its p50 <= 50 ms with 10M attempts in the log. The range
is the last 24 hours of the dataset, starting a minute past midnight (the hardest of the strip's
ranges: nearly a day of rows at its partial edge is read from the log), and all time (the all-time aggregate rows). Baseline: the
API's own overview for the same range (``GET /api/rmos/ai/analytics/overview``).
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from html import unescape
from urllib.parse import urlencode

from django.test import Client

from bench.core import Bench, Row, p50, register
from bench.pages import _operator_client

TARGET_MS = 50
HTMX = {"HTTP_HX_REQUEST": "true"}


def _timed(client: Client, url: str, status: int, headers: dict[str, str]) -> float:
    start = time.perf_counter()
    response = client.get(url, **headers)
    elapsed = time.perf_counter() - start
    assert response.status_code == status, (url, response.status_code, response.content[:300])
    return elapsed


def _tail_url(client: Client, page: str) -> str:
    html = client.get(page).content.decode()
    return unescape(re.search(r'id="log-live" hx-get="([^"]+)"', html).group(1))


@register("live", order=65, help="p50 of one live refresh of the dashboard: the log tail probe + the overview")
def live_refresh(bench: Bench) -> list[Row]:
    client = _operator_client()
    repeat = 5 if bench.quick else 41
    # The newest row's day (a dataset built to a size may stop before its planned span ends).
    newest = client.get("/api/rmos/logs/ai/attempts?limit=1").json()["results"][0]["timestamp"]
    end = datetime.fromisoformat(newest.replace("Z", "+00:00")).replace(hour=0, minute=0, second=0, microsecond=0)
    end += timedelta(days=1)
    # One minute past the last day's midnight: its whole day of rows is a partial edge, read from
    # the log (the worst "last 24 h"; on the hour the day rows would answer it).
    since = (end - timedelta(hours=24) + timedelta(minutes=1)).replace(microsecond=0)
    day = urlencode({"from": since.isoformat().replace("+00:00", "Z")})
    cases = []
    for label, query in (("last 24 h of the log", day), ("all time", "")):
        page = "/rmos/ai-ops/" + (f"?{query}" if query else "")
        tail = _tail_url(client, page)
        after = int(re.search(r"after=(\d+)", tail).group(1))
        overview = "/rmos/ai-ops/live/overview/" + (f"?{query}" if query else "")
        api = "/api/rmos/ai/analytics/overview" + (
            f"?since={since.isoformat().replace('+00:00', 'Z')}" if query else ""
        )
        # A new row: the probe finds one and the first page is drawn again with it marked.
        redraw = re.sub(r"after=\d+", f"after={after - 1}", tail)
        cases.append((label, tail, redraw, overview, api))
    requests = [
        (url, status, headers)
        for _, tail, redraw, overview, api in cases
        for url, status, headers in ((tail, 204, HTMX), (redraw, 200, HTMX), (overview, 200, HTMX), (api, 200, {}))
    ]
    for url, status, headers in requests:  # warm
        for _ in range(2):
            _timed(client, url, status, headers)
    seconds: dict[str, list[float]] = {url: [] for url, _, _ in requests}
    with bench.progress(repeat, "live refresh rounds") as bar:
        for _ in range(repeat):
            for url, status, headers in requests:
                seconds[url].append(_timed(client, url, status, headers))
            bar.update(1)
    rows = []
    for label, tail, redraw, overview, api in cases:
        refresh = [a + b for a, b in zip(seconds[tail], seconds[overview])]
        refresh_ms = p50(refresh) * 1000
        rows.append(
            Row(
                f"live refresh, {label}: log tail (nothing new) + overview",
                refresh_ms,
                "ms",
                target=f"p50 <= {TARGET_MS} ms",
                met=refresh_ms <= TARGET_MS,
                baseline=p50(seconds[api]) * 1000,
                baseline_label="the overview API for the same range, p50",
                higher_is_better=False,
                notes=f"{tail} + {overview}",
            )
        )
        redraw_ms = p50(seconds[redraw]) * 1000
        rows.append(
            Row(
                f"live refresh, {label}: log tail with a new row (first page redrawn)",
                redraw_ms,
                "ms",
                target=f"p50 <= {TARGET_MS} ms",
                met=redraw_ms <= TARGET_MS,
                higher_is_better=False,
                notes=redraw,
            )
        )
    return rows
