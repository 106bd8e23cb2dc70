"""Tuning jobs' URLs under /api/ (DESIGN §11)."""

from django.urls import path

from tuning import apis

urlpatterns = [
    path("rmos/ai/tuning-jobs", apis.TuningJobListApi.as_view(), name="tuning-job-list"),
    path("rmos/ai/tuning-jobs/<int:job_id>", apis.TuningJobDetailApi.as_view(), name="tuning-job-api"),
    path("rmos/ai/tuning-jobs/<int:job_id>/cancel", apis.TuningJobCancelApi.as_view(), name="tuning-job-cancel-api"),
]
