"""The log viewer's first pages through the API, against the same queries with the indexes off."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.test import Client

from ailog.filters import LogFilter
from ailog.models import AiAttempt, AiRun
from ailog.selectors import attempts_filtered
from bench.core import Bench, Row, p50, register, timings
from bench.dataset import UNKNOWN_PROFILE, Traffic, iso
from bench.ingest import integrator_token


def _rarest_and_commonest(traffic: Traffic, key: str) -> tuple[str, str]:
    shares: dict[str, float] = {}
    for index, context in enumerate(traffic.contexts):
        shares[context[key]] = shares.get(context[key], 0.0) + traffic.context_share(index)
    ranked = sorted((share, value) for value, share in shares.items() if value)
    return ranked[0][1], ranked[-1][1]


def _unindexed_seconds(filters: LogFilter) -> float:
    """The same first page with the indexes switched off: what the query would cost without them."""
    queryset = attempts_filtered(filters=filters).order_by("-timestamp", "-id")[:101]
    sql, params = queryset.query.sql_with_params()
    table = connection.ops.quote_name(AiAttempt._meta.db_table)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            start = time.perf_counter()
            cursor.execute(sql.replace(f"FROM {table}", f"FROM {table} NOT INDEXED", 1), params)
            cursor.fetchall()
            return time.perf_counter() - start
    with transaction.atomic(), connection.cursor() as cursor:
        for knob in ("enable_indexscan", "enable_bitmapscan", "enable_indexonlyscan"):
            cursor.execute(f"SET LOCAL {knob} = off")  # ends with the transaction
        start = time.perf_counter()
        cursor.execute(sql, params)
        cursor.fetchall()
        return time.perf_counter() - start


def _plan(filters: LogFilter) -> str:
    """What the planner does for the first page (EXPLAIN): the index it walks, in a few words."""
    queryset = attempts_filtered(filters=filters).order_by("-timestamp", "-id")[:101]
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            return "; ".join(row[-1] for row in cursor.fetchall())
        cursor.execute("EXPLAIN " + sql, params)
        lines = [row[0].strip().lstrip("-> ") for row in cursor.fetchall()]
    return "; ".join(line.split("  (")[0] for line in lines if "Scan" in line or "Sort" in line)


@register("log-viewer", order=30, help="GET attempts: first page of 100 for each single filter, p50 through the API")
def log_viewer(bench: Bench) -> list[Row]:
    traffic: Traffic = bench.scratch["traffic"]
    token = integrator_token()
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    newest = AiRun.objects.order_by("-timestamp").values_list("run_id", "timestamp").first()
    cases: list[tuple[str, dict[str, str]]] = [("no filter", {})]
    for key in ("tool_id", "material_id", "machine_id", "geometry_engine"):
        rare, common = _rarest_and_commonest(traffic, key)
        cases += [(f"{key} (rarest)", {key: rare}), (f"{key} (commonest)", {key: common})]
    # A value no attempt has (a new engine, a typo): only an index of its own finds no row fast.
    cases.append(("geometry_engine (a value no attempt has)", {"geometry_engine": "no-such-engine"}))
    cases += [
        ("workflow_mode=design_first (10%)", {"workflow_mode": "design_first"}),
        ("risk_bucket=GREEN", {"risk_bucket": "GREEN"}),
        ("profile (rarest)", {"profile": "laser-fine"}),
        ("profile (unknown, 2% of api runs)", {"profile": UNKNOWN_PROFILE}),
        ("run_id", {"run_id": str(newest[0])}),
        ("since (last day)", {"since": iso(newest[1] - timedelta(days=1))}),
        ("until (first week)", {"until": iso(traffic.start + timedelta(days=7))}),
    ]
    repeat = 3 if bench.quick else 15
    rows = []
    for label, params in cases:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        url = f"/api/rmos/logs/ai/attempts?limit=100&{query}"

        def fetch(url: str = url) -> None:
            response = client.get(url)
            assert response.status_code == 200, response.content[:300]

        seconds = p50(timings(fetch, repeat=repeat, warmup=2))
        parsed = LogFilter(
            **{
                k: (uuid.UUID(v) if k == "run_id" else datetime.fromisoformat(v) if k in ("since", "until") else v)
                for k, v in params.items()
            }
        )
        baseline = _unindexed_seconds(parsed)
        plan = _plan(parsed)
        rows.append(
            Row(
                f"log viewer: attempts, {label}",
                seconds * 1000,
                "ms",
                target="p50 <= 20 ms",
                met=seconds <= 0.020,
                baseline=baseline * 1000,
                baseline_label="same query, indexes off",
                higher_is_better=False,
                notes=f"plan: {plan}",
            )
        )
    return rows
