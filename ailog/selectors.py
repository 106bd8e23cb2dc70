"""Reads of the AI log: the one read path for the API, the dashboard, the admin and analytics.

Lists are newest first by ``(timestamp, id)`` and paged by keyset (see :mod:`ailog.filters`):
one query per page whatever the page number, served by the ``(column, timestamp, id)`` indexes
of :mod:`ailog.models`. Rows come as plain dicts of the model's fields (``run_id`` is a UUID,
``timestamp`` an aware datetime, JSON fields decoded): building a model instance per row would
cost more than reading it. Templates read them like objects (``{{ row.tool_id }}``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Count, F, FloatField, Max, Min, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Cast, Coalesce, TruncDate

from ailog.counts import ADDITIVE, DAY_KEY
from ailog.filters import LIMIT_DEFAULT, Cursor, LogFilter, RunIdPrefix
from ailog.models import AiAttempt, AiRun, AiRunKey
from engine.search import REASONS
from rmos_site.errors import NotFound

ATTEMPTS = "a"
RUNS = "r"
STREAM_CHUNK = 2000

Row = TypeVar("Row", AiAttempt, AiRun)


# Every field but the internal key (AiRunKey), which no answer shows.
ATTEMPT_ROW_FIELDS = tuple(f.attname for f in AiAttempt._meta.concrete_fields if f.attname != "run_key")
RUN_ROW_FIELDS = tuple(f.attname for f in AiRun._meta.concrete_fields if f.attname != "run_key")


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None
    limit: int


@dataclass(frozen=True)
class RunDetail:
    run: dict[str, Any]
    attempts: list[dict[str, Any]]


def context_q(filters: LogFilter) -> Q:
    """The context and profile filters: the columns runs, attempts and the analytics aggregates share."""
    q = Q()
    for name in ("tool_id", "material_id", "machine_id", "workflow_mode", "geometry_engine"):
        value = getattr(filters, name)
        if value is not None:
            q &= Q(**{name: value})
    if filters.profile is not None:
        q &= Q(profile_name=filters.profile)
    return q


def _context_q(filters: LogFilter, *, attempts: bool = False) -> Q:
    q = context_q(filters)
    run_q = None
    if isinstance(filters.run_id, RunIdPrefix):
        low, high = filters.run_id.bounds()
        run_q = Q(run_id__gte=low, run_id__lte=high)
    elif filters.run_id is not None:
        run_q = Q(run_id=filters.run_id)
    if run_q is not None:
        q &= Q(run_key__in=run_keys(run_q)) if attempts else run_q
    if filters.since is not None:
        q &= Q(timestamp__gte=filters.since)
    if filters.until is not None:
        q &= Q(timestamp__lt=filters.until)
    return q


def attempts_filtered(*, filters: LogFilter) -> QuerySet[AiAttempt]:
    """Attempts matching ``filters`` (``success`` and ``reason`` are run filters and ignored here)."""
    q = _context_q(filters, attempts=True)
    if filters.risk_bucket is not None:
        q &= Q(risk_bucket=filters.risk_bucket)
    return AiAttempt.objects.filter(q)


def runs_filtered(*, filters: LogFilter) -> QuerySet[AiRun]:
    """Runs matching ``filters``; ``risk_bucket`` is the bucket of the candidate the run selected."""
    q = _context_q(filters)
    if filters.risk_bucket is not None:
        q &= Q(selected_risk_bucket=filters.risk_bucket)
    if filters.success is not None:
        q &= Q(success=filters.success)
    if filters.reason is not None:
        q &= Q(reason=filters.reason)
    return AiRun.objects.filter(q)


def _after(queryset: QuerySet[Row], cursor: Cursor | None) -> QuerySet[Row]:
    """Rows strictly older than the cursor, newest first.

    ``timestamp <= t`` bounds the index range; the OR only sorts out the rows that share ``t``.
    """
    if cursor is not None:
        queryset = queryset.filter(
            Q(timestamp__lt=cursor.timestamp) | Q(timestamp=cursor.timestamp, id__lt=cursor.id),
            timestamp__lte=cursor.timestamp,
        )
    return queryset.order_by("-timestamp", "-id")


def _fields(kind: str) -> tuple[str, ...]:
    return ATTEMPT_ROW_FIELDS if kind == ATTEMPTS else RUN_ROW_FIELDS


def _page(queryset: QuerySet[Row], *, kind: str, cursor: Cursor | None, limit: int) -> Page:
    rows = list(_after(queryset, cursor).values(*_fields(kind))[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = Cursor(kind, last["timestamp"], last["id"]).encode()
    return Page(rows, next_cursor, limit)


def attempt_list(*, filters: LogFilter, cursor: Cursor | None = None, limit: int = LIMIT_DEFAULT) -> Page:
    """One page of attempts, newest first, in one query."""
    return _page(attempts_filtered(filters=filters), kind=ATTEMPTS, cursor=cursor, limit=limit)


def run_list(*, filters: LogFilter, cursor: Cursor | None = None, limit: int = LIMIT_DEFAULT) -> Page:
    """One page of runs, newest first, in one query."""
    return _page(runs_filtered(filters=filters), kind=RUNS, cursor=cursor, limit=limit)


def _stream(queryset: QuerySet[Row], *, cursor: Cursor | None, kind: str) -> Iterator[dict[str, Any]]:
    """Every matching row from the cursor on, fetched a keyset chunk at a time (flat memory, short
    queries). One page (a limit) is :func:`attempt_list` / :func:`run_list`."""
    while True:
        rows = list(_after(queryset, cursor).values(*_fields(kind))[:STREAM_CHUNK])
        yield from rows
        if len(rows) < STREAM_CHUNK:
            return
        cursor = Cursor(kind, rows[-1]["timestamp"], rows[-1]["id"])


def attempt_stream(*, filters: LogFilter, cursor: Cursor | None = None) -> Iterator[dict[str, Any]]:
    return _stream(attempts_filtered(filters=filters), cursor=cursor, kind=ATTEMPTS)


def run_stream(*, filters: LogFilter, cursor: Cursor | None = None) -> Iterator[dict[str, Any]]:
    return _stream(runs_filtered(filters=filters), cursor=cursor, kind=RUNS)


def run_get(*, run_id: uuid.UUID | str) -> RunDetail:
    """One run with all its attempts (at most 200), in attempt order."""
    try:
        key = run_id if isinstance(run_id, uuid.UUID) else uuid.UUID(str(run_id))
    except ValueError:
        raise NotFound(f"{run_id!r} is not a run id (a UUID).", extra={"field": "run_id"}) from None
    run = AiRun.objects.filter(run_id=key).values(*RUN_ROW_FIELDS, "run_key").first()
    # A stored run has its key in its row; without one, only AiRunKey may know the run.
    keys = [run.pop("run_key")] if run is not None else AiRunKey.objects.filter(run_id=key).values("id")
    attempts = list(AiAttempt.objects.filter(run_key__in=keys).order_by("attempt_index").values(*ATTEMPT_ROW_FIELDS))
    if run is None:
        if attempts:
            raise NotFound(
                f"Run {key} has {len(attempts)} attempts recorded but its summary has not arrived yet; "
                f"list them with GET /api/rmos/logs/ai/attempts?run_id={key}.",
                extra={"field": "run_id", "attempts_recorded": len(attempts)},
            )
        raise NotFound(f"No run {key}.", extra={"field": "run_id"})
    return RunDetail(run, attempts)


def run_keys(run_q: Q) -> list[int]:
    """The internal keys of the runs ``run_q`` selects by run id (a handful: a run id or a prefix
    of at least 8 digits), to find their attempts, which no index leads with run_id: a stored
    run's key is in its row, a run whose attempts came first has it in AiRunKey."""
    keys = set(AiRun.objects.filter(run_q).values_list("run_key", flat=True))
    keys.update(AiRunKey.objects.filter(run_q).values_list("id", flat=True))
    return sorted(keys)


