"""Writes of analytics: the aggregates that follow the log (:mod:`~analytics.services.aggregates`),
the regression watch's alerts (:mod:`~analytics.services.alerts`) and the prediction stored for
each saved version (:mod:`~analytics.services.predictions`)."""

from analytics.services.aggregates import Mismatch, _upsert, aggregates_apply, aggregates_rebuild
from analytics.services.alerts import (
    ALERT_MIN_RUNS,
    alert_acknowledge,
    alerts_refresh,
    alerts_refresh_due,
    current_comparisons,
)
from analytics.services.predictions import (
    predictions_fill,
    predictions_wait,
    version_prediction_make,
    version_prediction_request,
    version_seed,
)

__all__ = [
    "ALERT_MIN_RUNS",
    "Mismatch",
    "_upsert",
    "aggregates_apply",
    "aggregates_rebuild",
    "alert_acknowledge",
    "alerts_refresh",
    "alerts_refresh_due",
    "current_comparisons",
    "predictions_fill",
    "predictions_wait",
    "version_prediction_make",
    "version_prediction_request",
    "version_seed",
]
