"""profile_sample_context: a context to preview a profile with when nobody chose one."""

from __future__ import annotations

import pytest

from profiles import selectors
from tests.factories import make_profile, make_rule

pytestmark = pytest.mark.django_db

TARGETED = ["maple_contrast", "premium_shell", "production_machine", "proto_machine", "router_bit", "thin_saw"]


@pytest.mark.parametrize("name", TARGETED)
def test_each_targeted_profile_gets_a_catalog_context_its_rules_send_to_it(
    starter_profiles, name, django_assert_max_num_queries
):
    with django_assert_max_num_queries(1):
        chosen = selectors.profile_sample_context(name=name)
    assert chosen.resolves_here and chosen.rule_name
    resolved = selectors.context_resolve(context=chosen.context)
    assert (resolved.profile.name, resolved.resolution.rule_name) == (name, chosen.rule_name)
    catalog = selectors.catalog_get()
    assert chosen.context.tool_id in catalog.tools and chosen.context.machine_id in catalog.machines


def test_a_profile_outranked_by_one_field_rules_still_finds_its_context(starter_profiles):
    # production-machines (priority 60) loses to the saw, router, maple and shell rules wherever
    # they match too; the search leaves their ids out instead of trying them one by one.
    chosen = selectors.profile_sample_context(name="production_machine")
    assert chosen.resolves_here
    assert chosen.context.tool_id.startswith("laser:") and chosen.context.machine_id.startswith("prod:")


def test_the_fallback_profile_gets_a_context_no_rule_claims():
    make_profile("default")
    make_profile("thin")
    make_rule("saws", profile="thin", tool_id="saw:*")
    chosen = selectors.profile_sample_context(name="default")
    assert (chosen.resolves_here, chosen.rule_name) == (True, "")
    assert not chosen.context.tool_id.startswith("saw:")
    assert selectors.context_resolve(context=chosen.context).resolution.fallback_used


def test_without_a_resolving_context_the_catalogs_first_ids_are_used(starter_profiles):
    # Every catalog machine is proto:* or prod:*, so no catalog context reaches the fallback.
    chosen = selectors.profile_sample_context(name="default")
    catalog = selectors.catalog_get()
    assert chosen.resolves_here is False
    assert (chosen.context.tool_id, chosen.context.material_id, chosen.context.machine_id) == (
        next(iter(catalog.tools)),
        next(iter(catalog.materials)),
        next(iter(catalog.machines)),
    )
    make_profile("orphan")
    assert selectors.profile_sample_context(name="orphan").resolves_here is False
