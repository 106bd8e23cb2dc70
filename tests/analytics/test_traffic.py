"""Blast radius (a profile's traffic of the last N days, from the day aggregates) against a recount
from the log; and a rule change's blast radius through the service, the API and the admin."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from ailog.models import AiRun
from analytics import selectors as traffic
from profiles.models import ResolutionRule
from tests.factories import make_profile, make_rule, make_user, run_item

pytestmark = pytest.mark.django_db

TOOLS = ("saw:slitting-0.5", "router:vbit-60", "laser:co2-40w")
MATERIALS = ("wood:ebony", "wood:maple-hard", "shell:abalone")
MACHINES = ("prod:vmc-3axis", "proto:desk-cnc")


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def random_runs(seed: int, count: int) -> list[dict]:
    """Runs over the last 45 days, of several profiles and contexts."""
    rng = random.Random(seed)
    items = []
    for _ in range(count):
        items.append(
            run_item(
                at=now() - timedelta(days=rng.randint(0, 44), hours=rng.randint(0, 20)),
                tool_id=rng.choice(TOOLS),
                material_id=rng.choice(MATERIALS),
                machine_id=rng.choice(MACHINES),
                workflow_mode=rng.choice(("constraint_first", "ai_assisted")),
                geometry_engine=rng.choice(("", "shapely")),
                profile=rng.choice(("default", "thin_saw", "production_machine")),
                attempts=1,
                with_attempts=False,
            )
        )
    return items


def recount(*, profile: str | None, days: int) -> Counter:
    first = (now() - timedelta(days=days - 1)).date()
    runs = AiRun.objects.all() if profile is None else AiRun.objects.filter(profile_name=profile)
    return Counter(
        (r.tool_id, r.material_id, r.machine_id, r.workflow_mode, r.geometry_engine)
        for r in runs
        if r.timestamp.astimezone(UTC).date() >= first
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_blast_radius_equals_a_recount_from_the_log(seed):
    from ailog import services as log_services

    log_services.runs_ingest(runs=random_runs(seed, 300))
    for profile in ("default", "production_machine"):
        for days in (1, 7, 30):
            answer = traffic.profile_blast_radius(profile=profile, days=days)
            expected = recount(profile=profile, days=days)
            got = Counter(
                {
                    (c["tool_id"], c["material_id"], c["machine_id"], c["workflow_mode"], c["geometry_engine"]): c[
                        "runs"
                    ]
                    for c in answer["contexts"]
                }
            )
            assert got == expected, (profile, days)
            assert answer["runs"] == sum(expected.values())
            assert [c["runs"] for c in answer["contexts"]] == sorted(
                (c["runs"] for c in answer["contexts"]), reverse=True
            )
            for c in answer["contexts"]:
                assert c["share"] == round(c["runs"] / answer["runs"], 4)
    everyone = Counter(dict((tuple(c.as_dict().values()), n) for c, n in traffic.contexts_seen(days=30)))
    assert everyone == recount(profile=None, days=30)


def test_blast_radius_api(viewer_api):
    from ailog import services as log_services

    log_services.runs_ingest(runs=random_runs(3, 40))
    response = viewer_api.get("/api/rmos/ai/analytics/profile-traffic?profile=default&days=30")
    assert response.status_code == 200
    body = response.json()
    assert body["profile"] == "default" and body["days"] == 30
    assert body["runs"] == sum(recount(profile="default", days=30).values())
    for query, field in (("", "profile"), ("profile=default&days=0", "days"), ("profile=default&days=x", "days")):
        bad = viewer_api.get(f"/api/rmos/ai/analytics/profile-traffic?{query}")
        assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == field


@pytest.fixture
def rules(db):
    make_profile("default")
    make_profile("thin_saw")
    make_profile("router_bit")
    make_rule("saw-tools", profile="thin_saw", tool_id="saw:*")
    make_rule("router-tools", profile="router_bit", tool_id="router:*")
    from ailog import services as log_services

    recent = now() - timedelta(days=2)
    log_services.runs_ingest(
        runs=[
            run_item(at=recent, tool_id="saw:slitting-0.5", profile="thin_saw", with_attempts=False),
            run_item(at=recent, tool_id="saw:slitting-0.5", profile="thin_saw", with_attempts=False),
            run_item(at=recent, tool_id="router:vbit-60", profile="router_bit", with_attempts=False),
            run_item(at=recent, tool_id="laser:co2-40w", profile="default", with_attempts=False),
            # Too old for a 30-day window: not counted.
            run_item(at=now() - timedelta(days=40), tool_id="saw:old", profile="thin_saw", with_attempts=False),
        ]
    )


def test_a_rule_change_lists_the_contexts_that_would_move(rules):
    # The saw rule widened to every tool: for routers it now ties with the router rule (one glob
    # field each, same priority) and wins on its lower id, so routers move too; the laser context
    # moves from the fallback.
    from profiles.services.rule_preview import rule_preview

    answer = rule_preview(name="saw-tools", values={"match": {"tool_id": "*"}})
    assert (answer["contexts_seen"], answer["runs_seen"]) == (3, 4)
    assert [(c["tool_id"], c["before"]["profile"], c["after"]["profile"], c["runs"]) for c in answer["changes"]] == [
        ("laser:co2-40w", "default", "thin_saw", 1),
        ("router:vbit-60", "router_bit", "thin_saw", 1),
    ]
    assert (answer["contexts_changed"], answer["runs_changed"], answer["share_changed"]) == (2, 2, 0.5)
    assert ResolutionRule.objects.get(name="saw-tools").tool_pattern == "saw:*"  # nothing saved


def test_deleting_or_adding_a_rule_shows_its_blast_radius(rules):
    from profiles.services.rule_preview import rule_preview

    deleted = rule_preview(name="saw-tools", delete=True)
    assert [(c["tool_id"], c["runs"], c["after"]["profile"]) for c in deleted["changes"]] == [
        ("saw:slitting-0.5", 2, "default")
    ]
    added = rule_preview(values={"name": "lasers", "match": {"tool_id": "laser:*"}, "profile": "router_bit"})
    assert [(c["tool_id"], c["after"]["rule"]) for c in added["changes"]] == [("laser:co2-40w", "lasers")]
    untouched = rule_preview(name="saw-tools", values={"note": "just a note"})
    assert untouched["changes"] == [] and untouched["contexts_changed"] == 0


def test_rules_preview_api(rules, viewer_api):
    response = viewer_api.post(
        "/api/rmos/ai/rules/preview", {"rule": "router-tools", "values": {"enabled": False}}, format="json"
    )
    assert response.status_code == 200
    assert [(c["tool_id"], c["before"]["profile"], c["after"]["profile"]) for c in response.json()["changes"]] == [
        ("router:vbit-60", "router_bit", "default")
    ]
    for body, field, rule in (
        ({"rule": "nope", "values": {}}, "rule", "not_found"),
        ({"rule": "saw-tools", "values": {"profile": "ghost"}}, "profile", "unknown_profile"),
        ({"rule": "saw-tools", "values": {"match": {"tool_id": "saw:["}}}, "match.tool_id", "glob"),
        ({"values": {"name": "saw-tools", "profile": "default"}}, "name", "unique"),
        ({"delete": True}, "rule", "required"),
        ({"rule": "saw-tools", "days": 0}, "days", "min_value"),
    ):
        bad = viewer_api.post("/api/rmos/ai/rules/preview", body, format="json")
        assert bad.status_code in (400, 404), body
        assert (bad.json()["errors"][0]["field"], bad.json()["errors"][0]["rule"]) == (field, rule), bad.json()


def test_the_rule_admin_previews_before_saving(rules, client):
    client.force_login(make_user("ada", superuser=True))
    rule = ResolutionRule.objects.get(name="router-tools")
    data = {
        "name": rule.name,
        "tool_pattern": "router:*",
        "material_pattern": "",
        "machine_pattern": "",
        "workflow_mode": "",
        "geometry_engine": "",
        "priority": rule.priority,
        "note": "",
        "profile": rule.profile_id,
        "edited_version": rule.version,
        "change_note": "switch off",
        "_preview": "Preview blast radius",
    }  # "enabled" left out: the box is unticked
    response = client.post(f"/admin/profiles/resolutionrule/{rule.pk}/change/", data)
    html = response.content.decode()
    assert response.status_code == 200 and "Preview only: nothing was saved" in html
    assert "1 of 3 contexts (1 of 4 runs, 25%) would resolve to another profile" in html
    assert "<td>router:vbit-60</td>" in html and "<strong>default</strong>" in html
    assert ResolutionRule.objects.get(pk=rule.pk).enabled  # not saved
    data.pop("_preview")
    assert client.post(f"/admin/profiles/resolutionrule/{rule.pk}/change/", data).status_code == 302
    assert not ResolutionRule.objects.get(pk=rule.pk).enabled
    delete_page = client.get(
        f"/admin/profiles/resolutionrule/{ResolutionRule.objects.get(name='saw-tools').pk}/delete/"
    )
    assert "1 of 3 contexts (2 of 4 runs, 50%) would resolve to another profile" in delete_page.content.decode()
