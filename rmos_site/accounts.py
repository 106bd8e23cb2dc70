"""Signing in: the sign-in page, the password reset (only where mail is configured), and the page
shown while django-axes refuses an account from an address."""

from __future__ import annotations

import math

from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render


def lockout_response(request: HttpRequest, original_response=None, credentials: dict | None = None) -> HttpResponse:
    """``AXES_LOCKOUT_CALLABLE``: a 429 page saying for whom, how long and how to get unlocked."""
    cool_off = get_cool_off(request)
    context = {
        "username": get_client_username(request, credentials) or "",
        "failure_limit": get_failure_limit(request, credentials),
        "minutes": math.ceil(cool_off.total_seconds() / 60) if cool_off else None,
    }
    return render(request, "registration/locked_out.html", context, status=429)


class LoginView(auth_views.LoginView):
    """Django's sign-in page; it offers a password reset only where mail can carry one."""

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "password_reset": settings.PASSWORD_RESET_BY_MAIL}


def needs_mail(view):
    """A password-reset page: 404 without RMOS_EMAIL_URL (it would promise a mail never sent)."""

    def wrapped(request, *args, **kwargs):
        if not settings.PASSWORD_RESET_BY_MAIL:
            raise Http404("Password reset is off: no mail server is configured (RMOS_EMAIL_URL).")
        return view(request, *args, **kwargs)

    return wrapped


PASSWORD_RESET_VIEWS = {
    "password_reset/": ("password_reset", auth_views.PasswordResetView),
    "password_reset/done/": ("password_reset_done", auth_views.PasswordResetDoneView),
    "reset/<uidb64>/<token>/": ("password_reset_confirm", auth_views.PasswordResetConfirmView),
    "reset/done/": ("password_reset_complete", auth_views.PasswordResetCompleteView),
}
