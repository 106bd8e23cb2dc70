"""The snapshot inspector and the resolution explanation in dashboard row 1."""

from __future__ import annotations

import html as html_lib
import re

import pytest
import yaml
from django.conf import settings as dj_settings

from profiles import selectors, services
from profiles.models import ConstraintProfile
from tests.factories import make_profile, make_user

pytestmark = pytest.mark.django_db

DASHBOARD = "/rmos/ai-ops/"
MAPLE = "tool_id=saw:slitting-0.5&material_id=wood:maple-hard&machine_id=prod:vmc-3axis"
EBONY = "tool_id=laser:co2-40w&material_id=wood:ebony&machine_id=prod:laser-cell"


def page(client, query: str = "", status: int = 200) -> str:
    response = client.get(DASHBOARD + (f"?{query}" if query else ""))
    assert response.status_code == status, response.content.decode()[:500]
    return html_lib.unescape(response.content.decode())


def inspector(html: str) -> str:
    return html[html.index('id="snapshot-inspector"') : html.index('id="analytics"')]


def field_error(html: str, name: str) -> str:
    match = re.search(rf'<ul class="errorlist" id="inspector-{name}_error"><li>(.*?)</li>', html)
    return match.group(1) if match else ""


def test_without_a_context_the_inspector_offers_the_catalog_and_an_empty_state(
    viewer_client, starter_profiles, django_assert_max_num_queries
):
    with django_assert_max_num_queries(
        19
    ):  # 8 + the log viewer's and the analytics' 3 + the alerts' 4 + requests awaiting 1 + the overview 3
        html = page(viewer_client)
    panel = inspector(html)
    assert "No context chosen" in panel
    assert "<svg" not in panel  # nothing sampled
    assert (
        '<datalist id="catalog-tools"><option value="saw:jeweler-0.25">Jeweler\'s saw, 0.25 mm blade</option>' in panel
    )
    assert '<option value="wood:maple-hard">Hard maple</option>' in panel
    assert '<option value="prod:vmc-3axis">3-axis vertical machining centre</option>' in panel
    assert 'list="catalog-tools"' in panel and 'id="inspector-tool_id"' in panel
    assert 'name="n_samples" value="500"' in panel and 'name="seed" value="1"' in panel
    assert "Once a context is loaded" in panel  # the resolution explanation's empty state


def test_a_context_is_sampled_with_histograms_risk_mix_and_rosettes(
    viewer_client, starter_profiles, django_assert_max_num_queries
):
    with django_assert_max_num_queries(
        22
    ):  # 11 + the log viewer's and the analytics' 3 + the alerts' 4 + requests awaiting 1 + the overview 3
        html = page(viewer_client, MAPLE)
    panel = inspector(html)
    assert 'Profile used: <a href="/rmos/profiles/maple_contrast/"><strong>maple_contrast</strong></a>' in panel
    assert '<span class="version-badge">v1</span>' in panel
    assert "500 candidates · seed 1" in panel
    # Risk mix, the two histograms (one row per ring count of the profile's range), score and patterns.
    assert 'id="snap-risk-title">Risk mix of 500 candidates</title>' in panel
    assert 'id="snap-rings-title">Ring count</title>' in panel and 'id="snap-widths-title">Total width</title>' in panel
    maple = ConstraintProfile.objects.get(name="maple_contrast")
    ring_rows = [str(n) for n in range(maple.min_rings, maple.max_rings + 1)]
    assert re.findall(r'<th scope="row">(\d+)</th>', panel)[: len(ring_rows)] == ring_rows
    for label in ("Ring count", "Total width", "Score"):
        assert f'<th scope="row">{label}' in panel
    assert re.search(r'share-label">mosaic</span>.*?share-value">\d+\.\d%', panel, re.S)
    # Three sample candidates, each a rosette with its score, bucket and every check on demand.
    assert panel.count('<li class="candidate">') == 3
    assert panel.count('<figure class="rosette">') == 3
    assert panel.count('<details class="checks">') == 3
    for check in ("min_feature", "strip_width", "tolerance_stackup", "segmented_tooling", "kerf_loss"):
        assert f"<code>{check}</code>" in panel
    assert re.search(r'Candidate 1</strong>\s*<span class="bucket bucket-(green|yellow|red)">', panel)
    # A link draws another sample; the form keeps the context as typed.
    assert re.search(
        r'href="/rmos/ai-ops/\?tool_id=saw%3Aslitting-0.5&material_id=wood%3Amaple-hard'
        r'&machine_id=prod%3Avmc-3axis&seed=\d+#snapshot-inspector">Draw another sample',
        panel,
    )
    assert 'name="tool_id" value="saw:slitting-0.5"' in panel


