"""AI log URLs under /api/ (DESIGN.md §4)."""

from django.urls import path

from ailog import apis

urlpatterns = [
    path("rmos/logs/ai/attempts", apis.AttemptListApi.as_view(), name="ai-attempts"),
    path("rmos/logs/ai/runs", apis.RunsApi.as_view(), name="ai-runs"),
    path("rmos/logs/ai/runs/<str:run_id>", apis.RunDetailApi.as_view(), name="ai-run-detail"),
    path("rmos/logs/ai/events", apis.EventIngestApi.as_view(), name="ai-events"),
]

urlpatterns += [
    path("rmos/ai/constraint-search", apis.ConstraintSearchApi.as_view(), name="constraint-search"),
]