def log_is_empty() -> bool:
    return not AiRun.objects.exists()


# -- counts of the log's rows (what ailog.counts tallies on every write, recounted from the rows)

_GROUP_EXPRESSIONS = {
    "day": TruncDate("timestamp", tzinfo=UTC),
    "profile_version": Coalesce("profile_version", 0),
}


def _grouped(queryset, group: tuple[str, ...]):
    """``queryset.values(*group)`` where ``day`` and ``profile_version`` are computed as the tallies key them."""
    aliases = {name: f"g_{name}" for name in group}
    annotations = {aliases[name]: _GROUP_EXPRESSIONS.get(name, F(name)) for name in group}
    return queryset.annotate(**annotations).values(*aliases.values()), aliases


#: Each run's RED share of the attempt rows recorded for it (NULL when it has none), as
#: :meth:`ailog.counts.Tally.run_risk` counts it.
_red_share_of_run = (
    AiAttempt.objects.filter(run_key=OuterRef("run_key"))
    .order_by()
    .values("run_key")
    .annotate(share=Cast(Count("id", filter=Q(risk_bucket="RED")), FloatField()) / Cast(Count("id"), FloatField()))
    .values("share")
)


def _run_risk(runs: QuerySet[AiRun], group: tuple[str, ...]) -> dict[tuple, tuple[int, float, float]]:
    """Per ``group``: the runs with attempt rows, Σ and Σ² of their RED shares. Each run's share is
    computed once in an inner query and summed in an outer one (an aggregate over the subquery
    itself would evaluate it once per aggregate)."""
    aliases = {name: f"g_{name}" for name in group}
    per_run = runs.annotate(
        red_share=Subquery(_red_share_of_run),
        **{aliases[name]: _GROUP_EXPRESSIONS.get(name, F(name)) for name in group},
    ).values(*aliases.values(), "red_share")
    sql, params = per_run.order_by().query.sql_with_params()
    columns = ", ".join(connection.ops.quote_name(alias) for alias in aliases.values())
    share = connection.ops.quote_name("red_share")
    outer = (
        f"SELECT {columns}, COUNT(*), SUM({share}), SUM({share} * {share}) FROM ({sql}) per_run "
        f"WHERE {share} IS NOT NULL GROUP BY {columns}"
    )
    with connection.cursor() as cursor:
        cursor.execute(outer, params)
        rows = cursor.fetchall()
    width = len(group)
    out = {}
    for row in rows:
        key = tuple(_from_db(name, value) for name, value in zip(group, row[:width]))
        out[key] = (row[width], row[width + 1], row[width + 2])
    return out