def test_the_same_url_shows_the_same_sample(viewer_client, starter_profiles):
    first = inspector(page(viewer_client, MAPLE + "&n_samples=50&seed=7"))
    second = inspector(page(viewer_client, MAPLE + "&n_samples=50&seed=7"))
    strip = lambda text: re.sub(r"seed=\d+#snapshot-inspector", "", text)  # noqa: E731 - the fresh-seed link
    assert strip(first) == strip(second)
    assert "50 candidates · seed 7" in first
    assert strip(first) != strip(inspector(page(viewer_client, MAPLE + "&n_samples=50&seed=8")))


def test_the_resolution_explains_the_winner_and_every_rule_field_by_field(viewer_client, starter_profiles):
    panel = inspector(page(viewer_client, MAPLE))
    resolution = panel[panel.index('id="resolution"') :]
    assert "<strong>maple-materials</strong> sends this context to" in resolution
    assert re.search(
        r"Rule #\d+ 'maple-materials' wins: same specificity as rule #\d+ 'saw-tools', lower priority 40 < 50",
        resolution,
    )
    assert "6 rules considered, 3 match and are enabled." in resolution
    rules = re.findall(
        r'<tbody class="rule outcome-(\w+)[^"]*">\s*<tr>\s*<th scope="row" class="rule-name">\s*#\d+ ([\w-]+)',
        resolution,
    )
    assert rules == [
        ("winner", "maple-materials"),
        ("outranked", "saw-tools"),
        ("outranked", "production-machines"),
        ("no_match", "prototype-machines"),
        ("no_match", "router-tools"),
        ("no_match", "shell-materials"),
    ]
    # Per field: the pattern, its kind and whether it matched; blank fields match anything.
    assert '<td class="match is-match"><code>wood:maple*</code>' in resolution
    assert '<td class="match is-miss"><code>proto:*</code>' in resolution
    assert '✗</span> glob<span class="visually-hidden">, does not match</span>' in resolution
    assert '<td class="match match-blank"><span class="muted">any</span>' in resolution
    assert "No match: machine_id 'prod:vmc-3axis' does not match 'proto:*'." in resolution
    assert re.search(
        r"Matches, but rule #\d+ maple-materials wins: same specificity as rule #\d+ 'saw-tools', lower priority 40 < 50\.",
        resolution,
    )
    # Workflow and geometry engine are set by no rule: a sentence instead of two columns of "any".
    assert (
        "No rule sets workflow (<code>constraint_first</code>) or geometry engine (none): they match for every rule."
        in resolution
    )
    assert "/admin/" not in resolution  # rule links are for staff


def test_fallback_disabled_rules_and_unknown_ids_are_stated(viewer_client, starter_profiles):
    services.rule_update(name="production-machines", changes={"enabled": False}, note="off for a test")
    panel = inspector(page(viewer_client, "tool_id=laser:co2-40w&material_id=wood:ebony&machine_id=cnc:nowhere"))
    assert (
        '<span class="tag tag-fallback">fallback</span> No enabled rule matches this context, so the fallback profile'
        in panel
    )
    assert "No enabled rule matches this context, so the fallback profile 'default' is used." in panel
    assert 'Profile used: <a href="/rmos/profiles/default/"><strong>default</strong></a>' in panel
    # The unknown machine is sampled with defaults and named in a warning.
    assert "Unknown machine_id 'cnc:nowhere': not in the catalog, using defaults" in panel
    # A disabled rule is listed and marked even when it would not match anyway.
    disabled = re.search(r'<tbody class="rule outcome-no_match is-disabled">.*?</tbody>', panel, re.S).group(0)
    assert "production-machines" in disabled and 'outcome-tag-disabled">disabled' in disabled
    assert "(the rule is disabled too)" in disabled


def test_a_disabled_rule_that_matches_says_so(viewer_client, starter_profiles):
    services.rule_update(name="maple-materials", changes={"enabled": False}, note="off for a test")
    panel = inspector(page(viewer_client, MAPLE))
    assert re.search(
        r'<tbody class="rule outcome-disabled is-disabled">.*?maple-materials.*?'
        r"Matches, but the rule is disabled\.",
        panel,
        re.S,
    )
    assert "<strong>saw-tools</strong> sends this context to" in panel


