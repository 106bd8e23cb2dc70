"""The operator dashboard, ``/rmos/ai-ops/``: the seed's three rows on one page.

Row 1: log viewer | snapshot inspector with the resolution explanation. Row 2: performance
analytics | hotspots. Row 3: profile editor with recent history. What the page shows is chosen
by its URL (:mod:`rmos_site.url_state`), so every selection is a link and every view can be
bookmarked. The only POST is the editor's save; it returns to the same URL.
"""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from engine.context import WORKFLOW_MODES
from profiles import selectors as profile_selectors
from profiles import views as profile_views
from profiles.presentation import history_rows
from rmos_site import url_state

EDITOR_ANCHOR = "profile-editor"
EDITOR_HISTORY_ITEMS = 5
DEFAULT_PROFILE = "default"


@login_required
@require_http_methods(["GET", "POST"])
def dashboard(request: HttpRequest) -> HttpResponse:
    state, notices = url_state.parse(request.GET)
    profiles = list(profile_selectors.profile_list())
    by_name = {p.name: p for p in profiles}
    if state.profile and state.profile not in by_name:
        notices.append(f"profile: there is no profile named {state.profile!r}; showing another one")
    editor_profile = (
        by_name.get(state.profile)
        or by_name.get(DEFAULT_PROFILE)
        or (profiles[0] if profiles else None)
    )
    # The editor's own URL names its profile explicitly, so a save returns to the same profile.
    editor_state = state.with_profile(editor_profile.name) if editor_profile else state
    editor_url = editor_state.url(fragment=EDITOR_ANCHOR)

    form = None
    if request.method == "POST":
        # The editor posts to a URL naming its profile; never save a fallback by accident.
        if editor_profile is None or editor_profile.name != state.profile:
            raise Http404(f"No profile named {state.profile!r} to save.")
        form, saved = profile_views.save_from_request(request, editor_profile)
        if saved:
            return redirect(editor_url)
    elif editor_profile is not None:
        form = profile_views.editor_form(request, editor_profile)

    history = rows = None
    if editor_profile is not None:
        history = profile_selectors.profile_history_page(
            name=editor_profile.name, page=1, per_page=EDITOR_HISTORY_ITEMS
        )
        rows = history_rows(history.entries, current_version=editor_profile.version)

    context = {
        "nav": "dashboard",
        "state": state,
        "notices": notices,
        "workflow_modes": WORKFLOW_MODES,
        "profiles": profiles,
        "editor_profile": editor_profile,
        "editor_url": editor_url,
        "form": form,
        "can_edit": profile_views.can_edit_profiles(request.user),
        "values_table": profile_views.profile_values_table(editor_profile) if editor_profile else [],
        "history": history,
        "history_rows": rows,
        "next_url": editor_url,
    }
    return render(request, "dashboard/dashboard.html", context, status=profile_views.form_status(form))
