"""Analytics URLs under /api/ (DESIGN.md §4)."""

from django.urls import path

from analytics import apis

urlpatterns = [
    path("rmos/ai/analytics/profile-stats", apis.ProfileStatsApi.as_view(), name="analytics-profile-stats"),
    path("rmos/ai/analytics/overview", apis.OverviewApi.as_view(), name="analytics-overview"),
    path("rmos/ai/analytics/hotspots", apis.HotspotsApi.as_view(), name="analytics-hotspots"),
    path("rmos/ai/analytics/profile-versions", apis.ProfileVersionsApi.as_view(), name="analytics-profile-versions"),
    path("rmos/ai/analytics/timeseries", apis.TimeseriesApi.as_view(), name="analytics-timeseries"),
    path("rmos/ai/analytics/profile-traffic", apis.ProfileTrafficApi.as_view(), name="analytics-profile-traffic"),
    path("rmos/ai/analytics/compare", apis.CompareApi.as_view(), name="analytics-compare"),
    path("rmos/ai/analytics/alerts", apis.AlertsApi.as_view(), name="analytics-alerts"),
    path(
        "rmos/ai/analytics/alerts/<int:alert_id>/acknowledge",
        apis.AlertAcknowledgeApi.as_view(),
        name="analytics-alert-acknowledge",
    ),
    path("rmos/ai/profiles/<slug:name>/predict", apis.PredictApi.as_view(), name="profile-predict"),
]
