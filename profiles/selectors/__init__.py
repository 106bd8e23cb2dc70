"""Reads of profiles, rules, their journal and the catalog. The one read path for every door.

:mod:`~profiles.selectors.current` reads profiles and rules as they are, :mod:`~profiles.selectors.history`
their journal, :mod:`~profiles.selectors.versions` which version was in force when, and
:mod:`~profiles.selectors.generation` which profile a context resolves to and what the
generator makes under it.
"""

from profiles.selectors.current import (
    PROFILE_HISTORY_MAX,
    canonical_state,
    catalog_get,
    journal_all,
    palette_keys,
    profile_exists,
    profile_get,
    profile_history,
    profile_journals,
    profile_list,
    profile_not_found,
    profile_spec,
    profile_to_dict,
    profile_values,
    rule_find,
    rule_get,
    rule_list,
    rule_to_dict,
    rule_values,
)
from profiles.selectors.generation import (
    ResolvedContext,
    SampleContext,
    context_parse,
    context_resolve,
    profile_sample_context,
    rules_as_data,
    snapshot_preview,
    snapshot_sample,
)
from profiles.selectors.history import (
    HistoryPage,
    journaled_at_version,
    journaled_live,
    profile_history_page,
    profile_history_record,
    profile_values_at_version,
    rule_history_record,
)
from profiles.selectors.versions import ProfileVersionLookup, VersionInForce, profile_version_current

__all__ = [
    "PROFILE_HISTORY_MAX",
    "catalog_get",
    "palette_keys",
    "profile_list",
    "profile_exists",
    "profile_not_found",
    "profile_get",
    "profile_values",
    "profile_spec",
    "profile_to_dict",
    "profile_history",
    "profile_journals",
    "rule_list",
    "rule_find",
    "rule_get",
    "rule_values",
    "rule_to_dict",
    "canonical_state",
    "journal_all",
    "HistoryPage",
    "profile_history_page",
    "profile_values_at_version",
    "profile_history_record",
    "journaled_live",
    "journaled_at_version",
    "rule_history_record",
    "VersionInForce",
    "ProfileVersionLookup",
    "profile_version_current",
    "rules_as_data",
    "ResolvedContext",
    "context_parse",
    "context_resolve",
    "SampleContext",
    "profile_sample_context",
    "snapshot_sample",
    "snapshot_preview",
]