def test_staff_get_links_to_each_rule_in_the_admin(client, starter_profiles):
    client.force_login(make_user("ada", is_staff=True, is_superuser=True))
    panel = inspector(page(client, MAPLE))
    rule_id = selectors.rule_get(name="maple-materials").id
    assert (
        f'<a href="/admin/profiles/resolutionrule/{rule_id}/change/" title="Edit rule #{rule_id} in the admin">'
        f"#{rule_id} maple-materials</a>"
    ) in panel
    assert 'href="/admin/profiles/resolutionrule/">All rules in the admin</a>' in panel


# -- auto-load ------------------------------------------------------------------------------------


def test_with_autoload_on_the_inspector_loads_the_selection_and_its_form_selects(viewer_client, starter_profiles):
    panel = inspector(page(viewer_client, MAPLE + "&profile=thin_saw"))
    assert "Follows the selection" in panel and "maple_contrast" in panel
    assert 'name="tool_id" value="saw:slitting-0.5"' in panel
    # The form carries the rest of the state and leaves its own parameters to its fields.
    assert '<input type="hidden" name="profile" value="thin_saw">' in panel
    assert '<input type="hidden" name="tool_id"' not in panel and '<input type="hidden" name="n_samples"' not in panel
    assert "Loading a context here also selects it for the dashboard." in panel


def test_with_autoload_off_the_inspector_stays_on_its_own_context(viewer_client, starter_profiles):
    pinned = (
        MAPLE.replace("tool_id=", "snap_tool_id=")
        .replace("&material_id=", "&snap_material_id=")
        .replace("&machine_id=", "&snap_machine_id=")
    )
    html = page(viewer_client, f"{EBONY}&autoload=off&{pinned}")
    panel = inspector(html)
    assert "Stays put (auto-load is off)" in panel
    assert "maple_contrast" in panel.split('id="resolution"')[0]  # still the pinned context's profile
    assert 'name="snap_tool_id" value="saw:slitting-0.5"' in panel
    assert '<input type="hidden" name="tool_id" value="laser:co2-40w">' in panel  # the selection is kept
    assert "loading a context here changes only the inspector" in panel
    # The selection is elsewhere: one link loads it here (auto-load stays off).
    link = re.search(r'<a class="button button-small" href="([^"]+)">Load the selection here</a>', panel).group(1)
    assert link == (
        "/rmos/ai-ops/?tool_id=laser%3Aco2-40w&material_id=wood%3Aebony&machine_id=prod%3Alaser-cell&autoload=off"
        "&snap_tool_id=laser%3Aco2-40w&snap_material_id=wood%3Aebony&snap_machine_id=prod%3Alaser-cell#snapshot-inspector"
    )


def test_with_autoload_off_and_the_selection_loaded_there_is_nothing_to_offer(viewer_client, starter_profiles):
    html = page(
        viewer_client,
        f"{MAPLE}&autoload=off&"
        + MAPLE.replace("tool_id=", "snap_tool_id=")
        .replace("&material_id=", "&snap_material_id=")
        .replace("&machine_id=", "&snap_machine_id="),
    )
    assert "Load the selection here" not in html


def test_turning_autoload_back_on_loads_the_selection(viewer_client, starter_profiles):
    response = viewer_client.get(f"{DASHBOARD}?{EBONY}&autoload=on&snap_tool_id=saw:slitting-0.5")
    assert response["Location"] == (
        "/rmos/ai-ops/?tool_id=laser%3Aco2-40w&material_id=wood%3Aebony&machine_id=prod%3Alaser-cell"
    )
    panel = inspector(page(viewer_client, response["Location"].split("?", 1)[1]))
    assert 'name="tool_id" value="laser:co2-40w"' in panel and "snap_tool_id" not in panel


