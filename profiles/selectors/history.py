"""The journal of profiles and rules: pages of history, one record, the values of a version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.profile import CONSTRAINT_FIELDS
from profiles import journal
from profiles.models import ConstraintProfile, ResolutionRule
from profiles.selectors.current import PROFILE_HISTORY_MAX, profile_get
from rmos_site.errors import NotFound


@dataclass(frozen=True)
class HistoryPage:
    """One page of a profile's journal, newest first (for pages that paginate it)."""

    entries: list[dict[str, Any]]
    page: int
    pages: int
    per_page: int
    total: int

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def profile_history_page(*, name: str, page: int = 1, per_page: int = 20) -> HistoryPage:
    """Page ``page`` (from 1, clamped to the pages there are) of :func:`profile_history`'s entries.

    Two queries whatever the page: a count, and the page's records plus the one before them, so
    that the oldest entry on the page is diffed against its predecessor; a third when the page
    has rollbacks, to add ``rollback_of_version`` (the version each one restored) to them.
    """
    profile = profile_get(name=name)
    per_page = max(1, min(per_page, PROFILE_HISTORY_MAX))
    records = ConstraintProfile.history.filter(id=profile.id)
    total = records.count()
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    offset = (page - 1) * per_page
    chunk = list(records.select_related("history_user").order_by("-history_id")[offset : offset + per_page + 1])
    chunk.reverse()
    entries = journal.entries(chunk, journal.PROFILE_FIELDS, subject_of=lambda r: r.name)
    if len(chunk) > per_page:
        entries = entries[1:]
    entries.reverse()
    restored = {e["rollback_of"] for e in entries if e["rollback_of"]}
    if restored:
        versions = dict(ConstraintProfile.history.filter(history_id__in=restored).values_list("history_id", "version"))
        for e in entries:
            if e["rollback_of"]:
                e["rollback_of_version"] = versions.get(e["rollback_of"])
    return HistoryPage(entries=entries, page=page, pages=pages, per_page=per_page, total=total)


def profile_values_at_version(*, profile: ConstraintProfile, version: int) -> dict[str, Any] | None:
    """The constraint values ``profile`` had at ``version`` (None if no such version is journaled)."""
    record = (
        ConstraintProfile.history.filter(id=profile.id, version=version)
        .exclude(history_type="-")
        .order_by("-history_id")
        .first()
    )
    return None if record is None else {f: getattr(record, f) for f in CONSTRAINT_FIELDS}


def profile_history_record(*, profile: ConstraintProfile, history_id: int):
    """A historical record of ``profile``; another profile's record is not found here."""
    record = ConstraintProfile.history.filter(history_id=history_id).first()
    if record is None:
        raise NotFound(f"No history record #{history_id}.", extra={"field": "id"})
    if record.id != profile.id:
        raise NotFound(
            f"History record #{history_id} belongs to profile {record.name!r}, not {profile.name!r}.",
            extra={"field": "id"},
        )
    return record


def journaled_live(*, model: type[ConstraintProfile] | type[ResolutionRule], pk: Any):
    """The profile or rule as stored now (None once deleted), for forms that edit it by id."""
    return model.objects.filter(pk=pk).first()


def journaled_at_version(*, model: type[ConstraintProfile] | type[ResolutionRule], pk: Any, version: Any):
    """The history record of a profile or rule at ``version`` (None when there is none)."""
    if not str(version).isdigit():
        return None
    return model.history.filter(id=pk, version=int(version)).order_by("-history_id").first()


def rule_history_record(*, rule: ResolutionRule, history_id: int):
    """A historical record of ``rule``; another rule's record is not found here."""
    record = ResolutionRule.history.filter(history_id=history_id, id=rule.id).first()
    if record is None:
        raise NotFound(f"Rule {rule.name!r} has no history record #{history_id}.", extra={"field": "id"})
    return record
