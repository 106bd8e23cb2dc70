"""The AI log: search runs and their attempts (DESIGN.md §3, "Attempt / run records").

Write only through ``ailog.services`` (it validates every item, keeps ingestion idempotent by
``run_id`` and keeps the analytics aggregates in step); read through ``ailog.selectors``.

Attempts carry their own context and the profile of their run, so the log viewer filters them
without a join. An attempt may be recorded before the summary of its run (seed-style events
arrive in any order), so it points at its run by ``run_id`` with no database constraint, and by
the run's time-ordered internal key (:class:`AiRunKey`); the unique ``(run_key, attempt_index)``
makes a retried attempt impossible to store twice.

Indexes: every selective filter of the log viewer has a ``(column, timestamp, id)`` index, so
"newest first" with that filter is a backward range scan that stops after one page, and the
keyset cursor (timestamp, id) continues from the exact row it stopped at. The low-cardinality
columns (``workflow_mode``, ``risk_bucket``, ``success``) have no index of their own: each value
is common enough that walking the ``(timestamp, id)`` index fills a page after a few hundred
rows, and every index costs every insert. On SQLite the ``id`` column is the rowid, which every
index already ends with; spelling it out keeps one definition that PostgreSQL can also read in
order without a sort step.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from engine import search as engine_search
from engine.context import GEOMETRY_ENGINE_MAX, ID_MAX_LENGTH, WORKFLOW_MODES
from engine.profile import PROFILE_NAME_MAX

CATALOG_REVISION_MAX = 64
#: The largest search budget (DESIGN.md §3), hence the largest attempt index of a run.
MAX_ATTEMPTS_PER_RUN = 200


class RiskBucket(models.TextChoices):
    GREEN = "GREEN"
    YELLOW = "YELLOW"
    RED = "RED"


class Reason(models.TextChoices):
    GREEN_FOUND = "green_found"
    ACCEPTABLE_FOUND = "acceptable_found"
    BUDGET_EXHAUSTED = "budget_exhausted"
    TIMEOUT = "timeout"
    NO_CANDIDATES = "no_candidates"


SUCCESS_REASONS = engine_search.SUCCESS_REASONS


class Source(models.TextChoices):
    INTERNAL = "internal", "internal (this server's search loop)"
    API = "api", "api (posted by an integrator)"


WORKFLOW_MODE_CHOICES = [(m, m) for m in WORKFLOW_MODES]


def _newest_first_index(table: str, column: str) -> models.Index:
    return models.Index(fields=[column, "timestamp", "id"], name=f"ailog_{table}_{column[:10]}_ts")


class AiRunKey(models.Model):
    """The internal key of a run whose attempts arrived before its summary (issue 19).

    Runs and attempts are keyed internally by ``run_key``, issued in arrival order from this
    table's id sequence. The public ``run_id`` is a random UUID chosen by the integrator; an
    index led by it takes each new run at a random place, which costs every insert (a page read
    and written, and after each checkpoint a full-page image). So attempts are unique and looked
    up by ``(run_key, attempt_index)``, which new runs append at the end. A stored run keeps its
    key in its row (``AiRun.run_key``); only a run known by its attempts alone needs a row here,
    so that its later attempts and its summary find the key it was given.
    """

    run_id = models.UUIDField(unique=True)

    class Meta:
        verbose_name = "AI run key"

    def __str__(self) -> str:
        return f"key {self.pk} of run {self.run_id}"


class AiRun(models.Model):
    run_id = models.UUIDField(unique=True)
    run_key = models.BigIntegerField(unique=True, help_text="internal, time-ordered (AiRunKey)")
    timestamp = models.DateTimeField(help_text="when the run ended (its summary)")
    started_at = models.DateTimeField(null=True, blank=True)
    elapsed_seconds = models.FloatField(null=True, blank=True)
    recorded_at = models.DateTimeField(help_text="when this server stored the run")
    source = models.CharField(max_length=16, choices=Source.choices)

    tool_id = models.CharField(max_length=ID_MAX_LENGTH)
    material_id = models.CharField(max_length=ID_MAX_LENGTH)
    machine_id = models.CharField(max_length=ID_MAX_LENGTH)
    workflow_mode = models.CharField(max_length=32, choices=WORKFLOW_MODE_CHOICES)
    geometry_engine = models.CharField(max_length=GEOMETRY_ENGINE_MAX, blank=True, default="")

    # The profile as a name: a run may name a profile that never existed here, or one since
    # deleted. Version and history record are the ones in force when the run resolved.
    profile_name = models.CharField(max_length=PROFILE_NAME_MAX, blank=True, default="")
    profile_version = models.PositiveIntegerField(null=True, blank=True)
    profile_history_id = models.PositiveBigIntegerField(null=True, blank=True)
    rule_id = models.PositiveBigIntegerField(null=True, blank=True, help_text="resolution rule that chose the profile")
    fallback_used = models.BooleanField(
        null=True,
        blank=True,
        help_text="yes when no rule matched and 'default' was used; blank when the run did not say",
    )
    catalog_revision = models.CharField(max_length=CATALOG_REVISION_MAX, blank=True, default="")

    max_attempts = models.PositiveSmallIntegerField(null=True, blank=True)
    time_limit_seconds = models.FloatField(null=True, blank=True)
    min_feasibility_score = models.FloatField(null=True, blank=True)
    stop_on_first_green = models.BooleanField(null=True, blank=True)
    seed = models.BigIntegerField(null=True, blank=True)

    attempts = models.PositiveSmallIntegerField(help_text="how many attempts the run made")
    success = models.BooleanField()
    reason = models.CharField(max_length=32, choices=Reason.choices)
    selected_score = models.FloatField(null=True, blank=True)
    selected_risk_bucket = models.CharField(max_length=8, choices=RiskBucket.choices, null=True, blank=True)
    selected_attempt_index = models.PositiveSmallIntegerField(null=True, blank=True)
    selected_candidate = models.JSONField(null=True, blank=True)
    warnings = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = "AI run"
        # Running this server's search loop (and recording its run) is an operator's tool;
        # posting runs from elsewhere (add_airun) is an integrator's.
        permissions = [("run_search", "Can run constraint searches")]
        indexes = [
            models.Index(fields=["timestamp", "id"], name="ailog_run_ts"),
            *(
                _newest_first_index("run", column)
                for column in ("tool_id", "material_id", "machine_id", "geometry_engine", "profile_name", "reason")
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(reason__in=Reason.values), name="ailog_run_reason_known"),
            models.CheckConstraint(condition=Q(workflow_mode__in=WORKFLOW_MODES), name="ailog_run_mode_known"),
            models.CheckConstraint(
                condition=Q(success=True, reason__in=SUCCESS_REASONS)
                | (Q(success=False) & ~Q(reason__in=SUCCESS_REASONS)),
                name="ailog_run_success_matches_reason",
            ),
            models.CheckConstraint(
                condition=Q(selected_score__isnull=True) | Q(selected_score__gte=0, selected_score__lte=100),
                name="ailog_run_selected_score_range",
            ),
            models.CheckConstraint(condition=Q(attempts__lte=MAX_ATTEMPTS_PER_RUN), name="ailog_run_attempts_max"),
        ]

    def __str__(self) -> str:
        return f"run {self.run_id}"


class AiAttempt(models.Model):
    # A foreign key for the admin inline and ``run.attempt_records``, but without a database
    # constraint: an attempt event may arrive before its run summary.
    run = models.ForeignKey(
        AiRun,
        to_field="run_id",
        db_column="run_id",
        db_constraint=False,
        db_index=False,  # looked up by run_key (the unique (run_key, attempt_index) below)
        on_delete=models.DO_NOTHING,
        related_name="attempt_records",
    )
    run_key = models.BigIntegerField(help_text="internal, time-ordered: the run's AiRunKey")
    attempt_index = models.PositiveSmallIntegerField()
    timestamp = models.DateTimeField()

    tool_id = models.CharField(max_length=ID_MAX_LENGTH)
    material_id = models.CharField(max_length=ID_MAX_LENGTH)
    machine_id = models.CharField(max_length=ID_MAX_LENGTH)
    workflow_mode = models.CharField(max_length=32, choices=WORKFLOW_MODE_CHOICES)
    geometry_engine = models.CharField(max_length=GEOMETRY_ENGINE_MAX, blank=True, default="")
    # Copied from the run (blank / null until the run summary arrives), to filter without a join.
    profile_name = models.CharField(max_length=PROFILE_NAME_MAX, blank=True, default="")
    profile_version = models.PositiveIntegerField(null=True, blank=True)

    score = models.FloatField()
    risk_bucket = models.CharField(max_length=8, choices=RiskBucket.choices)
    is_acceptable = models.BooleanField()
    ring_count = models.PositiveSmallIntegerField(null=True, blank=True)
    total_width_mm = models.FloatField(null=True, blank=True)
    candidate = models.JSONField(null=True, blank=True)
    warnings = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = "AI attempt"
        indexes = [
            models.Index(fields=["timestamp", "id"], name="ailog_attempt_ts"),
            *(
                _newest_first_index("attempt", column)
                for column in ("tool_id", "material_id", "machine_id", "geometry_engine", "profile_name")
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["run_key", "attempt_index"], name="ailog_attempt_once_per_run"),
            models.CheckConstraint(
                condition=Q(attempt_index__gte=1, attempt_index__lte=MAX_ATTEMPTS_PER_RUN),
                name="ailog_attempt_index_range",
            ),
            models.CheckConstraint(condition=Q(score__gte=0, score__lte=100), name="ailog_attempt_score_range"),
            models.CheckConstraint(condition=Q(risk_bucket__in=RiskBucket.values), name="ailog_attempt_bucket_known"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.attempt_index} of run {self.run_id}"
