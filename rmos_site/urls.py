"""Top-level URLs: health check, admin, login, the API (under /api/) and the dashboard pages."""

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from rmos_site.accounts import PASSWORD_RESET_VIEWS, LoginView, needs_mail
from rmos_site.errors import json_error_response
from rmos_site.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # Pages without an icon link (the admin's) make browsers ask for /favicon.ico.
    path("favicon.ico", lambda request: HttpResponsePermanentRedirect(static("rmos/favicon.svg"))),
    path("admin/", admin.site.urls),
    path("accounts/login/", LoginView.as_view(), name="login"),
    *[
        path(f"accounts/{route}", needs_mail(view.as_view()), name=name)
        for route, (name, view) in PASSWORD_RESET_VIEWS.items()
    ],
    path("accounts/", include("django.contrib.auth.urls")),  # sign-out, password change
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # A page people open in a browser: signing in beats a JSON 401. The split view serves its
    # script as a file (?script), which the Content-Security-Policy allows; inline it would not.
    path("api/docs/", login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema")), name="api-docs"),
    path("api/", include("profiles.urls")),
    path("api/", include("ailog.urls")),
    path("api/", include("analytics.urls")),
    path("api/", include("tuning.urls")),
    path("", include("dashboard.urls")),
    path("", RedirectView.as_view(url="/rmos/ai-ops/", permanent=False)),
]
# Unknown API paths answer in the API's JSON error shape, whatever the method, in DEBUG too
# (added last: after the apps). It changes nothing, so CSRF has nothing to protect here.
urlpatterns.append(re_path(r"^api/", csrf_exempt(lambda request: handler404(request))))


def handler404(request: HttpRequest, exception: Exception | None = None):
    if request.path.startswith("/api/"):
        return json_error_response(404, "not_found", f"No API endpoint at {request.path}.")
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request: HttpRequest):
    if request.path.startswith("/api/"):
        return json_error_response(500, "server_error", "Internal error; it has been logged.")
    from django.views.defaults import server_error

    return server_error(request)
