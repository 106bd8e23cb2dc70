"""Which version of a profile was in force at a moment (runs are counted under it)."""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from profiles.models import ConstraintProfile


@dataclass(frozen=True)
class VersionInForce:
    """Which version of a named profile was in force at some moment (for runs reported later)."""

    name: str
    exists: bool  # False: no profile of that name was ever journaled here
    version: int | None
    history_id: int | None
    before_first: bool = False  # the moment is older than the first journaled version (given that one)


class ProfileVersionLookup:
    """Answers "which version of profile P was in force at time T" for many runs, in one query."""

    def __init__(self, names: Iterable[str]):
        wanted = {n for n in names if n}
        self._timeline: dict[str, list[tuple[datetime, int, int, bool]]] = {n: [] for n in wanted}
        if wanted:
            records = (
                ConstraintProfile.history.filter(name__in=wanted)
                .order_by("history_date", "history_id")
                .values_list("name", "history_date", "version", "history_id", "history_type")
            )
            for name, when, version, history_id, history_type in records:
                self._timeline[name].append((when, version, history_id, history_type == "-"))
        self._dates = {n: [t[0] for t in items] for n, items in self._timeline.items()}
        self._by_version = {
            (n, version): history_id
            for n, items in self._timeline.items()
            for _, version, history_id, deleted in items
            if not deleted
        }

    def exists(self, name: str) -> bool:
        """Whether a profile of that name was ever journaled here."""
        return bool(self._timeline.get(name))

    def history_id_of(self, name: str, version: int) -> int | None:
        """The history record of ``name`` at ``version`` (for runs that report their version)."""
        return self._by_version.get((name, version))

    def at(self, name: str, when: datetime) -> VersionInForce:
        timeline = self._timeline.get(name)
        if not timeline:
            return VersionInForce(name, False, None, None)
        i = bisect.bisect_right(self._dates[name], when) - 1
        before_first = i < 0
        if before_first:
            # Reported before the profile's first journaled version (the profile was in use
            # before this server journaled it, say): the earliest one is the best answer we have,
            # and the run still counts towards that profile; the caller says so.
            i = 0
        _, version, history_id, deleted = timeline[i]
        if deleted:
            return VersionInForce(name, True, None, None)
        return VersionInForce(name, True, version, history_id, before_first)

    def first_journaled(self, name: str) -> datetime | None:
        timeline = self._timeline.get(name)
        return timeline[0][0] if timeline else None


def profile_version_current(*, profile: ConstraintProfile) -> VersionInForce:
    """The version in force now, with its history record id."""
    history_id = (
        ConstraintProfile.history.filter(id=profile.id, version=profile.version)
        .order_by("-history_id")
        .values_list("history_id", flat=True)
        .first()
    )
    return VersionInForce(profile.name, True, profile.version, history_id)
