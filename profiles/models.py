"""Constraint profiles and the rules that resolve a context to one (DESIGN.md §3).

Write only through ``profiles.services``: it validates with the engine's rules, bumps
``version``, journals who and why, and re-exports the canonical YAML. The check constraints
below repeat the ranges in the database so that even a raw write cannot store a contradiction.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from engine.context import WORKFLOW_MODES
from engine.profile import MAX_RING_WIDTH_LIMIT, MAX_RINGS_LIMIT, MAX_TOTAL_WIDTH_LIMIT, NAME_RE

#: The most approvals a profile may require (a team rarely has more reviewers than this).
MAX_REQUIRED_APPROVALS = 5

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
    REQUEST = "request", "change request"
    DELETED = "deleted", "deleted"


class JournalFields(models.Model):
    """Extra columns on every historical record: what kind of change, and who said they did it.

    ``history_user`` is the authenticated account; ``operator`` is the free-text name an API
    caller may give (the seed's ``operator``), kept apart so it can never impersonate a user.
    """

    change_type = models.CharField(max_length=16, choices=ChangeType.choices, default=ChangeType.CHANGED)
    operator = models.CharField(max_length=150, blank=True, default="")
    rollback_of = models.PositiveBigIntegerField(null=True, blank=True)
    change_request = models.PositiveBigIntegerField(null=True, blank=True, help_text="the change request published")

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
    # Governance (DESIGN §10): who may change the values above, not what runs get.
    protected = models.BooleanField(
        default=False, help_text="direct edits are refused; changes go through an approved change request"
    )
    required_approvals = models.PositiveSmallIntegerField(
        default=1, help_text="approvals a change request needs before it can be published"
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = _journal()

    class Meta:
        ordering = ["name"]
        permissions = [("protect_constraintprofile", "Can protect a profile and set the approvals it needs")]
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
            models.CheckConstraint(
                condition=Q(required_approvals__gte=1, required_approvals__lte=MAX_REQUIRED_APPROVALS),
                name="profile_required_approvals_range",
            ),
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


class RequestState(models.TextChoices):
    OPEN = "open", "open"
    APPROVED = "approved", "approved"
    PUBLISHED = "published", "published"
    REJECTED = "rejected", "rejected"
    WITHDRAWN = "withdrawn", "withdrawn"
    STALE = "stale", "stale"


class ReviewDecision(models.TextChoices):
    APPROVE = "approve", "approve"
    REQUEST_CHANGES = "request_changes", "request changes"
    COMMENT = "comment", "comment"


class ChangeRequest(models.Model):
    """A proposed change to a profile, reviewed before it is published (DESIGN §10).

    Write only through ``profiles.services.change_requests``: it holds the state machine.
    ``changes`` holds only the fields the proposal changes, JSON-ready, validated as an edit is.
    """

    profile = models.ForeignKey(ConstraintProfile, on_delete=models.CASCADE, related_name="change_requests")
    base_version = models.PositiveIntegerField(help_text="the profile version the proposal starts from")
    changes = models.JSONField(default=dict)
    note = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    revision = models.PositiveIntegerField(default=1)
    state = models.CharField(max_length=16, choices=RequestState.choices, default=RequestState.OPEN)
    published_version = models.PositiveIntegerField(null=True, blank=True)
    published_history_id = models.PositiveBigIntegerField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"], cascade_delete_history=False)

    class Meta:
        ordering = ["-id"]
        permissions = [("review_changerequest", "Can review change requests (approve or request changes)")]
        indexes = [
            models.Index(fields=["state", "id"], name="changerequest_state"),
            models.Index(fields=["profile", "state"], name="changerequest_profile_state"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(revision__gte=1), name="changerequest_revision_gte_1"),
            models.CheckConstraint(
                condition=Q(state__in=[s.value for s in RequestState]), name="changerequest_state_known"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.profile.name}" if self.pk else "new change request"


class ChangeRequestReview(models.Model):
    """One reviewer's word on one revision of a request; never edited (a new review says more)."""

    request = models.ForeignKey(ChangeRequest, on_delete=models.CASCADE, related_name="reviews")
    revision = models.PositiveIntegerField()
    decision = models.CharField(max_length=16, choices=ReviewDecision.choices)
    note = models.TextField(blank=True, default="")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(cascade_delete_history=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(decision__in=[d.value for d in ReviewDecision]), name="changerequestreview_decision_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.decision} by {self.reviewer} on #{self.request_id}"
