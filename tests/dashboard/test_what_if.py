"""The editor's what-if preview: the unsaved values sampled beside the saved profile, nothing saved."""

from __future__ import annotations

import html as html_lib
import re

import pytest

from profiles import selectors
from profiles.models import ConstraintProfile
from tests.factories import edit_profile, form_data

pytestmark = pytest.mark.django_db

DASHBOARD = "/rmos/ai-ops/"
MAPLE = "tool_id=saw:slitting-0.5&material_id=wood:maple-hard&machine_id=prod:vmc-3axis"


def what_if(profile: ConstraintProfile, **overrides) -> dict:
    data = form_data(profile, **{"note": "", **overrides})
    data["action"] = "what-if"
    return data


def unchanged(name: str, version: int = 1, journal: int = 1) -> None:
    profile = selectors.profile_get(name=name)
    assert profile.version == version
    assert ConstraintProfile.history.filter(id=profile.id).count() == journal


def input_value(html: str, name: str) -> str:
    tag = re.search(rf'<input [^>]*name="{name}"[^>]*>', html).group(0)
    value = re.search(r'value="([^"]*)"', tag)
    return value.group(1) if value else ""


def test_the_editor_offers_the_what_if_and_says_which_context_it_samples(operator_client, starter_profiles):
    html = html_lib.unescape(operator_client.get(DASHBOARD + "?profile=maple_contrast").content.decode())
    assert (
        '<button type="submit" class="button" name="action" value="what-if" '
        'formaction="/rmos/ai-ops/?profile=maple_contrast#what-if"'
    ) in html
    note = re.search(r'<p class="hint what-if-note" id="what-if-note">(.*?)</p>', html, re.S).group(1)
    assert "500 candidates, seed 1" in note
    assert "a catalog context that rule <strong>maple-materials</strong> sends to this profile." in note
    assert (
        "Load a context in the snapshot inspector to preview with that one instead (your edits stay in the form)."
        in note
    )
    # With a context in the inspector, that one, with the inspector's sample size and seed.
    html = html_lib.unescape(
        operator_client.get(f"{DASHBOARD}?{MAPLE}&n_samples=200&seed=9&profile=maple_contrast").content.decode()
    )
    note = re.search(r'<p class="hint what-if-note" id="what-if-note">(.*?)</p>', html, re.S).group(1)
    assert "200 candidates, seed 9" in note and "<code>saw:slitting-0.5</code>" in note
    assert "the snapshot inspector’s context" in note


def test_a_what_if_shows_both_sides_keeps_the_form_and_saves_nothing(
    operator_client, starter_profiles, django_assert_max_num_queries
):
    profile = selectors.profile_get(name="maple_contrast")
    url = f"{DASHBOARD}?{MAPLE}&profile=maple_contrast"
    # 14 + the log viewer's and the analytics' 3 + the alerts' 4 + the traffic prediction's 2
    with django_assert_max_num_queries(27):  # + requests awaiting you + the overview 3
        response = operator_client.post(
            url, what_if(profile, max_rings="6", allow_mosaic=None, note="half-typed reason")
        )
    html = html_lib.unescape(response.content.decode())
    assert response.status_code == 200
    section = html[html.index('id="what-if"') : html.index('class="editor-grid"')]
    assert "What-if: your unsaved values against saved version 1" in section
    assert "Nothing was saved." in section
    # The sample: the inspector's context, the same size and seed on both sides.
    assert "Both sides: <strong>500</strong> candidates, seed <strong>1</strong>" in section
    assert '<span class="chip"><span class="chip-key">tool_id</span> saw:slitting-0.5</span>' in section
    assert "the snapshot inspector’s context." in section
    # What the user changed, and what changes in the sample.
    assert (
        '<th scope="row">Most rings</th><td class="diff-before"><del>8</del></td><td class="diff-after"><ins>6</ins></td>'
        in section
    )
    assert (
        '<th scope="row">Allow mosaic rings</th><td class="diff-before"><del>yes</del></td><td class="diff-after"><ins>no</ins></td>'
        in section
    )
    assert re.search(r"<li>Mean ring count \d\.\d\d → 4\.\d\d \(-\d\.\d\d\)</li>", section)
    assert re.search(r"<li>Solid ring share [\d.]+% → [\d.]+% \(\+[\d.]+ points\)</li>", section)
    # Both sides drawn on shared axes: ring counts 3-8 on each, although yours stops at 6.
    for side in ("what-if-saved", "what-if-yours"):
        assert f'id="{side}-risk-title">Risk mix of 500 candidates</title>' in section
        assert f'id="{side}-rings-title">Ring count</title>' in section
        assert f'id="{side}-widths-title">Total width</title>' in section
    yours = section[section.index('class="compare-side compare-yours"') :]
    assert re.findall(r'<th scope="row">(\d)</th><td class="num">(\d+)</td>', yours)[-2:] == [("7", "0"), ("8", "0")]
    assert "Every number, side by side" in section and "90th percentile" in section
    # The form still holds what was typed, and nothing was saved or journaled.
    assert input_value(html, "max_rings") == "6"
    assert re.search(r'<input type="checkbox" name="allow_mosaic" [^>]*id="id_allow_mosaic">', html)  # unticked
    assert "half-typed reason</textarea>" in html
    assert "data-unsaved" in html  # leaving the page warns about the unsaved edit
    unchanged("maple_contrast")


