"""What a write to the log changed, in counts: the log's one outward interface (with ailog.signals).

Every write (ingestion, the search loop, a prune) folds the rows it adds or removes into a
:class:`Tally`: additive counts per UTC day and *key* (the context, the profile and its version).
Inside the write's transaction it sends the tally with :data:`ailog.signals.log_changed`; the
analytics app keeps its aggregates from it, so they commit or roll back with the rows. The log
never imports analytics: the counts below are facts about log rows, and what they mean (rates,
intervals, rankings) is analytics' business.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from engine.search import REASONS, SUCCESS_REASONS

#: The key of a count: the context and the profile version (0: not known, e.g. attempts whose run
#: summary has not arrived yet).
KEY_FIELDS = (
    "tool_id",
    "material_id",
    "machine_id",
    "geometry_engine",
    "workflow_mode",
    "profile_name",
    "profile_version",
)
DAY_KEY = ("day", *KEY_FIELDS)

#: The additive counts, in the order of a tally row. Run counts come from run rows, the rest from
#: attempt rows.
RUN_COUNTS = (
    "runs",
    *REASONS,  # one count per outcome reason
    "attempts_reported",  # the sum of the runs' own attempt counts
    "scored_runs",  # runs with a selected score
    "selected_score_sum",
    "success_score_sum",  # the selected scores of successful runs (every one has a score)
    # Per-run risk (DESIGN §9, the run is the unit of evidence): over the runs with at least one
    # attempt row, the sum of each run's RED share of its attempts and of its square, so analytics
    # can average the shares over runs with an interval. Keyed on the run, like the run counts.
    "risk_runs",
    "red_share_sum",
    "red_share_sq_sum",
)
ATTEMPT_COUNTS = ("attempts", "green", "yellow", "red", "acceptable", "score_sum")
ADDITIVE = RUN_COUNTS + ATTEMPT_COUNTS

_SLOT = {name: i for i, name in enumerate(ADDITIVE)}
#: The slot after the additive counts holds the latest run's timestamp (not additive: a maximum).
LAST = len(ADDITIVE)
_RUNS, _ATTEMPTS_REPORTED, _SCORED, _SELECTED_SUM, _SUCCESS_SUM = (
    _SLOT[n] for n in ("runs", "attempts_reported", "scored_runs", "selected_score_sum", "success_score_sum")
)
_RISK_RUNS, _RED_SHARE_SUM, _RED_SHARE_SQ_SUM = (_SLOT[n] for n in ("risk_runs", "red_share_sum", "red_share_sq_sum"))
_SUCCESS_REASONS = frozenset(SUCCESS_REASONS)
_REASON_SLOT = {reason: _SLOT[reason] for reason in REASONS}
_ATTEMPTS, _ACCEPTABLE, _SCORE_SUM = (_SLOT[n] for n in ("attempts", "acceptable", "score_sum"))
_BUCKET_SLOT = {"GREEN": _SLOT["green"], "YELLOW": _SLOT["yellow"], "RED": _SLOT["red"]}


def day_of(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def run_key(run: Mapping[str, Any]) -> tuple:
    """The ``(day, *KEY_FIELDS)`` key of a run's counts (its own timestamp's UTC day)."""
    return (
        day_of(run["timestamp"]),
        run["tool_id"],
        run["material_id"],
        run["machine_id"],
        run["geometry_engine"],
        run["workflow_mode"],
        run["profile_name"],
        run["profile_version"] or 0,
    )


class Tally:
    """Changes in counts of one write: ``rows`` maps ``(day, *KEY_FIELDS)`` to a list of the
    :data:`ADDITIVE` counts followed by the latest run's timestamp (slot :data:`LAST`).
    Negative counts are removals (a prune, an attempt moving to its run's profile)."""

    def __init__(self) -> None:
        self.rows: dict[tuple, list] = {}

    def __bool__(self) -> bool:
        return bool(self.rows)

    def _row(self, key: tuple) -> list:
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = [0] * len(ADDITIVE) + [None]
        return row

    def run(self, run: Mapping[str, Any], sign: int = 1) -> None:
        """A run, as the values ailog stores (``timestamp``, context, profile, outcome)."""
        row = self._row(run_key(run))
        row[_RUNS] += sign
        row[_REASON_SLOT[run["reason"]]] += sign
        row[_ATTEMPTS_REPORTED] += sign * run["attempts"]
        if run["selected_score"] is not None:
            row[_SCORED] += sign
            row[_SELECTED_SUM] += sign * run["selected_score"]
            if run["reason"] in _SUCCESS_REASONS:
                row[_SUCCESS_SUM] += sign * run["selected_score"]
        if sign > 0 and (row[LAST] is None or run["timestamp"] > row[LAST]):
            row[LAST] = run["timestamp"]

    def run_risk(self, run: Mapping[str, Any], *, red: int, attempts: int, sign: int = 1) -> None:
        """A run's RED share, ``red / attempts`` over the attempt rows recorded for it, counted
        (``sign`` 1) or taken back (-1) under the run's key. Nothing when it has no attempt row.

        A run's share changes when attempts of it arrive after its summary: the writer takes back
        the share it had and counts the new one, so the sums always hold each run once."""
        if attempts <= 0:
            return
        share = red / attempts
        row = self._row(run_key(run))
        row[_RISK_RUNS] += sign
        row[_RED_SHARE_SUM] += sign * share
        row[_RED_SHARE_SQ_SUM] += sign * share * share

    def attempts(self, key: tuple, *, buckets: Iterable[str], acceptable: int, score_sum: float, sign: int = 1) -> None:
        """Attempts that share ``key`` = ``(day, *KEY_FIELDS)``; ``buckets`` has one entry per attempt."""
        row = self._row(key)
        count = 0
        for bucket in buckets:
            row[_BUCKET_SLOT[bucket]] += sign
            count += 1
        row[_ATTEMPTS] += sign * count
        row[_ACCEPTABLE] += sign * acceptable
        row[_SCORE_SUM] += sign * score_sum

    def attempt(self, attempt: Mapping[str, Any], sign: int = 1) -> None:
        """One attempt, as a mapping of ailog's attempt fields."""
        key = (
            day_of(attempt["timestamp"]),
            attempt["tool_id"],
            attempt["material_id"],
            attempt["machine_id"],
            attempt["geometry_engine"],
            attempt["workflow_mode"],
            attempt["profile_name"],
            attempt["profile_version"] or 0,
        )
        self.attempts(
            key,
            buckets=(attempt["risk_bucket"],),
            acceptable=int(attempt["is_acceptable"]),
            score_sum=attempt["score"],
            sign=sign,
        )

    def add_counts(self, key: tuple, counts: Mapping[str, Any], sign: int = 1) -> None:
        """Counts of many rows at once (``counts`` has every :data:`ADDITIVE` name and ``last_run_at``)."""
        row = self._row(key)
        for name, slot in _SLOT.items():
            row[slot] += sign * (counts[name] or 0)
        last = counts["last_run_at"]
        if sign > 0 and last is not None and (row[LAST] is None or last > row[LAST]):
            row[LAST] = last
