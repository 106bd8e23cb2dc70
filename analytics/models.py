"""Aggregates of the AI log, kept up to date by every write to it (DESIGN.md §8).

Two tables hold the additive counts of :class:`analytics.metrics.Counts` per *key*: the context
(``tool_id``, ``material_id``, ``machine_id``, ``geometry_engine``, ``workflow_mode``) and the
profile version (``profile_name``, ``profile_version``; 0 means "not known", e.g. attempts whose
run summary has not arrived yet):

* :class:`ContextDay` - one row per key and UTC day (by each run's / attempt's own timestamp):
  serves ``since`` / ``until`` and the time series.
* :class:`ContextTotal` - one row per key for all time: serves everything without a time range.
  Its size depends on how many contexts and versions exist, not on how much history there is.

Both change in the transaction that changes the log rows they count (the log sends its change in
counts, :mod:`ailog.signals`, and :mod:`analytics.services` applies it), with ``INSERT … ON CONFLICT … DO UPDATE SET n = n + excluded.n`` so
concurrent writers add up instead of overwriting each other. ``manage.py rebuild_aggregates``
recomputes them from the log; ``--check`` only compares.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from ailog.counts import KEY_FIELDS
from engine.context import GEOMETRY_ENGINE_MAX, ID_MAX_LENGTH
from engine.profile import PROFILE_NAME_MAX


class Aggregate(models.Model):
    tool_id = models.CharField(max_length=ID_MAX_LENGTH)
    material_id = models.CharField(max_length=ID_MAX_LENGTH)
    machine_id = models.CharField(max_length=ID_MAX_LENGTH)
    geometry_engine = models.CharField(max_length=GEOMETRY_ENGINE_MAX)
    workflow_mode = models.CharField(max_length=32)
    profile_name = models.CharField(max_length=PROFILE_NAME_MAX)
    profile_version = models.PositiveIntegerField(help_text="0: not known")

    runs = models.BigIntegerField(default=0)
    green_found = models.BigIntegerField(default=0)
    acceptable_found = models.BigIntegerField(default=0)
    budget_exhausted = models.BigIntegerField(default=0)
    timeout = models.BigIntegerField(default=0)
    no_candidates = models.BigIntegerField(default=0)
    attempts_reported = models.BigIntegerField(default=0, help_text="sum of the runs' own attempt counts")
    scored_runs = models.BigIntegerField(default=0, help_text="runs with a selected score")
    selected_score_sum = models.FloatField(default=0.0)
    success_score_sum = models.FloatField(default=0.0, help_text="selected scores of successful runs")
    risk_runs = models.BigIntegerField(default=0, help_text="runs with at least one attempt row")
    red_share_sum = models.FloatField(default=0.0, help_text="sum of each run's RED share of its attempts")
    red_share_sq_sum = models.FloatField(default=0.0, help_text="sum of the squares of those shares")
    last_run_at = models.DateTimeField(null=True)

    attempts = models.BigIntegerField(default=0, help_text="attempt rows")
    green = models.BigIntegerField(default=0)
    yellow = models.BigIntegerField(default=0)
    red = models.BigIntegerField(default=0)
    acceptable = models.BigIntegerField(default=0)
    score_sum = models.FloatField(default=0.0)

    class Meta:
        abstract = True


class ContextDay(Aggregate):
    day = models.DateField()

    class Meta:
        verbose_name = "aggregate per context and day"
        constraints = [models.UniqueConstraint(fields=["day", *KEY_FIELDS], name="analytics_contextday_key")]
        indexes = [
            models.Index(fields=["tool_id", "day"], name="analytics_day_tool"),
            models.Index(fields=["material_id", "day"], name="analytics_day_material"),
            models.Index(fields=["machine_id", "day"], name="analytics_day_machine"),
            models.Index(fields=["profile_name", "profile_version", "day"], name="analytics_day_profile"),
        ]


class ContextTotal(Aggregate):
    class Meta:
        verbose_name = "aggregate per context"
        constraints = [models.UniqueConstraint(fields=list(KEY_FIELDS), name="analytics_contexttotal_key")]
        indexes = [models.Index(fields=["profile_name", "profile_version"], name="analytics_total_profile")]


class VersionPrediction(models.Model):
    """The prediction made for a profile version when it was saved (DESIGN §9): its values
    ("proposed") against the version before ("saved"), on the profile's traffic of the 30 days
    before the save. Written after the save commits (:mod:`analytics.services.predictions`), so
    pages can show predicted against observed."""

    class State(models.TextChoices):
        PENDING = "pending"
        DONE = "done"
        NO_TRAFFIC = "no_traffic", "no traffic (no runs in the 30 days before the save)"
        FAILED = "failed"

    profile_name = models.CharField(max_length=PROFILE_NAME_MAX)
    version = models.PositiveIntegerField()
    against_version = models.PositiveIntegerField(null=True, help_text="the version whose values it was compared with")
    history_id = models.PositiveBigIntegerField(null=True, help_text="the journal record of the version")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    result = models.JSONField(null=True, help_text="analytics.selectors.profile_prediction's answer")
    error = models.TextField(blank=True, default="")
    requested_at = models.DateTimeField()
    made_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["profile_name", "version"], name="analytics_prediction_once_per_version")
        ]

    def __str__(self) -> str:
        return f"prediction for {self.profile_name} v{self.version}"


class RegressionAlert(models.Model):
    """A version judged ``worse`` than the one it replaced (DESIGN §9, regression watch).

    Raised from the aggregates by :func:`analytics.services.alerts_refresh`; it stays, with its
    acknowledgement, in the version's history. ``comparison`` is the latest stratified
    comparison (``analytics.stats.Comparison.as_dict`` with ``against`` and ``kind``)."""

    class State(models.TextChoices):
        OPEN = "open"
        ACKNOWLEDGED = "acknowledged"
        CLEARED = "cleared", "cleared (no longer worse with the runs since)"
        SUPERSEDED = "superseded", "superseded (a newer version was saved while it was open)"

    profile_name = models.CharField(max_length=PROFILE_NAME_MAX)
    version = models.PositiveIntegerField()
    against_version = models.PositiveIntegerField()
    against_history_id = models.PositiveBigIntegerField(
        null=True, help_text="the journal record of the version before: its rollback page"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    comparison = models.JSONField()
    raised_at = models.DateTimeField()
    checked_at = models.DateTimeField()
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True, default="", help_text="the acknowledgement's note")
    history = HistoricalRecords(excluded_fields=["checked_at"])

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["profile_name", "version", "against_version"], name="analytics_alert_once_per_pair"
            )
        ]
        indexes = [models.Index(fields=["state", "raised_at"], name="analytics_alert_state")]

    def __str__(self) -> str:
        return f"{self.profile_name} v{self.version} worse than v{self.against_version}"