def _from_db(name: str, value: Any) -> Any:
    """A grouped value as the ORM would give it (raw SQLite rows give the day as text)."""
    if name == "day" and isinstance(value, str):
        return date.fromisoformat(value)
    return value


def _empty_counts() -> dict[str, Any]:
    return dict.fromkeys(ADDITIVE, 0) | {"last_run_at": None}


def log_counts(
    *, runs: QuerySet[AiRun] | None, attempts: QuerySet[AiAttempt] | None, group: tuple[str, ...]
) -> dict[tuple, dict[str, Any]]:
    """The :data:`ailog.counts.ADDITIVE` counts (and ``last_run_at``) per ``group`` of these rows.

    ``group`` names fields of :data:`ailog.counts.DAY_KEY`; ``runs`` and ``attempts`` are querysets
    from :func:`runs_filtered` / :func:`attempts_filtered` (or :func:`newest`), or None to leave one
    side out.
    """
    out: dict[tuple, dict[str, Any]] = {}
    if runs is not None:
        values, aliases = _grouped(runs, group)
        rows = values.annotate(
            runs=Count("id"),
            **{reason: Count("id", filter=Q(reason=reason)) for reason in REASONS},
            attempts_reported=Sum("attempts"),
            scored_runs=Count("selected_score"),
            selected_score_sum=Sum("selected_score"),
            success_score_sum=Sum("selected_score", filter=Q(success=True)),
            last_run_at=Max("timestamp"),
        ).order_by()
        for row in rows:
            into = out.setdefault(tuple(row[aliases[name]] for name in group), _empty_counts())
            for name in into:
                if name in row:
                    into[name] = row[name] if name == "last_run_at" else row[name] or 0
        for key, (risk_runs, total, total_sq) in _run_risk(runs, group).items():
            into = out.setdefault(key, _empty_counts())
            into.update(risk_runs=risk_runs, red_share_sum=total or 0.0, red_share_sq_sum=total_sq or 0.0)
    if attempts is not None:
        values, aliases = _grouped(attempts, group)
        rows = values.annotate(
            attempts=Count("id"),
            green=Count("id", filter=Q(risk_bucket="GREEN")),
            yellow=Count("id", filter=Q(risk_bucket="YELLOW")),
            red=Count("id", filter=Q(risk_bucket="RED")),
            acceptable=Count("id", filter=Q(is_acceptable=True)),
            score_sum=Sum("score"),
        ).order_by()
        for row in rows:
            into = out.setdefault(tuple(row[aliases[name]] for name in group), _empty_counts())
            for name in ("attempts", "green", "yellow", "red", "acceptable", "score_sum"):
                into[name] = row[name] or 0
    return out


def newest(queryset: QuerySet[Row], n: int) -> QuerySet[Row]:
    """The ``n`` newest rows of ``queryset`` (an id subquery, so the LIMIT runs on the index)."""
    return queryset.model.objects.filter(id__in=Subquery(queryset.order_by("-timestamp", "-id").values("id")[:n]))


def runs_latest(*, day: date) -> dict[tuple, datetime]:
    """The latest run per ``DAY_KEY`` among the runs dated on ``day`` (UTC)."""
    start = datetime.combine(day, time(), tzinfo=UTC)
    values, aliases = _grouped(
        AiRun.objects.filter(timestamp__gte=start, timestamp__lt=start + timedelta(days=1)), DAY_KEY
    )
    return {
        tuple(row[aliases[name]] for name in DAY_KEY): row["latest"]
        for row in values.annotate(latest=Max("timestamp")).order_by()
    }


def attempts_of_runs(runs: QuerySet[AiRun]) -> QuerySet[AiAttempt]:
    """Every attempt of these runs, whatever its own timestamp."""
    return AiAttempt.objects.filter(run_key__in=Subquery(runs.values("run_key")))


def log_between(*, start: datetime, end: datetime) -> tuple[QuerySet[AiRun], QuerySet[AiAttempt]]:
    """The runs and the attempts whose own timestamp is in ``[start, end)``."""
    window = Q(timestamp__gte=start, timestamp__lt=end)
    return AiRun.objects.filter(window), AiAttempt.objects.filter(window)


def log_next_day(*, after: date | None) -> date | None:
    """The first UTC day after ``after`` (or at all) with a run or an attempt: one index seek per table."""
    since = {} if after is None else {"timestamp__gte": datetime.combine(after + timedelta(days=1), time(), tzinfo=UTC)}
    found = [
        moment.astimezone(UTC).date()
        for moment in (
            AiRun.objects.filter(**since).aggregate(m=Min("timestamp"))["m"],
            AiAttempt.objects.filter(**since).aggregate(m=Min("timestamp"))["m"],
        )
        if moment is not None
    ]
    return min(found) if found else None
