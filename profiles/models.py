"""Constraint profiles and the rules that resolve a context to one (DESIGN.md §3).

Write only through ``profiles.services``: it validates with the engine's rules, bumps
``version``, journals who and why, and re-exports the canonical YAML. The check constraints
below repeat the ranges in the database so that even a raw write cannot store a contradiction.
"""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from engine.context import WORKFLOW_MODES
from engine.profile import MAX_RING_WIDTH_LIMIT, MAX_RINGS_LIMIT, MAX_TOTAL_WIDTH_LIMIT, NAME_RE

slug_validator = RegexValidator(
    NAME_RE,
    "Use 1-64 lowercase letters, digits, '-' or '_', starting with a letter or digit.",
    code="slug",
)


class ChangeType(models.TextChoices):
    CREATED = "created", "created"
    CHANGED = "changed", "changed"
    ROLLBACK = "rollback", "rollback"
    IMPORT = "import", "import"
    DELETED = "deleted", "deleted"


class JournalFields(models.Model):
    """Extra columns on every historical record: what kind of change, and who said they did it.

    ``history_user`` is the authenticated account; ``operator`` is the free-text name an API
    caller may give (the seed's ``operator``), kept apart so it can never impersonate a user.
    """

    change_type = models.CharField(max_length=16, choices=ChangeType.choices, default=ChangeType.CHANGED)
    operator = models.CharField(max_length=150, blank=True, default="")
    rollback_of = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        abstract = True


def _journal() -> HistoricalRecords:
    return HistoricalRecords(
        bases=[JournalFields],
        history_change_reason_field=models.TextField(null=True),
        excluded_fields=["created_at", "updated_at"],
        cascade_delete_history=False,
    )


class ConstraintProfile(models.Model):
    name = models.CharField(max_length=64, unique=True, validators=[slug_validator])
    description = models.TextField(blank=True, default="")
    min_rings = models.PositiveSmallIntegerField()
    max_rings = models.PositiveSmallIntegerField()
    min_ring_width_mm = models.DecimalField(max_digits=5, decimal_places=2)
    max_ring_width_mm = models.DecimalField(max_digits=5, decimal_places=2)
    min_total_width_mm = models.DecimalField(max_digits=5, decimal_places=2)
    max_total_width_mm = models.DecimalField(max_digits=5, decimal_places=2)
    allow_mosaic = models.BooleanField(default=True)
    allow_segmented = models.BooleanField(default=True)
    palette_key = models.CharField(max_length=64, blank=True, default="")
    bias_simple = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = _journal()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="profile_name_not_empty"),
            models.CheckConstraint(condition=Q(min_rings__gte=1), name="profile_min_rings_gte_1"),
            models.CheckConstraint(condition=Q(max_rings__lte=MAX_RINGS_LIMIT), name="profile_max_rings_lte_limit"),
            models.CheckConstraint(condition=Q(min_rings__lte=F("max_rings")), name="profile_rings_min_le_max"),
            models.CheckConstraint(condition=Q(min_ring_width_mm__gt=0), name="profile_min_ring_width_gt_0"),
            models.CheckConstraint(
                condition=Q(max_ring_width_mm__lte=MAX_RING_WIDTH_LIMIT), name="profile_max_ring_width_lte_limit"
            ),
            models.CheckConstraint(
                condition=Q(min_ring_width_mm__lte=F("max_ring_width_mm")), name="profile_ring_width_min_le_max"
            ),
            models.CheckConstraint(condition=Q(min_total_width_mm__gt=0), name="profile_min_total_width_gt_0"),
            models.CheckConstraint(
                condition=Q(max_total_width_mm__lte=MAX_TOTAL_WIDTH_LIMIT), name="profile_max_total_width_lte_limit"
            ),
            models.CheckConstraint(
                condition=Q(min_total_width_mm__lte=F("max_total_width_mm")), name="profile_total_width_min_le_max"
            ),
            models.CheckConstraint(
                condition=Q(max_total_width_mm__gte=F("min_rings") * F("min_ring_width_mm")),
                name="profile_narrowest_design_fits",
            ),
            models.CheckConstraint(
                condition=Q(min_total_width_mm__lte=F("max_rings") * F("max_ring_width_mm")),
                name="profile_widest_design_fits",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="profile_version_gte_1"),
        ]

    def __str__(self) -> str:
        return self.name


class ResolutionRule(models.Model):
    """Sends contexts that match its patterns to a profile. See engine.resolver for the order."""

    name = models.CharField(max_length=64, unique=True, validators=[slug_validator])
    tool_pattern = models.CharField(max_length=128, blank=True, default="")
    material_pattern = models.CharField(max_length=128, blank=True, default="")
    machine_pattern = models.CharField(max_length=128, blank=True, default="")
    workflow_mode = models.CharField(max_length=32, blank=True, default="", choices=[(m, m) for m in WORKFLOW_MODES])
    geometry_engine = models.CharField(max_length=64, blank=True, default="")
    priority = models.IntegerField(default=100)
    enabled = models.BooleanField(default=True)
    note = models.TextField(blank=True, default="")
    profile = models.ForeignKey(ConstraintProfile, on_delete=models.PROTECT, related_name="rules")
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = _journal()

    class Meta:
        ordering = ["priority", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="rule_name_not_empty"),
            models.CheckConstraint(
                condition=Q(workflow_mode__in=["", *WORKFLOW_MODES]), name="rule_workflow_mode_known"
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="rule_version_gte_1"),
        ]

    def __str__(self) -> str:
        return self.name
