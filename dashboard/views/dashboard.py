"""The operator dashboard, ``/rmos/ai-ops/``: the seed's three rows on one page.

Row 1: log viewer (:mod:`dashboard.panels.log_viewer`) | snapshot inspector with the resolution
explanation. Row 2: performance analytics | hotspots (:mod:`dashboard.panels.analytics`). Row 3:
profile editor with recent history. What the page shows is chosen by its URL
(:mod:`dashboard.url_state`), so every selection is a link and every view can be bookmarked. The
only POSTs are the editor's: a save returns to the same URL; a what-if preview answers in place,
with the form as typed and the preview above it, saving nothing.

Status: 200; 400 when the inspector's parameters, the log's or the analytics' filters, or the
editor's values have problems (shown next to their fields); 409 for a stale save. Parameters the
page cannot use elsewhere (an unknown profile, a bad ``autoload``) are ignored with a notice.

Bounded work whatever the log's size: one page of the log (one indexed query), the analytics
and hotspots from the aggregates, the snapshot only when a context is chosen.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from analytics import selectors as analytics_selectors
from analytics import services as analytics_services
from dashboard import url_state
from dashboard.panels.analytics import analytics_panel
from dashboard.panels.inspector import InspectorForm, inspector_panel, preview_context, split_problems
from dashboard.panels.log_viewer import log_panel
from dashboard.panels.overview import overview_panel, time_bounds
from dashboard.views import profiles as profile_views
from dashboard.views.live import live_urls
from engine.resolver import FALLBACK_PROFILE
from profiles import selectors as profile_selectors
from profiles.presentation import history_rows
from rmos_site import roles

EDITOR_ANCHOR = "profile-editor"
WHAT_IF_ANCHOR = "what-if"
EDITOR_HISTORY_ITEMS = 5
#: The panel links below the overview: (section of url_state.SECTIONS, the panel's anchor, label).
SECTION_LABELS = (
    ("log", "log-viewer", "Log"),
    ("inspector", "snapshot-inspector", "Snapshot inspector"),
    ("analytics", "analytics", "Analytics"),
    ("analytics", "hotspots", "Hotspots"),
    ("editor", "profile-editor", "Profile editor"),
)


@login_required
@require_http_methods(["GET", "POST"])
def dashboard(request: HttpRequest) -> HttpResponse:
    state, problems = url_state.parse(request.GET)
    inspector_form = InspectorForm(request.GET, state=state)
    if request.method == "GET" and not problems and inspector_form.is_valid():
        # One view, one URL: the inspector's GET form sends every field, defaults included.
        canonical = url_state.canonical_url(request.GET, state)
        if canonical is not None:
            return redirect(canonical)
    inspector = inspector_panel(state, inspector_form)
    notices = [str(p) for p in split_problems(problems, state)]
    profiles = list(profile_selectors.profile_list())
    by_name = {p.name: p for p in profiles}
    # Without a profile named, the editor shows the one the inspected context resolves to (the
    # profile an operator tunes for it), else the fallback.
    resolved = inspector.resolution.profile_name if inspector.resolution else None
    editor_profile = (
        by_name.get(state.profile)
        or by_name.get(resolved)
        or by_name.get(FALLBACK_PROFILE)
        or (profiles[0] if profiles else None)
    )
    if state.profile and state.profile not in by_name:
        instead = f"; showing {editor_profile.name!r} instead" if editor_profile else ""
        notices.append(f"profile: there is no profile named {state.profile!r}{instead}")
    # The editor's own URL names its profile explicitly, so a save returns to the same profile.
    editor_state = state.with_profile(editor_profile.name) if editor_profile else state
    editor_url = editor_state.url(fragment=EDITOR_ANCHOR)

    form = what_if = sample = None
    if request.method == "POST":
        # The editor posts to a URL naming its profile; never save a fallback by accident.
        if editor_profile is None or editor_profile.name != state.profile:
            raise Http404(f"No profile named {state.profile!r} to save.")
        if request.POST.get("action") == "what-if":
            sample = _what_if_sample(editor_profile.name, inspector, state)
            form, what_if = profile_views.what_if_from_request(request, editor_profile, sample)
        else:
            form, saved = profile_views.save_from_request(request, editor_profile)
            if saved:
                return redirect(editor_url)
    elif editor_profile is not None:
        form = profile_views.editor_form(request, editor_profile)
    if form is not None and sample is None:
        sample = _what_if_sample(editor_profile.name, inspector, state)

    history = rows = None
    if editor_profile is not None:
        history = profile_selectors.profile_history_page(
            name=editor_profile.name, page=1, per_page=EDITOR_HISTORY_ITEMS
        )
        rows = history_rows(history.entries, current_version=editor_profile.version)

    bounds, range_problems = time_bounds(state)
    notices += [str(p) for p in range_problems]
    time_range = bounds.params()
    log = log_panel(state, time_range)
    stats = analytics_panel(state, time_range)
    analytics_services.alerts_refresh()
    overview = overview_panel(state, bounds)
    context = {
        "nav": "dashboard",
        "messages_in_panel": True,
        "state": state,
        "notices": notices,
        "log": log,
        "stats": stats,
        "overview": overview,
        "sections": SECTION_LABELS,
        "live": live_urls(state, log),
        "inspector": inspector,
        "can_admin_rules": roles.can_open_rule_admin(request.user),
        "profiles": profiles,
        "editor_profile": editor_profile,
        "editor_url": editor_url,
        "what_if_action": editor_state.url(fragment=WHAT_IF_ANCHOR),
        "what_if": what_if,
        "what_if_sample": sample,
        "form": form,
        "can_edit": profile_views.can_edit_profiles(request.user),
        "values_table": profile_views.profile_values_table(editor_profile) if editor_profile else [],
        "history": history,
        "history_rows": rows,
        "next_url": editor_url,
        "alerts": analytics_selectors.alerts_open(),
        "page_url": request.get_full_path(),
    }
    if request.method == "POST":
        status = profile_views.form_status(form)
    else:
        status = max(inspector.status, log.status, stats.status)
    return render(request, "dashboard/dashboard.html", context, status=status)


def _what_if_sample(profile_name: str, inspector, state: url_state.DashboardState):
    """The inspector's context when it names one, else one that resolves to the profile."""
    return preview_context(
        profile_name=profile_name, inspector=inspector.context, n_samples=state.n_samples, seed=state.seed
    )
