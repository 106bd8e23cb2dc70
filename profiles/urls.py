"""Profile URLs under /api/. The profile-admin router exists only when ENABLE_RMOS_PROFILE_ADMIN is on."""

from django.conf import settings
from django.urls import path

from profiles import apis, converters, request_apis  # noqa: F401 - registers the profile_name converter

urlpatterns = [
    path("rmos/ai/profiles", apis.ProfileListApi.as_view(), name="profiles-list"),
    path("rmos/ai/profiles/<profile_name:name>", apis.ProfileDetailApi.as_view(), name="profiles-detail"),
    path("rmos/ai/rules", apis.RuleListApi.as_view(), name="rules-list"),
    path("rmos/ai/rules/preview", request_apis.RulePreviewApi.as_view(), name="rules-preview"),
    path("rmos/ai/change-requests", request_apis.ChangeRequestListApi.as_view(), name="change-requests-list"),
    path(
        "rmos/ai/change-requests/<int:request_id>",
        request_apis.ChangeRequestDetailApi.as_view(),
        name="change-requests-detail",
    ),
    path(
        "rmos/ai/change-requests/<int:request_id>/revise",
        request_apis.ChangeRequestReviseApi.as_view(),
        name="change-requests-revise",
    ),
    path(
        "rmos/ai/change-requests/<int:request_id>/reviews",
        request_apis.ChangeRequestReviewApi.as_view(),
        name="change-requests-review",
    ),
    path(
        "rmos/ai/change-requests/<int:request_id>/publish",
        request_apis.ChangeRequestPublishApi.as_view(),
        name="change-requests-publish",
    ),
    path(
        "rmos/ai/change-requests/<int:request_id>/withdraw",
        request_apis.ChangeRequestWithdrawApi.as_view(),
        name="change-requests-withdraw",
    ),
]

if settings.ENABLE_RMOS_PROFILE_ADMIN:
    urlpatterns += [
        path("rmos/ai/profile-admin/list", apis.ProfileAdminListApi.as_view(), name="profile-admin-list"),
        path(
            "rmos/ai/profile-admin/<profile_name:name>",
            apis.ProfileAdminDetailApi.as_view(),
            name="profile-admin-detail",
        ),
        path(
            "rmos/ai/profile-admin/<profile_name:name>/history",
            apis.ProfileAdminHistoryApi.as_view(),
            name="profile-admin-history",
        ),
        path(
            "rmos/ai/profile-admin/<profile_name:name>/rollback",
            apis.ProfileAdminRollbackApi.as_view(),
            name="profile-admin-rollback",
        ),
    ]

urlpatterns += [
    path("rmos/ai/catalog", apis.CatalogApi.as_view(), name="catalog"),
    path("rmos/ai/resolve", apis.ResolveApi.as_view(), name="resolve"),
    path("rmos/ai/snapshots", apis.SnapshotApi.as_view(), name="snapshots"),
    path("rmos/ai/snapshots/preview", apis.SnapshotPreviewApi.as_view(), name="snapshots-preview"),
]
