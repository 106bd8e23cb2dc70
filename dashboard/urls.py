"""The server-rendered pages (DESIGN.md §5); the API lives under /api/."""

from django.urls import path
from django.views.generic import RedirectView

from dashboard.url_state import DASHBOARD_PATH
from dashboard.views import change_requests as request_views
from dashboard.views import dashboard, impact, live
from dashboard.views import profiles as profile_views
from dashboard.views import runs as run_detail
from dashboard.views import tuning as tuning_views

urlpatterns = [
    path("rmos/tuning/start/", tuning_views.tuning_start, name="tuning-start"),
    path("rmos/tuning/<int:job_id>/", tuning_views.tuning_job_detail, name="tuning-job"),
    path("rmos/tuning/<int:job_id>/cancel/", tuning_views.tuning_cancel, name="tuning-cancel"),
    path("rmos/ai-ops/", dashboard.dashboard, name="dashboard"),
    path("rmos/ai-ops/live/log/", live.live_log, name="dashboard-live-log"),
    path("rmos/ai-ops/live/overview/", live.live_overview, name="dashboard-live-overview"),
    path("rmos/ai-ops/live/analytics/", live.live_analytics, name="dashboard-live-analytics"),
    # The seed's development route; kept so old bookmarks (with their selection) still work.
    path("dev/rmos-ai-ops/", RedirectView.as_view(url=DASHBOARD_PATH, query_string=True, permanent=False)),
    path("rmos/profiles/", profile_views.profile_list, name="profile-list"),
    path("rmos/profiles/<slug:name>/", profile_views.profile_detail, name="profile-detail"),
    path(
        "rmos/profiles/<slug:name>/rollback/<int:history_id>/",
        profile_views.profile_rollback,
        name="profile-rollback",
    ),
    path("rmos/profiles/<slug:name>/compare/", impact.profile_compare, name="profile-compare"),
    path("rmos/alerts/<int:alert_id>/acknowledge/", impact.alert_acknowledge, name="alert-acknowledge"),
    path("rmos/runs/<str:run_id>/", run_detail.run_detail, name="run-detail"),
    path("rmos/change-requests/", request_views.change_request_list, name="change-request-list"),
    path("rmos/change-requests/new/", request_views.change_request_new, name="change-request-new"),
    path("rmos/change-requests/<int:request_id>/", request_views.change_request_detail, name="change-request-detail"),
    path(
        "rmos/change-requests/<int:request_id>/revise/",
        request_views.change_request_revise,
        name="change-request-revise",
    ),
]
