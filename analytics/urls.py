"""Analytics URLs under /api/ (DESIGN.md §4)."""

from django.urls import path

from analytics import apis

urlpatterns = [
    path("rmos/ai/analytics/profile-stats", apis.ProfileStatsApi.as_view(), name="analytics-profile-stats"),
    path("rmos/ai/analytics/hotspots", apis.HotspotsApi.as_view(), name="analytics-hotspots"),
    path("rmos/ai/analytics/profile-versions", apis.ProfileVersionsApi.as_view(), name="analytics-profile-versions"),
    path("rmos/ai/analytics/timeseries", apis.TimeseriesApi.as_view(), name="analytics-timeseries"),
]