def test_the_inspectors_form_lands_on_the_canonical_url(viewer_client, starter_profiles):
    # A GET form sends every field, blanks and defaults too; the page answers with one URL per view.
    sent = f"profile=thin_saw&{MAPLE}&workflow_mode=&geometry_engine=&n_samples=500&seed=1"
    response = viewer_client.get(f"{DASHBOARD}?{sent}")
    assert response.status_code == 302
    assert response["Location"] == (
        "/rmos/ai-ops/?tool_id=saw%3Aslitting-0.5&material_id=wood%3Amaple-hard&machine_id=prod%3Avmc-3axis&profile=thin_saw"
    )
    assert viewer_client.get(response["Location"]).status_code == 200
    # Unknown parameters (someone else's) are left alone, and problems are shown, not redirected away.
    assert viewer_client.get(f"{DASHBOARD}?{sent}&page=2").status_code == 200
    assert viewer_client.get(f"{DASHBOARD}?{sent}&autoload=maybe").status_code == 200
    assert viewer_client.get(f"{DASHBOARD}?{sent.replace('seed=1', 'seed=x')}").status_code == 400


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("n_samples=3", "n_samples", "Must be a whole number from 5 to 10,000, got '3'"),
        ("n_samples=10001", "n_samples", "Must be a whole number from 5 to 10,000, got '10001'"),
        ("n_samples=lots", "n_samples", "Must be a whole number from 5 to 10,000, got 'lots'"),
        ("seed=-4", "seed", "Must be a whole number from 0 to 9,223,372,036,854,775,807, got '-4'"),
        ("seed=1.5", "seed", "Must be a whole number from 0 to 9,223,372,036,854,775,807, got '1.5'"),
    ],
)
def test_bad_sampling_values_are_reported_next_to_their_fields(viewer_client, starter_profiles, query, field, message):
    html = page(viewer_client, f"{MAPLE}&{query}", status=400)
    panel = inspector(html)
    assert field_error(panel, field) == message
    assert f'name="{field}" value="{query.split("=", 1)[1]}"' in panel  # kept as typed
    assert 'aria-invalid="true"' in panel
    assert "Nothing sampled yet" in panel and "<svg" not in panel
    assert "Parts of the address were ignored" not in html  # said once, next to the field


def test_a_context_with_missing_or_bad_ids_is_reported_field_by_field(viewer_client, starter_profiles):
    panel = inspector(page(viewer_client, "tool_id=saw%20fine&machine_id=" + "m" * 129, status=400))
    assert field_error(panel, "tool_id") == "Cannot contain spaces or control characters"
    assert field_error(panel, "material_id") == "Choose a material from the list, or type its id."
    assert field_error(panel, "machine_id") == "Must be at most 128 characters"
    assert 'value="saw fine"' in panel


def test_bad_pinned_ids_are_reported_on_the_pinned_fields(viewer_client, starter_profiles):
    panel = inspector(
        page(viewer_client, "autoload=off&snap_tool_id=a%20b&snap_material_id=m&snap_machine_id=c", status=400)
    )
    assert field_error(panel, "snap_tool_id") == "Cannot contain spaces or control characters"


def test_a_palette_missing_from_the_catalog_is_an_error_message_not_a_500(
    viewer_client, starter_profiles, settings, tmp_path
):
    catalog = yaml.safe_load((dj_settings.BASE_DIR / "engine" / "data" / "catalog.yaml").read_text())
    catalog["palettes"].pop("maple_contrast")
    trimmed = tmp_path / "catalog.yaml"
    trimmed.write_text(yaml.safe_dump(catalog))
    settings.RMOS_CATALOG_PATH = trimmed
    panel = inspector(page(viewer_client, MAPLE))
    assert "No snapshot" in panel
    assert "palette_key: profile 'maple_contrast' uses palette 'maple_contrast', which catalog revision" in panel
    assert "<svg" not in panel.split('id="resolution"')[0]
    assert "<strong>maple-materials</strong> sends this context to" in panel  # and why that profile


def test_a_missing_fallback_profile_is_explained(viewer_client):
    make_profile("lonely")
    panel = inspector(page(viewer_client, "tool_id=a&material_id=b&machine_id=c"))
    assert "No snapshot" in panel
    assert "resolves to profile 'default', which does not exist" in panel


def test_a_profile_that_allows_a_single_total_width_draws_one_bar(viewer_client, starter_profiles):
    """Found in review: every candidate 3.00 mm wide made one bin of no width, and the page a 500."""
    services.profile_update(
        name="maple_contrast",
        changes={"min_rings": 1, "max_rings": 1, "min_ring_width_mm": "3.00", "max_ring_width_mm": "3.00",
                 "min_total_width_mm": "3.00", "max_total_width_mm": "3.00"},
        note="one design only",
    )  # fmt: skip
    panel = inspector(page(viewer_client, MAPLE))
    assert "500 candidates; most common total width 3.0 (500, 100%)." in panel
