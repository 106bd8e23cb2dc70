"""Benchmark rows of the pages (``manage.py benchmark --only dashboard``; target from issue 6).

Each page's p50 server time, through Django's test client with a signed-in operator (who also gets
the editor's form), against a baseline measured in the same run: the API calls that answer the
same questions (their p50s added up), so the ratio says what the page adds on top of the data -
template rendering, links, the editor. The target is each page in <= 200 ms with 10M attempts in
the log: the pages must stay on the indexed / aggregate-backed selectors whatever the size.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from ailog.filters import LogFilter
from ailog.selectors import run_list
from analytics.selectors import profile_stats
from bench.core import Bench, Row, p50, register
from profiles.selectors import profile_list
from rmos_site.roles import ROLE_NAMES, ensure_roles

TARGET_MS = 200
STATS = "/api/rmos/ai/analytics/profile-stats?limit=50"  # the page's first rows, busiest first
ALL_STATS = "/api/rmos/ai/analytics/profile-stats?limit=1000"  # what it sorts by another column
HOTSPOTS = "/api/rmos/ai/analytics/hotspots"
ATTEMPTS = "/api/rmos/logs/ai/attempts?limit=100"


def _operator_client() -> Client:
    ensure_roles()
    user, _ = get_user_model().objects.get_or_create(username="bench-operator")
    user.groups.set([Group.objects.get(name=ROLE_NAMES["operator"])])
    client = Client()
    client.force_login(user)
    return client


def _fetch(client: Client, url: str) -> float:
    start = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - start
    assert response.status_code == 200, (url, response.status_code, response.content[:300])
    return elapsed


@register("dashboard", order=60, help="p50 of the dashboard, profile and run pages vs the API calls they wrap")
def dashboard_pages(bench: Bench) -> list[Row]:
    client = _operator_client()
    repeat = 3 if bench.quick else 21
    busiest = profile_stats(filters=LogFilter(), limit=1)["results"][0]
    context = {k: busiest[k] for k in ("tool_id", "material_id", "machine_id", "geometry_engine") if busiest[k]}
    newest_run = str(run_list(filters=LogFilter(), limit=1).items[0]["run_id"])
    known = {p.name for p in profile_list()}
    profile = next(p["profile"] for p in busiest["profiles"] if p["profile"] in known)
    week_ago = _week_ago(bench)
    snapshot = f"/api/rmos/ai/snapshots?{urlencode({**context, 'n_samples': 500, 'seed': 1})}"
    tool = urlencode({"tool_id": context["tool_id"]})
    cases = [
        ("/rmos/ai-ops/, nothing selected", "/rmos/ai-ops/", [ATTEMPTS, STATS, HOTSPOTS]),
        (
            "/rmos/ai-ops/, the busiest context selected (500-sample snapshot)",
            f"/rmos/ai-ops/?{urlencode(context)}",
            [ATTEMPTS, STATS, HOTSPOTS, snapshot],
        ),
        (
            "/rmos/ai-ops/, attempts filtered by its tool",
            f"/rmos/ai-ops/?{urlencode({'log_tool_id': context['tool_id']})}",
            [f"{ATTEMPTS}&{tool}", STATS, HOTSPOTS],
        ),
        (
            "/rmos/ai-ops/, runs tab, analytics since a week ago, sorted by success",
            f"/rmos/ai-ops/?log=runs&stats_since={week_ago}&stats_sort=success_rate",
            ["/api/rmos/logs/ai/runs?limit=100", f"{ALL_STATS}&since={week_ago}", f"{HOTSPOTS}?since={week_ago}"],
        ),
        (
            f"/rmos/profiles/{profile}/",
            f"/rmos/profiles/{profile}/",
            [
                f"/api/rmos/ai/analytics/profile-versions?profile={profile}",
                f"/api/rmos/ai/analytics/timeseries?profile={profile}",
            ],
        ),
        ("/rmos/runs/<newest run>/", f"/rmos/runs/{newest_run}/", [f"/api/rmos/logs/ai/runs/{newest_run}"]),
    ]
    urls = sorted({url for _, url, apis in cases for url in (url, *apis)})
    for url in urls:  # warm: imports, templates, the database's pages
        for _ in range(2):
            _fetch(client, url)
    # Every URL once per round, the rounds repeated: a busy moment on a shared machine then
    # slows a page and its baseline alike instead of one case entirely.
    seconds: dict[str, list[float]] = {url: [] for url in urls}
    with bench.progress(repeat, "dashboard rounds") as bar:
        for _ in range(repeat):
            for url in urls:
                seconds[url].append(_fetch(client, url))
            bar.update(1)
    rows = []
    for label, url, apis in cases:
        page_ms = p50(seconds[url]) * 1000
        baseline_ms = sum(p50(seconds[api]) for api in apis) * 1000
        rows.append(
            Row(
                f"page: {label}",
                page_ms,
                "ms",
                target=f"p50 <= {TARGET_MS} ms",
                met=page_ms <= TARGET_MS,
                baseline=baseline_ms,
                baseline_label=f"the {len(apis)} API call{'s' if len(apis) != 1 else ''} it wraps, p50s added",
                higher_is_better=False,
                notes=f"{url} vs " + ", ".join(apis),
            )
        )
    return rows


def _week_ago(bench: Bench) -> str:
    """A bare date a week before the dataset's last day (whole days: the aggregates' fast path)."""
    end = date.fromisoformat(bench.dataset["span"][1][:10])
    return (end - timedelta(days=7)).isoformat()
