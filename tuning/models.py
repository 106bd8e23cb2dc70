"""A tuning job (DESIGN §11): one search of a profile's values on its traffic, run in the background.

The job records what it searches when it is started (the profile's version and values, the
traffic's contexts and runs, the focus, trials and seed), so it runs on exactly that whatever
happens to the profile or the log meanwhile, and can be run again identically.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

# A running job whose worker has given no sign of life for this long has lost its worker (a trial
# takes well under a second to a few seconds): it may be cancelled at once.
STALL_AFTER = timedelta(minutes=5)


class TuningJob(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"
        CANCELLED = "cancelled"

    profile_name = models.CharField(max_length=64, db_index=True)
    profile_version = models.PositiveIntegerField(help_text="the version whose values are tuned")
    saved_values = models.JSONField(help_text="the constraint values of that version (the trials' baseline)")
    traffic = models.JSONField(help_text="[[context, runs], ...]: the profile's traffic when the job was started")
    focus = models.JSONField(null=True, blank=True, help_text="the one context the objective is about, if any")
    trials = models.PositiveIntegerField()
    seed = models.BigIntegerField()
    samples_per_context = models.PositiveIntegerField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED, db_index=True)
    trials_done = models.PositiveIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    result = models.JSONField(null=True, blank=True, help_text="engine.tuning.tune's answer")
    error = models.TextField(blank=True, help_text="why the job failed")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    task_id = models.CharField(max_length=64, blank=True, help_text="the background task running it (django-tasks)")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="the running worker's last sign of life (its start, each trial)"
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"tuning job #{self.pk} of {self.profile_name} ({self.state})"

    @property
    def finished(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED, self.State.CANCELLED)

    @property
    def stalled(self) -> bool:
        """Running, but its worker has not reported for :data:`STALL_AFTER` (killed, or the machine
        restarted): nothing will finish it, so a cancel finishes it at once."""
        beat = self.heartbeat_at or self.started_at
        return self.state == self.State.RUNNING and beat is not None and timezone.now() - beat > STALL_AFTER