def test_without_an_inspector_context_the_what_if_uses_one_that_resolves_to_the_profile(
    operator_client, starter_profiles
):
    profile = selectors.profile_get(name="thin_saw")
    response = operator_client.post(f"{DASHBOARD}?profile=thin_saw", what_if(profile, max_rings="4"))
    html = html_lib.unescape(response.content.decode())
    assert response.status_code == 200
    assert "a catalog context that rule <strong>saw-tools</strong> sends to this profile" in html
    assert '<span class="chip-key">tool_id</span> saw:jeweler-0.25' in html
    unchanged("thin_saw")


def test_a_what_if_on_a_context_that_resolves_elsewhere_says_so(operator_client, starter_profiles):
    profile = selectors.profile_get(name="router_bit")
    response = operator_client.post(f"{DASHBOARD}?{MAPLE}&profile=router_bit", what_if(profile, bias_simple=None))
    html = html_lib.unescape(response.content.decode())
    assert (
        "The rules send this context to <strong>maple_contrast</strong>; the preview applies router_bit’s values to it anyway."
        in html
    )


def test_a_what_if_with_nothing_changed_says_both_sides_are_the_same(operator_client, starter_profiles):
    profile = selectors.profile_get(name="default")
    html = html_lib.unescape(operator_client.post(f"{DASHBOARD}?profile=default", what_if(profile)).content.decode())
    assert "None: the form holds the saved values, so both sides are the same sample." in html
    assert "the catalog’s first tool, material and machine: no catalog context resolves to this profile" in html


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"max_rings": "99"}, "max_rings", "Must be between 1 and 24, got 99"),
        ({"min_rings": "8", "max_rings": "4"}, "max_rings", "Must be at least fewest rings (8), got 4"),
        ({"max_ring_width_mm": ""}, "max_ring_width_mm", "Enter a value (0.01–20.00 mm, at least the narrowest)."),
    ],
)
def test_invalid_values_are_shown_next_to_their_fields_as_for_a_save(
    operator_client, starter_profiles, overrides, field, message
):
    profile = selectors.profile_get(name="maple_contrast")
    response = operator_client.post(f"{DASHBOARD}?profile=maple_contrast", what_if(profile, **overrides))
    html = html_lib.unescape(response.content.decode())
    assert response.status_code == 400
    assert f'<ul class="errorlist" id="id_{field}_error"><li>{message}</li></ul>' in html
    assert "<h3>No preview: 1 problem to fix</h3>" in html  # no note needed for a preview
    assert 'id="what-if"' not in html
    for name, value in overrides.items():
        assert input_value(html, name) == value
    unchanged("maple_contrast")


def test_a_what_if_against_a_newer_version_says_so_and_still_saves_nothing(operator_client, starter_profiles):
    profile = selectors.profile_get(name="maple_contrast")
    typed = what_if(profile, max_rings="7")
    edit_profile("maple_contrast", min_ring_width_mm="0.50")
    html = html_lib.unescape(operator_client.post(f"{DASHBOARD}?profile=maple_contrast", typed).content.decode())
    assert "You opened this form on version 1; someone has saved version 2 since" in html
    assert input_value(html, "version") == "1"  # a save after this still meets the stale-edit check
    unchanged("maple_contrast", version=2, journal=2)


def test_the_profile_page_previews_too(operator_client, starter_profiles):
    profile = selectors.profile_get(name="premium_shell")
    response = operator_client.post("/rmos/profiles/premium_shell/", what_if(profile, max_rings="3"))
    html = html_lib.unescape(response.content.decode())
    assert response.status_code == 200
    assert "What-if: your unsaved values against saved version 1" in html
    assert "a catalog context that rule <strong>shell-materials</strong> sends to this profile." in html
    assert "open this profile in the dashboard and load the context in its snapshot inspector" in html
    assert 'formaction="/rmos/profiles/premium_shell/#what-if"' in html
    assert input_value(html, "max_rings") == "3"
    bad = operator_client.post("/rmos/profiles/premium_shell/", what_if(profile, max_rings="0"))
    assert bad.status_code == 400 and "Must be between 1 and 24, got 0" in bad.content.decode()
    unchanged("premium_shell")


@pytest.mark.parametrize("url", [f"{DASHBOARD}?profile=maple_contrast", "/rmos/profiles/maple_contrast/"])
def test_viewers_cannot_preview(viewer_client, starter_profiles, url):
    profile = selectors.profile_get(name="maple_contrast")
    assert viewer_client.post(url, what_if(profile, max_rings="6")).status_code == 403
    unchanged("maple_contrast")


def test_a_save_still_saves(operator_client, starter_profiles):
    profile = selectors.profile_get(name="maple_contrast")
    response = operator_client.post(
        f"{DASHBOARD}?profile=maple_contrast", form_data(profile, max_rings="7", note="fewer")
    )
    assert response.status_code == 302
    unchanged("maple_contrast", version=2, journal=2)
