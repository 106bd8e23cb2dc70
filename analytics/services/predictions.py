"""The prediction stored for each saved version (DESIGN §9: "saving a version stores the
prediction made for it", so pages show predicted against observed).

A save commits first; then :data:`profiles.signals.profile_version_saved` reaches
:func:`version_prediction_request`, which records a pending prediction (one insert) and computes
it in a background thread: a prediction takes a second or two, and neither the save's answer nor
the profile's row lock waits for it. The thread compares the version's values ("proposed") with
the version before ("saved") on the profile's traffic of the 30 days before the save, with a
seed derived from the profile and version so that it can be recomputed identically. A process
that stops before the thread ends leaves it pending: ``manage.py predict_versions`` computes the
pending ones (and ``--all`` recomputes every one). ``RMOS_PREDICT_ON_SAVE=false`` leaves them
all to that command.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from analytics.models import VersionPrediction
from analytics.selectors.traffic import profile_prediction
from profiles import selectors as profile_selectors
from rmos_site.errors import ApplicationError

logger = logging.getLogger("rmos.analytics")

_threads: set[threading.Thread] = set()
_threads_lock = threading.Lock()


def version_seed(name: str, version: int) -> int:
    """The prediction's seed for a version: the same every time it is recomputed."""
    return int.from_bytes(hashlib.sha256(f"{name}\x1f{version}".encode()).digest()[:8], "big") >> 1


def version_prediction_request(
    *,
    name: str,
    version: int,
    history_id: int | None,
    previous_version: int | None,
    saved_at: datetime | None = None,
    **signal: Any,
) -> VersionPrediction | None:
    """Record a pending prediction for a saved version and compute it in the background (see the
    module docstring). A receiver of :data:`profiles.signals.profile_version_saved`."""
    try:
        with transaction.atomic():
            row = VersionPrediction.objects.create(
                profile_name=name,
                version=version,
                against_version=previous_version,
                history_id=history_id,
                requested_at=saved_at or timezone.now(),
            )
    except IntegrityError:
        return None  # already requested (a rebuilt journal, a replayed signal)
    if not settings.RMOS_PREDICT_ON_SAVE:
        return row
    if connection.in_atomic_block:
        # Called inside a transaction still open (a test capturing on-commit callbacks, say):
        # another thread's connection could not see the row yet, so it is computed here.
        return version_prediction_make(pk=row.pk)
    thread = threading.Thread(target=_in_background, args=(row.pk,), name=f"predict-{name}-v{version}")
    with _threads_lock:
        _threads.add(thread)
    thread.start()
    return row


def _in_background(pk: int) -> None:
    try:
        version_prediction_make(pk=pk)
    except Exception:
        logger.exception("the prediction %s failed", pk)
    finally:
        connection.close()  # this thread's own connection
        with _threads_lock:
            _threads.discard(threading.current_thread())


def predictions_wait(timeout: float = 60.0) -> None:
    """Wait for the background predictions of this process (tests, and a graceful shutdown)."""
    with _threads_lock:
        running = list(_threads)
    for thread in running:
        thread.join(timeout)


def version_prediction_make(*, pk: int) -> VersionPrediction:
    """Compute (or recompute) one stored prediction and save it: done, no_traffic or failed."""
    row = VersionPrediction.objects.get(pk=pk)
    try:
        profile = profile_selectors.profile_get(name=row.profile_name)
        values = profile_selectors.profile_values_at_version(profile=profile, version=row.version)
        before = (
            profile_selectors.profile_values_at_version(profile=profile, version=row.against_version)
            if row.against_version
            else None
        )
        if values is None:
            raise LookupError(f"version {row.version} of {row.profile_name} is not in the journal")
        result = profile_prediction(
            name=row.profile_name,
            saved=before if before is not None else values,
            changes=values if before is not None else None,
            seed=version_seed(row.profile_name, row.version),
            until=row.requested_at,
        )
    except (ApplicationError, LookupError) as exc:
        row.state, row.error, row.result = VersionPrediction.State.FAILED, str(exc), None
    else:
        row.result = result
        row.error = ""
        row.state = VersionPrediction.State.DONE if result["contexts"] else VersionPrediction.State.NO_TRAFFIC
    row.made_at = timezone.now()
    row.save(update_fields=["state", "result", "error", "made_at"])
    return row


def predictions_fill(*, everything: bool = False) -> list[VersionPrediction]:
    """Compute the pending predictions (``everything``: recompute all), oldest first."""
    rows = VersionPrediction.objects.order_by("requested_at", "id")
    if not everything:
        rows = rows.filter(state=VersionPrediction.State.PENDING)
    return [version_prediction_make(pk=pk) for pk in rows.values_list("pk", flat=True)]
